package sfdc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one sObject row as the API returns it. Fields are kept as their JSON text and
// converted when read, so decoding a page of records does not build every value; parent lookups
// read as Records and child subqueries as lists of Records. Numbers keep their text
// (json.Number), so no precision is lost. A Record is read-only and safe to share.
type Record struct {
	fields map[string]json.RawMessage
}

// NewRecord builds a Record from field values as encoding/json would decode them (nil, bool,
// string, numbers, maps for parents), e.g. for tests of code that reads Records.
func NewRecord(fields map[string]any) (Record, error) {
	m := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return Record{}, fmt.Errorf("sfdc: NewRecord: field %d: %w", len(m)+1, err)
		}
		m[k] = b
	}
	return Record{fields: m}, nil
}

// UnmarshalJSON decodes one record object.
func (r *Record) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("sfdc: a record must be a JSON object")
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
	raw, ok := r.fields["attributes"]
	if !ok {
		return ""
	}
	var a struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return ""
	}
	return a.Type
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

// raw returns a field's JSON text. name may be a relationship path such as "Account.Owner.Name";
// names match exactly first, then case-insensitively, as Salesforce's do. ok is false when a field
// on the path is missing or a parent on it is null.
func (r Record) raw(name string) (json.RawMessage, bool) {
	cur := r
	for {
		head, rest, more := strings.Cut(name, ".")
		v, ok := cur.field(head)
		if !ok || !more {
			return v, ok
		}
		if len(v) == 0 || v[0] != '{' {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
		cur, name = Record{fields: m}, rest
	}
}

func (r Record) field(name string) (json.RawMessage, bool) {
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

// Get returns a field's value: nil, string, bool, json.Number, Record (a parent), []Record (a
// child subquery) or, for anything else, what encoding/json decodes (with json.Number). name may
// be a relationship path such as "Account.Owner.Name"; ok is false when a field on the path is
// missing or a parent on it is null.
func (r Record) Get(name string) (v any, ok bool) {
	raw, ok := r.raw(name)
	if !ok {
		return nil, false
	}
	return decodeValue(raw), true
}

// decodeValue converts one field's JSON text.
func decodeValue(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case 'n':
		return nil
	case 't':
		return true
	case 'f':
		return false
	case '"':
		s, _ := unquote(raw)
		return s
	case '{':
		var sub struct {
			TotalSize *int              `json:"totalSize"`
			Records   []json.RawMessage `json:"records"`
		}
		if json.Unmarshal(raw, &sub) == nil && sub.TotalSize != nil && sub.Records != nil {
			out := make([]Record, 0, len(sub.Records))
			for _, x := range sub.Records {
				var rec Record
				if rec.UnmarshalJSON(x) == nil {
					out = append(out, rec)
				}
			}
			return out
		}
		var rec Record
		if rec.UnmarshalJSON(raw) != nil {
			return nil
		}
		return rec
	case '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		_ = dec.Decode(&v)
		return v
	}
	return json.Number(raw)
}

// unquote decodes a JSON string, without a copy through encoding/json when it has no escapes.
func unquote(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// IsNull reports whether a field is present and null (or a parent on its path is null).
func (r Record) IsNull(name string) bool {
	raw, ok := r.raw(name)
	if !ok {
		return strings.Contains(name, ".") && r.parentNull(name)
	}
	return string(raw) == "null"
}

// parentNull reports whether some parent on name's path is present and null.
func (r Record) parentNull(name string) bool {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			if raw, ok := r.raw(name[:i]); ok {
				return string(raw) == "null"
			}
		}
	}
	return false
}

// String returns a text field (string, picklist, id, phone, email, date as text…).
func (r Record) String(name string) (string, bool) {
	raw, ok := r.raw(name)
	if !ok {
		return "", false
	}
	return unquote(raw)
}

// Bool returns a checkbox field.
func (r Record) Bool(name string) (bool, bool) {
	raw, _ := r.raw(name)
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// number returns a field's number text, or false when it is not a number.
func (r Record) number(name string) (string, bool) {
	raw, ok := r.raw(name)
	if !ok || len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return "", false
	}
	return string(raw), true
}

// Int returns a whole-number field.
func (r Record) Int(name string) (int64, bool) {
	s, ok := r.number(name)
	if !ok {
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// Float returns a number field (double, currency, percent).
func (r Record) Float(name string) (float64, bool) {
	s, ok := r.number(name)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
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
