package sfdc

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Statement is a SOQL query ready to send. *Query (the builder) and RawSOQL implement it.
type Statement interface {
	// SOQL renders the query text, or reports why it cannot.
	SOQL() (string, error)
	// Shape is the query with every literal replaced by '?', safe for logs and errors; "" when
	// unknown.
	Shape() string
}

// RawSOQL is query text written by a programmer, for queries the builder cannot express. Never
// build one from input: that is what Query is for. Its Shape is empty, so errors about it say
// nothing of its text.
type RawSOQL string

// SOQL returns the text unchanged.
func (r RawSOQL) SOQL() (string, error) { return string(r), nil }

// Shape returns "": a raw query's literals are unknown.
func (r RawSOQL) Shape() string { return "" }

// ErrBadQuery is the kind of every error the builders return: a bad identifier, an unsupported
// value type, an invalid id. Its messages name the position, never the value.
var ErrBadQuery = errors.New("sfdc: bad query")

// Query builds a SOQL SELECT. Every identifier is checked against a strict pattern and every
// value is rendered from a typed Go value with Salesforce's escapes, so no input can change the
// query's shape. The zero Query is empty; start with Select. Methods return a new Query; a Query
// is immutable and safe to share.
type Query struct {
	fields  []string
	subs    []*Query // child subqueries, after the fields
	from    string
	where   Cond
	order   []string
	limit   int
	offset  int
	errs    []error
	countFn bool
}

// Select starts a query for the given fields (relationship paths such as Account.Name allowed).
func Select(fields ...string) *Query {
	q := &Query{fields: make([]string, 0, len(fields))}
	for _, f := range fields {
		if err := checkIdent(f); err != nil {
			q.errs = append(q.errs, fmt.Errorf("%w: select field %d: %v", ErrBadQuery, len(q.fields)+1, err))
		}
		q.fields = append(q.fields, f)
	}
	if len(fields) == 0 {
		q.errs = append(q.errs, fmt.Errorf("%w: no fields selected", ErrBadQuery))
	}
	return q
}

// SelectCount starts a SELECT COUNT() query; its result's TotalSize is the count.
func SelectCount() *Query { return &Query{countFn: true} }

func (q *Query) clone() *Query {
	c := *q
	// A Query never writes into its slices, only appends: capped, they can be shared, since an
	// append to a full slice copies it.
	c.fields = q.fields[:len(q.fields):len(q.fields)]
	c.order = q.order[:len(q.order):len(q.order)]
	c.errs = q.errs[:len(q.errs):len(q.errs)]
	c.subs = q.subs[:len(q.subs):len(q.subs)]
	return &c
}

// Children adds a child subquery to the selected fields, e.g.
//
//	Select("Id", "Name").Children(Select("AccountId").From("AccountContactRelations").Where(Eq("IsActive", true)))
//
// reads each Contact with its active AccountContactRelation rows. sub's FROM is the child
// relationship's name (describe's childRelationships); its rows come back as a nested query
// result (Record.Children). sub is built and checked as any query.
func (q *Query) Children(sub *Query) *Query {
	c := q.clone()
	switch {
	case sub == nil:
		c.errs = append(c.errs, fmt.Errorf("%w: nil child subquery", ErrBadQuery))
	case len(sub.errs) > 0:
		c.errs = append(c.errs, fmt.Errorf("child subquery: %w", sub.errs[0]))
	case sub.from == "" || len(sub.subs) > 0:
		c.errs = append(c.errs, fmt.Errorf("%w: a child subquery needs a FROM and no subquery of its own", ErrBadQuery))
	}
	c.subs = append(c.subs, sub)
	return c
}

// From sets the object queried.
func (q *Query) From(object string) *Query {
	c := q.clone()
	if err := checkObject(object); err != nil {
		c.errs = append(c.errs, fmt.Errorf("%w: from: %v", ErrBadQuery, err))
	}
	c.from = object
	return c
}

// Where sets the filter; several conditions are joined with AND.
func (q *Query) Where(conds ...Cond) *Query {
	c := q.clone()
	switch len(conds) {
	case 0:
		c.where = nil
	case 1:
		c.where = conds[0]
	default:
		c.where = And(conds...)
	}
	return c
}

