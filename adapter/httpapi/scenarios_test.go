package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Every scenario of the source process, over HTTP, on each store.
func TestScenarios(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("self with a registered number", func(t *testing.T) { testSelfRegistered(t, b) })
			t.Run("self searched", func(t *testing.T) { testSelfSearched(t, b) })
			t.Run("representative and customer", func(t *testing.T) { testRepresentative(t, b) })
			t.Run("not identified", func(t *testing.T) { testNotIdentified(t, b) })
			t.Run("failed", func(t *testing.T) { testFailed(t, b) })
			t.Run("locked, and the admin's reset", func(t *testing.T) { testLocked(t, b) })
			t.Run("not required", func(t *testing.T) { testNotRequired(t, b) })
			t.Run("new customer", func(t *testing.T) { testNewCustomer(t, b) })
			t.Run("attest mode reveals as configured", func(t *testing.T) { testAttest(t, b) })
			t.Run("several phone matches", func(t *testing.T) { testSeveralMatches(t, b) })
			t.Run("an attestation below the minimum suggests", func(t *testing.T) { testAttestation(t, b) })
			t.Run("cancel", func(t *testing.T) { testCancel(t, b) })
			t.Run("outbox admin", func(t *testing.T) { testOutboxAdmin(t, b) })
		})
	}
}

func testSelfRegistered(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone, "channel": "Voice Call", "external_id": "call-1"})
	assert.Equal(t, "reason", s.State)
	assert.Equal(t, "one", s.PhoneMatch)
	assert.Equal(t, &ref{"Account", janeID}, s.Initiating)
	assert.Equal(t, "call-1", s.Engagement)
	assert.Equal(t, []string{"reason", "cancel"}, s.Next.Steps)
	require.Len(t, s.Next.Reasons, 2)
	assert.Equal(t, "Change of address", s.Next.Reasons[0].Name)
	assert.True(t, s.Next.Reasons[0].Confidential)

	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	assert.Equal(t, "subject", s.State)
	assert.Equal(t, []string{"self", "other"}, s.Next.Subjects)
	require.Len(t, s.Next.SearchTypes, 3, "the search types of the caller's object")

	s = e.step(s, "subject", map[string]any{"subject": "self"})
	require.Equal(t, "questions", s.State)
	assert.Equal(t, []string{"answers", "cancel"}, s.Next.Steps)
	require.Len(t, s.Questions, 3)
	assert.Equal(t, question{Field: "PersonBirthdate", Label: "What is your PersonBirthdate?", Mode: "check", Verdict: "pending"}, s.Questions[0])

	// One at a time: the verdict is withheld until the level is decided.
	s = e.step(s, "answers", map[string]any{"answers": janeAnswers[:1]})
	assert.Equal(t, "questions", s.State)
	assert.Equal(t, "answered", s.Questions[0].Verdict)
	s = e.step(s, "answers", map[string]any{"answers": janeAnswers[1:]})
	assert.Equal(t, "done", s.State)
	assert.Equal(t, "verified", s.Outcome)
	assert.Equal(t, &ref{"Account", janeID}, s.Open)
	assert.Equal(t, "correct", s.Questions[0].Verdict)
	assert.Empty(t, s.Next.Steps)

	// The agent the call is transferred to reads the status by the call id, and, once the
	// engagement is written, by its Salesforce id.
	status := e.status(url.Values{"external_id": {"call-1"}})
	assert.True(t, status.Verified)
	require.Len(t, status.People, 1)
	assert.Equal(t, verifiedPerson{Record: janeID, Role: "self", Level: "caller", VerifiedAt: t0, ValidUntil: t0.Add(time.Hour)}, status.People[0])
	e.deliver()
	id, ok := e.crm.EngagementID("call-1")
	require.True(t, ok)
	assert.Equal(t, status, e.status(url.Values{"id": {id}}))
	assert.False(t, e.status(url.Values{"external_id": {"call-2"}}).Verified)

	// A session attached to the engagement (a transfer) reuses the mark.
	s = e.start(map[string]any{"engagement": id})
	assert.Equal(t, "call-1", s.Engagement)
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	assert.Equal(t, "verified", s.Outcome, "no questions again")
}

type engagementStatus struct {
	Engagement string           `json:"engagement"`
	Verified   bool             `json:"verified"`
	People     []verifiedPerson `json:"people"`
}

type verifiedPerson struct {
	Record     string    `json:"record"`
	Role       string    `json:"role"`
	Level      string    `json:"level"`
	VerifiedAt time.Time `json:"verified_at"`
	ValidUntil time.Time `json:"valid_until"`
}

