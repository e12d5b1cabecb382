package bulksync

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is an input file's format.
type Format string

// The input formats (docs/SYNC.md).
const (
	FormatAuto  Format = ""      // by the file's extension, else by its first character
	FormatJSONL Format = "jsonl" // JSON Lines: one JSON object per line
	FormatCSV   Format = "csv"   // a header row of field names, then one row per engagement
)

// MaxRowBytes bounds one row: a JSON Lines line, or a CSV record. A longer JSON line is one
// refused row (the reader skips to the next line without holding it); a longer CSV record ends
// the reading of the file, since CSV cannot be resynchronised after an unclosed quote.
const MaxRowBytes = 1 << 20

// maxJSONDepth bounds the nesting of a JSON row: a row is an object holding an array of objects
// (Attendees) and an object (Topic), so nothing valid is deeper than 3.
const maxJSONDepth = 8

// errRowTooLong ends the reading of a CSV file.
var errRowTooLong = errors.New("a CSV record is longer than 1 MiB (an unclosed quote?): the file cannot be read past it")

// FileError is an input that cannot be read as a whole: a bad header, an encoding the sync does
// not read, a record it cannot get past. Nothing is sent.
type FileError struct{ Problems []Problem }

func (e *FileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func fileError(line int, format string, args ...any) *FileError {
	return &FileError{[]Problem{{Line: line, Reason: fmt.Sprintf(format, args...)}}}
}

// rowReader reads raw rows: next returns io.EOF at the end, a *FileError when the file cannot
// be read on.
type rowReader interface {
	next() (*rawRow, error)
}

// detectFormat picks the format from the name's extension, else from the first character.
func detectFormat(name string, br *bufio.Reader) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	}
	for i := 1; i <= 64; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			break
		}
		c := b[i-1]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || i <= 3 && bytes.HasPrefix(utf8BOM, b[:i]) {
			if err != nil {
				break
			}
			continue
		}
		if c == '{' {
			return FormatJSONL
		}
		break
	}
	return FormatCSV
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newRowReader reads r in format f (FormatAuto: by name, else by content). A UTF-8 byte order
// mark is skipped; UTF-16 and UTF-32 are refused.
func newRowReader(r io.Reader, name string, f Format) (rowReader, Format, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0xFF, 0xFE, 0, 0}):
		return nil, f, fileError(0, "the file is UTF-32: save it as UTF-8")
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return nil, f, fileError(0, "the file is UTF-16: save it as UTF-8")
	}
	if f == FormatAuto {
		f = detectFormat(name, br)
	}
	if bytes.HasPrefix(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	switch f {
	case FormatJSONL:
		return &jsonlReader{br: bufio.NewReaderSize(br, MaxRowBytes)}, f, nil
	case FormatCSV:
		cr, err := newCSVReader(br)
		return cr, f, err
	}
	return nil, f, fmt.Errorf("unknown format %q: want jsonl or csv", f)
}

// jsonlReader reads JSON Lines: one row per line, blank lines skipped.
type jsonlReader struct {
	br   *bufio.Reader
	line int
}

func (j *jsonlReader) next() (*rawRow, error) {
	for {
		line, tooLong, err := j.readLine()
		if err != nil && err != io.EOF {
			return nil, fileError(j.line+1, "the file cannot be read: %v", err)
		}
		if len(line) == 0 && !tooLong && err == io.EOF {
			return nil, io.EOF
		}
		j.line++
		raw := &rawRow{line: j.line, top: map[string]rawValue{}}
		switch trimmed := bytes.TrimSpace(line); {
		case tooLong:
			raw = unreadable(j.line, fmt.Sprintf("the line is longer than %d bytes", MaxRowBytes))
		case len(trimmed) == 0:
			continue
		case !utf8.Valid(trimmed):
			raw = unreadable(j.line, "the line is not valid UTF-8 (the file must be UTF-8)")
		default:
			parseJSONRow(trimmed, raw)
		}
		return raw, nil
	}
}

