package orgdb

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// queryCache keeps parsed queries, so that a query string is parsed once. It is bounded: when
// full it starts afresh, and it keeps only statements of up to queryCacheLen bytes, so that it
// holds at most queryCacheSize × queryCacheLen bytes of source (and their trees).
type queryCache struct {
	mu sync.Mutex
	m  map[string]*soql.Query
}

const (
	queryCacheSize = 4096
	queryCacheLen  = 4096
)

func (c *queryCache) parse(src string) (*soql.Query, error) {
	if len(src) > queryCacheLen {
		return soql.Parse(src)
	}
	c.mu.Lock()
	q, ok := c.m[src]
	c.mu.Unlock()
	if ok {
		return q, nil
	}
	q, err := soql.Parse(src)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= queryCacheSize {
		c.m = make(map[string]*soql.Query)
	}
	c.m[src] = q
	c.mu.Unlock()
	return q, nil
}

// Query runs SOQL and returns every record of the result; includeDeleted is queryAll. Errors
// are MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR or
// NUMBER_OUTSIDE_VALID_RANGE with Salesforce's caret diagram in the message, and
// QUERY_TOO_COMPLICATED for a statement nested too deeply or whose filter would cost too much.
func (tx *Tx) Query(src string, includeDeleted bool) (*QueryResult, *Error) {
	cur, e := tx.QueryCursor(src, includeDeleted)
	if e != nil {
		return nil, e
	}
	recs, e := cur.Records(tx, 0, cur.Len())
	if e != nil {
		return nil, e
	}
	return &QueryResult{TotalSize: cur.TotalSize, Done: true, Records: recs}, nil
}

// QueryCursor runs SOQL as Query does, but returns its result as a Cursor, whose records are
// built a page at a time.
func (tx *Tx) QueryCursor(src string, includeDeleted bool) (*Cursor, *Error) {
	c, p, e := tx.compileQuery(src, includeDeleted)
	if e != nil {
		return nil, e
	}
	return c.cursor(p)
}

// compileQuery parses and compiles a query, with the errors Query answers.
func (tx *Tx) compileQuery(src string, includeDeleted bool) (*qctx, *plan, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, nil, e
	}
	q, err := tx.db.cache.parse(src)
	if err != nil {
		return nil, nil, soqlError(err)
	}
	c := &qctx{tx: tx, db: tx.db, src: src, now: tx.db.now(), includeDeleted: includeDeleted}
	o, ok := tx.schema.Lookup(q.From.Name)
	if !ok {
		return nil, nil, c.errAt("INVALID_TYPE", q.From.Pos, fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(q.From.Name)))
	}
	if e := c.checkSemiJoins(q.Where); e != nil {
		return nil, nil, e
	}
	p, e := c.compile(o, q, false)
	if e != nil {
		return nil, nil, e
	}
	return c, p, nil
}

// Cursor is a query's result, read a page at a time. Which rows it holds, and in what order, is
// fixed when the query runs: it keeps their ids (18 bytes a row) and nothing else. A page's
// records are built when the page is read, from the data as it is then (a row deleted since is
// read as it is in the recycle bin). So the memory a result holds is 18 bytes a row, whatever
// the fields selected, and building records costs memory for one page at a time.
type Cursor struct {
	TotalSize int // the rows of the result; for COUNT() the count
	c         qctx
	p         *plan
	ids       string  // the rows' ids, 18 bytes each, in output order
	agg       *Record // aggregate queries: the one record
}

// Len is how many records the cursor holds: TotalSize, 1 for an aggregate query and 0 for COUNT().
func (cu *Cursor) Len() int {
	if cu.agg != nil {
		return 1
	}
	return len(cu.ids) / idLen
}

// Records builds the records from index from (inclusive) to to (exclusive), reading the data
// through tx, which must be live. A row that no longer exists (its insert was rolled back) is
// left out.
func (cu *Cursor) Records(tx *Tx, from, to int) ([]*Record, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, e
	}
	if cu.agg != nil {
		if from == 0 && to >= 1 {
			return []*Record{cu.agg}, nil
		}
		return []*Record{}, nil
	}
	to = min(to, cu.Len())
	c := cu.c // each read has its own budget for child subqueries
	out := make([]*Record, 0, max(0, to-from))
	for i := from; i < to; i++ {
		r, ok := cu.p.t.byID[cu.ids[i*idLen:(i+1)*idLen]]
		if !ok {
			continue
		}
		rec, e := c.project(cu.p, cu.p.t, r)
		if e != nil {
			return nil, e
		}
		out = append(out, rec)
	}
	return out, nil
}

