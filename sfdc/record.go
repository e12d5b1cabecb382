package sfdc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one sObject row as the API returns it: its fields by name, with parent lookups as
// nested Records and child subqueries as lists. Numbers keep their text (json.Number), so no
// precision is lost. A Record is read-only once decoded and safe to share.
type Record struct {
	fields map[string]any
}

// NewRecord wraps decoded JSON (as encoding/json decodes an object) in a Record.
func NewRecord(fields map[string]any) Record { return Record{fields: fields} }

// UnmarshalJSON decodes one record object.
func (r *Record) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	r.fields = m
	return nil
}

// MarshalJSON encodes the record as Salesforce sent it (attributes included).
func (r Record) MarshalJSON() ([]byte, error) {
	if r.fields == nil {
		return []byte("null"), nil
	}
	return json.Marshal(r.fields)
}

// Decode stores the record into v (a pointer to a struct with json tags, or a map).
func (r Record) Decode(v any) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// Type is the object's API name from the record's attributes, e.g. "Account".
func (r Record) Type() string {
	if a, ok := r.fields["attributes"].(map[string]any); ok {
		s, _ := a["type"].(string)
		return s
	}
	return ""
}

// ID is the record's Id field, or "" when absent or not a valid id.
func (r Record) ID() ID {
	s, _ := r.String("Id")
	id, err := ParseID(s)
	if err != nil {
		return ""
	}
	return id
}

// Names lists the record's field names (attributes excluded), in no particular order.
func (r Record) Names() []string {
	names := make([]string, 0, len(r.fields))
	for k := range r.fields {
		if k != "attributes" {
			names = append(names, k)
		}
	}
	return names
}

// Get returns a field's value: nil, string, bool, json.Number, Record (a parent), []Record (a
// child subquery). name may be a relationship path such as "Account.Owner.Name"; names match
// exactly first, then case-insensitively, as Salesforce's do. ok is false when a field on the path
// is missing or a parent on it is null.
func (r Record) Get(name string) (v any, ok bool) {
	cur := r
	for {
		head, rest, more := strings.Cut(name, ".")
		v, ok = cur.field(head)
		if !ok || !more {
			return wrap(v), ok
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		cur, name = Record{fields: m}, rest
	}
}

func (r Record) field(name string) (any, bool) {
	if v, ok := r.fields[name]; ok {
		return v, true
	}
	for k, v := range r.fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// wrap turns nested objects into Records and subquery results into []Record.
func wrap(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if recs, ok := m["records"].([]any); ok {
		if _, isQuery := m["totalSize"]; isQuery {
			out := make([]Record, 0, len(recs))
			for _, x := range recs {
				if rm, ok := x.(map[string]any); ok {
					out = append(out, Record{fields: rm})
				}
			}
			return out
		}
	}
	return Record{fields: m}
}

// IsNull reports whether a field is present and null (or a parent on its path is null).
func (r Record) IsNull(name string) bool {
	v, ok := r.Get(name)
	return v == nil && (ok || strings.Contains(name, "."))
}

// String returns a text field (string, picklist, id, phone, email, date as text…).
func (r Record) String(name string) (string, bool) {
	v, _ := r.Get(name)
	s, ok := v.(string)
	return s, ok
}

// Bool returns a checkbox field.
func (r Record) Bool(name string) (bool, bool) {
	v, _ := r.Get(name)
	b, ok := v.(bool)
	return b, ok
}

// Int returns a whole-number field.
func (r Record) Int(name string) (int64, bool) {
	v, _ := r.Get(name)
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// Float returns a number field (double, currency, percent).
func (r Record) Float(name string) (float64, bool) {
	v, _ := r.Get(name)
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// Time returns a datetime field ("2006-01-02T15:04:05.000+0000" on the wire).
func (r Record) Time(name string) (time.Time, bool) {
	s, ok := r.String(name)
	if !ok {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Date returns a date field ("2006-01-02" on the wire).
func (r Record) Date(name string) (Date, bool) {
	s, ok := r.String(name)
	if !ok {
		return Date{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, false
	}
	return DateOf(t), true
}

// Parent returns a parent lookup (e.g. "Account" on a Contact) as a Record; false when absent or
// null.
func (r Record) Parent(name string) (Record, bool) {
	v, _ := r.Get(name)
	p, ok := v.(Record)
	return p, ok
}

// Children returns the rows of a child subquery (e.g. "Contacts" on an Account). Salesforce
// inlines at most one page of them.
func (r Record) Children(name string) []Record {
	v, _ := r.Get(name)
	c, _ := v.([]Record)
	return c
}

// Format prints the record's type, id and number of fields, never its values: records hold
// personal data, and %v on one must not put it in a log.
func (r Record) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "sfdc.Record{Type:%s Id:%s fields:%d}", r.Type(), r.ID(), len(r.Names()))
}
