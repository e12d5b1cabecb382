package soql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a query error as Salesforce reports it: an error code and a message whose text
// carries the caret diagram ("\n<line>\n   ^\nERROR at Row:r:Column:c\n<detail>"). Errors about
// the statement as a whole (its length, its complexity) have no position (Row 0) and no diagram.
type Error struct {
	Code   string // MALFORMED_QUERY, MALFORMED_SEARCH, QUERY_TOO_COMPLICATED, INVALID_FIELD, …
	Row    int
	Column int
	Detail string // the last line of the message, e.g. "unexpected token: 'FROM'"
	line   string
}

// maxEchoedLine bounds the source line a caret diagram repeats, so that an error about a long
// statement stays short: longer lines show a window of it around the caret.
const maxEchoedLine = 256

// NewError builds an Error at pos in src.
func NewError(code, src string, pos Pos, detail string) *Error {
	line := ""
	if pos.Row >= 1 {
		rest := src
		for i := 1; i < pos.Row && rest != ""; i++ {
			_, rest, _ = strings.Cut(rest, "\n")
		}
		line, _, _ = strings.Cut(rest, "\n")
		line = strings.TrimRight(line, "\r")
	}
	return &Error{Code: code, Row: pos.Row, Column: pos.Column, Detail: detail, line: line}
}

// statementError is an error about the whole statement, without a caret diagram.
func statementError(code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// Error is the message Salesforce sends, caret diagram included.
func (e *Error) Error() string {
	if e.Row == 0 {
		return e.Detail
	}
	col := e.Column
	if col < 1 {
		col = 1
	}
	line := e.line
	if utf8.RuneCountInString(line) > maxEchoedLine {
		line, col = window(line, col)
	}
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), e.Row, e.Column, e.Detail)
}

// window cuts a long line to about maxEchoedLine characters around column col (counted from 1)
// and returns the caret's column within the cut.
func window(line string, col int) (string, int) {
	rs := []rune(line)
	from := max(0, min(col-1-maxEchoedLine/2, len(rs)-maxEchoedLine))
	to := min(len(rs), from+maxEchoedLine)
	return string(rs[from:to]), col - from
}

// MaxEcho is how many characters of a value an error message repeats: a message about a
// 30 MB value quotes its first MaxEcho characters, not all of it.
const MaxEcho = 100

// Clip returns s cut to its first MaxEcho characters, with "…" after it when it was longer.
// Every value of a request that an error message quotes goes through Clip.
func Clip(s string) string {
	if len(s) <= MaxEcho {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxEcho {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
