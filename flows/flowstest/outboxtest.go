package flowstest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// OutboxStore is a store with every side the engine and the outbox worker use: sessions,
// the outbox and the audit log.
type OutboxStore interface {
	flows.SessionStore
	flows.Outbox
	flows.AuditLog
}

// OutboxWrite returns a write-back of every field a verified self verification writes, at at,
// for benchmarks and tests of outbox workers.
func OutboxWrite(at time.Time) flows.Writeback {
	return sampleWriteback("bench/writeback", "call-bench", at)
}

// sampleWriteback returns a write-back of every field, for engagement ref, keyed by key.
func sampleWriteback(key, ref string, at time.Time) flows.Writeback {
	jane := flows.Ref{Object: "Account", ID: "001000000000001AAA"}
	return flows.Writeback{Key: key, Outcome: flows.OutcomeVerified,
		Engagement: flows.EngagementUpdate{ExternalID: ref, Type: flows.EngagementTypeInbound, Channel: "Voice Call",
			Start: at.Add(-time.Minute), Authenticated: true, Reason: "Change of address", Verified: true, VerifiedAt: at,
			Initiating: jane, Status: flows.EngagementStatusProgress},
		Attendees: []flows.Attendee{{Key: key + "/attendee", Person: jane, Role: flows.RoleSelf, Verified: true,
			VerifiedAt: at, Start: at.Add(-time.Minute)}},
		Topic: flows.Topic{Key: key + "/topic", Name: "Change of address", RelatedPerson: jane, ProcessStatus: flows.ProcessCompleted}}
}

// utcEntries returns the entries with their times in UTC, so that they compare equal to what
// was written whatever location the store returns times in.
func utcEntries(es []flows.OutboxEntry) []flows.OutboxEntry {
	for i := range es {
		e := &es[i]
		e.At, e.NextAttempt = e.At.UTC(), e.NextAttempt.UTC()
		w := &e.Writeback
		w.Engagement.Start, w.Engagement.VerifiedAt = w.Engagement.Start.UTC(), w.Engagement.VerifiedAt.UTC()
		for j := range w.Attendees {
			w.Attendees[j].Start, w.Attendees[j].VerifiedAt = w.Attendees[j].Start.UTC(), w.Attendees[j].VerifiedAt.UTC()
		}
	}
	return es
}

