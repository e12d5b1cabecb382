package flows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Tests of the process's loose ends: an unidentified person, the start time of an in-person
// engagement, "doesn't know", a new Lead, idempotency keys and named port failures.

func TestNotIdentified(t *testing.T) {
	const conf = "Change of address"
	t.Run("the representative", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := run(t, h, flows.StartRequest{Phone: noPhone}, reason(conf), subject(flows.SubjectOther),
			searchFields("representative", map[string]string{"LastName": "Nobody"}))
		assert.Empty(t, v.Results, "no match")
		v, err := h.e.NotIdentified(h.ctx, flows.NotIdentifiedRequest{Session: v.Session, Version: v.Version})
		require.NoError(t, err)
		assert.Equal(t, flows.OutcomeNotIdentified, v.Outcome)
		assert.Empty(t, v.Verified)
		assert.Empty(t, v.Open)
		w := h.writebacks(t)
		require.Len(t, w, 1)
		assert.Equal(t, flows.Writeback{Outcome: flows.OutcomeNotIdentified,
			Engagement: flows.EngagementUpdate{ExternalID: v.Engagement, Type: flows.EngagementTypeInbound, Start: t0,
				Reason: conf, Status: flows.EngagementStatusProgress},
			Topic: flows.Topic{Name: conf, ProcessStatus: flows.ProcessFailed}}, w[0],
			"the engagement says so; no attendee is verified")
	})
	t.Run("the customer, after the representative was verified", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := run(t, h, flows.StartRequest{Phone: noPhone}, reason(conf), subject(flows.SubjectOther),
			searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...),
			search("", "Jane"), notIdentified())
		assert.Equal(t, flows.OutcomeNotIdentified, v.Outcome)
		assert.Equal(t, []flows.Ref{robert}, v.Verified)
		assert.Empty(t, v.Open, "nobody to open: the customer was not found")
		w := h.written(t)[0]
		assert.True(t, w.Engagement.Verified, "the representative was verified")
		assert.Equal(t, flows.ProcessFailed, w.Topic.ProcessStatus)
		assert.Empty(t, h.failures(t, janeID), "nothing counted")
	})
	t.Run("not once the person is found", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := atQuestions(t, h)
		_, err := h.e.NotIdentified(h.ctx, flows.NotIdentifiedRequest{Session: v.Session})
		require.ErrorIs(t, err, flows.ErrOutOfOrder)
	})
}

func TestStartTime(t *testing.T) {
	tests := []struct {
		name  string
		req   flows.StartRequest
		start time.Time // zero: refused
	}{
		{"none: now", flows.StartRequest{Attendee: jane}, t0},
		{"an hour ago, in person", flows.StartRequest{Attendee: jane, Channel: "In Person", StartTime: t0.Add(-time.Hour)}, t0.Add(-time.Hour)},
		{"a new customer", flows.StartRequest{Lead: &flows.Lead{LastName: "Newman", Company: "N"}, StartTime: t0.Add(-time.Minute)}, t0.Add(-time.Minute)},
		{"the agent's clock a little ahead", flows.StartRequest{Attendee: jane, StartTime: t0.Add(flows.MaxStartSkew)}, t0.Add(flows.MaxStartSkew)},
		{"in the future", flows.StartRequest{Attendee: jane, StartTime: t0.Add(flows.MaxStartSkew + time.Second)}, time.Time{}},
		{"tomorrow", flows.StartRequest{Attendee: jane, StartTime: t0.Add(24 * time.Hour)}, time.Time{}},
		{"more than a day ago", flows.StartRequest{Attendee: jane, StartTime: t0.Add(-flows.MaxStartAge - time.Second)}, time.Time{}},
		{"when attaching", flows.StartRequest{Engagement: "0ZJ000000000001GAA", StartTime: t0}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			v, err := h.e.Start(h.ctx, tt.req)
			if tt.start.IsZero() {
				require.ErrorIs(t, err, flows.ErrInvalidInput)
				assert.Empty(t, h.crm.Leads())
				return
			}
			require.NoError(t, err)
			v, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
			require.NoError(t, err)
			eng, ok := h.crm.Engagement(h.engagementID(t, v.Engagement))
			require.True(t, ok)
			assert.Equal(t, tt.start, eng.Start, "the engagement's start")
			if w := h.written(t)[0]; len(w.Attendees) > 0 {
				assert.Equal(t, tt.start, w.Attendees[0].Start, "the attendee's start")
			}
			assert.Equal(t, t0, v.Updated, "idle time runs from the engine's clock")
		})
	}
}

