package flows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Tests of attempt accounting: the unit is one wrong answer, counted against the person when
// it is given, committed atomically with the session, and refused by the store's guard when
// other sessions changed the person's failures in between.

// judged reports whether any question of v has been judged (its verdict shown or withheld).
func judged(v flows.View) bool {
	for _, q := range v.Questions {
		if q.Verdict != flows.VerdictPending {
			return true
		}
	}
	return false
}

// TestParallelSessionsNeverPassTheLimit opens many sessions on one person up to the questions,
// then has every one guess wrong at once: only max_failures guesses are ever judged, the rest
// end locked unjudged, and a right answer afterwards verifies nobody.
func TestParallelSessionsNeverPassTheLimit(t *testing.T) {
	allRight := answer(janeAnswers...)
	guesses := []struct {
		name         string
		policy       func(*flows.Policy)
		guess, right step
	}{
		{"a wrong required answer", nil, answer(flows.Answer{Field: "Name", Value: "John Doe"}), allRight},
		{"a wrong optional answer, the level still open", nil, answer(flows.Answer{Field: "Phone", Value: "01632 960000"}), allRight},
		{"the caller doesn't know", nil, answer(flows.Answer{Field: "PersonBirthdate", DontKnow: true}), allRight},
		{"an agent's incorrect", attestPolicy, attest(flows.Attestation{Field: "Phone", Correct: false}),
			attest(flows.Attestation{Field: "Name", Correct: true}, flows.Attestation{Field: "PersonBirthdate", Correct: true},
				flows.Attestation{Field: "Phone", Correct: true})},
	}
	for _, g := range guesses {
		t.Run(g.name, func(t *testing.T) {
			p := demoPolicy()
			if g.policy != nil {
				g.policy(&p)
			}
			h := newHarness(t, p)
			const sessions = 24
			views := make([]flows.View, sessions)
			for i := range views {
				views[i] = atQuestions(t, h)
			}
			late := atQuestions(t, h) // opened before any guess, answered after them all

			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range views {
				wg.Go(func() {
					<-start
					v, err := g.guess(h, views[i])
					if err != nil {
						t.Errorf("session %d: %v", i, err)
					}
					views[i] = v
				})
			}
			close(start)
			wg.Wait()

			n := 0
			for _, v := range views {
				if judged(v) {
					n++
					continue
				}
				assert.Equal(t, flows.OutcomeLocked, v.Outcome, "a session whose guess was not judged ended locked")
				assert.Equal(t, t0.Add(30*time.Minute), v.LockedUntil)
			}
			assert.Equal(t, 3, n, "guesses judged")
			assert.Len(t, h.failures(t, janeID), 3, "failures counted")

			v, err := g.right(h, late)
			require.NoError(t, err)
			assert.Equal(t, flows.OutcomeLocked, v.Outcome)
			assert.Empty(t, v.Verified, "a locked person is verified by no session")
			assert.False(t, judged(v), "a locked person's answers are not judged")
		})
	}
}

// TestSequentialSessionsNeverPassTheLimit is the same one session after the other: the guess
// of the fourth session opened before the lock is refused.
func TestSequentialSessionsNeverPassTheLimit(t *testing.T) {
	h := newHarness(t, demoPolicy())
	views := make([]flows.View, 12)
	for i := range views {
		views[i] = atQuestions(t, h)
	}
	for i, v := range views {
		got, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session,
			Answers: []flows.Answer{{Field: "PersonMailingPostalCode", Value: "N1 1AA"}}})
		require.NoError(t, err)
		if i < 2 {
			assert.Equal(t, flows.StateQuestions, got.State, "session %d: the level is still open", i)
		} else {
			assert.Equal(t, flows.OutcomeLocked, got.Outcome, "session %d", i)
		}
	}
	assert.Len(t, h.failures(t, janeID), 3, "twelve guesses at the postal code, three accepted")
}

// racingStore lets another replica's step win the race for the next commit of a session that
// exists: it stores the session again (same data, new version) just before the engine's
// commit reaches the store.
type racingStore struct {
	*flowstest.Store
	armed atomic.Bool
}