// readLine returns the next line without its end. A line longer than the buffer is skipped to
// its end without being held, and reported as tooLong.
func (j *jsonlReader) readLine() (line []byte, tooLong bool, err error) {
	line, err = j.br.ReadSlice('\n')
	for err == bufio.ErrBufferFull {
		tooLong = true
		_, err = j.br.ReadSlice('\n')
	}
	if tooLong {
		if err == io.EOF {
			err = nil
		}
		return nil, true, err
	}
	return bytes.TrimSuffix(line, []byte("\n")), false, err
}

// jsonRow parses one JSON object with encoding/json's tokenizer, so that duplicate keys,
// unknown keys, wrong types and depth are each caught, and a problem never stops the reading of
// the file.
type jsonRow struct {
	dec *json.Decoder
	raw *rawRow
}

func (p *jsonRow) add(field, format string, args ...any) {
	p.raw.problems = append(p.raw.problems, Problem{Line: p.raw.line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// errSyntax stops the parsing of a row.
var errSyntax = errors.New("syntax")

func parseJSONRow(b []byte, raw *rawRow) {
	p := &jsonRow{dec: json.NewDecoder(bytes.NewReader(b)), raw: raw}
	p.dec.UseNumber()
	if _, err := p.object("", &standard.engagement, raw.top, true); err != nil {
		raw.unreadable = true // the rest of the line was not read: only what was found counts
		return
	}
	if _, err := p.dec.Token(); err != io.EOF {
		p.add("", "text follows the JSON object: a line holds one row")
	}
}

// token reads a token, reporting a syntax error as the row's problem.
func (p *jsonRow) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			p.add("", "the JSON object is not complete")
		} else {
			p.add("", "is not valid JSON (at byte %d)", p.dec.InputOffset())
		}
		return nil, errSyntax
	}
	return t, nil
}

// object reads an object's members into values; top also takes Attendees and Topic. present is
// false for a nested null.
func (p *jsonRow) object(prefix string, spec *objectSpec, values map[string]rawValue, top bool) (present bool, err error) {
	t, err := p.token()
	if err != nil {
		return false, err
	}
	if t == nil && prefix != "" {
		return false, nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		if prefix == "" {
			p.add("", "a row must be a JSON object")
			return false, errSyntax
		}
		p.add(strings.TrimSuffix(prefix, "."), "must be a JSON object")
		return false, p.skip(t)
	}
	seen := map[string]bool{}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return true, err
		}
		key, _ := t.(string)
		name, known := key, false
		if f, ok := spec.field(key); ok {
			name, known = f.name, true
		} else if top && (strings.EqualFold(key, "Attendees") || strings.EqualFold(key, "Topic")) {
			name, known = strings.ToUpper(key[:1])+strings.ToLower(key[1:]), true
		}
		if !known {
			p.add(safeName(prefix, key), "is not a field of the sync schema (docs/SYNC.md)")
			if err := p.skipValue(); err != nil {
				return true, err
			}
			continue
		}
		if seen[name] {
			p.add(prefix+name, "appears twice in the object")
			if err := p.skipValue(); err != nil {
				return true, err
			}
			continue
		}
		seen[name] = true
		switch name {
		case "Attendees":
			err = p.attendees()
		case "Topic":
			err = p.topic()
		default:
			err = p.scalar(prefix, name, values)
		}
		if err != nil {
			return true, err
		}
	}
	_, err = p.token() // '}'
	return true, err
}

// safeName names an unknown key in a problem only when it looks like a field name: a key made
// of anything else could be a value that slipped into the wrong place.
func safeName(prefix, key string) string {
	if len(key) == 0 || len(key) > 80 {
		return prefix + "(a key)"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return prefix + "(a key)"
		}
	}
	return prefix + key
}

