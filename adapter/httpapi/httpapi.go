package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
)

// Config is what New builds the API from. Engine, Store and Idempotency are required; zero
// limits and durations mean the defaults.
type Config struct {
	// Engine runs the sessions.
	Engine *flows.Engine
	// Store is the engine's store, read for what the engine does not offer: the outbox
	// (admin). Both store drivers and flowstest.Store implement it.
	Store Store
	// Idempotency keeps the answers to requests sent with an Idempotency-Key. Both store
	// drivers implement it; httpapitest.Idempotency is an in-memory one for tests.
	Idempotency IdempotencyStore
	// Engagements, when set, resolves an engagement's Salesforce id to its name in idverify
	// (its ExternalIdentifier) for the status endpoint; the engine's flows.Recorder does. When
	// nil, a Salesforce id is looked up as given.
	Engagements EngagementReader
	// Keys are the API keys. With none, every request but /healthz and /readyz is refused.
	Keys []APIKey
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to call the API.
	CORSOrigins []string
	// MinAttestation is the weakest STIR/SHAKEN attestation ("A", "B" or "C") whose caller id
	// is trusted at a start by phone: a call attested below it, or not attested, gets its phone
	// match as a suggestion (flows.StartRequest.PhoneUntrusted). Empty trusts every caller id.
	MinAttestation string
	// Limits are the rate limits.
	Limits Limits
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request; 0 means DefaultRequestTimeout. Keep it
	// below the server's WriteTimeout.
	RequestTimeout time.Duration
	// IdempotencyTTL is how long an answer to a request with an Idempotency-Key is kept; 0
	// means DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
	// Clock is the engine's clock (for verified marks, leases and unlock times); nil means the
	// system clock.
	Clock flows.Clock
	// Logger gets the access log and the failures; nil discards them. No line holds a
	// session id, a record id of a person or any value a caller gave.
	Logger *slog.Logger
	// Metrics, when set, observes requests, outcomes, rate limiting and replays.
	Metrics Metrics
	// Ready, when set, says whether the service can take requests (the store and Salesforce
	// reachable); /readyz answers 503 while it returns an error.
	Ready func(ctx context.Context) error
}

// Defaults of Config's zero values.
const (
	DefaultMaxBodyBytes   = 64 << 10
	DefaultRequestTimeout = 20 * time.Second
	DefaultIdempotencyTTL = 24 * time.Hour
)

// Store is what the API reads from the engine's store besides the engine: the outbox, for the
// admin endpoints.
type Store interface {
	flows.Outbox
}

// EngagementReader reads an engagement that exists in the CRM (flows.Recorder has it).
type EngagementReader interface {
	OpenEngagement(ctx context.Context, id string) (flows.OpenedEngagement, error)
}

// Metrics observes the API; the serve command backs it with Prometheus. Labels are route
// patterns, API key names, statuses and outcome names: never an id or a value. Methods must be
// safe for concurrent use and fast.
type Metrics interface {
	// Request observes one answered request: its route pattern (empty when none matched), the
	// API key's name (empty when none), the status and how long it took.
	Request(route, key string, status int, elapsed time.Duration)
	// Outcome counts a session that a step ended.
	Outcome(o flows.Outcome)
	// Limited counts a request refused by a rate limit: "key" or "person".
	Limited(limit string)
	// Replayed counts a request answered from the idempotency store.
	Replayed(route string)
}

// API is the JSON API: an http.Handler. Build it with New.
type API struct {
	engine      *flows.Engine
	policy      flows.Policy
	store       Store
	idem        IdempotencyStore
	engagements EngagementReader
	keys        []apiKey
	cors        map[string]bool
	minAttest   string
	limits      *limiters
	persons     *personCache
	maxBody     int64
	timeout     time.Duration
	ttl, lease  time.Duration
	clock       flows.Clock
	log         *slog.Logger
	metrics     Metrics
	ready       func(ctx context.Context) error
	spec        []byte
	handler     http.Handler
}

