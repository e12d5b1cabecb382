package sfdc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one sObject row as the API returns it. It keeps the row's JSON text and an index of
// where each field's name and value sit in it, and converts a value only when it is read: decoding
// a record costs one allocation for its index (the rows of a query page share one), not one per
// field. The rows of a query page share the page's text: a Record kept keeps its page in memory
// (json.Marshal and Unmarshal make a Record of its own). Parent lookups read as Records and child subqueries as lists of
// Records. Numbers keep their text (json.Number), so no precision is lost. A Record is read-only
// and safe to share; the zero Record has no fields.
type Record struct {
	raw    []byte // the object's JSON text, never modified
	fields []span // each member of the object, in the order sent
}

// span locates one member of a record's JSON text: the name between its quotes (escapes
// intact) and the value.
type span struct {
	k0, k1, v0, v1 int32
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
	b, err := json.Marshal(m)
	if err != nil {
		return Record{}, fmt.Errorf("sfdc: NewRecord: %w", err)
	}
	return parseRecord(b)
}

// errNotObject is the error for a record that is not a JSON object.
var errNotObject = errors.New("sfdc: a record must be a JSON object")

// UnmarshalJSON decodes one record object (keeping a copy of b).
func (r *Record) UnmarshalJSON(b []byte) error {
	rec, err := parseRecord(bytes.Clone(b))
	if err != nil {
		return err
	}
	*r = rec
	return nil
}

// parseRecord indexes the JSON object b, which the Record keeps: b must not change afterwards.
func parseRecord(b []byte) (Record, error) {
	i, err := checkObjectText(b)
	if err != nil {
		return Record{}, err
	}
	var buf [32]span
	spans := buf[:0]
	for m := (members{b: b, i: i}); m.next(); {
		spans = append(spans, m.cur)
	}
	return Record{raw: b, fields: append(make([]span, 0, len(spans)), spans...)}, nil
}

// checkObjectText checks that b is one valid JSON object (the one scan that proves it: the
// walks that follow trust it) and returns where its '{' is.
func checkObjectText(b []byte) (int, error) {
	if !json.Valid(b) {
		// Let encoding/json describe the syntax error (it quotes one character at most).
		var v struct{}
		if err := json.Unmarshal(b, &v); err != nil {
			return 0, err
		}
		return 0, errNotObject
	}
	if len(b) > math.MaxInt32 {
		return 0, errors.New("sfdc: an answer larger than 2 GiB")
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return 0, errNotObject
	}
	return i, nil
}

// recordPage is one page of a query (or the rows of a search) as Records that share the page's
// text: one validation of the whole page, one walk over it, one index for all its records.
type recordPage struct {
	totalSize int
	done      bool
	next      string // nextRecordsUrl
	records   []Record
}

// parsePage reads a query page ({"totalSize":…,"done":…,"nextRecordsUrl":…,"records":[…]}) or
// a search answer ({"searchRecords":[…]}).
func parsePage(b []byte) (recordPage, error) {
	i, err := checkObjectText(b)
	if err != nil {
		return recordPage{}, err
	}
	var p recordPage
	for m := (members{b: b, i: i}); m.next(); {
		v := b[m.cur.v0:m.cur.v1]
		switch string(b[m.cur.k0:m.cur.k1]) {
		case "totalSize":
			p.totalSize = atoi(v)
		case "done":
			p.done = v[0] == 't'
		case "nextRecordsUrl":
			p.next, _ = unquote(v)
		case "records", "searchRecords":
			p.records = nil // the last of duplicate names counts, as in encoding/json
			if v[0] == '[' {
				if p.records, err = indexRecords(v, min(max(p.totalSize, 1), 2000)); err != nil {
					return recordPage{}, err
				}
			}
		}
	}
	return p, nil
}

