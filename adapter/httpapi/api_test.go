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
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/docs"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// The demo people: person accounts for customers, a contact for a representative, and two
// accounts that share a phone number.
const (
	janeID   = "001000000000001AAA"
	ahmedID  = "001000000000002AAA"
	samID    = "001000000000003AAA"
	kimID    = "001000000000004AAA"
	robertID = "003000000000001AAA"

	janePhone   = "+44 20 7946 0001"
	robertPhone = "07700 900123"
	sharedPhone = "+44 20 7946 0005"
	nobodyPhone = "+44 20 7946 0999"
)

// personalData are the demo people's values, which no log line and no kept answer may hold.
var personalData = []string{"Jane", "Smith", "1980-03-14", "14/03/1980", "March 14", "+44 20 7946", "SW1A", "sw1a",
	"London", "Ahmed", "Khan", "Robert", "Brown", "1962-07-21", "21 July 1962", "07700", "M1 1AE", "Manchester", "Sam Lee",
	"Kim Lee", "Smith Ltd", "jane@example.com"}

func demoPeople() ([]flowstest.Person, []flowstest.Relation) {
	account := func(id, name, birth, phone, postcode string) flowstest.Person {
		return flowstest.Person{Ref: flows.Ref{Object: "Account", ID: id}, Fields: map[string]string{"Name": name,
			"PersonBirthdate": birth, "Phone": phone, "PersonMailingPostalCode": postcode, "PersonMailingCity": "London"}}
	}
	return []flowstest.Person{
			account(janeID, "Jane Smith", "1980-03-14", janePhone, "SW1A 1AA"),
			account(ahmedID, "Ahmed Khan", "1975-11-02", "+44 20 7946 0002", "E1 6AN"),
			account(samID, "Sam Lee", "1990-01-01", sharedPhone, "N1 9GU"),
			account(kimID, "Kim Lee", "1991-02-02", sharedPhone, "N1 9GU"),
			{Ref: flows.Ref{Object: "Contact", ID: robertID}, Fields: map[string]string{"Name": "Robert Brown", "LastName": "Brown",
				"Birthdate": "1962-07-21", "MobilePhone": robertPhone, "MailingPostalCode": "M1 1AE", "MailingCity": "Manchester"}},
		}, []flowstest.Relation{
			{Representative: robertID, Customer: janeID, Roles: []string{"Power of Attorney"}, Active: true},
		}
}

// demoPolicy: a person-account text search in check mode, the same in attest mode (expected
// values revealed), a representative's object search on Contact linked to a customer search.
func demoPolicy() flows.Policy {
	check := func(field string, rule flows.MatchRule) flows.Verifier {
		return flows.Verifier{Field: field, Label: "What is your " + field + "?", Match: rule, Mode: flows.ModeCheck}
	}
	return flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}, {Name: "Opening hours"}},
		SearchTypes: []flows.SearchType{
			{Name: "person", Label: "Person account", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name", "PersonMailingCity"},
				Required:     []flows.Verifier{check("PersonBirthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("PersonMailingPostalCode", flows.MatchPostalCode), check("Phone", flows.MatchPhone)},
				OptionalMin:  1},
			{Name: "branch", Label: "In the branch", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name"},
				Required: []flows.Verifier{
					{Field: "PersonBirthdate", Label: "Date of birth", Mode: flows.ModeAttest, Reveal: flows.RevealMasked},
					{Field: "PersonMailingPostalCode", Label: "Postcode", Mode: flows.ModeAttest, Reveal: flows.RevealFull}}},
			{Name: "representative", Object: "Contact", Search: flows.SearchObject, SearchFields: []string{"LastName", "MailingCity"},
				ResultFields: []string{"Name"},
				Required:     []flows.Verifier{check("Birthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("MobilePhone", flows.MatchPhone)},
				OptionalMin:  1, Linked: "customer"},
			{Name: "customer", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name"},
				Required:     []flows.Verifier{check("PersonBirthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("PersonMailingPostalCode", flows.MatchPostalCode)},
				OptionalMin:  1},
		},
		Representation: flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
			CustomerField: "AccountId", Roles: []string{"Power of Attorney"}, RequireActive: true},
		Lockout:  flows.Lockout{MaxFailures: 3, Window: 30 * time.Minute},
		Session:  flows.SessionLimits{IdleTimeout: 10 * time.Minute},
		Matching: flows.Matching{DateOrder: flows.DMY, DefaultCountryCode: "44"},
	}
}

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
	softphoneKey = "sk_test_softphone_0123456789abcdef0123456789"
	opsKey       = "sk_test_ops_0123456789abcdef0123456789abcdef"
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
	e.client = &client{t: t, base: e.srv.URL, key: softphoneKey, http: &http.Client{Transport: &specChecker{t: t, requests: true}}}
	e.raw = &client{t: t, base: e.srv.URL, key: softphoneKey, http: &http.Client{Transport: &specChecker{t: t}}}
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

// The spec, loaded once, and its router.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(docs.OpenAPI)
		if specErr == nil {
			specErr = specDoc.Validate(loader.Context)
		}
		if specErr == nil {
			specRouter, specErr = legacy.NewRouter(specDoc)
		}
	})
	require.NoError(t, specErr)
	return specDoc, specRouter
}

// specChecker is a RoundTripper that checks every answer (and, with requests, every request)
// against docs/openapi.yaml with kin-openapi.
type specChecker struct {
	t        *testing.T
	requests bool
}

func (c *specChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	t := c.t
	_, router := loadSpec(t)
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	reset := func() { req.Body = io.NopCloser(bytes.NewReader(body)) }
	reset()
	route, params, err := router.FindRoute(req)
	if c.requests {
		assert.NoError(t, err, "%s %s is not in the spec", req.Method, req.URL.Path)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if c.requests && route != nil {
		assert.NoError(t, openapi3filter.ValidateRequest(req.Context(), in), "request %s %s %s", req.Method, req.URL.Path, body)
		reset()
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || route == nil {
		return res, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(data)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	assert.NoError(t, openapi3filter.ValidateResponse(req.Context(), out), "answer %d to %s %s: %s", res.StatusCode, req.Method, req.URL.Path, data)
	return res, nil
}
