package postgres_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/adapter/store/storetest"
)

// dsn returns the test database's DSN, or skips the test: the PostgreSQL tests run when
// IDVERIFY_TEST_POSTGRES_DSN is set (.ci/run sets it).
func dsn(t testing.TB) string {
	dsn := os.Getenv("IDVERIFY_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("IDVERIFY_TEST_POSTGRES_DSN is not set: the PostgreSQL store is not tested " +
			"(e.g. IDVERIFY_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// OpenSchema opens n stores on a new schema of the test database, dropped when the test ends,
// so that runs and subtests never see each other's rows.
func openSchema(t testing.TB, n int) []*postgres.Store {
	t.Helper()
	ctx := context.Background()
	url := dsn(t)
	schema := "idv_test_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	stores := make([]*postgres.Store, n)
	for i := range stores {
		cfg, err := pgxpool.ParseConfig(url)
		require.NoError(t, err)
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.MaxConns = 8
		stores[i], err = postgres.OpenConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	return stores
}

func TestContract(t *testing.T) {
	dsn(t)
	storetest.Exercise(t, func(t *testing.T) (store.Store, store.Store) {
		st := openSchema(t, 2)
		return st[0], st[1]
	})
}

func TestUnreadablePayload(t *testing.T) {
	st := openSchema(t, 1)[0]
	storetest.TestUnreadablePayload(t, st, func(t *testing.T, key string) {
		_, err := st.Pool().Exec(t.Context(), `UPDATE outbox SET payload = '"x"' WHERE key = $1`, key)
		require.NoError(t, err)
	})
}

func BenchmarkStore(b *testing.B) {
	dsn(b)
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openSchema(b, 1)[0] })
}
