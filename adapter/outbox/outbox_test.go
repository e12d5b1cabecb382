package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// recorder is a flows.Recorder whose WriteOutcome answers with fail(w) and records what it
// took, in order.
type recorder struct {
	mu   sync.Mutex
	took []string
	fail func(w flows.Writeback) error
}

func (r *recorder) CreateLead(context.Context, string, flows.Lead) (flows.Ref, error) {
	return flows.Ref{}, errors.New("not used")
}

func (r *recorder) OpenEngagement(context.Context, string) (flows.OpenedEngagement, error) {
	return flows.OpenedEngagement{}, errors.New("not used")
}

func (r *recorder) WriteOutcome(_ context.Context, w flows.Writeback) error {
	if r.fail != nil {
		if err := r.fail(w); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.took = append(r.took, w.Key)
	return nil
}

func (r *recorder) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.took...)
}

// codedError is a CRM rejection with its code, as adapter/salesforce reports one.
type codedError struct{ code string }

func (e codedError) Error() string     { return "rejected: " + e.code }
func (e codedError) ErrorCode() string { return e.code }

// queue commits one write per key, for engagement ref.
func queue(t *testing.T, st *flowstest.Store, ref string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, err := st.Commit(t.Context(), flows.Commit{Session: k, Data: []byte("x"), Outbox: []flows.OutboxWrite{
			{Key: k, Engagement: ref, At: t0, Writeback: flows.Writeback{Key: k}}}})
		require.NoError(t, err)
	}
}

func listed(t *testing.T, st *flowstest.Store) map[string]flows.OutboxEntry {
	t.Helper()
	list, err := st.ListOutbox(t.Context(), 0, 0)
	require.NoError(t, err)
	out := map[string]flows.OutboxEntry{}
	for _, e := range list {
		out[e.Key] = e
	}
	return out
}

