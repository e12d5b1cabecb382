package soql

import (
	"strconv"
	"strings"
)

// Parse parses one SOQL SELECT statement. Syntax errors are *Error with code MALFORMED_QUERY;
// a statement longer than MaxLength is MALFORMED_QUERY too, and one nested deeper than MaxDepth
// QUERY_TOO_COMPLICATED.
func Parse(src string) (*Query, error) {
	if tooLong(src) {
		return nil, lengthError("MALFORMED_QUERY", "SOQL")
	}
	p := &parser{lex: newLexer(src, "MALFORMED_QUERY")}
	if err := p.advance(); err != nil {
		return nil, err
	}
	q, err := p.query(false)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

type parser struct {
	lex   *lexer
	tok   token
	depth int // nesting levels entered (parentheses, NOT, subqueries)
}

// enter starts a nesting level; leave ends it.
func (p *parser) enter() *Error {
	if p.depth++; p.depth > MaxDepth {
		return TooComplicated()
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) advance() *Error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) unexpected() *Error {
	return p.lex.errorf(p.tok.pos, "unexpected token: '"+Clip(p.tok.text)+"'")
}

// isKeyword reports whether the current token is the keyword kw (case-insensitive).
func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }

func (p *parser) expectKeyword(kw string) *Error {
	if !p.isKeyword(kw) {
		return p.unexpected()
	}
	return p.advance()
}

func (p *parser) expectPunct(s string) *Error {
	if !p.isPunct(s) {
		return p.unexpected()
	}
	return p.advance()
}

// reserved words cannot name fields or objects.
var reserved = map[string]bool{
	"AND": true, "ASC": true, "DESC": true, "EXCLUDES": true, "FIRST": false, "FROM": true,
	"GROUP": true, "HAVING": true, "IN": true, "INCLUDES": true, "LAST": false, "LIKE": true,
	"LIMIT": true, "NOT": true, "NULL": true, "NULLS": true, "OR": true, "SELECT": true,
	"WHERE": true, "WITH": true, "ORDER": true, "OFFSET": true, "TRUE": true, "FALSE": true,
	"USING": true, "FOR": true, "BY": true,
}

func (p *parser) isReserved() bool {
	return p.tok.kind == tIdent && reserved[strings.ToUpper(p.tok.text)]
}

