package flows_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// A step is one call into the engine on the session in v.
type step func(h *harness, v flows.View) (flows.View, error)

func reason(name string) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Reason: name})
	}
}

func subject(s flows.Subject) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: s})
	}
}

func search(searchType, keywords string) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: searchType, Query: flows.Query{Keywords: keywords}})
	}
}

func searchFields(searchType string, fields map[string]string) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: searchType, Query: flows.Query{Fields: fields}})
	}
}

func pick(id string) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Select(h.ctx, flows.SelectRequest{Session: v.Session, Record: id})
	}
}

func answer(a ...flows.Answer) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: a})
	}
}

func attest(a ...flows.Attestation) step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Attest(h.ctx, flows.AttestRequest{Session: v.Session, Attestations: a})
	}
}

func notIdentified() step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.NotIdentified(h.ctx, flows.NotIdentifiedRequest{Session: v.Session})
	}
}

func cancel() step {
	return func(h *harness, v flows.View) (flows.View, error) {
		return h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	}
}

func wait(d time.Duration) step {
	return func(h *harness, v flows.View) (flows.View, error) { h.clock.Advance(d); return v, nil }
}

// run starts a session with start and applies steps, requiring each to succeed.
func run(t *testing.T, h *harness, start flows.StartRequest, steps ...step) flows.View {
	t.Helper()
	v, err := h.e.Start(h.ctx, start)
	require.NoError(t, err)
	for i, s := range steps {
		v, err = s(h, v)
		require.NoError(t, err, "step %d", i)
	}
	return v
}