// TestOutbox is the contract of flows.Outbox and of Commit's Outbox, as tests: every store
// runs it, with newStore returning an empty store for each subtest. Times are whole
// microseconds in UTC, as in TestSessionStore.
func TestOutbox(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const lease = time.Minute
	// queue commits a new session id with one write for engagement ref, due at at.
	queue := func(t *testing.T, st OutboxStore, id, ref string, at time.Time) flows.OutboxWrite {
		t.Helper()
		w := flows.OutboxWrite{Key: id + "/writeback", Engagement: ref, At: at, Writeback: sampleWriteback(id+"/writeback", ref, at)}
		_, err := st.Commit(t.Context(), flows.Commit{Session: id, Data: []byte("x"), Outbox: []flows.OutboxWrite{w}})
		require.NoError(t, err)
		return w
	}
	claim := func(t *testing.T, st OutboxStore, now time.Time, max int) []flows.OutboxEntry {
		t.Helper()
		es, err := st.ClaimOutbox(t.Context(), now, lease, max)
		require.NoError(t, err)
		return utcEntries(es)
	}
	keys := func(es []flows.OutboxEntry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Key
		}
		return out
	}

	t.Run("a commit queues its writes, which come back whole", func(t *testing.T) {
		st := newStore(t)
		w := queue(t, st, "s1", "call-1", t0)
		got := claim(t, st, t0, 10)
		require.Len(t, got, 1)
		assert.NotZero(t, got[0].ID)
		assert.Equal(t, w, got[0].OutboxWrite)
		assert.Equal(t, flows.OutboxClaimed, got[0].Status)
		assert.Equal(t, 1, got[0].Attempts)
		assert.Equal(t, t0.Add(lease), got[0].NextAttempt, "the lease ends")
	})

	t.Run("an event comes back whole, and a reset queues its events", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		ev := &flows.Event{Type: flows.EventLocked, Subscriber: "crm", ID: "s1/event/crm", At: t0, Session: "s1",
			Engagement: "call-1", Outcome: flows.OutcomeLocked, Cause: flows.CauseNone,
			People:      []flows.EventPerson{{Record: flows.Ref{Object: "Account", ID: "001000000000001AAA"}, Role: flows.VerifiedSelf}},
			LockedUntil: t0.Add(time.Hour)}
		w := flows.OutboxWrite{Key: ev.ID, Engagement: "event/crm", At: t0, Event: ev}
		_, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Outbox: []flows.OutboxWrite{w}})
		require.NoError(t, err)
		unlocked := &flows.Event{Type: flows.EventUnlocked, Subscriber: "crm", ID: "reset/1", At: t0.Add(time.Minute),
			Actor: "ops", People: []flows.EventPerson{{Record: flows.Ref{ID: "001000000000001AAA"}}}}
		r, err := st.ResetFailures(ctx, flows.Reset{Person: "001000000000001AAA", Actor: "ops", Reason: "r", At: t0.Add(time.Minute),
			Outbox: []flows.OutboxWrite{{Key: unlocked.ID, Engagement: "event/crm", At: unlocked.At, Event: unlocked}}})
		require.NoError(t, err)
		assert.Zero(t, r.Cleared)
		resets, err := st.Resets(ctx, "001000000000001AAA")
		require.NoError(t, err)
		require.Len(t, resets, 1)
		assert.Empty(t, resets[0].Outbox, "the audit keeps no outbox")

		got := claim(t, st, t0.Add(time.Hour), 10)
		require.Len(t, got, 1, "one queue: the second waits for the first")
		e := got[0].Event
		require.NotNil(t, e)
		e.At, e.LockedUntil = e.At.UTC(), e.LockedUntil.UTC()
		assert.Equal(t, *ev, *e)
		assert.Zero(t, got[0].Writeback.Key)
		require.NoError(t, st.Delivered(ctx, got[0].Claim(), t0.Add(time.Hour)))
		got = claim(t, st, t0.Add(time.Hour), 10)
		require.Len(t, got, 1)
		require.NotNil(t, got[0].Event)
		assert.Equal(t, flows.EventUnlocked, got[0].Event.Type)
		assert.Equal(t, "ops", got[0].Event.Actor)
	})

	t.Run("a failed commit queues nothing; a key is queued once", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		v, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x")})
		require.NoError(t, err)
		w := flows.OutboxWrite{Key: "k1", Engagement: "call-1", At: t0, Writeback: sampleWriteback("k1", "call-1", t0)}
		_, err = st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("y"), Version: v + 1, Outbox: []flows.OutboxWrite{w}})
		require.ErrorIs(t, err, flows.ErrVersionConflict)
		_, err = st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("y"), Version: v, Outbox: []flows.OutboxWrite{w},
			Guard: flows.Guard{Person: "001000000000001AAA", Since: t0, Failures: 1}})
		require.ErrorIs(t, err, flows.ErrFailuresChanged)
		list, err := st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, list)
		// The same key twice, in one commit and in another: queued once.
		_, err = st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("y"), Version: v, Outbox: []flows.OutboxWrite{w, w}})
		require.NoError(t, err)
		_, err = st.Commit(ctx, flows.Commit{Session: "s2", Data: []byte("y"), Outbox: []flows.OutboxWrite{w}})
		require.NoError(t, err)
		list, err = st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		assert.Len(t, list, 1)
		// Delivered, the key is still held.
		got := claim(t, st, t0, 10)
		require.Len(t, got, 1)
		require.NoError(t, st.Delivered(ctx, got[0].Claim(), t0))
		_, err = st.Commit(ctx, flows.Commit{Session: "s3", Data: []byte("y"), Outbox: []flows.OutboxWrite{w}})
		require.NoError(t, err)
		assert.Empty(t, claim(t, st, t0.Add(time.Hour), 10), "a delivered write is not queued again")
	})

	t.Run("due writes, oldest first, one at a time per engagement", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		queue(t, st, "a1", "call-a", t0)
		queue(t, st, "b1", "call-b", t0.Add(time.Second))
		queue(t, st, "a2", "call-a", t0.Add(2*time.Second))
		queue(t, st, "c1", "call-c", t0.Add(time.Hour)) // not due yet
		assert.Empty(t, claim(t, st, t0.Add(-time.Second), 10), "nothing is due before its time")
		got := claim(t, st, t0.Add(time.Minute), 10)
		assert.Equal(t, []string{"a1/writeback", "b1/writeback"}, keys(got), "a2 waits for a1")
		assert.Empty(t, claim(t, st, t0.Add(time.Minute), 10), "claimed writes are held while their leases hold")
		require.NoError(t, st.Delivered(ctx, got[0].Claim(), t0.Add(time.Minute)))
		got2 := claim(t, st, t0.Add(time.Minute), 10)
		assert.Equal(t, []string{"a2/writeback"}, keys(got2), "once a1 is delivered")
		require.NoError(t, st.Delivered(ctx, got[1].Claim(), t0.Add(time.Minute)))
		require.NoError(t, st.Delivered(ctx, got2[0].Claim(), t0.Add(time.Minute)))
		assert.Equal(t, []string{"c1/writeback"}, keys(claim(t, st, t0.Add(time.Hour), 10)))
		// max bounds a claim.
		queue(t, st, "d1", "call-d", t0)
		queue(t, st, "e1", "call-e", t0)
		assert.Len(t, claim(t, st, t0.Add(2*time.Hour), 1), 1)
	})

	t.Run("a lease that ends lets another worker claim; the old claim is lost", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		queue(t, st, "a1", "call-a", t0)
		first := claim(t, st, t0, 10)
		require.Len(t, first, 1)
		assert.Empty(t, claim(t, st, t0.Add(lease-time.Microsecond), 10), "the lease holds")
		second := claim(t, st, t0.Add(lease), 10)
		require.Len(t, second, 1, "the lease ended: the worker stopped")
		assert.Equal(t, 2, second[0].Attempts)
		for name, settle := range map[string]func(flows.OutboxClaim) error{
			"delivered":  func(c flows.OutboxClaim) error { return st.Delivered(ctx, c, t0) },
			"reschedule": func(c flows.OutboxClaim) error { return st.Reschedule(ctx, c, "unavailable", t0) },
			"park":       func(c flows.OutboxClaim) error { return st.Park(ctx, c, "rejected") },
		} {
			require.ErrorIs(t, settle(first[0].Claim()), flows.ErrClaimLost, name)
		}
		require.NoError(t, st.Delivered(ctx, second[0].Claim(), t0.Add(lease)))
		require.ErrorIs(t, st.Delivered(ctx, second[0].Claim(), t0.Add(lease)), flows.ErrClaimLost, "settled once")
		require.ErrorIs(t, st.Park(ctx, flows.OutboxClaim{ID: 987654, Attempt: 1}, "x"), flows.ErrClaimLost, "no such write")
	})

	t.Run("a rescheduled write keeps its place and its code", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		queue(t, st, "a1", "call-a", t0)
		queue(t, st, "a2", "call-a", t0)
		got := claim(t, st, t0, 10)
		require.Len(t, got, 1)
		require.NoError(t, st.Reschedule(ctx, got[0].Claim(), "REQUEST_LIMIT_EXCEEDED", t0.Add(10*time.Minute)))
		assert.Empty(t, claim(t, st, t0.Add(5*time.Minute), 10), "a1 is not due and a2 waits for it")
		list, err := st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		list = utcEntries(list)
		require.Len(t, list, 2)
		assert.Equal(t, flows.OutboxPending, list[0].Status)
		assert.Equal(t, "REQUEST_LIMIT_EXCEEDED", list[0].Code)
		assert.Equal(t, 1, list[0].Attempts)
		assert.Equal(t, t0.Add(10*time.Minute), list[0].NextAttempt)
		again := claim(t, st, t0.Add(10*time.Minute), 10)
		assert.Equal(t, []string{"a1/writeback"}, keys(again))
		assert.Equal(t, 2, again[0].Attempts)
	})

	t.Run("a parked write holds up nobody and waits for an operator", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		queue(t, st, "a1", "call-a", t0)
		queue(t, st, "a2", "call-a", t0)
		got := claim(t, st, t0, 10)
		require.NoError(t, st.Park(ctx, got[0].Claim(), "FIELD_CUSTOM_VALIDATION_EXCEPTION"))
		next := claim(t, st, t0, 10)
		assert.Equal(t, []string{"a2/writeback"}, keys(next), "the next write of the engagement goes on")
		require.NoError(t, st.Delivered(ctx, next[0].Claim(), t0))
		assert.Empty(t, claim(t, st, t0.Add(24*time.Hour), 10), "a parked write is never retried by itself")

		list, err := st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		require.Len(t, list, 1, "delivered writes are not listed")
		parked := list[0]
		assert.Equal(t, flows.OutboxParked, parked.Status)
		assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", parked.Code)
		assert.Equal(t, "a1/writeback", parked.Key)
		after, err := st.ListOutbox(ctx, parked.ID, 0)
		require.NoError(t, err)
		assert.Empty(t, after, "paged by id")

		require.NoError(t, st.RetryParked(ctx, parked.ID, t0.Add(time.Hour)))
		require.ErrorIs(t, st.RetryParked(ctx, parked.ID, t0), flows.ErrNotFound, "no longer parked")
		retried := claim(t, st, t0.Add(time.Hour), 10)
		require.Len(t, retried, 1)
		assert.Equal(t, 2, retried[0].Attempts)
		require.NoError(t, st.Park(ctx, retried[0].Claim(), "FIELD_CUSTOM_VALIDATION_EXCEPTION"))
		require.NoError(t, st.DiscardParked(ctx, parked.ID))
		require.ErrorIs(t, st.DiscardParked(ctx, parked.ID), flows.ErrNotFound)
		list, err = st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, list)
		// Neither applies to a write that is not parked.
		queue(t, st, "b1", "call-b", t0)
		list, err = st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.ErrorIs(t, st.DiscardParked(ctx, list[0].ID), flows.ErrNotFound, "a pending write is not discarded")
		require.ErrorIs(t, st.RetryParked(ctx, list[0].ID, t0), flows.ErrNotFound)
	})

	t.Run("concurrent workers deliver each write once, in order per engagement", func(t *testing.T) {
		st := newStore(t)
		const engagements, writes, workers = 8, 6, 6
		for i := range writes {
			for e := range engagements {
				queue(t, st, fmt.Sprintf("e%d-w%d", e, i), fmt.Sprint("call-", e), t0)
			}
		}
		delivered := drain(t, t0, []OutboxStore{st}, workers, 3)
		require.Len(t, delivered, engagements)
		for e := range engagements {
			want := make([]string, writes)
			for i := range want {
				want[i] = fmt.Sprintf("e%d-w%d/writeback", e, i)
			}
			assert.Equal(t, want, delivered[fmt.Sprint("call-", e)], "each once, in order")
		}
	})
}

