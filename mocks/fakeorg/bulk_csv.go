package fakeorg

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Job data of Bulk API 2.0 ingest jobs, read as "Prepare CSV Files" (Bulk API 2.0 and Bulk API
// Developer Guide) describes it: a header row of field names, then one record per row; the job's
// column delimiter and line ending; double quotes around values that hold a delimiter, a line
// ending or a quote (doubled); values not trimmed. The reader is strict where the guide is
// silent: a quote inside an unquoted value, text after a closing quote, a quoted value never
// closed, or a row with more or fewer values than the header make the data unreadable (the job
// fails), and a UTF-8 byte order mark is not skipped (it becomes part of the first field name, so
// the job fails with "Field name not found"). A line ending other than the job's is data: with
// LF, a CR ends up in the last value of each row; with CRLF, a file of LF lines is one row.

// Limits of job data ("Bulk API and Bulk API 2.0 Limits and Allocations", and "Prepare CSV
// Files" for the header).
const (
	maxFieldChars  = 32_000  // characters in a field
	maxRecordChars = 400_000 // characters in a record
	maxHeaderChars = 32_000  // characters in the header row
	maxColumns     = 5_000   // fields in a record
)

// columnDelimiters are the job's columnDelimiter values ("Create a Job").
var columnDelimiters = map[string]byte{
	"COMMA": ',', "TAB": '\t', "PIPE": '|', "SEMICOLON": ';', "CARET": '^', "BACKQUOTE": '`',
}

// csvFormat is a job's CSV dialect.
type csvFormat struct {
	delim byte
	crlf  bool // rows end with CR LF; otherwise with LF
}

// terminator returns the line ending.
func (f csvFormat) terminator() string {
	if f.crlf {
		return "\r\n"
	}
	return "\n"
}

// csvError is job data that cannot be read as CSV of the job's format.
type csvError struct {
	row int // 1 is the header
	msg string
}

func (e *csvError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

// csvRecord is one record of job data: its byte span (without the line ending) and, when
// decoded, its values.
type csvRecord struct {
	start, end int
	n          int      // number of values
	values     []string // decoded values, when asked for
}

// csvScanner reads job data record by record. Values are copied out of the data only when
// decoded, so a scan that only delimits records allocates nothing.
type csvScanner struct {
	data []byte
	pos  int
	row  int // records read so far
	f    csvFormat
}

// endOfRow returns the length of the line ending at i, or 0.
func (s *csvScanner) endOfRow(i int) int {
	d := s.data
	switch {
	case i >= len(d):
		return 0
	case !s.f.crlf && d[i] == '\n':
		return 1
	case s.f.crlf && d[i] == '\r' && i+1 < len(d) && d[i+1] == '\n':
		return 2
	}
	return 0
}

// next reads the next record, skipping empty rows; ok is false at the end of the data. With
// decode, the values are appended to dst and returned in rec.values.
func (s *csvScanner) next(dst []string, decode bool) (rec csvRecord, ok bool, err error) {
	for s.pos < len(s.data) {
		n := s.endOfRow(s.pos)
		if n == 0 {
			break
		}
		s.pos += n
	}
	if s.pos >= len(s.data) {
		return csvRecord{}, false, nil
	}
	s.row++
	d, delim := s.data, s.f.delim
	rec.start, rec.values = s.pos, dst
	for {
		// One value, starting at s.pos.
		rec.n++
		var value string
		if s.pos < len(d) && d[s.pos] == '"' {
			i, from := s.pos+1, s.pos+1
			var unescaped []byte
			for {
				j := bytes.IndexByte(d[i:], '"')
				if j < 0 {
					return rec, false, &csvError{s.row, "a quoted value is never closed"}
				}
				i += j
				if i+1 < len(d) && d[i+1] == '"' { // a doubled quote is one quote
					if decode {
						unescaped = append(unescaped, d[from:i+1]...)
					}
					i += 2
					from = i
					continue
				}
				break
			}
			if decode {
				if unescaped == nil {
					value = string(d[from:i])
				} else {
					value = string(append(unescaped, d[from:i]...))
				}
			}
			s.pos = i + 1
			if s.pos < len(d) && d[s.pos] != delim && s.endOfRow(s.pos) == 0 {
				return rec, false, &csvError{s.row, "text follows the closing quote of a value (values are not trimmed: no space may stand between a quote and the delimiter)"}
			}
		} else {
			i := s.pos
			for i < len(d) && d[i] != delim && s.endOfRow(i) == 0 {
				if d[i] == '"' {
					return rec, false, &csvError{s.row, "found an unescaped quote: a value holding a quote must be quoted, with the quote doubled"}
				}
				i++
			}
			if decode {
				value = string(d[s.pos:i])
			}
			s.pos = i
		}
		if decode {
			rec.values = append(rec.values, value)
		}
		if s.pos < len(d) && d[s.pos] == delim {
			s.pos++
			continue
		}
		rec.end = s.pos
		s.pos += s.endOfRow(s.pos)
		if n := rec.end - rec.start; n > maxRecordChars && utf8.RuneCount(d[rec.start:rec.end]) > maxRecordChars {
			return rec, false, &csvError{s.row, fmt.Sprintf("the row has more than %d characters", maxRecordChars)}
		}
		return rec, true, nil
	}
}

// appendCSVValue appends v as a quoted CSV value.
func appendCSVValue(b []byte, v string) []byte {
	b = append(b, '"')
	for {
		i := strings.IndexByte(v, '"')
		if i < 0 {
			break
		}
		b = append(b, v[:i+1]...)
		b = append(b, '"')
		v = v[i+1:]
	}
	b = append(b, v...)
	return append(b, '"')
}
