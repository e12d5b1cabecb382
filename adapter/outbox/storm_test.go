package outbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// TestStorm runs 200 verifications at once, of five kinds, while the org answers 20% of its
// data calls with 503 SERVER_UNAVAILABLE or UNABLE_TO_LOCK_ROW, every access token expires
// every 50 calls, and one write-back in ten is taken by Salesforce but its answer lost (the
// client sees a 503 after the org committed: the crash between Salesforce's commit and ours).
// Two workers deliver the outbox meanwhile, as two replicas would. With 200 sessions in flight
// and tokens lasting 50 calls, many calls meet an expired token again after sfdc's one replay
// with a new one: the agents send a failed step again (up to 100 times), as a client would. At the end each session's
// outcome is in the org exactly once (one engagement per call id, one topic, the attendee rows
// its outcome writes) and nothing is parked.
func TestStorm(t *testing.T) {
	for _, drv := range storetest.Drivers {
		t.Run(drv.Name, func(t *testing.T) { testStorm(t, drv) })
	}
}

// stormKinds are the sessions the storm runs, with the attendee rows and the topic status
// each writes.
var stormKinds = []struct {
	run       func(g *agent, ext string)
	outcome   flows.Outcome
	attendees int
	status    string
}{
	{selfVerified, flows.OutcomeVerified, 1, flows.ProcessCompleted},
	{representativeVerified, flows.OutcomeVerified, 1, flows.ProcessCompleted},
	{notRequired, flows.OutcomeNotRequired, 0, flows.ProcessCompleted},
	{notIdentified, flows.OutcomeNotIdentified, 0, flows.ProcessFailed},
	{cancelled, flows.OutcomeCancelled, 1, flows.ProcessCancelled},
}

func testStorm(t *testing.T, drv storetest.Driver) {
	sessions := 200
	if testing.Short() {
		sessions = 50 // the same storm, shorter, for a quick run
	}
	var org atomic.Pointer[fakeorg.Org]
	var served, failed, lost atomic.Int64
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(9, 50))
	storm := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o := org.Load(); o != nil && strings.HasPrefix(r.URL.Path, "/services/data/") {
				if served.Add(1)%50 == 0 {
					o.ExpireTokens()
				}
				mu.Lock()
				lose := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/composite") && rnd.IntN(10) == 0
				mu.Unlock()
				if lose {
					next.ServeHTTP(httptest.NewRecorder(), r) // the org commits; the answer is lost
					lost.Add(1)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`[{"errorCode":"SERVER_UNAVAILABLE","message":"lost"}]`))
					return
				}
			}
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status >= 500 {
				failed.Add(1)
			}
		})
	}
	r := newRig(t, drv.Open(t), sfdctest.WithMiddleware(storm))
	for _, f := range []fakeorg.Failure{fakeorg.FailServerUnavailable, fakeorg.FailUnableToLockRow} {
		_, err := r.org.AddFault(fakeorg.Fault{Path: "/services/data/*", Failure: f, Rate: 0.1})
		require.NoError(t, err)
	}
	org.Store(r.org.Org)

	ctx, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for range 2 {
		w := r.worker()
		workers.Go(func() { _ = w.Run(ctx) })
	}
	outcomes := make([]flows.Outcome, sessions)
	var agents sync.WaitGroup
	for i := range sessions {
		agents.Go(func() {
			g := &agent{t: t, r: r, retries: 100}
			stormKinds[i%len(stormKinds)].run(g, stormID(i))
			outcomes[i] = g.v.Outcome
		})
	}
	agents.Wait()
	for i, o := range outcomes {
		require.Equal(t, stormKinds[i%len(stormKinds)].outcome, o, "session %d", i)
	}
	// Wait for the workers to deliver everything (failed writes are tried again within
	// milliseconds): pending or claimed writes left after a minute fail the test.
	var left []flows.OutboxEntry
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		left, err = r.st.ListOutbox(context.Background(), 0, 0)
		require.NoError(t, err)
		if len(left) == 0 || allParked(left) {
			break
		}
	}
	stop()
	workers.Wait()
	require.Empty(t, left, "every write delivered, none parked")
	r.org.ClearFaults()
	org.Store(nil)

	// What landed, counted per engagement.
	reader := r.org.NewClient(t)
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = stormID(i)
	}
	landedOnce(t, reader, ids)
	t.Logf("%d sessions; %d data calls answered, %d of them 503 or UNABLE_TO_LOCK_ROW, %d write-backs taken with their answer lost; %d logins",
		sessions, served.Load(), failed.Load(), lost.Load(), r.org.Count(fakeorg.KindToken))
}

func stormID(i int) string { return fmt.Sprintf("storm-%03d", i) }

func allParked(list []flows.OutboxEntry) bool {
	for _, e := range list {
		if e.Status != flows.OutboxParked {
			return false
		}
	}
	return true
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// landedOnce checks that the org holds the outcome of session i, on call id ids[i], exactly
// once, as stormKinds[i % len(stormKinds)] writes it: one engagement, one topic with its
// status, its attendee rows.
func landedOnce(t *testing.T, reader *sfdc.Client, ids []string) {
	t.Helper()
	engs := rows(t, reader, sfdc.Select("Id", "ExternalIdentifier").From("EngagementInteraction").Where(sfdc.In("ExternalIdentifier", ids)))
	byID, perCall := map[string]string{}, map[string]int{} // engagement id → call id; call id → engagements
	var engIDs []string
	for _, e := range engs {
		ext := field(e, "ExternalIdentifier")
		perCall[ext]++
		byID[string(e.ID())] = ext
		engIDs = append(engIDs, string(e.ID()))
	}
	topics, attendees := map[string][]string{}, map[string]int{}
	for _, tp := range rows(t, reader, sfdc.Select("EngagementId", "ProcessStatus").From("EngagementTopic").Where(sfdc.In("EngagementId", engIDs))) {
		ext := byID[field(tp, "EngagementId")]
		topics[ext] = append(topics[ext], field(tp, "ProcessStatus"))
	}
	for _, a := range rows(t, reader, sfdc.Select("EngagementId").From("EngagementAttendee").Where(sfdc.In("EngagementId", engIDs))) {
		attendees[byID[field(a, "EngagementId")]]++
	}
	for i, ext := range ids {
		kind := stormKinds[i%len(stormKinds)]
		assert.Equal(t, 1, perCall[ext], "%s: one engagement", ext)
		assert.Equal(t, []string{kind.status}, topics[ext], "%s: one topic", ext)
		assert.Equal(t, kind.attendees, attendees[ext], "%s: attendee rows", ext)
	}
}