// TestAudit is the contract of Commit's Audit and of flows.AuditLog, as tests.
func TestAudit(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const alice = "001000000000001AAA"
	ev := func(at time.Time, eng, person, step string) flows.AuditEvent {
		return flows.AuditEvent{At: at, SessionKey: "digest-" + step, Engagement: eng, Actor: "agent-7", Step: step,
			From: flows.StateQuestions, To: flows.StateDone, Outcome: flows.OutcomeFailed, Person: person,
			Rule: "PersonBirthdate:date=incorrect required_incorrect", Failures: 1}
	}
	utc := func(es []flows.AuditEvent) []flows.AuditEvent {
		for i := range es {
			es[i].At = es[i].At.UTC()
		}
		return es
	}
	t.Run("events are kept with their commit, listed by engagement and by person", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		e1, e2, e3 := ev(t0, "call-1", alice, "answer"), ev(t0.Add(time.Second), "call-1", "", "reason"), ev(t0.Add(2*time.Second), "call-2", alice, "select")
		v, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Audit: []flows.AuditEvent{e1}})
		require.NoError(t, err)
		_, err = st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Version: v, Audit: []flows.AuditEvent{e2}})
		require.NoError(t, err)
		_, err = st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Version: v, Audit: []flows.AuditEvent{ev(t0, "call-9", alice, "lost")}})
		require.ErrorIs(t, err, flows.ErrVersionConflict)
		_, err = st.Commit(ctx, flows.Commit{Session: "s2", Data: []byte("x"), Audit: []flows.AuditEvent{e3}})
		require.NoError(t, err)

		byEng, err := st.AuditByEngagement(ctx, "call-1")
		require.NoError(t, err)
		assert.Equal(t, []flows.AuditEvent{e1, e2}, utc(byEng))
		byPerson, err := st.AuditByPerson(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, []flows.AuditEvent{e1, e3}, utc(byPerson), "a failed commit keeps no event")
		none, err := st.AuditByEngagement(ctx, "call-9")
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}