const idLen = 18

func soqlError(err error) *Error {
	if se, ok := err.(*soql.Error); ok {
		return &Error{Status: http.StatusBadRequest, Code: se.Code, Message: se.Error(), Fields: []string{}}
	}
	return &Error{Status: http.StatusBadRequest, Code: "MALFORMED_QUERY", Message: err.Error(), Fields: []string{}}
}

// qctx is one query execution.
type qctx struct {
	tx             *Tx
	db             *DB
	src            string
	now            time.Time
	includeDeleted bool
	inSemiJoin     bool  // compiling a semi-join's subquery
	work           int64 // filter evaluations so far (rows read × comparisons), against maxFilterWork
}

// maxFilterWork bounds the filter evaluations one query (or one page of its records, for
// child subqueries) may make: rows read times the comparisons of the WHERE clause, summed over
// the query, its semi-joins and its child subqueries. Past it the query stops with Salesforce's
// QUERY_TOO_COMPLICATED ("... the filter conditions are too complicated."). 20 million is under
// a second of CPU, and lets a query test 200 conditions on each of 100,000 rows; it bounds what a
// 100,000-character chain of OR terms could cost over a large table (minutes). The count does
// not depend on timing, so a query either always passes or always fails on the same data. (A
// variable only so that tests can lower it.)
var maxFilterWork int64 = 20_000_000

// workCheckEvery is how many rows a scan reads between two charges against maxFilterWork.
const workCheckEvery = 1024

// spend charges rows × terms filter evaluations to the query.
func (c *qctx) spend(rows, terms int) *Error {
	if terms == 0 || rows == 0 {
		return nil
	}
	c.work += int64(rows) * int64(terms)
	if c.work > maxFilterWork {
		return soqlError(soql.TooComplicated())
	}
	return nil
}

func (c *qctx) errAt(code string, pos soql.Pos, detail string) *Error {
	return soqlError(soql.NewError(code, c.src, pos, detail))
}

// ---- field paths ----

// path is a resolved field reference: reference fields to follow, then a leaf field. When the
// last hop is polymorphic the leaf is looked up by name on whatever object the id points at.
type path struct {
	hops     []*FieldDef
	leaf     *FieldDef // nil after a polymorphic hop
	leafName string    // lower case, for polymorphic leaves
	kind     *FieldDef // the field that gives the leaf's type (for polymorphic: the first target's)
}

func (c *qctx) noSuchColumn(o *SObject, f *soql.FieldRef) *Error {
	return c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(f.Path[len(f.Path)-1]), o.name))
}

// maxParentLevels is how many child-to-parent relationships a field path may follow: "In each
// specified relationship, no more than five levels can be specified in a child-to-parent
// relationship" (SOQL and SOSL Reference, "Relationship Query Limitations").
const maxParentLevels = 5

func (c *qctx) resolve(o *SObject, f *soql.FieldRef) (*path, *Error) {
	segs := f.Path
	if len(segs) > 1 && strings.EqualFold(segs[0], o.name) {
		if _, isRel := o.byRelationship[strings.ToLower(segs[0])]; !isRel {
			segs = segs[1:]
		}
	}
	if len(segs)-1 > maxParentLevels {
		return nil, c.errAt("MALFORMED_QUERY", f.Pos, fmt.Sprintf("Cannot query foreign key relationships more than %d levels away from the root SObject", maxParentLevels))
	}
	p := &path{}
	cur := o
	for i, seg := range segs[:len(segs)-1] {
		rel, ok := cur.byRelationship[strings.ToLower(seg)]
		if !ok {
			return nil, c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(seg)))
		}
		p.hops = append(p.hops, rel)
		if len(rel.ReferenceTo) > 1 {
			if i != len(segs)-2 {
				return nil, c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(segs[i+1])))
			}
			leaf := strings.ToLower(segs[len(segs)-1])
			p.leafName = leaf
			for _, to := range rel.ReferenceTo {
				t, _ := c.tx.schema.Lookup(to)
				if fd, ok := t.byName[leaf]; ok {
					p.kind = fd
					return p, nil
				}
			}
			if leaf == "type" {
				p.kind = &FieldDef{Name: "Type", Type: "string"}
				return p, nil
			}
			last, _ := c.tx.schema.Lookup(rel.ReferenceTo[0])
			return nil, c.noSuchColumn(last, f)
		}
		cur, _ = c.tx.schema.Lookup(rel.ReferenceTo[0])
	}
	leaf, ok := cur.Field(segs[len(segs)-1])
	if !ok {
		return nil, c.noSuchColumn(cur, f)
	}
	p.leaf, p.kind = leaf, leaf
	return p, nil
}