func (r *racingStore) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	if c.Version != 0 && r.armed.CompareAndSwap(true, false) {
		data, v, err := r.Store.Get(ctx, c.Session)
		if err != nil {
			return 0, err
		}
		if _, err := r.Store.Commit(ctx, flows.Commit{Session: c.Session, Data: data, Version: v}); err != nil {
			return 0, err
		}
	}
	return r.Store.Commit(ctx, c)
}

func TestALostVersionRaceLeavesNoSideEffect(t *testing.T) {
	race := &racingStore{}
	h := newHarnessWith(t, demoPolicy(), func(s *flowstest.Store) flows.SessionStore { race.Store = s; return race })
	key := func(v flows.View) flows.VerifiedKey {
		return flows.VerifiedKey{Engagement: v.Engagement, Person: janeID, Role: flows.VerifiedSelf}
	}

	// Right answers whose commit loses: no verified mark, so no transfer can reuse one.
	v := atQuestions(t, h)
	race.armed.Store(true)
	_, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
	_, marked, err := h.store.Verified(h.ctx, key(v), h.clock.Now())
	require.NoError(t, err)
	assert.False(t, marked, "the step lost: no verified mark")
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.StateQuestions, got.State)
	assert.False(t, judged(got))
	// A transfer on the same call (its engagement is not in the CRM yet: the call id names it).
	v2 := run(t, h, flows.StartRequest{Attendee: jane, ExternalID: v.Engagement}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.StateQuestions, v2.State, "a transfer is asked the questions")

	// A wrong answer whose commit loses: no failure.
	race.armed.Store(true)
	_, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{{Field: "Name", Value: "John Doe"}}})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
	assert.Empty(t, h.failures(t, janeID), "the step lost: no failure")

	// The same step again, with no race, takes effect.
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeVerified, v.Outcome)
	mark, marked, err := h.store.Verified(h.ctx, key(v), h.clock.Now())
	require.NoError(t, err)
	require.True(t, marked)
	assert.Equal(t, t0, mark.At)
	assert.Equal(t, t0.Add(time.Hour), mark.Until)
}

// barrierStore holds the first n reads of any session until all n have arrived, so that n
// concurrent steps certainly read the same version.
type barrierStore struct {
	*flowstest.Store
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func (b *barrierStore) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	data, v, err := b.Store.Get(ctx, id)
	if i := b.arrived.Add(1); i > 0 && i <= b.n {
		if i == b.n {
			close(b.all)
		}
		select {
		case <-b.all:
		case <-time.After(10 * time.Second):
			return nil, 0, errors.New("barrier: not every step arrived")
		}
	}
	return data, v, err
}

