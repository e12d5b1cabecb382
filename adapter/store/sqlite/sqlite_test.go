package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
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

// A step's reads run without their context's cancellation (no goroutine watches them), but a
// context that has already ended still reads nothing.
func TestReadsOnEndedContext(t *testing.T) {
	st, _ := open(t)
	_, err := st.Commit(t.Context(), flows.Commit{Session: "s1", Data: []byte("data"), Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	data, version, err := st.Get(t.Context(), "s1")
	require.NoError(t, err)
	require.Equal(t, []byte("data"), data)
	require.Equal(t, uint64(1), version)

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	reads := map[string]func() error{
		"get":      func() error { _, _, err := st.Get(ended, "s1"); return err },
		"failures": func() error { _, err := st.Failures(ended, "p1", time.Now().Add(-time.Hour)); return err },
		"verified": func() error {
			_, _, err := st.Verified(ended, flows.VerifiedKey{Engagement: "e1", Person: "p1"}, time.Now())
			return err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, read(), context.Canceled)
		})
	}
}