// follow walks the hops from row r of t; ok is false when a reference on the way is empty.
func (c *qctx) follow(t *table, r int32, hops []*FieldDef) (*table, int32, bool) {
	for _, h := range hops {
		id := t.getString(r, h)
		if id == "" {
			return nil, 0, false
		}
		o, ok := c.db.schema.ObjectForID(id)
		if !ok {
			return nil, 0, false
		}
		t = c.db.tableOf(o)
		if r, ok = t.byID[id]; !ok {
			return nil, 0, false
		}
	}
	return t, r, true
}

func (c *qctx) value(t *table, r int32, p *path) any {
	if len(p.hops) > 0 {
		var ok bool
		if t, r, ok = c.follow(t, r, p.hops); !ok {
			return nil
		}
	}
	if p.leaf != nil {
		return t.get(r, p.leaf)
	}
	if f, ok := t.obj.byName[p.leafName]; ok {
		return t.get(r, f)
	}
	if p.leafName == "type" {
		return t.obj.name
	}
	return nil
}

// ---- plans ----

type plan struct {
	obj     *SObject
	t       *table
	out     *outNode
	where   func(r int32) bool // nil: every row
	seek    []seekPart         // the rows to start from, when the WHERE allows; nil: every row
	fixed   []int32            // candidate rows chosen by the caller (search by phone), when not nil
	order   []orderKey
	limit   int // -1: none
	offset  int
	count   bool // SELECT COUNT()
	aggs    []aggItem
	link    *FieldDef // child subqueries: the reference field to the parent
	linkRel string
	terms   int // comparisons in the WHERE clause: what reading a row costs (see maxFilterWork)
}

type orderKey struct {
	p         *path
	desc      bool
	nullsLast bool
}

type aggItem struct {
	fn    string
	p     *path
	alias string
}

// outNode is the shape of an output record: leaves and parent relationships, in select order.
type outNode struct {
	entries []*outEntry
}

type outEntry struct {
	name  string    // output name: canonical field or relationship name
	leaf  *FieldDef // a field of this node's object (nil for polymorphic leaves)
	lower string    // polymorphic leaves: the lower-case name
	rel   *FieldDef // a parent relationship
	sub   *outNode
	child *plan // a child subquery
}

func (n *outNode) find(name string) *outEntry {
	for _, e := range n.entries {
		if e.rel != nil && strings.EqualFold(e.name, name) {
			return e
		}
	}
	return nil
}

