package orgdb

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentReadersShareParsedQueries: read transactions run in parallel under the shared
// lock and share the parsed-query cache, so compiling and running a cached query must not write
// to it (go test -race checks).
func TestConcurrentReadersShareParsedQueries(t *testing.T) {
	f := newFixture(t)
	queries := []string{
		"SELECT Id, Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Name LIKE 'A%' ORDER BY Name LIMIT 5",
		"SELECT Account.Name, LastName FROM Contact WHERE Birthdate > 1985-01-01 OR LastName IN ('Able', 'cole')",
		"SELECT COUNT() FROM Contact WHERE AccountId != null",
	}
	want := make([]int, len(queries))
	for i, q := range queries {
		tx := f.db.Begin(false)
		res, e := tx.Query(q, false)
		tx.Rollback()
		require.Nil(t, e, q)
		want[i] = res.TotalSize
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(queries)
				tx := f.db.Begin(false)
				res, e := tx.Query(queries[i], false)
				tx.Rollback()
				if assert.Nil(t, e) {
					assert.Equal(t, want[i], res.TotalSize)
				}
			}
		})
	}
	wg.Wait()
}