func TestDontKnow(t *testing.T) {
	t.Run("check mode: a wrong answer", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := atQuestions(t, h)
		v, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{janeAnswers[0],
			{Field: "PersonBirthdate", DontKnow: true}}})
		require.NoError(t, err)
		assert.Equal(t, flows.OutcomeFailed, v.Outcome)
		assert.Equal(t, flows.CauseRequiredIncorrect, v.Cause)
		assert.Equal(t, flows.VerdictIncorrect, v.Questions[1].Verdict)
		assert.Len(t, h.failures(t, janeID), 1)
	})
	t.Run("attest mode: a wrong answer", func(t *testing.T) {
		h := newHarness(t, func() flows.Policy { p := demoPolicy(); attestPolicy(&p); return p }())
		v := atQuestions(t, h)
		v, err := h.e.Attest(h.ctx, flows.AttestRequest{Session: v.Session, Attestations: []flows.Attestation{{Field: "Name", DontKnow: true}}})
		require.NoError(t, err)
		assert.Equal(t, flows.OutcomeFailed, v.Outcome)
		assert.Len(t, h.failures(t, janeID), 1)
	})
	t.Run("not with a value, nor correct", func(t *testing.T) {
		h := newHarness(t, func() flows.Policy { p := demoPolicy(); attestPolicy(&p); return p }())
		v := atQuestions(t, h)
		before := h.store.Raw(v.Session)
		_, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{
			{Field: "PersonMailingPostalCode", Value: "SW1A 1AA", DontKnow: true}}})
		require.ErrorIs(t, err, flows.ErrInvalidInput)
		_, err = h.e.Attest(h.ctx, flows.AttestRequest{Session: v.Session, Attestations: []flows.Attestation{
			{Field: "Name", Correct: true, DontKnow: true}}})
		require.ErrorIs(t, err, flows.ErrInvalidInput)
		assert.Equal(t, before, h.store.Raw(v.Session))
		assert.Empty(t, h.failures(t, janeID))
	})
}

// TestStartKey: a Start repeated with the same key (its answer was lost) creates no second Lead
// and opens the same engagement.
func TestStartKey(t *testing.T) {
	h := newHarness(t, demoPolicy())
	req := flows.StartRequest{Lead: &flows.Lead{LastName: "Newman", Company: "Newman Ltd"}, Key: "req-42", Channel: "In Person"}
	v1, err := h.e.Start(h.ctx, req)
	require.NoError(t, err)
	v2, err := h.e.Start(h.ctx, req)
	require.NoError(t, err)
	assert.Len(t, h.crm.Leads(), 1)
	assert.Equal(t, v1.Initiating, v2.Initiating)
	assert.Equal(t, v1.Engagement, v2.Engagement)
	v3, err := h.e.Start(h.ctx, flows.StartRequest{Lead: req.Lead, Key: "req-43"})
	require.NoError(t, err)
	assert.NotEqual(t, v1.Engagement, v3.Engagement)
	assert.Len(t, h.crm.Leads(), 2)
}

// failingStore fails Commit and Failures once fail is set, as a store that went away would.
type failingStore struct {
	*flowstest.Store
	fail bool
}

var errStoreDown = errors.New("store down")

func (f *failingStore) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	if f.fail {
		return 0, errStoreDown
	}
	return f.Store.Commit(ctx, c)
}

func (f *failingStore) Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error) {
	if f.fail {
		return nil, errStoreDown
	}
	return f.Store.Failures(ctx, person, since)
}

