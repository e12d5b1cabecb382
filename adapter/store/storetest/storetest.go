// Package storetest is the contract of a store.Store, as tests, which every driver runs from
// its own tests (as river's riverdrivertest): the flows ports' contracts from flowstest
// (sessions, the outbox, the audit and the hostile cases through two handles, as two replicas
// hold them) plus sweeping.
//
//	func TestContract(t *testing.T) {
//		storetest.Exercise(t, func(t *testing.T) (store.Store, store.Store) { return openTwice(t) })
//	}
package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Exercise runs the whole contract. open returns two handles on one new, empty database for
// each subtest (the second for the cases that need two replicas), closed by the test's cleanup.
func Exercise(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
	one := func(t *testing.T) flowstest.OutboxStore { a, _ := open(t); return a }
	t.Run("sessions", func(t *testing.T) {
		flowstest.TestSessionStore(t, func(t *testing.T) flows.SessionStore { return one(t) })
	})
	t.Run("outbox", func(t *testing.T) { flowstest.TestOutbox(t, one) })
	t.Run("audit", func(t *testing.T) { flowstest.TestAudit(t, one) })
	t.Run("replicas", func(t *testing.T) {
		flowstest.TestReplicas(t, func(t *testing.T) (flowstest.OutboxStore, flowstest.OutboxStore) { return open(t) })
	})
	t.Run("sweep", func(t *testing.T) { testSweep(t, func(t *testing.T) store.Store { a, _ := open(t); return a }) })
	t.Run("sweep with zero retention", func(t *testing.T) { a, _ := open(t); testSweepZeroRetention(t, a) })
	t.Run("idle sessions", func(t *testing.T) { a, _ := open(t); testIdleSessions(t, a) })
}

// A zero Retention (a caller that did not fill it in) keeps everything but expired marks: it
// must not delete every session and every failure, which would lift every lock.
func testSweepZeroRetention(t *testing.T, st store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const alice = "001000000000001AAA"
	_, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"),
		Failures: []flows.Failure{{Person: alice, Key: "f1", At: now.Add(-time.Hour)}},
		Marks: []flows.VerifiedMark{{VerifiedKey: flows.VerifiedKey{Engagement: "call-1", Person: alice, Role: flows.VerifiedSelf},
			At: now.Add(-time.Hour), Until: now.Add(time.Minute)}},
		Audit: []flows.AuditEvent{{At: now, SessionKey: "d", Engagement: "call-1", Step: "start", To: flows.StateReason}}})
	require.NoError(t, err)
	later := now.Add(24 * time.Hour)
	swept, err := st.Sweep(ctx, later, store.Retention{})
	require.NoError(t, err)
	assert.Equal(t, store.Swept{Marks: 1}, swept)
	_, _, err = st.Get(ctx, "s1")
	require.NoError(t, err, "the session is kept")
	f, err := st.Failures(ctx, alice, now.Add(-48*time.Hour))
	require.NoError(t, err)
	assert.Len(t, f, 1, "the failure is kept")
}

// testIdleSessions: IdleSessions lists the open sessions whose Expires is before now, those
// that expired first first, at most max; a session's last commit sets its Expires, and a
// commit without one (a session that ended) takes it off the list.
func testIdleSessions(t *testing.T, st store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	commit := func(id string, version uint64, expires time.Time) uint64 {
		v, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"), Version: version, Expires: expires})
		require.NoError(t, err)
		return v
	}
	a := commit("a", 0, now.Add(-time.Minute))
	commit("b", 0, now.Add(-2*time.Minute))
	commit("c", 0, now)                  // expires at now: not yet idle past it
	commit("d", 0, now.Add(time.Minute)) // still active
	commit("e", 0, time.Time{})          // ended
	ids, err := st.IdleSessions(ctx, now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a"}, ids)
	ids, err = st.IdleSessions(ctx, now, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, ids)

	a = commit("a", a, now.Add(time.Hour)) // a step came: active again
	commit("b", 1, time.Time{})            // expired: ended
	ids, err = st.IdleSessions(ctx, now.Add(time.Minute+time.Microsecond), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "d"}, ids)
}