func (c *qctx) compile(o *SObject, q *soql.Query, child bool) (*plan, *Error) {
	p := &plan{obj: o, t: c.db.tableOf(o), out: &outNode{}, limit: -1}
	seen := map[string]bool{}
	var plain *soql.FieldRef
	fieldsFunc := false
	for _, item := range q.Select {
		_, ok := item.(*soql.FieldsFunc)
		fieldsFunc = fieldsFunc || ok
	}
	for _, item := range q.Select {
		switch it := item.(type) {
		case *soql.FieldRef:
			fp, e := c.resolve(o, it)
			if e != nil {
				return nil, e
			}
			key := strings.ToLower(strings.Join(it.Path, "."))
			if len(fp.hops) == 0 {
				key = strings.ToLower(fp.leaf.Name)
			}
			if seen[key] {
				if fieldsFunc {
					continue // already selected by FIELDS(…)
				}
				return nil, c.errAt("INVALID_FIELD", it.Pos, "duplicate field selected: "+soql.Clip(it.String()))
			}
			seen[key] = true
			c.addOutput(p.out, fp, it)
			if plain == nil {
				plain = it
			}
		case *soql.FieldsFunc:
			if it.Kind != "STANDARD" && (q.Limit == nil || q.Limit.Value > 200) {
				return nil, c.errAt("MALFORMED_QUERY", it.Pos, "The SOQL FIELDS function must have a LIMIT of at most 200")
			}
			for _, f := range o.fields {
				key := strings.ToLower(f.Name)
				if seen[key] || it.Kind == "STANDARD" && f.Custom || it.Kind == "CUSTOM" && !f.Custom {
					continue
				}
				seen[key] = true
				p.out.entries = append(p.out.entries, &outEntry{name: f.Name, leaf: f})
				if plain == nil {
					plain = &soql.FieldRef{Pos: it.Pos, Path: []string{"FIELDS(" + it.Kind + ")"}}
				}
			}
		case *soql.Subquery:
			if child {
				return nil, c.errAt("MALFORMED_QUERY", it.Pos, "unexpected token: '('")
			}
			cr, ok := o.childByName[strings.ToLower(it.Query.From.Name)]
			if !ok {
				return nil, c.errAt("INVALID_TYPE", it.Query.From.Pos, fmt.Sprintf("Didn't understand relationship '%s' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", soql.Clip(it.Query.From.Name)))
			}
			cp, e := c.compile(cr.child, it.Query, true)
			if e != nil {
				return nil, e
			}
			cp.link = cr.field
			p.out.entries = append(p.out.entries, &outEntry{name: cr.name, child: cp})
		case *soql.Aggregate:
			a := aggItem{fn: it.Func, alias: it.Alias}
			if it.Arg != nil {
				fp, e := c.resolve(o, it.Arg)
				if e != nil {
					return nil, e
				}
				a.p = fp
				if (a.fn == "SUM" || a.fn == "AVG") && !fp.kind.isNumber() {
					return nil, c.errAt("MALFORMED_QUERY", it.Arg.Pos, fmt.Sprintf("field %s does not support aggregate operator %s", soql.Clip(it.Arg.String()), a.fn))
				}
			}
			if a.p == nil && len(q.Select) > 1 {
				return nil, c.errAt("MALFORMED_QUERY", it.Pos, "COUNT() and an argument list are mutually exclusive")
			}
			p.count = a.p == nil
			p.aggs = append(p.aggs, a)
		}
	}
	if len(p.aggs) > 0 && plain != nil {
		return nil, c.errAt("MALFORMED_QUERY", plain.Pos, "Field must be grouped or aggregated: "+soql.Clip(plain.String()))
	}
	// "You can't use a LIMIT clause in a query that uses an aggregate function, but does not use
	// a GROUP BY clause" (SOQL and SOSL Reference, "LIMIT"; this engine has no GROUP BY): LIMIT
	// would count only its first rows. COUNT() is no aggregate function here: "You can use
	// LIMIT with count() as the fieldList to count up to the maximum specified", but "You
	// can't use COUNT() with an ORDER BY clause" ("COUNT() and COUNT(fieldName)").
	switch {
	case len(p.aggs) > 0 && !p.count && q.Limit != nil:
		return nil, c.errAt("MALFORMED_QUERY", q.Limit.Pos, "LIMIT is not allowed in a query that uses an aggregate function without GROUP BY")
	case p.count && len(q.OrderBy) > 0:
		return nil, c.errAt("MALFORMED_QUERY", q.OrderBy[0].Field.Pos, "ORDER BY is not allowed with COUNT()")
	}
	if q.Where != nil {
		w, e := c.compileExpr(p, q.Where)
		if e != nil {
			return nil, e
		}
		p.where = w
		c.chooseSeek(p, q.Where)
	}
	for _, ob := range q.OrderBy {
		fp, e := c.resolve(o, ob.Field)
		if e != nil {
			return nil, e
		}
		if fp.kind.Type == "multipicklist" || fp.kind.Type == "textarea" && fp.kind.Length > 255 {
			return nil, c.errAt("INVALID_FIELD", ob.Field.Pos, fmt.Sprintf("field '%s' can not be sorted in a query call", soql.Clip(ob.Field.String())))
		}
		p.order = append(p.order, orderKey{p: fp, desc: ob.Desc, nullsLast: ob.NullsLast})
	}
	if q.Limit != nil {
		p.limit = q.Limit.Value
	}
	if q.Offset != nil {
		if q.Offset.Value > 2000 {
			return nil, c.errAt("NUMBER_OUTSIDE_VALID_RANGE", q.Offset.Pos, fmt.Sprintf("Maximum SOQL offset allowed is 2000"))
		}
		p.offset = q.Offset.Value
	}
	return p, nil
}