func (e *env) status(q url.Values) engagementStatus {
	e.t.Helper()
	r := e.client.do(http.MethodGet, "/v1/engagements/status?"+q.Encode(), nil)
	require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
	var s engagementStatus
	require.NoError(e.t, json.Unmarshal(r.body, &s))
	return s
}

func testSelfSearched(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": nobodyPhone, "channel": "Voice Call"})
	assert.Equal(t, "none", s.PhoneMatch)
	assert.Nil(t, s.Initiating)
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	assert.Equal(t, "search", s.State)
	assert.Equal(t, []string{"search", "not-identified", "cancel"}, s.Next.Steps)
	require.Len(t, s.Next.SearchTypes, 4, "any search type for a caller about themself")
	s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Jane Smith"})
	assert.Equal(t, "select", s.State)
	require.Len(t, s.Results, 1)
	assert.Equal(t, result{Object: "Account", ID: janeID, Values: []string{"Jane Smith", "London"}}, s.Results[0])
	assert.Equal(t, []string{"select", "search", "not-identified", "cancel"}, s.Next.Steps)
	assert.Nil(t, e.get(s.Session).Results[0].Values, "a session keeps the result ids only")

	s = e.step(s, "select", map[string]any{"record": janeID})
	assert.Equal(t, "questions", s.State)
	s = e.step(s, "answers", map[string]any{"answers": janeAnswers})
	assert.Equal(t, "verified", s.Outcome)
	assert.Regexp(t, `^idv-`, s.Engagement, "an engagement idverify names")
}

func testRepresentative(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": robertPhone, "channel": "Voice Call", "external_id": "call-rep"})
	assert.Equal(t, &ref{"Contact", robertID}, s.Initiating)
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "other"})
	assert.Equal(t, "search", s.State, "a representative is searched for, registered or not")
	require.Len(t, s.Next.SearchTypes, 1)
	assert.Equal(t, "representative", s.Next.SearchTypes[0].Name)
	assert.Equal(t, "object", s.Next.SearchTypes[0].Search)
	s = e.step(s, "search", map[string]any{"search_type": "representative", "fields": map[string]string{"LastName": "Brown"}})
	s = e.step(s, "select", map[string]any{"record": robertID})
	s = e.step(s, "answers", map[string]any{"answers": robertAnswers})
	assert.Equal(t, "search", s.State)
	assert.Equal(t, "customer", s.Level)
	require.Len(t, s.Next.SearchTypes, 1)
	assert.Equal(t, "customer", s.Next.SearchTypes[0].Name)
	s = e.step(s, "search", map[string]any{"keywords": "Jane"})
	s = e.step(s, "select", map[string]any{"record": janeID})
	s = e.step(s, "answers", map[string]any{"answers": janeAsCustomer})
	assert.Equal(t, "verified", s.Outcome)
	assert.Equal(t, []ref{{"Contact", robertID}, {"Account", janeID}}, s.Verified)
	assert.Equal(t, &ref{"Account", janeID}, s.Open)

	status := e.status(url.Values{"external_id": {"call-rep"}})
	require.Len(t, status.People, 2)
	assert.Equal(t, []string{"representative", "customer"}, []string{status.People[0].Role, status.People[1].Role})
	assert.Equal(t, []string{"caller", "customer"}, []string{status.People[0].Level, status.People[1].Level})
	assert.Equal(t, robertID, status.People[0].Record)
}

func testNotIdentified(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": nobodyPhone})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Nobody Atall"})
	assert.Empty(t, s.Results)
	s = e.step(s, "not-identified", nil)
	assert.Equal(t, "not_identified", s.Outcome)
}

func testFailed(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": janeID}, "channel": "In Person",
		"start_time": t0.Add(-time.Hour).Format(time.RFC3339)})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	s = e.step(s, "answers", map[string]any{"answers": []map[string]any{{"field": "PersonBirthdate", "dont_know": true}}})
	assert.Equal(t, "failed", s.Outcome)
	assert.Equal(t, "required_incorrect", s.Cause)
	assert.Equal(t, "incorrect", s.Questions[0].Verdict)
}

