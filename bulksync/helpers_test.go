package bulksync_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// sfdctestOrg sets the fake org's options.
func sfdctestOrg(o fakeorg.Options) sfdctest.Option { return sfdctest.WithOrg(o) }

// newOrg starts a fake org with the demo data and 40 generated people (unless opts set the
// org's options), and returns it with some of their ids (at least 20: a row's two attendees
// are 7 people apart, and TestCheckReadsPastAQueryPage gives a row 15).
func newOrg(t testing.TB, opts ...sfdctest.Option) (*sfdctest.Org, []string) {
	t.Helper()
	opts = append([]sfdctest.Option{sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: 40})}, opts...)
	org := sfdctest.NewOrg(t, opts...)
	var people []string
	for rec, err := range org.Client.Query(context.Background(), sfdc.Select("Id").From("Contact").Limit(200)) {
		require.NoError(t, err)
		id, _ := rec.String("Id")
		people = append(people, id)
	}
	require.GreaterOrEqual(t, len(people), 20)
	return org, people
}

// engagement is one JSON Lines row: an engagement with two attendees and a topic.
func engagement(i int, people []string) map[string]any {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	self := people[i%len(people)]
	rep := people[(i+7)%len(people)]
	return map[string]any{
		"ExternalIdentifier":       fmt.Sprintf("ivr-%07d", i),
		"CommunicationChannel":     "Voice Call",
		"StartDateTime":            start.Format(time.RFC3339),
		"EndDateTime":              start.Add(5 * time.Minute).Format(time.RFC3339),
		"Status":                   "Completed",
		"Type":                     "Inbound",
		"Reason":                   "Change of address",
		"IsAttendeeAuthenticated":  true,
		"IsAttendeeVerified":       true,
		"AttendeeVerificationTime": start.Add(2 * time.Minute).Format(time.RFC3339),
		"InitiatingAttendeeId":     rep,
		"Attendees": []map[string]any{
			{"ExternalAttendeeId": rep, "Role": "OnBehalf", "IsVerified": true, "VerificationTime": start.Add(time.Minute).Format(time.RFC3339)},
			{"ExternalAttendeeId": self, "Role": "Self", "IsVerified": true, "VerificationTime": start.Add(2 * time.Minute).Format(time.RFC3339)},
		},
		"Topic": map[string]any{"Name": "Change of address", "ProcessStatus": "Completed", "RelatedPersonId": self},
	}
}

// writeJSONL writes rows from..to-1 as a JSON Lines file.
func writeJSONL(t testing.TB, dir string, from, to int, people []string) string {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		j, err := json.Marshal(engagement(i, people))
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "rows.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// csvColumns are the columns writeCSV writes: every field engagement sets.
var csvColumns = []string{"ExternalIdentifier", "CommunicationChannel", "StartDateTime", "EndDateTime", "Status", "Type",
	"Reason", "IsAttendeeAuthenticated", "IsAttendeeVerified", "AttendeeVerificationTime", "InitiatingAttendeeId",
	"Attendee1.ExternalAttendeeId", "Attendee1.Role", "Attendee1.IsVerified", "Attendee1.VerificationTime",
	"Attendee2.ExternalAttendeeId", "Attendee2.Role", "Attendee2.IsVerified", "Attendee2.VerificationTime",
	"Topic.Name", "Topic.ProcessStatus", "Topic.RelatedPersonId"}

// writeCSV writes the rows writeJSONL would, rows from..to-1, as a CSV file.
func writeCSV(t testing.TB, dir string, from, to int, people []string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	require.NoError(t, w.Write(csvColumns))
	values := make([]string, len(csvColumns))
	for i := from; i < to; i++ {
		row := engagement(i, people)
		for j, col := range csvColumns {
			obj, name, dotted := strings.Cut(col, ".")
			var v any
			switch {
			case !dotted:
				v = row[col]
			case obj == "Topic":
				v = row["Topic"].(map[string]any)[name]
			default:
				v = row["Attendees"].([]map[string]any)[obj[len(obj)-1]-'1'][name]
			}
			values[j] = fmt.Sprint(v)
		}
		require.NoError(t, w.Write(values))
	}
	w.Flush()
	path := filepath.Join(dir, "rows.csv")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
	return path
}

// options are a run's options against org for input, fast to retry.
func options(org *sfdctest.Org, input string) bulksync.Options {
	dir := filepath.Dir(input)
	return bulksync.Options{Input: input, Client: org.Client, Checkpoint: filepath.Join(dir, "sync.checkpoint"),
		Report: filepath.Join(dir, "sync.report.jsonl"), Poll: sfdc.Poll{Min: time.Millisecond, Max: 10 * time.Millisecond},
		Backoff: time.Millisecond, Settle: -1}
}

// census counts the org's engagement records and fails on any duplicate: two engagements with
// one ExternalIdentifier, two attendees of one person on one engagement, two topics of one name.
type census struct{ engagements, attendees, topics int }

func takeCensus(t testing.TB, org *sfdctest.Org) census {
	t.Helper()
	ctx := context.Background()
	var c census
	keys := map[string]bool{}
	for rec, err := range org.Client.Query(ctx, sfdc.Select("Id", "ExternalIdentifier").From("EngagementInteraction")) {
		require.NoError(t, err)
		k, _ := rec.String("ExternalIdentifier")
		require.False(t, keys[strings.ToLower(k)], "two engagements with one ExternalIdentifier")
		keys[strings.ToLower(k)] = true
		c.engagements++
	}
	att := map[string]bool{}
	for rec, err := range org.Client.Query(ctx, sfdc.Select("EngagementId", "ExternalAttendeeId", "InternalAttendeeId").From("EngagementAttendee")) {
		require.NoError(t, err)
		e, _ := rec.String("EngagementId")
		p, _ := rec.String("ExternalAttendeeId")
		u, _ := rec.String("InternalAttendeeId")
		k := e + "/" + p + "/" + u
		require.False(t, att[k], "a duplicate attendee")
		att[k] = true
		c.attendees++
	}
	top := map[string]bool{}
	for rec, err := range org.Client.Query(ctx, sfdc.Select("EngagementId", "Name").From("EngagementTopic")) {
		require.NoError(t, err)
		e, _ := rec.String("EngagementId")
		n, _ := rec.String("Name")
		k := e + "/" + strings.ToLower(n)
		require.False(t, top[k], "a duplicate topic")
		top[k] = true
		c.topics++
	}
	return c
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
}
