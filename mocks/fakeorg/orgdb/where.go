package orgdb

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

type pred func(r int32) bool

func (c *qctx) compileExpr(p *plan, e soql.Expr) (pred, *Error) {
	switch x := e.(type) {
	case *soql.Logical:
		terms := make([]pred, len(x.Terms))
		for i, t := range x.Terms {
			var err *Error
			if terms[i], err = c.compileExpr(p, t); err != nil {
				return nil, err
			}
		}
		if x.Op == "AND" {
			return func(r int32) bool {
				for _, t := range terms {
					if !t(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r int32) bool {
			for _, t := range terms {
				if t(r) {
					return true
				}
			}
			return false
		}, nil
	case *soql.Not:
		a, err := c.compileExpr(p, x.X)
		if err != nil {
			return nil, err
		}
		return func(r int32) bool { return !a(r) }, nil
	case *soql.Comparison:
		p.terms++
		return c.compileComparison(p, x)
	case *soql.SetComparison:
		p.terms++
		return c.compileSet(p, x)
	}
	return nil, c.errAt("MALFORMED_QUERY", soql.Pos{Row: 1, Column: 1}, "unexpected condition")
}

// operand is a literal converted to a field's stored form. A relative date literal is a range.
type operand struct {
	null     bool
	v        any
	from, to string // ranges: [from, to)
	isRange  bool
}

func (c *qctx) filterTypeError(ref *soql.FieldRef, lit *soql.Literal, typ string, quoted bool) *Error {
	how := "should not be enclosed in quotes"
	if quoted {
		how = "should be enclosed in quotes"
	}
	return c.errAt("INVALID_FIELD", lit.Pos, fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and %s", soql.Clip(ref.String()), typ, how))
}

// operandFor checks a literal against the field's type and converts it.
func (c *qctx) operandFor(ref *soql.FieldRef, f *FieldDef, lit *soql.Literal) (operand, *Error) {
	if lit.Kind == soql.Null {
		return operand{null: true}, nil
	}
	switch {
	case f.Type == "id" || f.Type == "reference":
		if lit.Kind != soql.String {
			return operand{}, c.filterTypeError(ref, lit, "id", true)
		}
		id, ok := ID18(lit.Value)
		if !ok {
			return operand{}, c.errAt("INVALID_QUERY_FILTER_OPERATOR", lit.Pos, fmt.Sprintf("invalid ID field: %s", soql.Clip(lit.Value)))
		}
		return operand{v: id}, nil
	case f.isText():
		if lit.Kind != soql.String {
			return operand{}, c.filterTypeError(ref, lit, "string", true)
		}
		return operand{v: lit.Value}, nil
	case f.Type == "boolean":
		if lit.Kind != soql.Boolean {
			return operand{}, c.filterTypeError(ref, lit, "boolean", false)
		}
		return operand{v: lit.Value == "true"}, nil
	case f.isNumber():
		if lit.Kind != soql.Number {
			return operand{}, c.filterTypeError(ref, lit, "double", false)
		}
		n, err := strconv.ParseFloat(lit.Value, 64)
		if err != nil {
			return operand{}, c.errAt("MALFORMED_QUERY", lit.Pos, "unexpected token: '"+soql.Clip(lit.Raw)+"'")
		}
		return operand{v: n}, nil
	case f.Type == "date":
		switch lit.Kind {
		case soql.Date:
			d, ok := parseDate(lit.Value)
			if !ok {
				return operand{}, c.errAt("MALFORMED_QUERY", lit.Pos, "unexpected token: '"+soql.Clip(lit.Raw)+"'")
			}
			return operand{v: d}, nil
		case soql.DateLiteral:
			from, to, e := c.dateRange(lit)
			if e != nil {
				return operand{}, e
			}
			return operand{isRange: true, from: from.Format("2006-01-02"), to: to.Format("2006-01-02")}, nil
		}
		return operand{}, c.filterTypeError(ref, lit, "date", false)
	case f.Type == "datetime":
		switch lit.Kind {
		case soql.DateTime:
			t, ok := parseDateTime(lit.Value)
			if !ok {
				return operand{}, c.errAt("MALFORMED_QUERY", lit.Pos, "unexpected token: '"+soql.Clip(lit.Raw)+"'")
			}
			return operand{v: t.UTC().Format(dateTimeLayout)}, nil
		case soql.DateLiteral:
			from, to, e := c.dateRange(lit)
			if e != nil {
				return operand{}, e
			}
			return operand{isRange: true, from: from.Format(dateTimeLayout), to: to.Format(dateTimeLayout)}, nil
		}
		return operand{}, c.filterTypeError(ref, lit, "dateTime", false)
	}
	return operand{}, c.filterTypeError(ref, lit, f.Type, false)
}

// Salesforce's valid dates: "The earliest valid date is 1700-01-01T00:00:00Z GMT ... The latest
// valid date is 4000-12-31T00:00:00Z GMT" (SOQL and SOSL Reference, "Date Formats and Date
// Literals in WHERE", Minimum and Maximum Dates).
var (
	minDate = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(4001, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive
)

// maxLiteralN bounds the n of a date literal per unit before any date arithmetic (the span of
// valid dates is under 2,400 years), so that a huge n cannot overflow it.
var maxLiteralN = map[string]int{"DAYS": 900_000, "WEEKS": 130_000, "MONTHS": 30_000, "YEARS": 2_400}

// dateRange is the [from, to) span of a relative date literal, in UTC (the integration user's
// time zone is GMT). Weeks start on Sunday. A span reaching outside Salesforce's valid dates
// (LAST_N_DAYS:999999999999) is refused.
func (c *qctx) dateRange(lit *soql.Literal) (time.Time, time.Time, *Error) {
	outOfRange := func() (time.Time, time.Time, *Error) {
		return time.Time{}, time.Time{}, c.errAt("MALFORMED_QUERY", lit.Pos, fmt.Sprintf("date literal %s is out of range: valid dates are %s to 4000-12-31", soql.Clip(lit.Raw), minDate.Format("2006-01-02")))
	}
	for unit, max := range maxLiteralN {
		if strings.Contains(lit.Value, "_"+unit) && lit.N > max {
			return outOfRange()
		}
	}
	from, to := c.literalSpan(lit)
	if from.Before(minDate) || to.After(maxDate) {
		return outOfRange()
	}
	return from, to, nil
}

// literalSpan computes a date literal's span.
func (c *qctx) literalSpan(lit *soql.Literal) (time.Time, time.Time) {
	now := c.now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return today.AddDate(0, 0, n) }
	week := today.AddDate(0, 0, -int(today.Weekday()))
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	n := lit.N
	switch lit.Value {
	case "YESTERDAY":
		return day(-1), day(0)
	case "TODAY":
		return day(0), day(1)
	case "TOMORROW":
		return day(1), day(2)
	case "LAST_WEEK":
		return week.AddDate(0, 0, -7), week
	case "THIS_WEEK":
		return week, week.AddDate(0, 0, 7)
	case "NEXT_WEEK":
		return week.AddDate(0, 0, 7), week.AddDate(0, 0, 14)
	case "LAST_MONTH":
		return month.AddDate(0, -1, 0), month
	case "THIS_MONTH":
		return month, month.AddDate(0, 1, 0)
	case "NEXT_MONTH":
		return month.AddDate(0, 1, 0), month.AddDate(0, 2, 0)
	case "LAST_YEAR":
		return year.AddDate(-1, 0, 0), year
	case "THIS_YEAR":
		return year, year.AddDate(1, 0, 0)
	case "NEXT_YEAR":
		return year.AddDate(1, 0, 0), year.AddDate(2, 0, 0)
	case "LAST_90_DAYS":
		return day(-90), day(1)
	case "NEXT_90_DAYS":
		return day(1), day(91)
	case "LAST_N_DAYS":
		return day(-n), day(1)
	case "NEXT_N_DAYS":
		return day(1), day(n + 1)
	case "N_DAYS_AGO":
		return day(-n), day(-n + 1)
	case "LAST_N_WEEKS":
		return week.AddDate(0, 0, -7*n), week
	case "NEXT_N_WEEKS":
		return week.AddDate(0, 0, 7), week.AddDate(0, 0, 7*(n+1))
	case "LAST_N_MONTHS":
		return month.AddDate(0, -n, 0), month
	case "NEXT_N_MONTHS":
		return month.AddDate(0, 1, 0), month.AddDate(0, n+1, 0)
	case "LAST_N_YEARS":
		return year.AddDate(-n, 0, 0), year
	case "NEXT_N_YEARS":
		return year.AddDate(1, 0, 0), year.AddDate(n+1, 0, 0)
	}
	return day(0), day(1)
}

// getter returns a function reading the (possibly parent) field of a row.
func (c *qctx) getter(p *plan, fp *path) func(r int32) any {
	t := p.t
	if len(fp.hops) == 0 {
		f := fp.leaf
		return func(r int32) any { return t.get(r, f) }
	}
	return func(r int32) any { return c.value(t, r, fp) }
}

// strGetter reads a string-stored field ("" and false when null) without boxing it.
func (c *qctx) strGetter(p *plan, fp *path) func(r int32) (string, bool) {
	t := p.t
	if len(fp.hops) == 0 && t.str[fp.leaf.index] {
		col := t.strs[t.col[fp.leaf.index]]
		return func(r int32) (string, bool) { s := col[r]; return s, s != "" }
	}
	return func(r int32) (string, bool) { s, ok := c.value(t, r, fp).(string); return s, ok }
}

func (c *qctx) compileComparison(p *plan, x *soql.Comparison) (pred, *Error) {
	fp, err := c.resolve(p.obj, x.Field)
	if err != nil {
		return nil, err
	}
	f := fp.kind
	get := c.getter(p, fp)
	getStr := c.strGetter(p, fp)
	if x.Op == "LIKE" {
		if !f.isText() && !f.isID() {
			return nil, c.errAt("INVALID_QUERY_FILTER_OPERATOR", x.Pos, fmt.Sprintf("invalid operator on %s field: %s", f.Type, soql.Clip(x.Field.String())))
		}
		if x.Value.Kind != soql.String {
			return nil, c.filterTypeError(x.Field, x.Value, "string", true)
		}
		m := compileLike(x.Value.Raw)
		return func(r int32) bool {
			s, ok := getStr(r)
			return ok && m.match(s)
		}, nil
	}
	if (f.Type == "multipicklist" || f.Type == "textarea" && f.Length > 255) && x.Op != "=" && x.Op != "!=" {
		return nil, c.errAt("INVALID_QUERY_FILTER_OPERATOR", x.Pos, fmt.Sprintf("invalid operator on %s field: %s", f.Type, soql.Clip(x.Field.String())))
	}
	op, err := c.operandFor(x.Field, f, x.Value)
	if err != nil {
		return nil, err
	}
	if f.Type == "multipicklist" && !op.null {
		want := splitMulti(op.v.(string))
		eq := func(r int32) bool {
			s, ok := get(r).(string)
			return ok && sameSet(splitMulti(s), want)
		}
		if x.Op == "!=" {
			return func(r int32) bool { return !eq(r) }, nil
		}
		return eq, nil
	}
	if op.null {
		switch x.Op {
		case "=":
			return func(r int32) bool { return get(r) == nil }, nil
		case "!=":
			return func(r int32) bool { return get(r) != nil }, nil
		}
		return func(int32) bool { return false }, nil
	}
	if op.isRange {
		from, to := op.from, op.to
		in := func(s string) bool { return s >= from && s < to }
		test := map[string]func(string) bool{
			"=":  in,
			"!=": func(s string) bool { return !in(s) },
			"<":  func(s string) bool { return s < from },
			"<=": func(s string) bool { return s < to },
			">":  func(s string) bool { return s >= to },
			">=": func(s string) bool { return s >= from },
		}[x.Op]
		return func(r int32) bool {
			s, ok := getStr(r)
			if !ok {
				return x.Op == "!="
			}
			return test(s)
		}, nil
	}
	want := op.v
	if f.isText() && x.Op == "=" {
		ws := want.(string)
		return func(r int32) bool {
			s, ok := getStr(r)
			return ok && strings.EqualFold(s, ws)
		}, nil
	}
	cmp := func(r int32) (int, bool) {
		v := get(r)
		if v == nil {
			return 0, false
		}
		return compareValues(f, v, want), true
	}
	if ws, ok := want.(string); ok {
		// Text, ids, dates and datetimes are stored as strings: compare them in place, without
		// boxing each row's value (an allocation per row and per comparison).
		compare := strings.Compare
		if f.isText() {
			compare = compareFold
		}
		cmp = func(r int32) (int, bool) {
			s, ok := getStr(r)
			if !ok {
				return 0, false
			}
			return compare(s, ws), true
		}
	}
	switch x.Op {
	case "=":
		return func(r int32) bool { d, ok := cmp(r); return ok && d == 0 }, nil
	case "!=":
		return func(r int32) bool { d, ok := cmp(r); return !ok || d != 0 }, nil
	case "<":
		return func(r int32) bool { d, ok := cmp(r); return ok && d < 0 }, nil
	case "<=":
		return func(r int32) bool { d, ok := cmp(r); return ok && d <= 0 }, nil
	case ">":
		return func(r int32) bool { d, ok := cmp(r); return ok && d > 0 }, nil
	default: // ">="
		return func(r int32) bool { d, ok := cmp(r); return ok && d >= 0 }, nil
	}
}

func (c *qctx) compileSet(p *plan, x *soql.SetComparison) (pred, *Error) {
	fp, err := c.resolve(p.obj, x.Field)
	if err != nil {
		return nil, err
	}
	f := fp.kind
	get := c.getter(p, fp)
	if x.Op == "INCLUDES" || x.Op == "EXCLUDES" {
		if f.Type != "multipicklist" {
			return nil, c.errAt("INVALID_QUERY_FILTER_OPERATOR", x.Pos, fmt.Sprintf("includes or excludes operator only valid on multipicklist field"))
		}
		var alts [][]string
		for _, v := range x.Values {
			if v.Kind != soql.String {
				return nil, c.filterTypeError(x.Field, v, "string", true)
			}
			alts = append(alts, splitMulti(v.Value))
		}
		includes := func(r int32) bool {
			s, _ := get(r).(string)
			have := splitMulti(s)
			for _, alt := range alts {
				if subset(alt, have) {
					return true
				}
			}
			return false
		}
		if x.Op == "EXCLUDES" {
			return func(r int32) bool { return !includes(r) }, nil
		}
		return includes, nil
	}
	set := map[string]bool{}
	hasNull := false
	var nums []float64
	if x.Subquery != nil {
		if !f.isID() {
			return nil, c.errAt("INVALID_FIELD", x.Field.Pos, fmt.Sprintf("Invalid semi join: field %s is not an Id or reference field", soql.Clip(x.Field.String())))
		}
		ids, err := c.semiJoin(x.Subquery)
		if err != nil {
			return nil, err
		}
		set = ids
	} else {
		for _, lit := range x.Values {
			op, err := c.operandFor(x.Field, f, lit)
			if err != nil {
				return nil, err
			}
			switch {
			case op.null:
				hasNull = true
			case op.isRange:
				return nil, c.errAt("MALFORMED_QUERY", lit.Pos, "unexpected token: '"+soql.Clip(lit.Raw)+"'")
			default:
				switch v := op.v.(type) {
				case string:
					if f.isText() {
						v = strings.ToLower(v)
					}
					set[v] = true
				case bool:
					set[strconv.FormatBool(v)] = true
				case float64:
					nums = append(nums, v)
				}
			}
		}
	}
	if fp.leaf != nil && len(fp.hops) == 0 && p.t.str[fp.leaf.index] {
		// A string column: look its values up without boxing them; text folded into a buffer
		// (a map lookup by string(bytes) does not allocate).
		getStr := c.strGetter(p, fp)
		text := f.isText()
		var buf []byte
		in := func(r int32) bool {
			s, ok := getStr(r)
			if !ok {
				return hasNull
			}
			if !text {
				return set[s]
			}
			buf = appendLower(buf[:0], s)
			return set[string(buf)]
		}
		if x.Op == "NOT IN" {
			return func(r int32) bool { return !in(r) }, nil
		}
		return in, nil
	}
	in := func(r int32) bool {
		switch v := get(r).(type) {
		case nil:
			return hasNull
		case string:
			if f.isText() {
				v = strings.ToLower(v)
			}
			return set[v]
		case bool:
			return set[strconv.FormatBool(v)]
		default:
			fv := toFloat(v)
			for _, n := range nums {
				if n == fv {
					return true
				}
			}
		}
		return false
	}
	if x.Op == "NOT IN" {
		return func(r int32) bool { return !in(r) }, nil
	}
	return in, nil
}

// maxSemiJoins is how many semi-joins and anti-joins (IN or NOT IN with a subquery) a WHERE
// clause may hold: "No more than two IN or NOT IN statements per WHERE clause" (SOQL and SOSL
// Reference, Comparison Operators, "Semi-Join and Anti-Join Limitations").
const maxSemiJoins = 2

// checkSemiJoins applies Salesforce's rules on where a query's semi-joins may stand: at the top
// level of its WHERE clause, joined to it by AND, two at most, and not inside another semi-join's
// subquery (semiJoin checks that one). The messages are Salesforce's.
func (c *qctx) checkSemiJoins(where soql.Expr) *Error {
	n := 0
	// top: reached from the root through AND chains only; rootOR: the parent is the root, an OR.
	var check func(e soql.Expr, top, rootOR bool) *Error
	check = func(e soql.Expr, top, rootOR bool) *Error {
		switch x := e.(type) {
		case *soql.Logical:
			for _, t := range x.Terms {
				if e := check(t, top && x.Op == "AND", e == where && x.Op == "OR"); e != nil {
					return e
				}
			}
		case *soql.Not:
			return check(x.X, false, false)
		case *soql.SetComparison:
			switch {
			case x.Subquery == nil:
				return nil
			case rootOR:
				return c.errAt("MALFORMED_QUERY", x.Pos, "Semi join sub-selects are not allowed with the 'OR' operator")
			case !top:
				return c.errAt("MALFORMED_QUERY", x.Pos, "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions.")
			}
			if n++; n > maxSemiJoins {
				return c.errAt("MALFORMED_QUERY", x.Pos, fmt.Sprintf("Maximum %d semi join sub-selects are allowed", maxSemiJoins))
			}
		}
		return nil
	}
	if where == nil {
		return nil
	}
	return check(where, true, false)
}

// semiJoin runs the subquery of Id IN (SELECT RefField FROM X WHERE …) and returns the ids.
// Semi-joins do not nest: "Nesting of semi join sub-selects is not supported".
func (c *qctx) semiJoin(q *soql.Query) (map[string]bool, *Error) {
	if c.inSemiJoin {
		return nil, c.errAt("MALFORMED_QUERY", q.Pos, "Nesting of semi join sub-selects is not supported")
	}
	c.inSemiJoin = true
	defer func() { c.inSemiJoin = false }()
	o, ok := c.tx.schema.Lookup(q.From.Name)
	if !ok {
		return nil, c.errAt("INVALID_TYPE", q.From.Pos, fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(q.From.Name)))
	}
	if len(q.Select) != 1 {
		return nil, c.errAt("MALFORMED_QUERY", q.Pos, "The selected field in a semi join subquery must be a single Id or reference field")
	}
	ref, ok := q.Select[0].(*soql.FieldRef)
	if !ok {
		return nil, c.errAt("MALFORMED_QUERY", q.Pos, "The selected field in a semi join subquery must be a single Id or reference field")
	}
	p, err := c.compile(o, q, true)
	if err != nil {
		return nil, err
	}
	fp, _ := c.resolve(o, ref)
	if !fp.kind.isID() {
		return nil, c.errAt("INVALID_FIELD", ref.Pos, fmt.Sprintf("Invalid semi join: field %s is not an Id or reference field", soql.Clip(ref.String())))
	}
	rows, err := c.rows(p, nil)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, r := range rows {
		if s, ok := c.value(p.t, r, fp).(string); ok {
			ids[s] = true
		}
	}
	return ids, nil
}

func splitMulti(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, strings.ToLower(part))
		}
	}
	return out
}

