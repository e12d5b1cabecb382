package sfdc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/simpleforce/simpleforce"
)

// Client talks to one Salesforce org. It is safe for concurrent use: all goroutines share one
// cached access token, which is replaced (once, however many callers notice) when Salesforce
// answers 401 INVALID_SESSION_ID, and the call is then replayed once. Create one with New (the
// zero Client has no credentials and cannot be used).
type Client struct {
	cfg        Config
	version    string // "62.0"
	dataPrefix string // "/services/data/v62.0/"
	tokens     *tokenCache
	stats      stats
	usage      atomic.Uint64 // packUsage of the last Sforce-Limit-Info

	hc    *http.Client // sends every request
	conns sync.Pool    // of *conn

	describeMu     sync.Mutex
	describeCache  map[string]*Describe
	describeGlobal *GlobalDescribe
}

// New returns a client for cfg. It checks the configuration (and a JWT key) but does not log in:
// the first call does.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		cp.Timeout = cfg.Timeout
		hc = &cp
	}
	// Never follow redirects: a 300 from upsert is an answer, and a redirect would carry the
	// bearer token to another host.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	login, err := newLogin(cfg.Auth, hc)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, version: cfg.APIVersion, dataPrefix: "/services/data/v" + cfg.APIVersion + "/", hc: hc}
	c.tokens = &tokenCache{login: login, lifetime: cfg.Auth.SessionLifetime, timeout: cfg.Timeout}
	c.conns.New = func() any { return c.newConn() }
	return c, nil
}

// APIVersion returns the REST API version the client speaks, e.g. "62.0".
func (c *Client) APIVersion() string { return c.version }

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	s := Stats{Calls: c.stats.calls, Replays: c.stats.replays, Logins: c.tokens.logins.Load(),
		Retries: make(map[string]int64, len(c.stats.retries))}
	for k, v := range c.stats.retries {
		s.Retries[k] = v
	}
	return s
}

// Usage returns the API usage from the last response that carried Sforce-Limit-Info, and false if
// none has yet.
func (c *Client) Usage() (Usage, bool) {
	p := c.usage.Load()
	if p == 0 {
		return Usage{}, false
	}
	return Usage{Used: int64(p >> 32), Max: int64(p & (1<<32 - 1))}, true
}

// packUsage packs a Usage in 64 bits for an atomic store; values beyond 32 bits are clamped
// (Salesforce's daily limits are far below).
func packUsage(u Usage) uint64 {
	clamp := func(n int64) uint64 { return uint64(min(max(n, 0), 1<<32-1)) }
	return clamp(u.Used)<<32 | clamp(u.Max)
}

// Response describes the HTTP answer behind a call.
type Response struct {
	StatusCode int
	Usage      Usage // from Sforce-Limit-Info; zero when the answer had none
	Attempts   int   // HTTP attempts, retries included (replays after a 401 count too)
}

// Usage is the org's daily API usage as Salesforce reports it on every data response
// (Sforce-Limit-Info: api-usage=USED/MAX).
type Usage struct {
	Used, Max int64
}

// Remaining is Max - Used (never negative).
func (u Usage) Remaining() int64 {
	if u.Used >= u.Max {
		return 0
	}
	return u.Max - u.Used
}

// ParseLimitInfo reads the api-usage part of a Sforce-Limit-Info header value, e.g.
// "api-usage=18/15000" or "api-usage=18/15000, per-app-api-usage=17/250(appName=x)".
func ParseLimitInfo(h string) (Usage, bool) {
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(k, "api-usage") {
			continue
		}
		used, max, ok := strings.Cut(v, "/")
		if !ok {
			return Usage{}, false
		}
		u, err1 := strconv.ParseInt(used, 10, 64)
		m, err2 := strconv.ParseInt(max, 10, 64)
		if err1 != nil || err2 != nil || u < 0 || m < 0 {
			return Usage{}, false
		}
		return Usage{Used: u, Max: m}, true
	}
	return Usage{}, false
}

// call is one REST request.
type call struct {
	op         string // for errors and retry events; never contains values
	object     string // the object the op is about, if any
	method     string
	path       string // absolute path on the instance, e.g. /services/data/v62.0/sobjects/Account (may end in ?query)
	query      string // raw query string (already encoded), without '?'
	body       []byte
	idempotent bool
	shape      string // the query's shape, for errors
}

// opName names the operation for errors and retry events, e.g. "get Contact".
func (r *call) opName() string {
	if r.object == "" {
		return r.op
	}
	return r.op + " " + r.object
}

// result is what a call answered: the status, the body of a 2xx answer, and usage.
type result struct {
	resp Response
	body []byte
}

