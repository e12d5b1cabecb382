package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
// is cut back to 1 MB; the Commits go on for a second, writing a few hundred MB of frames, and
// without the RESTART the WAL reached 174 to 212 MB.
// Under the race detector the writes are too slow to keep the PASSIVE checkpoint from catching
// up (the WAL stayed at 1 MB without the RESTART, with 8 or 32 writers), so the test could not
// fail there; without it, the WAL reached 174 to 212 MB.
func TestWALStartsAgainUnderSteadyWrites(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector slows the writes below the rate that outruns a PASSIVE checkpoint")
	}
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
	// 1 to 10 MB on an idle machine; up to 46 MB with other tests running on the two cores,
	// whose readers (the Gets) were descheduled holding their snapshots, and each RESTART they
	// kept busy let the WAL grow until the next.
	assert.Less(t, fi.Size(), int64(96<<20), "the WAL's size")
	stats := st.WALStats()
	assert.Positive(t, stats.Restarts, "RESTARTs counted")
	assert.Zero(t, stats.CheckpointErrors+stats.RestartErrors, "no checkpoint failed")
}

// A reader on an old snapshot (a slow list, an operator's sqlite3 shell, a backup in another
// process) holds up no write. SQLite lets a RESTART checkpoint wait for such a reader through
// the busy handler, BusyTimeout at each attempt, and the committer's RESTART has every write
// queued behind it: 200 Commits took more than BusyTimeout with the reader open (the WAL
// cannot start again while it reads, so each checkpoint asks for another RESTART).
func TestWritesDoNotWaitForAnOldReader(t *testing.T) {
	defer sqlite.SetCheckpoints(time.Millisecond, 8, 1<<20)()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer st.Close()
	data := bytes.Repeat([]byte{'s'}, 2000)
	commit := func(i int) error {
		_, err := st.Commit(ctx, flows.Commit{Session: fmt.Sprint("s-", i), Data: data})
		return err
	}
	for i := range 20 {
		require.NoError(t, commit(i))
	}

	db, err := sql.Open("sqlite", path) // another handle on the file, as an operator's
	require.NoError(t, err)
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	var n int
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&n)) // its snapshot, held
	require.Equal(t, 20, n)

	done := make(chan error, 1)
	go func() {
		for i := 20; i < 220; i++ {
			if err := commit(i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(sqlite.BusyTimeout / 2): // a bound on a wait for a lock, not a measurement
		t.Error("the writes waited for the reader")
		require.NoError(t, tx.Rollback())
		require.NoError(t, <-done)
	}
	// The WAL could not start again while the reader held its snapshot: the RESTARTs are
	// counted as busy (what tells an operator of a held reader, the WAL growing), not as
	// failures and not as starts alone.
	stats := st.WALStats()
	assert.Positive(t, stats.RestartsBusy, "busy RESTARTs counted")
	assert.Zero(t, stats.RestartErrors, "a busy RESTART is no failure")
}

// A checkpointer whose checkpoints fail (here its connection is closed; an I/O error would do)
// leaves the checkpoint to the committer's RESTART. The writer's automatic checkpoint is off,
// so nothing else copied the WAL into the database: it grew by every Commit, silently, for as
// long as the process ran.
func TestWALStartsAgainWhenTheCheckpointerFails(t *testing.T) {
	defer sqlite.SetCheckpoints(0, 1<<30, 64<<10)() // no restart asked for by the WAL's size
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	defer st.Close()
	var logged bytes.Buffer
	st.SetLogger(slog.New(slog.NewTextHandler(&logged, nil)))
	require.NoError(t, sqlite.BreakCheckpointer(st))

	// 300 Commits of 8 KB write 3.6 MB of frames or more. The WAL starts again, and is cut
	// back to 64 KB, once the checkpointer has failed and the committer has started its next
	// transaction: how many Commits that takes depends on when the checkpointer gets a CPU (on
	// a loaded machine, 300 in a row reached 2 MB first), so the Commits go on, a millisecond
	// apart, until the WAL is back under 1 MB; without the RESTART it never is.
	data := bytes.Repeat([]byte{'s'}, 8<<10)
	size := func() int64 {
		fi, err := os.Stat(path + "-wal")
		require.NoError(t, err)
		return fi.Size()
	}
	for i := range 300 {
		_, err := st.Commit(t.Context(), flows.Commit{Session: fmt.Sprint("s-", i), Data: data})
		require.NoError(t, err)
	}
	for i := 300; size() >= 1<<20; i++ {
		require.Less(t, i, 2300, "Commits made: the WAL (%d bytes) did not start again", size())
		time.Sleep(time.Millisecond) // a turn for the checkpointer, not a measurement
		_, err := st.Commit(t.Context(), flows.Commit{Session: fmt.Sprint("s-", i), Data: data})
		require.NoError(t, err)
	}
	// And the failures are counted, for serve's metrics: nothing else tells. Read once the
	// store has closed: the last Commit woke the checkpointer, whose last checkpoint may be
	// counted between the two loads (a Close waits for it to stop).
	require.NoError(t, st.Close())
	stats := st.WALStats()
	assert.Positive(t, stats.CheckpointErrors, "failed checkpoints counted")
	assert.Equal(t, stats.Checkpoints, stats.CheckpointErrors, "every checkpoint failed")
	assert.Positive(t, stats.Restarts, "RESTARTs counted")
	assert.Zero(t, stats.RestartErrors, "the writer's RESTARTs succeed")
	// And told in the log, once (a line a minute at most), with the operation and no more.
	assert.Equal(t, 1, strings.Count(logged.String(), "\n"), logged.String())
	assert.Contains(t, logged.String(), `level=ERROR msg="sqlite: a checkpoint failed: the WAL grows with every write until one succeeds" err="sqlite: checkpoint: `)
}

// Before it asks the committer for a RESTART (which holds every write while it copies what
// the WAL holds beyond the last checkpoint, and syncs twice), the checkpointer catches up with
// PASSIVE checkpoints beside the writer, until one finds few frames more than the one before:
// what is left for the RESTART is then what was written while that short one ran. A RESTART
// straight after a 20 ms PASSIVE had about 500 frames to copy and took 6 to 24 ms.
func TestCheckpointerCatchesUpBeforeARestart(t *testing.T) {
	broken := errors.New("disk I/O error")
	const mark, tail = 1000, 100
	for _, tc := range []struct {
		name   string
		found  []int // what each PASSIVE checkpoint finds, in frames; -1: it fails
		calls  int
		frames int
		err    error
	}{
		{name: "below the mark: one checkpoint", found: []int{500}, calls: 1, frames: 500},
		{name: "past it: one more, which finds little new", found: []int{1500, 1550}, calls: 2, frames: 1550},
		{name: "past it: until one finds little new", found: []int{1500, 2000, 2300, 2350, 9999}, calls: 4, frames: 2350},
		{name: "writes outrun it: a bounded number", found: []int{1500, 2000, 2500, 3000, 3500, 4000, 4500}, calls: 5, frames: 3500},
		{name: "started again meanwhile (another process)", found: []int{1500, 20}, calls: 2, frames: 20},
		{name: "the first fails", found: []int{-1}, calls: 1, err: broken},
		{name: "a later one fails", found: []int{1500, -1, 2000}, calls: 2, err: broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			frames, err := sqlite.CatchUp(func() (int, error) {
				f := tc.found[calls]
				calls++
				if f < 0 {
					return 0, broken
				}
				return f, nil
			}, mark, tail)
			assert.Equal(t, tc.calls, calls, "checkpoints run")
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.frames, frames)
		})
	}
}
