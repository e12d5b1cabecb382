package flows_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// events returns the events queued in h's outbox, oldest first, for subscriber.
func events(t *testing.T, h *harness, subscriber string) []flows.Event {
	t.Helper()
	list, err := h.store.ListOutbox(h.ctx, 0, 0)
	require.NoError(t, err)
	var out []flows.Event
	for _, e := range list {
		if e.Event != nil && e.Event.Subscriber == subscriber {
			assert.Equal(t, "event/"+subscriber, e.Engagement, "one queue per subscriber")
			assert.Equal(t, e.Event.ID, e.Key)
			assert.Zero(t, e.Writeback.Key)
			out = append(out, *e.Event)
		}
	}
	return out
}

func TestEventsAreQueuedWithTheStep(t *testing.T) {
	p := demoPolicy()
	p.Events = []flows.Subscription{
		{Name: "all", Events: []flows.EventType{flows.EventVerified, flows.EventFailed, flows.EventLocked, flows.EventUnlocked}},
		{Name: "verified-only", Events: []flows.EventType{flows.EventVerified}},
	}
	h := newHarness(t, p)

	// A representative and the customer they speak for, verified.
	v := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-1"}, reason("Change of address"),
		subject(flows.SubjectOther), searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID),
		answer(robertAnswers...), search("customer", "Jane Smith"), pick(janeID), answer(janeAsCustomer...))
	require.Equal(t, flows.OutcomeVerified, v.Outcome)
	sum := sha256.Sum256([]byte(v.Session))
	sessionKey := base64.RawURLEncoding.EncodeToString(sum[:18])
	for _, sub := range []string{"all", "verified-only"} {
		evs := events(t, h, sub)
		require.Len(t, evs, 1, sub)
		assert.Equal(t, flows.Event{Type: flows.EventVerified, Subscriber: sub, ID: sessionKey + "/event/" + sub, At: t0,
			Session: sessionKey, Engagement: "call-1", Outcome: flows.OutcomeVerified, People: []flows.EventPerson{
				{Record: robert, Role: flows.VerifiedRepresentative, Level: flows.LevelCaller, Verified: true},
				{Record: jane, Role: flows.VerifiedCustomer, Level: flows.LevelCustomer, Verified: true}}}, evs[0])
		raw, err := json.Marshal(evs[0])
		require.NoError(t, err)
		assertNoPersonalData(t, raw, v.Session)
	}

	// Failed, failed, locked: Jane's third wrong answer.
	fail := func() flows.View {
		return run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf),
			search("person", "Jane"), pick(janeID), answer(flows.Answer{Field: "Name", Value: "Jane Doe"}))
	}
	fail()
	fail()
	locked := fail()
	require.Equal(t, flows.OutcomeLocked, locked.Outcome)
	// Nothing for a session that ends otherwise.
	run(t, h, flows.StartRequest{Phone: noPhone}, cancel())
	run(t, h, flows.StartRequest{Phone: noPhone}, reason("Opening hours"))

	h.clock.Advance(time.Minute)
	_, err := h.e.ResetFailures(h.ctx, flows.ResetRequest{Person: janeID, Actor: "ops", Reason: "identified in branch"})
	require.NoError(t, err)

	evs := events(t, h, "all")
	types := make([]flows.EventType, len(evs))
	for i, e := range evs {
		types[i] = e.Type
	}
	assert.Equal(t, []flows.EventType{flows.EventVerified, flows.EventFailed, flows.EventFailed, flows.EventLocked, flows.EventUnlocked}, types)
	assert.Equal(t, flows.CauseRequiredIncorrect, evs[1].Cause)
	assert.Equal(t, []flows.EventPerson{{Record: jane, Role: flows.VerifiedSelf, Level: flows.LevelCaller}}, evs[1].People)
	assert.Equal(t, locked.LockedUntil, evs[3].LockedUntil)
	assert.Equal(t, flows.Event{Type: flows.EventUnlocked, Subscriber: "all", ID: evs[4].ID, At: t0.Add(time.Minute), Actor: "ops",
		People: []flows.EventPerson{{Record: flows.Ref{ID: janeID}}}}, evs[4])
	assert.Len(t, events(t, h, "verified-only"), 1, "a subscriber gets the types it asked for")
}

func TestPolicyValidatesSubscriptions(t *testing.T) {
	for name, subs := range map[string][]flows.Subscription{
		"no name":        {{Events: []flows.EventType{flows.EventVerified}}},
		"upper case":     {{Name: "CRM", Events: []flows.EventType{flows.EventVerified}}},
		"duplicate":      {{Name: "a", Events: []flows.EventType{flows.EventVerified}}, {Name: "a", Events: []flows.EventType{flows.EventFailed}}},
		"no events":      {{Name: "a"}},
		"invalid a type": {{Name: "a", Events: []flows.EventType{9}}},
	} {
		p := demoPolicy()
		p.Events = subs
		assert.Error(t, p.Validate(), name)
	}
	for _, name := range []string{"verified", "failed", "locked", "unlocked"} {
		typ, ok := flows.ParseEventType(name)
		require.True(t, ok)
		assert.Equal(t, name, typ.String())
	}
	_, ok := flows.ParseEventType("expired")
	assert.False(t, ok)
}
