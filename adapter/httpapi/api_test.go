package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// The demo people and policy (httpapitest's, which the clients' tests share).
const (
	janeID   = httpapitest.JaneID
	ahmedID  = httpapitest.AhmedID
	samID    = httpapitest.SamID
	kimID    = httpapitest.KimID
	robertID = httpapitest.RobertID

	janePhone   = httpapitest.JanePhone
	robertPhone = httpapitest.RobertPhone
	sharedPhone = httpapitest.SharedPhone
	nobodyPhone = httpapitest.NobodyPhone
)

var (
	personalData = httpapitest.PersonalData
	demoPeople   = httpapitest.DemoPeople
	demoPolicy   = httpapitest.DemoPolicy
)

// Answers that are right for the demo people.
var (
	janeAnswers = []map[string]any{{"field": "PersonBirthdate", "value": "14/03/1980"},
		{"field": "PersonMailingPostalCode", "value": "sw1a 1aa"}}
	robertAnswers  = []map[string]any{{"field": "Birthdate", "value": "21 July 1962"}, {"field": "MobilePhone", "value": "07700900123"}}
	janeAsCustomer = []map[string]any{{"field": "PersonBirthdate", "value": "March 14, 1980"},
		{"field": "PersonMailingPostalCode", "value": "SW1A1AA"}}
)

// The API keys of the tests.
const (
	softphoneKey = httpapitest.SoftphoneKey
	opsKey       = httpapitest.OpsKey
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// backendStore is what the tests read of a backend's store: what the API reads, and the audit.
type backendStore interface {
	httpapi.Store
	flows.AuditLog
}

// backend is a store the engine and the API run on.
type backend struct {
	name string
	open func(t *testing.T) (flows.SessionStore, backendStore, httpapi.IdempotencyStore)
}

var backends = []backend{
	{"memory", func(t *testing.T) (flows.SessionStore, backendStore, httpapi.IdempotencyStore) {
		st := &flowstest.Store{}
		return st, st, &httpapitest.Idempotency{}
	}},
	{"sqlite", func(t *testing.T) (flows.SessionStore, backendStore, httpapi.IdempotencyStore) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "idverify.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		return st, st, st
	}},
}

// env is the API on the engine, over httptest, with clients whose requests and answers are
// checked against docs/openapi.yaml.
type env struct {
	t      *testing.T
	engine *flows.Engine
	cfg    httpapi.Config
	api    *httpapi.API
	srv    *httptest.Server
	crm    *flowstest.CRM
	clock  *flowstest.Clock
	store  backendStore
	idem   httpapi.IdempotencyStore
	logs   *syncBuffer
	ctx    context.Context
	client *client // checks requests and answers against the spec
	raw    *client // checks answers only: for requests that are wrong on purpose
	// sessions are the ids of the sessions started, which no log line may hold.
	sessions syncList
}

type syncList struct {
	mu   sync.Mutex
	list []string
}

func (l *syncList) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, s)
}

func (l *syncList) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.list...)
}

// option changes the API's configuration, or wraps the engine's store, before the env starts.
type option func(*setup)

type setup struct {
	api      httpapi.Config
	sessions flows.SessionStore
	policy   flows.Policy
}

// withPolicy changes the engine's policy.
func withPolicy(change func(*flows.Policy)) option { return func(s *setup) { change(&s.policy) } }

// withConfig changes the API's configuration.
func withConfig(change func(*httpapi.Config)) option { return func(s *setup) { change(&s.api) } }