// OrderBy appends a sort key. desc sorts descending; nulls sort as Salesforce's default.
func (q *Query) OrderBy(field string, desc bool) *Query {
	c := q.clone()
	if err := checkIdent(field); err != nil {
		c.errs = append(c.errs, fmt.Errorf("%w: order by: %v", ErrBadQuery, err))
	}
	if desc {
		field += " DESC"
	} else {
		field += " ASC"
	}
	c.order = append(c.order, field)
	return c
}

// Limit caps the number of rows; n <= 0 means no limit.
func (q *Query) Limit(n int) *Query { c := q.clone(); c.limit = n; return c }

// Offset skips n rows (Salesforce allows at most 2,000); n <= 0 means none.
func (q *Query) Offset(n int) *Query { c := q.clone(); c.offset = n; return c }

// SOQL renders the query, or returns the first error met while building it.
func (q *Query) SOQL() (string, error) {
	if q == nil {
		return "", fmt.Errorf("%w: nil query", ErrBadQuery)
	}
	if len(q.errs) > 0 {
		return "", q.errs[0]
	}
	if q.from == "" {
		return "", fmt.Errorf("%w: no FROM object", ErrBadQuery)
	}
	var b strings.Builder
	b.Grow(q.sizeHint())
	if err := q.render(&b, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

// sizeHint guesses the rendered length, so that rendering usually allocates once.
func (q *Query) sizeHint() int {
	n := 64 + len(q.from)
	for _, f := range q.fields {
		n += len(f) + 2
	}
	for _, o := range q.order {
		n += len(o) + 2
	}
	if q.where != nil {
		n += 64
	}
	return n
}

// Shape renders the query with every literal replaced by '?'.
func (q *Query) Shape() string {
	if q == nil {
		return ""
	}
	var b strings.Builder
	if q.render(&b, true) != nil {
		return ""
	}
	return b.String()
}

// String is Shape: a Query never prints its literals.
func (q *Query) String() string { return q.Shape() }

func (q *Query) render(b *strings.Builder, shape bool) error {
	b.WriteString("SELECT ")
	if q.countFn {
		b.WriteString("COUNT()")
	}
	for i, f := range q.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f)
	}
	for i, sub := range q.subs {
		if i > 0 || len(q.fields) > 0 || q.countFn {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		if err := sub.render(b, shape); err != nil {
			return err
		}
		b.WriteByte(')')
	}
	b.WriteString(" FROM ")
	b.WriteString(q.from)
	if q.where != nil {
		b.WriteString(" WHERE ")
		if err := q.where.render(b, shape); err != nil {
			return err
		}
	}
	for i, o := range q.order {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o)
	}
	if q.limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(q.limit))
	}
	if q.offset > 0 {
		b.WriteString(" OFFSET ")
		b.WriteString(strconv.Itoa(q.offset))
	}
	return nil
}

// Cond is a WHERE condition. Build one with Eq, Ne, Lt, Le, Gt, Ge, In, NotIn, Like, IsNull,
// NotNull, And, Or and Not; there is no way to build one from text.
type Cond interface {
	render(b *strings.Builder, shape bool) error
}

type cmpCond struct {
	field string
	op    string
	value any
}

func (c cmpCond) render(b *strings.Builder, shape bool) error {
	if err := checkIdent(c.field); err != nil {
		return fmt.Errorf("%w: condition field: %v", ErrBadQuery, err)
	}
	b.WriteString(c.field)
	b.WriteByte(' ')
	b.WriteString(c.op)
	b.WriteByte(' ')
	return writeValue(b, c.value, shape, c.op == "IN" || c.op == "NOT IN" || c.op == "INCLUDES" || c.op == "EXCLUDES")
}

// Eq is field = value. value is a string, ID, bool, integer, float, time.Time (a datetime),
// Date, or nil (null).
func Eq(field string, value any) Cond { return cmpCond{field, "=", value} }

// Ne is field != value.
func Ne(field string, value any) Cond { return cmpCond{field, "!=", value} }

// Lt is field < value.
func Lt(field string, value any) Cond { return cmpCond{field, "<", value} }

// Le is field <= value.
func Le(field string, value any) Cond { return cmpCond{field, "<=", value} }

// Gt is field > value.
func Gt(field string, value any) Cond { return cmpCond{field, ">", value} }

// Ge is field >= value.
func Ge(field string, value any) Cond { return cmpCond{field, ">=", value} }