// New returns the API for c, or an error saying what is wrong with c.
func New(c Config) (*API, error) {
	var errs []error
	if c.Engine == nil || c.Store == nil || c.Idempotency == nil {
		errs = append(errs, errors.New("httpapi: Engine, Store and Idempotency are required"))
	}
	keys, err := parseKeys(c.Keys)
	errs = append(errs, err)
	for i := range keys {
		keys[i].limit = keyLimiter(c.Limits)
	}
	switch c.MinAttestation {
	case "", "A", "B", "C":
	default:
		errs = append(errs, fmt.Errorf("httpapi: MinAttestation %q is not A, B, C or empty", c.MinAttestation))
	}
	for _, o := range c.CORSOrigins {
		if o == "" || o == "*" || strings.HasSuffix(o, "/") || !strings.Contains(o, "://") {
			errs = append(errs, fmt.Errorf("httpapi: CORS origin %q is not scheme://host[:port]", o))
		}
	}
	if c.MaxBodyBytes < 0 || c.RequestTimeout < 0 || c.IdempotencyTTL < 0 {
		errs = append(errs, errors.New("httpapi: MaxBodyBytes, RequestTimeout and IdempotencyTTL must not be negative"))
	}
	spec, err := specJSON()
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &API{
		engine: c.Engine, policy: c.Engine.Policy(), store: c.Store, idem: c.Idempotency, engagements: c.Engagements,
		keys: keys, cors: map[string]bool{}, minAttest: c.MinAttestation,
		limits:  newLimiters(c.Limits),
		persons: newPersonCache(personCacheSize),
		maxBody: orDefault(c.MaxBodyBytes, DefaultMaxBodyBytes),
		timeout: orDefault(c.RequestTimeout, DefaultRequestTimeout),
		ttl:     orDefault(c.IdempotencyTTL, DefaultIdempotencyTTL),
		clock:   c.Clock, log: c.Logger, metrics: c.Metrics, ready: c.Ready, spec: spec,
	}
	// A pending Idempotency-Key outlives its request: a duplicate is told to wait, not run.
	a.lease = a.timeout + 10*time.Second
	if a.clock == nil {
		a.clock = systemClock{}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.metrics == nil {
		a.metrics = noMetrics{}
	}
	for _, o := range c.CORSOrigins {
		a.cors[o] = true
	}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+rt.pattern, a.route(rt))
	}
	// Answers of problem+json for what no route takes: a known path with another method is
	// 405 (with Allow), anything else 404.
	for path, methods := range routeMethods(a.routes()) {
		allow := strings.Join(methods, ", ")
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			a.fail(w, r, &apiError{kind: errMethod, detail: "use " + allow}, "")
		}))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, &apiError{kind: errNoRoute, detail: "see /v1/openapi.json"}, "")
	}))
	a.handler = a.access(a.headers(a.corsPreflight(a.authenticate(mux))))
	return a, nil
}

// Protect returns h served as one of the API's own routes at pattern (e.g. "GET /metrics"):
// behind its access log, security headers and API key check (any key, within its rate limit).
// It is for a handler served beside the API on its listener that only clients may read.
func (a *API) Protect(pattern string, h http.Handler) http.Handler {
	return a.access(a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoOf(r).route = pattern
		a.authenticate(h).ServeHTTP(w, r)
	})))
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

type noMetrics struct{}

func (noMetrics) Request(string, string, int, time.Duration) {}
func (noMetrics) Outcome(flows.Outcome)                      {}
func (noMetrics) Limited(string)                             {}
func (noMetrics) Replayed(string)                            {}

// route is one endpoint.
type route struct {
	method, pattern string
	// access says who may call it.
	access access
	handle http.HandlerFunc
}

type access uint8

const (
	anyKey   access = iota // any API key
	adminKey               // an admin key
	noKey                  // anyone (health checks)
)