func testLocked(t *testing.T, b backend) {
	e := newEnv(t, b)
	wrong := []map[string]any{{"field": "PersonBirthdate", "value": "01/01/1999"}}
	var last session
	for range 3 { // lockout.max_failures
		s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": janeID}})
		s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
		s = e.step(s, "subject", map[string]any{"subject": "self"})
		last = e.step(s, "answers", map[string]any{"answers": wrong})
	}
	assert.Equal(t, "locked", last.Outcome)
	require.NotNil(t, last.LockedUntil)
	assert.Equal(t, t0.Add(30*time.Minute), *last.LockedUntil)

	// A new session cannot select her: 423 with the unlock time.
	s := e.start(map[string]any{"phone": nobodyPhone})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Jane"})
	r := e.stepResponse(e.client, s, "select", map[string]any{"record": janeID})
	p := r.problem(t, http.StatusLocked, "person_locked")
	require.NotNil(t, p.LockedUntil)
	assert.Equal(t, t0.Add(30*time.Minute), *p.LockedUntil)
	assert.Equal(t, "1800", r.header.Get("Retry-After"))
	assert.Equal(t, s.Version, e.get(s.Session).Version, "nothing changed")

	// The softphone's key may not reset; the admin's may, and is the actor of the audit.
	reset := map[string]any{"reason": "caller identified in the branch"}
	e.client.do(http.MethodPost, "/v1/admin/lockouts/"+janeID+"/reset", reset).problem(t, http.StatusForbidden, "forbidden")
	r = e.client.as(opsKey).do(http.MethodPost, "/v1/admin/lockouts/"+janeID+"/reset", reset)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var res struct {
		Person, Actor, Reason string
		Cleared               int
	}
	require.NoError(t, json.Unmarshal(r.body, &res))
	assert.Equal(t, janeID, res.Person)
	assert.Equal(t, "ops", res.Actor)
	assert.Equal(t, 3, res.Cleared)
	s = e.step(s, "select", map[string]any{"record": janeID})
	assert.Equal(t, "questions", s.State, "the lock is lifted")
	audit := e.audit(s.Engagement)
	assert.Equal(t, "softphone", audit[len(audit)-1].Actor, "the key's name is the actor of the steps")
}

func testNotRequired(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone})
	s = e.step(s, "reason", map[string]any{"reason": "Opening hours"})
	assert.Equal(t, "not_required", s.Outcome)
}

func testNewCustomer(t *testing.T, b backend) {
	e := newEnv(t, b)
	lead := map[string]any{"first_name": "Jane", "last_name": "Smith", "company": "Smith Ltd", "email": "jane@example.com"}
	r := e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"lead": lead, "channel": "In Person"}, "Idempotency-Key", "visit-1")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	s := r.session(t)
	require.NotNil(t, s.Initiating)
	assert.Equal(t, "Lead", s.Initiating.Object)
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	assert.Equal(t, "new_customer", s.Outcome)
	assert.Equal(t, s.Initiating, s.Open)
	assert.Len(t, e.crm.Leads(), 1)
}

func testAttest(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": janeID}})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self", "search_type": "branch"})
	require.Equal(t, "questions", s.State)
	assert.Equal(t, []string{"attestations", "cancel"}, s.Next.Steps)
	assert.Equal(t, question{Field: "PersonBirthdate", Label: "Date of birth", Mode: "attest", Verdict: "pending",
		Expected: "••••-••-14"}, s.Questions[0], "masked")
	assert.Equal(t, "SW1A 1AA", s.Questions[1].Expected, "full")
	assert.Equal(t, "SW1A 1AA", e.get(s.Session).Questions[1].Expected, "a read reveals as the step did")
	s = e.step(s, "attestations", map[string]any{"attestations": []map[string]any{{"field": "PersonBirthdate", "correct": true}}})
	assert.Empty(t, s.Questions[0].Expected, "an answered question reveals nothing")
	s = e.step(s, "attestations", map[string]any{"attestations": []map[string]any{{"field": "PersonMailingPostalCode", "correct": true}}})
	assert.Equal(t, "verified", s.Outcome)
}

func testSeveralMatches(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": sharedPhone})
	assert.Equal(t, "several", s.PhoneMatch)
	assert.Nil(t, s.Initiating)
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Lee"})
	require.Len(t, s.Results, 2)
	assert.True(t, s.Results[0].PhoneMatch)
	assert.True(t, s.Results[1].PhoneMatch)
}

func testAttestation(t *testing.T, b backend) {
	e := newEnv(t, b, withConfig(func(c *httpapi.Config) { c.MinAttestation = "B" }))
	for _, tt := range []struct {
		attestation string
		trusted     bool
	}{{"A", true}, {"B", true}, {"C", false}, {"", false}} {
		body := map[string]any{"phone": janePhone}
		if tt.attestation != "" {
			body["attestation"] = tt.attestation
		}
		s := e.start(body)
		assert.Equal(t, "one", s.PhoneMatch, tt.attestation)
		if !tt.trusted {
			assert.Nil(t, s.Initiating, "attestation %q is a suggestion, never filled in", tt.attestation)
			s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
			s = e.step(s, "subject", map[string]any{"subject": "self"})
			assert.Equal(t, "search", s.State)
			s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Jane"})
			require.Len(t, s.Results, 1)
			assert.True(t, s.Results[0].PhoneMatch, "flagged")
			continue
		}
		assert.Equal(t, &ref{"Account", janeID}, s.Initiating, tt.attestation)
	}
}

