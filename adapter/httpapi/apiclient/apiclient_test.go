package apiclient_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi/apiclient"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/flows/flowstest"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// newClient returns the demo server and a client of it with key whose every request and
// answer is checked against docs/openapi.yaml.
func newClient(t *testing.T, key string) (*httpapitest.Demo, *apiclient.Client) {
	t.Helper()
	d := httpapitest.NewDemo(t, t0, nil)
	c, err := apiclient.New(d.URL, key, apiclient.WithHTTPClient(&http.Client{Transport: &httpapitest.SpecChecker{T: t, Requests: true}}))
	require.NoError(t, err)
	return d, c
}

func at(s *apiclient.Session) apiclient.Step { return apiclient.Step{Version: s.Version} }

// A representative and the customer they speak for, through every kind of step.
func TestRepresentative(t *testing.T) {
	_, c := newClient(t, httpapitest.SoftphoneKey)
	ctx := t.Context()
	h, err := c.Healthz(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", h.Status)

	s, err := c.Start(ctx, apiclient.StartRequest{Phone: httpapitest.RobertPhone, Channel: "Voice Call", ExternalID: "call-rep", IdempotencyKey: "start-1"})
	require.NoError(t, err)
	assert.Equal(t, apiclient.StateReason, s.State)
	assert.Equal(t, &apiclient.Ref{Object: "Contact", ID: httpapitest.RobertID}, s.Initiating)
	assert.True(t, s.Takes(apiclient.StepReason))
	again, err := c.Start(ctx, apiclient.StartRequest{Phone: httpapitest.RobertPhone, Channel: "Voice Call", ExternalID: "call-rep", IdempotencyKey: "start-1"})
	require.NoError(t, err)
	assert.Equal(t, s.Session, again.Session, "the Idempotency-Key is sent")

	s, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: at(s), Reason: s.Next.Reasons[0].Name})
	require.NoError(t, err)
	s, err = c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: apiclient.SubjectOther})
	require.NoError(t, err)
	require.Equal(t, apiclient.StateSearch, s.State)
	require.Len(t, s.Next.SearchTypes, 1)
	assert.Equal(t, apiclient.SearchObject, s.Next.SearchTypes[0].Search)
	s, err = c.Search(ctx, s.Session, apiclient.SearchRequest{Step: at(s), SearchType: "representative", Fields: map[string]string{"LastName": "Brown"}})
	require.NoError(t, err)
	require.Len(t, s.Results, 1)
	assert.Equal(t, []string{"Robert Brown"}, s.Results[0].Values)
	s, err = c.Select(ctx, s.Session, apiclient.SelectRequest{Step: at(s), Record: httpapitest.RobertID})
	require.NoError(t, err)
	s, err = c.Answers(ctx, s.Session, apiclient.AnswersRequest{Step: at(s), Answers: []apiclient.Answer{
		{Field: "Birthdate", Value: "21/07/1962"}, {Field: "MobilePhone", Value: "07700900123"}}})
	require.NoError(t, err)
	require.Equal(t, apiclient.StateSearch, s.State)
	assert.Equal(t, "customer", s.Level)
	s, err = c.Search(ctx, s.Session, apiclient.SearchRequest{Step: at(s), Keywords: "Jane"})
	require.NoError(t, err)
	s, err = c.Select(ctx, s.Session, apiclient.SelectRequest{Step: at(s), Record: httpapitest.JaneID})
	require.NoError(t, err)
	s, err = c.Answers(ctx, s.Session, apiclient.AnswersRequest{Step: at(s), Answers: []apiclient.Answer{
		{Field: "PersonBirthdate", Value: "14 March 1980"}, {Field: "PersonMailingPostalCode", Value: "SW1A 1AA"}}})
	require.NoError(t, err)
	assert.Equal(t, apiclient.OutcomeVerified, s.Outcome)
	assert.Equal(t, []apiclient.Ref{{Object: "Contact", ID: httpapitest.RobertID}, {Object: "Account", ID: httpapitest.JaneID}}, s.Verified)

	got, err := c.Get(ctx, s.Session)
	require.NoError(t, err)
	assert.Equal(t, s.Version, got.Version)
	st, err := c.EngagementStatus(ctx, "call-rep", false)
	require.NoError(t, err)
	assert.True(t, st.Verified)
	require.Len(t, st.People, 2)
	assert.Equal(t, "representative", st.People[0].Role)
	assert.Equal(t, t0.Add(time.Hour), st.People[0].ValidUntil)
}

