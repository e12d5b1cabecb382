package sfdc_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// unavailableFor answers the first n requests to paths ending in suffix with 503
// SERVER_UNAVAILABLE and the given Retry-After, as a proxy in maintenance would (the fake org
// sends no Retry-After), and hands everything else to the org.
func unavailableFor(suffix string, n int64, retryAfter string) func(http.Handler) http.Handler {
	var left atomic.Int64
	left.Store(n)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, suffix) && left.Add(-1) >= 0 {
				w.Header().Set("Retry-After", retryAfter)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`[{"errorCode":"SERVER_UNAVAILABLE","message":"down for maintenance"}]`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestRetryAfterHonoured: a retry waits at least what Retry-After asks (up to RetryAfterMax),
// even for a create; an answer asking for longer is not retried and tells the caller how long.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	var events []sfdc.RetryEvent
	record := sfdctest.WithClient(func(c *sfdc.Config) {
		c.RetryAfterMax = 2 * time.Second
		c.OnRetry = func(ev sfdc.RetryEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() }
	})

	org := sfdctest.NewOrg(t, record, sfdctest.WithMiddleware(unavailableFor("/sobjects/Contact", 1, "1")))
	_, resp, err := org.Client.Create(context.Background(), "Contact", map[string]any{"LastName": "Patient"})
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	require.Len(t, events, 1)
	assert.Equal(t, time.Second, events[0].Wait, "Retry-After, not the millisecond backoff")
	assert.Equal(t, int64(1), org.Count(fakeorg.KindCreate), "exactly one record")

	events = nil
	org = sfdctest.NewOrg(t, record, sfdctest.WithMiddleware(unavailableFor("/limits", 1, "120")))
	_, _, err = org.Client.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 2*time.Minute, se.RetryAfter)
	assert.Equal(t, 1, se.Attempts, "longer than RetryAfterMax: not retried")
	assert.Empty(t, events)
}

// TestFailedCallsKeepIdleConnections: a call that fails after its retries must not close the
// connection pool every other call shares (retryablehttp closes idle connections when a call
// fails): the next calls reuse the connection already open.
func TestFailedCallsKeepIdleConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{} // client addresses: one per connection
	org := sfdctest.NewOrg(t, sfdctest.WithClient(func(c *sfdc.Config) { c.MaxRetries = 1 }),
		sfdctest.WithMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				conns[r.RemoteAddr] = true
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		}))
	ctx := context.Background()
	for range 3 {
		_, _, err := org.Client.Limits(ctx)
		require.NoError(t, err)
	}
	id, err := org.AddFault(fakeorg.Fault{Path: "*/limits", Failure: fakeorg.FailServerUnavailable})
	require.NoError(t, err)
	_, _, err = org.Client.Limits(ctx)
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	org.RemoveFault(id)
	for range 3 {
		_, _, err := org.Client.Limits(ctx)
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, conns, 1, "one connection, login included, kept across the failure")
}

// TestConcurrentCallsKeepTheirConnections: a client of its own keeps an idle connection for
// each of many calls at once (http.DefaultTransport keeps 2), so rounds of 16 concurrent calls
// reuse the 16 connections of the first round instead of dialling (and against Salesforce,
// handshaking TLS) 14 new ones every round.
func TestConcurrentCallsKeepTheirConnections(t *testing.T) {
	const calls, rounds = 16, 4
	var mu sync.Mutex
	conns := map[string]bool{} // client addresses: one per connection
	var arrived atomic.Int64
	var all chan struct{}
	org := sfdctest.NewOrg(t, sfdctest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			conns[r.RemoteAddr] = true
			round := all
			mu.Unlock()
			if round != nil && strings.HasSuffix(r.URL.Path, "/limits") {
				if arrived.Add(1) == calls {
					close(round)
				}
				<-round // every call of the round is in flight at once
			}
			next.ServeHTTP(w, r)
		})
	}))
	ctx := context.Background()
	_, _, err := org.Client.Limits(ctx) // log in first
	require.NoError(t, err)
	for range rounds {
		mu.Lock()
		all = make(chan struct{})
		mu.Unlock()
		arrived.Store(0)
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				_, _, err := org.Client.Limits(ctx)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, len(conns), calls+1, "the first round's connections are reused")
}

