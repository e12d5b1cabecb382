package orgdb

import "strings"

// table holds one object's rows column by column: text-like, id and date values as strings
// ("" is null, as Salesforce stores empty text as null), everything else as compact Go values.
type table struct {
	obj       *SObject
	n         int32      // number of rows
	strs      [][]string // by column, for fields with strKind
	vals      [][]any    // by column, for the other fields
	col       []int      // by field index: its column in strs or vals
	str       []bool     // by field index: whether it lives in strs
	byID      map[string]int32
	idx       []*index   // by field index; nil when the field is not indexed
	sorted    []*ordered // by field index: the ordered index of name fields; nil for others
	seq       uint64     // ids issued so far
	isDeleted int        // the vals column of IsDeleted, or -1
	// phones indexes every phone field by the last seven digits of its value, so that a search
	// for a number finds it whatever its formatting.
	phones *index
	// words is the search index of searchable objects (nil for others), over the fields marked
	// in searched.
	words    *wordIndex
	searched []bool
}

func newTable(o *SObject) *table {
	t := &table{obj: o, byID: map[string]int32{}, phones: &index{one: map[string]int32{}}, col: make([]int, len(o.fields)),
		str: make([]bool, len(o.fields)), idx: make([]*index, len(o.fields)), sorted: make([]*ordered, len(o.fields))}
	for i, f := range o.fields {
		switch {
		case f.isText() || f.isID() || f.Type == "date" || f.Type == "datetime":
			t.str[i], t.col[i] = true, len(t.strs)
			t.strs = append(t.strs, nil)
		default:
			t.col[i] = len(t.vals)
			t.vals = append(t.vals, nil)
		}
		if f.indexed {
			t.idx[i] = &index{one: map[string]int32{}}
		}
		if f.NameField && f.isText() {
			t.sorted[i] = &ordered{}
		}
	}
	if o.searchable {
		t.words, t.searched = newWordIndex(), make([]bool, len(o.fields))
		for _, f := range scopeFields(o, "ALL") {
			t.searched[f.index] = true
		}
	}
	t.isDeleted = -1
	if f, ok := o.byCanon["IsDeleted"]; ok {
		t.isDeleted = t.col[f.index]
	}
	return t
}

// get returns a field's value: nil, string, bool, int64 or float64.
func (t *table) get(r int32, f *FieldDef) any {
	if t.str[f.index] {
		if s := t.strs[t.col[f.index]][r]; s != "" {
			return s
		}
		return nil
	}
	return t.vals[t.col[f.index]][r]
}

func (t *table) getString(r int32, f *FieldDef) string {
	if t.str[f.index] {
		return t.strs[t.col[f.index]][r]
	}
	return ""
}

// set stores a value, keeping the field's index current, and returns the old value.
func (t *table) set(r int32, f *FieldDef, v any) any {
	old := t.get(r, f)
	if ix := t.idx[f.index]; ix != nil {
		if old != nil {
			ix.remove(indexKey(f, old), r)
		}
		if v != nil {
			ix.add(indexKey(f, v), r)
		}
	}
	if ix := t.sorted[f.index]; ix != nil {
		if old != nil {
			ix.remove(strings.ToLower(old.(string)), r)
		}
		if v != nil {
			ix.add(strings.ToLower(v.(string)), r)
		}
	}
	if t.words != nil && t.searched[f.index] {
		if old != nil {
			t.words.removeText(old.(string), r)
		}
		if v != nil {
			t.words.addText(v.(string), r)
		}
	}
	if f.Type == "phone" {
		if old != nil {
			t.phones.remove(phoneKey(old.(string)), r)
		}
		if v != nil {
			t.phones.add(phoneKey(v.(string)), r)
		}
	}
	if t.str[f.index] {
		s, _ := v.(string)
		t.strs[t.col[f.index]][r] = s
	} else {
		t.vals[t.col[f.index]][r] = v
	}
	return old
}

