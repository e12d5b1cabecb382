package soql

import (
	"fmt"
	"strings"
)

// Error is a query error as Salesforce reports it: an error code and a message whose text
// carries the caret diagram ("\n<line>\n   ^\nERROR at Row:r:Column:c\n<detail>").
type Error struct {
	Code   string // MALFORMED_QUERY, MALFORMED_SEARCH, INVALID_FIELD, INVALID_TYPE, …
	Row    int
	Column int
	Detail string // the last line of the message, e.g. "unexpected token: 'FROM'"
	line   string
}

// NewError builds an Error at pos in src.
func NewError(code, src string, pos Pos, detail string) *Error {
	lines := strings.Split(src, "\n")
	line := ""
	if pos.Row >= 1 && pos.Row <= len(lines) {
		line = strings.TrimRight(lines[pos.Row-1], "\r")
	}
	return &Error{Code: code, Row: pos.Row, Column: pos.Column, Detail: detail, line: line}
}

// Error is the message Salesforce sends, caret diagram included.
func (e *Error) Error() string {
	col := e.Column
	if col < 1 {
		col = 1
	}
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", e.line, strings.Repeat(" ", col-1), e.Row, e.Column, e.Detail)
}
