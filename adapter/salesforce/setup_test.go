package salesforce_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// The demo org's setup (Salesforce's sample, and a representative search linked to it) comes
// back as the search types it describes, and loads as a configuration.
func TestImportSetupRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.reset(t)
	out, err := salesforce.ImportSetup(ctx, e.org.Client, "")
	require.NoError(t, err)
	assert.Equal(t, int64(3), e.calls(), "definitions, details, fields")
	text := string(out)
	assert.Contains(t, text, `# Imported by idverify config import from the org's identity verification setup "Verify a Customer and Their Representative"`)

	file := filepath.Join(t.TempDir(), "idverify.yaml")
	require.NoError(t, os.WriteFile(file, append([]byte("reasons: [{name: Billing, confidential: true}]\n"), out...), 0o600))
	t.Setenv(config.EnvName("secrets.hmac_key"), "0123456789abcdef0123456789abcdef")
	cfg, err := config.Load(config.Options{File: file})
	require.NoError(t, err, "%s", out)
	p, err := cfg.Policy()
	require.NoError(t, err)

	attest := func(field, match string) flows.Verifier {
		return flows.Verifier{Field: field, Match: flows.MatchRule(match), Mode: flows.ModeAttest, Reveal: flows.RevealFull}
	}
	assert.Equal(t, []flows.SearchType{
		{Name: "Customer_Search", Label: "Search Customer", Object: "Account", Search: flows.SearchText,
			Filter: "IsPersonAccount = true", SortBy: "Name", SearchFields: []string{"Name", "Phone"},
			ResultFields: []string{"Name", "PersonBirthdate", "Phone"},
			Required:     []flows.Verifier{attest("Name", "name"), attest("PersonBirthdate", "date")},
			Optional:     []flows.Verifier{attest("Phone", "phone"), attest("PersonMailingPostalCode", "postal_code")},
			OptionalMin:  1},
		{Name: "Representative_Search", Label: "Search Representative", Object: "Contact", Search: flows.SearchText,
			Filter: "IsPersonAccount = false", SortBy: "Name", SearchFields: []string{"Name", "Phone"},
			ResultFields: []string{"Name", "Birthdate", "Phone"},
			Required:     []flows.Verifier{attest("Name", "name"), attest("Birthdate", "date")},
			Optional:     []flows.Verifier{attest("Phone", "phone"), attest("MailingPostalCode", "postal_code")},
			OptionalMin:  1, Linked: "Customer_Search"},
	}, p.SearchTypes)

	ps, err := salesforce.CheckOnline(ctx, e.org.Client, cfg)
	require.NoError(t, err)
	assert.Empty(t, ps, "the imported setup fits the org it came from")
}

func TestImportSetupFailures(t *testing.T) {
	t.Run("a definition the org does not have", func(t *testing.T) {
		e := newEnv(t)
		_, err := salesforce.ImportSetup(ctx, e.org.Client, "Nope")
		require.ErrorContains(t, err, "Verify_Customer_and_Representative")
	})
	t.Run("no setup", func(t *testing.T) {
		e := newEnv(t, func(_ *salesforce.Options, o *fakeorg.Options) { o.Seed = fakeorg.SeedNone })
		_, err := salesforce.ImportSetup(ctx, e.org.Client, "")
		require.ErrorContains(t, err, "no identity verification setup")
	})
	t.Run("org unavailable", func(t *testing.T) {
		e := newEnv(t)
		e.failAll(t, "*/query", fakeorg.FailServerUnavailable)
		_, err := salesforce.ImportSetup(ctx, e.org.Client, "")
		require.ErrorIs(t, err, flows.ErrUnavailable)
	})
}