func TestFlows(t *testing.T) {
	const reasonConf = "Change of address"
	tests := []struct {
		name     string
		policy   func(*flows.Policy)
		start    flows.StartRequest
		steps    []step
		outcome  flows.Outcome
		cause    flows.Cause
		verified []flows.Ref
		check    func(t *testing.T, h *harness, v flows.View)
	}{
		{
			name:  "self, unknown number: search, select, answer",
			start: flows.StartRequest{Phone: noPhone, Channel: "Voice Call"},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID),
				answer(janeAnswers...)},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{jane},
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Equal(t, jane, v.Open)
				w := h.writebacks(t)
				require.Len(t, w, 1)
				assert.Equal(t, flows.Writeback{Outcome: flows.OutcomeVerified,
					Engagement: flows.EngagementUpdate{ExternalID: v.Engagement, Type: flows.EngagementTypeInbound,
						Channel: "Voice Call", Start: t0, Reason: reasonConf, Verified: true,
						VerifiedAt: t0, Initiating: jane, Status: flows.EngagementStatusProgress},
					Attendees: []flows.Attendee{{Person: jane, Role: flows.RoleSelf,
						Verified: true, VerifiedAt: t0, Start: t0}},
					Topic: flows.Topic{Name: reasonConf, RelatedPerson: jane,
						ProcessStatus: flows.ProcessCompleted}}, w[0])
			},
		},
		{
			name:  "self with a registered number: no search",
			start: flows.StartRequest{Phone: "020 7946 0001"},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf),
				func(h *harness, v flows.View) (flows.View, error) {
					// The questions are asked at once, for the caller the number found.
					assert.Equal(t, flows.StateQuestions, v.State)
					assert.Equal(t, jane, v.Record)
					assert.Equal(t, "person", v.SearchType)
					return v, nil
				},
				answer(janeAnswers[:2]...), answer(flows.Answer{Field: "PersonMailingPostalCode", Value: "SW1A1AA"})},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{jane},
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Equal(t, flows.PhoneMatchOne, v.PhoneMatch)
				// The engagement is created with the caller the number found.
				assert.Equal(t, jane, h.written(t)[0].Engagement.Initiating)
			},
		},
		{
			name:    "named attendee in person: no search",
			start:   flows.StartRequest{Attendee: jane, Channel: "In Person"},
			steps:   []step{reason(reasonConf), subject(flows.SubjectSelf), answer(janeAnswers...)},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{jane},
		},
		{
			name:  "representative then customer",
			start: flows.StartRequest{Phone: "+447700900123"},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				func(h *harness, v flows.View) (flows.View, error) {
					// The caller's number is registered, but someone else's call searches anyway.
					assert.Equal(t, flows.StateSearch, v.State)
					assert.Equal(t, robert, v.Initiating)
					return v, nil
				},
				searchFields("representative", map[string]string{"LastName": "brown"}), pick(robertID),
				answer(robertAnswers...),
				func(h *harness, v flows.View) (flows.View, error) {
					assert.Equal(t, flows.LevelCustomer, v.Level)
					assert.Equal(t, flows.StateSearch, v.State)
					assert.Equal(t, "customer", v.SearchType)
					return v, nil
				},
				search("", "Jane Smith"), pick(janeID), answer(janeAsCustomer...)},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{robert, jane},
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Equal(t, jane, v.Open)
				w := h.writebacks(t)[0]
				assert.Equal(t, []flows.Attendee{{Person: robert, Role: flows.RoleOnBehalf,
					Verified: true, VerifiedAt: t0, Start: t0}}, w.Attendees)
				assert.Equal(t, flows.Topic{Name: reasonConf, RelatedPerson: jane,
					ProcessStatus: flows.ProcessCompleted}, w.Topic)
				assert.True(t, w.Engagement.Verified)
			},
		},
		{
			name:  "representative verified, customer failed",
			start: flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...),
				search("customer", "Jane"), pick(janeID),
				answer(flows.Answer{Field: "Name", Value: "Jane Smith"}, flows.Answer{Field: "PersonBirthdate", Value: "1980-03-15"})},
			outcome: flows.OutcomeFailed, cause: flows.CauseRequiredIncorrect, verified: []flows.Ref{robert},
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Empty(t, v.Open)
				// The audit sees which question decided it, and by which rule; never a value.
				require.Len(t, v.Questions, 3)
				assert.Equal(t, flows.QuestionView{Field: "Name", Label: "What is your Name?", Required: true,
					Mode: flows.ModeCheck, Verdict: flows.VerdictCorrect, Rule: flows.MatchName}, v.Questions[0])
				assert.Equal(t, flows.QuestionView{Field: "PersonBirthdate", Label: "What is your PersonBirthdate?", Required: true,
					Mode: flows.ModeCheck, Verdict: flows.VerdictIncorrect, Rule: flows.MatchDate}, v.Questions[1])
				assert.Equal(t, flows.VerdictPending, v.Questions[2].Verdict)
				w := h.written(t)[0]
				assert.Equal(t, flows.ProcessFailed, w.Topic.ProcessStatus)
				assert.Equal(t, jane, w.Topic.RelatedPerson)
				assert.Equal(t, robert, w.Engagement.Initiating, "the verified representative becomes the initiating attendee")
				// The failure counts against the customer, not the representative.
				fails, err := h.store.Failures(h.ctx, janeID, t0.Add(-time.Hour))
				require.NoError(t, err)
				assert.Len(t, fails, 1)
			},
		},
		{
			name:  "representative not authorised for that customer",
			start: flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...),
				search("customer", "Ahmed"), pick(ahmedID)},
			outcome: flows.OutcomeFailed, cause: flows.CauseNotAuthorised, verified: []flows.Ref{robert},
			check: func(t *testing.T, h *harness, v flows.View) {
				fails, err := h.store.Failures(h.ctx, ahmedID, t0.Add(-time.Hour))
				require.NoError(t, err)
				assert.Empty(t, fails, "no knowledge was tested: no failure counted")
			},
		},
		{
			name:   "representation check disabled: the agent asserts it",
			policy: func(p *flows.Policy) { p.Representation = flows.RepresentationRule{} },
			start:  flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...),
				search("customer", "Ahmed"), pick(ahmedID),
				answer(flows.Answer{Field: "Name", Value: "Ahmed Khan"}, flows.Answer{Field: "PersonBirthdate", Value: "2/11/1975"},
					flows.Answer{Field: "PersonMailingPostalCode", Value: "E16AN"})},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{robert, ahmed},
		},
		{
			name:  "representative fails: no customer level",
			start: flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID),
				answer(flows.Answer{Field: "Name", Value: "Rob Brown"})},
			outcome: flows.OutcomeFailed, cause: flows.CauseRequiredIncorrect,
		},
		{
			name:    "non-confidential reason",
			start:   flows.StartRequest{Phone: "020 7946 0001"},
			steps:   []step{reason("Opening hours")},
			outcome: flows.OutcomeNotRequired,
			check: func(t *testing.T, h *harness, v flows.View) {
				w := h.writebacks(t)[0]
				assert.Equal(t, flows.Topic{Name: "Opening hours", RelatedPerson: jane,
					ProcessStatus: flows.ProcessCompleted}, w.Topic)
				assert.False(t, w.Engagement.Verified)
			},
		},
		{
			name:  "too few optional answers left ends it before the required ones",
			start: flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID),
				answer(flows.Answer{Field: "Phone", Value: "020 0000 0000"}),
				func(h *harness, v flows.View) (flows.View, error) {
					assert.Equal(t, flows.StateQuestions, v.State, "one optional question is still open")
					return v, nil
				},
				answer(flows.Answer{Field: "PersonMailingPostalCode", Value: "N1 1AA"})},
			outcome: flows.OutcomeFailed, cause: flows.CauseTooFewOptional,
		},
		{
			name:  "a wrong required answer ends it at once; later answers are ignored",
			start: flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID),
				answer(flows.Answer{Field: "PersonBirthdate", Value: "1 Jan 1990"}, flows.Answer{Field: "Name", Value: "Jane Smith"})},
			outcome: flows.OutcomeFailed, cause: flows.CauseRequiredIncorrect,
		},
		{
			name:   "a retry inside the session",
			policy: func(p *flows.Policy) { p.Session.MaxRetries = 1 },
			start:  flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID),
				answer(flows.Answer{Field: "Name", Value: "John Smith"}),
				func(h *harness, v flows.View) (flows.View, error) {
					assert.Equal(t, flows.StateSearch, v.State)
					assert.Equal(t, 0, v.RetriesLeft)
					assert.Equal(t, flows.CauseRequiredIncorrect, v.Cause)
					return v, nil
				},
				search("person", "Jane"), pick(janeID), answer(janeAnswers...)},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{jane},
		},
		{
			name:   "retries used up",
			policy: func(p *flows.Policy) { p.Session.MaxRetries = 1 },
			start:  flows.StartRequest{Phone: noPhone},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID),
				answer(flows.Answer{Field: "Name", Value: "John Smith"}),
				search("person", "Jane"), pick(janeID), answer(flows.Answer{Field: "Name", Value: "Joan Smith"})},
			outcome: flows.OutcomeFailed, cause: flows.CauseRequiredIncorrect,
		},
		{
			name:    "cancelled",
			start:   flows.StartRequest{Phone: noPhone},
			steps:   []step{reason(reasonConf), subject(flows.SubjectSelf), cancel()},
			outcome: flows.OutcomeCancelled,
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Equal(t, flows.ProcessCancelled, h.written(t)[0].Topic.ProcessStatus)
			},
		},
		{
			name:    "new customer about themself: a lead is created, with nothing on record to verify",
			start:   flows.StartRequest{Lead: &flows.Lead{LastName: "Newman", Company: "Newman Ltd"}, Channel: "In Person"},
			steps:   []step{reason(reasonConf), subject(flows.SubjectSelf)},
			outcome: flows.OutcomeNewCustomer,
			check: func(t *testing.T, h *harness, v flows.View) {
				assert.Equal(t, "Lead", v.Initiating.Object)
				assert.Equal(t, v.Initiating, v.Open, "the agent opens the new lead")
				assert.Empty(t, v.Verified)
				w := h.writebacks(t)[0]
				assert.Equal(t, flows.Topic{Name: reasonConf, RelatedPerson: v.Initiating,
					ProcessStatus: flows.ProcessCompleted}, w.Topic)
				assert.False(t, w.Engagement.Verified)
				assert.Empty(t, w.Attendees)
			},
		},
		{
			name:   "new customer with a search type for leads: its questions are asked",
			policy: leadPolicy,
			start:  flows.StartRequest{Lead: &flows.Lead{LastName: "Newman", Company: "Newman Ltd"}},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf),
				func(h *harness, v flows.View) (flows.View, error) {
					assert.Equal(t, flows.StateQuestions, v.State)
					assert.Equal(t, "lead", v.SearchType)
					assert.Equal(t, v.Initiating, v.Record)
					return v, nil
				},
				answer(flows.Answer{Field: "Company", Value: "newman ltd"})},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{{Object: "Lead", ID: "00Q000000000001EAA"}},
		},
		{
			name:  "new customer calling for someone else: searched as a representative, not found",
			start: flows.StartRequest{Lead: &flows.Lead{LastName: "Newman", Company: "Newman Ltd"}},
			steps: []step{reason(reasonConf), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Newman"}), notIdentified()},
			outcome: flows.OutcomeNotIdentified,
		},
		{
			name:   "attest mode reveals per the verifier and takes the agent's verdict",
			policy: attestPolicy,
			start:  flows.StartRequest{Attendee: jane},
			steps: []step{reason(reasonConf), subject(flows.SubjectSelf),
				func(h *harness, v flows.View) (flows.View, error) {
					require.Len(t, v.Questions, 4)
					assert.Equal(t, "Jane Smith", v.Questions[0].Expected, "full")
					assert.Equal(t, "••••-••-14", v.Questions[1].Expected, "masked")
					assert.Empty(t, v.Questions[2].Expected, "none")
					assert.Empty(t, v.Questions[3].Expected, "check mode never reveals")
					return v, nil
				},
				attest(flows.Attestation{Field: "Name", Correct: true}),
				func(h *harness, v flows.View) (flows.View, error) {
					// Still revealed on the next step, fetched again for this call only.
					assert.Equal(t, "••••-••-14", v.Questions[1].Expected)
					assert.Empty(t, v.Questions[0].Expected, "answered: no longer shown")
					return v, nil
				},
				attest(flows.Attestation{Field: "PersonBirthdate", Correct: true}),
				answer(flows.Answer{Field: "PersonMailingPostalCode", Value: "sw1a 1aa"})},
			outcome: flows.OutcomeVerified, verified: []flows.Ref{jane},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := demoPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			h := newHarness(t, p)
			v := run(t, h, tt.start, tt.steps...)
			assert.Equal(t, flows.StateDone, v.State)
			assert.Equal(t, tt.outcome, v.Outcome)
			assert.Equal(t, tt.cause, v.Cause)
			assert.Equal(t, tt.verified, v.Verified)
			got, err := h.e.Get(h.ctx, v.Session)
			require.NoError(t, err)
			assert.Equal(t, v, got, "Get shows what the last step returned")
			require.Len(t, h.written(t), 1, "exactly one outcome written")
			assertNoPersonalData(t, h.store.Raw(v.Session), v.Session)
			wb, err := json.Marshal(h.written(t))
			require.NoError(t, err)
			assertNoPersonalData(t, wb, v.Session)
			audit, err := h.store.AuditByEngagement(h.ctx, v.Engagement)
			require.NoError(t, err)
			require.Len(t, audit, int(v.Version), "one audit event per commit (the fake store counts versions from 1)")
			ab, err := json.Marshal(audit)
			require.NoError(t, err)
			assertNoPersonalData(t, ab, v.Session)
			assert.NotContains(t, string(ab), v.Session, "the audit names the session by its digest")
			if tt.check != nil {
				tt.check(t, h, v)
			}
		})
	}
}