// addOutput places a selected field in the output tree, creating parent nodes as needed.
func (c *qctx) addOutput(n *outNode, fp *path, ref *soql.FieldRef) {
	for _, h := range fp.hops {
		e := n.find(h.RelationshipName)
		if e == nil {
			e = &outEntry{name: h.RelationshipName, rel: h, sub: &outNode{}}
			n.entries = append(n.entries, e)
		}
		n = e.sub
	}
	if fp.leaf != nil {
		n.entries = append(n.entries, &outEntry{name: fp.leaf.Name, leaf: fp.leaf})
		return
	}
	name := fp.kind.Name
	n.entries = append(n.entries, &outEntry{name: name, lower: fp.leafName})
}

// seekPart names rows through an index: those whose field equals one of keys (a hash index, or
// the id map), or, when prefix is set, those whose folded value starts with it (the ordered
// index of a name field).
type seekPart struct {
	f      *FieldDef
	keys   []string
	prefix string
}

// chooseSeek looks for a way to read only the rows the indexes name: an equality, an IN list or
// a LIKE 'prefix%' on an indexed field of the object, within the AND terms (the one naming the
// fewest rows), or on every term of an OR.
func (c *qctx) chooseSeek(p *plan, e soql.Expr) {
	if parts, ok := c.seekable(p, e); ok {
		p.seek = parts
	}
}

// seekable recurses only into nested conditions, as deep as the parser allows; the terms of a
// chain are a loop.
func (c *qctx) seekable(p *plan, e soql.Expr) ([]seekPart, bool) {
	var ref *soql.FieldRef
	var lits []*soql.Literal
	switch x := e.(type) {
	case *soql.Logical:
		if x.Op == "AND" {
			var best []seekPart
			bestRows := -1
			for _, t := range x.Terms {
				if parts, ok := c.seekable(p, t); ok {
					if n := p.t.seekCount(parts); bestRows < 0 || n < bestRows {
						best, bestRows = parts, n
					}
				}
			}
			return best, bestRows >= 0
		}
		var all []seekPart
		for _, t := range x.Terms {
			parts, ok := c.seekable(p, t)
			if !ok {
				return nil, false
			}
			all = append(all, parts...)
		}
		return all, true
	case *soql.Comparison:
		if x.Op == "LIKE" {
			return c.prefixSeek(p, x)
		}
		if x.Op != "=" {
			return nil, false
		}
		ref, lits = x.Field, []*soql.Literal{x.Value}
	case *soql.SetComparison:
		if x.Op != "IN" || x.Subquery != nil {
			return nil, false
		}
		ref, lits = x.Field, x.Values
	default:
		return nil, false
	}
	fp, err := c.resolve(p.obj, ref)
	if err != nil || len(fp.hops) > 0 || !(fp.leaf.indexed || fp.leaf.Type == "id") {
		return nil, false
	}
	part := seekPart{f: fp.leaf, keys: make([]string, 0, len(lits))}
	for _, l := range lits {
		if l.Kind != soql.String {
			return nil, false
		}
		v := l.Value
		if fp.leaf.isID() {
			id, ok := ID18(v)
			if !ok {
				return nil, false
			}
			v = id
		}
		part.keys = append(part.keys, indexKey(fp.leaf, v))
	}
	return []seekPart{part}, true
}

