package sfdc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryEvent describes one retry, as it is about to be sent.
type RetryEvent struct {
	Op         string        // the operation, e.g. "query", "update Account"
	Attempt    int           // the attempt about to be made: 2 for the first retry
	Reason     string        // why: an errorCode (UNABLE_TO_LOCK_ROW…), "http 502", "connection refused", "transport error"
	StatusCode int           // the status of the failed attempt; 0 when there was no response
	Wait       time.Duration // the wait before this retry: the backoff, or a longer Retry-After
}

// Stats are counters of a Client since New. Read them with Client.Stats.
type Stats struct {
	Calls   int64            // API calls made (each page of a query counts once; retries do not)
	Logins  int64            // sessions obtained: token requests (AuthSession: the given session, then each Refresh)
	Replays int64            // calls replayed after a 401 INVALID_SESSION_ID
	Retries map[string]int64 // retries by reason (see RetryEvent.Reason)
}

type stats struct {
	calls   atomic.Int64
	replays atomic.Int64

	mu      sync.Mutex
	retries map[string]int64
}

func (s *stats) retried(reason string) {
	s.mu.Lock()
	if s.retries == nil {
		s.retries = make(map[string]int64)
	}
	s.retries[reason]++
	s.mu.Unlock()
}

// sender carries one call at a time through retryablehttp, which runs the attempts and the
// waits; the sender's hooks are the policy (checkRetry, backoff, prepareRetry). Senders are
// pooled: the retryablehttp.Client with its hooks bound, the request template, its URL and its
// header map are built once, so a call allocates only its http.Request (for the context), its
// result and its body. Requests are built here, not by simpleforce: one http.Client.Do per
// attempt.
type sender struct {
	c       *Client
	retry   retryablehttp.Client
	req     retryablehttp.Request // its body stays nil: bodies are set per attempt (newBody)
	tmpl    http.Request
	url     url.URL
	hdr     http.Header
	getBody func() (io.ReadCloser, error)

	// per call
	r        *call
	attempts int
	unsent   bool   // an attempt ended without an answer: the transport may still hold its request
	failure  *Error // the last attempt's failure, parsed once from its body
	reason   string // why the last attempt failed, for the retry about to be made
	status   int    // the last attempt's status; 0 when it had no answer
	wait     time.Duration
}

var jsonContentType = []string{"application/json"}

func (c *Client) newSender() *sender {
	s := &sender{c: c, hdr: make(http.Header, 2)}
	s.tmpl = http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, URL: &s.url, Header: s.hdr}
	s.getBody = func() (io.ReadCloser, error) { return newBody(s.r.body), nil }
	// Logger nil: retryablehttp would print URLs, which carry SOQL. PassthroughErrorHandler: the
	// last answer comes back unchanged.
	s.retry = retryablehttp.Client{
		HTTPClient:   c.hc,
		RetryWaitMin: c.cfg.RetryWaitMin,
		RetryWaitMax: c.cfg.RetryWaitMax,
		RetryMax:     c.cfg.MaxRetries,
		CheckRetry:   s.checkRetry,
		Backoff:      s.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: s.prepareRetry,
	}
	return s
}