func TestWorkerDeliversInOrderAndSettlesEachFailure(t *testing.T) {
	st := &flowstest.Store{}
	queue(t, st, "call-a", "a1", "a2", "a3")
	queue(t, st, "call-b", "b1", "b2")
	queue(t, st, "call-c", "c1", "c2")
	now := t0
	rec := &recorder{fail: func(w flows.Writeback) error {
		switch w.Key {
		case "b1": // Salesforce over its daily limit: try again later
			return fmt.Errorf("daily limit: %w", codedUnavailable{"REQUEST_LIMIT_EXCEEDED"})
		case "c1": // rejected for good
			return codedError{"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
		}
		return nil
	}}
	w := &outbox.Worker{Outbox: st, Recorder: rec, Now: func() time.Time { return now }, MinBackoff: time.Minute, MaxBackoff: time.Hour}
	for range 10 {
		_, err := w.RunOnce(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"a1", "a2", "a3"}, filter(rec.keys(), "a1", "a2", "a3"), "in order")
	assert.Empty(t, filter(rec.keys(), "b1", "b2"), "b waits behind its deferred head")
	assert.Equal(t, []string{"c2"}, filter(rec.keys(), "c1", "c2"), "c's parked head holds up nothing")
	left := listed(t, st)
	require.Len(t, left, 3)
	assert.Equal(t, flows.OutboxPending, left["b1"].Status)
	assert.Equal(t, "REQUEST_LIMIT_EXCEEDED", left["b1"].Code)
	assert.True(t, !left["b1"].NextAttempt.Before(t0.Add(30*time.Second)) && !left["b1"].NextAttempt.After(t0.Add(time.Minute)),
		"first backoff within [min/2, min]: %v", left["b1"].NextAttempt)
	assert.Equal(t, flows.OutboxPending, left["b2"].Status, "b2 waits for b1")
	assert.Equal(t, flows.OutboxParked, left["c1"].Status)
	assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", left["c1"].Code)

	// Salesforce is back: b drains in order.
	rec.fail = nil
	now = now.Add(time.Hour)
	for range 4 {
		_, err := w.RunOnce(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"b1", "b2"}, filter(rec.keys(), "b1", "b2"))
	assert.Len(t, listed(t, st), 1, "only the parked write is left")
}

// codedUnavailable is a transient CRM failure with its code.
type codedUnavailable struct{ code string }

func (e codedUnavailable) Error() string        { return "unavailable: " + e.code }
func (e codedUnavailable) ErrorCode() string    { return e.code }
func (e codedUnavailable) Unwrap() error        { return flows.ErrUnavailable }
func (e codedUnavailable) Is(target error) bool { return target == flows.ErrUnavailable }

func filter(keys []string, want ...string) []string {
	var out []string
	for _, k := range keys {
		for _, w := range want {
			if k == w {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestBackoffIsExponentialCappedAndJittered(t *testing.T) {
	w := &outbox.Worker{MinBackoff: time.Second, MaxBackoff: time.Minute}
	for _, tt := range []struct {
		attempts int
		max      time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {100, time.Minute}} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := w.Backoff(tt.attempts)
			require.GreaterOrEqual(t, d, tt.max/2, "attempt %d", tt.attempts)
			require.LessOrEqual(t, d, tt.max, "attempt %d", tt.attempts)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 10, "jittered")
	}
}

func TestCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{codedError{"INVALID_FIELD"}, "INVALID_FIELD"},
		{fmt.Errorf("wrapped: %w", codedError{"DUPLICATE_VALUE"}), "DUPLICATE_VALUE"},
		{fmt.Errorf("down: %w", flows.ErrUnavailable), outbox.CodeUnavailable},
		{context.DeadlineExceeded, outbox.CodeTimeout},
		{fmt.Errorf("gone: %w", flows.ErrRecordNotFound), outbox.CodeNotFound},
		{errors.New("Jane Smith is not valid"), outbox.CodeRejected},
	} {
		assert.Equal(t, tt.want, outbox.Code(tt.err), "%v", tt.err)
	}
}

func TestRunStopsWithItsContextAndSettlesWhatItTook(t *testing.T) {
	st := &flowstest.Store{}
	queue(t, st, "call-a", "a1")
	ctx, cancel := context.WithCancel(t.Context())
	rec := &recorder{fail: func(flows.Writeback) error { cancel(); return nil }} // stopped mid-call
	w := &outbox.Worker{Outbox: st, Recorder: rec, Poll: time.Millisecond}
	require.ErrorIs(t, w.Run(ctx), context.Canceled)
	assert.Equal(t, []string{"a1"}, rec.keys())
	assert.Empty(t, listed(t, st), "the CRM took it: settled as delivered, not left to its lease")
}

// notifier is a flows.Notifier that answers with fail(e) and records the ids it took.
type notifier struct {
	mu   sync.Mutex
	took []string
	fail func(e flows.Event) error
}

func (n *notifier) Notify(_ context.Context, e flows.Event) error {
	if n.fail != nil {
		if err := n.fail(e); err != nil {
			return err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.took = append(n.took, e.ID)
	return nil
}

// Events go to the Notifier, write-backs to the Recorder; an event the Notifier cannot take
// for now waits and is sent again; without a Notifier events are parked, not lost.
func TestWorkerDeliversEvents(t *testing.T) {
	ctx := t.Context()
	st := &flowstest.Store{}
	event := func(id string) flows.OutboxWrite {
		return flows.OutboxWrite{Key: id, Engagement: "event/crm", At: t0,
			Event: &flows.Event{Type: flows.EventVerified, Subscriber: "crm", ID: id, At: t0}}
	}
	wb := flows.OutboxWrite{Key: "w1", Engagement: "call-1", At: t0, Writeback: flowstest.OutboxWrite(t0)}
	_, err := st.Commit(ctx, flows.Commit{Session: "s1", Data: []byte("x"), Outbox: []flows.OutboxWrite{wb, event("e1"), event("e2")}})
	require.NoError(t, err)

	rec := &recorder{}
	down := true
	n := &notifier{fail: func(flows.Event) error {
		if down {
			return fmt.Errorf("receiver: %w", flows.ErrUnavailable)
		}
		return nil
	}}
	now := t0
	w := &outbox.Worker{Outbox: st, Recorder: rec, Notifier: n, Now: func() time.Time { return now }}
	_, err = w.RunOnce(ctx)
	require.NoError(t, err)
	assert.Len(t, rec.keys(), 1, "the write-back went to the Recorder")
	assert.Empty(t, n.took)
	list, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "unavailable", list[0].Code, "rescheduled, e2 behind it")

	down = false
	now = now.Add(time.Hour)
	for range 3 {
		_, err = w.RunOnce(ctx)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"e1", "e2"}, n.took, "in order")

	_, err = st.Commit(ctx, flows.Commit{Session: "s2", Data: []byte("x"), Outbox: []flows.OutboxWrite{event("e3")}})
	require.NoError(t, err)
	w.Notifier = nil
	_, err = w.RunOnce(ctx)
	require.NoError(t, err)
	list, err = st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, flows.OutboxParked, list[0].Status)
	assert.Equal(t, outbox.CodeNoNotifier, list[0].Code)
}

// waitError is a transient CRM failure whose answer asked to wait (a Retry-After longer than
// sfdc waits itself), as adapter/salesforce's Error reports one.
type waitError struct{ wait time.Duration }

