package bulksync_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// lostAnswers lets the org act on the first n requests that match, then answers 502 in place of
// its answer: a write that landed but whose client never heard.
func lostAnswers(method, suffix string, n int64) sfdctest.Option {
	var left atomic.Int64
	left.Store(n)
	return sfdctest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) && left.Add(-1) >= 0 {
				next.ServeHTTP(httptest.NewRecorder(), r)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

func TestFaultsEveryAcceptedRowOnce(t *testing.T) {
	t.Parallel()
	const n = 250 // two rounds of collections or jobs: a full one and a partial one
	tests := []struct {
		name   string
		opts   []sfdctest.Option
		faults []fakeorg.Fault
		via    bulksync.Via
	}{
		{name: "locks on creates", faults: []fakeorg.Fault{{Path: "*/composite/sobjects", Method: "POST", Failure: fakeorg.FailUnableToLockRow, Times: 9}}},
		{name: "503 on upserts", faults: []fakeorg.Fault{{Path: "*/composite/sobjects/EngagementInteraction/*", Failure: fakeorg.FailServerUnavailable, Times: 6}}},
		{name: "proxy 502 on creates (outcome unknown)", faults: []fakeorg.Fault{{Path: "*/composite/sobjects", Method: "POST", Failure: fakeorg.FailHTMLBadGateway, Rate: 0.3, Times: 4}}},
		{name: "creates that landed but whose answers were lost", opts: []sfdctest.Option{lostAnswers("POST", "/composite/sobjects", 3)}},
		{name: "bulk: locked records", via: bulksync.ViaBulk, faults: []fakeorg.Fault{{Path: "bulkrow:EngagementAttendee", Failure: fakeorg.FailUnableToLockRow, Rate: 0.05, Times: 30}}},
		{name: "bulk: 503 on polls and results", via: bulksync.ViaBulk, faults: []fakeorg.Fault{{Path: "*/jobs/ingest/*", Method: "GET", Failure: fakeorg.FailServerUnavailable, Rate: 0.5, Times: 12}}},
		{name: "bulk: lost answer of an upload", via: bulksync.ViaBulk, opts: []sfdctest.Option{lostAnswers("PUT", "/batches", 2)}},
		{name: "bulk: lost answer of a job creation", via: bulksync.ViaBulk, opts: []sfdctest.Option{lostAnswers("POST", "/jobs/ingest", 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org, people := newOrg(t, tt.opts...)
			in := writeJSONL(t, t.TempDir(), 0, n, people)
			for _, f := range tt.faults {
				_, err := org.AddFault(f)
				require.NoError(t, err)
			}
			opts := options(org, in)
			opts.Via, opts.BulkRound, opts.BulkMinRecords = tt.via, 200, 1
			var sum *bulksync.Summary
			var err error
			for range 5 { // a run that stops is resumed
				if sum, err = bulksync.Run(context.Background(), opts); err == nil {
					break
				}
				var stopped *bulksync.StoppedError
				require.ErrorAs(t, err, &stopped)
			}
			require.NoError(t, err)
			assert.True(t, sum.OK(), "%+v", sum)
			assert.Equal(t, n, sum.Landed)
			assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org))
		})
	}
}

func TestDailyLimitStopsCleanlyAndResumes(t *testing.T) {
	t.Parallel()
	const n = 500
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, n, people)
	opts := options(org, in)
	used, _ := org.APIUsage()
	org.SetDailyAPILimit(used + 3 + 9) // the describes, then two rounds and a bit
	sum, err := bulksync.Run(context.Background(), opts)
	var stopped *bulksync.StoppedError
	require.ErrorAs(t, err, &stopped)
	assert.ErrorIs(t, err, sfdc.ErrDailyLimit)
	assert.False(t, sum.Complete)
	assert.Equal(t, 400, sum.Landed, "two whole rounds")
	org.SetDailyAPILimit(fakeorg.DefaultDailyAPILimit)
	c := takeCensus(t, org)
	assert.GreaterOrEqual(t, c.engagements, 400)

	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.OK())
	assert.Equal(t, 400, sum.Skipped)
	assert.Equal(t, n, sum.Landed)
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org))
}

func TestRejectedRowsGoToTheReport(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 10, people)
	// Two engagements in the org already share a key: the upsert of that row is refused.
	for range 2 {
		_, _, err := org.Client.Create(context.Background(), "EngagementInteraction", map[string]any{
			"ExternalIdentifier": "IVR-0000003", "CommunicationChannel": "Voice Call", "StartDateTime": "2026-01-01T00:00:00Z"})
		require.NoError(t, err)
	}
	// A person who does not exist (a well-formed Contact id): the attendee is refused.
	text := strings.Replace(mustRead(t, in), `"ExternalAttendeeId":"`+people[(5+7)%len(people)]+`"`, `"ExternalAttendeeId":"0035g00000ZZZZZ"`, 1)
	writeFile(t, in, text)
	opts := options(org, in)
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.Complete)
	assert.False(t, sum.OK())
	assert.Equal(t, 2, sum.Rejected)
	assert.Equal(t, 8, sum.Landed)
	report := mustRead(t, opts.Report)
	assert.Contains(t, report, `{"line":4,"record":"Engagement","code":"DUPLICATE_EXTERNAL_ID","fields":["ExternalIdentifier"]}`)
	assert.Regexp(t, `\{"line":6,"record":"Attendee1","code":"[A-Z_]+",.*"id":"0Ze\w{15}"\}`, report)
	assert.NotContains(t, report, "ivr-", "no value from the file")

	// Running again reports nothing twice.
	_, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, report, mustRead(t, opts.Report))
	assert.False(t, errors.Is(err, sfdc.ErrDailyLimit))
}