func testSweep(t *testing.T, open func(t *testing.T) store.Store) {
	st, ctx := open(t), t.Context()
	// Sessions carry the store's own time of their last write: sweeping is relative to now.
	now := time.Now().UTC().Truncate(time.Microsecond)
	const alice = "001000000000001AAA"
	mark := func(eng string, until time.Time) flows.VerifiedMark {
		return flows.VerifiedMark{VerifiedKey: flows.VerifiedKey{Engagement: eng, Person: alice, Role: flows.VerifiedSelf},
			At: until.Add(-time.Hour), Until: until}
	}
	write := func(key string) flows.OutboxWrite {
		return flows.OutboxWrite{Key: key, Engagement: "call-" + key, At: now.Add(-48 * time.Hour),
			Writeback: flows.Writeback{Key: key, Topic: flows.Topic{Key: key + "/topic"}}}
	}
	audit := func(at time.Time) flows.AuditEvent {
		return flows.AuditEvent{At: at, SessionKey: "d", Engagement: "call-1", Step: "start", To: flows.StateReason}
	}
	_, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"),
		Failures: []flows.Failure{{Person: alice, Key: "old", At: now.Add(-40 * 24 * time.Hour)}, {Person: alice, Key: "new", At: now.Add(-time.Hour)}},
		Marks:    []flows.VerifiedMark{mark("call-1", now.Add(-time.Second)), mark("call-2", now.Add(time.Hour))},
		Outbox:   []flows.OutboxWrite{write("delivered"), write("pending"), write("parked")},
		Audit:    []flows.AuditEvent{audit(now.Add(-100 * 24 * time.Hour)), audit(now)}})
	require.NoError(t, err)
	_, err = st.ResetFailures(ctx, flows.Reset{Person: "003000000000001AAA", Actor: "a", Reason: "r", At: now.Add(-100 * 24 * time.Hour)})
	require.NoError(t, err)
	claimed, err := st.ClaimOutbox(ctx, now.Add(-47*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	require.NoError(t, st.Delivered(ctx, claimed[0].Claim(), now.Add(-47*time.Hour)))
	require.NoError(t, st.Park(ctx, claimed[2].Claim(), "REJECTED"))

	r := store.Retention{Sessions: 7 * 24 * time.Hour, Failures: 30 * 24 * time.Hour, Delivered: 24 * time.Hour}
	swept, err := st.Sweep(ctx, now, r)
	require.NoError(t, err)
	assert.Equal(t, store.Swept{Failures: 1, Marks: 1, Delivered: 1}, swept, "audit kept for ever by default")
	_, _, err = st.Get(ctx, "s1")
	require.NoError(t, err, "a session written just now is kept")
	f, err := st.Failures(ctx, alice, now.Add(-365*24*time.Hour))
	require.NoError(t, err)
	assert.Len(t, f, 1, "the failure within the retention is kept")
	_, ok, err := st.Verified(ctx, mark("call-2", now).VerifiedKey, now)
	require.NoError(t, err)
	assert.True(t, ok, "a mark still valid is kept")
	list, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, list, 2, "pending and parked writes are never swept")
	// The delivered write's key went with it, after its retention.
	_, err = st.Commit(ctx, flows.Commit{Session: "s2", Data: []byte("x"), Outbox: []flows.OutboxWrite{write("delivered")}})
	require.NoError(t, err)
	list, err = st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, list, 3)

	// Open sessions: one that expired idle long ago, one whose expiry is still within the
	// retention when the sweep runs.
	_, err = st.Commit(ctx, flows.Commit{Session: "open-old", Data: []byte("x"), Expires: now.Add(15 * time.Minute)})
	require.NoError(t, err)
	_, err = st.Commit(ctx, flows.Commit{Session: "open-new", Data: []byte("x"), Expires: now.Add(2 * 24 * time.Hour)})
	require.NoError(t, err)

	r.Audit = 90 * 24 * time.Hour
	swept, err = st.Sweep(ctx, now.Add(8*24*time.Hour), r)
	require.NoError(t, err)
	assert.Equal(t, int64(3), swept.Sessions, "ended, and open but idle, past their retention")
	_, _, err = st.Get(ctx, "open-old")
	require.ErrorIs(t, err, flows.ErrNotFound)
	_, _, err = st.Get(ctx, "open-new")
	require.NoError(t, err, "a session whose expiry is within the retention is kept")
	assert.Equal(t, int64(2), swept.Audit, "an event and a reset past the audit's retention")
	_, _, err = st.Get(ctx, "s1")
	require.ErrorIs(t, err, flows.ErrNotFound)
	events, err := st.AuditByEngagement(ctx, "call-1")
	require.NoError(t, err)
	assert.Len(t, events, 1)
}

// TestUnreadablePayload checks what a store does with a queued write whose payload it cannot
// read (written by an incompatible version, or damaged): corrupt(key) overwrites the stored
// payload of the write with that key, in the driver's own SQL. The write is listed, parked
// with store.CodeUnreadable by the claim that meets it, and holds up neither the writes
// claimed with it nor the later writes of its engagement; an operator can discard it.
func TestUnreadablePayload(t *testing.T, st store.Store, corrupt func(t *testing.T, key string)) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var writes []flows.OutboxWrite
	for _, k := range []string{"a1", "a2", "b1"} {
		writes = append(writes, flows.OutboxWrite{Key: k, Engagement: "call-" + k[:1], At: now,
			Writeback: flows.Writeback{Key: k, Topic: flows.Topic{Key: k + "/topic"}}})
	}
	_, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Outbox: writes})
	require.NoError(t, err)
	corrupt(t, "a1")

	list, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err, "an unreadable write does not hide the others from the operator")
	require.Len(t, list, 3)

	claimed, err := st.ClaimOutbox(ctx, now, time.Minute, 10)
	require.NoError(t, err, "an unreadable write does not fail the claim")
	require.Len(t, claimed, 1)
	assert.Equal(t, "b1", claimed[0].Key, "the readable head claimed with it is handed out")

	list, err = st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, "a1", list[0].Key)
	assert.Equal(t, flows.OutboxParked, list[0].Status, "parked at once")
	assert.Equal(t, store.CodeUnreadable, list[0].Code)

	claimed, err = st.ClaimOutbox(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, "a2", claimed[0].Key, "the engagement's next write is not held up")
	require.NoError(t, st.DiscardParked(ctx, list[0].ID))
}