func (p *jsonRow) scalar(prefix, name string, values map[string]rawValue) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	switch v := t.(type) {
	case string:
		values[name] = rawValue{s: v}
	case bool:
		values[name] = rawValue{b: v, isBool: true}
	case nil: // null: not set
	case json.Number:
		p.add(prefix+name, "is a number: write it as a JSON string")
	default:
		p.add(prefix+name, "must be a single value, not an object or an array")
		return p.skip(t)
	}
	return nil
}

func (p *jsonRow) attendees() error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		p.add("Attendees", "must be an array of objects")
		return p.skip(t)
	}
	for i := 1; p.dec.More(); i++ {
		if i > MaxAttendees {
			p.add("Attendees", "has more than %d attendees", MaxAttendees)
			for p.dec.More() {
				if err := p.skipValue(); err != nil {
					return err
				}
			}
			break
		}
		values := map[string]rawValue{}
		label := "Attendee" + strconv.Itoa(i)
		present, err := p.object(label+".", &standard.attendee, values, false)
		if err != nil {
			return err
		}
		if !present {
			p.add(label, "is null: leave it out of the array")
		}
		p.raw.attendees = append(p.raw.attendees, values)
	}
	_, err = p.token() // ']'
	return err
}

func (p *jsonRow) topic() error {
	values := map[string]rawValue{}
	present, err := p.object("Topic.", &standard.topic, values, false)
	if present {
		p.raw.topic = values
	}
	return err
}

// skipValue reads and drops the next value.
func (p *jsonRow) skipValue() error {
	t, err := p.token()
	if err != nil {
		return err
	}
	return p.skip(t)
}

// skip drops the rest of a value whose first token was t, refusing nesting deeper than
// maxJSONDepth.
func (p *jsonRow) skip(t json.Token) error {
	d, ok := t.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := p.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth > maxJSONDepth {
			p.add("", "nests deeper than %d levels", maxJSONDepth)
			return errSyntax
		}
	}
	return nil
}

// csvColumn is where a CSV column's values go.
type csvColumn struct {
	attendee int // 1… for AttendeeN.Field, 0 otherwise
	topic    bool
	name     string // the field, as StandardSchema spells it
}

// csvReader reads a CSV file with encoding/csv, bounding each record's size.
type csvReader struct {
	cr   *csv.Reader
	lim  *boundedReader
	cols []csvColumn
	line int // where the last record read started
}

// unreadable is a row that could not be read into fields: its one problem is the row's.
func unreadable(line int, reason string) *rawRow {
	return &rawRow{line: line, unreadable: true, problems: []Problem{{Line: line, Reason: reason}}}
}

