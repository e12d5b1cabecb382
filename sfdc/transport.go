package sfdc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryEvent describes one retry, as it is about to be sent.
type RetryEvent struct {
	Op         string // the operation, e.g. "query", "update Account"
	Attempt    int    // the attempt about to be made: 2 for the first retry
	Reason     string // why: an errorCode (UNABLE_TO_LOCK_ROW…), "http 502", "connection refused", "transport error"
	StatusCode int    // the status of the failed attempt; 0 when there was no response
}

// Stats are counters of a Client since New. Read them with Client.Stats.
type Stats struct {
	Calls   int64            // API calls made (each page of a query counts once; retries do not)
	Logins  int64            // token requests made
	Replays int64            // calls replayed after a 401 INVALID_SESSION_ID
	Retries map[string]int64 // retries by reason (see RetryEvent.Reason)
}

type stats struct {
	mu      sync.Mutex
	calls   int64
	replays int64
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

// newRetryClient builds the retrying transport for one shim: retryablehttp with its logger
// silenced (it would print URLs, which carry SOQL), Salesforce's retry policy, capped jittered
// backoff and the passthrough error handler (the last response comes back unchanged for
// classification). hc, and so the connection pool, is shared by every shim.
func (c *Client) newRetryClient(hc *http.Client, s *shim) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil,
		RetryWaitMin: c.cfg.RetryWaitMin,
		RetryWaitMax: c.cfg.RetryWaitMax,
		RetryMax:     c.cfg.MaxRetries,
		CheckRetry:   s.checkRetry,
		Backoff:      jitterBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: s.prepareRetry,
	}
}

// checkRetry applies the retry policy to the shim's current call.
func (s *shim) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	retry, reason, status := decideRetry(resp, err, s.r.idempotent)
	s.reason, s.lastStatus = reason, status
	return retry, nil
}

// prepareRetry runs just before a retry is sent: the retry is certain now, so count it and tell
// the observer.
func (s *shim) prepareRetry(*http.Request) error {
	s.attempts++
	s.c.stats.retried(s.reason)
	if f := s.c.cfg.OnRetry; f != nil {
		f(RetryEvent{Op: s.r.opName(), Attempt: s.attempts, Reason: s.reason, StatusCode: s.lastStatus})
	}
	return nil
}

// decideRetry is Salesforce's retry policy.
//
// A request is retried when retrying cannot write twice:
//   - whatever the method, when the answer says nothing was done: SERVER_UNAVAILABLE,
//     UNABLE_TO_LOCK_ROW, the concurrent REQUEST_LIMIT_EXCEEDED, or the connection was refused
//     before the request was sent;
//   - for idempotent requests (GET, HEAD, PUT, DELETE, PATCH, and POSTs that only read: search,
//     composite of GETs) also on any 5xx or 420 answer and on transport failures (reset, timeout).
//
// Never retried: the daily REQUEST_LIMIT_EXCEEDED, 401 (the client replays once with a new token
// instead), validation, permission, not-found and malformed-request errors, and a cancelled or
// expired context.
func decideRetry(resp *http.Response, err error, idempotent bool) (retry bool, reason string, status int) {
	if err != nil {
		if notSent(err) {
			return true, "connection refused", 0
		}
		return idempotent, "transport error", 0
	}
	if resp.StatusCode < 400 {
		return false, "", resp.StatusCode
	}
	// Read the error body to classify it, and put it back for the caller.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	e := errorFromResponse("", resp.StatusCode, body)
	reason = e.Code
	if reason == "" {
		reason = "http " + strconv.Itoa(resp.StatusCode)
	}
	switch e.kind {
	case ErrLocked, ErrConcurrencyLimit:
		return true, reason, resp.StatusCode
	case ErrUnavailable:
		return idempotent || e.Code == "SERVER_UNAVAILABLE", reason, resp.StatusCode
	}
	return false, reason, resp.StatusCode
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

// jitterBackoff waits between min·2^n/2 and min·2^n, capped at max. Salesforce's data API
// sends no Retry-After.
func jitterBackoff(min, max time.Duration, n int, _ *http.Response) time.Duration {
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
