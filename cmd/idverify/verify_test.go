package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/adapter/terminal"
)

// runVerify runs idverify verify with args and the script on stdin, and returns stdout and the
// exit status main would give.
func runVerify(t *testing.T, script []string, args ...string) (string, int) {
	t.Helper()
	for _, env := range []string{envServer, envAPIKey, "IDVERIFY_CONFIG", "IDVERIFY_SALESFORCE_AUTH"} {
		t.Setenv(env, "")
	}
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(strings.Join(script, "\n") + "\n"))
	root.SetArgs(append([]string{"verify"}, args...))
	err := root.ExecuteContext(t.Context())
	if err == nil {
		return out.String(), 0
	}
	var coded interface{ ExitCode() int }
	require.True(t, errors.As(err, &coded), "%v", err)
	t.Logf("stderr: %s", errOut.String())
	return out.String(), coded.ExitCode()
}

// Without --server, verify runs the demo service in-process: the embedded fake org behind
// adapter/salesforce, the example policy, SQLite; the demo callers of serve's banner.
func TestVerifyEmbedded(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		script []string
		exit   int
		shows  []string
	}{
		{name: "Alice about herself", args: []string{"--phone", "+14155550101", "--channel", "Voice Call"},
			script: []string{"Change of address", "self", "12/04/1985", "+1 415 555 0101"},
			exit:   terminal.ExitVerified, shows: []string{"Verified.", "as self (level caller)"}},
		{name: "Julia for Emma", args: []string{"--phone", "(415) 555-0202", "--channel", "Voice Call", "--call-id", "demo-2"},
			script: []string{"Account balance", "other", "representative", "Chen", "", "1", "19 August 1983", "+1 415 555 0202",
				"customer", "Emma Jones", "1", "24 December 2001", "", "correct"},
			exit: terminal.ExitVerified, shows: []string{"Julia Chen", "as representative (level caller)",
				"as customer (level customer)", "Engagement: demo-2"}},
		{name: "Alice does not know", args: []string{"--phone", "+14155550101", "--channel", "Voice Call"},
			script: []string{"Change of address", "self", "?"},
			exit:   terminal.ExitNotVerified, shows: []string{"Failed: a required answer was wrong."}},
		{name: "a script that ends early", args: []string{"--phone", "+14155550101", "--channel", "Voice Call"},
			script: []string{"Change of address"},
			exit:   terminal.ExitError, shows: []string{"(the script ended)", "Cancelled."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, exit := runVerify(t, tt.script, tt.args...)
			assert.Equal(t, tt.exit, exit, out)
			for _, s := range tt.shows {
				assert.Contains(t, out, s)
			}
			for _, s := range []string{"12/04/1985", "415 555 0101", "19 August 1983", "555 0202", "24 December 2001"} {
				assert.NotContains(t, out, s, "an answer is printed")
			}
		})
	}
}

// With --server, verify is a client of that server, with the key given.
func TestVerifyServer(t *testing.T) {
	d := httpapitest.NewDemo(t, time.Now().UTC(), nil)
	_, exit := runVerify(t, nil, "--server", d.URL)
	assert.Equal(t, terminal.ExitError, exit, "no key")
	_, exit = runVerify(t, nil, "--server", d.URL, "--api-key", "wrong", "--phone", httpapitest.JanePhone, "--channel", "Voice Call")
	assert.Equal(t, terminal.ExitError, exit, "a wrong key")

	// Three wrong answers lock Jane (the demo's limit): the third session exits 2.
	for _, want := range []int{terminal.ExitNotVerified, terminal.ExitNotVerified, terminal.ExitLocked} {
		out, exit := runVerify(t, []string{"Change of address", "self", "person", "01/01/1999"},
			"--server", d.URL, "--api-key", httpapitest.SoftphoneKey, "--phone", httpapitest.JanePhone, "--channel", "Voice Call")
		assert.Equal(t, want, exit, out)
	}
}

// The flags that say how a session starts, against a demo server whose clock is now.
func TestVerifyStartFlags(t *testing.T) {
	d := httpapitest.NewDemo(t, time.Now().UTC(), nil)
	server := []string{"--server", d.URL, "--api-key", httpapitest.SoftphoneKey}
	visit := time.Now().Add(-10 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name   string
		args   []string
		script []string
		exit   int
		shows  []string
	}{
		{name: "in person, a record", args: []string{"--start-time", visit, "--record", "Account/" + httpapitest.JaneID},
			script: []string{"Change of address", "self", "person", "14/03/1980", "sw1a 1aa"},
			exit:   terminal.ExitVerified, shows: []string{"The caller is Account " + httpapitest.JaneID + ".", "Verified."}},
		{name: "in person, by phone, the start time asked", args: []string{"--in-person", "--phone", httpapitest.JanePhone},
			script: []string{"", "Opening hours"},
			exit:   terminal.ExitNotVerified, shows: []string{"When did the visit begin?", "The number matches one record"}},
		{name: "a new customer", args: []string{"--new-customer", "--channel", "Chat"},
			script: []string{"Ann", "Newcomb", "Newcomb Ltd", "", "ann@example.com", "Change of address", "self"},
			exit:   terminal.ExitNotVerified, shows: []string{"A new customer: created Lead ", "A new customer: nothing to verify."}},
		{name: "a transfer", args: []string{"--transfer", "--call-id", "call-x"},
			script: []string{httpapitest.JanePhone, "", "Opening hours"},
			exit:   terminal.ExitNotVerified, shows: []string{"Nobody's verification holds on this call.", "Engagement: call-x"}},
		{name: "a transfer, the number given", args: []string{"--transfer", "--call-id", "call-y", "--phone", httpapitest.JanePhone, "--attestation", "A"},
			script: []string{"", "Opening hours"},
			exit:   terminal.ExitNotVerified, shows: []string{"Nobody's verification holds on this call.", "The number matches one record"}},
		{name: "an attestation without a number is dropped", args: []string{"--record", "Account/" + httpapitest.JaneID, "--attestation", "B"},
			script: []string{"", "Opening hours"}, exit: terminal.ExitNotVerified, shows: []string{"The caller is Account"}},
		{name: "a transfer of a record", args: []string{"--transfer", "--record", "Account/" + httpapitest.JaneID}, exit: terminal.ExitError},
		{name: "two ways", args: []string{"--phone", httpapitest.JanePhone, "--record", "Account/" + httpapitest.JaneID}, exit: terminal.ExitError},
		{name: "a record without its object", args: []string{"--record", httpapitest.JaneID}, exit: terminal.ExitError},
		{name: "a start time out of bounds", args: []string{"--start-time", time.Now().Add(-25 * time.Hour).Format(time.RFC3339)}, exit: terminal.ExitError},
		{name: "a transfer in person", args: []string{"--transfer", "--in-person"}, exit: terminal.ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, exit := runVerify(t, tt.script, append(server, tt.args...)...)
			assert.Equal(t, tt.exit, exit, out)
			for _, s := range tt.shows {
				assert.Contains(t, out, s)
			}
			for _, s := range []string{"14/03/1980", "sw1a", "7946 0001", "Newcomb", "Ann", "ann@example.com"} {
				assert.NotContains(t, out, s, "a typed value is printed")
			}
		})
	}
}
