package sfdc

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client talks to one Salesforce org. It is safe for concurrent use: all goroutines share one
// cached access token, which is replaced (once, however many callers notice) when Salesforce
// answers 401 INVALID_SESSION_ID, and the call is then replayed once. Create one with New (the
// zero Client has no credentials and cannot be used).
type Client struct {
	cfg        Config
	version    string    // "62.0"
	dataPrefix string    // "/services/data/v62.0/"
	queryPaths [3]string // by queryResource: the paths of query, queryAll and tooling/query
	tokens     *tokenCache
	stats      stats
	usage      atomic.Uint64 // packUsage of the last Sforce-Limit-Info

	hc      *http.Client // sends every request; what retryablehttp holds (see New)
	senders sync.Pool    // of *sender

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
	login := &http.Client{}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		login = &cp
	}
	// No http.Client timeout: it would cost every attempt a request copy and a timer; the call's
	// context carries the bound instead (see do). Never follow redirects: a 300 from upsert is an
	// answer, and a redirect would carry the bearer token to another host.
	login.Timeout = 0
	login.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tr := login.Transport
	if tr == nil {
		tr = pooledTransport()
		login.Transport = tr // one pool: a login reuses the calls' connection
	}
	hc := *login
	hc.Transport = keepIdle{tr}
	loginFn, err := newLogin(cfg.Auth, login)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, version: cfg.APIVersion, dataPrefix: "/services/data/v" + cfg.APIVersion + "/", hc: &hc}
	for res, rel := range [...]string{resQuery: "query", resQueryAll: "queryAll", resTooling: "tooling/query"} {
		c.queryPaths[res] = c.dataPrefix + rel
	}
	c.tokens = &tokenCache{login: loginFn, lifetime: cfg.Auth.SessionLifetime, timeout: cfg.Timeout}
	c.senders.New = func() any { return c.newSender() }
	return c, nil
}

// MaxIdleConnsPerHost is how many idle connections to the org a client of its own keeps
// (Config.HTTPClient nil). http.DefaultTransport keeps 2: with more calls than that at once,
// every call beyond them dialled (and against Salesforce, handshook TLS) a connection of its
// own and closed it afterwards. Salesforce serves 25 long-running requests of an org at once
// ("Concurrent API Request Limits", https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm);
// short ones are not limited, so the pool keeps more than that.
const MaxIdleConnsPerHost = 64

// pooledTransport is http.DefaultTransport's settings with MaxIdleConnsPerHost idle
// connections to the org.
func pooledTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, MaxIdleConnsPerHost)
	return t
}

// keepIdle is the transport retryablehttp sends through. It hides the transport's
// CloseIdleConnections, which retryablehttp calls whenever a call ends in failure (retries
// exhausted, a transport error, a cancelled context): with one connection pool shared by every
// call, that would drop every other caller's idle connections, and under an outage each failed
// call would make all the others dial (and handshake) again.
type keepIdle struct{ rt http.RoundTripper }

func (k keepIdle) RoundTrip(r *http.Request) (*http.Response, error) { return k.rt.RoundTrip(r) }

// APIVersion returns the REST API version the client speaks, e.g. "62.0".
func (c *Client) APIVersion() string { return c.version }

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{Calls: c.stats.calls.Load(), Replays: c.stats.replays.Load(), Logins: c.tokens.logins.Load()}
	c.stats.mu.Lock()
	s.Retries = make(map[string]int64, len(c.stats.retries))
	for k, v := range c.stats.retries {
		s.Retries[k] = v
	}
	c.stats.mu.Unlock()
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
	path       string // absolute path on the instance, already escaped, e.g. /services/data/v62.0/sobjects/Account (may end in ?query)
	query      string // raw query string (already encoded), without '?'
	body       []byte
	idempotent bool
	shaped     interface{ Shape() string } // the query or search, whose Shape errors carry (rendered only then)

	// Bulk API 2.0 job data and results (bulk.go); zero for JSON calls.
	contentType     []string // the body's Content-Type; nil means JSON
	contentEncoding []string // the body's Content-Encoding (gzip); nil means none
	maxBody         int64    // bound on a success answer; 0 means maxBody
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

// do runs r, replaying it once with a new session after a 401 INVALID_SESSION_ID. The call is
// bounded by Config.Timeout unless its context ends sooner. Every error is an *Error.
func (c *Client) do(ctx context.Context, r *call) (*result, error) {
	if ctx == nil {
		return nil, &Error{Op: r.opName(), cause: errors.New("nil context")}
	}
	if err := ctx.Err(); err != nil {
		return nil, ended(r.opName(), 0, err) // nothing is sent
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > c.cfg.Timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	c.stats.calls.Add(1)
	attempts := 0
	for replay := 0; ; replay++ {
		sess, err := c.tokens.get(ctx)
		if err != nil {
			if e, ok := err.(*Error); ok {
				return nil, e
			}
			return nil, ended(r.opName(), attempts, err) // the context ended while waiting for a login
		}
		res, failure := c.send(ctx, sess, r)
		attempts += res.resp.Attempts
		res.resp.Attempts = attempts
		if failure == nil {
			return res, nil
		}
		failure.Attempts = attempts
		if replay == 0 && failure.kind == ErrSessionExpired {
			c.tokens.invalidate(sess)
			c.stats.replays.Add(1)
			continue
		}
		return res, failure
	}
}

// dataPath returns the path of a data API resource, e.g. dataPath("sobjects/Account").
func (c *Client) dataPath(rel string) string { return c.dataPrefix + rel }
