package bulksync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// BenchmarkSync sends n engagements with two attendees and a topic each (4n records) to a fresh
// in-process fake org, through sync (collections; Bulk API 2.0) and through the naive path: one
// simpleforce SObject Create per record, 4 calls per engagement. It reports the org's API calls
// and records per second. Run with -benchtime 1x: each iteration is a whole sync. The 100,000
// engagement runs (several minutes, the naive one most) run only with IDVERIFY_BENCH_LARGE=1.
//
//	IDVERIFY_BENCH_LARGE=1 go test -run '^$' -bench Sync -benchtime 1x -timeout 60m ./bulksync
func BenchmarkSync(b *testing.B) {
	sizes := []int{10_000}
	if os.Getenv("IDVERIFY_BENCH_LARGE") != "" {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		dir := b.TempDir()
		var in string
		for _, via := range []string{"collections", "bulk", "naive"} {
			b.Run(fmt.Sprintf("%s/%d", via, n), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					// 200 generated people, as BENCHMARKS.md describes the runs.
					org, people := newOrg(b, sfdctestOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: 200}))
					if in == "" {
						in = writeJSONL(b, dir, 0, n, people) // the people are the same in every org
					}
					session := org.Session(b)
					org.ResetCounts()
					b.StartTimer()
					start := time.Now()
					if via == "naive" {
						naiveSync(b, org.URL(), session, in)
					} else {
						opts := options(org, in)
						opts.Checkpoint = filepath.Join(b.TempDir(), "cp")
						opts.Report = opts.Checkpoint + ".report"
						opts.Via = bulksync.Via(via)
						opts.Poll = sfdc.Poll{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}
						sum, err := bulksync.Run(context.Background(), opts)
						require.NoError(b, err)
						require.True(b, sum.OK())
					}
					elapsed := time.Since(start)
					b.StopTimer()
					b.ReportMetric(float64(apiCalls(org)), "calls")
					b.ReportMetric(float64(4*n)/elapsed.Seconds(), "records/s")
					b.ReportMetric(float64(4*n)/float64(apiCalls(org)), "records/call")
				}
			})
		}
	}
}

// naiveSync creates every record of the input with simpleforce, one call each: the engagement,
// then its attendees and topic with the engagement's id.
func naiveSync(b *testing.B, url string, s sfdc.Session, in string) {
	if in == "" {
		return
	}
	log.SetOutput(io.Discard) // simpleforce logs URLs and bodies on failures
	defer log.SetOutput(os.Stderr)
	c := simpleforce.NewClient(url, simpleforce.DefaultClientID, "62.0")
	c.SetSidLoc(s.AccessToken, s.InstanceURL)
	f, err := os.Open(in)
	require.NoError(b, err)
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var row map[string]any
		if err := dec.Decode(&row); err == io.EOF {
			return
		} else if err != nil {
			b.Fatal(err)
		}
		attendees, _ := row["Attendees"].([]any)
		topic, _ := row["Topic"].(map[string]any)
		delete(row, "Attendees")
		delete(row, "Topic")
		eng := c.SObject("EngagementInteraction")
		for k, v := range row {
			eng.Set(k, v)
		}
		created := eng.Create()
		require.NotNil(b, created, "create engagement")
		id := created.ID()
		for _, a := range attendees {
			att := c.SObject("EngagementAttendee").Set("EngagementId", id).Set("StartDateTime", row["StartDateTime"])
			for k, v := range a.(map[string]any) {
				att.Set(k, v)
			}
			require.NotNil(b, att.Create(), "create attendee")
		}
		top := c.SObject("EngagementTopic").Set("EngagementId", id)
		for k, v := range topic {
			top.Set(k, v)
		}
		require.NotNil(b, top.Create(), "create topic")
	}
}
