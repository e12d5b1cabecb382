package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// A claim reads the due writes in the order of the index outbox_due and stops at its LIMIT:
// with thousands queued it reads a batch's worth of them, not every due write sorted (a
// temporary B-tree for the ORDER BY), which held the one writer O(backlog) per claim.
func TestClaimWalksTheDueIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const writes, engagements = 3000, 1000
	for i := range writes {
		key := fmt.Sprint("write-", i)
		_, err := st.Commit(t.Context(), flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{{
			Key: key, Engagement: fmt.Sprint("call-", i%engagements), At: at, Writeback: flowstest.OutboxWrite(at)}}})
		require.NoError(t, err)
	}

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	joined := strings.Join(queryPlan(t, db, sqlite.ClaimOutboxQuery, 0, 0, 4), "\n")
	assert.Contains(t, joined, "SEARCH o USING INDEX outbox_due", "the due writes in the index's order")
	assert.NotContains(t, joined, "TEMP B-TREE", "no sort of every due write")

	got, err := st.ClaimOutbox(t.Context(), at, time.Minute, 4)
	require.NoError(t, err)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	assert.Equal(t, []string{"write-0", "write-1", "write-2", "write-3"}, keys, "the heads due longest, oldest first")
}

// The writes behind are not due (storetest.TestWritesBehindAreNotDue): the due end of the
// index outbox_due, which a claim walks, holds the queues' heads only.
func TestWritesBehindAreNotDue(t *testing.T) {
	st, db := openWithSQL(t)
	storetest.TestWritesBehindAreNotDue(t, st, 1000, func(now time.Time) int { // the rows a claim at now may walk
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*) FROM outbox INDEXED BY outbox_due
			WHERE status IN (1, 2) AND next_attempt <= ?`, now.UnixMicro()).Scan(&n))
		return n
	})
}

// The promotion of the writes behind, attacked at random (storetest.TestWritesBehindAtRandom).
func TestWritesBehindAreNeverStuck(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "idverify.db")
			st, err := sqlite.Open(t.Context(), path)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, st.Close()) })
			db, err := sql.Open("sqlite", path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			storetest.TestWritesBehindAtRandom(t, seed, st, func(t *testing.T) int {
				var n int
				require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*) FROM outbox o WHERE status IN (1, 2) AND next_attempt = 9223372036854775807
					AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.engagement = o.engagement AND p.status IN (1, 2) AND p.id < o.id)`).Scan(&n))
				return n
			})
		})
	}
}

// queryPlan returns the details of SQLite's EXPLAIN QUERY PLAN for query with args, one line
// a step ("SEARCH o USING INDEX outbox_due …", "USE TEMP B-TREE FOR ORDER BY").
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	return plan
}

// Listing the writes not delivered reads them by an index of their own, not the primary key
// past every delivered write kept for days (the metrics list them at every scrape, /readyz at
// every probe).
func TestListOutboxSkipsTheDelivered(t *testing.T) {
	_, db := openWithSQL(t)
	plan := strings.Join(queryPlan(t, db, sqlite.ListOutboxQuery, 0, 10), "\n")
	assert.Contains(t, plan, "USING INDEX outbox_undelivered", plan)
	assert.NotContains(t, plan, "TEMP B-TREE", plan)
}

// openWithSQL opens a store on a new file, and a plain connection to the same file for the
// test's own SQL (query plans, counts).
func openWithSQL(t *testing.T) (*sqlite.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return st, db
}
