package sqlite_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/flows"
)

// Under a steady stream of Commits from many goroutines, with reads beside them, the WAL
// starts again from its beginning once it passes the restart mark, rather than growing for as
// long as the writes go on (a PASSIVE checkpoint alone never lets it: 2.8 GB in 192,000
// Commits). Here the checkpointer runs every 10 ms, the mark is 256 frames (1 MB) and the file
// is cut back to 1 MB; the Commits go on for a second, writing a few hundred MB of frames.
func TestWALStartsAgainUnderSteadyWrites(t *testing.T) {
	defer sqlite.SetCheckpoints(10*time.Millisecond, 256, 1<<20)()
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	defer st.Close()

	data := bytes.Repeat([]byte{'s'}, 560)
	var wg sync.WaitGroup
	end := time.Now().Add(time.Second) // how long the load lasts, not a measurement
	for g := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				id := fmt.Sprintf("s-%d-%d", g, i)
				var v uint64
				for range 4 {
					var err error
					v, err = st.Commit(t.Context(), flows.Commit{Session: id, Data: data, Version: v, Expires: time.Now().Add(time.Hour),
						Audit: []flows.AuditEvent{{At: time.Now(), SessionKey: id, Engagement: "e" + id, Person: "p" + id}}})
					if !assert.NoError(t, err) {
						return
					}
					_, _, err = st.Get(t.Context(), id)
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
	fi, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	assert.Less(t, fi.Size(), int64(16<<20), "the WAL's size")
}
