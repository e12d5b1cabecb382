package flows_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// representativeFlow runs a representative's whole verification: a CTI start, the reason, the
// subject, the representative's search, selection and answers, then the customer's.
func representativeFlow(tb testing.TB, h *harness, externalID string) flows.View {
	v, err := h.e.Start(h.ctx, flows.StartRequest{Phone: "07700 900123", Channel: "Voice Call", ExternalID: externalID})
	if err == nil {
		v, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Reason: "Change of address"})
	}
	if err == nil {
		v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectOther})
	}
	if err == nil {
		v, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: "representative",
			Query: flows.Query{Fields: map[string]string{"LastName": "Brown"}}})
	}
	if err == nil {
		v, err = h.e.Select(h.ctx, flows.SelectRequest{Session: v.Session, Record: robertID})
	}
	if err == nil {
		v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: robertAnswers})
	}
	if err == nil {
		v, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, Query: flows.Query{Keywords: "Jane"}})
	}
	if err == nil {
		v, err = h.e.Select(h.ctx, flows.SelectRequest{Session: v.Session, Record: janeID})
	}
	if err == nil {
		v, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: janeAsCustomer})
	}
	if err != nil || v.Outcome != flows.OutcomeVerified {
		tb.Fatalf("flow ended %v: %v", v.Outcome, err)
	}
	return v
}

func TestRepresentativeFlowBenchmarkPath(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := representativeFlow(t, h, "")
	require.Equal(t, []flows.Ref{robert, jane}, v.Verified)
}

// BenchmarkRepresentativeFlow measures a representative's full verification (nine steps,
// each a store read and write) through the engine with the in-memory ports of flowstest.
// The fakes are kept at a steady size, as production's would be: every flow is on the same
// call (engagement) two hours after the last, so the verified status has lapsed, and finished
// sessions, their audit and their delivered write-backs are dropped. Each flow's write-back is
// delivered through the in-memory outbox, as a worker would.
//
// Besides wall time it reports the process's CPU time per flow (cpu-ns/op, GC included),
// which other load on a shared machine disturbs much less.
func BenchmarkRepresentativeFlow(b *testing.B) {
	h := newHarness(b, demoPolicy())
	b.ReportAllocs()
	runs, start := 0, cpuTime()
	for b.Loop() {
		v := representativeFlow(b, h, "bench-call")
		if _, err := flowstest.Deliver(h.ctx, h.store, h.crm, h.clock.Now()); err != nil {
			b.Fatal(err)
		}
		h.store.Delete(v.Session)
		h.store.Forget()
		h.crm.DrainWritebacks()
		h.clock.Advance(2 * time.Hour)
		runs++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(runs), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkSessionSize measures an active session at its largest (the customer's questions,
// after the representative's): its stored size, and the heap the in-memory store holds per
// session (stored bytes plus the store's own bookkeeping).
func BenchmarkSessionSize(b *testing.B) {
	const sessions = 5000
	h := newHarness(b, demoPolicy())
	ids := make([]string, 0, sessions)
	stored := 0
	var before, after runtime.MemStats
	for b.Loop() {
		ids = ids[:0]
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range sessions {
			v, err := h.e.Start(h.ctx, flows.StartRequest{Phone: noPhone})
			require.NoError(b, err)
			for _, s := range []step{reason("Change of address"), subject(flows.SubjectOther),
				searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID),
				answer(robertAnswers...), search("", "Jane"), pick(janeID)} {
				v, err = s(h, v)
				require.NoError(b, err)
			}
			require.Equal(b, flows.StateQuestions, v.State)
			ids = append(ids, v.Session)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		stored = len(h.store.Raw(ids[0]))
	}
	b.ReportMetric(float64(stored), "stored-B/session")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/sessions, "heap-B/session")
	runtime.KeepAlive(ids)
}
