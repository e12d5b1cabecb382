package sfdc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

var fastPoll = sfdc.Poll{Min: time.Millisecond, Max: 5 * time.Millisecond}

// runIngest creates, fills, closes and waits for one job.
func runIngest(t *testing.T, c *sfdc.Client, spec sfdc.IngestSpec, data []byte) *sfdc.IngestJob {
	t.Helper()
	ctx := context.Background()
	job, resp, err := c.CreateIngestJob(ctx, spec)
	require.NoError(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, sfdc.JobOpen, job.State)
	assert.Equal(t, "750", job.ID.Prefix())
	_, err = c.UploadIngestData(ctx, job.ID, data)
	require.NoError(t, err)
	closed, _, err := c.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, sfdc.JobUploadComplete, closed.State)
	done, err := c.WaitIngestJob(ctx, job.ID, fastPoll)
	require.NoError(t, err)
	return done
}

func TestIngestUpsertAndResults(t *testing.T) {
	org := sfdctest.NewOrg(t)
	ctx := context.Background()
	var data []byte
	data = sfdc.AppendCSV(data, "ExternalIdentifier", "CommunicationChannel", "StartDateTime", "Reason")
	data = sfdc.AppendCSV(data, "call-1", "Voice Call", "2026-03-01T10:00:00Z", `says "hi", twice`)
	data = sfdc.AppendCSV(data, "call-2", "Carrier Pigeon", "2026-03-01T10:00:00Z", "")
	data = sfdc.AppendCSV(data, "call-3", "Web Chat", "2026-03-01T10:00:00Z", " padded ")
	spec := sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkUpsert, ExternalIDField: "ExternalIdentifier"}
	before := org.Client.Stats().Calls
	job := runIngest(t, org.Client, spec, data)
	assert.Equal(t, sfdc.JobComplete, job.State)
	assert.Equal(t, int64(3), job.NumberRecordsProcessed)
	assert.Equal(t, int64(1), job.NumberRecordsFailed)

	ok, _, err := org.Client.IngestResults(ctx, job.ID, sfdc.SuccessfulResults)
	require.NoError(t, err)
	require.Len(t, ok.Rows, 2)
	ext := ok.Column("externalidentifier")
	require.GreaterOrEqual(t, ext, 0)
	for _, r := range ok.Rows {
		assert.True(t, r.Created)
		assert.Equal(t, "0Ze", r.ID.Prefix())
		assert.Nil(t, r.Err)
	}
	got, _, err := org.Client.Get(ctx, "EngagementInteraction", ok.Rows[0].ID, "Reason")
	require.NoError(t, err)
	reason, _ := got.String("Reason")
	assert.Contains(t, []string{`says "hi", twice`, " padded "}, reason, "quotes, commas and spaces survive")

	bad, _, err := org.Client.IngestResults(ctx, job.ID, sfdc.FailedResults)
	require.NoError(t, err)
	require.Len(t, bad.Rows, 1)
	e := bad.Rows[0].Err
	require.NotNil(t, e)
	assert.Equal(t, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", e.Code)
	assert.True(t, errors.Is(e, sfdc.ErrValidation))
	assert.Equal(t, []string{"CommunicationChannel"}, e.Fields)
	assert.NotContains(t, e.Error(), "Pigeon", "no value in the error text")
	assert.Equal(t, "call-2", bad.Rows[0].Values[bad.Column("ExternalIdentifier")])

	none, _, err := org.Client.IngestResults(ctx, job.ID, sfdc.UnprocessedRecords)
	require.NoError(t, err)
	assert.Empty(t, none.Rows)
	assert.Equal(t, []string{"ExternalIdentifier", "CommunicationChannel", "StartDateTime", "Reason"}, none.Header)
	// create, upload, close, at least one poll, three result sets: each one counted call.
	assert.GreaterOrEqual(t, org.Client.Stats().Calls-before, int64(7))

	// The same job again updates: sf__Created false.
	job = runIngest(t, org.Client, spec, data)
	ok, _, err = org.Client.IngestResults(ctx, job.ID, sfdc.SuccessfulResults)
	require.NoError(t, err)
	require.Len(t, ok.Rows, 2)
	assert.False(t, ok.Rows[0].Created)

	_, err = org.Client.DeleteIngestJob(ctx, job.ID)
	require.NoError(t, err)
	_, _, err = org.Client.IngestJobInfo(ctx, job.ID)
	assert.ErrorIs(t, err, sfdc.ErrNotFound)
}