// appendRow adds an empty row (every value null) and returns it.
func (t *table) appendRow() int32 {
	if len(t.strs) > 0 && len(t.strs[0]) == cap(t.strs[0]) {
		t.reserve(max(2*len(t.strs[0]), 64))
	}
	for i := range t.strs {
		t.strs[i] = append(t.strs[i], "")
	}
	for i := range t.vals {
		t.vals[i] = append(t.vals[i], nil)
	}
	t.n++
	return t.n - 1
}

// reserve makes room for n rows in every column, so that appending does not copy. Columns
// double (append alone grows large slices by only a quarter, copying far more often).
func (t *table) reserve(n int) {
	for i, c := range t.strs {
		if cap(c) < n {
			t.strs[i] = append(make([]string, 0, n), c...)
		}
	}
	for i, c := range t.vals {
		if cap(c) < n {
			t.vals[i] = append(make([]any, 0, n), c...)
		}
	}
}

// dropLastRow removes the last row (undo of an insert); its values must be null by then.
func (t *table) dropLastRow() {
	t.n--
	for i := range t.strs {
		t.strs[i] = t.strs[i][:t.n]
	}
	for i := range t.vals {
		t.vals[i] = t.vals[i][:t.n]
	}
}

func (t *table) id(r int32) string { return t.strs[0][r] }

// deleted reports whether a row is in the recycle bin (IsDeleted; objects without it never are).
func (t *table) deleted(r int32) bool {
	if t.isDeleted < 0 {
		return false
	}
	b, _ := t.vals[t.isDeleted][r].(bool)
	return b
}

// indexKey is the equality key of a value: text compares case-insensitively, ids exactly.
func indexKey(f *FieldDef, v any) string {
	s, _ := v.(string)
	if f.isID() {
		return s
	}
	return strings.ToLower(s)
}

// index maps an equality key to the rows holding it. Most keys are unique, so they live in one;
// keys with several rows move to many.
type index struct {
	one  map[string]int32
	many map[string][]int32
}

// add adds row r under k and reports whether k is new to the index.
func (ix *index) add(k string, r int32) bool {
	if len(ix.many) > 0 {
		if rs, ok := ix.many[k]; ok {
			ix.many[k] = append(rs, r)
			return false
		}
	}
	if r0, ok := ix.one[k]; ok {
		delete(ix.one, k)
		if ix.many == nil {
			ix.many = map[string][]int32{}
		}
		ix.many[k] = []int32{r0, r}
		return false
	}
	ix.one[k] = r
	return true
}

// remove removes row r (once) from under k and reports whether k has no rows left.
func (ix *index) remove(k string, r int32) bool {
	if rs, ok := ix.many[k]; ok {
		for i, x := range rs {
			if x == r {
				rs = append(rs[:i], rs[i+1:]...)
				break
			}
		}
		if len(rs) == 1 {
			delete(ix.many, k)
			ix.one[k] = rs[0]
		} else {
			ix.many[k] = rs
		}
		return false
	}
	if x, ok := ix.one[k]; ok && x == r {
		delete(ix.one, k)
		return true
	}
	return false
}

// count is how many rows hold k.
func (ix *index) count(k string) int {
	if _, ok := ix.one[k]; ok {
		return 1
	}
	return len(ix.many[k])
}

// lookup appends the rows holding k to dst.
func (ix *index) lookup(k string, dst []int32) []int32 {
	if r, ok := ix.one[k]; ok {
		return append(dst, r)
	}
	return append(dst, ix.many[k]...)
}

// digits keeps the ASCII digits of s.
func digits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// phoneKey is a phone number's key in the phones index: its last seven digits.
func phoneKey(s string) string {
	d := digits(s)
	if len(d) > 7 {
		d = d[len(d)-7:]
	}
	return d
}

// phoneMatch reports whether two digit strings are the same number: equal, or one ends with the
// other (a number with and without its country or area code), at least seven digits long.
func phoneMatch(a, b string) bool {
	if a == b {
		return a != ""
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	return len(b) >= 7 && strings.HasSuffix(a, b)
}
