// Package metrics is idverify's Prometheus instrumentation (github.com/prometheus/client_golang):
// the HTTP API's requests, outcomes, rate limiting and replays (httpapi.Metrics), the calls to
// Salesforce by result and the org's daily API usage from Sforce-Limit-Info (an
// http.RoundTripper under sfdc), the outbox's deliveries (a flows.Recorder wrapper), depth and
// age (read from the store at each scrape) and lockouts.
//
// No label holds personal data or an id: labels are route patterns, API key names, statuses,
// outcome names and error codes, each from a small fixed set.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// Metrics holds idverify's collectors in a registry of its own. Build it with New.
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	outcomes  *prometheus.CounterVec
	lockouts  prometheus.Counter
	limited   *prometheus.CounterVec
	replayed  *prometheus.CounterVec
	sfCalls   *prometheus.CounterVec
	sfRetries *prometheus.CounterVec
	sfUsed    prometheus.Gauge
	sfMax     prometheus.Gauge
	writes    *prometheus.CounterVec
}

var _ httpapi.Metrics = (*Metrics)(nil)

// New returns the metrics, registered with the Go runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_http_requests_total",
			Help: "API requests answered, by route pattern, API key name and status."}, []string{"route", "key", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "idverify_http_request_duration_seconds",
			Help:    "Time to answer an API request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_outcomes_total",
			Help: "Sessions ended, by outcome."}, []string{"outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "idverify_lockouts_total",
			Help: "Sessions that ended with their person locked (too many wrong answers)."}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_rate_limited_total",
			Help: "Requests refused by a rate limit: key or person."}, []string{"limit"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_idempotent_replays_total",
			Help: "Requests answered from the idempotency store, by route pattern."}, []string{"route"}),
		sfCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_salesforce_requests_total",
			Help: "HTTP requests to Salesforce (logins and retries included), by result: the status class (2xx, 4xx, ...) or error."},
			[]string{"result"}),
		sfRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_salesforce_retries_total",
			Help: "Retries of calls to Salesforce, by reason (an error code, an HTTP status, a transport failure)."}, []string{"reason"}),
		sfUsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "idverify_salesforce_api_usage",
			Help: "The org's daily API requests used, from the last Sforce-Limit-Info header."}),
		sfMax: prometheus.NewGauge(prometheus.GaugeOpts{Name: "idverify_salesforce_api_limit",
			Help: "The org's daily API request limit, from the last Sforce-Limit-Info header."}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idverify_outbox_deliveries_total",
			Help: "Attempts to deliver an outbox write to Salesforce, by result: delivered, or the error code."}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.outcomes, m.lockouts, m.limited, m.replayed,
		m.sfCalls, m.sfRetries, m.sfUsed, m.sfMax, m.writes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request implements httpapi.Metrics.