func subset(want, have []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || w == h
		}
		if !found {
			return false
		}
	}
	return len(want) > 0
}

func sameSet(a, b []string) bool { return subset(a, b) && subset(b, a) }

// likeMatcher matches LIKE patterns: % any run of characters, _ one character, case-insensitive;
// \% and \_ (and the other escapes) stand for themselves.
type likeMatcher struct {
	pat []likeTok
}

type likeTok struct {
	r    rune
	kind byte // 'c' character, '%' any run, '_' one character
}

func compileLike(raw string) likeMatcher {
	var m likeMatcher
	for i := 0; i < len(raw); {
		r, n := utf8.DecodeRuneInString(raw[i:])
		i += n
		switch r {
		case '%', '_':
			m.pat = append(m.pat, likeTok{kind: byte(r)})
			continue
		case '\\':
			if i < len(raw) {
				e, n := utf8.DecodeRuneInString(raw[i:])
				i += n
				r = map[rune]rune{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}[e]
				if r == 0 {
					r = e
				}
			}
		}
		m.pat = append(m.pat, likeTok{r: unicode.ToLower(r), kind: 'c'})
	}
	return m
}

// prefix is the folded text every match starts with: the pattern's characters before its first
// wildcard.
func (m likeMatcher) prefix() string {
	var b strings.Builder
	for _, t := range m.pat {
		if t.kind != 'c' {
			break
		}
		b.WriteRune(t.r)
	}
	return b.String()
}

// literal returns the pattern's text when it has no wildcard.
func (m likeMatcher) literal() (string, bool) {
	for _, t := range m.pat {
		if t.kind != 'c' {
			return "", false
		}
	}
	return m.prefix(), true
}

func (m likeMatcher) match(s string) bool {
	// Wildcard matching with backtracking to the last %, over the string's runes in place.
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(s) {
		r, n := utf8.DecodeRuneInString(s[t:])
		r = unicode.ToLower(r)
		switch {
		case p < len(m.pat) && (m.pat[p].kind == '_' || m.pat[p].kind == 'c' && m.pat[p].r == r):
			p++
			t += n
		case p < len(m.pat) && m.pat[p].kind == '%':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			_, n := utf8.DecodeRuneInString(s[mark:])
			mark += n
			t = mark
		default:
			return false
		}
	}
	for p < len(m.pat) && m.pat[p].kind == '%' {
		p++
	}
	return p == len(m.pat)
}

// appendLower appends strings.ToLower(s) to dst.
func appendLower(dst []byte, s string) []byte {
	for _, r := range s {
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}
