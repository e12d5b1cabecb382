package soql

import (
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tEOF tokenKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tPunct
)

type token struct {
	kind  tokenKind
	text  string // the source text (for strings: between the quotes)
	value string // strings: the unescaped value
	pos   Pos
}

// lexer turns source text into tokens on demand.
type lexer struct {
	src  string
	off  int
	row  int
	col  int
	code string // error code for syntax errors
}

func newLexer(src, code string) *lexer { return &lexer{src: src, row: 1, col: 1, code: code} }

func (l *lexer) pos() Pos { return Pos{Row: l.row, Column: l.col, Offset: l.off} }

func (l *lexer) errorf(p Pos, detail string) *Error { return NewError(l.code, l.src, p, detail) }

// advance moves past one rune.
func (l *lexer) advance() rune {
	r, n := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += n
	if r == '\n' {
		l.row, l.col = l.row+1, 1
	} else {
		l.col++
	}
	return r
}

func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		switch l.src[l.off] {
		case ' ', '\t', '\n', '\r', '\f':
			l.advance()
		default:
			return
		}
	}
}

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	l.skipSpace()
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, text: "<EOF>", pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		start := l.off
		for l.off < len(l.src) && (isIdentPart(l.src[l.off]) || l.src[l.off] == '.' && isIdentStart(l.peekByte(1))) {
			l.advance()
		}
		return token{kind: tIdent, text: l.src[start:l.off], pos: p}, nil
	case c == '\'':
		return l.lexString(p)
	case isDigit(c) || (c == '-' || c == '+') && isDigit(l.peekByte(1)):
		return l.lexNumberOrDate(p)
	case c == '.' && isDigit(l.peekByte(1)):
		return l.lexNumberOrDate(p)
	}
	for _, op := range []string{"!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", ":", "{", "}"} {
		if strings.HasPrefix(l.src[l.off:], op) {
			for range op {
				l.advance()
			}
			return token{kind: tPunct, text: op, pos: p}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{}, l.errorf(p, "unexpected token: '"+string(r)+"'")
}

// lexString reads a quoted string literal, applying Salesforce's escapes: \\ \' \" \n \r \t
// \b \f, and \% \_ (which LIKE reads as a literal % and _). Any other backslash is an error.
func (l *lexer) lexString(p Pos) (token, *Error) {
	l.advance() // the opening quote
	start := l.off
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{}, l.errorf(p, "line "+itoa(p.Row)+":"+itoa(p.Column-1)+" mismatched character '<EOF>' expecting '''")
		}
		c := l.src[l.off]
		switch c {
		case '\'':
			text := l.src[start:l.off]
			l.advance()
			return token{kind: tString, text: text, value: b.String(), pos: p}, nil
		case '\\':
			ep := l.pos()
			l.advance()
			if l.off >= len(l.src) {
				return token{}, l.errorf(p, "line "+itoa(p.Row)+":"+itoa(p.Column-1)+" mismatched character '<EOF>' expecting '''")
			}
			e := l.advance()
			switch e {
			case '\\', '\'', '"', '%', '_':
				b.WriteRune(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			default:
				return token{}, l.errorf(ep, "Invalid string literal '"+Clip(l.src[start-1:l.off])+"'. Illegal character sequence '\\"+string(e)+"' in string literal.")
			}
		default:
			r := l.advance()
			if r == utf8.RuneError {
				return token{}, l.errorf(p, "Invalid string literal: invalid UTF-8")
			}
			b.WriteRune(r)
		}
	}
}

// lexNumberOrDate reads a number (-12, 3.5), a date (2024-01-02) or a datetime
// (2024-01-02T10:00:00Z, 2024-01-02T10:00:00.000+02:00).
func (l *lexer) lexNumberOrDate(p Pos) (token, *Error) {
	start := l.off
	if d := dateLen(l.src[l.off:]); d > 0 {
		kind := tDate
		if d > 10 {
			kind = tDateTime
		}
		for l.off < start+d {
			l.advance()
		}
		if l.off < len(l.src) && isIdentPart(l.src[l.off]) {
			return token{}, l.errorf(p, "unexpected token: '"+Clip(l.src[start:l.off+1])+"'")
		}
		return token{kind: kind, text: l.src[start:l.off], pos: p}, nil
	}
	if c := l.src[l.off]; c == '-' || c == '+' {
		l.advance()
	}
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.advance()
	}
	if l.off < len(l.src) && l.src[l.off] == '.' {
		l.advance()
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.advance()
		}
	}
	if l.off < len(l.src) && (isIdentStart(l.src[l.off]) || l.src[l.off] == '.') {
		return token{}, l.errorf(p, "unexpected token: '"+Clip(l.src[start:l.off+1])+"'")
	}
	return token{kind: tNumber, text: l.src[start:l.off], pos: p}, nil
}

// dateLen returns the length of a date or datetime literal at the start of s, or 0.
func dateLen(s string) int {
	pat := "dddd-dd-dd"
	if !matchPattern(s, pat) {
		return 0
	}
	if len(s) <= 10 || s[10] != 'T' {
		return 10
	}
	if !matchPattern(s[11:], "dd:dd:dd") {
		return 0
	}
	n := 19
	if n < len(s) && s[n] == '.' {
		n++
		m := n
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == m {
			return 0
		}
	}
	switch {
	case n < len(s) && (s[n] == 'Z' || s[n] == 'z'):
		return n + 1
	case n < len(s) && (s[n] == '+' || s[n] == '-') && matchPattern(s[n+1:], "dd:dd"):
		return n + 6
	case n < len(s) && (s[n] == '+' || s[n] == '-') && matchPattern(s[n+1:], "dddd"):
		return n + 5
	}
	return 0
}

func matchPattern(s, pat string) bool {
	if len(s) < len(pat) {
		return false
	}
	for i := 0; i < len(pat); i++ {
		if pat[i] == 'd' {
			if !isDigit(s[i]) {
				return false
			}
		} else if s[i] != pat[i] {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