func (m *Metrics) Request(route, key string, status int, elapsed time.Duration) {
	if route == "" {
		route = "none" // no route matched: the path is not a label, whatever it was
	}
	m.requests.WithLabelValues(route, key, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
}

// Outcome implements httpapi.Metrics.
func (m *Metrics) Outcome(o flows.Outcome) {
	m.outcomes.WithLabelValues(o.String()).Inc()
	if o == flows.OutcomeLocked {
		m.lockouts.Inc()
	}
}

// Limited implements httpapi.Metrics.
func (m *Metrics) Limited(limit string) { m.limited.WithLabelValues(limit).Inc() }

// Replayed implements httpapi.Metrics.
func (m *Metrics) Replayed(route string) { m.replayed.WithLabelValues(route).Inc() }

// Transport returns an http.RoundTripper over next (nil: http.DefaultTransport) that counts
// every request to Salesforce by result and keeps the daily usage each answer reports. Give
// it to sfdc as Config.HTTPClient's Transport.
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err != nil {
			m.sfCalls.WithLabelValues("error").Inc()
			return resp, err
		}
		m.sfCalls.WithLabelValues(strconv.Itoa(resp.StatusCode/100) + "xx").Inc()
		// Salesforce reports the usage on every data API answer:
		// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
		if u, ok := sfdc.ParseLimitInfo(resp.Header.Get("Sforce-Limit-Info")); ok {
			m.sfUsed.Set(float64(u.Used))
			m.sfMax.Set(float64(u.Max))
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// OnRetry counts a retry of a call to Salesforce; it is sfdc.Config.OnRetry.
func (m *Metrics) OnRetry(e sfdc.RetryEvent) { m.sfRetries.WithLabelValues(e.Reason).Inc() }

// Recorder returns next with every WriteOutcome (the outbox worker's deliveries) counted by
// result: delivered, or the code the outbox keeps for the failure.
func (m *Metrics) Recorder(next flows.Recorder) flows.Recorder { return recorder{next, m} }

type recorder struct {
	flows.Recorder
	m *Metrics
}

func (r recorder) WriteOutcome(ctx context.Context, w flows.Writeback) error {
	err := r.Recorder.WriteOutcome(ctx, w)
	result := "delivered"
	if err != nil {
		result = outbox.Code(err)
	}
	r.m.writes.WithLabelValues(result).Inc()
	return err
}

// OutboxScan bounds how many writes a scrape reads to count the outbox's depth: a larger
// outbox shows as this many, and its age is still the oldest write's.
const OutboxScan = 10_000

// WatchOutbox registers the outbox's depth by status and the age of its oldest undelivered
// write, read from o at each scrape (within 2 seconds, at most OutboxScan writes).
func (m *Metrics) WatchOutbox(o flows.Outbox, now func() time.Time) {
	m.reg.MustRegister(&outboxCollector{o: o, now: now,
		depth: prometheus.NewDesc("idverify_outbox_depth", "Writes not delivered yet, by status (pending, claimed, parked).", []string{"status"}, nil),
		age:   prometheus.NewDesc("idverify_outbox_oldest_age_seconds", "Age of the oldest write not delivered yet (0 when none).", nil, nil)})
}

// WAL is what an embedded SQLite store did to keep its write-ahead log short (sqlite.WALStats).
type WAL struct {
	Checkpoints, CheckpointErrors, Restarts, RestartsBusy, RestartErrors uint64
}

// WatchWAL registers the SQLite store's checkpoint counters, read from stats at each scrape.
// A failing checkpoint leaves the WAL file to grow with every write: alert on the errors.
func (m *Metrics) WatchWAL(stats func() WAL) {
	counter := func(name, help string, v func(WAL) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(stats())) })
	}
	m.reg.MustRegister(
		counter("idverify_sqlite_checkpoints_total", "PASSIVE checkpoints the SQLite store ran (its WAL copied into the database beside the writer).",
			func(w WAL) uint64 { return w.Checkpoints }),
		counter("idverify_sqlite_checkpoint_errors_total", "PASSIVE checkpoints that failed: the WAL grows until one succeeds.",
			func(w WAL) uint64 { return w.CheckpointErrors }),
		counter("idverify_sqlite_wal_restarts_total", "RESTART checkpoints the SQLite store ran to start its WAL again (a pause of the writer).",
			func(w WAL) uint64 { return w.Restarts }),
		counter("idverify_sqlite_wal_restarts_busy_total", "RESTART checkpoints a reader kept from starting the WAL again (tried again later): nearly all busy for long is a reader held open, and the WAL grows.",
			func(w WAL) uint64 { return w.RestartsBusy }),
		counter("idverify_sqlite_wal_restart_errors_total", "RESTART checkpoints that failed.",
			func(w WAL) uint64 { return w.RestartErrors }))
}

type outboxCollector struct {
	o          flows.Outbox
	now        func() time.Time
	depth, age *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.age }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[flows.OutboxStatus]int{flows.OutboxPending: 0, flows.OutboxClaimed: 0, flows.OutboxParked: 0}
	var oldest time.Time
	read := 0
	for after := int64(0); read < OutboxScan; {
		page, err := c.o.ListOutbox(ctx, after, min(1000, OutboxScan-read))
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.depth, err)
			return
		}
		for _, e := range page {
			after = e.ID
			counts[e.Status]++
			if oldest.IsZero() || e.At.Before(oldest) {
				oldest = e.At
			}
		}
		read += len(page)
		if len(page) < 1000 {
			break
		}
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), status.String())
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
}
