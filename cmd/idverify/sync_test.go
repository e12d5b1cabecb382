package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// runSync runs idverify sync with the example configuration and returns stdout, stderr and the
// error.
func runSync(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", "0123456789abcdef0123456789abcdef")
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"sync", "--config", filepath.Join("..", "..", "examples", "idverify.yaml")}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// withOrg points the configuration at a fake org with the demo data (the examples' ids).
func withOrg(t *testing.T) *sfdctest.Org {
	org := sfdctest.NewOrg(t, sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo}))
	for k, v := range map[string]string{"AUTH": "password", "LOGIN_URL": org.URL(), "CLIENT_ID": fakeorg.DemoClientID,
		"CLIENT_SECRET": fakeorg.DemoClientSecret, "USERNAME": fakeorg.DemoUsername, "PASSWORD": fakeorg.DemoPassword} {
		t.Setenv("IDVERIFY_SALESFORCE_"+k, v)
	}
	return org
}

// example copies an example file to a temporary directory, where its checkpoint will go.
func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func TestSyncCommandSendsTheExamples(t *testing.T) {
	withOrg(t)
	for _, name := range []string{"sync.jsonl", "sync.csv"} {
		out, _, err := runSync(t, "", example(t, name))
		require.NoError(t, err, name)
		assert.Contains(t, out, "sync complete via collections")
		assert.Contains(t, out, "landed    3")
		assert.NotContains(t, out, "Change of address", "no value in the output")
	}
	// Both files hold the same rows: the second created nothing.
	out, _, err := runSync(t, "", example(t, "sync.csv"))
	require.NoError(t, err)
	assert.Contains(t, out, "records   0 created, 8 updated")
}

func TestSyncCommandExitStatuses(t *testing.T) {
	withOrg(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	good, err := os.ReadFile(filepath.Join("..", "..", "examples", "sync.jsonl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, append(good, `{"ExternalIdentifier":"x-1","CommunicationChannel":"Telepathy","StartDateTime":"2026-03-02T09:14:05Z"}`+"\n"...), 0o600))
	_, stderr, err := runSync(t, "", in)
	var coded interface{ ExitCode() int }
	require.True(t, errors.As(err, &coded), "%v", err)
	assert.Equal(t, 2, coded.ExitCode())
	assert.Contains(t, stderr, "line 4: CommunicationChannel: is not a value of the picklist")
	assert.NotContains(t, stderr, "Telepathy")
	report, err := os.ReadFile(in + ".report.jsonl")
	require.NoError(t, err)
	assert.Contains(t, string(report), `"line":4`)

	// Standard input needs a checkpoint; with one it works.
	_, _, err = runSync(t, string(good), "-")
	require.ErrorContains(t, err, "--checkpoint")
	out, _, err := runSync(t, string(good), "-", "--checkpoint", filepath.Join(dir, "stdin.checkpoint"))
	require.NoError(t, err)
	assert.Contains(t, out, "landed    3")

	_, _, err = runSync(t, "", "--via", "carrier", in)
	require.ErrorContains(t, err, "--via")
}

func TestSyncCommandWithoutCredentials(t *testing.T) {
	t.Setenv("IDVERIFY_SALESFORCE_AUTH", "")
	in := example(t, "sync.csv")
	_, _, err := runSync(t, "", in)
	require.ErrorContains(t, err, "no Salesforce credentials")
	_, statErr := os.Stat(in + ".checkpoint")
	assert.True(t, os.IsNotExist(statErr), "nothing written")

	out, stderr, err := runSync(t, "", "--dry-run", in)
	require.NoError(t, err)
	assert.Contains(t, stderr, "without the org's describe")
	assert.Contains(t, out, "dry run: 3 rows, 3 valid, 0 invalid; a sync would send 3 rows via collections in at least 6 API calls")
}

func TestSyncCommandFormatFlag(t *testing.T) {
	withOrg(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "sync.jsonl"))
	require.NoError(t, err)
	in := filepath.Join(t.TempDir(), "results.csv") // JSON Lines behind a misleading extension
	require.NoError(t, os.WriteFile(in, b, 0o600))
	out, _, err := runSync(t, "", "--format", "jsonl", in)
	require.NoError(t, err)
	assert.Contains(t, out, "landed    3")
	_, _, err = runSync(t, "", "--format", "xml", in)
	require.ErrorContains(t, err, "--format")
}

// A dry run writes no report, so neither its exit message nor its list of problems may send
// the user to one.
func TestSyncCommandDryRunPointsAtNoReport(t *testing.T) {
	t.Setenv("IDVERIFY_SALESFORCE_AUTH", "")
	in := filepath.Join(t.TempDir(), "in.jsonl")
	var b strings.Builder
	for range shownProblems + 2 {
		b.WriteString(`{"ExternalIdentifier":"x"}` + "\n")
	}
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
	_, stderr, err := runSync(t, "", "--dry-run", in)
	var coded interface{ ExitCode() int }
	require.True(t, errors.As(err, &coded), "%v", err)
	assert.Equal(t, 2, coded.ExitCode())
	assert.NotContains(t, err.Error(), "report.jsonl")
	assert.NotContains(t, stderr, "lists every one")
	_, statErr := os.Stat(in + ".report.jsonl")
	assert.True(t, os.IsNotExist(statErr), "a dry run writes no report")
}