// TestPortFailuresAreNamed: every port failure a step returns is a StepError of one named kind
// (ErrRecordNotFound, ErrInvalidInput or ErrUnavailable), with
// the port's error behind it, and changes nothing.
func TestPortFailuresAreNamed(t *testing.T) {
	down := errors.New("crm down")
	tests := []struct {
		name  string
		steps []step
		fail  func(h *harness, fs *failingStore)
		last  step
		kind  error
		cause error
	}{
		{"the CRM fails a search", []step{reason("Change of address"), subject(flows.SubjectSelf)},
			func(h *harness, _ *failingStore) { h.crm.Fail = down }, search("person", "Jane"), flows.ErrUnavailable, down},
		{"the CRM's call is cancelled", []step{reason("Change of address"), subject(flows.SubjectSelf)},
			func(h *harness, _ *failingStore) { h.crm.Fail = context.Canceled }, search("person", "Jane"), flows.ErrUnavailable, context.Canceled},
		{"the CRM refuses the search text", []step{reason("Change of address"), subject(flows.SubjectSelf)},
			func(h *harness, _ *failingStore) {
				h.crm.Fail = fmt.Errorf("no searchable word: %w", flows.ErrInvalidInput)
			},
			search("person", "Jane"), flows.ErrInvalidInput, flows.ErrInvalidInput},
		{"the selected record was deleted", []step{reason("Change of address"), subject(flows.SubjectSelf), search("person", "Jane")},
			func(h *harness, _ *failingStore) { h.crm.Delete(janeID) }, pick(janeID), flows.ErrRecordNotFound, flows.ErrRecordNotFound},
		{"the store fails a commit", []step{reason("Change of address")},
			func(_ *harness, fs *failingStore) { fs.fail = true }, subject(flows.SubjectSelf), flows.ErrUnavailable, errStoreDown},
		{"the store fails the lockout read", []step{reason("Change of address"), subject(flows.SubjectSelf), search("person", "Jane")},
			func(_ *harness, fs *failingStore) { fs.fail = true }, pick(janeID), flows.ErrUnavailable, errStoreDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &failingStore{}
			h := newHarnessWith(t, demoPolicy(), func(s *flowstest.Store) flows.SessionStore { fs.Store = s; return fs })
			v := run(t, h, flows.StartRequest{Phone: noPhone}, tt.steps...)
			before := h.store.Raw(v.Session)
			tt.fail(h, fs)
			_, err := tt.last(h, v)
			var se *flows.StepError
			require.ErrorAs(t, err, &se)
			require.ErrorIs(t, err, tt.kind)
			require.ErrorIs(t, err, tt.cause, "the port's error is behind the kind")
			for _, other := range allKinds {
				if other != tt.kind && other != tt.cause {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.Equal(t, before, h.store.Raw(v.Session), "a port failure changes nothing")
		})
	}

	t.Run("attaching to an engagement that does not exist", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		_, err := h.e.Start(h.ctx, flows.StartRequest{Engagement: "0ZJ000000000999GAA"})
		var se *flows.StepError
		require.ErrorAs(t, err, &se, "a bad record id is the caller's mistake, not an internal error")
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
	})

	t.Run("a CRM that is down does not fail the step that ends a session", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := run(t, h, flows.StartRequest{Phone: noPhone})
		h.crm.Fail = fmt.Errorf("crm down: %w", flows.ErrUnavailable)
		got, err := h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
		require.NoError(t, err, "the write waits in the outbox")
		assert.Equal(t, flows.OutcomeCancelled, got.Outcome)
		_, err = flowstest.Deliver(h.ctx, h.store, h.crm, h.clock.Now())
		require.ErrorIs(t, err, flows.ErrUnavailable)
		h.crm.Fail = nil
		h.clock.Advance(time.Minute)
		require.Len(t, h.written(t), 1, "delivered once the CRM is back")
	})
}

// allKinds are the error kinds a step may return.
var allKinds = []error{flows.ErrOutOfOrder, flows.ErrUnknownReason, flows.ErrUnknownSearchType,
	flows.ErrNotInResults, flows.ErrNotAsked, flows.ErrAlreadyAnswered, flows.ErrInvalidInput,
	flows.ErrFinished, flows.ErrLocked, flows.ErrExpired, flows.ErrNotFound, flows.ErrVersionConflict,
	flows.ErrRecordNotFound, flows.ErrUnavailable}

