package flows_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// countingStore counts the session reads that reach the store.
type countingStore struct {
	*flowstest.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

// A step naming the version the engine committed runs on what it committed, without reading
// the store; a read, and a step without a version, still read it.
func TestStepsRunOnTheSessionTheyCommitted(t *testing.T) {
	var cs *countingStore
	h := newHarnessWith(t, demoPolicy(), func(s *flowstest.Store) flows.SessionStore {
		cs = &countingStore{Store: s}
		return cs
	})
	v := run(t, h, flows.StartRequest{Phone: noPhone})
	v, err := h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
	require.NoError(t, err)
	v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	assert.Zero(t, cs.gets.Load(), "steps on the versions the engine committed")

	_, err = h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.EqualValues(t, 1, cs.gets.Load(), "a read reads the store")
	_, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: "person", Query: flows.Query{Keywords: "Smith"}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, cs.gets.Load(), "a step without a version reads the store")
}

// Two replicas on one store: a step that one replica runs on a session the other has changed
// since fails as a stale version, however sure the first replica's cache is, and changes
// nothing; the version the other committed is then served by the first too.
func TestReplicaStepsOnACachedSession(t *testing.T) {
	h := newHarness(t, demoPolicy())
	other, err := flows.New(demoPolicy(), flows.Ports{CRM: h.crm, Recorder: h.crm, Store: h.store, Clock: h.clock}, secret)
	require.NoError(t, err)

	v1 := run(t, h, flows.StartRequest{Phone: noPhone}) // h's engine caches version 1
	v2, err := other.SetReason(h.ctx, flows.ReasonRequest{Session: v1.Session, Version: v1.Version, Reason: "Change of address"})
	require.NoError(t, err)

	before := h.store.Raw(v1.Session)
	_, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v1.Session, Version: v1.Version, Reason: "Opening hours"})
	var conflict *flows.VersionConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, v2.Version, conflict.Current, "the store's version, not the cache's")
	assert.Equal(t, before, h.store.Raw(v1.Session))

	v3, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v1.Session, Version: v2.Version, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	assert.Greater(t, v3.Version, v2.Version)
	// And the other way round: the other replica's cache (version 2) is stale now.
	_, err = other.SetSubject(h.ctx, flows.SubjectRequest{Session: v1.Session, Version: v2.Version, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
}

// A session that another process ended (a sweep elsewhere) is found ended by the next step,
// not run on as cached.
func TestCachedSessionEndedElsewhere(t *testing.T) {
	h := newHarness(t, demoPolicy())
	other, err := flows.New(demoPolicy(), flows.Ports{CRM: h.crm, Recorder: h.crm, Store: h.store, Clock: h.clock}, secret)
	require.NoError(t, err)
	v := run(t, h, flows.StartRequest{Phone: noPhone})
	_, err = other.Cancel(h.ctx, flows.CancelRequest{Session: v.Session, Version: v.Version})
	require.NoError(t, err)

	_, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeCancelled, got.Outcome)
}

// A step naming a version another replica has moved on from fails as it did before the
// engine kept what it committed: a stale version (with the store's version and state), or
// no such session once the store has deleted it; never the error the step would have met on
// the stale copy (a reason unknown, a step out of order) nor the state it would have left.
func TestStaleStepsOnACachedSessionFailAsBefore(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deleted bool // the store deleted the session (a sweep), rather than a replica moving it on
		step    func(h *harness, e *flows.Engine, v flows.View) error
		kind    error
	}{
		{"a valid step", false, func(h *harness, e *flows.Engine, v flows.View) error {
			_, err := e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session, Version: v.Version})
			return err
		}, flows.ErrVersionConflict},
		{"an unknown reason", false, func(h *harness, e *flows.Engine, v flows.View) error {
			_, err := e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "no such reason"})
			return err
		}, flows.ErrVersionConflict},
		{"a step out of order on the stale copy", false, func(h *harness, e *flows.Engine, v flows.View) error {
			_, err := e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
			return err
		}, flows.ErrVersionConflict},
		{"deleted, a valid step", true, func(h *harness, e *flows.Engine, v flows.View) error {
			_, err := e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session, Version: v.Version})
			return err
		}, flows.ErrNotFound},
		{"deleted, an unknown reason", true, func(h *harness, e *flows.Engine, v flows.View) error {
			_, err := e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "no such reason"})
			return err
		}, flows.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			other, err := flows.New(demoPolicy(), flows.Ports{CRM: h.crm, Recorder: h.crm, Store: h.store, Clock: h.clock}, secret)
			require.NoError(t, err)
			v1 := run(t, h, flows.StartRequest{Phone: noPhone}) // h's engine caches version 1
			var v2 flows.View
			if tc.deleted {
				h.store.Delete(v1.Session)
			} else {
				v2, err = other.SetReason(h.ctx, flows.ReasonRequest{Session: v1.Session, Version: v1.Version, Reason: "Change of address"})
				require.NoError(t, err)
			}
			before := h.store.Raw(v1.Session)

			err = tc.step(h, h.e, v1)
			require.ErrorIs(t, err, tc.kind)
			assert.Equal(t, before, h.store.Raw(v1.Session), "nothing stored")
			if tc.deleted {
				return
			}
			var conflict *flows.VersionConflictError
			require.ErrorAs(t, err, &conflict)
			assert.Equal(t, v2.Version, conflict.Current)
			assert.Equal(t, flows.StateSubject, conflict.State, "the stored session's state")
		})
	}
}