// prefixSeek serves Field LIKE 'prefix%…' from the field's ordered index: the rows whose folded
// value starts with the pattern's literal beginning (the LIKE itself still filters them).
func (c *qctx) prefixSeek(p *plan, x *soql.Comparison) ([]seekPart, bool) {
	if x.Value.Kind != soql.String {
		return nil, false
	}
	fp, err := c.resolve(p.obj, x.Field)
	if err != nil || len(fp.hops) > 0 || p.t.sorted[fp.leaf.index] == nil {
		return nil, false
	}
	prefix := compileLike(x.Value.Raw).prefix()
	if prefix == "" {
		return nil, false
	}
	return []seekPart{{f: fp.leaf, prefix: prefix}}, true
}

// ---- execution ----

// cursor runs a compiled query and keeps its result's row ids.
func (c *qctx) cursor(p *plan) (*Cursor, *Error) {
	rows, e := c.rows(p, nil)
	if e != nil {
		return nil, e
	}
	cu := &Cursor{TotalSize: len(rows), c: *c, p: p}
	cu.c.work = 0
	switch {
	case p.count:
	case len(p.aggs) > 0:
		cu.TotalSize, cu.agg = 1, c.aggregate(p, rows)
	default:
		var ids strings.Builder
		ids.Grow(len(rows) * idLen)
		for _, r := range rows {
			ids.WriteString(p.t.id(r))
		}
		cu.ids = ids.String()
	}
	return cu, nil
}

// rows returns the matching rows in output order, after ORDER BY, OFFSET and LIMIT. For child
// plans parentID selects the children of one parent.
func (c *qctx) rows(p *plan, parentID *string) ([]int32, *Error) {
	t := p.t
	var cand []int32
	restricted := parentID != nil || p.fixed != nil || p.seek != nil
	switch {
	case parentID != nil:
		cand = c.db.lookupRows(t, p.link, *parentID)
	case p.fixed != nil:
		cand = p.fixed
	case p.seek != nil:
		cand = t.seekRows(p.seek)
	}
	out := []int32{}
	// Without ORDER BY the scan can stop as soon as LIMIT (after OFFSET) is reached.
	enough := -1
	if len(p.order) == 0 && p.limit >= 0 {
		enough = p.offset + p.limit
	}
	if enough == 0 {
		return out, nil
	}
	// With ORDER BY and a small LIMIT, the rows go straight into a heap of the first k.
	var top *topHeap
	if k := p.offset + p.limit; len(p.order) > 0 && p.limit >= 0 && k <= maxTopK {
		top = newTopHeap(k, c.comparator(p))
	}
	// Read the candidates (or every row) a chunk at a time, charging each chunk's filter work
	// before reading it.
	n := int(t.n)
	if restricted {
		n = len(cand)
	}
	prev := int32(-1)
scan:
	for start := 0; start < n; start += workCheckEvery {
		end := min(start+workCheckEvery, n)
		if err := c.spend(end-start, p.terms); err != nil {
			return nil, err
		}
		for i := start; i < end; i++ {
			r := int32(i)
			if restricted {
				if r = cand[i]; r == prev { // several keys may name a row
					continue
				}
				prev = r
			}
			if !c.includeDeleted && t.deleted(r) || p.where != nil && !p.where(r) {
				continue
			}
			if top != nil {
				top.push(r)
				continue
			}
			if out = append(out, r); len(out) == enough {
				break scan
			}
		}
	}
	switch {
	case top != nil:
		out = top.sorted()
	case len(p.order) > 0:
		slices.SortStableFunc(out, c.comparator(p))
	}
	if p.offset > 0 {
		if p.offset >= len(out) {
			out = out[:0]
		} else {
			out = out[p.offset:]
		}
	}
	if p.limit >= 0 && len(out) > p.limit {
		out = out[:p.limit]
	}
	return out, nil
}

// maxTopK is the largest OFFSET plus LIMIT that ORDER BY serves from a heap of the first k rows
// (n log k comparisons, k rows of memory) rather than by sorting every matching row.
const maxTopK = 4096

