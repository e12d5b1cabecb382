package outbox_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// BenchmarkVerification measures complete verifications per second through the engine, the
// Salesforce adapter and a real store, with the outbox delivered by two workers, against the
// in-process fake org on a local httptest server (every API call a loopback HTTP round trip
// through sfdc and the fake org's handler): a caller rings from their mobile (one SOSL search,
// which also reads their verifier values), reason, subject, two check-mode answers, and the
// write-back delivered (one composite). 4 commits, 2 API calls and one delivery per op, from
// GOMAXPROCS × 16 goroutines (32 agents on two cores: with 8, agents waiting on their loopback
// calls left the cores idle a fifth of the time), each verification on an engagement and a person of its own (b.N
// generated person accounts besides the demo data): verifications of one person at once would
// take each other's read-ahead values and make calls a day of different callers does not
// (api-calls/op shows it). The timer stops when the last write-back is delivered. Besides the
// rate it reports the process's CPU time per verification (cpu-ns/op: engine, adapter, store,
// worker and the in-process fake org, GC included) and the rate that CPU time allows on all
// the machine's cores (verifications/s-idle): on a shared machine the wall-clock rate says
// more about the other processes than about this code.
func BenchmarkVerification(b *testing.B) {
	for _, drv := range storetest.Drivers {
		b.Run(drv.Name, func(b *testing.B) {
			// The write-back's guard finds the session's topic by ProcessName (an anti-join),
			// which Salesforce does not index by default: without a custom index each
			// verification would read every topic row written before it, a cost that grows
			// with b.N, in the fake org here and on Salesforce's side in production.
			r := newRig(b, drv.Open(b), sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo, Records: b.N, RecordSeed: 1,
				CustomIndexes: []string{"EngagementTopic.ProcessName"}}))
			callers := generatedCallers(b, r)
			ctx, stop := context.WithCancel(context.Background())
			var workers sync.WaitGroup
			defer func() { stop(); workers.Wait() }()
			for range 2 {
				w := r.worker()
				w.Poll, w.Concurrency, w.Batch = 10*time.Millisecond, 8, 8
				workers.Go(func() { _ = w.Run(ctx) })
			}
			var next atomic.Int64
			b.SetParallelism(16)
			b.ReportAllocs()
			r.resetCalls(b)
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					if err := verify(r.engine, callers[i-1], fmt.Sprint("bench-", i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			for {
				left, err := r.st.ListOutbox(context.Background(), 0, 1)
				if err != nil {
					b.Fatal(err)
				}
				if len(left) == 0 {
					break
				}
				if left[0].Status == flows.OutboxParked {
					b.Fatalf("parked: %+v", left[0])
				}
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			perOp := float64(cpuTime()-cpu) / float64(b.N)
			// 2 when every verification takes the verifier values its phone lookup read ahead.
			b.ReportMetric(float64(r.calls())/float64(b.N), "api-calls/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
			b.ReportMetric(perOp, "cpu-ns/op")
			// What the process's CPU time allows on the machine's cores, were they all its own:
			// the rate on an idle machine, fake org included.
			b.ReportMetric(float64(runtime.NumCPU())*float64(time.Second)/perOp, "verifications/s-idle")
		})
	}
}

// caller is a generated person: the number they call from and their right answers.
type caller struct {
	phone   string
	answers []flows.Answer
}

// generatedCallers reads the org's generated person accounts (AccountNumber GEN-…).
func generatedCallers(b *testing.B, r *rig) []caller {
	b.Helper()
	q := sfdc.Select("PersonMobilePhone", "PersonBirthdate").From("Account").
		Where(sfdc.Like("AccountNumber", sfdc.HasPrefix("GEN-"))).OrderBy("AccountNumber", false)
	var out []caller
	for rec, err := range r.org.Client.Query(context.Background(), q) {
		if err != nil {
			b.Fatal(err)
		}
		var p struct{ PersonMobilePhone, PersonBirthdate string }
		if err := rec.Decode(&p); err != nil {
			b.Fatal(err)
		}
		born, err := time.Parse(time.DateOnly, p.PersonBirthdate)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, caller{phone: p.PersonMobilePhone, answers: []flows.Answer{
			{Field: "PersonBirthdate", Value: born.Format("02/01/2006")}, // date_order: dmy
			{Field: "PersonMobilePhone", Value: p.PersonMobilePhone},
		}})
	}
	if len(out) < b.N {
		b.Fatalf("%d generated people for %d verifications", len(out), b.N)
	}
	return out
}

// verify runs one self verification of c on call id ext.
func verify(e *flows.Engine, c caller, ext string) error {
	ctx := context.Background()
	v, err := e.Start(ctx, flows.StartRequest{Actor: "bench", Phone: c.phone, Key: ext, ExternalID: ext, Channel: "Voice Call"})
	if err == nil {
		v, err = e.SetReason(ctx, flows.ReasonRequest{Actor: "bench", Session: v.Session, Version: v.Version, Reason: "Change of address"})
	}
	if err == nil {
		v, err = e.SetSubject(ctx, flows.SubjectRequest{Actor: "bench", Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
	}
	if err == nil {
		v, err = e.Answer(ctx, flows.AnswerRequest{Actor: "bench", Session: v.Session, Version: v.Version, Answers: c.answers})
	}
	if err == nil && v.Outcome != flows.OutcomeVerified {
		err = fmt.Errorf("ended %v", v.Outcome)
	}
	return err
}

// cpuTime is the process's CPU time so far (user and system, every thread).
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