func testCancel(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone})
	s = e.step(s, "cancel", nil)
	assert.Equal(t, "cancelled", s.Outcome)
	e.stepResponse(e.client, s, "cancel", nil).problem(t, http.StatusConflict, "session_finished")
}

// An event for a webhook is listed with its type, in its webhook's queue.
func TestOutboxListsEvents(t *testing.T) {
	e := newEnv(t, backends[1], withPolicy(func(p *flows.Policy) {
		p.Events = []flows.Subscription{{Name: "crm", Events: []flows.EventType{flows.EventVerified}}}
	}))
	s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": janeID}, "external_id": "call-11"})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	s = e.step(s, "answers", map[string]any{"answers": janeAnswers})
	require.Equal(t, "verified", s.Outcome)
	var list struct {
		Entries []struct{ Engagement, Outcome, Event string }
	}
	require.NoError(t, json.Unmarshal(e.client.as(opsKey).do(http.MethodGet, "/v1/admin/outbox", nil).body, &list))
	require.Len(t, list.Entries, 2)
	assert.Equal(t, "call-11", list.Entries[0].Engagement)
	assert.Empty(t, list.Entries[0].Event)
	assert.Equal(t, "event/crm", list.Entries[1].Engagement)
	assert.Equal(t, "verified", list.Entries[1].Event)
	assert.Equal(t, "verified", list.Entries[1].Outcome)
}

func testOutboxAdmin(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone, "external_id": "call-9"})
	e.step(s, "reason", map[string]any{"reason": "Opening hours"})
	ops := e.client.as(opsKey)
	r := ops.do(http.MethodGet, "/v1/admin/outbox", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var list struct {
		Entries []struct {
			ID                               int64
			Key, Engagement, Outcome, Status string
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Entries, 1)
	assert.Equal(t, "call-9", list.Entries[0].Engagement)
	assert.Equal(t, "not_required", list.Entries[0].Outcome)
	assert.Equal(t, "pending", list.Entries[0].Status)
	id := list.Entries[0].ID

	// Only a parked write is retried or discarded.
	path := func(op string) string { return "/v1/admin/outbox/" + jsonNumber(id) + "/" + op }
	ops.do(http.MethodPost, path("retry"), nil).problem(t, http.StatusNotFound, "not_found")
	e.client.do(http.MethodGet, "/v1/admin/outbox", nil).problem(t, http.StatusForbidden, "forbidden")

	_, err := flowstest.Deliver(e.ctx, e.store, rejecting{e.crm}, e.clock.Now())
	require.Error(t, err)
	r = ops.do(http.MethodPost, path("retry"), nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	e.deliver()
	require.NoError(t, json.Unmarshal(ops.do(http.MethodGet, "/v1/admin/outbox", nil).body, &list))
	assert.Empty(t, list.Entries, "delivered")

	// Park another and discard it.
	s = e.start(map[string]any{"phone": janePhone, "external_id": "call-10"})
	e.step(s, "reason", map[string]any{"reason": "Opening hours"})
	_, _ = flowstest.Deliver(e.ctx, e.store, rejecting{e.crm}, e.clock.Now())
	require.NoError(t, json.Unmarshal(ops.do(http.MethodGet, "/v1/admin/outbox", nil).body, &list))
	require.Len(t, list.Entries, 1)
	assert.Equal(t, "parked", list.Entries[0].Status)
	id = list.Entries[0].ID
	require.Equal(t, http.StatusNoContent, ops.do(http.MethodPost, path("discard"), nil).status)
	ops.do(http.MethodPost, path("discard"), nil).problem(t, http.StatusNotFound, "not_found")
	e.raw.as(opsKey).do(http.MethodPost, "/v1/admin/outbox/x1/discard", nil).problem(t, http.StatusNotFound, "not_found")
	require.NoError(t, json.Unmarshal(ops.do(http.MethodGet, "/v1/admin/outbox", nil).body, &list))
	assert.Empty(t, list.Entries)
}

// rejecting is a Recorder that rejects every write for good: the outbox parks it.
type rejecting struct{ flows.Recorder }

func (rejecting) WriteOutcome(context.Context, flows.Writeback) error { return rejection{} }

type rejection struct{}

func (rejection) Error() string     { return "rejected" }
func (rejection) ErrorCode() string { return "FIELD_CUSTOM_VALIDATION_EXCEPTION" }

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