// comparator compares two rows by the plan's ORDER BY keys.
func (c *qctx) comparator(p *plan) func(a, b int32) int {
	keys := make([]func(a, b int32) int, len(p.order))
	for i, o := range p.order {
		keys[i] = c.keyComparator(p.t, o)
	}
	if len(keys) == 1 {
		return keys[0]
	}
	return func(a, b int32) int {
		for _, k := range keys {
			if d := k(a, b); d != 0 {
				return d
			}
		}
		return 0
	}
}

// keyComparator compares two rows by one ORDER BY key, nulls first or last as the key says
// (whatever its direction).
func (c *qctx) keyComparator(t *table, o orderKey) func(a, b int32) int {
	sign, nullFirst := 1, -1
	if o.desc {
		sign = -1
	}
	if o.nullsLast {
		nullFirst = 1
	}
	if len(o.p.hops) == 0 && t.str[o.p.leaf.index] {
		col := t.strs[t.col[o.p.leaf.index]]
		text := o.p.leaf.isText()
		return func(a, b int32) int {
			x, y := col[a], col[b]
			switch {
			case x == "" && y == "":
				return 0
			case x == "":
				return nullFirst
			case y == "":
				return -nullFirst
			case text:
				return sign * compareFold(x, y)
			}
			return sign * strings.Compare(x, y)
		}
	}
	kind := o.p.kind
	return func(a, b int32) int {
		x, y := c.value(t, a, o.p), c.value(t, b, o.p)
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return nullFirst
		case y == nil:
			return -nullFirst
		}
		return sign * compareValues(kind, x, y)
	}
}

// topHeap keeps the first k rows pushed, in cmp order, ties in the order they were pushed (as
// a stable sort orders them): a max-heap whose top is the row to drop next. Comparisons read
// the stored values in place (compareFold folds case without building lower-case copies).
type topHeap struct {
	k    int
	cmp  func(a, b int32) int
	rows []int32 // heap of (row, seq)
	seqs []int
	n    int // rows pushed so far
}

func newTopHeap(k int, cmp func(a, b int32) int) *topHeap {
	return &topHeap{k: k, cmp: cmp, rows: make([]int32, 0, k), seqs: make([]int, 0, k)}
}

// worse reports whether heap entry i comes after entry j.
func (h *topHeap) worse(i, j int) bool {
	if d := h.cmp(h.rows[i], h.rows[j]); d != 0 {
		return d > 0
	}
	return h.seqs[i] > h.seqs[j]
}

func (h *topHeap) swap(i, j int) {
	h.rows[i], h.rows[j] = h.rows[j], h.rows[i]
	h.seqs[i], h.seqs[j] = h.seqs[j], h.seqs[i]
}