// In is field IN (values…); values is a slice of any type Eq accepts, and must not be empty.
func In(field string, values any) Cond { return cmpCond{field, "IN", values} }

// NotIn is field NOT IN (values…).
func NotIn(field string, values any) Cond { return cmpCond{field, "NOT IN", values} }

// Includes is field INCLUDES (values…) for a multi-select picklist: rows where any of the values
// is selected. values must not be empty.
func Includes(field string, values []string) Cond { return cmpCond{field, "INCLUDES", values} }

// Excludes is field EXCLUDES (values…) for a multi-select picklist.
func Excludes(field string, values []string) Cond { return cmpCond{field, "EXCLUDES", values} }

type semiJoin struct {
	field string
	not   bool
	sub   *Query
}

// InQuery is field IN (SELECT … FROM …): a semi-join, e.g. Id IN (SELECT AccountId FROM Contact
// WHERE …). sub selects one id or reference field; Salesforce allows at most two semi-joins per
// query, not nested and not under OR or NOT ("Semi-Join and Anti-Join Limitations").
func InQuery(field string, sub *Query) Cond { return semiJoin{field: field, sub: sub} }

// NotInQuery is field NOT IN (SELECT … FROM …): an anti-join, with InQuery's limits.
func NotInQuery(field string, sub *Query) Cond { return semiJoin{field: field, not: true, sub: sub} }

func (c semiJoin) render(b *strings.Builder, shape bool) error {
	if err := checkIdent(c.field); err != nil {
		return fmt.Errorf("%w: condition field: %v", ErrBadQuery, err)
	}
	switch {
	case c.sub == nil:
		return fmt.Errorf("%w: nil semi-join subquery", ErrBadQuery)
	case len(c.sub.errs) > 0:
		return fmt.Errorf("semi-join subquery: %w", c.sub.errs[0])
	case c.sub.from == "" || len(c.sub.fields) != 1 || len(c.sub.subs) > 0 || c.sub.countFn:
		return fmt.Errorf("%w: a semi-join subquery selects one field from one object", ErrBadQuery)
	}
	b.WriteString(c.field)
	if c.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	if err := c.sub.render(b, shape); err != nil {
		return err
	}
	b.WriteByte(')')
	return nil
}

// IsNull is field = null.
func IsNull(field string) Cond { return cmpCond{field, "=", nil} }

// NotNull is field != null.
func NotNull(field string) Cond { return cmpCond{field, "!=", nil} }

// LikePattern is a LIKE pattern whose literal parts are escaped; build one with Contains,
// HasPrefix, HasSuffix or Exactly.
type LikePattern struct {
	literal       string
	before, after bool
}

// Contains matches values containing s.
func Contains(s string) LikePattern { return LikePattern{literal: s, before: true, after: true} }

// HasPrefix matches values starting with s.
func HasPrefix(s string) LikePattern { return LikePattern{literal: s, after: true} }

// HasSuffix matches values ending with s.
func HasSuffix(s string) LikePattern { return LikePattern{literal: s, before: true} }

// Exactly matches values equal to s (case-insensitively, as LIKE does).
func Exactly(s string) LikePattern { return LikePattern{literal: s} }

type likeCond struct {
	field string
	p     LikePattern
}

// Like is field LIKE pattern; '%' and '_' in the pattern's text match only themselves.
func Like(field string, p LikePattern) Cond { return likeCond{field, p} }

func (c likeCond) render(b *strings.Builder, shape bool) error {
	if err := checkIdent(c.field); err != nil {
		return fmt.Errorf("%w: condition field: %v", ErrBadQuery, err)
	}
	b.WriteString(c.field)
	b.WriteString(" LIKE ")
	if !utf8.ValidString(c.p.literal) {
		return fmt.Errorf("%w: LIKE pattern is not valid UTF-8", ErrBadQuery)
	}
	if shape {
		b.WriteByte('?')
		return nil
	}
	b.WriteByte('\'')
	if c.p.before {
		b.WriteByte('%')
	}
	escapeSOQL(b, c.p.literal, true)
	if c.p.after {
		b.WriteByte('%')
	}
	b.WriteByte('\'')
	return nil
}

type boolCond struct {
	op    string
	conds []Cond
}

// And joins conditions with AND (parenthesised). And() with no conditions is an error.
func And(conds ...Cond) Cond { return boolCond{"AND", conds} }

