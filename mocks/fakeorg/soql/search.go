package soql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search is one SOSL statement: FIND {term} [IN scope FIELDS] [RETURNING …] [LIMIT n].
type Search struct {
	Pos       Pos
	Term      string     // the text between the braces, escapes intact
	TermPos   Pos        // where that text starts
	Expr      SearchExpr // the parsed term
	In        string     // ALL (the default), NAME, EMAIL, PHONE or SIDEBAR
	Returning []*Returning
	Limit     *Int
}

// Returning is one object of a RETURNING clause, with its optional field list and clauses.
type Returning struct {
	Object  Name
	Fields  []*FieldRef
	Where   Expr
	OrderBy []OrderItem
	Limit   *Int
	Offset  *Int
}

// SearchExpr is a parsed search term: *SearchWord, *SearchLogical or *SearchNot.
type SearchExpr interface{ searchExpr() }

// SearchWord is a word or a quoted phrase. Text is unescaped (\* is a literal *); Pattern
// keeps the wildcards: in it, '*' and '?' are wildcards and '\\' escapes the next character.
type SearchWord struct {
	Pos     Pos
	Text    string
	Pattern string
	Phrase  bool
}

// SearchLogical is X AND Y or X OR Y; "X Y" is X AND Y. A chain (a OR b OR c) nests to the
// left: X is the chain so far, Y its last term.
type SearchLogical struct {
	Op   string
	X, Y SearchExpr
}

// SearchNot is AND NOT's right side: X AND NOT Y is SearchLogical{AND, X, SearchNot{Y}}.
type SearchNot struct {
	X SearchExpr
}

func (*SearchWord) searchExpr()    {}
func (*SearchLogical) searchExpr() {}
func (*SearchNot) searchExpr()     {}

// searchReserved are the characters SOSL reserves in a term; a backslash makes them literal.
const searchReserved = `?&|!{}[]()^~*:\"'+-`

// ParseSearch parses one SOSL statement. Errors are *Error with code MALFORMED_SEARCH, except
// QUERY_TOO_COMPLICATED for a statement nested deeper than MaxDepth.
func ParseSearch(src string) (*Search, error) {
	if tooLong(src) {
		return nil, lengthError("MALFORMED_SEARCH", "SOSL")
	}
	p := &parser{lex: newLexer(src, "MALFORMED_SEARCH")}
	if err := p.advance(); err != nil {
		return nil, err
	}
	s := &Search{Pos: p.tok.pos, In: "ALL"}
	if !p.isKeyword("FIND") {
		return nil, p.unexpected()
	}
	// The term is raw text up to the first unescaped '}'.
	l := p.lex
	l.skipSpace()
	if l.off >= len(l.src) || l.src[l.off] != '{' {
		p.tok, _ = l.next()
		return nil, p.unexpected()
	}
	l.advance()
	s.TermPos = l.pos()
	start := l.off
	for {
		if l.off >= len(l.src) {
			return nil, l.errorf(s.TermPos, "Missing '}' at the end of the search term")
		}
		c := l.src[l.off]
		if c == '\\' && l.off+1 < len(l.src) {
			l.advance()
			l.advance()
			continue
		}
		if c == '}' {
			break
		}
		l.advance()
	}
	s.Term = l.src[start:l.off]
	l.advance()
	expr, err := parseTerm(src, s.Term, s.TermPos)
	if err != nil {
		return nil, err
	}
	s.Expr = expr
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isKeyword("IN") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		scope := strings.ToUpper(p.tok.text)
		if p.tok.kind != tIdent || (scope != "ALL" && scope != "NAME" && scope != "EMAIL" && scope != "PHONE" && scope != "SIDEBAR") {
			return nil, p.unexpected()
		}
		s.In = scope
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expectKeyword("FIELDS"); err != nil {
			return nil, err
		}
	}
	if p.isKeyword("RETURNING") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		for {
			r, err := p.returning()
			if err != nil {
				return nil, err
			}
			s.Returning = append(s.Returning, r)
			if !p.isPunct(",") {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if s.Limit, err = p.optionalInt("LIMIT"); err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected()
	}
	return s, nil
}

