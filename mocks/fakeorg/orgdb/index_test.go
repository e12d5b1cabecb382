package orgdb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// TestOrderedIndex checks the ordered index against a plain list through random additions and
// removals: every prefix names exactly the rows whose key starts with it.
func TestOrderedIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ix ordered
	model := map[int32]string{}
	keys := []string{"", "a", "ab", "abc", "abd", "b", "ba", "kowal", "kowalski", "kowalska", "zoë", "ž"}
	for step := range 5000 {
		r := int32(rng.IntN(300))
		if old, ok := model[r]; ok && rng.IntN(3) == 0 {
			ix.remove(old, r)
			delete(model, r)
		} else if !ok {
			k := keys[rng.IntN(len(keys))] + fmt.Sprint(rng.IntN(3))
			ix.add(k, r)
			model[r] = k
		}
		if step%97 != 0 {
			continue
		}
		for _, p := range []string{"a", "ab", "kowal", "kowalsk", "z", "ž", "x", "b1"} {
			var want []int32
			for r, k := range model {
				if strings.HasPrefix(k, p) {
					want = append(want, r)
				}
			}
			got := ix.prefix(p, nil)
			slices.Sort(want)
			slices.Sort(got)
			require.Equal(t, want, got, "prefix %q after %d steps", p, step)
			require.Equal(t, len(want), ix.count(p))
		}
	}
	assert.LessOrEqual(t, len(ix.runs), 16, "runs stay logarithmic")
}

func TestCompareFold(t *testing.T) {
	words := []string{"", "a", "A", "ab", "aB", "Ab", "b", "B", "é", "É", "e", "z", "Zoë", "ZOË", "zoe", "ǅ", "ǆ", "ß", "SS",
		"İstanbul", "istanbul", "\xff", "\ufffd", "a\xffb", "Kowalski", "kowalska", "日本", "Ω", "ω", "K", "k", "\u212a"}
	for _, a := range words {
		for _, b := range words {
			want := strings.Compare(strings.ToLower(a), strings.ToLower(b))
			assert.Equal(t, want, compareFold(a, b), "%q vs %q", a, b)
		}
	}
}

func FuzzCompareFold(f *testing.F) {
	f.Add("Kowalski", "kowalska")
	f.Add("Zoë", "ZOË\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		if want := strings.Compare(strings.ToLower(a), strings.ToLower(b)); compareFold(a, b) != want {
			t.Fatalf("compareFold(%q, %q) = %d, want %d", a, b, compareFold(a, b), want)
		}
	})
}

// TestTopK: selecting the first k with the heap gives what a stable sort and a cut give,
// ties in their original order included.
func TestTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := rng.IntN(60)
		keys := make([]int, n)
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
			keys[i] = rng.IntN(8)
		}
		rng.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		cmp := func(a, b int32) int { return keys[a] - keys[b] }
		want := slices.Clone(rows)
		slices.SortStableFunc(want, cmp)
		k := rng.IntN(n + 1)
		h := newTopHeap(k, cmp)
		for _, r := range rows {
			h.push(r)
		}
		assert.Equal(t, want[:k], h.sorted())
	}
}

// generated is an org of n generated people, built once per size for the tests below.
func generated(t *testing.T, n int) *DB {
	t.Helper()
	db := newTestDB(t)
	require.NoError(t, SeedGenerated(db, n, 7))
	return db
}