// routes is every endpoint; docs/openapi.yaml describes each (TestSpecHasEveryRoute).
func (a *API) routes() []route {
	return []route{
		{http.MethodGet, "/healthz", noKey, a.healthz},
		{http.MethodGet, "/readyz", noKey, a.readyz},
		{http.MethodGet, "/v1/openapi.json", anyKey, a.openapi},

		{http.MethodPost, "/v1/sessions", anyKey, post(a, "", a.start)},
		{http.MethodGet, "/v1/sessions/{id}", anyKey, a.getSession},
		{http.MethodPost, "/v1/sessions/{id}/reason", anyKey, post(a, "reason", a.reason)},
		{http.MethodPost, "/v1/sessions/{id}/subject", anyKey, post(a, "subject", a.subject)},
		{http.MethodPost, "/v1/sessions/{id}/search", anyKey, post(a, "keywords", a.search)},
		{http.MethodPost, "/v1/sessions/{id}/select", anyKey, post(a, "record", a.selectRecord)},
		{http.MethodPost, "/v1/sessions/{id}/answers", anyKey, post(a, "answers", a.answers)},
		{http.MethodPost, "/v1/sessions/{id}/attestations", anyKey, post(a, "attestations", a.attestations)},
		{http.MethodPost, "/v1/sessions/{id}/not-identified", anyKey, post(a, "", a.notIdentified)},
		{http.MethodPost, "/v1/sessions/{id}/cancel", anyKey, post(a, "", a.cancel)},

		{http.MethodGet, "/v1/engagements/status", anyKey, a.engagementStatus},

		{http.MethodPost, "/v1/admin/lockouts/{person}/reset", adminKey, post(a, "reason", a.resetLockout)},
		{http.MethodGet, "/v1/admin/outbox", adminKey, a.listOutbox},
		{http.MethodPost, "/v1/admin/outbox/{id}/retry", adminKey, post(a, "", a.retryOutbox)},
		{http.MethodPost, "/v1/admin/outbox/{id}/discard", adminKey, post(a, "", a.discardOutbox)},
	}
}

// routeMethods returns the methods of each path.
func routeMethods(routes []route) map[string][]string {
	out := map[string][]string{}
	for _, rt := range routes {
		out[rt.pattern] = append(out[rt.pattern], rt.method)
		if rt.method == http.MethodGet {
			out[rt.pattern] = append(out[rt.pattern], http.MethodHead)
		}
	}
	for _, m := range out {
		slices.Sort(m)
	}
	return out
}

// route wraps an endpoint: it records its pattern for the access log, checks its access and
// bounds its work with the request timeout.
func (a *API) route(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.route = rt.method + " " + rt.pattern
		if rt.access == adminKey && (info.key == nil || !info.key.admin) {
			a.fail(w, r, &apiError{kind: errForbidden, detail: "this endpoint needs an admin key"}, "")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
		defer cancel()
		rt.handle(w, r.WithContext(ctx))
	})
}

// reqInfo is what the access log and the metrics learn about a request as it is handled.
type reqInfo struct {
	route string
	key   *apiKey
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return info
	}
	return &reqInfo{}
}

func routeOf(r *http.Request) string { return infoOf(r).route }

// actor is the name of the request's API key: the actor of the engine's audit.
func actor(r *http.Request) string {
	if k := infoOf(r).key; k != nil {
		return k.name
	}
	return ""
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, "application/json", map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.ready != nil {
		if err := a.ready(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "err", err)
			a.fail(w, r, &apiError{kind: errNotReady, detail: "a dependency is not reachable"}, "")
			return
		}
	}
	writeJSON(w, r, http.StatusOK, "application/json", map[string]string{"status": "ready"})
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request) {
	writeBody(w, r, http.StatusOK, "application/json", a.spec)
}

// readBody reads the request body, at most a.maxBody bytes. A body must be JSON.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > a.maxBody {
		return nil, &apiError{kind: errBodyTooLarge, detail: fmt.Sprintf("the body may hold at most %d bytes", a.maxBody)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{kind: errBodyTooLarge, detail: fmt.Sprintf("the body may hold at most %d bytes", a.maxBody)}
	case err != nil:
		return nil, &apiError{kind: errMalformedJSON, detail: "the body could not be read"}
	}
	if len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return nil, &apiError{kind: errMediaType, detail: "send the body as application/json"}
		}
	}
	return body, nil
}