// Attest mode, not identified and cancel.
func TestAttestNotIdentifiedCancel(t *testing.T) {
	_, c := newClient(t, httpapitest.SoftphoneKey)
	ctx := t.Context()
	start := func() *apiclient.Session {
		s, err := c.Start(ctx, apiclient.StartRequest{Attendee: &apiclient.Ref{Object: "Account", ID: httpapitest.JaneID}, Channel: "In Person"})
		require.NoError(t, err)
		s, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: at(s), Reason: "Change of address"})
		require.NoError(t, err)
		return s
	}
	s := start()
	s, err := c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: apiclient.SubjectSelf, SearchType: "branch"})
	require.NoError(t, err)
	require.Len(t, s.Questions, 2)
	assert.Equal(t, apiclient.ModeAttest, s.Questions[0].Mode)
	assert.Equal(t, "SW1A 1AA", s.Questions[1].Expected, "revealed in full")
	s, err = c.Attest(ctx, s.Session, apiclient.AttestationsRequest{Step: at(s), Attestations: []apiclient.Attestation{
		{Field: "PersonBirthdate", Correct: true}, {Field: "PersonMailingPostalCode", Correct: true}}})
	require.NoError(t, err)
	assert.Equal(t, apiclient.OutcomeVerified, s.Outcome)

	s = start()
	s, err = c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: apiclient.SubjectOther})
	require.NoError(t, err)
	s, err = c.NotIdentified(ctx, s.Session, at(s))
	require.NoError(t, err)
	assert.Equal(t, apiclient.OutcomeNotIdentified, s.Outcome)

	s = start()
	s, err = c.Cancel(ctx, s.Session, at(s))
	require.NoError(t, err)
	assert.Equal(t, apiclient.OutcomeCancelled, s.Outcome)
}

// Problems come back as *Problem with their code and the members that go with it.
func TestProblems(t *testing.T) {
	d, c := newClient(t, httpapitest.SoftphoneKey)
	ctx := t.Context()
	s, err := c.Start(ctx, apiclient.StartRequest{Phone: httpapitest.JanePhone})
	require.NoError(t, err)

	_, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: apiclient.Step{Version: s.Version + 7}, Reason: "Change of address"})
	var p *apiclient.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, apiclient.CodeVersionConflict, p.Code)
	assert.Equal(t, http.StatusConflict, p.Status)
	assert.Equal(t, s.Version, p.CurrentVersion)

	_, err = c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: "self"})
	assert.True(t, apiclient.IsCode(err, apiclient.CodeStepOutOfOrder), "%v", err)
	_, err = c.Get(ctx, "no-such-session")
	assert.True(t, apiclient.IsCode(err, apiclient.CodeNotFound), "%v", err)

	// Three wrong answers lock Jane; a fourth session is refused at the subject with the time.
	for range 3 {
		s, err := c.Start(ctx, apiclient.StartRequest{Attendee: &apiclient.Ref{Object: "Account", ID: httpapitest.JaneID}})
		require.NoError(t, err)
		s, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: at(s), Reason: "Change of address"})
		require.NoError(t, err)
		s, err = c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: "self"})
		require.NoError(t, err)
		_, err = c.Answers(ctx, s.Session, apiclient.AnswersRequest{Step: at(s), Answers: []apiclient.Answer{{Field: "PersonBirthdate", DontKnow: true}}})
		require.NoError(t, err)
	}
	s, err = c.Start(ctx, apiclient.StartRequest{Attendee: &apiclient.Ref{Object: "Account", ID: httpapitest.JaneID}})
	require.NoError(t, err)
	s, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: at(s), Reason: "Change of address"})
	require.NoError(t, err)
	_, err = c.Subject(ctx, s.Session, apiclient.SubjectRequest{Step: at(s), Subject: "self"})
	require.ErrorAs(t, err, &p)
	assert.Equal(t, apiclient.CodePersonLocked, p.Code)
	require.NotNil(t, p.LockedUntil)
	assert.Equal(t, t0.Add(30*time.Minute), *p.LockedUntil)
	assert.Positive(t, p.RetryAfter)

	// The admin endpoints need the admin key.
	_, err = c.ResetLockout(ctx, httpapitest.JaneID, "verified in the branch", "")
	assert.True(t, apiclient.IsCode(err, "forbidden"), "%v", err)
	admin, err := apiclient.New(d.URL, httpapitest.OpsKey, apiclient.WithHTTPClient(&http.Client{Transport: &httpapitest.SpecChecker{T: t, Requests: true}}))
	require.NoError(t, err)
	r, err := admin.ResetLockout(ctx, httpapitest.JaneID, "verified in the branch", "reset-1")
	require.NoError(t, err)
	assert.Equal(t, 3, r.Cleared)
	assert.Equal(t, "ops", r.Actor)

	none, err := apiclient.New(d.URL, "")
	require.NoError(t, err)
	_, err = none.Get(ctx, s.Session)
	assert.True(t, apiclient.IsCode(err, apiclient.CodeUnauthorized), "%v", err)
	assert.NotContains(t, err.Error(), s.Session)
}

