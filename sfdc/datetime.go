package sfdc

import (
	"bytes"
	"time"
)

// Salesforce's wire formats of date and datetime fields (REST API Developer Guide, "Valid Date
// and DateTime Formats"): a date is "2006-01-02"; a datetime is answered as
// "2006-01-02T15:04:05.000+0000", whose offset has no colon, so time.Time's own JSON decoding
// (RFC 3339) refuses it.
const (
	dateLayout     = time.DateOnly
	dateTimeLayout = "2006-01-02T15:04:05.000-0700"
)

// fitError is a decoding error of this package's own types: it names what was expected, never
// the value, so it passes through valueFree as it is.
type fitError struct{ msg string }

func (e *fitError) Error() string { return e.msg }

// MarshalJSON encodes the date as Salesforce takes it ("2006-01-02"); the zero Date is null.
func (d Date) MarshalJSON() ([]byte, error) {
	if d == (Date{}) {
		return []byte("null"), nil
	}
	if !d.valid() {
		return nil, &fitError{"sfdc: invalid Date"}
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON decodes a date field ("2006-01-02"; null is the zero Date). Its errors never
// quote the value.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	s, ok := unquote(b)
	if !ok {
		return &fitError{"sfdc.Date wants a JSON string"}
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return &fitError{"sfdc.Date wants a date as YYYY-MM-DD"}
	}
	*d = DateOf(t)
	return nil
}

// DateTime is a datetime field's value, for struct fields that Record.Decode, GetInto and
// QueryInto fill: it decodes Salesforce's "2006-01-02T15:04:05.000+0000" (and RFC 3339), which
// time.Time refuses, and encodes what Salesforce takes. The zero DateTime is null.
type DateTime struct{ time.Time }

// MarshalJSON encodes the time in UTC with milliseconds, e.g. "2024-03-05T14:30:00.000Z".
func (t DateTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 26)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, '"'), nil
}

// UnmarshalJSON decodes a datetime field; null is the zero DateTime. Its errors never quote the
// value.
func (t *DateTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = DateTime{}
		return nil
	}
	s, ok := unquote(b)
	if !ok {
		return &fitError{"sfdc.DateTime wants a JSON string"}
	}
	v, ok := parseDateTime(s)
	if !ok {
		return &fitError{"sfdc.DateTime wants a datetime as 2006-01-02T15:04:05.000+0000 or RFC 3339"}
	}
	t.Time = v
	return nil
}

// parseDateTime reads Salesforce's datetime format, or RFC 3339.
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range [...]string{dateTimeLayout, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
