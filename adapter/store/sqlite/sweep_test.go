package sqlite_test

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/flows"
)

// sweepProbe is what the SQL function sweep_probe() runs, for the connections opened after
// registerSweepProbe.
var (
	sweepProbeOnce sync.Once
	sweepProbeMu   sync.Mutex
	sweepProbe     func()
)

func registerSweepProbe(t *testing.T) {
	sweepProbeOnce.Do(func() {
		require.NoError(t, msqlite.RegisterScalarFunction("sweep_probe", 0, func(*msqlite.FunctionContext, []driver.Value) (driver.Value, error) {
			sweepProbeMu.Lock()
			defer sweepProbeMu.Unlock()
			if sweepProbe != nil {
				sweepProbe()
			}
			return nil, nil
		}))
	})
}

// A sweep of a large backlog deletes a batch at a time, each batch a write committed on its
// own, so that the step Commits queued meanwhile go between batches: as one write it held the
// writer for as long as it deleted (seconds for the first sweep after an audit retention is
// set), and could not be stopped. A trigger runs a probe at each row the sweep deletes, which
// reads the audit through another connection: it sees the earlier batches gone.
func TestSweepCommitsInBatches(t *testing.T) {
	registerSweepProbe(t)
	defer sqlite.SetSweepBatch(10)()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	old := time.Now().Add(-24 * time.Hour)
	for i := range 50 {
		id := fmt.Sprint("s", i)
		_, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"), Audit: []flows.AuditEvent{{At: old, SessionKey: id, Engagement: id}}})
		require.NoError(t, err)
	}
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TRIGGER probe AFTER DELETE ON audit BEGIN SELECT sweep_probe(); END`)
	require.NoError(t, err)

	least := -1 // the fewest audit rows a probe saw committed
	sweepProbeMu.Lock()
	sweepProbe = func() {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM audit`).Scan(&n))
		if least < 0 || n < least {
			least = n
		}
	}
	sweepProbeMu.Unlock()
	defer func() { sweepProbeMu.Lock(); sweepProbe = nil; sweepProbeMu.Unlock() }()

	swept, err := st.Sweep(ctx, time.Now(), store.Retention{Audit: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, int64(50), swept.Audit)
	assert.Equal(t, 10, least, "the last batch's rows were all that was left once the others had committed")
}

// The batched form of each sweep statement still reads an index, not the whole table (but for
// resets, which only admins write).
func TestSweepBatchesUseIndexes(t *testing.T) {
	_, db := openWithSQL(t)

	all := store.Retention{Sessions: time.Hour, Failures: time.Hour, Delivered: time.Hour, Audit: time.Hour}
	for _, step := range store.SweepSteps(&store.Swept{}, time.Now(), all, `?`) {
		query, err := sqlite.SweepBatchSQL(step.SQL)
		require.NoError(t, err)
		plan := queryPlan(t, db, query, 0, 10)
		require.NotEmpty(t, plan, query)
		if strings.Contains(step.SQL, "FROM resets") {
			continue
		}
		for _, detail := range plan {
			require.NotContains(t, detail, "SCAN", "%s: %v", query, plan)
		}
	}
}