// Or joins conditions with OR (parenthesised).
func Or(conds ...Cond) Cond { return boolCond{"OR", conds} }

func (c boolCond) render(b *strings.Builder, shape bool) error {
	if len(c.conds) == 0 {
		return fmt.Errorf("%w: empty %s", ErrBadQuery, c.op)
	}
	b.WriteByte('(')
	for i, x := range c.conds {
		if i > 0 {
			b.WriteByte(' ')
			b.WriteString(c.op)
			b.WriteByte(' ')
		}
		if x == nil {
			return fmt.Errorf("%w: nil condition", ErrBadQuery)
		}
		if err := x.render(b, shape); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	return nil
}

type notCond struct{ c Cond }

// Not negates a condition.
func Not(c Cond) Cond { return notCond{c} }

func (c notCond) render(b *strings.Builder, shape bool) error {
	if c.c == nil {
		return fmt.Errorf("%w: nil condition", ErrBadQuery)
	}
	b.WriteString("(NOT ")
	if err := c.c.render(b, shape); err != nil {
		return err
	}
	b.WriteByte(')')
	return nil
}

type trustedCond string

// Trusted is a condition written by an administrator, e.g. a search filter from the
// configuration ("IsPersonAccount = true"), rendered in parentheses as it is. Like RawSOQL it is
// for text a programmer or an administrator wrote, never for input: nothing in it is escaped.
// Its shape is "(?)": its literals are unknown, so errors and logs never show its text.
func Trusted(condition string) Cond { return trustedCond(condition) }

func (c trustedCond) render(b *strings.Builder, shape bool) error {
	if strings.TrimSpace(string(c)) == "" {
		return fmt.Errorf("%w: empty trusted condition", ErrBadQuery)
	}
	if !utf8.ValidString(string(c)) {
		return fmt.Errorf("%w: trusted condition is not valid UTF-8", ErrBadQuery)
	}
	b.WriteByte('(')
	if shape {
		b.WriteByte('?')
	} else {
		b.WriteString(string(c))
	}
	b.WriteByte(')')
	return nil
}

// Date is a calendar date without a time or zone, rendered as YYYY-MM-DD.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns t's date in t's location.
func DateOf(t time.Time) Date { y, m, d := t.Date(); return Date{y, m, d} }

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func (d Date) valid() bool {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return d.Year >= 1700 && d.Year <= 4000 && t.Month() == d.Month && t.Day() == d.Day
}

// writeValue renders one typed value (or a parenthesised list when list is set).
func writeValue(b *strings.Builder, v any, shape, list bool) error {
	if list {
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return fmt.Errorf("%w: IN needs a slice, got %T", ErrBadQuery, v)
		}
		if rv.Len() == 0 {
			return fmt.Errorf("%w: IN with an empty list", ErrBadQuery)
		}
		b.WriteByte('(')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeScalar(b, rv.Index(i).Interface(), shape); err != nil {
				return err
			}
		}
		b.WriteByte(')')
		return nil
	}
	return writeScalar(b, v, shape)
}

func writeScalar(b *strings.Builder, v any, shape bool) error {
	if v == nil {
		b.WriteString("null") // null is part of the shape, not a literal
		return nil
	}
	var s string
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%w: string value is not valid UTF-8", ErrBadQuery)
		}
		if !shape {
			b.WriteByte('\'')
			escapeSOQL(b, x, false)
			b.WriteByte('\'')
		}
	case ID:
		if !x.valid() {
			return fmt.Errorf("%w: %w", ErrBadQuery, ErrBadID)
		}
		s = "'" + string(x) + "'"
	case bool:
		s = strconv.FormatBool(x)
	case int:
		s = strconv.FormatInt(int64(x), 10)
	case int8:
		s = strconv.FormatInt(int64(x), 10)
	case int16:
		s = strconv.FormatInt(int64(x), 10)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint:
		s = strconv.FormatUint(uint64(x), 10)
	case uint8:
		s = strconv.FormatUint(uint64(x), 10)
	case uint16:
		s = strconv.FormatUint(uint64(x), 10)
	case uint32:
		s = strconv.FormatUint(uint64(x), 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	case float32:
		return writeScalar(b, float64(x), shape)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: NaN or infinite number", ErrBadQuery)
		}
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if x.IsZero() {
			return fmt.Errorf("%w: zero time", ErrBadQuery)
		}
		s = x.UTC().Format("2006-01-02T15:04:05.000Z")
	case DateTime:
		return writeScalar(b, x.Time, shape)
	case Date:
		if !x.valid() {
			return fmt.Errorf("%w: invalid date", ErrBadQuery)
		}
		s = x.String()
	default:
		return fmt.Errorf("%w: unsupported value type %T", ErrBadQuery, v)
	}
	if shape {
		b.WriteByte('?')
	} else {
		b.WriteString(s)
	}
	return nil
}