// TestTimeoutBoundsTheCall: Config.Timeout bounds a call whose context has no deadline, retries
// included: it ends with the deadline as its cause, and no retry is started that could not end
// in time.
func TestTimeoutBoundsTheCall(t *testing.T) {
	org := sfdctest.NewOrg(t, sfdctest.WithClient(func(c *sfdc.Config) { c.Timeout = 300 * time.Millisecond }))
	_, _, err := org.Client.Limits(context.Background()) // logged in
	require.NoError(t, err)
	_, err = org.AddFault(fakeorg.Fault{Path: "*/limits", Latency: time.Minute})
	require.NoError(t, err)
	_, resp, err := org.Client.Limits(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1, resp.Attempts)
	assert.Empty(t, org.Client.Stats().Retries)
}

// countingTransport counts the round trips it sees and checks what a RoundTripper may rely on.
type countingTransport struct {
	t     *testing.T
	mu    sync.Mutex
	paths []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths = append(c.paths, r.URL.EscapedPath())
	c.mu.Unlock()
	assert.NotEmpty(c.t, r.URL.Path, "a transport sees the path in URL.Path")
	if strings.HasPrefix(r.URL.Path, "/services/data/") {
		assert.True(c.t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestOneRoundTripPerAttempt: the caller's transport sees each attempt once, as an ordinary
// request (path, escaped path, bearer header).
func TestOneRoundTripPerAttempt(t *testing.T) {
	ct := &countingTransport{t: t}
	org := sfdctest.NewOrg(t,
		sfdctest.WithOrg(fakeorg.Options{CustomFields: []orgdb.CustomField{
			{Object: "Contact", Name: "Ext_Id__c", Type: "string", Length: 64, ExternalID: true, Unique: true}}}),
		sfdctest.WithClient(func(c *sfdc.Config) { c.HTTPClient = &http.Client{Transport: ct} }))
	ctx := context.Background()
	_, err := org.AddFault(fakeorg.Fault{Path: "*/limits", Failure: fakeorg.FailServerUnavailable, Times: 2})
	require.NoError(t, err)
	_, resp, err := org.Client.Limits(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	_, _, err = org.Client.Upsert(ctx, "Contact", "Ext_Id__c", "call/42 ü", map[string]any{"LastName": "Ng"})
	require.NoError(t, err)
	ct.mu.Lock()
	defer ct.mu.Unlock()
	require.Len(t, ct.paths, 5, "login, 3 attempts, upsert")
	assert.Equal(t, "/services/data/v62.0/sobjects/Contact/Ext_Id__c/call%2F42%20%C3%BC", ct.paths[4])
}

// TestEveryErrorIsAnError: whatever fails, the error is an *sfdc.Error with the kind (or
// context error) that says why, and the *Response is nil exactly when nothing was sent.
func TestEveryErrorIsAnError(t *testing.T) {
	org := sfdctest.NewOrg(t)
	c := org.Client
	ctx := context.Background()
	id, _, err := c.Create(ctx, "Contact", map[string]any{"LastName": "Lee"})
	require.NoError(t, err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	badLogin := org.NewClient(t, func(cfg *sfdc.Config) { cfg.Auth.Password = "wrong" })
	firstErr := func(seq func(func(sfdc.Record, error) bool)) error {
		for _, err := range seq {
			if err != nil {
				return err
			}
		}
		return nil
	}
	resp := func(r *sfdc.Response, err error) (*sfdc.Response, error) { return r, err }
	tests := []struct {
		name string
		call func() (*sfdc.Response, error)
		kind error
		sent bool
	}{
		{"bad object", func() (*sfdc.Response, error) {
			_, r, err := c.Create(ctx, "Contact WHERE", map[string]any{})
			return r, err
		}, sfdc.ErrBadQuery, false},
		{"bad fields", func() (*sfdc.Response, error) {
			_, r, err := c.Create(ctx, "Contact", map[string]any{"x": make(chan int)})
			return r, err
		}, sfdc.ErrBadQuery, false},
		{"bad id", func() (*sfdc.Response, error) { return resp(c.Update(ctx, "Contact", "003' OR '", map[string]any{})) }, sfdc.ErrBadID, false},
		{"bad query", func() (*sfdc.Response, error) {
			return nil, firstErr(c.Query(ctx, sfdc.Select("Id FROM x").From("Contact")))
		}, sfdc.ErrBadQuery, false},
		{"nil statement", func() (*sfdc.Response, error) { _, r, err := c.Count(ctx, nil); return r, err }, sfdc.ErrBadQuery, false},
		{"bad search", func() (*sfdc.Response, error) { _, r, err := c.Search(ctx, sfdc.Find("a")); return r, err }, sfdc.ErrBadQuery, false},
		{"bad composite", func() (*sfdc.Response, error) { _, r, err := c.Composite(ctx, false); return r, err }, sfdc.ErrBadQuery, false},
		{"bad collection", func() (*sfdc.Response, error) {
			_, err := c.DeleteRecords(ctx, false, []sfdc.ID{"x"})
			return nil, err
		}, sfdc.ErrBadID, false},
		{"context ended", func() (*sfdc.Response, error) {
			_, r, err := c.Get(cancelled, "Contact", id)
			return r, err
		}, context.Canceled, false},
		{"login refused", func() (*sfdc.Response, error) { _, r, err := badLogin.Limits(ctx); return r, err }, sfdc.ErrAuth, false},
		{"API error", func() (*sfdc.Response, error) {
			_, r, err := c.Create(ctx, "Contact", map[string]any{"FirstName": "NoLast"})
			return r, err
		}, sfdc.ErrValidation, true},
		{"not found", func() (*sfdc.Response, error) {
			_, r, err := c.Get(ctx, "Contact", sfdc.MustParseID("003000000000001"))
			return r, err
		}, sfdc.ErrNotFound, true},
		{"does not fit", func() (*sfdc.Response, error) {
			var dst struct{ LastName int }
			return c.GetInto(ctx, "Contact", id, &dst, "LastName")
		}, sfdc.ErrDecode, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.call()
			require.ErrorIs(t, err, tt.kind)
			var se *sfdc.Error
			require.True(t, errors.As(err, &se), "%T is not an *sfdc.Error", err)
			if tt.sent {
				require.NotNil(t, r)
				assert.GreaterOrEqual(t, r.Attempts, 1)
			} else {
				assert.Nil(t, r)
			}
		})
	}

	// A transport failure: sent, no answer.
	org.Server.Close()
	_, r, err := c.Get(ctx, "Contact", id)
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	require.NotNil(t, r)
	assert.Zero(t, r.StatusCode)
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestBodySentInOneWrite: a write's request goes out in one write on the connection, headers and
// body together, as net/http does for a body it knows to be in memory (another reader makes it
// flush the headers first: two writes, two packets).
func TestBodySentInOneWrite(t *testing.T) {
	var writes atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{c, &writes}, err
	}}
	org := sfdctest.NewOrg(t, sfdctest.WithClient(func(c *sfdc.Config) { c.HTTPClient = &http.Client{Transport: tr} }))
	ctx := context.Background()
	_, _, err := org.Client.Limits(ctx) // logged in, connection open
	require.NoError(t, err)
	before := writes.Load()
	_, _, err = org.Client.Create(ctx, "Contact", map[string]any{"LastName": "Lee"})
	require.NoError(t, err)
	_, err = org.Client.Update(ctx, "Contact", sfdc.MustParseID("003000000000001"), map[string]any{"LastName": "x"})
	require.ErrorIs(t, err, sfdc.ErrNotFound)
	assert.Equal(t, int64(2), writes.Load()-before, "one write per request")
}
