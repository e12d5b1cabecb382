package orgdb

import (
	"slices"
	"sort"
	"strings"
)

// ordered keeps the rows of a name field in the order of their folded (lower-case) values, so
// that Name LIKE 'Kowal%' reads only the rows it can match, as Salesforce's standard index on
// Name serves it ("Working with Very Large SOQL Queries": a LIKE with a leading literal can use
// an index). It is a log-structured set of sorted runs, each at least twice as long as the next,
// after an unsorted tail of the latest additions: a full tail is sorted into a run, merged with
// the runs before it while they are not twice as long, so n additions cost n log n and a lookup
// scans the tail and binary-searches at most log n runs. Lookups read it under the database's
// shared lock and never change it.
type ordered struct {
	runs []run
	tail run // unsorted, at most orderedTail entries
}

const orderedTail = 256

// run is a sorted stretch of the index: rows[i] holds keys[i], keys ascending.
type run struct {
	keys []string
	rows []int32
}

func (ix *ordered) add(key string, r int32) {
	ix.tail.keys, ix.tail.rows = append(ix.tail.keys, key), append(ix.tail.rows, r)
	if len(ix.tail.keys) < orderedTail {
		return
	}
	sort.Sort(&ix.tail)
	ix.runs = append(ix.runs, ix.tail)
	ix.tail = run{}
	for n := len(ix.runs); n > 1 && len(ix.runs[n-2].keys) <= 2*len(ix.runs[n-1].keys); n-- {
		ix.runs[n-2] = mergeRuns(ix.runs[n-2], ix.runs[n-1])
		ix.runs = ix.runs[:n-1]
	}
}

func mergeRuns(a, b run) run {
	out := run{keys: make([]string, 0, len(a.keys)+len(b.keys)), rows: make([]int32, 0, len(a.keys)+len(b.keys))}
	i, j := 0, 0
	for i < len(a.keys) && j < len(b.keys) {
		if a.keys[i] < b.keys[j] || a.keys[i] == b.keys[j] && a.rows[i] <= b.rows[j] {
			out.keys, out.rows = append(out.keys, a.keys[i]), append(out.rows, a.rows[i])
			i++
		} else {
			out.keys, out.rows = append(out.keys, b.keys[j]), append(out.rows, b.rows[j])
			j++
		}
	}
	out.keys, out.rows = append(append(out.keys, a.keys[i:]...), b.keys[j:]...), append(append(out.rows, a.rows[i:]...), b.rows[j:]...)
	return out
}

func (ix *ordered) remove(key string, r int32) {
	for i := range ix.tail.keys {
		if ix.tail.keys[i] == key && ix.tail.rows[i] == r {
			ix.tail.keys, ix.tail.rows = slices.Delete(ix.tail.keys, i, i+1), slices.Delete(ix.tail.rows, i, i+1)
			return
		}
	}
	for n := range ix.runs {
		ru := &ix.runs[n]
		for i := sort.SearchStrings(ru.keys, key); i < len(ru.keys) && ru.keys[i] == key; i++ {
			if ru.rows[i] == r {
				ru.keys, ru.rows = slices.Delete(ru.keys, i, i+1), slices.Delete(ru.rows, i, i+1)
				if len(ru.keys) == 0 {
					ix.runs = slices.Delete(ix.runs, n, n+1)
				}
				return
			}
		}
	}
}

func (ru *run) Len() int { return len(ru.keys) }
func (ru *run) Swap(i, j int) {
	ru.keys[i], ru.keys[j] = ru.keys[j], ru.keys[i]
	ru.rows[i], ru.rows[j] = ru.rows[j], ru.rows[i]
}
func (ru *run) Less(i, j int) bool {
	return ru.keys[i] < ru.keys[j] || ru.keys[i] == ru.keys[j] && ru.rows[i] < ru.rows[j]
}

// span returns the range of a run's entries whose key starts with prefix.
func (ru *run) span(prefix string) (int, int) {
	lo := sort.SearchStrings(ru.keys, prefix)
	hi := lo + sort.Search(len(ru.keys)-lo, func(i int) bool { return !strings.HasPrefix(ru.keys[lo+i], prefix) })
	return lo, hi
}

// prefix appends the rows whose folded value starts with prefix to dst, in no particular order.
func (ix *ordered) prefix(prefix string, dst []int32) []int32 {
	for n := range ix.runs {
		lo, hi := ix.runs[n].span(prefix)
		dst = append(dst, ix.runs[n].rows[lo:hi]...)
	}
	for i, k := range ix.tail.keys {
		if strings.HasPrefix(k, prefix) {
			dst = append(dst, ix.tail.rows[i])
		}
	}
	return dst
}

