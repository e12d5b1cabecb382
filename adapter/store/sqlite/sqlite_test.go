package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/store/storetest"
)

// open opens two stores on one new database file, as two processes would.
func open(t *testing.T) (store.Store, store.Store) {
	path := filepath.Join(t.TempDir(), "idverify.db")
	var out [2]store.Store
	for i := range out {
		st, err := sqlite.Open(t.Context(), path)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		out[i] = st
	}
	return out[0], out[1]
}

func TestContract(t *testing.T) {
	storetest.Exercise(t, open)
}

func TestUnreadablePayload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	storetest.TestUnreadablePayload(t, st, func(t *testing.T, key string) {
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.ExecContext(t.Context(), `UPDATE outbox SET payload = CAST('"x"' AS BLOB) WHERE key = ?`, key)
		require.NoError(t, err)
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "idverify.db"))
		require.NoError(b, err)
		b.Cleanup(func() { st.Close() })
		return st
	})
}
