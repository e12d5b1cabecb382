package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/flows"
)

// TestGroupCommitIsolation runs many Commits at once, so that they share transactions (group
// commit), about half of them failing on purpose: a stale version, a guard that no longer
// holds, a statement that fails after the session row was written (a trigger aborts its audit
// insert), or the transaction's COMMIT (a deferred foreign key), which fails its whole group;
// and some Commits' callers give up (their context cancelled) while they wait or run.
// Every failed Commit must leave nothing behind (no session change, failure, outbox
// write or audit event) and return its own error; every successful one must be all there, and
// an engagement's outbox writes must be numbered in the order of its session's versions.
func TestGroupCommitIsolation(t *testing.T) {
	ctx := t.Context()
	st := openWithTraps(t)

	const sessions, workers, rounds = 4, 32, 25
	for s := range sessions {
		_, err := st.Commit(ctx, flows.Commit{Session: sessionID(s), Data: []byte("0")})
		require.NoError(t, err)
	}
	type result struct {
		session int
		version uint64 // the version committed on
		err     error
	}
	var mu sync.Mutex
	results := map[string]result{} // by tag
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := w % sessions
			id, person := sessionID(s), fmt.Sprintf("p%d", s)
			for r := range rounds {
				tag := fmt.Sprintf("w%d-r%d", w, r)
				_, version, err := st.Get(ctx, id)
				if !assert.NoError(t, err) {
					return
				}
				failures, err := st.Failures(ctx, person, time.Time{})
				if !assert.NoError(t, err) {
					return
				}
				c := flows.Commit{Session: id, Data: []byte(tag), Version: version,
					Guard:    flows.Guard{Person: person, Failures: len(failures)},
					Failures: []flows.Failure{{Person: person, Key: tag, At: time.Now()}},
					Outbox:   []flows.OutboxWrite{{Key: tag, Engagement: id, At: time.Now(), Writeback: flows.Writeback{Key: tag}}},
					Audit:    []flows.AuditEvent{{At: time.Now(), SessionKey: tag, Engagement: tag, Step: "step"}}}
				cctx := ctx
				switch r % 6 {
				case 1:
					c.Version += 100 // stale
				case 2:
					c.Guard.Failures = -1 // the guard cannot hold
				case 3:
					c.Audit[0].Step = "boom" // fails after the session row and the outbox write
				case 4:
					if w%4 == 0 { // rarer than the others: it fails every Commit it shares a group with
						c.Audit[0].Step = "late" // fails the group's COMMIT
					}
				case 5: // its caller gives up while it waits, or runs: it commits whole or not at all
					var cancel context.CancelFunc
					cctx, cancel = context.WithCancel(ctx)
					go cancel()
				}
				_, err = st.Commit(cctx, c)
				mu.Lock()
				results[tag] = result{session: s, version: version, err: err}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	listed, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	outbox := map[string]flows.OutboxEntry{}
	for _, e := range listed {
		outbox[e.Key] = e
	}
	versions := make([]uint64, sessions)
	for s := range sessions {
		versions[s] = 1
	}
	byVersion := make([][]result, sessions)
	var tagsByVersion [sessions]map[uint64]string
	for s := range sessions {
		tagsByVersion[s] = map[uint64]string{}
	}
	ok := 0
	for tag, res := range results {
		audit, err := st.AuditByEngagement(ctx, tag)
		require.NoError(t, err)
		_, queued := outbox[tag]
		if res.err != nil {
			kinds := []error{flows.ErrVersionConflict, flows.ErrFailuresChanged, flows.ErrUnavailable, context.Canceled}
			assert.True(t, slices.ContainsFunc(kinds, func(k error) bool { return errors.Is(res.err, k) }), "%s: %v", tag, res.err)
			assert.False(t, queued, "%s failed: its outbox write must be rolled back", tag)
			assert.Empty(t, audit, "%s failed: its audit must be rolled back", tag)
			continue
		}
		ok++
		versions[res.session]++
		byVersion[res.session] = append(byVersion[res.session], res)
		tagsByVersion[res.session][res.version] = tag
		assert.True(t, queued, "%s succeeded: its outbox write must be there", tag)
		assert.Len(t, audit, 1, "%s succeeded: its audit event must be there", tag)
	}
	require.Positive(t, ok)
	victims := 0 // failed with the group of a Commit whose COMMIT failed
	for _, res := range results {
		if errors.Is(res.err, flows.ErrUnavailable) {
			victims++
		}
	}
	t.Logf("%d of %d Commits succeeded; %d failed as members of a group whose COMMIT failed, or by the trigger", ok, len(results), victims)
	total := 0
	for s := range sessions {
		data, version, err := st.Get(ctx, sessionID(s))
		require.NoError(t, err)
		assert.Equal(t, versions[s], version, "session %d: one version per successful Commit", s)
		if tag, found := tagsByVersion[s][version-1]; found {
			assert.Equal(t, tag, string(data), "session %d holds the last successful Commit's data", s)
		}
		failures, err := st.Failures(ctx, fmt.Sprintf("p%d", s), time.Time{})
		require.NoError(t, err)
		assert.Len(t, failures, len(byVersion[s]), "session %d: one failure per successful Commit", s)
		total += len(failures)
		// The engagement's writes are numbered in the order its session's versions were taken.
		var ids []int64
		for v := uint64(1); v < version; v++ {
			ids = append(ids, outbox[tagsByVersion[s][v]].ID)
		}
		assert.True(t, slices.IsSorted(ids), "session %d: outbox ids %v follow the versions", s, ids)
	}
	assert.Equal(t, ok, total)
	assert.Len(t, outbox, ok)
}

// openWithTraps opens a store whose audit inserts fail on purpose: the step 'boom' aborts its
// statement (after the Commit's session row and outbox write), the step 'late' breaks a deferred
// foreign key, which fails the transaction's COMMIT.
func openWithTraps(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	for _, q := range []string{
		`CREATE TRIGGER boom BEFORE INSERT ON audit WHEN NEW.step = 'boom' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
		// A deferred foreign key is checked at COMMIT: a Commit with the step 'late' passes
		// its savepoint and fails the shared COMMIT, and with it every Commit of its group.
		`CREATE TABLE late (session TEXT REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TRIGGER late AFTER INSERT ON audit WHEN NEW.step = 'late' BEGIN INSERT INTO late VALUES ('no such session'); END`,
	} {
		_, err = raw.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())
	return st
}

// TestLoneCommitFailsAlone: Commits made one after another each have a group (a transaction) of
// their own, which runs without a savepoint. One that fails after writing its session row and
// outbox write (a statement aborted), or at COMMIT, leaves nothing, and the next one commits.
func TestLoneCommitFailsAlone(t *testing.T) {
	ctx := t.Context()
	st := openWithTraps(t)
	_, err := st.Commit(ctx, flows.Commit{Session: "s", Data: []byte("0")})
	require.NoError(t, err)
	commit := func(step string) error {
		_, err := st.Commit(ctx, flows.Commit{Session: "s", Data: []byte(step), Version: 1,
			Guard:    flows.Guard{Person: "p"},
			Failures: []flows.Failure{{Person: "p", Key: step, At: time.Now()}},
			Outbox:   []flows.OutboxWrite{{Key: step, Engagement: "e", At: time.Now(), Writeback: flows.Writeback{Key: step}}},
			Audit:    []flows.AuditEvent{{At: time.Now(), SessionKey: step, Engagement: "e", Step: step}}})
		return err
	}
	for _, step := range []string{"boom", "late"} {
		require.ErrorIs(t, commit(step), flows.ErrUnavailable, step)
		data, version, err := st.Get(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, "0", string(data), step)
		assert.Equal(t, uint64(1), version, step)
		failures, err := st.Failures(ctx, "p", time.Time{})
		require.NoError(t, err)
		assert.Empty(t, failures, step)
		outbox, err := st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, outbox, step)
		audit, err := st.AuditByEngagement(ctx, "e")
		require.NoError(t, err)
		assert.Empty(t, audit, step)
	}
	require.NoError(t, commit("step"))
	_, version, err := st.Get(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), version)
}

func sessionID(s int) string { return fmt.Sprintf("s%d", s) }

// A Commit on a closed store fails at once: none waits for ever for a committer that has
// stopped (a buffered hand-over let about half of them in). Closing twice is no panic.
func TestCommitAfterClose(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close(), "a second Close does nothing")
	done := make(chan error, 1)
	go func() {
		var errs error
		for i := range 200 {
			if _, err := st.Commit(t.Context(), flows.Commit{Session: sessionID(i), Data: []byte("x")}); err == nil {
				errs = errors.Join(errs, fmt.Errorf("commit %d succeeded on a closed store", i))
			}
		}
		done <- errs
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second): // only a hang gets here
		t.Fatal("a Commit on a closed store hangs")
	}
}

// The prepared statements are closed with the store: every use after Close fails as the store
// being unavailable, none panics.
func TestUseAfterClose(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	_, err = st.Commit(ctx, flows.Commit{Session: "s", Data: []byte("x")})
	require.NoError(t, err)
	_, _, err = st.Get(ctx, "s") // prepares the read
	require.NoError(t, err)
	_, err = st.ClaimOutbox(ctx, time.Now(), time.Minute, 1) // prepares the claim
	require.NoError(t, err)
	require.NoError(t, st.Close())

	_, _, err = st.Get(ctx, "s")
	assert.ErrorIs(t, err, flows.ErrUnavailable)
	_, err = st.ClaimOutbox(ctx, time.Now(), time.Minute, 1)
	assert.ErrorIs(t, err, flows.ErrUnavailable)
	_, err = st.Failures(ctx, "p", time.Time{})
	assert.ErrorIs(t, err, flows.ErrUnavailable)
	_, err = st.Commit(ctx, flows.Commit{Session: "s", Data: []byte("y"), Version: 1})
	assert.ErrorIs(t, err, flows.ErrUnavailable)
}

// TestOutboxWritesShareTheGroup runs the outbox's claims and settlements at the same time as
// Commits, so that they share transactions with them, some Commits failing on purpose in their
// statements (alone) or at COMMIT (their group with them). Each claim and settlement gets its
// own result: a write is claimed by one claim at most while its lease holds, a settlement of a
// claim that does not hold (a wrong attempt) fails with ErrClaimLost (or with its group) and
// changes nothing, a claim or settlement whose group failed changed nothing and is tried
// again, and every queued write is delivered once.
func TestOutboxWritesShareTheGroup(t *testing.T) {
	ctx := t.Context()
	st := openWithTraps(t)
	const queued, committers, rounds, deliverers = 200, 8, 25, 4
	now := time.Now()
	for i := range queued {
		key := fmt.Sprint("w", i)
		_, err := st.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"),
			Outbox: []flows.OutboxWrite{{Key: key, Engagement: fmt.Sprint("e", i%50), At: now, Writeback: flows.Writeback{Key: key}}}})
		require.NoError(t, err)
	}

	var mu sync.Mutex
	claimedBy := map[string]int{} // claims that returned each write
	var victims atomic.Int64      // outbox writes failed with their group
	var wg sync.WaitGroup
	for c := range committers {
		wg.Go(func() {
			for r := range rounds {
				step := []string{"step", "boom", "late"}[r%3]
				if step == "late" && c%2 == 1 { // rarer: it fails every write it shares a group with
					step = "step"
				}
				id := fmt.Sprintf("c%d-r%d", c, r)
				_, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"),
					Audit: []flows.AuditEvent{{At: now, SessionKey: id, Engagement: id, Step: step}}})
				audit, aerr := st.AuditByEngagement(ctx, id)
				if !assert.NoError(t, aerr) {
					return
				}
				if step == "step" && err == nil {
					assert.Len(t, audit, 1, id)
				} else {
					assert.ErrorIs(t, err, flows.ErrUnavailable, id)
					assert.Empty(t, audit, id)
				}
			}
		})
	}
	for range deliverers {
		wg.Go(func() {
			for idle := 0; ; {
				claimed, err := st.ClaimOutbox(ctx, now, time.Hour, 4)
				if errors.Is(err, flows.ErrUnavailable) { // a member of its group failed the COMMIT
					victims.Add(1)
					continue
				}
				if !assert.NoError(t, err) {
					return
				}
				if len(claimed) == 0 {
					left, err := st.ListOutbox(ctx, 0, 1)
					if !assert.NoError(t, err) || len(left) == 0 {
						return
					}
					if idle++; !assert.Less(t, idle, 10_000, "a write is never due again: %+v", left[0]) {
						return
					}
					time.Sleep(time.Millisecond) // the rest is claimed by others
					continue
				}
				idle = 0
				for _, e := range claimed {
					mu.Lock()
					claimedBy[e.Key]++
					mu.Unlock()
					stale := e.Claim()
					stale.Attempt++
					if err := st.Delivered(ctx, stale, now); !errors.Is(err, flows.ErrClaimLost) {
						assert.ErrorIs(t, err, flows.ErrUnavailable, e.Key)
						victims.Add(1)
					}
					for {
						err := st.Delivered(ctx, e.Claim(), now)
						if !errors.Is(err, flows.ErrUnavailable) {
							if !assert.NoError(t, err, e.Key) {
								return
							}
							break
						}
						victims.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d claims and settlements failed with their group", victims.Load())

	require.Len(t, claimedBy, queued)
	for key, n := range claimedBy {
		assert.Equal(t, 1, n, "%s claimed once", key)
	}
	left, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, left, "every write delivered")
}
