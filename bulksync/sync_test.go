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
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// apiCalls is the org's requests since the last ResetCounts, logins aside.
func apiCalls(org *sfdctest.Org) int64 { return org.Counts().Total - org.Count(fakeorg.KindToken) }

func TestSyncCollectionsThenRerun(t *testing.T) {
	t.Parallel()
	const n = 250
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, n, people) // a full round and a partial one
	opts := options(org, in)
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	// 3 describes; per round of 200 rows an upsert, attendee creates (200 a call), a topic create.
	assert.Equal(t, int64(3+(1+2+1)+(1+1+1)), apiCalls(org))
	assert.Equal(t, apiCalls(org), sum.Calls, "the summary counts what the org saw")
	assert.True(t, sum.OK())
	assert.Equal(t, bulksync.ViaCollections, sum.Via)
	assert.Equal(t, n, sum.Landed)
	assert.Equal(t, n, sum.Sent)
	assert.Equal(t, int64(n*4), sum.Created)
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org))

	// The same command again: the checkpoint says everything is done.
	org.ResetCounts()
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), sum.Calls, "describe is cached by the client; nothing is sent")
	assert.Equal(t, 0, sum.Sent)
	assert.Equal(t, n, sum.Skipped)
	assert.True(t, sum.OK())

	// Without the checkpoint (another machine, a lost file): everything is found and updated.
	require.NoError(t, os.Remove(opts.Checkpoint))
	org.ResetCounts()
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), sum.Created)
	assert.Equal(t, int64(n*4), sum.Updated)
	// Per round: an upsert, one composite check (two queries), the updates.
	assert.Equal(t, int64((1+1+2+1)+(1+1+1+1)), apiCalls(org))
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org), "no duplicate")
}

// From BulkThreshold rows to send, auto goes through Bulk API 2.0: a job per stage once a
// stage has BulkMinRecords records (every stage here, creates and updates).
func TestSyncBulk(t *testing.T) {
	t.Parallel()
	const n = 400
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, n, people)
	opts := options(org, in)
	opts.BulkThreshold, opts.BulkMinRecords = n, n
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, bulksync.ViaBulk, sum.Via)
	assert.True(t, sum.OK())
	assert.Equal(t, int64(n*4), sum.Created)
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org))
	assert.Equal(t, int64(3), org.Counts().ByKind[fakeorg.KindIngestJobs]["POST"], "a job per stage")
	assert.Zero(t, org.Count(fakeorg.KindCollections))

	require.NoError(t, os.Remove(opts.Checkpoint))
	org.ResetCounts()
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(n*4), sum.Updated)
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org), "no duplicate")
	assert.Equal(t, int64(3), org.Counts().ByKind[fakeorg.KindIngestJobs]["POST"], "the updates are jobs too")

	// One row fewer than the threshold: collections.
	opts.BulkThreshold, opts.DryRun = n+1, true
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, bulksync.ViaCollections, sum.Via)
}

func TestCheckpointOfAnotherInput(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 10, people)
	opts := options(org, in)
	_, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	writeJSONL(t, dir, 5, 15, people) // same name, other rows
	org.ResetCounts()
	_, err = bulksync.Run(context.Background(), opts)
	require.ErrorContains(t, err, "belongs to another input")
	assert.Zero(t, org.Count(fakeorg.KindCollections), "nothing sent")
}

func TestCheckReadsPastAQueryPage(t *testing.T) {
	t.Parallel()
	// 150 engagements with 15 attendees each: 2,250 attendees, more than one query page (2,000),
	// so the check of a re-run reads on past the composite's first page.
	org, people := newOrg(t)
	var b strings.Builder
	for i := range 150 {
		r := engagement(i, people)
		var att []map[string]any
		for j := range 15 {
			att = append(att, map[string]any{"ExternalAttendeeId": people[(i+j)%len(people)], "Role": "Self"})
		}
		r["Attendees"] = att
		j, err := json.Marshal(r)
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
	}
	in := filepath.Join(t.TempDir(), "many.jsonl")
	writeFile(t, in, b.String())
	opts := options(org, in)
	_, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	require.NoError(t, os.Remove(opts.Checkpoint))
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), sum.Created)
	assert.Equal(t, int64(150*(1+15+1)), sum.Updated)
	assert.Positive(t, org.Count(fakeorg.KindQueryMore), "the attendees' query was read on")
	assert.Equal(t, census{150, 150 * 15, 150}, takeCensus(t, org))
}

func TestInvalidRowsAreSkippedOthersSent(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 5, people)
	lines := strings.Split(strings.TrimSpace(mustRead(t, in)), "\n")
	lines[1] = strings.Replace(lines[1], `"Voice Call"`, `"Fax"`, 1)
	lines[3] = `{"ExternalIdentifier":`
	writeFile(t, in, strings.Join(lines, "\n")+"\n")
	opts := options(org, in)
	var problems []bulksync.Problem
	opts.OnProblem = func(p bulksync.Problem) { problems = append(problems, p) }
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Invalid)
	assert.Equal(t, 3, sum.Landed)
	require.Len(t, problems, 2)
	assert.Equal(t, []int{2, 4}, []int{problems[0].Line, problems[1].Line})
	assert.Equal(t, census{3, 6, 3}, takeCensus(t, org))
	report := mustRead(t, opts.Report)
	assert.Equal(t, 2, strings.Count(report, "\n"))
	assert.NotContains(t, report, "Fax")
}

// Salesforce takes at most 150 MB of job data a job ("Upload Job Data",
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm),
// and refuses a larger upload at every attempt: a round of long rows ends early instead, so that
// no job is ever refused for its size. Here an org that takes 16 KiB a job, and 150 rows whose
// engagements alone make about 25 KiB.
func TestLongRowsEndABulkRoundBeforeTheUploadLimit(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	org, people := newOrg(t, sfdctestOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: 40, IngestUploadLimit: limit}))
	in := writeJSONL(t, t.TempDir(), 0, 150, people)
	opts := bulksync.WithMaxJobBytes(options(org, in), limit)
	opts.Via, opts.BulkMinRecords = bulksync.ViaBulk, 1
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.OK())
	assert.Equal(t, census{150, 300, 150}, takeCensus(t, org))
}