// boundedReader fails once more than limit bytes have been read: csvReader moves the limit on
// after each record, so that no record (an unclosed quote swallowing the file) is held whole.
type boundedReader struct {
	r        io.Reader
	n, limit int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errRowTooLong
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// csvSlack is what encoding/csv reads ahead of the record it returns (its bufio.Reader).
const csvSlack = 64 << 10

func newCSVReader(r io.Reader) (*csvReader, error) {
	lim := &boundedReader{r: r, limit: MaxRowBytes + csvSlack}
	c := &csvReader{cr: csv.NewReader(lim), lim: lim}
	c.cr.ReuseRecord = true
	header, err := c.cr.Read()
	if err == io.EOF {
		return nil, fileError(1, "the file is empty: a CSV file starts with a header row of field names")
	}
	if err != nil {
		return nil, fileError(1, "the header row is not CSV")
	}
	var problems []Problem
	seen := map[string]bool{}
	for i, h := range header {
		col, ok := parseColumn(h)
		label := "column " + strconv.Itoa(i+1)
		if !ok {
			problems = append(problems, Problem{Line: 1, Field: label, Reason: "is not a field of the sync schema (docs/SYNC.md lists the columns)"})
			continue
		}
		key := strconv.Itoa(col.attendee) + strconv.FormatBool(col.topic) + col.name
		if seen[key] {
			problems = append(problems, Problem{Line: 1, Field: label, Reason: "repeats an earlier column"})
		}
		seen[key] = true
		c.cols = append(c.cols, col)
	}
	for _, f := range standard.engagement.fields {
		if f.required && !seen["0false"+f.name] {
			problems = append(problems, Problem{Line: 1, Field: f.name, Reason: "is a required column"})
		}
	}
	if len(problems) > 0 {
		return nil, &FileError{problems}
	}
	c.cr.FieldsPerRecord = len(header)
	c.lim.limit = c.cr.InputOffset() + MaxRowBytes + csvSlack
	return c, nil
}

// parseColumn reads a header name: Field, AttendeeN.Field or Topic.Field, ignoring case.
func parseColumn(h string) (csvColumn, bool) {
	h = strings.TrimSpace(h)
	obj, name, dotted := strings.Cut(h, ".")
	if !dotted {
		if f, ok := standard.engagement.field(h); ok {
			return csvColumn{name: f.name}, true
		}
		return csvColumn{}, false
	}
	if strings.EqualFold(obj, "Topic") {
		if f, ok := standard.topic.field(name); ok {
			return csvColumn{topic: true, name: f.name}, true
		}
		return csvColumn{}, false
	}
	if len(obj) > len("Attendee") && strings.EqualFold(obj[:len("Attendee")], "Attendee") {
		n, err := strconv.Atoi(obj[len("Attendee"):])
		if f, ok := standard.attendee.field(name); ok && err == nil && n >= 1 && n <= MaxAttendees {
			return csvColumn{attendee: n, name: f.name}, true
		}
	}
	return csvColumn{}, false
}

func (c *csvReader) next() (*rawRow, error) {
	rec, err := c.cr.Read()
	c.lim.limit = c.cr.InputOffset() + MaxRowBytes + csvSlack
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errRowTooLong):
		return nil, fileError(c.line+1, "%v", errRowTooLong)
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		c.line = pe.StartLine
		return unreadable(pe.StartLine, fmt.Sprintf("has %d values but the header has %d columns", len(rec), len(c.cols))), nil
	case errors.As(err, &pe):
		c.line = pe.StartLine
		return unreadable(pe.StartLine, "is not valid CSV: a quote inside an unquoted value, or text after a closing quote (double a quote inside a quoted value)"), nil
	case err != nil:
		return nil, fileError(c.line+1, "the file cannot be read: %v", err)
	}
	line, _ := c.cr.FieldPos(0)
	c.line = line
	raw := &rawRow{line: line, top: map[string]rawValue{}}
	var attendees [MaxAttendees]map[string]rawValue
	last := 0
	for i, v := range rec {
		if v == "" {
			continue
		}
		col := c.cols[i]
		if !utf8.ValidString(v) {
			label := col.name
			switch {
			case col.topic:
				label = "Topic." + label
			case col.attendee > 0:
				label = "Attendee" + strconv.Itoa(col.attendee) + "." + label
			}
			raw.problems = append(raw.problems, Problem{Line: line, Field: label, Reason: "is not valid UTF-8 (the file must be UTF-8)"})
			continue
		}
		switch {
		case col.topic:
			if raw.topic == nil {
				raw.topic = map[string]rawValue{}
			}
			raw.topic[col.name] = rawValue{s: v}
		case col.attendee > 0:
			a := &attendees[col.attendee-1]
			if *a == nil {
				*a = map[string]rawValue{}
			}
			(*a)[col.name] = rawValue{s: v}
			last = max(last, col.attendee)
		default:
			raw.top[col.name] = rawValue{s: v}
		}
	}
	for i := range last {
		if attendees[i] == nil {
			raw.problems = append(raw.problems, Problem{Line: line, Field: "Attendee" + strconv.Itoa(i+1),
				Reason: "is empty but a later attendee is set: number attendees from 1 without gaps"})
			continue
		}
		raw.attendees = append(raw.attendees, attendees[i])
	}
	return raw, nil
}
