package terminal_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi/apiclient"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/adapter/terminal"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// run runs one verification from start with script as the agent's answers against d, and
// returns its result, error and output.
func run(t *testing.T, d *httpapitest.Demo, start terminal.Start, script ...string) (terminal.Result, error, string) {
	t.Helper()
	api, err := apiclient.New(d.URL, httpapitest.SoftphoneKey,
		apiclient.WithHTTPClient(&http.Client{Transport: &httpapitest.SpecChecker{T: t, Requests: true}}))
	require.NoError(t, err)
	var out bytes.Buffer
	in := strings.NewReader(strings.Join(script, "\n") + "\n")
	res, err := terminal.Verify(t.Context(), api, terminal.NewScript(in, &out), start)
	return res, err, out.String()
}

// answers are what the scripts below type for questions: none may be written back.
var answers = []string{"14/03/1980", "sw1a 1aa", "21 July 1962", "07700900123", "March 14, 1980", "SW1A1AA", "31/12/1999"}

// hidden are demo values no scenario may show: the birth dates (never revealed in full), the
// callers' numbers (typed or given, never echoed).
var hidden = []string{"1980-03-14", "1962-07-21", httpapitest.JanePhone, httpapitest.RobertPhone, "7946 0001"}

func TestScenarios(t *testing.T) {
	jane := terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call", CallID: "call-1"}
	tests := []struct {
		name    string
		start   terminal.Start
		script  []string
		outcome string
		exit    int
		shows   []string
	}{
		{name: "self, the number known", start: jane,
			script: []string{"Change of address", "self", "person",
				"14/03/1980", // PersonBirthdate, required: the verdict is withheld
				"sw1a 1aa"},  // PersonMailingPostalCode, optional: decides the level
			outcome: "verified", exit: terminal.ExitVerified,
			shows: []string{"The number matches one record (Account " + httpapitest.JaneID + ")", "Verified.",
				"record " + httpapitest.JaneID + " as self (level caller), valid until", "Engagement: call-1"}},
		{name: "self, phone and channel typed, searched by name",
			script: []string{"phone", httpapitest.NobodyPhone, "", "call-typed", "# the reason", "1", "self", "person", "Jane", "1",
				"14/03/1980", "SW1A1AA"},
			outcome: "verified", exit: terminal.ExitVerified,
			shows: []string{"How did the caller reach you?", "Caller's phone number:", "The number matches no record.", "Jane Smith · London", "Verified.",
				"Call id:", "Engagement: call-typed"}},
		{name: "representative and customer", start: terminal.Start{Phone: httpapitest.RobertPhone, Channel: "Voice Call", CallID: "call-rep"},
			script: []string{"Change of address", "other",
				"representative", "Brown", "", // LastName, MailingCity
				"Robert Brown", "21 July 1962", "07700900123",
				"customer", "Jane", "1", "March 14, 1980", "SW1A1AA"},
			outcome: "verified", exit: terminal.ExitVerified,
			shows: []string{"Find the caller (as a representative)", "Find the customer", "as representative (level caller)",
				"as customer (level customer)"}},
		{name: "failed: doesn't know", start: jane,
			script:  []string{"Change of address", "self", "person", terminal.DontKnow},
			outcome: "failed", exit: terminal.ExitNotVerified, shows: []string{"Failed: a required answer was wrong."}},
		{name: "a bad answer is asked again, not counted", start: jane,
			script:  []string{"Change of address", "self", "person", "not a date", "14/03/1980", "sw1a 1aa"},
			outcome: "verified", exit: terminal.ExitVerified, shows: []string{"Not accepted:", "Nothing was counted"}},
		{name: "an optional question skipped", start: jane,
			script: []string{"Change of address", "self", "person", "14/03/1980",
				"",               // PersonMailingPostalCode: skipped
				"020 7946 0001"}, // Phone
			outcome: "verified", exit: terminal.ExitVerified, shows: []string{"What is your Phone? (optional)"}},
		{name: "not identified", start: terminal.Start{Phone: httpapitest.NobodyPhone, Channel: "Voice Call"},
			script:  []string{"Change of address", "self", "person", "Nobody Atall", "not-identified"},
			outcome: "not_identified", exit: terminal.ExitNotVerified, shows: []string{"The search found nobody.", "Not identified."}},
		{name: "not required", start: jane, script: []string{"Opening hours"},
			outcome: "not_required", exit: terminal.ExitNotVerified, shows: []string{"No verification needed"}},
		{name: "attest mode shows what reveal allows", start: jane,
			script:  []string{"Change of address", "self", "branch", "correct", "✓ correct"},
			outcome: "verified", exit: terminal.ExitVerified, shows: []string{"Expected: SW1A 1AA", "Date of birth\n  Expected: "}},
		{name: "cancel", start: jane, script: []string{"Change of address", "cancel"},
			outcome: "cancelled", exit: terminal.ExitNotVerified, shows: []string{"Cancelled."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := httpapitest.NewDemo(t, t0, nil)
			res, err, out := run(t, d, tt.start, tt.script...)
			require.NoError(t, err, out)
			assert.Equal(t, tt.outcome, res.Session.Outcome, out)
			assert.Equal(t, tt.exit, res.ExitCode())
			for _, s := range tt.shows {
				assert.Contains(t, out, s)
			}
			for _, s := range append(answers, hidden...) {
				assert.NotContains(t, out, s, "the output shows an answer or a value no question reveals")
			}
		})
	}
}

