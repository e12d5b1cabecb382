package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
)

func TestHealthNeedsNoKey(t *testing.T) {
	down := errors.New("store down")
	var mu sync.Mutex
	var readyErr error
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) {
		c.Ready = func(context.Context) error { mu.Lock(); defer mu.Unlock(); return readyErr }
	}))
	anon := e.client.as("")
	assert.Equal(t, http.StatusOK, anon.do(http.MethodGet, "/healthz", nil).status)
	assert.Equal(t, http.StatusOK, anon.do(http.MethodGet, "/readyz", nil).status)
	mu.Lock()
	readyErr = down
	mu.Unlock()
	anon.do(http.MethodGet, "/readyz", nil).problem(t, http.StatusServiceUnavailable, "not_ready")
	anon.do(http.MethodGet, "/v1/openapi.json", nil).problem(t, http.StatusUnauthorized, "unauthorized")
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, backends[0])
	for _, r := range []*response{
		e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}),
		e.raw.do(http.MethodPost, "/v1/sessions", "{"),
		e.client.as("").do(http.MethodGet, "/healthz", nil),
	} {
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
		assert.Equal(t, "default-src 'none'; frame-ancestors 'none'", r.header.Get("Content-Security-Policy"))
		assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
		assert.Len(t, r.header.Get("X-Request-Id"), 16)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"), "no CORS without an Origin")
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, backends[0])
	const allowed, other = "https://softphone.example.com", "https://evil.example.com"
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, e.srv.URL+"/v1/sessions", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := preflight(allowed)
	assert.Equal(t, http.StatusNoContent, res.StatusCode, "a preflight carries no key")
	assert.Equal(t, allowed, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET, POST", res.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Authorization, Content-Type, Idempotency-Key", res.Header.Get("Access-Control-Allow-Headers"))
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"))
	res = preflight(other)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	r := e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}, "Origin", allowed)
	require.Equal(t, http.StatusCreated, r.status)
	assert.Equal(t, allowed, r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "Idempotent-Replayed")
	assert.Equal(t, "Origin", r.header.Get("Vary"))
	r = e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}, "Origin", other)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"), "a browser does not let another origin read the answer")
}

func TestKeyRateLimit(t *testing.T) {
	metrics := &recordingMetrics{}
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) {
		c.Limits = httpapi.Limits{KeyPerSecond: 1.0 / 3600, KeyBurst: 2}
		c.Metrics = metrics
	}))
	for range 2 {
		require.Equal(t, http.StatusCreated, e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}).status)
	}
	r := e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone})
	r.problem(t, http.StatusTooManyRequests, "rate_limited")
	wait, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, 1800, wait, 1801, "about half an hour: one token an hour")
	assert.Equal(t, http.StatusCreated, e.client.as(opsKey).do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}).status,
		"another key has its own limit")
	assert.Equal(t, 1, metrics.count("limited key"))
}

// Answer steps on one person are limited whoever sends them, on this replica: sessions on
// another person are not, and a step the engine refuses costs nothing.
func TestPersonRateLimit(t *testing.T) {
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) {
		c.Limits = httpapi.Limits{PersonPerMinute: 1.0 / 60, PersonBurst: 2}
	}))
	atQuestions := func(c *client, who string) session {
		s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": who}})
		s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
		return e.step(s, "subject", map[string]any{"subject": "self"})
	}
	wrong := []map[string]any{{"field": "PersonMailingPostalCode", "value": "ZZ1 1ZZ"}}
	s1, s2, s3 := atQuestions(e.client, janeID), atQuestions(e.client, janeID), atQuestions(e.client, janeID)
	// A refused step (an answer to a question not asked) costs nothing.
	e.stepResponse(e.raw, s1, "answers", map[string]any{"answers": []map[string]any{{"field": "Nope", "value": "x"}}}).
		problem(t, http.StatusUnprocessableEntity, "question_not_asked")
	e.step(s1, "answers", map[string]any{"answers": wrong})
	e.step(s2, "answers", map[string]any{"answers": wrong})
	r := e.stepResponse(e.client, s3, "answers", map[string]any{"answers": wrong})
	r.problem(t, http.StatusTooManyRequests, "rate_limited")
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Equal(t, s3.Version, e.get(s3.Session).Version, "nothing judged")
	other := atQuestions(e.client, ahmedID)
	assert.Equal(t, http.StatusOK, e.stepResponse(e.client, other, "answers", map[string]any{"answers": wrong}).status, "another person")
}

