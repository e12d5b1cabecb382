package orgdb

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// queryCache keeps parsed queries, so that a query string is parsed once. It is bounded: when
// full it starts afresh.
type queryCache struct {
	mu sync.Mutex
	m  map[string]*soql.Query
}

const queryCacheSize = 4096

func (c *queryCache) parse(src string) (*soql.Query, error) {
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

// Query runs SOQL; includeDeleted is queryAll. Errors are MALFORMED_QUERY, INVALID_FIELD,
// INVALID_TYPE or INVALID_QUERY_FILTER_OPERATOR with Salesforce's caret diagram in the message.
func (tx *Tx) Query(src string, includeDeleted bool) (*QueryResult, *Error) {
	c, p, e := tx.compileQuery(src, includeDeleted)
	if e != nil {
		return nil, e
	}
	return c.execute(p)
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
		return nil, nil, c.errAt("INVALID_TYPE", q.From.Pos, fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.From.Name))
	}
	p, e := c.compile(o, q, false)
	if e != nil {
		return nil, nil, e
	}
	return c, p, nil
}

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
	return c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", f.Path[len(f.Path)-1], o.name))
}

func (c *qctx) resolve(o *SObject, f *soql.FieldRef) (*path, *Error) {
	segs := f.Path
	if len(segs) > 1 && strings.EqualFold(segs[0], o.name) {
		if _, isRel := o.byRelationship[strings.ToLower(segs[0])]; !isRel {
			segs = segs[1:]
		}
	}
	p := &path{}
	cur := o
	for i, seg := range segs[:len(segs)-1] {
		rel, ok := cur.byRelationship[strings.ToLower(seg)]
		if !ok {
			return nil, c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", seg))
		}
		p.hops = append(p.hops, rel)
		if len(rel.ReferenceTo) > 1 {
			if i != len(segs)-2 {
				return nil, c.errAt("INVALID_FIELD", f.Pos, fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", segs[i+1]))
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
				return nil, c.errAt("INVALID_FIELD", it.Pos, "duplicate field selected: "+it.String())
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
				return nil, c.errAt("INVALID_TYPE", it.Query.From.Pos, fmt.Sprintf("Didn't understand relationship '%s' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", it.Query.From.Name))
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
					return nil, c.errAt("MALFORMED_QUERY", it.Arg.Pos, fmt.Sprintf("field %s does not support aggregate operator %s", it.Arg.String(), a.fn))
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
		return nil, c.errAt("MALFORMED_QUERY", plain.Pos, "Field must be grouped or aggregated: "+plain.String())
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
			return nil, c.errAt("INVALID_FIELD", ob.Field.Pos, fmt.Sprintf("field '%s' can not be sorted in a query call", ob.Field.String()))
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

// seekPart names rows through an index: those whose field equals one of the keys.
type seekPart struct {
	f    *FieldDef
	keys []string
}

// chooseSeek looks for a way to read only the rows the indexes name: an equality (or IN list)
// on an indexed field of the object, within the AND terms, or on each side of an OR.
func (c *qctx) chooseSeek(p *plan, e soql.Expr) {
	if parts, ok := c.seekable(p.obj, e); ok {
		p.seek = parts
	}
}

func (c *qctx) seekable(o *SObject, e soql.Expr) ([]seekPart, bool) {
	var ref *soql.FieldRef
	var lits []*soql.Literal
	switch x := e.(type) {
	case *soql.Logical:
		a, okA := c.seekable(o, x.X)
		if x.Op == "AND" {
			if okA {
				return a, true
			}
			return c.seekable(o, x.Y)
		}
		b, okB := c.seekable(o, x.Y)
		return append(a, b...), okA && okB
	case *soql.Comparison:
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
	fp, err := c.resolve(o, ref)
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

// ---- execution ----

func (c *qctx) execute(p *plan) (*QueryResult, *Error) {
	rows, e := c.rows(p, nil)
	if e != nil {
		return nil, e
	}
	if p.count {
		return &QueryResult{TotalSize: len(rows), Done: true, Records: []*Record{}}, nil
	}
	if len(p.aggs) > 0 {
		return &QueryResult{TotalSize: 1, Done: true, Records: []*Record{c.aggregate(p, rows)}}, nil
	}
	res := &QueryResult{TotalSize: len(rows), Done: true, Records: make([]*Record, 0, len(rows))}
	for _, r := range rows {
		rec, e := c.project(p, p.t, r)
		if e != nil {
			return nil, e
		}
		res.Records = append(res.Records, rec)
	}
	return res, nil
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
		cand = []int32{}
		for _, part := range p.seek {
			for _, k := range part.keys {
				if part.f.Type == "id" {
					if r, ok := t.byID[k]; ok {
						cand = append(cand, r)
					}
				} else {
					cand = t.idx[part.f.index].lookup(k, cand)
				}
			}
		}
		sortRows(cand)
	}
	var out []int32
	// Without ORDER BY the scan can stop as soon as LIMIT (after OFFSET) is reached.
	enough := -1
	if len(p.order) == 0 && p.limit >= 0 {
		enough = p.offset + p.limit
	}
	keep := func(r int32) bool {
		if (c.includeDeleted || !t.deleted(r)) && (p.where == nil || p.where(r)) {
			out = append(out, r)
		}
		return len(out) != enough
	}
	if restricted {
		prev := int32(-1)
		for _, r := range cand {
			if r != prev && !keep(r) { // several keys may name a row
				break
			}
			prev = r
		}
	} else {
		for r := int32(0); r < t.n && keep(r); r++ {
		}
	}
	if len(p.order) > 0 {
		c.sortRows(p, out)
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

func sortRows(rs []int32) { sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] }) }

func (c *qctx) sortRows(p *plan, rows []int32) {
	type keyed struct {
		r    int32
		vals []any
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		vals := make([]any, len(p.order))
		for j, o := range p.order {
			vals[j] = c.value(p.t, r, o.p)
		}
		ks[i] = keyed{r, vals}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		for k, o := range p.order {
			a, b := ks[i].vals[k], ks[j].vals[k]
			if a == nil || b == nil {
				if a == nil && b == nil {
					continue
				}
				return (a == nil) != o.nullsLast
			}
			d := compareValues(o.p.kind, a, b)
			if d == 0 {
				continue
			}
			if o.desc {
				return d > 0
			}
			return d < 0
		}
		return false
	})
	for i := range ks {
		rows[i] = ks[i].r
	}
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
			return strings.Compare(strings.ToLower(x), strings.ToLower(y))
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