func TestIngestPolymorphicReference(t *testing.T) {
	org := sfdctest.NewOrg(t)
	ctx := context.Background()
	_, _, err := org.Client.Upsert(ctx, "EngagementInteraction", "ExternalIdentifier", "call-7",
		map[string]any{"CommunicationChannel": "Voice Call", "StartDateTime": "2026-03-01T10:00:00Z"})
	require.NoError(t, err)
	var data []byte
	data = sfdc.AppendCSV(data, "EngagementInteraction:Engagement.ExternalIdentifier", "InternalAttendeeId", "StartDateTime")
	data = sfdc.AppendCSV(data, "call-7", org.UserID(), "2026-03-01T10:00:00Z")
	job := runIngest(t, org.Client, sfdc.IngestSpec{Object: "EngagementAttendee", Operation: sfdc.BulkInsert}, data)
	assert.Equal(t, sfdc.JobComplete, job.State)
	assert.Zero(t, job.NumberRecordsFailed)
	n, _, err := org.Client.Count(ctx, sfdc.SelectCount().From("EngagementAttendee"))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestIngestFailedJobAndRefusedInput(t *testing.T) {
	org := sfdctest.NewOrg(t)
	ctx := context.Background()
	job := runIngest(t, org.Client, sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkInsert},
		[]byte("NoSuchField\nx\n"))
	assert.Equal(t, sfdc.JobFailed, job.State)
	assert.NotEmpty(t, job.ErrorMessage)
	un, _, err := org.Client.IngestResults(ctx, job.ID, sfdc.UnprocessedRecords)
	require.NoError(t, err)
	assert.Len(t, un.Rows, 1)

	_, resp, err := org.Client.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "Engagement Interaction", Operation: sfdc.BulkInsert})
	assert.ErrorIs(t, err, sfdc.ErrBadQuery)
	assert.Nil(t, resp, "nothing sent")
	_, _, err = org.Client.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "Contact", Operation: "merge"})
	assert.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, err = org.Client.UploadIngestData(ctx, sfdc.ID("750x"), nil)
	assert.ErrorIs(t, err, sfdc.ErrBadID)
	_, _, err = org.Client.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "NoSuchObject", Operation: sfdc.BulkInsert})
	var e *sfdc.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "INVALIDJOB", e.Code)
	assert.ErrorIs(t, err, sfdc.ErrInvalidRequest)
}

func TestIngestRetriesOnlyWhenSafe(t *testing.T) {
	org := sfdctest.NewOrg(t)
	ctx := context.Background()
	spec := sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkInsert}

	// SERVER_UNAVAILABLE: nothing was done, so even the create is retried.
	_, err := org.AddFault(fakeorg.Fault{Path: "*/jobs/ingest", Method: "POST", Failure: fakeorg.FailServerUnavailable, Times: 1})
	require.NoError(t, err)
	job, resp, err := org.Client.CreateIngestJob(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)

	// A 502 from a proxy: the create may have happened, so it is not retried.
	_, err = org.AddFault(fakeorg.Fault{Path: "*/jobs/ingest", Method: "POST", Failure: fakeorg.FailHTMLBadGateway, Times: 1})
	require.NoError(t, err)
	_, resp, err = org.Client.CreateIngestJob(ctx, spec)
	assert.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.Equal(t, 1, resp.Attempts)

	// The upload is retried after a 502 (a job takes one upload: a resend cannot act twice).
	_, err = org.AddFault(fakeorg.Fault{Path: "*/batches", Failure: fakeorg.FailHTMLBadGateway, Times: 1})
	require.NoError(t, err)
	resp, err = org.Client.UploadIngestData(ctx, job.ID, []byte("ExternalIdentifier,CommunicationChannel,StartDateTime\nr-1,Voice Call,2026-03-01T10:00:00Z\n"))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)

	// The daily limit stops at once, with its kind.
	org.ExhaustDailyLimit()
	_, _, err = org.Client.CloseIngestJob(ctx, job.ID)
	assert.ErrorIs(t, err, sfdc.ErrDailyLimit)
	org.ResetDailyUsage()
	_, _, err = org.Client.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err)
	// Closing again: the job is past Open, which is what a close whose answer was lost finds.
	again, _, err := org.Client.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err)
	assert.NotEqual(t, sfdc.JobOpen, again.State)
	done, err := org.Client.WaitIngestJob(ctx, job.ID, fastPoll)
	require.NoError(t, err)
	assert.Equal(t, int64(1), done.NumberRecordsProcessed)
}