// leadPolicy adds a search type for Leads, whose one question is the company.
func leadPolicy(p *flows.Policy) {
	p.SearchTypes = append(p.SearchTypes, flows.SearchType{Name: "lead", Object: "Lead", Search: flows.SearchText,
		SearchFields: []string{"LastName"}, ResultFields: []string{"LastName"},
		Required: []flows.Verifier{{Field: "Company", Match: flows.MatchText, Mode: flows.ModeCheck}}})
}

func attestPolicy(p *flows.Policy) {
	st := &p.SearchTypes[0]
	st.Required = []flows.Verifier{
		{Field: "Name", Match: flows.MatchName, Mode: flows.ModeAttest, Reveal: flows.RevealFull},
		{Field: "PersonBirthdate", Match: flows.MatchDate, Mode: flows.ModeAttest, Reveal: flows.RevealMasked},
	}
	st.Optional = []flows.Verifier{
		{Field: "Phone", Match: flows.MatchPhone, Mode: flows.ModeAttest},
		{Field: "PersonMailingPostalCode", Match: flows.MatchPostalCode, Mode: flows.ModeCheck, Reveal: flows.RevealFull},
	}
}

// assertNoPersonalData checks that a stored session holds none of the demo people's personal
// data. The random session id and its digest are cut out first: they could spell a name by
// chance.
func assertNoPersonalData(t *testing.T, raw []byte, id string, random ...string) {
	t.Helper()
	require.NotEmpty(t, raw)
	// The session id's digest (the keys' and the audit's name for the session) is random too,
	// as are the ids in random (an engagement id from flowstest's CRM): any of them can hold
	// "jane" by chance.
	sum := sha256.Sum256([]byte(id))
	text := strings.ReplaceAll(string(raw), id, "")
	for _, r := range append(random, base64.RawURLEncoding.EncodeToString(sum[:18])) {
		if r != "" {
			text = strings.ReplaceAll(text, r, "")
		}
	}
	text = strings.ToLower(text)
	for _, s := range personalData {
		assert.NotContains(t, text, strings.ToLower(s), "the stored session holds personal data")
	}
}