// EscapeSOQL returns s escaped for use inside a SOQL string literal ('…'): backslash first, then
// quotes and control characters. Prefer the builder, which also adds the quotes.
func EscapeSOQL(s string) string {
	var b strings.Builder
	escapeSOQL(&b, s, false)
	return b.String()
}

// EscapeLike is EscapeSOQL that also escapes LIKE's wildcards '%' and '_'.
func EscapeLike(s string) string {
	var b strings.Builder
	escapeSOQL(&b, s, true)
	return b.String()
}

func escapeSOQL(b *strings.Builder, s string, like bool) {
	b.Grow(len(s) + 2)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '%', '_':
			if like {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}

// reservedSOQL are words SOQL's grammar owns; an identifier may not be one of them.
var reservedSOQL = map[string]bool{
	"AND": true, "ASC": true, "DESC": true, "EXCLUDES": true, "FIRST": true, "FROM": true, "GROUP": true,
	"HAVING": true, "IN": true, "INCLUDES": true, "LAST": true, "LIKE": true, "LIMIT": true, "NOT": true,
	"NULL": true, "NULLS": true, "OR": true, "SELECT": true, "WHERE": true, "WITH": true, "TRUE": true,
	"FALSE": true, "OFFSET": true, "ORDER": true, "BY": true, "USING": true, "SCOPE": true, "TYPEOF": true,
	"END": true, "FOR": true, "UPDATE": true, "VIEW": true, "REFERENCE": true, "FIND": true, "RETURNING": true,
}

// checkObject checks an object name: one identifier segment.
func checkObject(s string) error {
	if strings.Contains(s, ".") {
		return errors.New("object name with a dot")
	}
	return checkIdent(s)
}

// checkIdent checks a field name or a relationship path (at most 5 levels, as Salesforce
// allows): segments of ASCII letters, digits and single underscores, starting with a letter, with
// an optional namespace prefix (ns__) and suffix (__c, __r, __x, …). Reserved words are refused.
// The error describes the rule broken, never the text.
func checkIdent(s string) error {
	if s == "" {
		return errors.New("empty identifier")
	}
	if len(s) > 255 {
		return errors.New("identifier too long")
	}
	if strings.Count(s, ".") > 5 {
		return errors.New("relationship path deeper than 5 levels")
	}
	for seg := range strings.SplitSeq(s, ".") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

func checkSegment(seg string) error {
	if seg == "" {
		return errors.New("empty path segment")
	}
	if !(seg[0] >= 'a' && seg[0] <= 'z' || seg[0] >= 'A' && seg[0] <= 'Z') {
		return errors.New("identifier must start with a letter")
	}
	if seg[len(seg)-1] == '_' {
		return errors.New("identifier ends with an underscore")
	}
	doubles := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '_' {
			if i+2 < len(seg) && seg[i+1] == '_' && seg[i+2] == '_' {
				return errors.New("identifier with three underscores in a row")
			}
			if i+1 < len(seg) && seg[i+1] == '_' {
				doubles++
				if doubles > 2 {
					return errors.New("identifier with too many double underscores")
				}
				if !(seg[i+2] >= 'a' && seg[i+2] <= 'z' || seg[i+2] >= 'A' && seg[i+2] <= 'Z') {
					return errors.New("identifier part must start with a letter")
				}
				i++
			}
			continue
		}
		if !isAlnum(c) {
			return errors.New("identifier with a character other than a letter, digit or underscore")
		}
	}
	if isReservedSOQL(seg) {
		return errors.New("identifier is a reserved word")
	}
	return nil
}

// isReservedSOQL reports whether seg (ASCII) is a reserved word in any case, without allocating.
func isReservedSOQL(seg string) bool {
	var up [16]byte // longer than every reserved word
	if len(seg) > len(up) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	return reservedSOQL[string(up[:len(seg)])]
}