// TestWritebackRowKeys: each row of a write-back has its own idempotency key, the same when the
// write is rebuilt to be sent again, another for another session's rows.
func TestWritebackRowKeys(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v1 := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-1"}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...), cancel())
	v2 := run(t, h, flows.StartRequest{Engagement: h.engagementID(t, v1.Engagement)}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), cancel())
	sent := h.written(t)
	require.Len(t, sent, 2)
	for i, v := range []flows.View{v1, v2} {
		again, err := h.e.Writeback(h.ctx, v.Session)
		require.NoError(t, err)
		assert.Equal(t, sent[i], again, "rebuilt with the same keys")
		require.Len(t, again.Attendees, 1)
		assert.NotEqual(t, again.Topic.Key, again.Attendees[0].Key)
	}
	assert.NotEqual(t, sent[0].Topic.Key, sent[1].Topic.Key)
	assert.NotEqual(t, sent[0].Attendees[0].Key, sent[1].Attendees[0].Key, "same person, another session")
	assert.NotEqual(t, sent[0].Key, sent[1].Key)
	for i, w := range sent {
		for _, k := range []string{w.Key, w.Topic.Key, w.Attendees[0].Key} {
			assert.NotContains(t, k, []flows.View{v1, v2}[i].Session, "no session id in a key")
		}
	}
	h.writebacks(t) // set, distinct
}

// TestSessionIDStaysOutOfTheCRM: a Start without a key of the caller's opens its engagement
// under a key derived from the session, not under the session id itself: the id is a handle
// that lets its holder drive the session, and the engagement's ExternalIdentifier is readable
// by anyone who can read the engagement in the CRM.
func TestSessionIDStaysOutOfTheCRM(t *testing.T) {
	h := newHarness(t, demoPolicy())
	for _, req := range []flows.StartRequest{
		{Phone: noPhone},
		{Attendee: jane},
		{Lead: &flows.Lead{LastName: "Newman", Company: "Newman Ltd"}},
	} {
		v, err := h.e.Start(h.ctx, req)
		require.NoError(t, err)
		// The engagement's ExternalIdentifier, which the write-back upserts it by.
		assert.NotEmpty(t, v.Engagement)
		assert.NotContains(t, v.Engagement, v.Session)
		v, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session, Version: v.Version})
		require.NoError(t, err)
		id := h.engagementID(t, v.Engagement)
		eng, ok := h.crm.Engagement(id)
		require.True(t, ok)
		assert.Equal(t, v.Engagement, eng.ExternalID)
		for _, key := range h.crm.LeadKeys() {
			assert.NotContains(t, key, v.Session)
		}
	}
}

// TestPolicyChangedUnderASession: sessions outlive the policy they started under (they are
// stored; replicas restart with a new configuration). A representative who passes after their
// search type was removed reaches the customer level, which says its search type is gone,
// instead of crashing the engine; the agent cancels.
func TestPolicyChangedUnderASession(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID))
	require.Equal(t, flows.StateQuestions, v.State)

	p := demoPolicy()
	p.SearchTypes = slices.DeleteFunc(p.SearchTypes, func(st flows.SearchType) bool { return st.Name == "representative" })
	e, err := flows.New(p, flows.Ports{CRM: h.crm, Recorder: h.crm, Store: h.store, Clock: h.clock}, secret)
	require.NoError(t, err)
	v, err = e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: robertAnswers})
	require.NoError(t, err)
	assert.Equal(t, []flows.Ref{robert}, v.Verified)
	assert.Equal(t, flows.LevelCustomer, v.Level)
	_, err = e.Search(h.ctx, flows.SearchRequest{Session: v.Session, Query: flows.Query{Keywords: "Jane"}})
	require.ErrorIs(t, err, flows.ErrUnknownSearchType)
	v, err = e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeCancelled, v.Outcome)
}