func TestLockoutAndUnlock(t *testing.T) {
	h := newHarness(t, demoPolicy())
	fail := func() flows.View {
		return run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf),
			search("person", "Jane"), pick(janeID), answer(flows.Answer{Field: "Name", Value: "Jane Doe"}))
	}
	assert.Equal(t, flows.OutcomeFailed, fail().Outcome)
	h.clock.Advance(time.Minute)
	assert.Equal(t, flows.OutcomeFailed, fail().Outcome)
	h.clock.Advance(time.Minute)
	v := fail()
	assert.Equal(t, flows.OutcomeLocked, v.Outcome, "the third failure within the window locks")
	assert.Equal(t, t0.Add(30*time.Minute), v.LockedUntil, "until the first failure leaves the window")

	// Another channel, another session: the person is locked, and the error says until when.
	h.clock.Advance(time.Minute)
	v = run(t, h, flows.StartRequest{Attendee: jane, Channel: "Web Chat"}, reason("Change of address"))
	before := h.store.Raw(v.Session)
	_, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrLocked)
	var locked *flows.LockedError
	require.ErrorAs(t, err, &locked)
	assert.Equal(t, t0.Add(30*time.Minute), locked.Until)
	var stepErr *flows.StepError
	require.ErrorAs(t, err, &stepErr)
	assert.Equal(t, "subject", stepErr.Step)
	assert.Equal(t, flows.StateSubject, stepErr.State, "the error names the state the session is still in")
	assert.Equal(t, before, h.store.Raw(v.Session), "an error changes nothing")
	// A search type the subject step refuses, as well.
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf, SearchType: "nope"})
	require.ErrorIs(t, err, flows.ErrUnknownSearchType)
	require.ErrorAs(t, err, &stepErr)
	assert.Equal(t, flows.StateSubject, stepErr.State, "the error names the state the session is still in")

	// Once the first failure leaves the window, the person may try again.
	h.clock.Advance(26*time.Minute + 59*time.Second)
	v = run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"))
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrLocked, "a second before the lock lifts")
	h.clock.Advance(time.Second)
	v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAnswers})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeVerified, v.Outcome)

	// An admin reset clears a lock at once.
	require.Equal(t, flows.OutcomeLocked, fail().Outcome, "two failures are still in the window")
	reset, err := h.e.ResetFailures(h.ctx, flows.ResetRequest{Person: janeID, Actor: "admin", Reason: "identified in branch"})
	require.NoError(t, err)
	assert.Equal(t, 4, reset.Cleared, "every failure, in the window or not")
	v = run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.StateQuestions, v.State)
}

func TestIdleExpiry(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"))
	assert.Equal(t, t0.Add(10*time.Minute), v.Expires)
	h.clock.Advance(10 * time.Minute)
	v, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.NoError(t, err, "exactly the idle timeout is not yet expired")
	h.clock.Advance(10*time.Minute + time.Nanosecond)
	_, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: "person", Query: flows.Query{Keywords: "Jane"}})
	require.ErrorIs(t, err, flows.ErrExpired)
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeExpired, got.Outcome)
	assert.Equal(t, flows.ProcessCancelled, h.written(t)[0].Topic.ProcessStatus)
	_, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	require.ErrorIs(t, err, flows.ErrFinished)

	// Idle time runs from the last step, not from the start: steps 8 minutes apart keep a
	// session alive well past 10 minutes.
	v = run(t, h, flows.StartRequest{Phone: noPhone}, wait(8*time.Minute), reason("Change of address"),
		wait(8*time.Minute), subject(flows.SubjectSelf), wait(8*time.Minute))
	v, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: "person", Query: flows.Query{Keywords: "Jane"}})
	require.NoError(t, err)
	assert.Equal(t, flows.StateSelect, v.State)

	// Get alone expires an idle session too.
	v = run(t, h, flows.StartRequest{Phone: noPhone})
	h.clock.Advance(time.Hour)
	got, err = h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeExpired, got.Outcome)
}

// TestExpireIdle: sessions nobody comes back to are ended by ExpireIdle once idle past their
// timeout (not at it), with their write-back and an audit event with no actor; finished and
// still active sessions are left alone, and no CRM is read.
func TestExpireIdle(t *testing.T) {
	h := newHarness(t, demoPolicy())
	abandoned := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-abandoned"}, reason("Change of address"), subject(flows.SubjectSelf))
	finished := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-finished"}, reason("Opening hours"))
	require.Equal(t, flows.OutcomeNotRequired, finished.Outcome)
	h.written(t)
	h.crm.DrainWritebacks()
	h.clock.Advance(10 * time.Minute)
	active := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-active"})

	n, err := h.e.ExpireIdle(h.ctx, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "exactly the idle timeout is not yet expired")

	h.clock.Advance(time.Nanosecond)
	h.crm.Fail = errors.New("crm down") // expiring reads no CRM
	n, err = h.e.ExpireIdle(h.ctx, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	h.crm.Fail = nil
	got, err := h.e.Get(h.ctx, abandoned.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeExpired, got.Outcome)
	written := h.written(t)
	require.Len(t, written, 1, "only the abandoned session's outcome is written")
	assert.Equal(t, "call-abandoned", written[0].Engagement.ExternalID)
	assert.Equal(t, flows.ProcessCancelled, written[0].Topic.ProcessStatus)
	events, err := h.store.AuditByEngagement(h.ctx, "call-abandoned")
	require.NoError(t, err)
	last := events[len(events)-1]
	assert.Equal(t, "expire", last.Step)
	assert.Equal(t, "idle_timeout", last.Rule)
	assert.Empty(t, last.Actor)

	got, err = h.e.Get(h.ctx, active.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.StateReason, got.State, "a session idle for less than its timeout stays open")
	n, err = h.e.ExpireIdle(h.ctx, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "an ended session is not listed again")
}

func TestVerifiedStatusSurvivesATransfer(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: "020 7946 0001", ExternalID: "call-1"}, reason("Change of address"),
		subject(flows.SubjectSelf), answer(janeAnswers...))
	require.Equal(t, flows.OutcomeVerified, v.Outcome)

	// The call is transferred: a new session attaches to the same engagement, by the call id
	// (the write-back that creates the engagement may not have been delivered yet) or by the
	// engagement's Salesforce id.
	v2 := run(t, h, flows.StartRequest{Phone: "020 7946 0001", ExternalID: "call-1"}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.OutcomeVerified, v2.Outcome, "no questions again within the verified TTL")
	engagementID := h.engagementID(t, "call-1")
	v2 = run(t, h, flows.StartRequest{Engagement: engagementID}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.OutcomeVerified, v2.Outcome, "no questions again within the verified TTL")
	assert.Equal(t, "call-1", v2.Engagement, "the engagement's external id names it")

	// A new call from the same number is a new engagement: questions again.
	v3 := run(t, h, flows.StartRequest{Phone: "020 7946 0001", ExternalID: "call-2"}, reason("Change of address"),
		subject(flows.SubjectSelf))
	assert.Equal(t, flows.StateQuestions, v3.State)

	// After the TTL, the transferred call is asked again.
	h.clock.Advance(time.Hour + time.Second)
	v4 := run(t, h, flows.StartRequest{Engagement: engagementID}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.StateQuestions, v4.State)
}