// TestIndexedShapesMatchAScan: the shapes served by an index (LIKE 'prefix%' on a name, Email =,
// ORDER BY … LIMIT) return what reading every row returns, checked here against Go's own
// filtering and sorting of all the rows.
func TestIndexedShapesMatchAScan(t *testing.T) {
	db := generated(t, 3000)
	tx := db.Begin(false)
	defer tx.Commit()
	all, e := tx.Query("SELECT Id, Name, LastName, PersonEmail, PersonBirthdate FROM Account", false)
	require.Nil(t, e)
	str := func(r *Record, f string) string { s, _ := field(r, f).(string); return s }

	for _, prefix := range []string{"A", "kowal", "Ma", "zz", "Ö", "a_"} {
		q := "SELECT Id FROM Account WHERE Name LIKE '" + soqlEscape(prefix, true) + "%'"
		res, e := tx.Query(q, false)
		require.Nil(t, e, q)
		var want []string
		for _, r := range all.Records {
			if strings.HasPrefix(strings.ToLower(str(r, "Name")), strings.ToLower(prefix)) {
				want = append(want, r.ID)
			}
		}
		assert.Equal(t, len(want), res.TotalSize, q)
		assert.ElementsMatch(t, want, recordIDs(res), q)
	}

	email := str(all.Records[1234], "PersonEmail")
	res, e := tx.Query("SELECT Id FROM Account WHERE PersonEmail = '"+strings.ToUpper(email)+"'", false)
	require.Nil(t, e)
	assert.Equal(t, []string{all.Records[1234].ID}, recordIDs(res))

	sorted := slices.Clone(all.Records)
	slices.SortStableFunc(sorted, func(a, b *Record) int {
		return strings.Compare(strings.ToLower(str(a, "LastName")), strings.ToLower(str(b, "LastName")))
	})
	for _, tc := range []struct{ limit, offset int }{{10, 0}, {10, 5}, {1, 0}, {0, 0}, {50, 2000}} {
		res, e := tx.Query(fmt.Sprintf("SELECT Id FROM Account ORDER BY LastName LIMIT %d OFFSET %d", tc.limit, tc.offset), false)
		require.Nil(t, e)
		want := []string{}
		for _, r := range sorted[tc.offset : tc.offset+tc.limit] {
			want = append(want, r.ID)
		}
		assert.Equal(t, want, recordIDs(res), "LIMIT %d OFFSET %d", tc.limit, tc.offset)
	}
	res, e = tx.Query("SELECT Id FROM Account ORDER BY PersonBirthdate DESC, LastName, Id LIMIT 7", false)
	require.Nil(t, e)
	full, e := tx.Query("SELECT Id FROM Account ORDER BY PersonBirthdate DESC, LastName, Id", false)
	require.Nil(t, e)
	assert.Equal(t, recordIDs(full)[:7], recordIDs(res))
}

// TestSearchIndexNamesEveryMatch: for every term, the rows the search index names include every
// row a full read matches, in every scope; and FIND returns the same records as before.
func TestSearchIndexNamesEveryMatch(t *testing.T) {
	db := generated(t, 2000)
	f := newFixture(t)
	terms := []string{"Kowalski", "kowal*", "Sven Kowalski", `"Sven Kowalski"`, "ma?ia", "example", "example.com", "gen-0000123",
		"*ski", "Anna OR Sven", "Anna AND NOT Kowalski", "(Anna OR Maria) AND Smith", "nothing-here", "415", "Dee_100%", "Acme", "able"}
	matched, narrowed := 0, 0
	for _, d := range []*DB{db, f.db} {
		tx := d.Begin(false)
		for _, term := range terms {
			expr, err := soql.ParseSearchTerm(term)
			require.NoError(t, err, term)
			m := newTermMatcher(term, expr)
			for _, tb := range d.tables {
				if tb.words == nil {
					continue
				}
				cand := m.candidates(m.root, tb.words)
				if cand != nil {
					narrowed++
				}
				for _, in := range []string{"ALL", "NAME", "EMAIL", "PHONE"} {
					fields := scopeFields(tb.obj, in)
					for r := int32(0); r < tb.n; r++ {
						if !m.eval(m.root, tb, r, fields) {
							continue
						}
						matched++
						if cand != nil {
							_, found := slices.BinarySearch(cand, r)
							require.True(t, found, "%s %s: row %d matches %q in %s but the index does not name it", tb.obj.name, tb.id(r), r, term, in)
						}
					}
				}
			}
		}
		tx.Commit()
	}
	assert.Greater(t, matched, 1000, "the terms match rows")
	assert.Greater(t, narrowed, 30, "the index narrows most terms")
}