// TestReplicas runs the hostile cases of the store contract on two handles on one database,
// as two replicas would hold them (open returns them; an in-memory store passes itself twice):
// many goroutines on one person through both, the same failure key twice at once, a stale
// version, commits racing ResetFailures, and outbox workers on both.
func TestReplicas(t *testing.T, open func(t *testing.T) (OutboxStore, OutboxStore)) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const alice = "001000000000001AAA"
	since := t0.Add(-30 * time.Minute)

	t.Run("guarded commits on one person through two replicas never pass the limit", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		const sessions, max = 16, 4
		var counted atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range sessions {
			st := []OutboxStore{a, b}[i%2]
			id := fmt.Sprint("s", i)
			v, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x")})
			require.NoError(t, err)
			wg.Go(func() {
				<-start
				for attempt := 0; ; attempt++ {
					f, err := st.Failures(ctx, alice, since)
					if err != nil {
						t.Error(err)
						return
					}
					if len(f) >= max {
						return
					}
					next, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"), Version: v,
						Guard:    flows.Guard{Person: alice, Since: since, Failures: len(f)},
						Failures: []flows.Failure{{Person: alice, Key: fmt.Sprint(id, "/", attempt), At: t0}}})
					switch {
					case errors.Is(err, flows.ErrFailuresChanged):
						continue
					case err != nil:
						t.Error(err)
						return
					}
					counted.Add(1)
					v = next
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(max), counted.Load())
		f, err := a.Failures(ctx, alice, since)
		require.NoError(t, err)
		assert.Len(t, f, max)
	})

	t.Run("the same failure key twice at once counts once", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		for round := range 8 {
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, st := range []OutboxStore{a, b} {
				id := fmt.Sprint("r", round, "-", i)
				wg.Go(func() {
					<-start
					_, err := st.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"),
						Failures: []flows.Failure{{Person: alice, Key: fmt.Sprint("same-", round), At: t0}}})
					assert.NoError(t, err)
				})
			}
			close(start)
			wg.Wait()
		}
		f, err := b.Failures(ctx, alice, since)
		require.NoError(t, err)
		assert.Len(t, f, 8, "one per key")
	})

	t.Run("a stale version through the other replica conflicts and changes nothing", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		v1, err := a.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("v1")})
		require.NoError(t, err)
		_, err = b.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("v2"), Version: v1})
		require.NoError(t, err)
		w := flows.OutboxWrite{Key: "k", Engagement: "call-1", At: t0, Writeback: sampleWriteback("k", "call-1", t0)}
		_, err = a.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("stale"), Version: v1, Outbox: []flows.OutboxWrite{w},
			Failures: []flows.Failure{{Person: alice, Key: "f", At: t0}}})
		require.ErrorIs(t, err, flows.ErrVersionConflict)
		data, _, err := a.Get(ctx, "s1")
		require.NoError(t, err)
		assert.Equal(t, "v2", string(data))
		f, err := a.Failures(ctx, alice, since)
		require.NoError(t, err)
		assert.Empty(t, f)
		list, err := b.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, list)
	})

	t.Run("commits racing a reset: a guard read before the reset fails after it", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		for round := range 12 {
			person := fmt.Sprintf("0010000000%05dAAA", round)
			id := fmt.Sprint("s", round)
			v, err := a.Commit(ctx, flows.Commit{Session: id, Data: []byte("x"),
				Failures: []flows.Failure{{Person: person, Key: id + "/0", At: t0}}})
			require.NoError(t, err)
			var commitErr error
			var reset flows.Reset
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Go(func() {
				<-start
				_, commitErr = a.Commit(ctx, flows.Commit{Session: id, Data: []byte("y"), Version: v,
					Guard:    flows.Guard{Person: person, Since: since, Failures: 1},
					Failures: []flows.Failure{{Person: person, Key: id + "/1", At: t0}}})
			})
			wg.Go(func() {
				<-start
				var err error
				reset, err = b.ResetFailures(ctx, flows.Reset{Person: person, Actor: "admin", Reason: "r", At: t0})
				assert.NoError(t, err)
			})
			close(start)
			wg.Wait()
			f, err := a.Failures(ctx, person, since)
			require.NoError(t, err)
			switch {
			case commitErr == nil: // the commit went first: the reset cleared both
				assert.Equal(t, 2, reset.Cleared, "round %d", round)
				assert.Empty(t, f, "round %d", round)
			case errors.Is(commitErr, flows.ErrFailuresChanged): // the reset went first
				assert.Equal(t, 1, reset.Cleared, "round %d", round)
				assert.Empty(t, f, "round %d", round)
			default:
				t.Fatalf("round %d: %v", round, commitErr)
			}
		}
	})

	t.Run("workers on both replicas deliver each write once, in order", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		const engagements, writes = 6, 5
		for i := range writes {
			for e := range engagements {
				key := fmt.Sprintf("e%d-w%d", e, i)
				ref := fmt.Sprint("call-", e)
				_, err := a.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{
					{Key: key, Engagement: ref, At: t0, Writeback: sampleWriteback(key, ref, t0)}}})
				require.NoError(t, err)
			}
		}
		delivered := drain(t, t0, []OutboxStore{a, b}, 4, 2)
		for e := range engagements {
			got := delivered[fmt.Sprint("call-", e)]
			assert.Len(t, got, writes, "each once")
			assert.True(t, slices.IsSorted(got), "in order: %v", got)
		}
	})
}

