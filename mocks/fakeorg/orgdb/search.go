package orgdb

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// Search runs SOSL and returns searchRecords: for each object of RETURNING (every searchable
// object when absent), in that order, the records whose fields in scope match the term.
// Matching is case-insensitive and word-based: a word matches a whole word of a field (with *
// and ? wildcards), a phrase consecutive words. A term that looks like a phone number (only
// digits and phone punctuation, at least seven digits) matches phone fields by digits, whatever
// their formatting, with or without the country code; in the ALL and PHONE scopes it then
// matches phone fields only. So does each number of an OR of such numbers (FIND {4155550101 OR
// 14155550101}: a number in its international and national forms), matching a field that holds
// any of them. As in Salesforce, past 4,000 characters a term's logical operators
// are ignored, and past 10,000 it finds nothing.
func (tx *Tx) Search(sosl string) ([]*Record, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, e
	}
	s, err := soql.ParseSearch(sosl)
	if err != nil {
		return nil, soqlError(err)
	}
	c := &qctx{tx: tx, db: tx.db, src: sosl, now: tx.db.now()}
	var specs []searchSpec
	for _, r := range s.Returning {
		q := &soql.Query{Pos: r.Object.Pos, From: r.Object, Where: r.Where, OrderBy: r.OrderBy, Limit: r.Limit, Offset: r.Offset}
		for _, f := range r.Fields {
			q.Select = append(q.Select, f)
		}
		specs = append(specs, searchSpec{q: q})
	}
	limit := 2000
	if s.Limit != nil {
		limit = s.Limit.Value
	}
	return c.search(s.Term, s.Expr, s.In, specs, limit)
}

// ParameterizedSearch runs a parameterized search: q is a search term as in FIND {…}, In the
// scope, Objects (or every searchable object) what to return, each Where a SOQL condition.
func (tx *Tx) ParameterizedSearch(p SearchParams) ([]*Record, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, e
	}
	expr, err := soql.ParseSearchTerm(p.Q)
	if err != nil {
		return nil, soqlError(err)
	}
	in := strings.ToUpper(p.In)
	switch in {
	case "":
		in = "ALL"
	case "ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR":
	default:
		return nil, errBadRequest("INVALID_SEARCH_SCOPE", fmt.Sprintf("Invalid search scope: %s", p.In))
	}
	c := &qctx{tx: tx, db: tx.db, src: p.Q, now: tx.db.now()}
	var specs []searchSpec
	for _, o := range p.Objects {
		fields := o.Fields
		if len(fields) == 0 {
			fields = p.Fields
		}
		src := "SELECT " + strings.Join(append([]string{"Id"}, fields...), ", ") + " FROM " + o.Name
		if o.Where != "" {
			src += " WHERE " + o.Where
		}
		if o.Limit > 0 {
			src += fmt.Sprintf(" LIMIT %d", o.Limit)
		}
		q, err := soql.Parse(src)
		if err != nil {
			return nil, soqlError(err)
		}
		if len(fields) == 0 || listHasFold(fields, "Id") {
			q.Select = q.Select[1:]
		}
		specs = append(specs, searchSpec{q: q, src: src})
	}
	if len(specs) == 0 && len(p.Fields) > 0 {
		for _, o := range tx.schema.objects {
			if !o.searchable {
				continue
			}
			src := "SELECT " + strings.Join(p.Fields, ", ") + " FROM " + o.name
			q, err := soql.Parse(src)
			if err != nil {
				return nil, soqlError(err)
			}
			specs = append(specs, searchSpec{q: q, src: src, lenient: true})
		}
	}
	limit := 2000
	if p.Limit > 0 {
		limit = p.Limit
	}
	return c.search(p.Q, expr, in, specs, limit)
}

func listHasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

type searchSpec struct {
	q       *soql.Query
	src     string // the source the query's positions refer to, when not the statement
	lenient bool   // skip objects where the fields do not resolve (default field lists)
}