func (p *parser) returning() (*Returning, *Error) {
	if p.tok.kind != tIdent || p.isReserved() || strings.Contains(p.tok.text, ".") {
		return nil, p.unexpected()
	}
	r := &Returning{Object: Name{Pos: p.tok.pos, Name: p.tok.text}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if !p.isPunct("(") {
		return r, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for {
		f, err := p.fieldRef()
		if err != nil {
			return nil, err
		}
		r.Fields = append(r.Fields, f)
		if !p.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	var err *Error
	if r.Where, err = p.optionalWhere(); err != nil {
		return nil, err
	}
	if p.isKeyword("ORDER") {
		items, err := p.orderBy()
		if err != nil {
			return nil, err
		}
		r.OrderBy = items
	}
	if r.Limit, err = p.optionalInt("LIMIT"); err != nil {
		return nil, err
	}
	if r.Offset, err = p.optionalInt("OFFSET"); err != nil {
		return nil, err
	}
	return r, p.expectPunct(")")
}

// ParseSearchTerm parses a search term on its own (the text of FIND {…}, or parameterized
// search's q), with the same rules as ParseSearch, its length included.
func ParseSearchTerm(term string) (SearchExpr, error) {
	if tooLong(term) {
		return nil, lengthError("MALFORMED_SEARCH", "SOSL")
	}
	e, err := parseTerm(term, term, Pos{Row: 1, Column: 1})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// termToken is a word, a phrase, an operator or a parenthesis of a search term.
type termToken struct {
	kind    byte // 'w' word, 'p' phrase, '(' , ')', 'A' AND, 'O' OR, 'N' NOT, 0 end
	text    string
	pattern string
	pos     Pos
}

type termParser struct {
	src   string // the whole statement, for error diagrams
	toks  []termToken
	i     int
	depth int // parentheses entered
}

// parseTerm tokenizes and parses a search term. at is where term starts within src.
func parseTerm(src, term string, at Pos) (SearchExpr, *Error) {
	toks, err := lexTerm(src, term, at)
	if err != nil {
		return nil, err
	}
	tp := &termParser{src: src, toks: toks}
	if len(toks) == 1 {
		return nil, NewError("MALFORMED_SEARCH", src, at, "search term must be longer than one character")
	}
	e, err := tp.or()
	if err != nil {
		return nil, err
	}
	if tp.peek().kind != 0 {
		return nil, tp.unexpected()
	}
	return e, nil
}

func (tp *termParser) peek() termToken { return tp.toks[tp.i] }

func (tp *termParser) unexpected() *Error {
	t := tp.peek()
	text := t.text
	if t.kind == 0 {
		text = "<EOF>"
	}
	return NewError("MALFORMED_SEARCH", tp.src, t.pos, "unexpected token: '"+Clip(text)+"'")
}

func (tp *termParser) or() (SearchExpr, *Error) {
	x, err := tp.and()
	if err != nil {
		return nil, err
	}
	for tp.peek().kind == 'O' {
		tp.i++
		y, err := tp.and()
		if err != nil {
			return nil, err
		}
		x = &SearchLogical{Op: "OR", X: x, Y: y}
	}
	return x, nil
}

func (tp *termParser) and() (SearchExpr, *Error) {
	x, err := tp.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch tp.peek().kind {
		case 'A':
			tp.i++
			if tp.peek().kind == 'N' {
				tp.i++
				y, err := tp.primary()
				if err != nil {
					return nil, err
				}
				x = &SearchLogical{Op: "AND", X: x, Y: &SearchNot{X: y}}
				continue
			}
			y, err := tp.primary()
			if err != nil {
				return nil, err
			}
			x = &SearchLogical{Op: "AND", X: x, Y: y}
		case 'w', 'p', '(':
			y, err := tp.primary()
			if err != nil {
				return nil, err
			}
			x = &SearchLogical{Op: "AND", X: x, Y: y}
		default:
			return x, nil
		}
	}
}

func (tp *termParser) primary() (SearchExpr, *Error) {
	t := tp.peek()
	switch t.kind {
	case 'w', 'p':
		tp.i++
		if significant(t.text) < 2 {
			return nil, NewError("MALFORMED_SEARCH", tp.src, t.pos, "search term must be longer than one character")
		}
		return &SearchWord{Pos: t.pos, Text: t.text, Pattern: t.pattern, Phrase: t.kind == 'p'}, nil
	case '(':
		if tp.depth++; tp.depth > MaxDepth {
			return nil, TooComplicated()
		}
		defer func() { tp.depth-- }()
		tp.i++
		x, err := tp.or()
		if err != nil {
			return nil, err
		}
		if tp.peek().kind != ')' {
			return nil, tp.unexpected()
		}
		tp.i++
		return x, nil
	}
	return nil, tp.unexpected()
}

// significant counts the characters of a word that are not wildcards.
func significant(s string) int {
	return utf8.RuneCountInString(s) - strings.Count(s, "*") - strings.Count(s, "?")
}

// maxOperatorTerm is the longest term whose logical operators count: past it, Salesforce drops
// them (AND, OR, NOT and parentheses are then words and separators).
const maxOperatorTerm = 4000

// lexTerm splits a term into words, phrases, operators and parentheses, resolving escapes.
func lexTerm(src, term string, at Pos) ([]termToken, *Error) {
	plain := len(term) > maxOperatorTerm
	var toks []termToken
	row, col := at.Row, at.Column
	pos := func(off int) Pos { return Pos{Row: row, Column: col, Offset: at.Offset + off} }
	i := 0
	step := func() {
		r, n := utf8.DecodeRuneInString(term[i:])
		if r == '\n' {
			row, col = row+1, 1
		} else {
			col++
		}
		i += n
	}
	for i < len(term) {
		c := term[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			step()
		case c == '(' || c == ')':
			if !plain {
				toks = append(toks, termToken{kind: c, text: string(c), pos: pos(i)})
			}
			step()
		case c == '"':
			p := pos(i)
			step()
			var text, pat strings.Builder
			closed := false
			for i < len(term) {
				if term[i] == '\\' && i+1 < len(term) {
					step()
					r, _ := utf8.DecodeRuneInString(term[i:])
					text.WriteRune(r)
					pat.WriteByte('\\')
					pat.WriteRune(r)
					step()
					continue
				}
				if term[i] == '"' {
					step()
					closed = true
					break
				}
				r, _ := utf8.DecodeRuneInString(term[i:])
				text.WriteRune(r)
				pat.WriteRune(r)
				step()
			}
			if !closed {
				return nil, NewError("MALFORMED_SEARCH", src, p, "unmatched quotes in search term")
			}
			toks = append(toks, termToken{kind: 'p', text: text.String(), pattern: pat.String(), pos: p})
		default:
			p := pos(i)
			var text, pat strings.Builder
			for i < len(term) {
				c := term[i]
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == '"' {
					break
				}
				if c == '\\' {
					if i+1 >= len(term) {
						return nil, NewError("MALFORMED_SEARCH", src, pos(i), "unexpected end of search term after '\\'")
					}
					step()
					r, _ := utf8.DecodeRuneInString(term[i:])
					text.WriteRune(r)
					pat.WriteByte('\\')
					pat.WriteRune(r)
					step()
					continue
				}
				r, _ := utf8.DecodeRuneInString(term[i:])
				text.WriteRune(r)
				pat.WriteRune(r)
				step()
			}
			w := text.String()
			if !hasWordChar(w) {
				continue // punctuation alone separates words, as in the indexed text
			}
			kind := byte('w')
			raw := pat.String()
			switch {
			case plain:
			case raw == "AND" || raw == "and":
				kind = 'A'
			case raw == "OR" || raw == "or":
				kind = 'O'
			case raw == "NOT" || raw == "not":
				kind = 'N'
			}
			toks = append(toks, termToken{kind: kind, text: w, pattern: raw, pos: p})
		}
	}
	toks = append(toks, termToken{kind: 0, pos: pos(i)})
	return toks, nil
}

// hasWordChar reports whether s holds a letter, a digit or a wildcard.
func hasWordChar(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