// drain runs workers goroutines (taking turns over stores) that claim up to max writes due at
// now and mark them delivered, until three claims in a row find nothing; it fails the test when
// a write is claimed while an earlier write of its engagement is, or a claim is lost (no lease
// ends: the lease is an hour), and returns the keys each engagement received, in order.
func drain(t *testing.T, now time.Time, stores []OutboxStore, workers, max int) map[string][]string {
	ctx := t.Context()
	var mu sync.Mutex
	delivered := map[string][]string{}
	inFlight := map[string]bool{} // engagements with a write claimed and not yet settled
	var wg sync.WaitGroup
	for w := range workers {
		st := stores[w%len(stores)]
		wg.Go(func() {
			for idle := 0; idle < 3; {
				got, err := st.ClaimOutbox(ctx, now, time.Hour, max)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				idle = 0
				mu.Lock()
				for _, e := range got {
					if inFlight[e.Engagement] {
						t.Errorf("%s claimed while an earlier write of its engagement is claimed", e.Key)
					}
					inFlight[e.Engagement] = true
				}
				mu.Unlock()
				for _, e := range got {
					mu.Lock()
					delivered[e.Engagement] = append(delivered[e.Engagement], e.Key)
					inFlight[e.Engagement] = false // before Delivered: the next claim may come at once
					mu.Unlock()
					if err := st.Delivered(ctx, e.Claim(), now); err != nil {
						t.Errorf("%s: %v", e.Key, err)
					}
				}
			}
		})
	}
	wg.Wait()
	return delivered
}