// lostAnswer passes the first request matching the suffix to the org, then answers 502 in its
// place, as a proxy does when the connection behind it drops after the org acted.
func lostAnswer(suffix string) func(http.Handler) http.Handler {
	var done atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, suffix) && done.CompareAndSwap(false, true) {
				next.ServeHTTP(httptest.NewRecorder(), r)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestIngestUploadWhoseAnswerIsLostIsStoredOnce(t *testing.T) {
	org := sfdctest.NewOrg(t, sfdctest.WithMiddleware(lostAnswer("/batches")))
	ctx := context.Background()
	job, _, err := org.Client.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkInsert})
	require.NoError(t, err)
	data := []byte("ExternalIdentifier,CommunicationChannel,StartDateTime\nr-1,Voice Call,2026-03-01T10:00:00Z\n")
	resp, err := org.Client.UploadIngestData(ctx, job.ID, data)
	require.NoError(t, err, "the retry finds the data stored: success")
	assert.Equal(t, 2, resp.Attempts)
	_, err = org.Client.UploadIngestData(ctx, job.ID, data)
	var e *sfdc.Error
	require.ErrorAs(t, err, &e, "a second upload in a first attempt is an error")
	assert.Equal(t, "BULK_API_ERROR", e.Code)
	_, _, err = org.Client.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err)
	done, err := org.Client.WaitIngestJob(ctx, job.ID, fastPoll)
	require.NoError(t, err)
	assert.Equal(t, int64(1), done.NumberRecordsProcessed, "one upload's records, once")
}

func TestIngestCloseWhoseAnswerIsLost(t *testing.T) {
	org := sfdctest.NewOrg(t, sfdctest.WithOrg(fakeorg.Options{HoldIngestJobs: true}))
	ctx := context.Background()
	job, _, err := org.Client.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkInsert})
	require.NoError(t, err)
	_, err = org.Client.UploadIngestData(ctx, job.ID, []byte("ExternalIdentifier\nx\n"))
	require.NoError(t, err)
	c := org.NewClient(t)
	_, _, err = c.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err)
	again, _, err := c.CloseIngestJob(ctx, job.ID)
	require.NoError(t, err, "a close that finds the job closed already succeeded")
	assert.Equal(t, sfdc.JobUploadComplete, again.State)
}

func TestIngestWaitStopsWithItsContext(t *testing.T) {
	org := sfdctest.NewOrg(t, sfdctest.WithOrg(fakeorg.Options{HoldIngestJobs: true}))
	job, _, err := org.Client.CreateIngestJob(context.Background(), sfdc.IngestSpec{Object: "EngagementInteraction", Operation: sfdc.BulkInsert})
	require.NoError(t, err)
	_, err = org.Client.UploadIngestData(context.Background(), job.ID, []byte("ExternalIdentifier\nx\n"))
	require.NoError(t, err)
	_, _, err = org.Client.CloseIngestJob(context.Background(), job.ID)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = org.Client.WaitIngestJob(ctx, job.ID, fastPoll)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	aborted, _, err := org.Client.AbortIngestJob(context.Background(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, sfdc.JobAborted, aborted.State)
}

func TestAppendCSV(t *testing.T) {
	got := string(sfdc.AppendCSV(nil, "a", "", "b,c", `q"q`, " x", "line\nbreak"))
	assert.Equal(t, "a,,\"b,c\",\"q\"\"q\",\" x\",\"line\nbreak\"\n", got)
	assert.False(t, strings.Contains(string(sfdc.AppendCSV(nil, "plain")), `"`))
}