// TestErrorsChangeNothing drives a session to each state and tries every step that is wrong
// there: each fails with its own kind and leaves the stored session byte for byte as it was.
func TestErrorsChangeNothing(t *testing.T) {
	const conf = "Change of address"
	states := []struct {
		name  string
		start flows.StartRequest
		steps []step
	}{
		{"reason", flows.StartRequest{Phone: noPhone}, nil},
		{"subject", flows.StartRequest{Phone: noPhone}, []step{reason(conf)}},
		{"search", flows.StartRequest{Phone: noPhone}, []step{reason(conf), subject(flows.SubjectSelf)}},
		{"search other", flows.StartRequest{Phone: noPhone}, []step{reason(conf), subject(flows.SubjectOther)}},
		{"select", flows.StartRequest{Phone: noPhone}, []step{reason(conf), subject(flows.SubjectSelf), search("person", "Jane")}},
		{"questions", flows.StartRequest{Phone: noPhone}, []step{reason(conf), subject(flows.SubjectSelf), search("person", "Jane"),
			pick(janeID), answer(flows.Answer{Field: "Name", Value: "Jane Smith"})}},
		{"customer search", flows.StartRequest{Phone: noPhone}, []step{reason(conf), subject(flows.SubjectOther),
			searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID), answer(robertAnswers...)}},
		{"done", flows.StartRequest{Phone: noPhone}, []step{reason("Opening hours")}},
	}
	type bad struct {
		name string
		step step
		kind error
	}
	all := func(state string) []bad {
		bads := []bad{
			{"reason", reason(conf), flows.ErrOutOfOrder},
			{"subject", subject(flows.SubjectSelf), flows.ErrOutOfOrder},
			{"search", search("person", "Jane"), flows.ErrOutOfOrder},
			{"select", pick(janeID), flows.ErrOutOfOrder},
			{"answer", answer(flows.Answer{Field: "Name", Value: "Jane Smith"}), flows.ErrOutOfOrder},
			{"attest", attest(flows.Attestation{Field: "Name", Correct: true}), flows.ErrOutOfOrder},
			{"not identified", notIdentified(), flows.ErrOutOfOrder},
		}
		switch state {
		case "reason":
			bads = bads[1:]
			bads = append(bads, bad{"unknown reason", reason("Lottery"), flows.ErrUnknownReason})
		case "subject":
			bads = append(bads[:1], bads[2:]...)
			bads = append(bads, bad{"no subject", subject(flows.SubjectNone), flows.ErrInvalidInput})
		case "search", "search other", "customer search":
			bads = append(bads[:2], bads[3:6]...)
			bads = append(bads,
				bad{"unknown search type", search("pets", "Rex"), flows.ErrUnknownSearchType},
				bad{"one-letter keywords", search("person", "J"), flows.ErrInvalidInput},
				bad{"not a search field", searchFields("representative", map[string]string{"Birthdate": "1962-07-21"}), flows.ErrInvalidInput},
			)
			if state == "search other" {
				bads = append(bads, bad{"not a representative search type", search("person", "Jane"), flows.ErrInvalidInput})
			}
			if state == "customer search" {
				bads = append(bads, bad{"not the linked search type", search("person", "Jane"), flows.ErrInvalidInput})
			}
		case "select":
			bads = append(bads[:2], bads[4:6]...)
			bads = append(bads,
				bad{"not among the results", pick(ahmedID), flows.ErrNotInResults},
				bad{"unknown search type", search("pets", "Rex"), flows.ErrUnknownSearchType})
		case "questions":
			bads = append(bads[:4], bads[6])
			bads = append(bads,
				bad{"doesn't know with a value", answer(flows.Answer{Field: "Phone", Value: "020 7946 0001", DontKnow: true}), flows.ErrInvalidInput},
				bad{"not asked", answer(flows.Answer{Field: "Birthdate", Value: "1962-07-21"}), flows.ErrNotAsked},
				bad{"already answered", answer(flows.Answer{Field: "Name", Value: "Jane Smith"}), flows.ErrAlreadyAnswered},
				bad{"answered twice in one request", answer(flows.Answer{Field: "Phone", Value: "020 7946 0001"},
					flows.Answer{Field: "Phone", Value: "020 7946 0001"}), flows.ErrAlreadyAnswered},
				bad{"an empty answer", answer(flows.Answer{Field: "PersonBirthdate", Value: "  "}), flows.ErrInvalidInput},
				bad{"not a date", answer(flows.Answer{Field: "PersonBirthdate", Value: "last spring"}), flows.ErrInvalidInput},
				bad{"a good answer then a bad one", answer(flows.Answer{Field: "PersonBirthdate", Value: "14/03/1980"},
					flows.Answer{Field: "Phone", Value: "x"}), flows.ErrInvalidInput},
				bad{"attest in check mode", attest(flows.Attestation{Field: "PersonBirthdate", Correct: true}), flows.ErrInvalidInput},
				bad{"no answers", answer(), flows.ErrInvalidInput},
			)
		case "done":
			for i := range bads {
				bads[i].kind = flows.ErrFinished
			}
			bads = append(bads, bad{"cancel", cancel(), flows.ErrFinished})
		}
		return bads
	}
	for _, st := range states {
		for _, b := range all(st.name) {
			t.Run(st.name+"/"+b.name, func(t *testing.T) {
				h := newHarness(t, demoPolicy())
				v := run(t, h, st.start, st.steps...)
				before := h.store.Raw(v.Session)
				writes := len(h.written(t))
				_, err := b.step(h, v)
				require.ErrorIs(t, err, b.kind)
				var se *flows.StepError
				require.ErrorAs(t, err, &se)
				for _, other := range allKinds {
					if other != b.kind {
						assert.NotErrorIs(t, err, other)
					}
				}
				assert.Equal(t, before, h.store.Raw(v.Session), "an error changes nothing")
				assert.Len(t, h.written(t), writes)
				for _, pd := range personalData {
					assert.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(pd), "the error holds personal data")
				}
				after, err := h.e.Get(h.ctx, v.Session)
				require.NoError(t, err)
				assert.Equal(t, v.Version, after.Version)
			})
		}
	}
}

