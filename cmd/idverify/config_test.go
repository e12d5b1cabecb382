package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runConfigCheck(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"config", "check"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestConfigCheckAcceptsTheExample(t *testing.T) {
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", "0123456789abcdef0123456789abcdef")
	out, err := runConfigCheck(t, "--config", filepath.Join("..", "..", "examples", "idverify.yaml"), "--addr", ":9090")
	require.NoError(t, err)
	assert.Contains(t, out, "configuration OK: 4 reasons (3 confidential), 2 search types")
	assert.Contains(t, out, "Salesforce: the embedded fake org")
	assert.Contains(t, out, "listening on: :9090")
}

func TestConfigCheckPrintsEveryProblemAndFails(t *testing.T) {
	const secret = "not-long-enough"
	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
reasons: [{name: Hours}]
search_types:
  - name: customer
    object: Account
    search: text
    result_fields: [Name]
    required_verifiers: [{field: PersonBirthdate, match: dob, mode: check}]
    optional_min: 1
    linked_search_type: customer
secrets: {hmac_key: `+secret+`}
sever: {addr: ":80"}
`), 0o600))
	out, err := runConfigCheck(t, "--config", file)
	require.EqualError(t, err, "the configuration has 6 problems")
	assert.Equal(t, `sever: unknown key (did you mean "server"?); remove it or check its spelling (docs/CONFIGURATION.md lists every key)
reasons: no reason is confidential, so nobody would ever be verified: set confidential: true on the reasons that need verification
search_types[0].required_verifiers[0].match: unknown match rule "dob": use one of exact, text, name, date, phone, postal_code, number, last4
search_types[0].optional_min: is 1 but there are only 0 optional verifiers: lower it or add optional verifiers
search_types[0].linked_search_type: linked search types form a cycle (customer → customer): a customer search type must not link further; remove linked_search_type from the customer's search type
secrets.hmac_key: is 15 bytes: use at least 32 random bytes, e.g. from `+"`openssl rand -base64 32`"+`
`, out)
	assert.NotContains(t, out, secret)
}

func TestConfigCheckReportsAnUnreadableFile(t *testing.T) {
	_, err := runConfigCheck(t, "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.yaml")
}

func TestConfigCheckWithoutFileSaysSo(t *testing.T) {
	t.Setenv("IDVERIFY_CONFIG", "")
	out, err := runConfigCheck(t)
	require.Error(t, err)
	assert.Contains(t, out, "no configuration file given")
	assert.Contains(t, out, "reasons: no reasons")
}

func TestConfigCheckOnline(t *testing.T) {
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", "0123456789abcdef0123456789abcdef")
	example := filepath.Join("..", "..", "examples", "idverify.yaml")
	out, err := runConfigCheck(t, "--config", example, "--online")
	require.NoError(t, err, out)
	assert.Contains(t, out, "online: every configured object and field fits the org")
	assert.Contains(t, out, "configuration OK")

	// A typo'd object and a typo'd field fail, each named by its key path.
	t.Setenv("IDVERIFY_PHONE_FIELDS", `[{object: Acount, fields: [Phone]}, {object: Contact, fields: [Phone, MobilPhone]}]`)
	out, err = runConfigCheck(t, "--config", example, "--online")
	require.EqualError(t, err, "the org does not fit the configuration: 2 problems")
	assert.Contains(t, out, "phone_fields[0].object: the org has no object Acount")
	assert.Contains(t, out, "phone_fields[1].fields[1]: Contact has no field MobilPhone")
}

func TestConfigImport(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	file := filepath.Join(t.TempDir(), "setup.yaml")
	root.SetArgs([]string{"config", "import", "--config", writeConfig(t, "reasons: []\n"), "-o", file})
	require.NoError(t, root.Execute(), out.String())
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(b), "name: Customer_Search")
	assert.Contains(t, string(b), "linked_search_type: Customer_Search")
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "idverify.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	return file
}