// Three sessions that fail on Jane lock her: the third ends locked; a fourth is refused at the
// subject, told until when, and may only cancel.
func TestLocked(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	start := terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call"}
	for i, want := range []int{terminal.ExitNotVerified, terminal.ExitNotVerified, terminal.ExitLocked} {
		res, err, out := run(t, d, start, "Change of address", "self", "person", "31/12/1999")
		require.NoError(t, err, out)
		assert.Equal(t, want, res.ExitCode(), "session %d: %s", i+1, out)
	}
	res, err, out := run(t, d, start, "Change of address", "self", "person", "cancel")
	require.NoError(t, err, out)
	assert.Equal(t, "cancelled", res.Session.Outcome)
	require.NotNil(t, res.LockedUntil)
	assert.Equal(t, t0.Add(30*time.Minute), *res.LockedUntil)
	assert.Equal(t, terminal.ExitLocked, res.ExitCode())
	assert.Contains(t, out, "This person is locked after too many wrong answers until")
	assert.NotContains(t, out, "31/12/1999")
}

// A script that ends before the session does cancels it and is an error.
func TestScriptEndsEarly(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	res, err, out := run(t, d, terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call"}, "Change of address")
	require.ErrorIs(t, err, terminal.ErrAborted)
	require.NotNil(t, res.Session)
	assert.Equal(t, "cancelled", res.Session.Outcome, out)

	res, err, _ = run(t, d, terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call"}, "no such reason")
	require.Error(t, err)
	assert.Equal(t, "cancelled", res.Session.Outcome, "a script that goes wrong leaves no session open")
	assert.NotContains(t, err.Error(), "no such reason", "a wrong line is named by its number")
	assert.Contains(t, err.Error(), "script line 1")
}

// losesAnswers is a transport that delivers each request but loses the answer to the first
// request of each path ending in suffix, as a dropped connection does.
type losesAnswers struct {
	next   http.RoundTripper
	suffix string
	lost   map[string]bool
	// replayed counts the answers the server gave from its Idempotency-Key records.
	replayed int
}

func (l *losesAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(req)
	if err == nil && res.Header.Get("Idempotent-Replayed") == "true" {
		l.replayed++
	}
	if err == nil && strings.HasSuffix(req.URL.Path, l.suffix) && !l.lost[req.URL.Path] {
		l.lost[req.URL.Path] = true
		res.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

// An answer lost on the way is sent again with its Idempotency-Key: the server ran the step
// once and answers the repeat with the first answer, so the wrong answer is counted once and the
// script goes on in step.
func TestLostAnswersAreSentAgain(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	tr := &losesAnswers{next: &httpapitest.SpecChecker{T: t, Requests: true}, suffix: "/answers", lost: map[string]bool{}}
	api, err := apiclient.New(d.URL, httpapitest.SoftphoneKey, apiclient.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	var out bytes.Buffer
	in := strings.NewReader("Change of address\nself\nperson\n31/12/1999\n")
	res, err := terminal.Verify(t.Context(), api, terminal.NewScript(in, &out), terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call"})
	require.NoError(t, err, out.String())
	assert.Equal(t, "failed", res.Session.Outcome)
	assert.Contains(t, out.String(), "No answer from the server; sending the step again.")
	failures, err := d.Store.Failures(t.Context(), httpapitest.JaneID, t0.Add(-time.Hour))
	require.NoError(t, err)
	assert.Len(t, failures, 1, "one wrong answer, sent twice, counted once")
	assert.Equal(t, 1, tr.replayed, "the repeat was answered from the first")
}

// idles is a Script whose agent leaves the session idle when asked title.
type idles struct {
	*terminal.Script
	title string
	clock interface{ Advance(time.Duration) }
}

func (p idles) Choose(ctx context.Context, c terminal.Choice) (string, error) {
	if c.Title == p.title {
		p.clock.Advance(11 * time.Minute) // session.idle_timeout is 10 minutes
	}
	return p.Script.Choose(ctx, c)
}

// A session that sat idle too long is expired by the step that follows: shown as such.
func TestExpired(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	api, err := apiclient.New(d.URL, httpapitest.SoftphoneKey)
	require.NoError(t, err)
	var out bytes.Buffer
	p := idles{Script: terminal.NewScript(strings.NewReader("Change of address\nself\nperson\n"), &out), title: "Who is the call about?", clock: d.Clock}
	res, err := terminal.Verify(t.Context(), api, p, terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call"})
	require.NoError(t, err, out.String())
	assert.Equal(t, "expired", res.Session.Outcome)
	assert.Equal(t, terminal.ExitNotVerified, res.ExitCode())
	assert.Contains(t, out.String(), "Expired: the session sat idle too long.")
}

// Every way to start, as the first choice and the lines after it, walked to an outcome; no
// typed value (a phone, a name, an email, an answer) is written back.
func TestStartWays(t *testing.T) {
	visit := t0.Add(-30 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name    string
		start   terminal.Start
		script  []string
		outcome string
		shows   []string
	}{
		{name: "in person, found by phone",
			script: []string{"in-person", visit, "phone", httpapitest.JanePhone,
				"Change of address", "self", "person", "14/03/1980", "sw1a 1aa"},
			outcome: "verified", shows: []string{"When did the visit begin?", "Who is it?", "The number matches one record (Account " + httpapitest.JaneID + ")"}},
		{name: "in person, start time now, a record",
			script:  []string{"In person", "", "record", "", httpapitest.JaneID, "Change of address", "self", "person", "14/03/1980", "sw1a 1aa"},
			outcome: "verified", shows: []string{"The caller is Account " + httpapitest.JaneID + "."}},
		{name: "in person, a start time the server refuses is asked again",
			script: []string{"in-person", t0.Add(-25 * time.Hour).Format(time.RFC3339), "record", "Account", httpapitest.JaneID,
				"in-person", visit, "record", "Account", httpapitest.JaneID, "Opening hours"},
			outcome: "not_required", shows: []string{"Not accepted:", "Nothing was started; try again."}},
		{name: "a named record",
			script:  []string{"4", "Account", httpapitest.JaneID, "", "Change of address", "self", "person", "14/03/1980", "sw1a 1aa"},
			outcome: "verified", shows: []string{"Record id:", "The caller is Account " + httpapitest.JaneID + "."}},
		{name: "a new customer",
			script:  []string{"new-customer", "Ann", "Newcomb", "Newcomb Holdings", "+44 20 7946 0777", "ann@example.com", "", "Change of address", "self"},
			outcome: "new_customer", shows: []string{"Last name:", "A new customer: created Lead "}},
		{name: "the way given: a new customer, the lead asked", start: terminal.Start{Way: terminal.WayNewCustomer, Channel: "Chat"},
			script:  []string{"", "Newcomb", "Newcomb Holdings", "", "", "Change of address", "self"},
			outcome: "new_customer", shows: []string{"A new customer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := httpapitest.NewDemo(t, t0, nil)
			res, err, out := run(t, d, tt.start, tt.script...)
			require.NoError(t, err, out)
			assert.Equal(t, tt.outcome, res.Session.Outcome, out)
			for _, s := range tt.shows {
				assert.Contains(t, out, s)
			}
			for _, s := range append(append(answers, hidden...), "Newcomb", "Ann", "ann@example.com", "0777") {
				assert.NotContains(t, out, s, "the output shows a typed value")
			}
		})
	}
}

// A transferred call: its verified status is shown, and the session on the same call id goes on.
func TestStartTransfer(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	jane := terminal.Start{Phone: httpapitest.JanePhone, Channel: "Voice Call", CallID: "call-t"}
	res, err, out := run(t, d, jane, "Change of address", "self", "person", "14/03/1980", "sw1a 1aa")
	require.NoError(t, err, out)
	require.Equal(t, "verified", res.Session.Outcome, out)

	res, err, out = run(t, d, terminal.Start{}, "transfer", "call-t", httpapitest.JanePhone, "", "Change of address", "self", "person")
	require.NoError(t, err, out)
	assert.Equal(t, "verified", res.Session.Outcome, "the verification on the call holds: no question is asked again")
	assert.Contains(t, out, "Verified on this call before the transfer:\n  record "+httpapitest.JaneID+" as self (level caller), valid until")
	assert.Equal(t, "call-t", res.Session.Engagement, out)

	_, _, out = run(t, d, terminal.Start{Way: terminal.WayTransfer, CallID: "call-unknown"}, httpapitest.NobodyPhone, "", "Opening hours")
	assert.Contains(t, out, "Nobody's verification holds on this call.")
	for _, s := range hidden {
		assert.NotContains(t, out, s)
	}
}

// A start time in neither form stops the script at its line, without the line.
func TestStartTimeBadForm(t *testing.T) {
	d := httpapitest.NewDemo(t, t0, nil)
	_, err, _ := run(t, d, terminal.Start{}, "in-person", "half past nine")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "script line 2")
	assert.NotContains(t, err.Error(), "half past")
}

func TestParseStartTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"08:30", now.Add(-30 * time.Minute), true},
		{"2026-11-24T09:30:00Z", now.Add(-23*time.Hour - 30*time.Minute), true},
		{"09:04", now.Add(4 * time.Minute), true},
		{"09:06", now.Add(6*time.Minute - 24*time.Hour), true},  // ahead by more than the skew: yesterday's
		{"23:50", now.Add(50*time.Minute - 10*time.Hour), true}, // yesterday's
		{"2026-11-25T09:06:00Z", time.Time{}, false},            // ahead by more than the skew
		{"2026-11-24T08:59:00Z", time.Time{}, false},            // older than a day
		{"9h30", time.Time{}, false},
	} {
		got, err := terminal.ParseStartTime(tt.in, now)
		if !tt.ok {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.True(t, tt.want.Equal(got), "%s: %v", tt.in, got)
	}
}
