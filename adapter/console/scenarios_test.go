package console_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/sfdc"
)

var resultRE = regexp.MustCompile(`name="record" value="([^"]+)" required aria-label="Pick ([^"]*)"`)

// pick selects the search result whose label holds name.
func (b *browser) pick(name string) *browser {
	b.e.t.Helper()
	for _, m := range resultRE.FindAllStringSubmatch(b.page, -1) {
		if strings.Contains(html.UnescapeString(m[2]), name) {
			return b.post("/select", url.Values{"record": {m[1]}})
		}
	}
	require.FailNow(b.e.t, "no result", "no result for %q on %s:\n%s", name, b.url, b.page)
	return b
}

// toRepresentative starts a call from a number nobody has, for someone else, up to the
// representative's search.
func (b *browser) toRepresentative(callID string) *browser {
	b.e.t.Helper()
	b.get("/console/").post("/console/start", url.Values{"phone": {"+1 415 555 0999"}, "call_id": {callID}})
	b.post("/reason", url.Values{"reason": {"Change of address"}})
	return b.post("/subject", url.Values{"subject": {"other"}}).has("Find the representative", "Someone calling for a customer",
		"Representative not identified")
}

func TestScenarios(t *testing.T) {
	e := newEnv(t)
	t.Run("representative and customer", func(t *testing.T) {
		b := e.browser(&agentAnna).toRepresentative("call-rep")
		b.post("/search", url.Values{"field_LastName": {"Chen"}}).has("Julia Chen").pick("Julia Chen")
		b.has("Questions for the representative")
		b.post("/answers", url.Values{"v_Birthdate": {"19 August 1983"}, "v_MobilePhone": {"415 555 0202"}})
		b.has("The representative is verified", "Find the customer", "Customer not identified")
		b.post("/search", url.Values{"keywords": {"Alice"}}).pick("Alice Martin")
		b.has("Questions for the customer", "Expected: ")
		b.post("/answers", url.Values{"v_PersonBirthdate": {aliceBirth}, "v_PersonMobilePhone": {}, "a_PersonMailingPostalCode": {"correct"}})
		b.has("Verified", "Open the record in Salesforce")
	})
	t.Run("representative not identified", func(t *testing.T) {
		b := e.browser(&agentAnna).toRepresentative("call-notid")
		b.post("/search", url.Values{"field_LastName": {"Nobody"}}).has("Nobody matches")
		b.post("/not-identified", nil).has("Representative not identified", "Nobody was verified")
	})
	t.Run("failed", func(t *testing.T) {
		b := e.browser(&agentAnna).toQuestions("call-failed")
		b.post("/answers", url.Values{"v_PersonBirthdate": {"01/01/1900"}}).has("Verification failed", "Stop processing")
	})
	t.Run("not required", func(t *testing.T) {
		b := e.browser(&agentAnna)
		b.get("/console/").post("/console/start", url.Values{"phone": {alicePhone}})
		b.post("/reason", url.Values{"reason": {"Opening hours and branches"}}).has("Verification not required")
	})
	t.Run("doesn't know, then locked", func(t *testing.T) {
		// Bruno: a wrong required answer fails a session; the third locks him (the limit is 3).
		b := e.browser(&agentAnna)
		for _, call := range []string{"call-lock-1", "call-lock-2", "call-lock-3"} {
			b.get("/console/").post("/console/start", url.Values{"phone": {"020 7946 0958"}, "call_id": {call}})
			b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
			b.post("/answers", url.Values{"dk_PersonBirthdate": {"1"}, "v_PersonBirthdate": {""}})
		}
		b.has("Locked", "Stop processing", "locked until")
		assert.Regexp(t, `locked until <time>\w{3} \d+ \w{3} \d{4}, \d\d:\d\d (GMT|BST)</time>`, b.page, "in Anna's time zone")
		// A fourth call about Bruno stops at his selection, with the time the lock lifts.
		b.get("/console/").post("/console/start", url.Values{"phone": {"020 7946 0958"}, "call_id": {"call-lock-4"}})
		b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
		b.has("This person is locked", "Locked until")
	})
	t.Run("new customer", func(t *testing.T) {
		b := e.browser(&agentAnna)
		// In person: the agent enters the start time in their own time zone (Anna's: London).
		london, err := time.LoadLocation("Europe/London")
		require.NoError(t, err)
		start := time.Now().Add(-10 * time.Minute).In(london).Truncate(time.Minute)
		b.get("/console/").post("/console/start", url.Values{"new_customer": {"1"}, "first_name": {"Nora"}, "last_name": {"Quinn"},
			"phone": {"+1 415 555 0777"}, "channel": {"In Person"}, "call_id": {"call-in-person"},
			"start_time": {start.Format("2006-01-02T15:04")}})
		b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
		b.has("New customer", "Open the Lead in Salesforce")
		e.deliver()
		engs := e.query(sfdc.Select("StartDateTime", "CommunicationChannel").From("EngagementInteraction").
			Where(sfdc.Eq("ExternalIdentifier", "call-in-person")))
		require.Len(t, engs, 1)
		got, ok := engs[0].Time("StartDateTime")
		require.True(t, ok)
		assert.True(t, got.Equal(start), "start %v, want %v", got, start)
		v, _ := engs[0].Get("CommunicationChannel")
		assert.Equal(t, "In Person", v)
	})
	t.Run("transfer", func(t *testing.T) {
		anna := e.browser(&agentAnna).toQuestions("call-transfer")
		anna.post("/answers", url.Values{"v_PersonBirthdate": {aliceBirth}, "v_PersonMobilePhone": {aliceMob}}).has("Verified")
		ben := e.browser(&agentBen)
		ben.get("/console/engagements/?id=call-transfer").has("Engagement call-transfer", "Verified", "self")
		assert.Regexp(t, `\d\d:\d\d E[SD]T`, ben.page, "in Ben's time zone")
		ben.get("/console/engagements/call-unknown").has("Not verified")
		// The screen pop of the transferred call, with the same call id: no questions again.
		ben.get("/console/start?phone=" + url.QueryEscape(alicePhone) + "&call_id=call-transfer")
		ben.post("/console/start", url.Values{"phone": {alicePhone}, "call_id": {"call-transfer"}})
		ben.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
		ben.has("Verified")
		assert.NotContains(t, ben.page, "Date of birth:")
	})
	t.Run("cancel", func(t *testing.T) {
		b := e.browser(&agentAnna).toQuestions("call-cancel")
		b.post("/cancel", nil).has("Cancelled")
	})
}
