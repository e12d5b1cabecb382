package config

import (
	"path/filepath"
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

	// Salesforce's sample: Account text search; name and birth date required; phone and
	// postal code optional, at least one.
	customer, ok := p.SearchType("customer")
	require.True(t, ok)
	assert.Equal(t, "Account", customer.Object)
	assert.Equal(t, flows.SearchText, customer.Search)
	assert.Equal(t, []string{"Name", "PersonBirthdate", "Phone"}, customer.ResultFields)
	assert.Equal(t, []flows.Verifier{
		{Field: "Name", Label: "Full name", Match: flows.MatchName, Mode: flows.ModeCheck, Reveal: flows.RevealNone},
		{Field: "PersonBirthdate", Label: "Date of birth", Match: flows.MatchDate, Mode: flows.ModeCheck, Reveal: flows.RevealNone},
	}, customer.Required)
	assert.Equal(t, []flows.Verifier{
		{Field: "Phone", Label: "Phone number", Match: flows.MatchPhone, Mode: flows.ModeCheck, Reveal: flows.RevealNone},
		{Field: "PersonMailingPostalCode", Label: "Postal code", Match: flows.MatchPostalCode, Mode: flows.ModeAttest, Reveal: flows.RevealMasked},
	}, customer.Optional)
	assert.Equal(t, 1, customer.OptionalMin)
	assert.Empty(t, customer.Linked)

	// The representative's search type on Contact links to the customer's on Account.
	rep, ok := p.SearchType("representative")
	require.True(t, ok)
	assert.Equal(t, "Contact", rep.Object)
	assert.Equal(t, flows.SearchObject, rep.Search)
	assert.Equal(t, "customer", rep.Linked)
	assert.Equal(t, 1, rep.OptionalMin)

	assert.Equal(t, flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
		CustomerField: "AccountId", Roles: []string{}, RequireActive: true}, p.Representation)
	assert.Equal(t, flows.Lockout{MaxFailures: 5, Window: 30 * time.Minute}, p.Lockout)
	assert.Equal(t, flows.SessionLimits{IdleTimeout: 15 * time.Minute, MaxRetries: 1}, p.Session)
	assert.Equal(t, time.Hour, p.VerifiedTTL)
	assert.Equal(t, flows.Matching{DateOrder: flows.DMY, DefaultCountryCode: "44"}, p.Matching)
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