func newEnv(t *testing.T, b backend, opts ...option) *env {
	t.Helper()
	sessions, st, idem := b.open(t)
	people, relations := demoPeople()
	e := &env{t: t, crm: flowstest.NewCRM(people, relations), clock: flowstest.NewClock(t0), store: st, idem: idem,
		logs: &syncBuffer{}, ctx: context.Background()}
	su := setup{sessions: sessions, policy: demoPolicy(), api: httpapi.Config{Store: st, Idempotency: idem, Engagements: e.crm, Clock: e.clock,
		Keys: []httpapi.APIKey{{Name: "softphone", SHA256: httpapi.HashKey(softphoneKey)},
			{Name: "ops", SHA256: httpapi.HashKey(opsKey), Admin: true}},
		CORSOrigins: []string{"https://softphone.example.com"},
		Logger:      slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	for _, o := range opts {
		o(&su)
	}
	var err error
	e.engine, err = flows.New(su.policy, flows.Ports{CRM: e.crm, Recorder: e.crm, Store: su.sessions, Clock: e.clock},
		[]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	su.api.Engine = e.engine
	e.cfg = su.api
	e.api, err = httpapi.New(su.api)
	require.NoError(t, err)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.client = &client{t: t, base: e.srv.URL, key: softphoneKey, http: &http.Client{Transport: specChecker(t, true)}}
	e.raw = &client{t: t, base: e.srv.URL, key: softphoneKey, http: &http.Client{Transport: specChecker(t, false)}}
	t.Cleanup(func() { e.checkLogs() })
	return e
}

// checkLogs fails the test if a log line holds a demo person's value or a session id.
func (e *env) checkLogs() {
	logs := e.logs.String()
	for _, v := range personalData {
		assert.NotContains(e.t, logs, v, "a log line holds personal data")
	}
	for _, id := range e.sessions.all() {
		assert.NotContains(e.t, logs, id, "a log line holds a session id")
	}
}

// client sends requests with an API key.
type client struct {
	t    *testing.T
	base string
	key  string
	http *http.Client
}

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path with body (marshalled as JSON unless it is a string or []byte) and
// headers given as name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return &response{status: res.StatusCode, header: res.Header, body: data}
}

// as returns a copy of c with another key ("" sends none).
func (c *client) as(key string) *client {
	cp := *c
	cp.key = key
	return &cp
}

// session is a session's JSON as a client reads it.
type session struct {
	Session     string     `json:"session"`
	Version     uint64     `json:"version"`
	State       string     `json:"state"`
	Outcome     string     `json:"outcome"`
	Cause       string     `json:"cause"`
	Subject     string     `json:"subject"`
	Level       string     `json:"level"`
	Engagement  string     `json:"engagement"`
	Initiating  *ref       `json:"initiating"`
	PhoneMatch  string     `json:"phone_match"`
	SearchType  string     `json:"search_type"`
	Results     []result   `json:"results"`
	Record      *ref       `json:"record"`
	Questions   []question `json:"questions"`
	LockedUntil *time.Time `json:"locked_until"`
	Open        *ref       `json:"open"`
	Verified    []ref      `json:"verified"`
	Next        struct {
		Steps   []string `json:"steps"`
		Reasons []struct {
			Name         string `json:"name"`
			Confidential bool   `json:"confidential"`
		} `json:"reasons"`
		Subjects    []string `json:"subjects"`
		SearchTypes []struct {
			Name         string   `json:"name"`
			Search       string   `json:"search"`
			ResultFields []string `json:"result_fields"`
		} `json:"search_types"`
	} `json:"next"`
}

type ref struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

type result struct {
	Object     string   `json:"object"`
	ID         string   `json:"id"`
	Values     []string `json:"values"`
	PhoneMatch bool     `json:"phone_match"`
}

type question struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Mode     string `json:"mode"`
	Verdict  string `json:"verdict"`
	Expected string `json:"expected"`
}

// problem is a problem details object as a client reads it.
type problem struct {
	Type           string     `json:"type"`
	Title          string     `json:"title"`
	Status         int        `json:"status"`
	Detail         string     `json:"detail"`
	Code           string     `json:"code"`
	Field          string     `json:"field"`
	CurrentVersion uint64     `json:"current_version"`
	LockedUntil    *time.Time `json:"locked_until"`
}

func (r *response) session(t *testing.T) session {
	t.Helper()
	var s session
	require.NoError(t, json.Unmarshal(r.body, &s), "%s", r.body)
	return s
}

// problem decodes a problem answer and checks the status and code.
func (r *response) problem(t *testing.T, status int, code string) problem {
	t.Helper()
	require.Equal(t, status, r.status, "%s", r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	var p problem
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, code, p.Code, "%s", r.body)
	assert.Equal(t, status, p.Status)
	assert.Equal(t, "tag:idverify,2026:problem:"+code, p.Type)
	return p
}

// start starts a session and returns it.
func (e *env) start(body map[string]any) session {
	e.t.Helper()
	r := e.client.do(http.MethodPost, "/v1/sessions", body)
	require.Equal(e.t, http.StatusCreated, r.status, "%s", r.body)
	s := r.session(e.t)
	e.sessions.add(s.Session)
	assert.Equal(e.t, "/v1/sessions/"+s.Session, r.header.Get("Location"))
	return s
}

// step takes step on s with body (its version added) and returns the session after it.
func (e *env) step(s session, step string, body map[string]any) session {
	e.t.Helper()
	r := e.stepResponse(e.client, s, step, body)
	require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
	return r.session(e.t)
}

func (e *env) stepResponse(c *client, s session, step string, body map[string]any, headers ...string) *response {
	e.t.Helper()
	b := map[string]any{"version": s.Version}
	for k, v := range body {
		b[k] = v
	}
	return c.do(http.MethodPost, "/v1/sessions/"+s.Session+"/"+step, b, headers...)
}

// get reads a session.
func (e *env) get(id string) session {
	e.t.Helper()
	r := e.client.do(http.MethodGet, "/v1/sessions/"+id, nil)
	require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
	return r.session(e.t)
}

// audit returns the audit events of engagement ref.
func (e *env) audit(ref string) []flows.AuditEvent {
	e.t.Helper()
	events, err := e.store.AuditByEngagement(e.ctx, ref)
	require.NoError(e.t, err)
	return events
}

// deliver delivers the outbox's due writes to the fake CRM.
func (e *env) deliver() {
	e.t.Helper()
	_, err := flowstest.Deliver(e.ctx, e.store, e.crm, e.clock.Now())
	require.NoError(e.t, err)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) { return httpapitest.Spec(t) }

// specChecker checks requests and answers against docs/openapi.yaml.
func specChecker(t *testing.T, requests bool) http.RoundTripper {
	return &httpapitest.SpecChecker{T: t, Requests: requests}
}