func TestVersionsAndNotFound(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone})
	before := h.store.Raw(v.Session)
	_, err := h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version + 1, Reason: "Change of address"})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
	assert.Equal(t, before, h.store.Raw(v.Session))

	v2, err := h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
	require.NoError(t, err)
	assert.Greater(t, v2.Version, v.Version)

	// A version older than the session's is as stale as a newer one.
	before = h.store.Raw(v.Session)
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
	require.ErrorIs(t, err, flows.ErrVersionConflict)
	assert.Equal(t, before, h.store.Raw(v.Session))
	_, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Version: v2.Version, Subject: flows.SubjectSelf})
	require.NoError(t, err)

	for _, id := range []string{"", "nope", strings.Repeat("x", 100)} {
		_, err = h.e.Get(h.ctx, id)
		require.ErrorIs(t, err, flows.ErrNotFound)
		_, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: id, Reason: "Change of address"})
		require.ErrorIs(t, err, flows.ErrNotFound)
	}
}

func TestStartValidates(t *testing.T) {
	tests := []struct {
		name string
		req  flows.StartRequest
	}{
		{"nothing", flows.StartRequest{}},
		{"two ways", flows.StartRequest{Phone: noPhone, Attendee: jane}},
		{"a phone with no digits", flows.StartRequest{Phone: "call me"}},
		{"an attendee with a bad id", flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: "001' OR Name LIKE '"}}},
		{"a lead without company", flows.StartRequest{Lead: &flows.Lead{LastName: "Newman"}}},
		{"an engagement with a bad id", flows.StartRequest{Engagement: "x"}},
		{"an agent who is no user", flows.StartRequest{Attendee: jane, Agent: "003000000000001AAA"}},
		{"an agent with a bad id", flows.StartRequest{Attendee: jane, Agent: "005' OR Id != '"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			_, err := h.e.Start(h.ctx, tt.req)
			require.ErrorIs(t, err, flows.ErrInvalidInput)
			assert.Empty(t, h.crm.Leads())
		})
	}
}

func TestNewRejects(t *testing.T) {
	people, rel := demoPeople()
	crm := flowstest.NewCRM(people, rel)
	ports := flows.Ports{CRM: crm, Recorder: crm, Store: &flowstest.Store{}}
	_, err := flows.New(demoPolicy(), ports, []byte("short"))
	require.ErrorContains(t, err, "secret")
	_, err = flows.New(flows.Policy{}, ports, secret)
	require.ErrorContains(t, err, "confidential")
	_, err = flows.New(demoPolicy(), flows.Ports{}, secret)
	require.ErrorContains(t, err, "required")
}

// TestConcurrentSteps races steps on one session: exactly one wins, the others fail cleanly
// with a version conflict (they read before the winner wrote) or out of order (after).
func TestConcurrentSteps(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone})
	const racers = 16
	errs := make(chan error, racers)
	start := make(chan struct{})
	for range racers {
		go func() {
			<-start
			_, err := h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Reason: "Change of address"})
			errs <- err
		}()
	}
	close(start)
	wins := 0
	for range racers {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case errors.Is(err, flows.ErrVersionConflict), errors.Is(err, flows.ErrOutOfOrder):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, wins)
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.StateSubject, got.State)
}

func TestSearchKeepsAtMostFiftyResults(t *testing.T) {
	var people []flowstest.Person
	for i := range 60 {
		id := fmt.Sprintf("001000000000%03dAAA", 100+i)
		people = append(people, flowstest.Person{Ref: flows.Ref{Object: "Account", ID: id},
			Fields: map[string]string{"Name": fmt.Sprintf("Pat Example %d", i)}})
	}
	crm := flowstest.NewCRM(people, nil)
	store := &flowstest.Store{}
	e, err := flows.New(demoPolicy(), flows.Ports{CRM: crm, Recorder: crm, Store: store, Clock: flowstest.NewClock(t0)}, secret)
	require.NoError(t, err)
	h := &harness{e: e, store: store, crm: crm, ctx: t.Context()}
	v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf), search("person", "Example"))
	assert.Len(t, v.Results, 50)
	assert.True(t, v.MoreResults)
	_, err = h.e.Select(h.ctx, flows.SelectRequest{Session: v.Session, Record: people[59].ID})
	require.ErrorIs(t, err, flows.ErrNotInResults, "a row that was not shown cannot be picked")

	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Len(t, got.Results, 50, "Get shows the remembered ids")
	assert.Empty(t, got.Results[0].Values, "but not their values, which are not stored")
}

