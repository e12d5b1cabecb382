package bulksync_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// The budget per 10,000 engagements with two attendees and a topic each (40,000
// records): at most 250 API calls through collections (the floor is 200), at most 50 through
// Bulk API 2.0, at least 150 times fewer than the naive path's 4 calls per engagement. Counted
// by the fake org, so exact; a Bulk API job's polls depend on how long it runs, so they are
// bounded, not counted.
func TestCallBudgetPer10000Engagements(t *testing.T) {
	if testing.Short() {
		t.Skip("40,000 records")
	}
	const rows = 10_000
	const naive = 4 * rows
	for _, tt := range []struct {
		via       bulksync.Via
		calls     int64 // every call but a job's polls
		most      int64
		jobsPolls bool
	}{
		// 3 describes; 50 rounds of an upsert, 2 attendee creates and a topic create.
		{bulksync.ViaCollections, 3 + 50*4, 250, false},
		// 3 describes; 3 jobs of create, upload, close; the engagements' successful results.
		{bulksync.ViaBulk, 3 + 3*3 + 1, 50, true},
	} {
		t.Run(string(tt.via), func(t *testing.T) {
			org, people := newOrg(t)
			in := writeJSONL(t, t.TempDir(), 0, rows, people)
			opts := options(org, in)
			opts.Via = tt.via
			opts.Poll = sfdc.Poll{Min: 100 * time.Millisecond, Max: time.Second}
			org.ResetCounts()
			sum, err := bulksync.Run(context.Background(), opts)
			require.NoError(t, err)
			require.True(t, sum.OK())
			polls := org.Counts().ByKind[fakeorg.KindIngestJob]["GET"]
			all := apiCalls(org)
			assert.Equal(t, tt.calls, all-polls)
			assert.LessOrEqual(t, all, tt.most)
			assert.GreaterOrEqual(t, float64(naive)/float64(all), 150.0)
			if tt.jobsPolls {
				assert.GreaterOrEqual(t, polls, int64(3), "each job is read at least once")
			}
			t.Logf("%s: %d calls (%d polls) for %d records: %.0f× fewer than %d", tt.via, all, polls, 4*rows,
				float64(naive)/float64(all), naive)
		})
	}
}
