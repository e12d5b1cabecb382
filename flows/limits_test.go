package flows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// Tests that pin limits a one-character change would break.

// TestUnlockTimeIsWhenTheCountDropsBelowTheLimit: with more failures in the window than the
// limit (the limit was lowered, or failures arrived while it was higher), the lock lifts when
// the failure that brings the count below the limit leaves the window: neither the oldest nor
// the newest.
func TestUnlockTimeIsWhenTheCountDropsBelowTheLimit(t *testing.T) {
	p := demoPolicy() // 3 failures within 30 minutes lock
	p.Session.IdleTimeout = time.Hour
	h := newHarness(t, p)
	h.clock.Advance(time.Hour)
	now := h.clock.Now()
	at := []time.Time{now.Add(-20 * time.Minute), now.Add(-15 * time.Minute), now.Add(-10 * time.Minute), now.Add(-5 * time.Minute)}
	_, err := h.store.Commit(h.ctx, flows.Commit{Session: "earlier", Data: []byte("x"), Failures: []flows.Failure{
		{Person: janeID, Key: "a", At: at[0]}, {Person: janeID, Key: "b", At: at[1]},
		{Person: janeID, Key: "c", At: at[2]}, {Person: janeID, Key: "d", At: at[3]}}})
	require.NoError(t, err)

	v := run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"))
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	var locked *flows.LockedError
	require.ErrorAs(t, err, &locked)
	assert.Equal(t, at[1].Add(30*time.Minute), locked.Until, "when the second oldest leaves, two remain")

	h.clock.Advance(15*time.Minute - time.Second)
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrLocked)
	h.clock.Advance(time.Second)
	v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	assert.Equal(t, flows.StateQuestions, v.State)
}

// TestTooFewOptionalCountsTowardTheLock: a level failed because too few optional answers can
// still be right was failed by wrong answers, which count like any other.
func TestTooFewOptionalCountsTowardTheLock(t *testing.T) {
	p := demoPolicy()
	p.Lockout.MaxFailures = 1
	h := newHarness(t, p)
	v := run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"))
	v, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf, SearchType: "customer"})
	require.NoError(t, err)
	// The customer search type has one optional question and needs it right.
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{{Field: "PersonMailingPostalCode", Value: "N1 1AA"}}})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeLocked, v.Outcome)
	assert.Equal(t, flows.CauseTooFewOptional, v.Cause)
	assert.Len(t, h.failures(t, janeID), 1)
}

// TestAnswerMACComparedOnAllBytes: the stored keyed hash of an expected value is compared on
// all 32 bytes: one flipped bit anywhere makes the right answer wrong.
func TestAnswerMACComparedOnAllBytes(t *testing.T) {
	for i := range 32 {
		h := newHarness(t, demoPolicy())
		v := atQuestions(t, h)
		data, version, err := h.store.Get(h.ctx, v.Session)
		require.NoError(t, err)
		tampered, err := flows.FlipMACByte(data, 0, i) // question 0: Name
		require.NoError(t, err)
		_, err = h.store.Commit(h.ctx, flows.Commit{Session: v.Session, Data: tampered, Version: version})
		require.NoError(t, err)
		v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers[:1]})
		require.NoError(t, err)
		require.Equal(t, flows.OutcomeFailed, v.Outcome, "byte %d", i)
		require.Equal(t, flows.VerdictIncorrect, v.Questions[0].Verdict, "byte %d", i)
	}
}