// TestWritebackWaitsInTheOutbox: the step that ends a session queues its write-back in the
// same commit; a CRM that is down delays it, never the step; Writeback rebuilds the same value.
func TestWritebackWaitsInTheOutbox(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf))
	h.crm.Fail = fmt.Errorf("crm down: %w", flows.ErrUnavailable)
	v, err := h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeCancelled, v.Outcome)
	queued, err := h.store.ListOutbox(h.ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, queued, 1)
	assert.Equal(t, v.Engagement, queued[0].Engagement)
	assert.Equal(t, t0, queued[0].At)
	w, err := h.e.Writeback(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, w, queued[0].Writeback, "rebuilt as queued")
	assert.Equal(t, w.Key, queued[0].Key)

	h.crm.Fail = nil
	assert.Equal(t, []flows.Writeback{w}, h.written(t))
	assert.Equal(t, flows.ProcessCancelled, w.Topic.ProcessStatus)
	assert.Len(t, h.written(t), 1, "delivered once")

	v = run(t, h, flows.StartRequest{Phone: noPhone})
	_, err = h.e.Writeback(h.ctx, v.Session)
	require.ErrorIs(t, err, flows.ErrOutOfOrder)
	queued, err = h.store.ListOutbox(h.ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, queued, "an open session queues nothing")
}

// The agent who starts a session is written as an internal attendee, in either id form, and
// is the audit's actor when the caller names them so.
func TestAgentIsAnInternalAttendee(t *testing.T) {
	h := newHarness(t, demoPolicy())
	const agent = "005000000000001AAA"
	v := run(t, h, flows.StartRequest{Attendee: jane, Agent: "005000000000001", Actor: agent}, reason("Change of address"),
		subject(flows.SubjectSelf))
	v, err := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Version: v.Version, Answers: janeAnswers, Actor: agent})
	require.NoError(t, err)
	require.Equal(t, flows.OutcomeVerified, v.Outcome)
	ws := h.writebacks(t)
	require.Len(t, ws, 1)
	require.Len(t, ws[0].Attendees, 2)
	assert.Equal(t, flows.Attendee{Person: jane, Role: flows.RoleSelf, Verified: true, VerifiedAt: t0, Start: t0}, ws[0].Attendees[0])
	assert.Equal(t, flows.Attendee{Person: flows.Ref{Object: "User", ID: agent}, Internal: true, Start: t0}, ws[0].Attendees[1])

	// Without an agent, nobody internal.
	v = run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"))
	_, err = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session, Version: v.Version})
	require.NoError(t, err)
	ws = h.written(t)
	require.Len(t, ws, 2)
	assert.Empty(t, ws[1].Attendees)
}

func TestSubjectPicksTheSearchType(t *testing.T) {
	tests := []struct {
		name       string
		start      flows.StartRequest
		subject    flows.Subject
		searchType string
		kind       error
		state      flows.State
	}{
		{"first search type on the caller's object", flows.StartRequest{Attendee: jane}, flows.SubjectSelf, "", nil, flows.StateQuestions},
		{"named search type", flows.StartRequest{Attendee: jane}, flows.SubjectSelf, "customer", nil, flows.StateQuestions},
		{"unknown search type", flows.StartRequest{Attendee: jane}, flows.SubjectSelf, "pets", flows.ErrUnknownSearchType, 0},
		{"search type on another object", flows.StartRequest{Attendee: jane}, flows.SubjectSelf, "representative", flows.ErrInvalidInput, 0},
		{"search type for an unknown caller", flows.StartRequest{Phone: noPhone}, flows.SubjectSelf, "person", flows.ErrInvalidInput, 0},
		{"search type for someone else", flows.StartRequest{Attendee: jane}, flows.SubjectOther, "person", flows.ErrInvalidInput, 0},
		{"no search type on the caller's object: search", flows.StartRequest{Attendee: flows.Ref{Object: "Lead", ID: "00Q000000000001EAA"}},
			flows.SubjectSelf, "", nil, flows.StateSearch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			v := run(t, h, tt.start, reason("Change of address"))
			before := h.store.Raw(v.Session)
			got, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: tt.subject, SearchType: tt.searchType})
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
				assert.Equal(t, before, h.store.Raw(v.Session))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.state, got.State)
			if tt.searchType != "" {
				assert.Equal(t, tt.searchType, got.SearchType)
			}
		})
	}
}

// TestAudit: every committed step leaves one audit event, in its commit: who, which step, the
// states, the person judged, what decided and how many failures; never a value.
func TestAudit(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v, err := h.e.Start(h.ctx, flows.StartRequest{Actor: "agent-7", Phone: noPhone, ExternalID: "call-9"})
	require.NoError(t, err)
	for _, s := range []step{reason("Change of address"), subject(flows.SubjectSelf), search("person", "Jane"), pick(janeID)} {
		v, err = s(h, v)
		require.NoError(t, err)
	}
	v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Actor: "agent-7", Session: v.Session, Answers: []flows.Answer{
		{Field: "Name", Value: "Jane Smith"}, {Field: "PersonBirthdate", Value: "1 Jan 1990"}}})
	require.NoError(t, err)
	require.Equal(t, flows.OutcomeFailed, v.Outcome)

	events, err := h.store.AuditByEngagement(h.ctx, "call-9")
	require.NoError(t, err)
	require.Len(t, events, 6)
	steps := make([]string, len(events))
	for i, e := range events {
		steps[i] = e.Step
		assert.Equal(t, t0, e.At)
		assert.Equal(t, events[0].SessionKey, e.SessionKey)
		assert.NotEmpty(t, e.SessionKey)
		assert.NotContains(t, v.Session, e.SessionKey)
	}
	assert.Equal(t, []string{"start", "reason", "subject", "search", "select", "answer"}, steps)
	assert.Equal(t, flows.AuditEvent{At: t0, SessionKey: events[0].SessionKey, Engagement: "call-9", Actor: "agent-7",
		Step: "start", To: flows.StateReason}, events[0])
	assert.Equal(t, flows.AuditEvent{At: t0, SessionKey: events[0].SessionKey, Engagement: "call-9", Actor: "agent-7",
		Step: "answer", From: flows.StateQuestions, To: flows.StateDone, Outcome: flows.OutcomeFailed, Person: janeID,
		Rule: "Name:name=correct PersonBirthdate:date=incorrect required_incorrect", Failures: 1}, events[5])
	byPerson, err := h.store.AuditByPerson(h.ctx, janeID)
	require.NoError(t, err)
	assert.Len(t, byPerson, 2, "select and answer")

	// An actor is a short token: free text is refused and changes nothing.
	for _, bad := range []string{"Jane Smith", strings.Repeat("a", 65), "agent\n7"} {
		_, err = h.e.Start(h.ctx, flows.StartRequest{Actor: bad, Phone: noPhone})
		require.ErrorIs(t, err, flows.ErrInvalidInput)
		_, err = h.e.Cancel(h.ctx, flows.CancelRequest{Actor: bad, Session: v.Session})
		require.ErrorIs(t, err, flows.ErrInvalidInput)
	}
}

