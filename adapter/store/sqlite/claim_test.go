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
	rows, err := db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+sqlite.ClaimOutboxQuery, 0, 0, 4)
	require.NoError(t, err)
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	joined := strings.Join(plan, "\n")
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