// TestIdenticalAnswersCountOnce sends one wrong answer eight times at once (a double click,
// an HTTP retry): it counts one failure.
func TestIdenticalAnswersCountOnce(t *testing.T) {
	const copies = 8
	barrier := &barrierStore{n: copies, all: make(chan struct{})}
	h := newHarnessWith(t, demoPolicy(), func(s *flowstest.Store) flows.SessionStore { barrier.Store = s; return barrier })
	barrier.arrived.Store(-1 << 20) // not yet: the setup's reads pass
	v := atQuestions(t, h)
	barrier.arrived.Store(0)

	wrong := flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{{Field: "PersonBirthdate", Value: "1/1/1990"}}}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for range copies {
		wg.Go(func() {
			_, err := h.e.Answer(h.ctx, wrong)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, flows.ErrVersionConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, int32(copies-1), conflicts.Load())
	assert.Len(t, h.failures(t, janeID), 1, "one mistake, one failure")

	_, err := h.e.Answer(h.ctx, wrong)
	require.ErrorIs(t, err, flows.ErrFinished, "a late copy")
	assert.Len(t, h.failures(t, janeID), 1)
}

// TestVerifiedMarkIsForItsRole: a customer verified through their representative is not
// thereby verified as a caller about themself on the same engagement, and a transfer reuses a
// mark for its own role only.
func TestVerifiedMarkIsForItsRole(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-1"}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...),
		search("", "Jane"), pick(janeID), answer(janeAsCustomer...))
	require.Equal(t, []flows.Ref{robert, jane}, v.Verified)

	for _, tt := range []struct {
		person string
		role   flows.VerifiedRole
		want   bool
	}{
		{robertID, flows.VerifiedRepresentative, true},
		{janeID, flows.VerifiedCustomer, true},
		{janeID, flows.VerifiedSelf, false},
		{robertID, flows.VerifiedSelf, false},
	} {
		mark, ok, err := h.store.Verified(h.ctx, flows.VerifiedKey{Engagement: v.Engagement, Person: tt.person, Role: tt.role}, t0)
		require.NoError(t, err)
		assert.Equal(t, tt.want, ok, "%s as %s", tt.person, tt.role)
		if ok {
			assert.Equal(t, tt.role.Level(), map[flows.VerifiedRole]flows.Level{flows.VerifiedRepresentative: flows.LevelCaller,
				flows.VerifiedCustomer: flows.LevelCustomer}[tt.role])
			assert.Equal(t, t0, mark.At)
			assert.Equal(t, t0.Add(time.Hour), mark.Until)
		}
	}

	// Someone on the same engagement says they are Jane, calling about themself: questions.
	self := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-1"}, reason("Change of address"), subject(flows.SubjectSelf),
		search("person", "Jane"), pick(janeID))
	assert.Equal(t, flows.StateQuestions, self.State, "verified as a customer is not verified as the caller")
	assert.Empty(t, self.Verified)

	// The representative's call transferred: both marks are reused, for the same roles, and
	// not extended.
	h.clock.Advance(30 * time.Minute)
	again := run(t, h, flows.StartRequest{Engagement: h.engagementID(t, v.Engagement)}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), search("", "Jane"), pick(janeID))
	assert.Equal(t, flows.OutcomeVerified, again.Outcome)
	assert.Equal(t, []flows.Ref{robert, jane}, again.Verified)
	w, err := h.e.Writeback(h.ctx, again.Session)
	require.NoError(t, err)
	assert.Equal(t, t0, w.Engagement.VerifiedAt, "verified when the questions were answered")
	mark, ok, err := h.store.Verified(h.ctx, flows.VerifiedKey{Engagement: v.Engagement, Person: janeID, Role: flows.VerifiedCustomer}, h.clock.Now())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Hour), mark.Until, "reusing a mark does not extend it")
}

// TestVerdictsWithheldUntilDecided: with verdicts on_decision the agent sees "answered" until
// the level is decided, so no single answer can be tried for free.
func TestVerdictsWithheldUntilDecided(t *testing.T) {
	verdicts := func(v flows.View) []flows.Verdict {
		out := make([]flows.Verdict, len(v.Questions))
		for i, q := range v.Questions {
			out[i] = q.Verdict
			if q.Verdict == flows.VerdictAnswered {
				assert.Empty(t, q.Rule, "a withheld verdict names no rule either")
			}
		}
		return out
	}
	const (
		pending  = flows.VerdictPending
		answered = flows.VerdictAnswered
		right    = flows.VerdictCorrect
		wrong    = flows.VerdictIncorrect
	)
	h := newHarness(t, demoPolicy())
	v := atQuestions(t, h)
	v, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{{Field: "Phone", Value: "01632 960000"}}})
	require.NoError(t, err)
	assert.Equal(t, []flows.Verdict{pending, pending, answered, pending}, verdicts(v), "a wrong answer")
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers[:1]})
	require.NoError(t, err)
	assert.Equal(t, []flows.Verdict{answered, pending, answered, pending}, verdicts(v), "a right answer")
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, verdicts(v), verdicts(got))
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{{Field: "PersonBirthdate", Value: "1/1/1990"}}})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeFailed, v.Outcome)
	assert.Equal(t, []flows.Verdict{right, wrong, wrong, pending}, verdicts(v), "decided: every verdict")

	// Cancelled before the level was decided: withheld for good.
	v = atQuestions(t, h)
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers[:1]})
	require.NoError(t, err)
	v, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	require.NoError(t, err)
	assert.Equal(t, []flows.Verdict{answered, pending, pending, pending}, verdicts(v))

	// verdicts: immediate shows each verdict at once.
	p := demoPolicy()
	p.Verdicts = flows.VerdictsImmediate
	h = newHarness(t, p)
	v = atQuestions(t, h)
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{janeAnswers[0], {Field: "Phone", Value: "01632 960000"}}})
	require.NoError(t, err)
	assert.Equal(t, []flows.Verdict{right, pending, wrong, pending}, verdicts(v))
}

