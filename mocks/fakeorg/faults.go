package fakeorg

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// Failure names a canned failure response a Fault injects.
type Failure string

// The failures a Fault can inject, as Salesforce or the proxies in front of it answer them.
const (
	FailServerUnavailable Failure = "server-unavailable" // 503 SERVER_UNAVAILABLE
	FailUnableToLockRow   Failure = "unable-to-lock-row" // 500 UNABLE_TO_LOCK_ROW
	FailConcurrentLimit   Failure = "concurrent-limit"   // 403 REQUEST_LIMIT_EXCEEDED (ConcurrentRequests)
	FailSessionExpired    Failure = "session-expired"    // 401 INVALID_SESSION_ID
	FailHTMLBadGateway    Failure = "html-bad-gateway"   // 502 with an HTML page, as an edge proxy
	FailEmptyBody         Failure = "empty-body"         // 500 (or Fault.Status) with no body
)

// Fault is an injected misbehaviour: added latency, a failure response, or both, for requests
// whose path and method match, on every call, with a probability, or for the next N calls.
type Fault struct {
	// Path matches the URL path: a glob where * matches any run of characters (slashes
	// included) and ? one character, or, prefixed with "re:", a regular expression. Empty
	// matches every path (the admin endpoint is never affected). A path "bulkrow:<Object>"
	// (a glob too) matches no request but the records of Bulk API ingest jobs on that object:
	// each record it fires on fails with the failure's error (UNABLE_TO_LOCK_ROW, …), as a record
	// fails in failedResults; latency and Status do not apply there.
	Path   string
	Method string // empty matches every method

	Latency time.Duration // added before answering
	Failure Failure       // empty: latency only
	Status  int           // overrides the failure's HTTP status

	Rate  float64 // probability per matching call; 0 means 1
	Times int     // fire on the next Times matching calls only; 0: no limit
}

type activeFault struct {
	id   int
	f    Fault
	re   *regexp.Regexp
	left int // remaining firings when f.Times > 0
}

type faults struct {
	mu     sync.Mutex
	rnd    *rand.Rand
	nextID int
	list   []*activeFault
}

// globRegexp compiles a path pattern once, when the fault is added.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	if expr, ok := strings.CutPrefix(pattern, "re:"); ok {
		return regexp.Compile(expr)
	}
	q := regexp.QuoteMeta(pattern)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return regexp.Compile("^" + q + "$")
}

// AddFault starts injecting f and returns its id (for RemoveFault).
func (o *Org) AddFault(f Fault) (int, error) {
	switch f.Failure {
	case "", FailServerUnavailable, FailUnableToLockRow, FailConcurrentLimit, FailSessionExpired,
		FailHTMLBadGateway, FailEmptyBody:
	default:
		return 0, fmt.Errorf("fakeorg: unknown failure %q", f.Failure)
	}
	if f.Failure == "" && f.Latency <= 0 {
		return 0, errors.New("fakeorg: a fault needs a failure or a latency")
	}
	if f.Rate < 0 || f.Rate > 1 || f.Times < 0 || f.Latency < 0 {
		return 0, errors.New("fakeorg: rate must be within 0..1, times and latency not negative")
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return 0, fmt.Errorf("fakeorg: invalid status %d", f.Status)
	}
	re, err := globRegexp(f.Path)
	if err != nil {
		return 0, fmt.Errorf("fakeorg: fault path: %w", err)
	}
	f.Method = strings.ToUpper(f.Method)
	fs := &o.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	fs.list = append(fs.list, &activeFault{id: fs.nextID, f: f, re: re, left: f.Times})
	return fs.nextID, nil
}

// RemoveFault stops injecting the fault with the given id.
func (o *Org) RemoveFault(id int) {
	fs := &o.faults
	fs.mu.Lock()
	fs.list = deleteFault(fs.list, id)
	fs.mu.Unlock()
}

// ClearFaults stops every injected fault.
func (o *Org) ClearFaults() {
	fs := &o.faults
	fs.mu.Lock()
	fs.list = nil
	fs.mu.Unlock()
}

func deleteFault(list []*activeFault, id int) []*activeFault {
	out := list[:0]
	for _, a := range list {
		if a.id != id {
			out = append(out, a)
		}
	}
	return out
}

// pick decides what the faults do to one request: the total added latency and the first failure.
func (fs *faults) pick(method, path string) (time.Duration, *Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.list) == 0 {
		return 0, nil
	}
	var delay time.Duration
	var fail *Fault
	var spent []int
	for _, a := range fs.list {
		if a.f.Method != "" && a.f.Method != method || a.re != nil && !a.re.MatchString(path) ||
			strings.HasPrefix(path, bulkRowPath) != strings.HasPrefix(a.f.Path, bulkRowPath) {
			continue
		}
		if a.f.Failure != "" && fail != nil {
			continue // one failure per request; later faults keep their turn
		}
		if a.f.Rate > 0 && a.f.Rate < 1 && fs.rnd.Float64() >= a.f.Rate {
			continue
		}
		delay += a.f.Latency
		if a.f.Failure != "" {
			f := a.f
			fail = &f
		}
		if a.f.Times > 0 {
			a.left--
			if a.left == 0 {
				spent = append(spent, a.id)
			}
		}
	}
	for _, id := range spent {
		fs.list = deleteFault(fs.list, id)
	}
	return delay, fail
}

// applyFaults runs the faults for r; it reports true when it has answered the request.
func (o *Org) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	delay, f := o.faults.pick(r.Method, r.URL.Path)
	if delay > 0 && !sleep(r.Context(), delay) {
		return true // the client is gone
	}
	if f == nil {
		return false
	}
	writeFailure(w, f)
	return true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

const badGatewayHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server.</p></body></html>
`

// failureError is the Salesforce error of a failure, or nil for those that are no API error.
func failureError(f Failure) *orgdb.Error {
	switch f {
	case FailServerUnavailable:
		return &orgdb.Error{Status: http.StatusServiceUnavailable, Code: "SERVER_UNAVAILABLE",
			Message: "Server temporarily unavailable. Please try again later."}
	case FailUnableToLockRow:
		return &orgdb.Error{Status: http.StatusInternalServerError, Code: "UNABLE_TO_LOCK_ROW",
			Message: "unable to obtain exclusive access to this record or 1 records"}
	case FailConcurrentLimit:
		return &orgdb.Error{Status: http.StatusForbidden, Code: "REQUEST_LIMIT_EXCEEDED",
			Message: "ConcurrentRequests (concurrent API requests) Limit exceeded."}
	case FailSessionExpired:
		return errInvalidSession
	}
	return nil
}

// writeFailure answers a failure as Salesforce (or the proxy in front of it) does.
func writeFailure(w http.ResponseWriter, f *Fault) {
	status := f.Status
	e := failureError(f.Failure)
	switch f.Failure {
	case FailSessionExpired:
		w.Header().Set("WWW-Authenticate", "Token")
	case FailHTMLBadGateway:
		if status == 0 {
			status = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(badGatewayHTML))
		return
	case FailEmptyBody:
		if status == 0 {
			status = http.StatusInternalServerError
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	if status == 0 {
		status = e.Status
	}
	writeDataError(w, status, e)
}