func (h *topHeap) push(r int32) {
	seq := h.n
	h.n++
	if h.k == 0 {
		return
	}
	if len(h.rows) < h.k {
		h.rows, h.seqs = append(h.rows, r), append(h.seqs, seq)
		for j := len(h.rows) - 1; j > 0; {
			parent := (j - 1) / 2
			if !h.worse(j, parent) {
				break
			}
			h.swap(j, parent)
			j = parent
		}
		return
	}
	// r comes after the top (ties included: it was pushed later): it is not among the first k.
	if h.cmp(r, h.rows[0]) >= 0 {
		return
	}
	h.rows[0], h.seqs[0] = r, seq
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h.rows) && h.worse(l, m) {
			m = l
		}
		if rr := l + 1; rr < len(h.rows) && h.worse(rr, m) {
			m = rr
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// sorted returns the rows kept, first to last.
func (h *topHeap) sorted() []int32 {
	idx := make([]int, len(h.rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		if h.worse(i, j) {
			return 1
		}
		return -1
	})
	out := make([]int32, len(idx))
	for n, i := range idx {
		out[n] = h.rows[i]
	}
	return out
}

func (c *qctx) project(p *plan, t *table, r int32) (*Record, *Error) {
	rec := &Record{Type: t.obj.name, ID: t.id(r)}
	fields, e := c.projectNode(p.out, t, r)
	rec.Fields = fields
	return rec, e
}

func (c *qctx) projectNode(n *outNode, t *table, r int32) ([]Field, *Error) {
	out := make([]Field, 0, len(n.entries))
	for _, e := range n.entries {
		switch {
		case e.leaf != nil:
			out = append(out, Field{Name: e.name, Value: t.get(r, e.leaf)})
		case e.lower != "":
			var v any
			if f, ok := t.obj.byName[e.lower]; ok {
				v = t.get(r, f)
			} else if e.lower == "type" {
				v = t.obj.name
			}
			out = append(out, Field{Name: e.name, Value: v})
		case e.rel != nil:
			pt, pr, ok := c.follow(t, r, []*FieldDef{e.rel})
			if !ok {
				out = append(out, Field{Name: e.name, Value: nil})
				continue
			}
			sub, err := c.projectNode(e.sub, pt, pr)
			if err != nil {
				return nil, err
			}
			out = append(out, Field{Name: e.name, Value: &Record{Type: pt.obj.name, ID: pt.id(pr), Fields: sub}})
		case e.child != nil:
			id := t.id(r)
			rows, err := c.rows(e.child, &id)
			if err != nil {
				return nil, err
			}
			if len(rows) == 0 {
				out = append(out, Field{Name: e.name, Value: nil})
				continue
			}
			qr := &QueryResult{TotalSize: len(rows), Done: true}
			for _, cr := range rows {
				rec, err := c.project(e.child, e.child.t, cr)
				if err != nil {
					return nil, err
				}
				qr.Records = append(qr.Records, rec)
			}
			out = append(out, Field{Name: e.name, Value: qr})
		}
	}
	return out, nil
}

func (c *qctx) aggregate(p *plan, rows []int32) *Record {
	rec := &Record{Type: "AggregateResult"}
	expr := 0
	for _, a := range p.aggs {
		name := a.alias
		if name == "" {
			name = "expr" + strconv.Itoa(expr)
			expr++
		}
		var v any
		switch a.fn {
		case "COUNT", "COUNT_DISTINCT":
			n, distinct := 0, map[any]bool{}
			for _, r := range rows {
				if x := c.value(p.t, r, a.p); x != nil {
					n++
					if s, ok := x.(string); ok && !a.p.kind.isID() {
						x = strings.ToLower(s)
					}
					distinct[x] = true
				}
			}
			if a.fn == "COUNT" {
				v = int64(n)
			} else {
				v = int64(len(distinct))
			}
		case "MIN", "MAX":
			for _, r := range rows {
				x := c.value(p.t, r, a.p)
				if x == nil {
					continue
				}
				if v == nil || (a.fn == "MIN") == (compareValues(a.p.kind, x, v) < 0) && compareValues(a.p.kind, x, v) != 0 {
					v = x
				}
			}
		case "SUM", "AVG":
			sum, n := 0.0, 0
			for _, r := range rows {
				if x := c.value(p.t, r, a.p); x != nil {
					sum += toFloat(x)
					n++
				}
			}
			if n > 0 {
				v = sum
				if a.fn == "AVG" {
					v = sum / float64(n)
				}
			}
		}
		rec.Fields = append(rec.Fields, Field{Name: name, Value: v})
	}
	return rec
}

// ---- values ----

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// compareValues orders two non-nil stored values of a field's type: text case-insensitively,
// ids exactly, numbers numerically, false before true, dates and datetimes in time order.
func compareValues(f *FieldDef, a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		if f.isText() {
			return compareFold(x, y)
		}
		return strings.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	default:
		fx, fy := toFloat(a), toFloat(b)
		switch {
		case fx < fy:
			return -1
		case fx > fy:
			return 1
		}
		return 0
	}
}

// compareFold compares two strings as strings.Compare(strings.ToLower(a), strings.ToLower(b))
// does, without building the lower-case copies: byte by byte while both are ASCII, then rune by
// rune (UTF-8 keeps code point order, so comparing lowered runes is comparing lowered bytes;
// invalid bytes read as U+FFFD in both).
func compareFold(a, b string) int {
	i := 0
	for ; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
			break
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	a, b = a[i:], b[i:]
	for a != "" && b != "" {
		x, n := utf8.DecodeRuneInString(a)
		y, m := utf8.DecodeRuneInString(b)
		if x, y = unicode.ToLower(x), unicode.ToLower(y); x != y {
			if x < y {
				return -1
			}
			return 1
		}
		a, b = a[n:], b[m:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}