// TestAbandonedLevelsCount: wrong answers count when they are given, so cancelling, expiring
// or retrying a level leaves them counted.
func TestAbandonedLevelsCount(t *testing.T) {
	p := demoPolicy()
	p.Session.MaxRetries = 1
	p.Lockout.MaxFailures = 10
	h := newHarness(t, p)
	wrongPhone := answer(flows.Answer{Field: "Phone", Value: "01632 960000"})

	v := atQuestions(t, h)
	_, err := wrongPhone(h, v)
	require.NoError(t, err)
	_, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	require.NoError(t, err)
	assert.Len(t, h.failures(t, janeID), 1, "cancelled")

	v = atQuestions(t, h)
	_, err = wrongPhone(h, v)
	require.NoError(t, err)
	h.clock.Advance(11 * time.Minute)
	v, err = h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	require.Equal(t, flows.OutcomeExpired, v.Outcome)
	assert.Len(t, h.failures(t, janeID), 2, "expired")

	v = atQuestions(t, h)
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{
		{Field: "Phone", Value: "01632 960000"}, {Field: "PersonMailingPostalCode", Value: "N1 1AA"}}})
	require.NoError(t, err)
	require.Equal(t, flows.StateSearch, v.State, "retried")
	assert.Len(t, h.failures(t, janeID), 4, "both wrong optional answers of the retried level")
}

func TestResetFailuresIsAudited(t *testing.T) {
	h := newHarness(t, demoPolicy())
	for range 3 {
		_, err := answer(flows.Answer{Field: "Name", Value: "John Doe"})(h, atQuestions(t, h))
		require.NoError(t, err)
	}
	v := run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"))
	_, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrLocked)

	for _, bad := range []flows.ResetRequest{
		{Person: "001' OR 1=1", Actor: "admin", Reason: "r"},
		{Person: janeID, Reason: "r"},
		{Person: janeID, Actor: "admin"},
	} {
		_, err := h.e.ResetFailures(h.ctx, bad)
		require.ErrorIs(t, err, flows.ErrInvalidInput)
	}
	assert.Len(t, h.failures(t, janeID), 3, "a refused reset changes nothing")

	h.clock.Advance(time.Minute)
	r, err := h.e.ResetFailures(h.ctx, flows.ResetRequest{Person: janeID, Actor: "admin@example.com", Reason: "identified in branch"})
	require.NoError(t, err)
	want := flows.Reset{Person: janeID, Actor: "admin@example.com", Reason: "identified in branch", At: t0.Add(time.Minute), Cleared: 3}
	assert.Equal(t, want, r)
	audit, err := h.store.Resets(h.ctx, janeID)
	require.NoError(t, err)
	assert.Equal(t, []flows.Reset{want}, audit)
	v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	assert.Equal(t, flows.StateQuestions, v.State, "unlocked at once")
}