// TestPhoneMatches: the View says how many records the phone lookup found; one trusted match is
// the caller, several (or one untrusted) are flagged in the caller's search results.
func TestPhoneMatches(t *testing.T) {
	people, relations := demoPeople()
	twin := flowstest.Person{Ref: flows.Ref{Object: "Account", ID: "001000000000003AAA"},
		Fields: map[string]string{"Name": "Janet Smithers", "Phone": "+44 20 7946 0001"}}
	crm := flowstest.NewCRM(append(people, twin), relations)
	store := &flowstest.Store{}
	e, err := flows.New(demoPolicy(), flows.Ports{CRM: crm, Recorder: crm, Store: store, Clock: flowstest.NewClock(t0)}, secret)
	require.NoError(t, err)
	h := &harness{e: e, store: store, crm: crm, ctx: t.Context(), clock: flowstest.NewClock(t0)}
	flags := func(v flows.View) map[string]bool {
		out := map[string]bool{}
		for _, r := range v.Results {
			out[r.ID] = r.PhoneMatch
		}
		return out
	}

	v := run(t, h, flows.StartRequest{Phone: "020 7946 0001"}, reason("Change of address"), subject(flows.SubjectSelf))
	assert.Equal(t, flows.PhoneMatchSeveral, v.PhoneMatch)
	assert.Equal(t, flows.StateSearch, v.State, "several matches: the agent searches")
	assert.Empty(t, v.Initiating)
	v = run(t, h, flows.StartRequest{Phone: "020 7946 0001"}, reason("Change of address"), subject(flows.SubjectSelf), search("person", "Smith"))
	assert.Equal(t, map[string]bool{janeID: true, twin.ID: true}, flags(v), "both matched the number")
	got, err := h.e.Get(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, flags(v), flags(got), "Get flags the remembered rows too")
	v = run(t, h, flows.StartRequest{Phone: "020 7946 0001"}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}))
	assert.Equal(t, map[string]bool{robertID: false}, flags(v))

	v = run(t, h, flows.StartRequest{Phone: "07700 900123", PhoneUntrusted: true}, reason("Change of address"), subject(flows.SubjectOther),
		searchFields("representative", map[string]string{"LastName": "Brown"}))
	assert.Equal(t, flows.PhoneMatchOne, v.PhoneMatch)
	assert.Empty(t, v.Initiating, "an untrusted caller id preselects nobody")
	assert.Equal(t, map[string]bool{robertID: true}, flags(v), "but flags the match")
	v = run(t, h, flows.StartRequest{Phone: "07700 900123"})
	assert.Equal(t, flows.PhoneMatchOne, v.PhoneMatch)
	assert.Equal(t, robert, v.Initiating)
	v = run(t, h, flows.StartRequest{Phone: noPhone})
	assert.Equal(t, flows.PhoneMatchNone, v.PhoneMatch)
	v = run(t, h, flows.StartRequest{Attendee: jane})
	assert.Zero(t, v.PhoneMatch, "not a start by phone")
}

// TestNewEngagementIsWrittenByTheWriteback: Start calls no Recorder for a new engagement; the
// write-back creates it with its creation fields, and no phone number.
func TestNewEngagementIsWrittenByTheWriteback(t *testing.T) {
	h := newHarness(t, demoPolicy())
	h.crm.Fail = errors.New("no CRM write at the start")
	v, err := h.e.Start(h.ctx, flows.StartRequest{Attendee: jane, Channel: "Web Chat", Authenticated: true, Key: "req-1"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(v.Engagement, "idv-"), v.Engagement)
	h.crm.Fail = nil
	v, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Reason: "Opening hours"})
	require.NoError(t, err)
	w := h.written(t)
	require.Len(t, w, 1)
	assert.Equal(t, flows.EngagementUpdate{ExternalID: v.Engagement, Type: flows.EngagementTypeInbound, Channel: "Web Chat",
		Start: t0, Authenticated: true, Reason: "Opening hours", Initiating: jane, Status: flows.EngagementStatusProgress},
		w[0].Engagement, "IsAttendeeAuthenticated is carried; it is not verification")
	again, err := h.e.Start(h.ctx, flows.StartRequest{Attendee: jane, Key: "req-1"})
	require.NoError(t, err)
	assert.Equal(t, v.Engagement, again.Engagement, "the same start key names the same engagement")
}

// TestExpireIdlePastAnUnreadableSession: a session that cannot be read (stored by an
// incompatible version, or damaged), listed first because it has been idle longest, does not
// stop ExpireIdle ending the sessions after it; ExpireIdle still reports the failure.
func TestExpireIdlePastAnUnreadableSession(t *testing.T) {
	h := newHarness(t, demoPolicy())
	_, err := h.store.Commit(h.ctx, flows.Commit{Session: "damaged", Data: []byte("not a session"), Expires: t0.Add(-time.Hour)})
	require.NoError(t, err)
	abandoned := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-abandoned"}, reason("Change of address"))
	h.clock.Advance(time.Hour)

	n, err := h.e.ExpireIdle(h.ctx, 100)
	require.ErrorIs(t, err, flows.ErrUnavailable, "the unreadable session is reported")
	assert.Equal(t, 1, n, "the abandoned session after it is ended")
	got, err := h.e.Get(h.ctx, abandoned.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeExpired, got.Outcome)
}