// atoi reads a non-negative JSON integer (0 for anything else).
func atoi(v []byte) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > math.MaxInt32 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// indexRecords indexes each object of the JSON array a (valid JSON) as a Record sharing a's
// text; hint is the expected number of records. The indexes of all the records share one slice.
func indexRecords(a []byte, hint int) ([]Record, error) {
	recs := make([]Record, 0, hint)
	var slab []span
	var bounds [][2]int32 // each record's part of slab
	for j := skipSpace(a, 1); j < len(a) && a[j] != ']'; {
		if a[j] != '{' {
			return nil, errNotObject
		}
		obj := a[j:]
		start := len(slab)
		m := members{b: obj}
		for m.next() {
			slab = append(slab, m.cur)
		}
		end := m.i + 1 // past the object's '}'
		if len(recs) == 0 && hint > 1 {
			// Size the slab from the first record: rows of a page have the same fields.
			slab = append(make([]span, 0, len(slab)*hint), slab...)
			bounds = make([][2]int32, 0, hint)
		}
		recs = append(recs, Record{raw: obj[:end:end]})
		bounds = append(bounds, [2]int32{int32(start), int32(len(slab))})
		j = skipSpace(a, j+end)
		if j < len(a) && a[j] == ',' {
			j = skipSpace(a, j+1)
		}
	}
	for k := range recs {
		b := bounds[k]
		recs[k].fields = slab[b[0]:b[1]:b[1]]
	}
	return recs, nil
}

// members walks the members of a JSON object known to be valid.
type members struct {
	b   []byte
	i   int // at the '{' before the first call, then after the last value
	cur span
}

func (m *members) next() bool {
	b := m.b
	if m.i >= len(b) || b[m.i] == '}' {
		return false
	}
	i := skipSpace(b, m.i+1) // past '{' or ','
	if b[i] == '}' {
		m.i = i // an empty object
		return false
	}
	k0 := i + 1
	i = skipString(b, i)
	k1 := i - 1
	i = skipSpace(b, i) + 1 // past ':'
	v0 := skipSpace(b, i)
	v1 := skipValue(b, v0)
	m.cur = span{int32(k0), int32(k1), int32(v0), int32(v1)}
	m.i = skipSpace(b, v1) // at ',' or '}'
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// plainName reports whether a member's name reads as it is written: no escapes, valid UTF-8.
func plainName(k []byte) bool { return bytes.IndexByte(k, '\\') < 0 && utf8.Valid(k) }

// name returns a member's name as encoding/json would decode it; it allocates only for a name
// that is not plain.
func (r Record) name(s span) string {
	k := r.raw[s.k0:s.k1]
	if plainName(k) {
		return string(k)
	}
	var n string
	_ = json.Unmarshal(r.raw[s.k0-1:s.k1+1], &n)
	return n
}

// nameIs reports whether a member's name is name, exactly or (fold) ignoring case.
func (r Record) nameIs(s span, name string, fold bool) bool {
	k := r.raw[s.k0:s.k1]
	if !plainName(k) {
		n := r.name(s)
		return n == name || fold && strings.EqualFold(n, name)
	}
	if fold {
		return strings.EqualFold(string(k), name)
	}
	return string(k) == name
}

// MarshalJSON encodes the record as Salesforce sent it (attributes included).
func (r Record) MarshalJSON() ([]byte, error) {
	if r.raw == nil {
		return []byte("null"), nil
	}
	return bytes.Clone(r.raw), nil
}

// Decode stores the record into v (a pointer to a struct with json tags, or a map), with
// numbers in untyped values as json.Number. Use Date and DateTime for date and datetime fields:
// time.Time refuses Salesforce's dates, and its datetimes. A v that does not fit the record is an
// *Error of kind ErrDecode whose text never quotes the record's values.
func (r Record) Decode(v any) error {
	op := "decode"
	if t := r.Type(); t != "" {
		op += " " + t
	}
	if err := checkDestination(v); err != nil {
		return decodeFailure(op, err)
	}
	if r.raw == nil {
		return decodeFailure(op, errNotObject)
	}
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeFailure(op, err)
	}
	return nil
}

