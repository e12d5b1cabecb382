package storetest

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/adapter/store/sqlite"
)

// EnvPostgresDSN names the variable that holds the test PostgreSQL's DSN: the PostgreSQL tests
// run when it is set (.ci/run sets it) and are skipped otherwise.
const EnvPostgresDSN = "IDVERIFY_TEST_POSTGRES_DSN"

// Driver is a store driver as the tests of other packages open it: Open returns a new, empty
// store, closed (and for PostgreSQL its schema dropped) when the test ends, or skips the test
// when the driver cannot run here.
type Driver struct {
	Name string
	Open func(t testing.TB) store.Store
}

// Drivers are SQLite (a file in the test's temporary directory) and PostgreSQL (a schema of its
// own in the database EnvPostgresDSN names): a test runs its subtests on each.
var Drivers = []Driver{
	{"sqlite", func(t testing.TB) store.Store {
		t.Helper()
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idverify.db"))
		if err != nil {
			t.Fatalf("storetest: sqlite: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"postgres", func(t testing.TB) store.Store { return PostgresSchema(t, 1)[0] }},
}

// PostgresDSN returns the test database's DSN, or skips the test when EnvPostgresDSN is unset.
func PostgresDSN(t testing.TB) string {
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		t.Skip(EnvPostgresDSN + " is not set: the PostgreSQL store is not tested " +
			"(e.g. " + EnvPostgresDSN + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// PostgresSchema opens n stores (as n replicas) on a new schema of the test database, dropped
// when the test ends, so that runs, subtests and other people's tests never see each other's
// rows. It skips the test when EnvPostgresDSN is unset.
func PostgresSchema(t testing.TB, n int) []*postgres.Store {
	t.Helper()
	ctx := context.Background()
	url := PostgresDSN(t)
	schema := "idv_test_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("storetest: postgres: %v", err)
	}
	if _, err = conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: postgres: %v", err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	stores := make([]*postgres.Store, n)
	for i := range stores {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatalf("storetest: postgres: %v", err)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.MaxConns = 8
		if stores[i], err = postgres.OpenConfig(ctx, cfg); err != nil {
			t.Fatalf("storetest: postgres: %v", err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	return stores
}