// TestOneCounterPerPerson: Salesforce takes a record's id in its 15-character, case-sensitive
// form (what its UI shows in a record's URL) as well as its 18-character, case-safe form in any
// case (what its API returns), so a named attendee may be the same person as a search result
// under another spelling of the id. Every spelling counts against one person: naming the
// person differently buys no more guesses, and an admin's reset by any spelling unlocks them.
// Object Reference, Field Types, "ID Field Type":
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/field_types.htm
func TestOneCounterPerPerson(t *testing.T) {
	p := demoPolicy()
	p.Lockout.MaxFailures = 1
	h := newHarness(t, p)
	// One wrong answer, with Jane found by a search (the CRM's 18-character id), locks her.
	v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf),
		search("person", "Jane"), pick(janeID), answer(flows.Answer{Field: "Name", Value: "John Doe"}))
	require.Equal(t, flows.OutcomeLocked, v.Outcome)

	jane15 := janeID[:15]
	for _, id := range []string{jane15, strings.ToLower(janeID)} {
		v := run(t, h, flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: id}}, reason("Change of address"))
		_, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
		require.ErrorIs(t, err, flows.ErrLocked, "Jane named as %s", id)
	}

	r, err := h.e.ResetFailures(h.ctx, flows.ResetRequest{Person: jane15, Actor: "admin", Reason: "identified in branch"})
	require.NoError(t, err)
	assert.Equal(t, janeID, r.Person, "the audit names the person by the id the CRM uses")
	assert.Equal(t, 1, r.Cleared)
	v = run(t, h, flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: jane15}}, reason("Change of address"),
		subject(flows.SubjectSelf))
	assert.Equal(t, flows.StateQuestions, v.State, "unlocked")
	assert.Equal(t, jane, v.Record, "the person by the id the CRM uses")

	// An 18-character id whose suffix says a digit is upper case is no id.
	_, err = h.e.Start(h.ctx, flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: jane15 + "BAA"}})
	require.ErrorIs(t, err, flows.ErrInvalidInput)
}

// TestVerdictsWithheldWhenLockedUndecided: a session that ends locked before its level is
// decided keeps every verdict withheld, the right answers' too: the lock is no decision.
func TestVerdictsWithheldWhenLockedUndecided(t *testing.T) {
	h := newHarness(t, demoPolicy()) // 3 failures lock
	for range 2 {
		_, err := answer(flows.Answer{Field: "Name", Value: "John Doe"})(h, atQuestions(t, h))
		require.NoError(t, err)
	}
	v := atQuestions(t, h)
	// A right required answer, then a wrong optional one that is the third failure: the level
	// is not decided (the birth date and the postal code are still open), the person is locked.
	v, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{janeAnswers[0],
		{Field: "Phone", Value: "01632 960000"}}})
	require.NoError(t, err)
	require.Equal(t, flows.OutcomeLocked, v.Outcome)
	require.Equal(t, flows.CauseNone, v.Cause)
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	for _, view := range []flows.View{v, got} {
		assert.Equal(t, flows.VerdictAnswered, view.Questions[0].Verdict, "Name, right")
		assert.Equal(t, flows.VerdictAnswered, view.Questions[2].Verdict, "Phone, wrong")
	}
}

// meddlingStore calls meddle before each commit of a session that exists (a step's commit,
// not a Start's), so that a test can have other sessions count failures between the engine's
// read of a person's failures and its commit.
type meddlingStore struct {
	*flowstest.Store
	meddle func(ctx context.Context, st *flowstest.Store)
}

func (m *meddlingStore) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	if c.Version != 0 && m.meddle != nil {
		m.meddle(ctx, m.Store)
	}
	return m.Store.Commit(ctx, c)
}

// countFailures counts failures against person from a session of their own, as another
// session's wrong answers would.
func countFailures(ctx context.Context, t *testing.T, st *flowstest.Store, fs ...flows.Failure) {
	_, err := st.Commit(ctx, flows.Commit{Session: "other-" + fs[0].Key, Data: []byte("x"), Failures: fs})
	require.NoError(t, err)
}