// query parses SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n] [FOR …].
func (p *parser) query(sub bool) (*Query, *Error) {
	q := &Query{Pos: p.tok.pos}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	for {
		item, err := p.selectItem(sub)
		if err != nil {
			return nil, err
		}
		q.Select = append(q.Select, item)
		if !p.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	if p.tok.kind != tIdent || p.isReserved() || strings.Contains(p.tok.text, ".") {
		return nil, p.unexpected()
	}
	q.From = Name{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err *Error
	if q.Where, err = p.optionalWhere(); err != nil {
		return nil, err
	}
	if p.isKeyword("WITH") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		mode := strings.ToUpper(p.tok.text)
		if p.tok.kind != tIdent || mode != "SECURITY_ENFORCED" && mode != "USER_MODE" && mode != "SYSTEM_MODE" {
			return nil, p.unexpected()
		}
		q.With = mode
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.isKeyword("ORDER") {
		items, err := p.orderBy()
		if err != nil {
			return nil, err
		}
		q.OrderBy = items
	}
	if q.Limit, err = p.optionalInt("LIMIT"); err != nil {
		return nil, err
	}
	if q.Offset, err = p.optionalInt("OFFSET"); err != nil {
		return nil, err
	}
	if !sub && p.isKeyword("FOR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.isKeyword("UPDATE") && !p.isKeyword("VIEW") && !p.isKeyword("REFERENCE") {
			return nil, p.unexpected()
		}
		q.For = strings.ToUpper(p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// optionalInt parses "keyword N" (LIMIT, OFFSET) if keyword comes next, and returns nil if not.
func (p *parser) optionalInt(keyword string) (*Int, *Error) {
	if !p.isKeyword(keyword) {
		return nil, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tNumber || strings.ContainsAny(p.tok.text, ".-+") {
		return nil, p.unexpected()
	}
	v, err := strconv.Atoi(p.tok.text)
	if err != nil {
		return nil, p.unexpected()
	}
	n := &Int{Pos: p.tok.pos, Value: v}
	return n, p.advance()
}

var aggregates = map[string]bool{"COUNT": true, "COUNT_DISTINCT": true, "MIN": true, "MAX": true, "SUM": true, "AVG": true}

func (p *parser) selectItem(sub bool) (SelectItem, *Error) {
	if p.isPunct("(") {
		if sub {
			return nil, p.unexpected() // subqueries do not nest
		}
		pos := p.tok.pos
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(); err != nil {
			return nil, err
		}
		q, err := p.query(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return &Subquery{Pos: pos, Query: q}, nil
	}
	if p.tok.kind != tIdent || p.isReserved() {
		return nil, p.unexpected()
	}
	name, pos := p.tok.text, p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isPunct("(") && strings.EqualFold(name, "FIELDS") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		kind := strings.ToUpper(p.tok.text)
		if p.tok.kind != tIdent || kind != "ALL" && kind != "STANDARD" && kind != "CUSTOM" {
			return nil, p.unexpected()
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return &FieldsFunc{Pos: pos, Kind: kind}, p.expectPunct(")")
	}
	if p.isPunct("(") && aggregates[strings.ToUpper(name)] {
		a := &Aggregate{Pos: pos, Func: strings.ToUpper(name)}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.isPunct(")") {
			f, err := p.fieldRef()
			if err != nil {
				return nil, err
			}
			a.Arg = f
		} else if a.Func != "COUNT" {
			return nil, p.unexpected()
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		if p.tok.kind == tIdent && !p.isReserved() {
			a.Alias = p.tok.text
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return &FieldRef{Pos: pos, Path: strings.Split(name, ".")}, nil
}

func (p *parser) fieldRef() (*FieldRef, *Error) {
	if p.tok.kind != tIdent || p.isReserved() {
		return nil, p.unexpected()
	}
	f := &FieldRef{Pos: p.tok.pos, Path: strings.Split(p.tok.text, ".")}
	return f, p.advance()
}

// orderBy parses ORDER BY and its comma-separated items; the parser is at ORDER.
func (p *parser) orderBy() ([]OrderItem, *Error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("BY"); err != nil {
		return nil, err
	}
	var items []OrderItem
	for {
		item, err := p.orderItem()
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if !p.isPunct(",") {
			return items, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) orderItem() (OrderItem, *Error) {
	f, err := p.fieldRef()
	if err != nil {
		return OrderItem{}, err
	}
	item := OrderItem{Field: f}
	switch {
	case p.isKeyword("ASC"):
		err = p.advance()
	case p.isKeyword("DESC"):
		item.Desc = true
		err = p.advance()
	}
	if err != nil {
		return OrderItem{}, err
	}
	item.NullsLast = item.Desc
	if p.isKeyword("NULLS") {
		if err := p.advance(); err != nil {
			return OrderItem{}, err
		}
		switch {
		case p.isKeyword("FIRST"):
			item.NullsLast = false
		case p.isKeyword("LAST"):
			item.NullsLast = true
		default:
			return OrderItem{}, p.unexpected()
		}
		item.NullsGiven = true
		if err := p.advance(); err != nil {
			return OrderItem{}, err
		}
	}
	return item, nil
}

// optionalWhere parses "WHERE condition" if the next keyword is WHERE; otherwise it returns nil.
func (p *parser) optionalWhere() (Expr, *Error) {
	if !p.isKeyword("WHERE") {
		return nil, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p.condition()
}

// condition parses a WHERE expression: terms joined by AND or by OR (they do not mix without
// parentheses) become one Logical node; a single term is returned as it is.
func (p *parser) condition() (Expr, *Error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	var chain *Logical
	for p.isKeyword("AND") || p.isKeyword("OR") {
		op := strings.ToUpper(p.tok.text)
		if chain == nil {
			chain = &Logical{Op: op, Terms: []Expr{x}}
		} else if op != chain.Op {
			return nil, p.unexpected()
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		chain.Terms = append(chain.Terms, y)
	}
	if chain == nil {
		return x, nil
	}
	return chain, nil
}

func (p *parser) unary() (Expr, *Error) {
	if p.isKeyword("NOT") || p.isPunct("(") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
	}
	if p.isKeyword("NOT") {
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{Pos: pos, X: x}, nil
	}
	if p.isPunct("(") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.condition()
		if err != nil {
			return nil, err
		}
		return x, p.expectPunct(")")
	}
	return p.simpleCondition()
}

func (p *parser) simpleCondition() (Expr, *Error) {
	f, err := p.fieldRef()
	if err != nil {
		return nil, err
	}
	pos := p.tok.pos
	switch {
	case p.tok.kind == tPunct && (p.tok.text == "=" || p.tok.text == "!=" || p.tok.text == "<>" ||
		p.tok.text == "<" || p.tok.text == ">" || p.tok.text == "<=" || p.tok.text == ">="):
		op := p.tok.text
		if op == "<>" {
			op = "!="
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &Comparison{Pos: pos, Field: f, Op: op, Value: v}, nil
	case p.isKeyword("LIKE"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &Comparison{Pos: pos, Field: f, Op: "LIKE", Value: v}, nil
	case p.isKeyword("NOT"), p.isKeyword("IN"), p.isKeyword("INCLUDES"), p.isKeyword("EXCLUDES"):
		op := strings.ToUpper(p.tok.text)
		if op == "NOT" {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if !p.isKeyword("IN") {
				return nil, p.unexpected()
			}
			op = "NOT IN"
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		s := &SetComparison{Pos: pos, Field: f, Op: op}
		if p.isKeyword("SELECT") {
			if op != "IN" && op != "NOT IN" {
				return nil, p.unexpected()
			}
			if err := p.enter(); err != nil {
				return nil, err
			}
			defer p.leave()
			q, err := p.query(true)
			if err != nil {
				return nil, err
			}
			s.Subquery = q
		} else {
			for {
				v, err := p.literal()
				if err != nil {
					return nil, err
				}
				s.Values = append(s.Values, v)
				if !p.isPunct(",") {
					break
				}
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
		}
		return s, p.expectPunct(")")
	}
	return nil, p.unexpected()
}

// dateLiterals are the relative date names; the ones ending in _N_… take an argument.
var dateLiterals = map[string]bool{
	"YESTERDAY": false, "TODAY": false, "TOMORROW": false, "LAST_WEEK": false, "THIS_WEEK": false,
	"NEXT_WEEK": false, "LAST_MONTH": false, "THIS_MONTH": false, "NEXT_MONTH": false,
	"LAST_YEAR": false, "THIS_YEAR": false, "NEXT_YEAR": false, "LAST_90_DAYS": false, "NEXT_90_DAYS": false,
	"LAST_N_DAYS": true, "NEXT_N_DAYS": true, "N_DAYS_AGO": true, "LAST_N_WEEKS": true, "NEXT_N_WEEKS": true,
	"LAST_N_MONTHS": true, "NEXT_N_MONTHS": true, "LAST_N_YEARS": true, "NEXT_N_YEARS": true,
}

func (p *parser) literal() (*Literal, *Error) {
	t := p.tok
	lit := &Literal{Pos: t.pos, Raw: t.text}
	switch t.kind {
	case tString:
		lit.Kind, lit.Value = String, t.value
	case tNumber:
		lit.Kind, lit.Value = Number, t.text
	case tDate:
		lit.Kind, lit.Value = Date, t.text
	case tDateTime:
		lit.Kind, lit.Value = DateTime, t.text
	case tIdent:
		up := strings.ToUpper(t.text)
		switch {
		case up == "NULL":
			lit.Kind = Null
		case up == "TRUE" || up == "FALSE":
			lit.Kind, lit.Value = Boolean, strings.ToLower(up)
		default:
			takesN, ok := dateLiterals[up]
			if !ok {
				return nil, p.unexpected()
			}
			lit.Kind, lit.Value = DateLiteral, up
			if takesN {
				if err := p.advance(); err != nil {
					return nil, err
				}
				if !p.isPunct(":") {
					return nil, p.unexpected()
				}
				if err := p.advance(); err != nil {
					return nil, err
				}
				n, err := strconv.Atoi(p.tok.text)
				if p.tok.kind != tNumber || err != nil || n < 0 {
					return nil, p.unexpected()
				}
				lit.N = n
				lit.Raw = up + ":" + p.tok.text
			}
		}
	default:
		return nil, p.unexpected()
	}
	return lit, p.advance()
}