// A replica that did not answer the select (so does not know the session's person) reads it:
// a client cannot walk around the limit by sending each answer to another replica.
func TestPersonRateLimitAcrossReplicas(t *testing.T) {
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) {
		c.Limits = httpapi.Limits{PersonPerMinute: 1.0 / 60, PersonBurst: 1}
	}))
	replica, err := httpapi.New(e.cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(replica)
	t.Cleanup(srv.Close)
	other := &client{t: t, base: srv.URL, key: softphoneKey, http: &http.Client{Transport: specChecker(t, true)}}
	atQuestions := func() session {
		s := e.start(map[string]any{"attendee": map[string]string{"object": "Account", "id": janeID}})
		s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
		return e.step(s, "subject", map[string]any{"subject": "self"})
	}
	wrong := []map[string]any{{"field": "PersonMailingPostalCode", "value": "ZZ1 1ZZ"}}
	s1, s2 := atQuestions(), atQuestions()
	require.Equal(t, http.StatusOK, e.stepResponse(other, s1, "answers", map[string]any{"answers": wrong}).status)
	e.stepResponse(other, s2, "answers", map[string]any{"answers": wrong}).problem(t, http.StatusTooManyRequests, "rate_limited")
}

func TestMetricsAndAccessLog(t *testing.T) {
	metrics := &recordingMetrics{}
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) { c.Metrics = metrics }))
	s := e.start(map[string]any{"phone": janePhone})
	r := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Opening hours"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusOK, r.status)
	e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Opening hours"}, "Idempotency-Key", "k")
	assert.Equal(t, 1, metrics.count("request POST /v1/sessions softphone 201"))
	assert.Equal(t, 2, metrics.count("request POST /v1/sessions/{id}/reason softphone 200"))
	assert.Equal(t, 1, metrics.count("outcome not_required"), "a replay is not counted again")
	assert.Equal(t, 1, metrics.count("replayed POST /v1/sessions/{id}/reason"))
	logs := e.logs.String()
	assert.Contains(t, logs, `"route":"POST /v1/sessions/{id}/reason"`)
	assert.Contains(t, logs, `"key":"softphone"`)
	assert.NotContains(t, logs, s.Session)
}

type recordingMetrics struct {
	mu     sync.Mutex
	events []string
}

func (m *recordingMetrics) add(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, s)
}

func (m *recordingMetrics) count(s string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.events {
		if e == s {
			n++
		}
	}
	return n
}

func (m *recordingMetrics) Request(route, key string, status int, _ time.Duration) {
	m.add("request " + route + " " + key + " " + strconv.Itoa(status))
}
func (m *recordingMetrics) Outcome(o flows.Outcome) { m.add("outcome " + o.String()) }
func (m *recordingMetrics) Limited(l string)        { m.add("limited " + l) }
func (m *recordingMetrics) Replayed(route string)   { m.add("replayed " + route) }

func TestNewRefusesABadConfig(t *testing.T) {
	_, err := httpapi.New(httpapi.Config{})
	require.ErrorContains(t, err, "Engine, Store and Idempotency are required")
	e := newEnv(t, backends[0])
	for _, change := range []func(*httpapi.Config){
		func(c *httpapi.Config) { c.Keys = []httpapi.APIKey{{Name: "a b", SHA256: httpapi.HashKey("x")}} },
		func(c *httpapi.Config) { c.Keys = []httpapi.APIKey{{Name: "a", SHA256: "x"}} },
		func(c *httpapi.Config) { c.Keys = append(c.Keys, c.Keys[0]) },
		func(c *httpapi.Config) { c.MinAttestation = "D" },
		func(c *httpapi.Config) { c.CORSOrigins = []string{"*"} },
	} {
		cfg := e.cfg
		cfg.Keys = append([]httpapi.APIKey(nil), cfg.Keys...)
		change(&cfg)
		_, err := httpapi.New(cfg)
		assert.Error(t, err)
	}
}

func TestNewServerBoundsEveryPhase(t *testing.T) {
	srv := httpapi.NewServer(":0", http.NotFoundHandler(), httpapi.Timeouts{Write: time.Minute}, nil)
	assert.Equal(t, httpapi.DefaultTimeouts.ReadHeader, srv.ReadHeaderTimeout)
	assert.Equal(t, httpapi.DefaultTimeouts.Read, srv.ReadTimeout)
	assert.Equal(t, time.Minute, srv.WriteTimeout)
	assert.Equal(t, httpapi.DefaultTimeouts.Idle, srv.IdleTimeout)
	assert.Equal(t, httpapi.MaxHeaderBytes, srv.MaxHeaderBytes)
	assert.NotNil(t, srv.ErrorLog)
}

// A panic in a handler the server serves beside the API (a mount) is logged by its type, never
// its value, and the answer is aborted.
func TestNewServerLogsNoPanicValue(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv := httpapi.NewServer("", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("caller Jane Smith, born 1980-03-14")
	}), httpapi.Timeouts{}, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	_, err = http.Get("http://" + ln.Addr().String() + "/console/")
	require.Error(t, err, "the answer is aborted")
	// The line is written before the connection is closed.
	assert.Contains(t, logs.String(), "msg=panic type=string")
	assert.NotContains(t, logs.String(), "Jane")
}