// TestNoMarkReusedForAPersonLockedMeanwhile: a transfer that finds a verified mark passes the
// level without questions, which is a decision: if the person is locked between the engine's
// read of their failures and its commit, the step does not pass them.
func TestNoMarkReusedForAPersonLockedMeanwhile(t *testing.T) {
	ms := &meddlingStore{}
	h := newHarnessWith(t, demoPolicy(), func(s *flowstest.Store) flows.SessionStore { ms.Store = s; return ms })
	v := run(t, h, flows.StartRequest{Attendee: jane, ExternalID: "call-1"}, reason("Change of address"),
		subject(flows.SubjectSelf), answer(janeAnswers...))
	require.Equal(t, flows.OutcomeVerified, v.Outcome)

	transfer := run(t, h, flows.StartRequest{Engagement: h.engagementID(t, v.Engagement)}, reason("Change of address"))
	var once sync.Once
	ms.meddle = func(ctx context.Context, st *flowstest.Store) {
		once.Do(func() {
			now := h.clock.Now()
			countFailures(ctx, t, st, flows.Failure{Person: janeID, Key: "a", At: now},
				flows.Failure{Person: janeID, Key: "b", At: now}, flows.Failure{Person: janeID, Key: "c", At: now})
		})
	}
	got, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: transfer.Session, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrLocked, "got %v", got.Outcome)
	after, err := h.e.Get(h.ctx, transfer.Session)
	require.NoError(t, err)
	assert.Empty(t, after.Verified)
}

// TestEveryAttemptCountsItsOwnFailures: a failure's key tells apart the same question asked
// again after a retry, and the same field asked at the representative's and at the customer's
// level: each is its own wrong answer and counts.
func TestEveryAttemptCountsItsOwnFailures(t *testing.T) {
	t.Run("a retried level", func(t *testing.T) {
		p := demoPolicy()
		p.Session.MaxRetries = 1
		p.Lockout.MaxFailures = 10
		h := newHarness(t, p)
		wrongName := answer(flows.Answer{Field: "Name", Value: "John Doe"})
		v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf),
			search("person", "Jane"), pick(janeID), wrongName, search("person", "Jane"), pick(janeID), wrongName)
		require.Equal(t, flows.OutcomeFailed, v.Outcome)
		assert.Len(t, h.failures(t, janeID), 2, "one per attempt")
	})
	t.Run("the same field at both levels", func(t *testing.T) {
		p := demoPolicy()
		customer := &p.SearchTypes[2]
		customer.Optional = []flows.Verifier{{Field: "MailingPostalCode", Match: flows.MatchPostalCode, Mode: flows.ModeCheck}}
		h := newHarness(t, p)
		wrongPostcode := flows.Answer{Field: "MailingPostalCode", Value: "N1 1AA"}
		v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectOther),
			searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID),
			answer(robertAnswers[0], robertAnswers[1], wrongPostcode, flows.Answer{Field: "MobilePhone", Value: "07700 900123"}),
			search("", "Jane"), pick(janeID), answer(janeAsCustomer[0], janeAsCustomer[1], wrongPostcode))
		require.Equal(t, flows.OutcomeFailed, v.Outcome)
		require.Equal(t, []flows.Ref{robert}, v.Verified)
		assert.Len(t, h.failures(t, robertID), 1)
		assert.Len(t, h.failures(t, janeID), 1, "the customer's wrong answer counts against her")
	})
}

// TestStepOutlastsOtherSessionsFailures: a step whose person's failures change before it
// commits runs again; each change is another session's wrong answer, and there can be only
// max_failures of those before the person is locked, so a step never gives up while they keep
// coming, however high the limit.
func TestStepOutlastsOtherSessionsFailures(t *testing.T) {
	p := demoPolicy()
	p.Lockout.MaxFailures = 40
	ms := &meddlingStore{}
	h := newHarnessWith(t, p, func(s *flowstest.Store) flows.SessionStore { ms.Store = s; return ms })
	v := atQuestions(t, h)
	n := 0
	ms.meddle = func(ctx context.Context, st *flowstest.Store) {
		if n < p.Lockout.MaxFailures-1 {
			n++
			countFailures(ctx, t, st, flows.Failure{Person: janeID, Key: fmt.Sprint("f", n), At: h.clock.Now()})
		}
	}
	v, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeVerified, v.Outcome, "one below the limit, the right answers still verify")
	assert.Len(t, h.failures(t, janeID), p.Lockout.MaxFailures-1)
}
