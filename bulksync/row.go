package bulksync

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idverify/idverify/sfdc"
)

// MaxAttendees bounds the attendees of one row (a call has two or three).
const MaxAttendees = 20

// Problem is a row (or the file) refused before anything is sent: where and why. Reason never
// quotes a value from the file.
type Problem struct {
	Line   int    `json:"line"`            // the line the row starts on; 0 for the file as a whole
	Field  string `json:"field,omitempty"` // e.g. CommunicationChannel, Attendee2.Role, Topic.Name
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// rawValue is one value as read: text, or a JSON boolean.
type rawValue struct {
	s      string
	b      bool
	isBool bool
}

// rawRow is a row as read, before validation, its values by field name as StandardSchema
// spells them.
type rawRow struct {
	line      int
	top       map[string]rawValue
	attendees []map[string]rawValue
	topic     map[string]rawValue // nil: no topic
	problems  []Problem           // found while reading: types, duplicate keys, unknown fields
	// unreadable: the row could not be read into fields (encoding, syntax, size): its
	// problems are all there is to say.
	unreadable bool
}

// field is one value to write, in its wire form: a string (text, picklist, an 18-character id,
// a UTC datetime) or a bool.
type field struct {
	name  string
	value any
}

// Row is a validated row: the records it writes.
type Row struct {
	Line       int
	key        string // the ExternalIdentifier as Salesforce matches it (case-folded)
	engagement []field
	attendees  []attendee
	topic      *topic
}

type attendee struct {
	person sfdc.ID // ExternalAttendeeId or InternalAttendeeId: the natural key within the engagement
	fields []field
}

type topic struct {
	name   string // case-folded Name: the natural key within the engagement
	fields []field
}

// records is how many records the row writes.
func (r *Row) records() int {
	n := 1 + len(r.attendees)
	if r.topic != nil {
		n++
	}
	return n
}

// jobHeaderBytes is room for a job's header row: the column names of one object.
const jobHeaderBytes = 4 << 10

// jobBytes bounds the job data the row's records add to each stage of a Bulk API round
// (bulkCSV): engagements, attendees, topics. A value is quoted at worst, its quotes doubled;
// a stage adds an id or EngagementId column (18 characters); a record leaves a column of
// another record empty with one comma.
func (r *Row) jobBytes() [3]int {
	size := func(fields []field) int {
		n := 18 + 1 + 1 + 24 // the added id and its comma, the line end, empty columns
		for _, f := range fields {
			switch v := f.value.(type) {
			case string:
				n += len(v) + strings.Count(v, `"`) + 2 + 1
			default:
				n += len("false") + 1
			}
		}
		return n
	}
	var b [3]int
	b[0] = size(r.engagement)
	for _, a := range r.attendees {
		b[1] += size(a.fields)
	}
	if r.topic != nil {
		b[2] = size(r.topic.fields)
	}
	return b
}

// foldKey is how Salesforce compares ExternalIdentifier values: an idLookup text field matches
// case-insensitively.
func foldKey(s string) string { return strings.ToLower(s) }

// Datetimes Salesforce stores ("Date Formats and Date Literals": 1700-01-01T00:00:00Z to
// 4000-12-31T00:00:00Z).
var (
	minDateTime = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime = time.Date(4000, 12, 31, 0, 0, 0, 0, time.UTC)
)

// validator checks one row against a schema.
type validator struct {
	s        *Schema
	problems []Problem
	line     int
}

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: v.line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// validate turns a raw row into a Row, or reports every problem it has.
func (s *Schema) validate(raw *rawRow) (*Row, []Problem) {
	if raw.unreadable {
		return nil, raw.problems
	}
	v := &validator{s: s, line: raw.line, problems: raw.problems}
	row := &Row{Line: raw.line}
	times := map[string]time.Time{}
	row.engagement = v.object(&s.engagement, raw.top, "", times)
	if k, ok := raw.top[keyField]; ok && !k.isBool {
		row.key = foldKey(k.s)
	}
	start, hasStart := times["StartDateTime"]
	if end, ok := times["EndDateTime"]; ok && hasStart && end.Before(start) {
		v.add("EndDateTime", "is before StartDateTime")
	}
	if verified(raw.top, "IsAttendeeVerified") && !has(raw.top, "AttendeeVerificationTime") {
		// Salesforce would stamp the time of the sync: false for a result from the past.
		v.add("AttendeeVerificationTime", "is required when IsAttendeeVerified is true")
	}
	if len(raw.attendees) > MaxAttendees {
		v.add("Attendees", "has more than %d attendees", MaxAttendees)
	}
	seen := map[sfdc.ID]int{}
	for i, a := range raw.attendees {
		if i >= MaxAttendees {
			break
		}
		prefix := "Attendee" + strconv.Itoa(i+1) + "."
		at := map[string]time.Time{}
		fields := v.object(&s.attendee, a, prefix, at)
		var person sfdc.ID
		ext, int_ := refValue(fields, "ExternalAttendeeId"), refValue(fields, "InternalAttendeeId")
		switch {
		case has(a, "ExternalAttendeeId") && has(a, "InternalAttendeeId"):
			v.add(prefix+"ExternalAttendeeId", "and InternalAttendeeId are both set: an attendee is a person (External) or a user (Internal)")
		case !has(a, "ExternalAttendeeId") && !has(a, "InternalAttendeeId"):
			v.add(prefix+"ExternalAttendeeId", "or InternalAttendeeId is required")
		case ext != "":
			person = ext
		default:
			person = int_
		}
		if person != "" {
			if first, dup := seen[person]; dup {
				v.add(prefix+"ExternalAttendeeId", "names the same person as Attendee%d", first)
			}
			seen[person] = i + 1
		}
		aStart, ok := at["StartDateTime"]
		if !ok && hasStart {
			// Required on save: the engagement's start is the attendee's unless the row says.
			aStart = start
			fields = append(fields, field{"StartDateTime", formatTime(start)})
		}
		if end, ok := at["EndDateTime"]; ok && !aStart.IsZero() && end.Before(aStart) {
			v.add(prefix+"EndDateTime", "is before the attendee's StartDateTime")
		}
		if verified(a, "IsVerified") && !has(a, "VerificationTime") {
			v.add(prefix+"VerificationTime", "is required when IsVerified is true")
		}
		row.attendees = append(row.attendees, attendee{person: person, fields: fields})
	}
	if raw.topic != nil {
		fields := v.object(&s.topic, raw.topic, "Topic.", nil)
		name := ""
		if n, ok := raw.topic["Name"]; ok {
			name = foldKey(n.s)
		}
		row.topic = &topic{name: name, fields: fields}
	}
	if len(v.problems) > 0 {
		return nil, v.problems
	}
	return row, nil
}

func has(m map[string]rawValue, name string) bool { _, ok := m[name]; return ok }

func verified(m map[string]rawValue, name string) bool {
	x, ok := m[name]
	return ok && (x.isBool && x.b || !x.isBool && strings.EqualFold(x.s, "true"))
}

func refValue(fields []field, name string) sfdc.ID {
	for _, f := range fields {
		if f.name == name {
			id, _ := f.value.(string)
			return sfdc.ID(id)
		}
	}
	return ""
}

// object checks the values of one object and returns them in their wire form, in the schema's
// order. times receives the datetimes read.
func (v *validator) object(o *objectSpec, values map[string]rawValue, prefix string, times map[string]time.Time) []field {
	stdObj := standard.object(o.name)
	for name := range values {
		if _, ok := o.field(name); !ok {
			if _, known := stdObj.field(name); known {
				v.add(prefix+name, "is not available in this org (describe: missing at this API version, or not createable)")
			}
		}
	}
	var out []field
	for i := range o.fields {
		f := &o.fields[i]
		x, ok := values[f.name]
		if !ok {
			if f.required {
				v.add(prefix+f.name, "is required")
			}
			continue
		}
		if val, ok := v.value(f, x, prefix, times); ok {
			out = append(out, field{f.name, val})
		}
	}
	return out
}

// value checks one value and returns its wire form.
func (v *validator) value(f *fieldSpec, x rawValue, prefix string, times map[string]time.Time) (any, bool) {
	if f.kind == kBool {
		switch {
		case x.isBool:
			return x.b, true
		case strings.EqualFold(x.s, "true"):
			return true, true
		case strings.EqualFold(x.s, "false"):
			return false, true
		}
		v.add(prefix+f.name, "must be true or false")
		return nil, false
	}
	if x.isBool {
		v.add(prefix+f.name, "must be text, not a boolean")
		return nil, false
	}
	s := x.s
	if strings.IndexByte(s, 0) >= 0 {
		v.add(prefix+f.name, "holds a NUL character")
		return nil, false
	}
	switch f.kind {
	case kText, kPicklist:
		if strings.TrimSpace(s) == "" {
			v.add(prefix+f.name, "is blank")
			return nil, false
		}
		if f.length > 0 && utf8.RuneCountInString(s) > f.length {
			v.add(prefix+f.name, "is longer than %d characters", f.length)
			return nil, false
		}
		if f.kind == kPicklist && f.restrict && !contains(f.values, s) {
			v.add(prefix+f.name, "is not a value of the picklist (%s)", strings.Join(f.values, ", "))
			return nil, false
		}
		return s, true
	case kDateTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			v.add(prefix+f.name, "is not a datetime with a time zone, such as 2026-03-04T10:15:00Z or 2026-03-04T11:15:00+01:00")
			return nil, false
		}
		if t.Before(minDateTime) || t.After(maxDateTime) {
			v.add(prefix+f.name, "is outside 1700-01-01..4000-12-31")
			return nil, false
		}
		if times != nil {
			times[f.name] = t
		}
		return formatTime(t), true
	case kRef:
		id, err := sfdc.ParseID(s)
		if err != nil {
			v.add(prefix+f.name, "is not a Salesforce record id (15 characters, or 18 with a matching checksum)")
			return nil, false
		}
		if !contains(f.targets, id.Prefix()) {
			v.add(prefix+f.name, "is an id of an object this field cannot point at (key prefix %s; want %s)", id.Prefix(), strings.Join(f.targets, ", "))
			return nil, false
		}
		return string(id), true
	}
	return nil, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// formatTime writes a datetime as Salesforce does: UTC, milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
