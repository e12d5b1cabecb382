package webhook_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/webhook"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// From the step to the receiver: a session verified by the engine on a SQLite store queues its
// event in the step's commit; the outbox worker delivers it through the Sender; the receiver's
// Verify accepts it; and the payload holds no personal value of the person.
func TestEventFromTheStepToTheReceiver(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	jane := flows.Ref{Object: "Account", ID: "001000000000001AAA"}
	crm := flowstest.NewCRM([]flowstest.Person{{Ref: jane, Fields: map[string]string{"Name": "Jane Smith",
		"PersonBirthdate": "1980-03-14"}}}, nil)
	p := flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}},
		SearchTypes: []flows.SearchType{{Name: "person", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
			ResultFields: []string{"Name"}, Required: []flows.Verifier{{Field: "PersonBirthdate", Mode: flows.ModeAttest, Reveal: flows.RevealFull}}}},
		Events: []flows.Subscription{{Name: "crm", Events: []flows.EventType{flows.EventVerified}}},
	}
	clock := flowstest.NewClock(t0)
	e, err := flows.New(p, flows.Ports{CRM: crm, Recorder: crm, Store: st, Clock: clock}, secret)
	require.NoError(t, err)
	v, err := e.Start(ctx, flows.StartRequest{Attendee: jane, ExternalID: "call-42"})
	require.NoError(t, err)
	v, err = e.SetReason(ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
	require.NoError(t, err)
	v, err = e.SetSubject(ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	v, err = e.Attest(ctx, flows.AttestRequest{Session: v.Session, Version: v.Version,
		Attestations: []flows.Attestation{{Field: "PersonBirthdate", Correct: true}}})
	require.NoError(t, err)
	require.Equal(t, flows.OutcomeVerified, v.Outcome)

	r := newReceiver(t)
	sender := newSender(t, r.srv.URL, true, webhook.Options{})
	w := &outbox.Worker{Outbox: st, Recorder: crm, Notifier: sender, Now: clock.Now}
	for range 2 {
		_, err := w.RunOnce(ctx)
		require.NoError(t, err)
	}
	assert.Len(t, crm.Writebacks(), 1, "the write-back went to the CRM")
	bodies, errs := r.received()
	require.Len(t, bodies, 1, "the event went to the webhook")
	require.NoError(t, errs[0])
	var got struct {
		Type, Engagement, Outcome, Session string
		People                             []struct{ Record, Role, Level string }
	}
	require.NoError(t, json.Unmarshal(bodies[0], &got))
	assert.Equal(t, "verified", got.Type)
	assert.Equal(t, "call-42", got.Engagement)
	assert.NotEmpty(t, got.Session)
	assert.NotContains(t, string(bodies[0]), v.Session, "the session's digest, never its id")
	require.Len(t, got.People, 1)
	assert.Equal(t, jane.ID, got.People[0].Record)
	assert.Equal(t, "self", got.People[0].Role)
	for _, personal := range []string{"Jane", "Smith", "1980"} {
		assert.NotContains(t, string(bodies[0]), personal)
	}
	list, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, list, "both delivered")
}
