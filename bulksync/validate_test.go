package bulksync_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// row is a valid row with changes: a key set to nil is removed.
func row(change map[string]any) string {
	r := map[string]any{"ExternalIdentifier": "v-1", "CommunicationChannel": "Voice Call",
		"StartDateTime": "2026-03-01T10:00:00Z", "EndDateTime": "2026-03-01T10:05:00+00:00",
		"Attendees": []any{map[string]any{"ExternalAttendeeId": "0015g0000000002AAA", "Role": "Self"}},
		"Topic":     map[string]any{"Name": "Change of address"}}
	for k, v := range change {
		if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func TestValidationRules(t *testing.T) {
	att := func(a map[string]any) map[string]any { return map[string]any{"Attendees": []any{a}} }
	tests := []struct {
		name   string
		change map[string]any
		field  string
		want   string
	}{
		{"valid", nil, "", ""},
		{"datetime without zone", map[string]any{"StartDateTime": "2026-03-01T10:00:00"}, "StartDateTime", "time zone"},
		{"datetime out of range", map[string]any{"StartDateTime": "1600-03-01T10:00:00Z"}, "StartDateTime", "outside"},
		{"end before start", map[string]any{"EndDateTime": "2026-03-01T09:00:00Z"}, "EndDateTime", "before StartDateTime"},
		{"text too long", map[string]any{"Reason": strings.Repeat("é", 766)}, "Reason", "longer than 765"},
		{"blank text", map[string]any{"Reason": "   "}, "Reason", "blank"},
		{"NUL", map[string]any{"Reason": "a\x00b"}, "Reason", "NUL"},
		{"boolean as text", map[string]any{"IsAttendeeVerified": "yes"}, "IsAttendeeVerified", "true or false"},
		{"verified without time", map[string]any{"IsAttendeeVerified": true}, "AttendeeVerificationTime", "required"},
		{"bad id checksum", map[string]any{"InitiatingAttendeeId": "0015g0000000002AAB"}, "InitiatingAttendeeId", "not a Salesforce record id"},
		{"id of the wrong object", map[string]any{"InitiatingAttendeeId": "0055g0000000002AAA"}, "InitiatingAttendeeId", "key prefix 005"},
		{"15-character id", map[string]any{"InitiatingAttendeeId": "0015g0000000002"}, "", ""},
		{"attendee without person", att(map[string]any{"Role": "Self"}), "Attendee1.ExternalAttendeeId", "or InternalAttendeeId is required"},
		{"attendee with both", att(map[string]any{"ExternalAttendeeId": "0015g0000000002AAA", "InternalAttendeeId": "0055g0000000001AAA"}), "Attendee1.ExternalAttendeeId", "both set"},
		{"attendee role", att(map[string]any{"ExternalAttendeeId": "0015g0000000002AAA", "Role": "Friend"}), "Attendee1.Role", "Self"},
		{"attendee verified without time", att(map[string]any{"ExternalAttendeeId": "0015g0000000002AAA", "IsVerified": "true"}), "Attendee1.VerificationTime", "required"},
		{"same person twice", map[string]any{"Attendees": []any{map[string]any{"ExternalAttendeeId": "0015g0000000002AAA"},
			map[string]any{"ExternalAttendeeId": "0015g0000000002"}}}, "Attendee2.ExternalAttendeeId", "same person as Attendee1"},
		{"topic without name", map[string]any{"Topic": map[string]any{"ProcessStatus": "Completed"}}, "Topic.Name", "required"},
		{"topic status", map[string]any{"Topic": map[string]any{"Name": "x", "ProcessStatus": "Done"}}, "Topic.ProcessStatus", "picklist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, problems, err := bulksync.ReadAll(strings.NewReader(row(tt.change)+"\n"), "x.jsonl", bulksync.FormatAuto)
			require.NoError(t, err)
			if tt.want == "" {
				assert.Empty(t, problems)
				assert.Equal(t, []int{1}, lines)
				return
			}
			assert.Empty(t, lines)
			require.NotEmpty(t, problems)
			assert.Equal(t, tt.field, problems[0].Field, problems)
			assert.Contains(t, problems[0].Reason, tt.want)
		})
	}
}

func TestDescribeNarrowsTheSchema(t *testing.T) {
	t.Parallel()
	// The org added a channel: the describe knows it, the standard schema does not.
	org, _ := newOrg(t, sfdctestOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: 20, PicklistValues: []orgdb.PicklistValues{
		{Object: "EngagementInteraction", Field: "CommunicationChannel", Values: []string{"Carrier Pigeon"}}}}))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(row(map[string]any{"CommunicationChannel": "Carrier Pigeon"})+"\n"+
		row(map[string]any{"ExternalIdentifier": "V-1"})+"\n"), 0o600))
	opts := options(org, in)
	opts.DryRun = true
	var problems []bulksync.Problem
	opts.OnProblem = func(p bulksync.Problem) { problems = append(problems, p) }
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Invalid)
	require.Len(t, problems, 1)
	assert.Equal(t, bulksync.Problem{Line: 2, Field: "ExternalIdentifier",
		Reason: "repeats the ExternalIdentifier of line 1 (Salesforce matches it ignoring case)"}, problems[0])

	opts.Client = nil
	problems = nil
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Invalid, "without the org, only Salesforce's standard values (and row 2 is then the first with its key)")
	assert.Contains(t, problems[0].Reason, "not a value of the picklist")
}

// The checkpoint counts valid rows. If the org's describe changes between two runs (here a
// channel the first org had and the second lacks), other rows are valid, the count points
// elsewhere in the file, and a resumed run would skip a row never sent: it refuses instead.
func TestResumeRefusesWhenOtherRowsAreValid(t *testing.T) {
	t.Parallel()
	first, people := newOrg(t, sfdctestOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: 40, PicklistValues: []orgdb.PicklistValues{
		{Object: "EngagementInteraction", Field: "CommunicationChannel", Values: []string{"Carrier Pigeon"}}}}))
	in := writeJSONL(t, t.TempDir(), 0, bulksync.CollectionRows+50, people)
	writeFile(t, in, strings.Replace(mustRead(t, in), `"Voice Call"`, `"Carrier Pigeon"`, 1))
	opts := options(first, in)
	ctx, cancel := context.WithCancel(context.Background())
	opts.Progress = &progressHooks{add: cancel} // stop after the first round
	_, err := bulksync.Run(ctx, opts)
	var stopped *bulksync.StoppedError
	require.ErrorAs(t, err, &stopped)

	second, _ := newOrg(t)
	opts.Client, opts.Progress = second.Client, nil
	second.ResetCounts()
	_, err = bulksync.Run(context.Background(), opts)
	require.ErrorContains(t, err, "other rows of this input were valid")
	assert.Zero(t, second.Count(fakeorg.KindCollections), "nothing sent")
}
