package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Benchmarks every driver runs on a store of its own (open returns an empty one):
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, func(b *testing.B) store.Store { return open(b) }) }
//
// Each reports its rate per second besides the time per operation, and the process's CPU time
// per operation (cpu-µs/op: the store's goroutines, SQLite or pgx included), which on a shared
// machine says more than the wall clock.

// Benchmark runs the store benchmarks.
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("Commit", func(b *testing.B) { benchmarkCommit(b, open(b)) })
	b.Run("Deliver", func(b *testing.B) { benchmarkDeliver(b, open(b)) })
	b.Run("Verification", func(b *testing.B) { benchmarkVerification(b, open(b)) })
}

// benchmarkCommit measures step commits from parallel goroutines (GOMAXPROCS × 4: a server
// serves many agents at once), each on its own open session, as the engine writes them: a
// 560-byte session with its idle expiry (the largest, a representative at the customer's questions) and an audit
// event; every fourth commit is a judged answer, guarded and counting a failure against one of
// 64 people.
func benchmarkCommit(b *testing.B, st store.Store) {
	ctx := context.Background()
	data := bytes.Repeat([]byte{'s'}, 560)
	var next atomic.Int64
	start := time.Unix(1_800_000_000, 0)
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		id := fmt.Sprint("bench-session-", g)
		var version uint64
		for i := 0; pb.Next(); i++ {
			c := flows.Commit{Session: id, Data: data, Version: version, Expires: time.Now().Add(15 * time.Minute), Audit: []flows.AuditEvent{{At: start,
				SessionKey: id, Engagement: id, Actor: "bench", Step: "answer", From: flows.StateQuestions, To: flows.StateQuestions}}}
			if i%4 == 3 {
				person := fmt.Sprintf("0010000000%05dAAA", (int(g)*31+i)%64)
				f, err := st.Failures(ctx, person, start.Add(-time.Hour))
				if err != nil {
					b.Error(err)
					return
				}
				c.Guard = flows.Guard{Person: person, Since: start.Add(-time.Hour), Failures: len(f)}
				c.Failures = []flows.Failure{{Person: person, Key: fmt.Sprint(id, "/", i), At: start}}
			}
			v, err := st.Commit(ctx, c)
			if err == flows.ErrFailuresChanged { // another goroutine counted against the person: read again
				continue
			}
			if err != nil {
				b.Error(err)
				return
			}
			version = v
		}
	})
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// nopRecorder takes every write and does nothing.
type nopRecorder struct{}

func (nopRecorder) CreateLead(context.Context, string, flows.Lead) (flows.Ref, error) {
	return flows.Ref{}, nil
}
func (nopRecorder) OpenEngagement(context.Context, string) (flows.OpenedEngagement, error) {
	return flows.OpenedEngagement{}, nil
}
func (nopRecorder) WriteOutcome(context.Context, flows.Writeback) error { return nil }

// benchmarkDeliver measures the outbox worker draining b.N queued writes (of b.N/4
// engagements, so most engagements have writes waiting behind one another) to a Recorder that
// does nothing: the store's cost of a delivery (claim, settle), with 2 workers of 4 each.
func benchmarkDeliver(b *testing.B, st store.Store) {
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	w := flowstest.OutboxWrite(at)
	for i := range b.N {
		key := fmt.Sprint("bench-write-", i)
		ref := fmt.Sprint("call-", i%max(1, b.N/4))
		_, err := st.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"),
			Outbox: []flows.OutboxWrite{{Key: key, Engagement: ref, At: at, Writeback: w}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			wk := &outbox.Worker{Outbox: st, Recorder: nopRecorder{}, Concurrency: 4, Batch: 4}
			for {
				n, err := wk.RunOnce(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if n == 0 {
					left, err := st.ListOutbox(ctx, 0, 1)
					if err != nil || len(left) == 0 {
						return
					}
				}
			}
		}()
	}
	<-done
	<-done
	b.StopTimer()
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// reportCPU reports the process's CPU time per operation since cpu.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// benchmarkVerification measures whole verifications through the engine on the store, with
// the CRM in memory: a caller named in person, about themself, answering two check-mode
// questions (Start, reason, subject, answer: 4 commits, 2 lockout reads, 1 mark read), from
// parallel goroutines, each on a person of its own.
func benchmarkVerification(b *testing.B, st store.Store) {
	ctx := context.Background()
	const people = 256
	var persons []flowstest.Person
	for i := range people {
		persons = append(persons, flowstest.Person{Ref: flows.Ref{Object: "Account", ID: fmt.Sprintf("0010000000%05dAAA", i)},
			Fields: map[string]string{"Name": "Jane Smith", "PersonBirthdate": "1980-03-14"}})
	}
	crm := flowstest.NewCRM(persons, nil)
	policy := flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}},
		SearchTypes: []flows.SearchType{{Name: "customer", Object: "Account", Search: flows.SearchText,
			SearchFields: []string{"Name"}, ResultFields: []string{"Name"},
			Required: []flows.Verifier{{Field: "Name", Match: flows.MatchName, Mode: flows.ModeCheck},
				{Field: "PersonBirthdate", Match: flows.MatchDate, Mode: flows.ModeCheck}}}},
	}
	e, err := flows.New(policy, flows.Ports{CRM: crm, Recorder: crm, Store: st}, []byte("a deployment secret of 32+ bytes"))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := persons[next.Add(1)%people].Ref
			v, err := e.Start(ctx, flows.StartRequest{Attendee: p, Channel: "In Person"})
			if err == nil {
				v, err = e.SetReason(ctx, flows.ReasonRequest{Session: v.Session, Reason: "Change of address"})
			}
			if err == nil {
				v, err = e.SetSubject(ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
			}
			if err == nil {
				v, err = e.Answer(ctx, flows.AnswerRequest{Session: v.Session, Answers: []flows.Answer{
					{Field: "Name", Value: "smith, jane"}, {Field: "PersonBirthdate", Value: "14 March 1980"}}})
			}
			if err != nil || v.Outcome != flows.OutcomeVerified {
				b.Errorf("ended %v: %v", v.Outcome, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