// Type is the object's API name from the record's attributes, e.g. "Account".
func (r Record) Type() string {
	s, _ := r.String("attributes.type")
	return s
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

// Names lists the record's field names (attributes excluded), in the order Salesforce sent them.
func (r Record) Names() []string {
	names := make([]string, 0, len(r.fields))
	for _, s := range r.fields {
		if n := r.name(s); n != "attributes" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// rawValue returns a field's JSON text. name may be a relationship path such as "Account.Owner.Name";
// names match exactly first, then case-insensitively, as Salesforce's do. ok is false when a field
// on the path is missing or a parent on it is null.
func (r Record) rawValue(name string) (json.RawMessage, bool) {
	head, rest, more := strings.Cut(name, ".")
	v, ok := r.field(head)
	for ok && more {
		if len(v) == 0 || v[0] != '{' {
			return nil, false
		}
		head, rest, more = strings.Cut(rest, ".")
		v, ok = objectField(v, head)
	}
	return v, ok
}

// field looks a member up in the index: the last one named exactly name, else the last one whose
// name matches ignoring case (encoding/json keeps the last of duplicate names too).
func (r Record) field(name string) (json.RawMessage, bool) {
	for _, fold := range [2]bool{false, true} {
		for i := len(r.fields) - 1; i >= 0; i-- {
			if s := r.fields[i]; r.nameIs(s, name, fold) {
				return r.raw[s.v0:s.v1:s.v1], true
			}
		}
	}
	return nil, false
}

// objectField looks a member up in a nested object (valid JSON) without indexing it.
func objectField(obj []byte, name string) (json.RawMessage, bool) {
	sub := Record{raw: obj}
	var exact, folded json.RawMessage
	for m := (members{b: obj, i: skipSpace(obj, 0)}); m.next(); {
		v := obj[m.cur.v0:m.cur.v1:m.cur.v1]
		switch {
		case sub.nameIs(m.cur, name, false):
			exact = v
		case sub.nameIs(m.cur, name, true):
			folded = v
		}
	}
	if exact != nil {
		return exact, true
	}
	return folded, folded != nil
}

// Get returns a field's value: nil, string, bool, json.Number, Record (a parent), []Record (a
// child subquery) or, for anything else, what encoding/json decodes (with json.Number). name may
// be a relationship path such as "Account.Owner.Name"; ok is false when a field on the path is
// missing or a parent on it is null.
func (r Record) Get(name string) (v any, ok bool) {
	raw, ok := r.rawValue(name)
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
				if rec, err := parseRecord(x); err == nil { // x is a copy: the Record may keep it
					out = append(out, rec)
				}
			}
			return out
		}
		rec, err := parseRecord(raw) // raw is part of an immutable record
		if err != nil {
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
	raw, ok := r.rawValue(name)
	if !ok {
		return strings.Contains(name, ".") && r.parentNull(name)
	}
	return string(raw) == "null"
}

// parentNull reports whether some parent on name's path is present and null.
func (r Record) parentNull(name string) bool {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			if raw, ok := r.rawValue(name[:i]); ok {
				return string(raw) == "null"
			}
		}
	}
	return false
}

// String returns a text field (string, picklist, id, phone, email, date as text…).
func (r Record) String(name string) (string, bool) {
	raw, ok := r.rawValue(name)
	if !ok {
		return "", false
	}
	return unquote(raw)
}

// Bool returns a checkbox field.
func (r Record) Bool(name string) (bool, bool) {
	raw, _ := r.rawValue(name)
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
	raw, ok := r.rawValue(name)
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
	return parseDateTime(s)
}

// Date returns a date field ("2006-01-02" on the wire).
func (r Record) Date(name string) (Date, bool) {
	s, ok := r.String(name)
	if !ok {
		return Date{}, false
	}
	t, err := time.Parse(dateLayout, s)
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

// LogValue is what log/slog records for a Record: its type, id and number of fields, never its
// values (slog would otherwise use MarshalJSON and log them).
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", r.Type()),
		slog.String("id", string(r.ID())),
		slog.Int("fields", len(r.Names())),
	)
}
