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
// by the fake org, so exact. A Bulk API job's polls depend on how long the org takes to run it,
// not on sync (on this busy test machine, 26 to 33 polls for the three jobs; 12 in the
// benchmark's quieter run): the budget counts the fewest, one a job, so that the test passes or
// fails on the calls sync decides, never on the machine's speed.
//
// Bulk API 2.0 runs the whole 10,000 (one default round of three jobs: the package's one large
// case, read from CSV, so that the CSV reader meets a large file too). Collections cost the same
// 4 calls every 200 rows whatever the file's length, so 2,000 rows (ten rounds) measure the
// cost per round exactly and the budget per 10,000 follows from it.
func TestCallBudgetPer10000Engagements(t *testing.T) {
	if testing.Short() {
		t.Skip("40,000 records")
	}
	const per = 10_000
	const naive = 4 * per
	for _, tt := range []struct {
		via       bulksync.Via
		rows      int
		calls     int64 // every call but a job's polls
		jobsPolls bool
	}{
		// 3 describes; 10 rounds of an upsert, 2 attendee creates and a topic create.
		{bulksync.ViaCollections, 2_000, 3 + 10*4, false},
		// 3 describes; 3 jobs of create, upload, close; the engagements' successful results.
		{bulksync.ViaBulk, per, 3 + 3*3 + 1, true},
	} {
		t.Run(string(tt.via), func(t *testing.T) {
			t.Parallel()
			org, people := newOrg(t)
			write := writeJSONL
			if tt.rows == per {
				write = writeCSV
			}
			in := write(t, t.TempDir(), 0, tt.rows, people)
			opts := options(org, in)
			opts.Via = tt.via
			opts.Poll = sfdc.Poll{Min: 100 * time.Millisecond, Max: time.Second}
			org.ResetCounts()
			sum, err := bulksync.Run(context.Background(), opts)
			require.NoError(t, err)
			require.True(t, sum.OK())
			require.Equal(t, tt.rows, sum.Landed)
			polls := org.Counts().ByKind[fakeorg.KindIngestJob]["GET"]
			all := apiCalls(org)
			assert.Equal(t, tt.calls, all-polls)
			// The describes once, the rest in proportion to the rows; one poll a job.
			fewest := all - polls
			if tt.jobsPolls {
				fewest += 3
			}
			perTenThousand := 3 + (fewest-3)*per/int64(tt.rows)
			most := map[bulksync.Via]int64{bulksync.ViaCollections: 250, bulksync.ViaBulk: 50}[tt.via]
			assert.LessOrEqual(t, perTenThousand, most)
			assert.GreaterOrEqual(t, float64(naive)/float64(perTenThousand), 150.0)
			if tt.jobsPolls {
				assert.GreaterOrEqual(t, polls, int64(3), "each job is read at least once")
			}
			t.Logf("%s: %d calls (%d polls) for %d rows; budgeted with one poll a job: %d per %d rows, %.0f× fewer than %d", tt.via, all, polls,
				tt.rows, perTenThousand, per, float64(naive)/float64(perTenThousand), naive)
		})
	}
}