func (e waitError) Error() string             { return "unavailable, retry after " + e.wait.String() }
func (e waitError) Unwrap() error             { return flows.ErrUnavailable }
func (e waitError) RetryAfter() time.Duration { return e.wait }
func (e waitError) ErrorCode() string         { return "SERVER_UNAVAILABLE" }

// A write whose failure asked to wait is tried again no sooner than asked, and no later than
// MaxBackoff; a shorter Retry-After leaves the backoff as it is.
func TestRetryAfterIsHonoured(t *testing.T) {
	for _, tt := range []struct {
		name     string
		wait     time.Duration
		min, max time.Duration // of the next attempt, after t0
	}{
		{"longer than the backoff", 10 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{"longer than max_backoff", 5 * time.Hour, time.Hour, time.Hour},
		{"shorter than the backoff", time.Second, 30 * time.Second, time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &flowstest.Store{}
			queue(t, st, "call-a", "a1")
			rec := &recorder{fail: func(flows.Writeback) error { return fmt.Errorf("write: %w", waitError{tt.wait}) }}
			w := &outbox.Worker{Outbox: st, Recorder: rec, Now: func() time.Time { return t0 }, MinBackoff: time.Minute, MaxBackoff: time.Hour}
			_, err := w.RunOnce(t.Context())
			require.NoError(t, err)
			got := listed(t, st)["a1"]
			require.Equal(t, flows.OutboxPending, got.Status)
			next := got.NextAttempt.Sub(t0)
			assert.True(t, next >= tt.min && next <= tt.max, "next attempt after %v, want [%v, %v]", next, tt.min, tt.max)
		})
	}
}

// A write that fails for a transient reason on every attempt (a trigger answering 500) is
// parked once it was queued GiveUpAfter ago and was tried GiveUpAttempts times, with the code
// gave_up:<its code>: its engagement's next write is delivered then. Before, it waits.
func TestTransientFailureGivesUp(t *testing.T) {
	st := &flowstest.Store{}
	queue(t, st, "call-a", "a1", "a2")
	now := t0
	rec := &recorder{fail: func(w flows.Writeback) error {
		if w.Key == "a1" {
			return codedUnavailable{"SERVER_UNAVAILABLE"}
		}
		return nil
	}}
	w := &outbox.Worker{Outbox: st, Recorder: rec, Now: func() time.Time { return now }, MinBackoff: time.Minute, MaxBackoff: time.Hour,
		GiveUpAfter: 24 * time.Hour}
	attempt := func() {
		t.Helper()
		now = now.Add(time.Hour) // past any backoff
		_, err := w.RunOnce(t.Context())
		require.NoError(t, err)
	}
	for range outbox.GiveUpAttempts + 2 {
		attempt()
	}
	got := listed(t, st)["a1"]
	assert.Equal(t, flows.OutboxPending, got.Status, "not queued a day ago yet: still tried")
	assert.Equal(t, "SERVER_UNAVAILABLE", got.Code)
	assert.Empty(t, rec.keys(), "a2 waits behind a1")

	now = t0.Add(24*time.Hour - time.Hour) // the next attempt is a day after a1 was queued
	attempt()
	got = listed(t, st)["a1"]
	assert.Equal(t, flows.OutboxParked, got.Status)
	assert.Equal(t, outbox.CodeGaveUpPrefix+"SERVER_UNAVAILABLE", got.Code)
	attempt()
	assert.Equal(t, []string{"a2"}, rec.keys(), "the engagement's next write is no longer held up")

	t.Run("not before GiveUpAttempts", func(t *testing.T) {
		st := &flowstest.Store{}
		queue(t, st, "call-b", "b1")
		now = t0.Add(48 * time.Hour) // queued long ago (behind other writes), failing at its first attempt
		rec.fail = func(flows.Writeback) error { return codedUnavailable{"SERVER_UNAVAILABLE"} }
		w.Outbox = st
		_, err := w.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, flows.OutboxPending, listed(t, st)["b1"].Status)
	})
	t.Run("never when negative", func(t *testing.T) {
		st := &flowstest.Store{}
		queue(t, st, "call-c", "c1")
		w := &outbox.Worker{Outbox: st, Recorder: rec, Now: func() time.Time { return now }, MinBackoff: time.Minute, MaxBackoff: time.Hour,
			GiveUpAfter: -1}
		for range outbox.GiveUpAttempts + 2 {
			now = now.Add(48 * time.Hour)
			_, err := w.RunOnce(t.Context())
			require.NoError(t, err)
		}
		assert.Equal(t, flows.OutboxPending, listed(t, st)["c1"].Status)
	})
}