// send makes one request, with the transport's retries, for sess. It always returns a result
// (its Attempts at least).
func (c *Client) send(ctx context.Context, sess *session, r *call) (*result, *Error) {
	s := c.senders.Get().(*sender)
	s.r, s.attempts, s.unsent = r, 1, false
	s.url.Scheme, s.url.Host = sess.scheme, sess.host
	setPath(&s.url, r.path, r.query)
	s.hdr["Authorization"] = sess.bearer
	switch {
	case r.body == nil:
		delete(s.hdr, "Content-Type")
	case r.contentType != nil:
		s.hdr["Content-Type"] = r.contentType
	default:
		s.hdr["Content-Type"] = jsonContentType
	}
	if r.contentEncoding != nil {
		s.hdr["Content-Encoding"] = r.contentEncoding
	} else {
		delete(s.hdr, "Content-Encoding")
	}
	s.tmpl.Method = r.method
	req := s.tmpl.WithContext(ctx)
	if r.body != nil {
		req.Body, req.ContentLength, req.GetBody = newBody(r.body), int64(len(r.body)), s.getBody
	}
	s.req.Request = req
	resp, err := s.retry.Do(&s.req)

	res := &result{resp: Response{Attempts: s.attempts}}
	failure := s.finish(ctx, resp, err, res)
	if resp != nil && !s.unsent {
		// The answer has been read and closed, so the transport is done with the request (the
		// RoundTripper contract) and the template may be reused. After a transport failure it
		// might still be writing it: that sender is dropped.
		s.r, s.failure, s.req.Request = nil, nil, nil
		c.senders.Put(s)
	}
	return res, failure
}

// setPath sets u's path and query from a call's, which are built escaped (identifiers, ids,
// PathEscape'd external ids, a checked nextRecordsUrl; path may end in ?query). Plain paths, all
// but external ids, cost nothing.
func setPath(u *url.URL, path, query string) {
	path, q, _ := strings.Cut(path, "?")
	if query == "" {
		query = q
	}
	u.Path, u.RawPath, u.RawQuery = path, "", query
	if strings.IndexByte(path, '%') >= 0 {
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
		}
	}
}

// finish turns what retryablehttp returned into the call's result or failure.
func (s *sender) finish(ctx context.Context, resp *http.Response, err error, res *result) *Error {
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if cerr := ctx.Err(); cerr != nil {
			return ended(s.r.opName(), s.attempts, cerr)
		}
		return transportError(s.r.opName(), err)
	}
	res.resp.StatusCode = resp.StatusCode
	if h := resp.Header.Get("Sforce-Limit-Info"); h != "" {
		if u, ok := ParseLimitInfo(h); ok {
			res.resp.Usage = u
			s.c.usage.Store(packUsage(u))
		}
	}
	if e := s.failure; e != nil { // its body was read and classified by checkRetry
		if s.r.shaped != nil {
			e.Shape = s.r.shaped.Shape()
		}
		return e
	}
	limit := s.r.maxBody
	if limit <= 0 {
		limit = maxBody
	}
	body, err := readBody(resp, limit)
	resp.Body.Close()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return ended(s.r.opName(), s.attempts, cerr)
		}
		if errors.Is(err, errBodyTooLarge) {
			return &Error{Op: s.r.opName(), StatusCode: resp.StatusCode, Code: "RESPONSE_TOO_LARGE", kind: ErrUnavailable}
		}
		return transportError(s.r.opName(), err)
	}
	res.body = body
	return nil
}

// newBody is a request body for one attempt. Each attempt gets its own: the transport may still
// read or close the last one after its answer has come back. It is an io.NopCloser around a
// *bytes.Reader, as http.NewRequest makes, because net/http knows that as a body in memory and
// sends the headers and the body in one write; any other reader gets its headers flushed
// separately (net/http's transferWriter, isKnownInMemoryReader).
func newBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// checkRetry is the policy's entry point, called after every attempt. It reads and classifies
// a failed answer's body (once: finish reports that same *Error) and decides whether to retry
// and how long to wait first.
func (s *sender) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if cerr := ctx.Err(); cerr != nil {
		return false, cerr
	}
	s.failure, s.status = nil, 0
	if err != nil {
		s.unsent = true
	} else {
		s.status = resp.StatusCode
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return false, nil
		}
		s.failure = readFailure(s.r.opName(), resp)
	}
	retry, reason := decideRetry(s.failure, err, s.r.idempotent)
	if !retry {
		return false, nil
	}
	wait := jitterBackoff(s.c.cfg.RetryWaitMin, s.c.cfg.RetryWaitMax, s.attempts-1)
	if s.failure != nil && s.failure.RetryAfter > 0 {
		if s.failure.RetryAfter > s.c.cfg.RetryAfterMax {
			return false, nil // longer than we wait: the caller sees RetryAfter
		}
		wait = max(wait, s.failure.RetryAfter)
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		return false, nil // the call would end while waiting: report the failure now
	}
	s.reason, s.wait = reason, wait
	return true, nil
}