// The outbox's admin endpoints: the sessions above queued writes nobody delivered.
func TestOutbox(t *testing.T) {
	d, _ := newClient(t, httpapitest.SoftphoneKey)
	ctx := t.Context()
	admin, err := apiclient.New(d.URL, httpapitest.OpsKey, apiclient.WithHTTPClient(&http.Client{Transport: &httpapitest.SpecChecker{T: t, Requests: true}}))
	require.NoError(t, err)
	s, err := admin.Start(ctx, apiclient.StartRequest{Phone: httpapitest.JanePhone})
	require.NoError(t, err)
	_, err = admin.Cancel(ctx, s.Session, at(s))
	require.NoError(t, err)
	page, err := admin.ListOutbox(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, apiclient.OutcomeCancelled, page.Entries[0].Outcome)
	err = admin.RetryOutbox(ctx, page.Entries[0].ID, "")
	assert.Error(t, err, "a pending write is not parked")
	_, err = flowstest.Deliver(ctx, d.Store, d.CRM, d.Clock.Now())
	require.NoError(t, err)
	page, err = admin.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, page.Entries)
	assert.True(t, apiclient.IsCode(admin.DiscardOutbox(ctx, 99, ""), apiclient.CodeNotFound))
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://", "http://u:p@host", "http://host/?q=1",
		"ftp://u:hunter2@host", "u:hunter2@host:8080"} {
		_, err := apiclient.New(u, "k")
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "hunter2", "a password in the URL is not echoed")
	}
	_, err := apiclient.New("https://idverify.example.com/base/", "k")
	assert.NoError(t, err)
}

// A call that reaches no server says which route failed, never the ids in its path.
func TestTransportErrorsNameTheRoute(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	c, err := apiclient.New(d.URL, httpapitest.SoftphoneKey)
	require.NoError(t, err)
	s, err := c.Start(t.Context(), apiclient.StartRequest{Phone: httpapitest.JanePhone})
	require.NoError(t, err)
	dead, err := apiclient.New("http://127.0.0.1:1", httpapitest.SoftphoneKey)
	require.NoError(t, err)
	_, err = dead.Reason(t.Context(), s.Session, apiclient.ReasonRequest{Step: at(s), Reason: "Change of address"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "POST /v1/sessions/{id}/reason")
	assert.NotContains(t, err.Error(), s.Session)
	_, err = dead.ResetLockout(t.Context(), httpapitest.JaneID, "why", "")
	assert.Contains(t, err.Error(), "/v1/admin/lockouts/{person}/reset")
	assert.NotContains(t, err.Error(), httpapitest.JaneID)
}