// keysWith calls fn for each key starting with prefix (a key held by several rows once per row).
func (ix *ordered) keysWith(prefix string, fn func(key string)) {
	for n := range ix.runs {
		lo, hi := ix.runs[n].span(prefix)
		for _, k := range ix.runs[n].keys[lo:hi] {
			fn(k)
		}
	}
	for _, k := range ix.tail.keys {
		if strings.HasPrefix(k, prefix) {
			fn(k)
		}
	}
}

// count is how many rows prefix would return.
func (ix *ordered) count(prefix string) int {
	total := 0
	for n := range ix.runs {
		lo, hi := ix.runs[n].span(prefix)
		total += hi - lo
	}
	for _, k := range ix.tail.keys {
		if strings.HasPrefix(k, prefix) {
			total++
		}
	}
	return total
}

// seekRows returns the rows the seek parts name, ascending; a row named twice appears twice.
func (t *table) seekRows(parts []seekPart) []int32 {
	cand := []int32{}
	for _, part := range parts {
		switch {
		case part.prefix != "":
			cand = t.sorted[part.f.index].prefix(part.prefix, cand)
		case part.f.Type == "id":
			for _, k := range part.keys {
				if r, ok := t.byID[k]; ok {
					cand = append(cand, r)
				}
			}
		default:
			for _, k := range part.keys {
				cand = t.idx[part.f.index].lookup(k, cand)
			}
		}
	}
	slices.Sort(cand)
	return cand
}

// seekCount is how many rows seekRows would return, without building them.
func (t *table) seekCount(parts []seekPart) int {
	n := 0
	for _, part := range parts {
		switch {
		case part.prefix != "":
			n += t.sorted[part.f.index].count(part.prefix)
		case part.f.Type == "id":
			n += len(part.keys)
		default:
			for _, k := range part.keys {
				n += t.idx[part.f.index].count(k)
			}
		}
	}
	return n
}

// wordIndex is a table's search index: every word (token, as SOSL splits text) of every field
// SOSL searches in the ALL FIELDS scope, with the rows holding it, so that FIND reads the rows
// that can match instead of every row, as Salesforce's search index lets it. Since every other
// scope searches a subset of those fields, the rows it names are a superset of the matches in
// any scope; matching then checks each of them as before. A row is listed once per field
// holding the word, so that changing one field removes exactly what that field added.
type wordIndex struct {
	post  index   // word → rows (a row once per field holding it)
	vocab ordered // the words, for word* prefixes (its rows are unused)
}

func newWordIndex() *wordIndex { return &wordIndex{post: index{one: map[string]int32{}}} }

// maxPrefixWords bounds how many words a wildcard's prefix may expand to before the index gives
// up on narrowing (and matching reads every row, as without the index).
const maxPrefixWords = 256

// addText adds the words of a field's value for row r; removeText takes them away.
func (w *wordIndex) addText(s string, r int32) {
	for _, tok := range distinctTokens(s) {
		if w.post.add(tok, r) {
			w.vocab.add(tok, 0)
		}
	}
}

func (w *wordIndex) removeText(s string, r int32) {
	for _, tok := range distinctTokens(s) {
		if w.post.remove(tok, r) {
			w.vocab.remove(tok, 0)
		}
	}
}

// rowsOf returns the rows holding a word, ascending and without repeats.
func (w *wordIndex) rowsOf(word string) []int32 {
	rows := w.post.lookup(word, nil)
	if !slices.IsSorted(rows) { // rows are added in order, except when a value changes
		slices.Sort(rows)
	}
	return slices.Compact(rows)
}

// distinctTokens is the set of a value's words.
func distinctTokens(s string) []string {
	toks := tokens(s)
	slices.Sort(toks)
	return slices.Compact(toks)
}

// rows returns the rows whose words can match one token pattern, ascending and without repeats;
// nil when the index cannot say (the pattern starts with a wildcard, or its prefix is shared by
// more than maxPrefixWords words).
func (w *wordIndex) rows(p likeMatcher) []int32 {
	if word, ok := p.literal(); ok {
		return w.rowsOf(word)
	}
	prefix := p.prefix()
	if prefix == "" || w.vocab.count(prefix) > maxPrefixWords {
		return nil
	}
	var out []int32
	w.vocab.keysWith(prefix, func(tok string) {
		if p.match(tok) {
			out = union(out, w.rowsOf(tok))
		}
	})
	if out == nil {
		out = []int32{}
	}
	return out
}

// intersect returns the rows in both a and b (ascending, without repeats).
func intersect(a, b []int32) []int32 {
	out := []int32{}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// union returns the rows in a or b (ascending, without repeats).
func union(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