// TestCustomIndexSameAnswers: a custom index changes which rows a query reads, never which it
// returns. The same data and the same changes (an update to another value, to null, a delete)
// in an org with and without an index on Account.AccountNumber give the same answers to
// equality, IN, anti-join and case-varied filters; the indexed org reads only the rows named,
// which the filter-work budget shows: set below the table's size, only the indexed org answers.
func TestCustomIndexSameAnswers(t *testing.T) {
	open := func(indexes ...string) *DB {
		db, err := New(Options{Now: func() time.Time { return testNow }, CustomIndexes: indexes})
		require.NoError(t, err)
		require.NoError(t, SeedGenerated(db, 500, 7))
		return db
	}
	plain, indexed := open(), open("Account.AccountNumber")
	for _, db := range []*DB{plain, indexed} {
		_, e := write(t, db, func(tx *Tx) (*QueryResult, *Error) {
			res, e := tx.Query("SELECT Id FROM Account WHERE AccountNumber IN ('GEN-0000010', 'GEN-0000011', 'GEN-0000012')", false)
			if e != nil {
				return nil, e
			}
			ids := recordIDs(res)
			if e := tx.Update("Account", ids[0], map[string]any{"AccountNumber": "GEN-0000020"}); e != nil {
				return nil, e
			}
			if e := tx.Update("Account", ids[1], map[string]any{"AccountNumber": nil}); e != nil {
				return nil, e
			}
			return nil, tx.Delete("Account", ids[2])
		})
		require.Nil(t, e)
	}
	queries := []string{
		"SELECT Id FROM Account WHERE AccountNumber = 'GEN-0000020'", // two rows now
		"SELECT Id FROM Account WHERE AccountNumber = 'gen-0000020'",
		"SELECT Id FROM Account WHERE AccountNumber = 'GEN-0000010'", // updated away
		"SELECT Id FROM Account WHERE AccountNumber = 'GEN-0000012'", // deleted
		"SELECT Id FROM Account WHERE AccountNumber IN ('GEN-0000001', 'GEN-0000499', 'nope')",
		"SELECT Id FROM Account WHERE AccountNumber = 'GEN-0000001' AND FirstName != null",
		"SELECT Id FROM Account WHERE AccountNumber = 'GEN-0000002' AND Id NOT IN (SELECT AccountId FROM Contact WHERE LastName = 'x')",
		"SELECT Id FROM Account WHERE AccountNumber = null",
	}
	for _, q := range queries {
		read := func(db *DB) []string {
			tx := db.Begin(false)
			defer tx.Commit()
			res, e := tx.Query(q, false)
			require.Nil(t, e, q)
			return recordIDs(res)
		}
		assert.Equal(t, read(plain), read(indexed), q)
	}
	assert.Len(t, func() []string {
		tx := indexed.Begin(false)
		defer tx.Commit()
		res, e := tx.Query(queries[0], false)
		require.Nil(t, e)
		return recordIDs(res)
	}(), 2)

	old := maxFilterWork
	maxFilterWork = 100 // 500 accounts × 1 term: a scan exceeds it
	t.Cleanup(func() { maxFilterWork = old })
	for db, ok := range map[*DB]bool{plain: false, indexed: true} {
		tx := db.Begin(false)
		_, e := tx.Query(queries[4], false)
		tx.Commit()
		assert.Equal(t, ok, e == nil, "indexed %v: %v", ok, e)
	}
}

func TestCustomIndexRefused(t *testing.T) {
	for _, name := range []string{"Account.NoSuchField__c", "NoSuchObject.Name", "Account", "Account.Description", "Account.AnnualRevenue"} {
		_, err := New(Options{CustomIndexes: []string{name}})
		assert.Error(t, err, name)
	}
}
