package postgres_test

import (
	"testing"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/stretchr/testify/require"
)

// dsn skips the test when IDVERIFY_TEST_POSTGRES_DSN is unset (.ci/run sets it).
func dsn(t testing.TB) string { return storetest.PostgresDSN(t) }

// openSchema opens n stores on a new schema of the test database, dropped when the test ends.
func openSchema(t testing.TB, n int) []*postgres.Store { return storetest.PostgresSchema(t, n) }

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
