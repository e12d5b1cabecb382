package fakeorg

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// engagementsCSV is n EngagementInteraction records keyed by ExternalIdentifier, as the bulk
// sync sends them.
func engagementsCSV(n int) string {
	var b strings.Builder
	b.WriteString("ExternalIdentifier,CommunicationChannel,StartDateTime,EndDateTime,Status,Type,IsAttendeeAuthenticated,IsAttendeeVerified,AttendeeVerificationTime\n")
	for i := range n {
		fmt.Fprintf(&b, "ivr-%08d,Voice Call,2026-03-01T10:%02d:00.000Z,2026-03-01T10:%02d:30.000Z,Completed,Inbound,true,%t,2026-03-01T10:%02d:20.000Z\n",
			i, i%60, i%60, i%3 != 0, i%60)
	}
	return b.String()
}

// runBenchJob runs one upsert job through HTTP and fails the benchmark unless every record
// succeeded. It returns the job's processing time as the job reports it.
func runBenchJob(b *testing.B, to *testOrg, data string, n int) time.Duration {
	id := to.createJob(map[string]any{"object": "EngagementInteraction", "operation": "upsert", "externalIdFieldName": "ExternalIdentifier"})
	if resp, body := to.upload(id, data); resp.StatusCode != http.StatusCreated {
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	if resp, body := to.setState(id, "UploadComplete"); resp.StatusCode != http.StatusOK {
		b.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	to.WaitIngestJobs()
	info := to.jobInfo(id)
	if info["state"] != "JobComplete" || num(info["numberRecordsProcessed"]) != fmt.Sprint(n) || num(info["numberRecordsFailed"]) != "0" {
		b.Fatalf("job: %v", info)
	}
	var active int64
	fmt.Sscan(num(info["apiActiveProcessingTime"]), &active)
	return time.Duration(active) * time.Millisecond
}

// BenchmarkIngestUpsert is one Bulk API 2.0 job upserting n EngagementInteraction records by
// ExternalIdentifier, over HTTP through httptest: create the job, upload the CSV, close it, wait
// for JobComplete. "create" upserts into an empty org (every record inserted), "update" runs
// the same job again (every record found by its external id and updated). records/s is the
// whole job's; processing-ms is the org's own time on it (apiActiveProcessingTime).
func BenchmarkIngestUpsert(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := engagementsCSV(n)
		b.Run(fmt.Sprintf("%d/create", n), func(b *testing.B) {
			var processing time.Duration
			for b.Loop() {
				b.StopTimer()
				to := newTestOrg(b, Options{})
				b.StartTimer()
				processing += runBenchJob(b, to, data, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(processing.Milliseconds())/float64(b.N), "processing-ms")
		})
		b.Run(fmt.Sprintf("%d/update", n), func(b *testing.B) {
			to := newTestOrg(b, Options{})
			runBenchJob(b, to, data, n)
			var processing time.Duration
			for b.Loop() {
				processing += runBenchJob(b, to, data, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(processing.Milliseconds())/float64(b.N), "processing-ms")
		})
	}
}