// do runs c, replaying it once with a new token after a 401 INVALID_SESSION_ID.
func (c *Client) do(ctx context.Context, r *call) (*result, error) {
	if ctx == nil {
		return nil, errors.New("sfdc: nil context")
	}
	c.stats.mu.Lock()
	c.stats.calls++
	c.stats.mu.Unlock()
	attempts := 0
	for replay := 0; ; replay++ {
		sess, err := c.tokens.get(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.send(ctx, sess, r)
		if res != nil {
			attempts += res.resp.Attempts
			res.resp.Attempts = attempts
		}
		if err != nil && replay == 0 && errors.Is(err, ErrSessionExpired) {
			c.tokens.invalidate(sess)
			c.stats.mu.Lock()
			c.stats.replays++
			c.stats.mu.Unlock()
			continue
		}
		return res, err
	}
}

// send makes one request (with the transport's retries) for sess. The request goes through
// simpleforce's ApexREST, which builds it (URL, bearer header), on a simpleforce client that
// serves one call at a time (simpleforce clients are not safe to share; a pool recycles them).
// Its http.Client is a shim that runs the request through the retrying transport with the
// caller's context, keeps the real answer, and always answers simpleforce with an empty 200:
// simpleforce then never logs (it logs URLs, which carry SOQL, and error bodies through the
// standard log package), never parses an error body (it panics on an empty error array) and never
// fails half-way through a body read.
func (c *Client) send(ctx context.Context, sess *session, r *call) (*result, error) {
	cn := c.conns.Get().(*conn)
	sh := &cn.shim
	sh.start(ctx, r)
	cn.sf.SetSidLoc(sess.accessToken, sess.instanceURL)
	defer func() {
		// Pooled values keep no token, context, request or answer.
		cn.sf.SetSidLoc("", "")
		sh.reset()
		c.conns.Put(cn)
	}()
	path := r.path[1:] // simpleforce adds the slash
	if r.query != "" {
		path += "?" + r.query
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	_, sfErr := cn.sf.ApexREST(r.method, path, body)
	res := &result{resp: Response{StatusCode: sh.status, Attempts: sh.attempts}}
	if h := sh.header.Get("Sforce-Limit-Info"); h != "" {
		if u, ok := ParseLimitInfo(h); ok {
			res.resp.Usage = u
			c.usage.Store(packUsage(u))
		}
	}
	if sh.err != nil {
		return res, sh.err
	}
	if sfErr != nil { // cannot happen: the shim answers 2xx; kept so that nothing is swallowed
		return res, &Error{Op: r.opName(), kind: ErrInvalidRequest, cause: stripURL(sfErr)}
	}
	if sh.status < 200 || sh.status > 299 {
		e := errorFromResponse(r.opName(), sh.status, sh.errBody)
		e.Attempts, e.Shape = sh.attempts, r.shape
		return res, e
	}
	res.body = sh.body
	return res, nil
}

// conn is a simpleforce client with its shim and retrying transport, used by one call at a time.
type conn struct {
	sf    *simpleforce.Client
	shim  shim
	retry *retryablehttp.Client
}

func (c *Client) newConn() *conn {
	cn := &conn{}
	cn.shim.c = c
	cn.shim.retry = c.newRetryClient(c.hc, &cn.shim)
	cn.sf = simpleforce.NewClient("", simpleforce.DefaultClientID, c.version)
	cn.sf.SetHttpClient(&http.Client{Transport: &cn.shim})
	return cn
}

// shim is the http.RoundTripper simpleforce sends through, and the per-call state of the retry
// policy.
type shim struct {
	c     *Client
	retry *retryablehttp.Client
	ok    http.Response // the empty 200 simpleforce gets

	// per call
	ctx        context.Context
	r          *call
	attempts   int
	reason     string // why the last attempt failed, for the retry about to be made
	lastStatus int

	status  int
	header  http.Header
	body    []byte // a 2xx answer's body
	errBody []byte // a non-2xx answer's body
	err     error
}

func (s *shim) start(ctx context.Context, r *call) {
	s.ctx, s.r, s.attempts = ctx, r, 1
}

// reset drops every reference the last call left, before the shim goes back to the pool.
func (s *shim) reset() {
	s.ctx, s.r, s.attempts, s.reason, s.lastStatus = nil, nil, 0, "", 0
	s.status, s.header, s.body, s.errBody, s.err = 0, nil, nil, nil, nil
	s.ok = http.Response{}
}

func (s *shim) fail(err error) {
	if cerr := s.ctx.Err(); cerr != nil {
		s.err = &Error{Op: s.r.opName(), Attempts: s.attempts, cause: cerr}
		return
	}
	e := transportError(s.r.opName(), err)
	e.Attempts = s.attempts
	s.err = e
}

func (s *shim) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(s.ctx)
	if req.Body == nil || req.Body == http.NoBody {
		req.Header.Del("Content-Type")
	}
	s.ok = http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: http.NoBody, Request: req}
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		s.fail(err)
		return &s.ok, nil
	}
	resp, err := s.retry.Do(rreq)
	if err != nil {
		s.fail(err)
		if resp != nil {
			resp.Body.Close()
		}
		return &s.ok, nil
	}
	s.status, s.header = resp.StatusCode, resp.Header
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		s.errBody, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &s.ok, nil
	}
	if s.body, err = readBody(resp); err != nil {
		s.fail(err)
	}
	return &s.ok, nil
}

// readBody reads a whole success body, sized from Content-Length when known.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n < 64<<20 {
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	return io.ReadAll(resp.Body)
}

// dataPath returns the path of a data API resource, e.g. dataPath("sobjects/Account").
func (c *Client) dataPath(rel string) string { return c.dataPrefix + rel }
