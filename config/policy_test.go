package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

func TestExampleValidatesAndConvertsToAPolicy(t *testing.T) {
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey) // the example keeps its secret out of the file
	c, err := Load(Options{File: filepath.Join("..", "examples", "idverify.yaml")})
	require.NoError(t, err)
	assert.True(t, c.Salesforce.Embedded(), "the example runs against the embedded fake org")

	p, err := c.Policy()
	require.NoError(t, err)
	require.NoError(t, p.Validate())

	assert.Equal(t, []flows.Reason{
		{Name: "Change of address", Confidential: true},
		{Name: "Account balance", Confidential: true},
		{Name: "Lost or stolen card", Confidential: true},
		{Name: "Opening hours and branches"},
	}, p.Reasons)

	// Salesforce's sample in check mode: Account text search; the results show name, city and a
	// masked phone, never an answer; birth date required; mobile and postal code optional, one
	// needed.
	customer, ok := p.SearchType("customer")
	require.True(t, ok)
	assert.Equal(t, "Account", customer.Object)
	assert.Equal(t, flows.SearchText, customer.Search)
	assert.Equal(t, []string{"Name", "PersonEmail"}, customer.SearchFields)
	assert.Equal(t, []string{"Name", "PersonMailingCity", "Phone"}, customer.ResultFields)
	assert.Equal(t, []string{"Phone"}, customer.MaskedResultFields)
	assert.Equal(t, []flows.Verifier{
		{Field: "PersonBirthdate", Label: "Date of birth", Match: flows.MatchDate, Mode: flows.ModeCheck, Reveal: flows.RevealNone},
	}, customer.Required)
	assert.Equal(t, []flows.Verifier{
		{Field: "PersonMobilePhone", Label: "Mobile number", Match: flows.MatchPhone, Mode: flows.ModeCheck, Reveal: flows.RevealNone},
		{Field: "PersonMailingPostalCode", Label: "Postal code", Match: flows.MatchPostalCode, Mode: flows.ModeAttest, Reveal: flows.RevealMasked},
	}, customer.Optional)
	assert.Equal(t, 1, customer.OptionalMin)
	assert.Empty(t, customer.Linked)

	// The representative's search type on Contact links to the customer's on Account.
	rep, ok := p.SearchType("representative")
	require.True(t, ok)
	assert.Equal(t, "Contact", rep.Object)
	assert.Equal(t, flows.SearchObject, rep.Search)
	assert.Equal(t, []string{"Name", "MailingCity", "Phone"}, rep.ResultFields)
	assert.Equal(t, []string{"Phone"}, rep.MaskedResultFields)
	assert.Equal(t, "customer", rep.Linked)
	assert.Equal(t, 1, rep.OptionalMin)

	// No search type shows the agent, or searches by, a field it asks in check mode.
	for _, st := range p.SearchTypes {
		for _, v := range slices.Concat(st.Required, st.Optional) {
			if v.Mode == flows.ModeCheck {
				assert.NotContains(t, st.ResultFields, v.Field, "%s shows %s", st.Name, v.Field)
				assert.NotContains(t, st.SearchFields, v.Field, "%s searches by %s", st.Name, v.Field)
			}
		}
	}

	assert.Equal(t, flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
		CustomerField: "AccountId", Roles: []string{}, RequireActive: true}, p.Representation)
	assert.Equal(t, flows.Lockout{MaxFailures: 5, Window: 30 * time.Minute}, p.Lockout)
	// As the seed says: a failed verification ends the session (the agent stops processing).
	assert.Equal(t, flows.SessionLimits{IdleTimeout: 15 * time.Minute, MaxRetries: 0}, p.Session)
	assert.Equal(t, time.Hour, p.VerifiedTTL)
	assert.Equal(t, flows.Matching{DateOrder: flows.DMY, DefaultCountryCode: "44", Languages: []flows.Language{flows.English}}, p.Matching)
}

func TestPolicyDefaultsModeAndReveal(t *testing.T) {
	c := valid()
	c.SearchTypes[0].OptionalVerifiers = []Verifier{
		{Field: "Phone"}, // attest: the agent must see the value
		{Field: "AccountNumber", Mode: "check", Match: "exact"}, // check: nothing revealed
	}
	p, err := c.Policy()
	require.NoError(t, err)
	got := p.SearchTypes[0].Optional
	assert.Equal(t, flows.Verifier{Field: "Phone", Mode: flows.ModeAttest, Reveal: flows.RevealFull}, got[0])
	assert.Equal(t, flows.Verifier{Field: "AccountNumber", Match: flows.MatchExact, Mode: flows.ModeCheck, Reveal: flows.RevealNone}, got[1])
}

// Every value the engine reads is carried over as configured, not only the values the example
// happens to use (optional_min above 1, several languages, masked result fields).
func TestPolicyKeepsEveryValue(t *testing.T) {
	c := valid()
	c.SearchTypes[0].OptionalVerifiers = append(c.SearchTypes[0].OptionalVerifiers,
		Verifier{Field: "AccountNumber", Match: "exact", Mode: "check"})
	c.SearchTypes[0].OptionalMin = 2
	c.Matching = Matching{DateOrder: "mdy", DefaultCountryCode: "39", Languages: []string{"it", "en"}}
	c.Session.MaxRetries = 2
	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, 2, p.SearchTypes[0].OptionalMin)
	assert.Len(t, p.SearchTypes[0].Optional, 3)
	assert.Equal(t, []string{"Phone"}, p.SearchTypes[0].MaskedResultFields)
	assert.Equal(t, flows.Matching{DateOrder: flows.MDY, DefaultCountryCode: "39",
		Languages: []flows.Language{flows.Italian, flows.English}}, p.Matching)
	assert.Equal(t, 2, p.Session.MaxRetries)
}

func TestPolicyWithRepresentationDisabledChecksNothing(t *testing.T) {
	c := valid()
	c.Representation.Enabled = false
	c.Representation.Object = "" // ignored when disabled
	p, err := c.Policy()
	require.NoError(t, err)
	assert.False(t, p.Representation.Enabled())
}

func TestPolicyRefusesAnInvalidConfig(t *testing.T) {
	c := valid()
	c.SearchTypes[0].OptionalMin = 9
	_, err := c.Policy()
	var ps Problems
	require.ErrorAs(t, err, &ps)
	assert.Equal(t, "search_types[0].optional_min", ps[0].Path)
}

func TestPolicyDoesNotShareSlicesWithTheConfig(t *testing.T) {
	c := valid()
	p, err := c.Policy()
	require.NoError(t, err)
	c.SearchTypes[0].ResultFields[0] = "Changed"
	assert.Equal(t, "Name", p.SearchTypes[0].ResultFields[0])
}

func TestPolicySubscribesTheWebhooks(t *testing.T) {
	c := valid()
	c.Events.Timeout = time.Second
	c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://h.example/x", Secret: Secret(strings.Repeat("s", 32)),
		Events: []string{"locked", "verified", "locked"}}}
	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, []flows.Subscription{{Name: "crm", Events: []flows.EventType{flows.EventLocked, flows.EventVerified}}}, p.Events)
}
