package salesforce_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// The engine's other endings, through the adapter, with the outbox delivered through it: what
// reaches the org is what Salesforce's own flow would have written.

// deliverAll delivers every queued write and returns how many.
func (d *drive) deliverAll(t testing.TB) int {
	t.Helper()
	n, err := flowstest.Deliver(ctx, d.store, d.e.a, time.Now().Add(time.Minute))
	require.NoError(t, err)
	return n
}

func TestFlowNewCustomer(t *testing.T) {
	d := newDrive(t)
	d.step(d.engine.Start(ctx, flows.StartRequest{Actor: "e2e", Key: "call-31", ExternalID: "call-31",
		Lead: &flows.Lead{FirstName: "Ada", LastName: "Quinn", Company: "Quinn Labs", Email: "ada@quinn.example"}}))
	lead := d.v.Initiating
	require.Equal(t, "Lead", lead.Object)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "e2e", Session: d.v.Session, Version: d.v.Version, Subject: flows.SubjectSelf}))
	require.Equal(t, flows.OutcomeNewCustomer, d.v.Outcome, "no search type for Leads in the example")
	require.Equal(t, 1, d.deliverAll(t))
	engs, topics, attendees := written(t, d.e, "call-31")
	require.Len(t, engs, 1)
	assert.Equal(t, lead.ID, field(engs[0], "InitiatingAttendeeId"))
	assert.Equal(t, "false", field(engs[0], "IsAttendeeVerified"))
	require.Len(t, topics, 1)
	assert.Equal(t, "Completed", field(topics[0], "ProcessStatus"))
	assert.Equal(t, lead.ID, field(topics[0], "RelatedPersonId"))
	assert.Empty(t, attendees, "nobody was selected")

	again, err := d.engine.Start(ctx, flows.StartRequest{Actor: "e2e", Key: "call-31", ExternalID: "call-31",
		Lead: &flows.Lead{FirstName: "Ada", LastName: "Quinn", Company: "Quinn Labs", Email: "ada@quinn.example"}})
	require.NoError(t, err)
	assert.Equal(t, lead, again.Initiating, "a repeated start creates no second Lead")
}

func TestFlowFailedVerification(t *testing.T) {
	d := newDrive(t)
	d.ctiStart(t)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "e2e", Session: d.v.Session, Version: d.v.Version, Subject: flows.SubjectSelf}))
	d.answer(t, flows.Answer{Field: "PersonBirthdate", Value: "01/01/1990"})
	require.Equal(t, flows.OutcomeFailed, d.v.Outcome)
	require.Equal(t, 1, d.deliverAll(t))
	engs, topics, attendees := written(t, d.e, d.v.Engagement)
	require.Len(t, engs, 1)
	assert.Equal(t, "false", field(engs[0], "IsAttendeeVerified"))
	assert.Equal(t, d.e.person(t, "alice").ID, field(engs[0], "InitiatingAttendeeId"), "the caller known at the start")
	require.Len(t, topics, 1)
	assert.Equal(t, "Failed", field(topics[0], "ProcessStatus"))
	require.Len(t, attendees, 1)
	assert.Equal(t, "false", field(attendees[0], "IsVerified"))
}

// A transfer: the second agent's session attaches to the engagement the first one's write-back
// created, and reuses the caller's verified status.
func TestFlowTransfer(t *testing.T) {
	d := newDrive(t)
	d.self(t)
	first := d.v
	engs, _, _ := written(t, d.e, first.Engagement)
	require.Len(t, engs, 1)
	d.e.reset(t)
	d.step(d.engine.Start(ctx, flows.StartRequest{Actor: "e2e", Engagement: string(engs[0].ID())}))
	assert.Equal(t, int64(1), d.e.calls(), "one read of the engagement")
	assert.Equal(t, first.Engagement, d.v.Engagement, "known by its ExternalIdentifier")
	assert.Equal(t, d.e.person(t, "alice"), d.v.Initiating)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "e2e", Session: d.v.Session, Version: d.v.Version, Subject: flows.SubjectSelf}))
	require.Equal(t, flows.OutcomeVerified, d.v.Outcome, "verified before the transfer: no questions")
	require.Equal(t, 1, d.deliverAll(t))
	engs, topics, attendees := written(t, d.e, first.Engagement)
	assert.Len(t, engs, 1)
	assert.Len(t, topics, 2, "one topic a session")
	assert.Len(t, attendees, 2)
}

// Salesforce down when a session ends: the agent still gets the outcome, the write waits and
// reaches the org once it is back.
func TestFlowOrgDownAtTheEnd(t *testing.T) {
	d := newDrive(t)
	d.ctiStart(t)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "e2e", Session: d.v.Session, Version: d.v.Version, Subject: flows.SubjectSelf}))
	d.e.org.ExhaustDailyLimit()
	d.answer(t, flows.Answer{Field: "PersonBirthdate", Value: "12/04/1985"}, flows.Answer{Field: "PersonMobilePhone", Value: "+14155550101"})
	require.Equal(t, flows.OutcomeVerified, d.v.Outcome)
	n, err := flowstest.Deliver(ctx, d.store, d.e.a, time.Now())
	require.ErrorIs(t, err, flows.ErrUnavailable)
	assert.Zero(t, n)
	list, err := d.store.ListOutbox(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "REQUEST_LIMIT_EXCEEDED", list[0].Code, "rescheduled with Salesforce's code")

	d.e.org.ResetDailyUsage()
	n, err = flowstest.Deliver(ctx, d.store, d.e.a, time.Now().Add(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	engs, _, _ := written(t, d.e, d.v.Engagement)
	assert.Len(t, engs, 1)
}
