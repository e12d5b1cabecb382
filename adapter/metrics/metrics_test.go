package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/metrics"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
	"github.com/idverify/idverify/sfdc"
)

// scrape returns the metrics as Prometheus's text format.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func TestAPIMetrics(t *testing.T) {
	m := metrics.New()
	m.Request("POST /v1/sessions/{id}/answers", "softphone", 200, 3*time.Millisecond)
	m.Request("", "", 404, time.Millisecond)
	m.Outcome(flows.OutcomeVerified)
	m.Outcome(flows.OutcomeLocked)
	m.Limited("person")
	m.Replayed("POST /v1/sessions")
	text := scrape(t, m)
	for _, want := range []string{
		`idverify_http_requests_total{key="softphone",route="POST /v1/sessions/{id}/answers",status="200"} 1`,
		`idverify_http_requests_total{key="",route="none",status="404"} 1`,
		`idverify_outcomes_total{outcome="verified"} 1`,
		`idverify_outcomes_total{outcome="locked"} 1`,
		`idverify_lockouts_total 1`,
		`idverify_rate_limited_total{limit="person"} 1`,
		`idverify_idempotent_replays_total{route="POST /v1/sessions"} 1`,
	} {
		assert.Contains(t, text, want)
	}
}

// Salesforce's calls are counted by status class, a failed round trip as error, and the daily
// usage is the last Sforce-Limit-Info's.
func TestTransport(t *testing.T) {
	status := http.StatusOK
	org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=18/15000")
		w.WriteHeader(status)
	}))
	defer org.Close()
	m := metrics.New()
	client := &http.Client{Transport: m.Transport(nil)}
	for _, s := range []int{200, 200, 503, 404} {
		status = s
		resp, err := client.Get(org.URL)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_, err := client.Get("http://127.0.0.1:1") // nothing listens on port 1
	require.Error(t, err)
	m.OnRetry(sfdc.RetryEvent{Reason: "UNABLE_TO_LOCK_ROW"})
	text := scrape(t, m)
	for _, want := range []string{`idverify_salesforce_requests_total{result="2xx"} 2`, `idverify_salesforce_requests_total{result="5xx"} 1`,
		`idverify_salesforce_requests_total{result="4xx"} 1`, `idverify_salesforce_requests_total{result="error"} 1`,
		`idverify_salesforce_api_usage 18`, `idverify_salesforce_api_limit 15000`,
		`idverify_salesforce_retries_total{reason="UNABLE_TO_LOCK_ROW"} 1`} {
		assert.Contains(t, text, want)
	}
}

type recorder struct {
	flows.Recorder
	err error
}

func (r recorder) WriteOutcome(context.Context, flows.Writeback) error { return r.err }

func TestRecorderAndOutbox(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	require.NoError(t, m.Recorder(recorder{}).WriteOutcome(ctx, flows.Writeback{}))
	require.ErrorIs(t, m.Recorder(recorder{err: flows.ErrUnavailable}).WriteOutcome(ctx, flows.Writeback{}), flows.ErrUnavailable)
	require.Error(t, m.Recorder(recorder{err: errors.New("no")}).WriteOutcome(ctx, flows.Writeback{}))

	st := &flowstest.Store{}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, eng := range []string{"call-1", "call-2"} {
		_, err := st.Commit(ctx, flows.Commit{Session: eng, Data: []byte("x"),
			Outbox: []flows.OutboxWrite{{Key: eng, Engagement: eng, At: t0.Add(time.Duration(i) * time.Minute)}}})
		require.NoError(t, err)
	}
	m.WatchOutbox(st, func() time.Time { return t0.Add(10 * time.Minute) })
	text := scrape(t, m)
	for _, want := range []string{`idverify_outbox_deliveries_total{result="delivered"} 1`,
		`idverify_outbox_deliveries_total{result="unavailable"} 1`, `idverify_outbox_deliveries_total{result="rejected"} 1`,
		`idverify_outbox_depth{status="pending"} 2`, `idverify_outbox_depth{status="parked"} 0`,
		`idverify_outbox_oldest_age_seconds 600`} {
		assert.Contains(t, text, want)
	}
}

// The SQLite store's checkpoint counters are read at each scrape: a checkpoint that fails is
// what an operator alerts on (the WAL grows until one succeeds).
func TestWAL(t *testing.T) {
	m := metrics.New()
	wal := metrics.WAL{Checkpoints: 12, CheckpointErrors: 1, Restarts: 3, RestartsBusy: 2}
	m.WatchWAL(func() metrics.WAL { return wal })
	text := scrape(t, m)
	for _, want := range []string{"idverify_sqlite_checkpoints_total 12\n", "idverify_sqlite_checkpoint_errors_total 1\n",
		"idverify_sqlite_wal_restarts_total 3\n", "idverify_sqlite_wal_restarts_busy_total 2\n", "idverify_sqlite_wal_restart_errors_total 0\n"} {
		assert.Contains(t, text, want)
	}
	wal.CheckpointErrors = 5
	assert.Contains(t, scrape(t, m), "idverify_sqlite_checkpoint_errors_total 5", "read again at the next scrape")
}