// backoff is the wait checkRetry chose.
func (s *sender) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return s.wait }

// prepareRetry runs just before a retry is sent: the retry is certain now, so count it, tell the
// observer, and give the attempt a fresh body.
func (s *sender) prepareRetry(req *http.Request) error {
	s.attempts++
	s.c.stats.retried(s.reason)
	if f := s.c.cfg.OnRetry; f != nil {
		f(RetryEvent{Op: s.r.opName(), Attempt: s.attempts, Reason: s.reason, StatusCode: s.status, Wait: s.wait})
	}
	if s.r.body != nil {
		req.Body = newBody(s.r.body)
	}
	return nil
}

// readFailure reads (at most maxErrorBody of) a failed answer's body and classifies it. The body
// is replaced by an empty one, which retryablehttp drains before a retry.
func readFailure(op string, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = http.NoBody
	e := errorFromResponse(op, resp.StatusCode, b)
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date (RFC 9110, section
// 10.2.3). Salesforce's data API documents no Retry-After; the proxies and maintenance pages in
// front of it may send one. 0 when absent, unreadable or already past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter keeps absurd Retry-After values from overflowing a Duration.
const maxRetryAfter = 24 * time.Hour

// errBodyTooLarge is readBody's error for an answer longer than its limit.
var errBodyTooLarge = errors.New("response body too large")

// maxBody bounds a success answer: a full query page is about 1 MB, a large describe a few.
const maxBody = 64 << 20

// scratch holds read buffers for answers of unknown length (chunked): the body is read into a
// reused buffer and copied out once at its exact size, instead of io.ReadAll's growing copies.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readBody reads a whole success body of at most limit bytes: sized from Content-Length when
// known.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 {
		if n > limit {
			return nil, errBodyTooLarge
		}
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	p := scratch.Get().(*[]byte)
	buf := (*p)[:0]
	defer func() {
		if cap(buf) <= 4<<20 {
			*p = buf[:0]
			scratch.Put(p)
		}
	}()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			return bytes.Clone(buf), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// decideRetry is Salesforce's retry policy, for an attempt that failed with answer e (nil when
// there was no answer) or transport error err.
//
// A request is retried when retrying cannot write twice:
//   - whatever the method, when the answer says nothing was done: SERVER_UNAVAILABLE,
//     UNABLE_TO_LOCK_ROW, the concurrent REQUEST_LIMIT_EXCEEDED, an edge's 429, or the
//     connection was refused before the request was sent;
//   - for idempotent requests (GET, HEAD, PUT, DELETE, PATCH, and POSTs that only read: search,
//     composite of GETs) also on any 5xx or 420 answer and on transport failures (reset, timeout).
//
// Never retried: the daily REQUEST_LIMIT_EXCEEDED, 401 (the client replays once with a new token
// instead), validation, permission, not-found and malformed-request errors, and a cancelled or
// expired context.
func decideRetry(e *Error, err error, idempotent bool) (retry bool, reason string) {
	if e == nil {
		if notSent(err) {
			return true, "connection refused"
		}
		return idempotent, "transport error"
	}
	reason = e.Code
	if reason == "" {
		reason = "http " + strconv.Itoa(e.StatusCode)
	}
	switch e.kind {
	case ErrLocked, ErrConcurrencyLimit:
		return true, reason
	case ErrUnavailable:
		return idempotent || e.Code == "SERVER_UNAVAILABLE", reason
	}
	return false, reason
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// notSent reports whether err happened before any byte of the request left: a refused or failed
// dial.
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// jitterBackoff waits between min·2^n/2 and min·2^n, capped at max.
func jitterBackoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