func (c *qctx) search(term string, expr soql.SearchExpr, in string, specs []searchSpec, limit int) ([]*Record, *Error) {
	out := []*Record{}
	if utf8.RuneCountInString(term) > 10000 {
		return out, nil // Salesforce returns no rows for terms this long
	}
	if specs == nil {
		for _, o := range c.tx.schema.objects {
			if o.searchable {
				specs = append(specs, searchSpec{q: &soql.Query{From: soql.Name{Name: o.name}}})
			}
		}
	}
	m := newTermMatcher(term, expr)
	for _, spec := range specs {
		cc := *c
		if spec.src != "" {
			cc.src = spec.src
		}
		o, ok := c.tx.schema.Lookup(spec.q.From.Name)
		if !ok {
			return nil, cc.errAt("INVALID_TYPE", spec.q.From.Pos, fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(spec.q.From.Name)))
		}
		if !o.searchable {
			return nil, cc.errAt("INVALID_TYPE", spec.q.From.Pos, fmt.Sprintf("entity type %s does not support search", o.name))
		}
		p, e := cc.compile(o, spec.q, true)
		if e != nil {
			if spec.lenient {
				continue
			}
			return nil, e
		}
		if len(p.aggs) > 0 {
			return nil, cc.errAt("MALFORMED_SEARCH", spec.q.From.Pos, "aggregate functions are not supported in search")
		}
		if len(spec.q.Select) == 0 {
			p.out.entries = []*outEntry{{name: "Id", leaf: o.fields[0]}}
		}
		fields := scopeFields(o, in)
		match := func(r int32) bool { return m.matchRow(p.t, r, fields) }
		if where := p.where; where != nil {
			p.where = func(r int32) bool { return where(r) && match(r) }
		} else {
			p.where = match
		}
		p.terms += m.words
		// A phone-shaped term reads only the rows the phone index names (in scopes with phones);
		// other terms the rows the search index names.
		switch {
		case p.seek != nil:
		case len(m.phones) > 0 && (in == "ALL" || in == "PHONE"):
			p.fixed = []int32{}
			for _, ph := range m.phones {
				p.fixed = p.t.phones.lookup(phoneKey(ph), p.fixed)
			}
			slices.Sort(p.fixed)
			p.fixed = slices.Compact(p.fixed)
		default:
			p.fixed = m.candidates(m.root, p.t.words)
		}
		rows, e := cc.rows(p, nil)
		if e != nil {
			return nil, e
		}
		c.work = cc.work // the statement's objects share one budget of filter work
		for _, r := range rows {
			if len(out) >= limit {
				return out, nil
			}
			rec, e := cc.project(p, p.t, r)
			if e != nil {
				return nil, e
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// scopeFields lists the fields an IN … FIELDS scope searches.
func scopeFields(o *SObject, in string) []*FieldDef {
	var out []*FieldDef
	for _, f := range o.fields {
		var ok bool
		switch in {
		case "NAME":
			ok = f.NameField || f.Name == "FirstName" || f.Name == "LastName" || f.Name == "Company"
		case "EMAIL":
			ok = f.Type == "email"
		case "PHONE":
			ok = f.Type == "phone"
		default:
			switch f.Type {
			case "string", "textarea", "email", "phone", "url":
				ok = !f.AutoNumber
			}
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

// termMatcher decides whether a row matches a search term.
type termMatcher struct {
	root   *termNode
	words  int      // the term's words: what matching a row costs (see maxFilterWork)
	phones []string // the digits of the numbers the term is, when it looks like phone numbers
}

// termNode is a search term compiled for matching: a word, NOT of one node, or an AND or OR of
// any number of nodes. A chain (a OR b OR c …, or the words of a long term, which AND) is one
// node, so matching recurses only as deep as the term's parentheses.
type termNode struct {
	op   byte // 'W' word, 'N' not, 'A' and, 'O' or
	kids []*termNode
	pats []likeMatcher // a word as a phrase of token patterns
	// needle is a word's longest run of literal characters, lower-cased: a field without it
	// cannot match, and is skipped before it is split into tokens.
	needle string
}

func newTermMatcher(term string, expr soql.SearchExpr) *termMatcher {
	m := &termMatcher{}
	m.root = m.compile(expr)
	if d, ok := phoneDigits(term); ok {
		m.phones = []string{d}
		return m
	}
	// An OR of numbers (and nothing else): each is a number.
	var numbers []string
	var walk func(e soql.SearchExpr) bool
	walk = func(e soql.SearchExpr) bool {
		switch x := e.(type) {
		case *soql.SearchWord:
			d, ok := phoneDigits(x.Text)
			numbers = append(numbers, d)
			return ok
		case *soql.SearchLogical:
			return x.Op == "OR" && walk(x.X) && walk(x.Y)
		}
		return false
	}
	if walk(expr) {
		m.phones = numbers
	}
	return m
}

// phoneDigits returns the digits of s when s looks like a phone number: digits and phone
// punctuation only, at least seven digits.
func phoneDigits(s string) (string, bool) {
	for _, r := range s {
		if !strings.ContainsRune("0123456789+-() .\\", r) {
			return "", false
		}
	}
	d := digits(s)
	return d, len(d) >= 7
}

func (m *termMatcher) compile(e soql.SearchExpr) *termNode {
	switch x := e.(type) {
	case *soql.SearchWord:
		m.words++
		pats := wordPatterns(x.Pattern)
		return &termNode{op: 'W', pats: pats, needle: longestLiteral(pats)}
	case *soql.SearchNot:
		return &termNode{op: 'N', kids: []*termNode{m.compile(x.X)}}
	case *soql.SearchLogical:
		// A chain nests to the left: walk down its spine in a loop, not by recursion.
		var terms []soql.SearchExpr
		cur := soql.SearchExpr(x)
		for {
			l, ok := cur.(*soql.SearchLogical)
			if !ok || l.Op != x.Op {
				terms = append(terms, cur)
				break
			}
			terms = append(terms, l.Y)
			cur = l.X
		}
		n := &termNode{op: x.Op[0], kids: make([]*termNode, len(terms))}
		for i, t := range terms {
			n.kids[len(terms)-1-i] = m.compile(t)
		}
		return n
	}
	return &termNode{op: 'O'} // matches nothing
}

// wordPatterns splits a word's pattern into token patterns the way field text is split into
// tokens: letters and digits (and wildcards) make tokens, anything else separates them.
func wordPatterns(pattern string) []likeMatcher {
	var out []likeMatcher
	var cur likeMatcher
	flush := func() {
		if len(cur.pat) > 0 {
			out = append(out, cur)
			cur = likeMatcher{}
		}
	}
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		escaped := false
		if r == '\\' && i+1 < len(rs) {
			i++
			r, escaped = rs[i], true
		}
		switch {
		case !escaped && r == '*':
			cur.pat = append(cur.pat, likeTok{kind: '%'})
		case !escaped && r == '?':
			cur.pat = append(cur.pat, likeTok{kind: '_'})
		case isWordRune(r):
			cur.pat = append(cur.pat, likeTok{kind: 'c', r: unicode.ToLower(r)})
		default:
			flush()
		}
	}
	flush()
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// tokens splits text into lower-case words.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !isWordRune(r) })
}

func (m *termMatcher) matchRow(t *table, r int32, fields []*FieldDef) bool {
	for _, f := range fields {
		if len(m.phones) == 0 {
			break
		}
		if f.Type == "phone" {
			if s := t.getString(r, f); s != "" {
				d := digits(s)
				for _, ph := range m.phones {
					if phoneMatch(d, ph) {
						return true
					}
				}
			}
		}
	}
	return m.eval(m.root, t, r, fields)
}

func (m *termMatcher) eval(n *termNode, t *table, r int32, fields []*FieldDef) bool {
	switch n.op {
	case 'A':
		for _, k := range n.kids {
			if !m.eval(k, t, r, fields) {
				return false
			}
		}
		return true
	case 'O':
		for _, k := range n.kids {
			if m.eval(k, t, r, fields) {
				return true
			}
		}
		return false
	case 'N':
		return !m.eval(n.kids[0], t, r, fields)
	}
	if len(n.pats) == 0 {
		return false
	}
	for _, f := range fields {
		s := t.getString(r, f)
		if s == "" || !containsFold(s, n.needle) {
			continue
		}
		if matchPhrase(tokens(s), n.pats) {
			return true
		}
	}
	return false
}

// candidates returns the rows the table's search index says can match n, ascending and
// without repeats, or nil when the index cannot narrow them (a NOT, a word starting with a
// wildcard, a prefix shared by too many words).
func (m *termMatcher) candidates(n *termNode, w *wordIndex) []int32 {
	switch n.op {
	case 'A':
		var all candidateSet
		for _, k := range n.kids {
			all.and(m.candidates(k, w))
		}
		return all.rows
	case 'O':
		var out []int32
		for _, k := range n.kids {
			c := m.candidates(k, w)
			if c == nil {
				return nil
			}
			out = union(out, c)
		}
		if out == nil {
			out = []int32{}
		}
		return out
	case 'N':
		return nil
	}
	if len(n.pats) == 0 {
		return []int32{}
	}
	// A phrase matches only rows holding each of its tokens: intersect what each token names.
	var all candidateSet
	for _, p := range n.pats {
		all.and(w.rows(p))
	}
	return all.rows
}

// candidateSet intersects row sets, where nil means "unknown: every row".
type candidateSet struct {
	rows []int32
}

func (s *candidateSet) and(rows []int32) {
	switch {
	case rows == nil:
	case s.rows == nil:
		s.rows = rows
	default:
		s.rows = intersect(s.rows, rows)
	}
}

// longestLiteral returns the longest run of literal characters in a word's token patterns.
func longestLiteral(pats []likeMatcher) string {
	best := ""
	for _, p := range pats {
		var run []rune
		for _, tok := range append(p.pat, likeTok{kind: '%'}) {
			if tok.kind == 'c' {
				run = append(run, tok.r)
				continue
			}
			if len(run) > len([]rune(best)) {
				best = string(run)
			}
			run = run[:0]
		}
	}
	return best
}

// containsFold reports whether s contains needle (lower-case) ignoring case, without
// allocating for ASCII text.
func containsFold(s, needle string) bool {
	if needle == "" {
		return true
	}
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	for i := 0; i < len(needle) && ascii; i++ {
		ascii = needle[i] < utf8.RuneSelf
	}
	if !ascii {
		return strings.Contains(strings.ToLower(s), needle)
	}
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func matchPhrase(toks []string, pats []likeMatcher) bool {
	for start := 0; start+len(pats) <= len(toks); start++ {
		ok := true
		for j, p := range pats {
			if !p.match(toks[start+j]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
