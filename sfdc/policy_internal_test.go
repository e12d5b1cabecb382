package sfdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func response(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}
}

func sfErr(code, msg string) string {
	return fmt.Sprintf(`[{"message":%q,"errorCode":%q}]`, msg, code)
}

func TestDecideRetry(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "http://x/?q=secret", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	reset := &url.Error{Op: "Get", URL: "http://x/", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	tests := []struct {
		name       string
		resp       *http.Response
		err        error
		idempotent bool
		retry      bool
		reason     string
	}{
		{"503 SERVER_UNAVAILABLE on POST", response(503, sfErr("SERVER_UNAVAILABLE", "down")), nil, false, true, "SERVER_UNAVAILABLE"},
		{"lock on POST", response(500, sfErr("UNABLE_TO_LOCK_ROW", "locked")), nil, false, true, "UNABLE_TO_LOCK_ROW"},
		{"lock as 400", response(400, sfErr("UNABLE_TO_LOCK_ROW", "locked")), nil, false, true, "UNABLE_TO_LOCK_ROW"},
		{"concurrent limit", response(403, sfErr("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded.")), nil, false, true, "REQUEST_LIMIT_EXCEEDED"},
		{"edge 429 on POST", response(429, "<html>slow down</html>"), nil, false, true, "http 429"},
		{"daily limit never", response(403, sfErr("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")), nil, true, false, "REQUEST_LIMIT_EXCEEDED"},
		{"validation never", response(400, sfErr("REQUIRED_FIELD_MISSING", "x")), nil, true, false, "REQUIRED_FIELD_MISSING"},
		{"permission never", response(403, sfErr("INSUFFICIENT_ACCESS_OR_READONLY", "x")), nil, true, false, "INSUFFICIENT_ACCESS_OR_READONLY"},
		{"session: replay, not retry", response(401, sfErr("INVALID_SESSION_ID", "x")), nil, true, false, "INVALID_SESSION_ID"},
		{"not found never", response(404, sfErr("NOT_FOUND", "x")), nil, true, false, "NOT_FOUND"},
		{"html 502 on GET", response(502, "<html>bad gateway</html>"), nil, true, true, "http 502"},
		{"html 502 on POST", response(502, "<html>bad gateway</html>"), nil, false, false, "http 502"},
		{"empty 500 on GET", response(500, ""), nil, true, true, "http 500"},
		{"empty 500 on POST", response(500, ""), nil, false, false, "http 500"},
		{"refused on POST", nil, refused, false, true, "connection refused"},
		{"reset on GET", nil, reset, true, true, "transport error"},
		{"reset on POST", nil, reset, false, false, "transport error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if tt.resp != nil {
				e = readFailure("op", tt.resp)
				assert.Equal(t, http.NoBody, tt.resp.Body, "the body was read once and replaced for the drain")
			}
			retry, reason := decideRetry(e, tt.err, tt.idempotent)
			assert.Equal(t, tt.retry, retry)
			assert.Equal(t, tt.reason, reason)
		})
	}
}

// TestRetryAfter: the wait before a retry is at least what Retry-After asks, within the cap;
// beyond it (or beyond the call's deadline) the failure is reported at once, with RetryAfter.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"Wed, 25 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Wed, 25 Nov 2026 11:59:00 GMT": 0,
		"99999999999999":                maxRetryAfter,
	} {
		assert.Equal(t, want, parseRetryAfter(in, now), "%q", in)
	}

	c := &Client{cfg: Config{RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, RetryAfterMax: 10 * time.Second}}
	s := &sender{c: c, r: &call{idempotent: true}, attempts: 1}
	unavailable := func(retryAfter string) *http.Response {
		r := response(503, sfErr("SERVER_UNAVAILABLE", "x"))
		r.Header.Set("Retry-After", retryAfter)
		return r
	}
	retry, err := s.checkRetry(context.Background(), unavailable("2"), nil)
	require.NoError(t, err)
	assert.True(t, retry)
	assert.Equal(t, 2*time.Second, s.wait, "Retry-After, not the 1ms backoff")

	retry, err = s.checkRetry(context.Background(), unavailable("60"), nil)
	require.NoError(t, err)
	assert.False(t, retry, "longer than RetryAfterMax: left to the caller")
	assert.Equal(t, time.Minute, s.failure.RetryAfter)
	assert.Contains(t, s.failure.Error(), "retry-after=1m0s")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	retry, err = s.checkRetry(ctx, unavailable("2"), nil)
	require.NoError(t, err)
	assert.False(t, retry, "a wait past the call's deadline is not started")
}

func TestCheckRetryStopsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &sender{r: &call{idempotent: true}}
	retry, err := s.checkRetry(ctx, response(503, sfErr("SERVER_UNAVAILABLE", "x")), nil)
	assert.False(t, retry)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestJitterBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, time.Second
	for n := 0; n < 12; n++ {
		want := min << n
		if want > max || want <= 0 {
			want = max
		}
		for i := 0; i < 50; i++ {
			d := jitterBackoff(min, max, n)
			require.GreaterOrEqual(t, d, want/2, "attempt %d", n)
			require.LessOrEqual(t, d, want, "attempt %d", n)
		}
	}
}

func TestErrorFromResponse(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   error
		code   string
	}{
		{"array", 400, `[{"message":"No such column 'Naem' WHERE Name = 'Jane Doe'","errorCode":"MALFORMED_QUERY"}]`, ErrInvalidRequest, "MALFORMED_QUERY"},
		{"fields", 400, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`, ErrValidation, "REQUIRED_FIELD_MISSING"},
		{"empty array", 500, `[]`, ErrUnavailable, ""},
		{"html", 502, `<html><body>Bad Gateway for Jane Doe</body></html>`, ErrUnavailable, ""},
		{"empty", 500, ``, ErrUnavailable, ""},
		{"edge 420", 420, `<html/>`, ErrUnavailable, ""},
		{"uri too long", 414, `<html/>`, ErrInvalidRequest, ""},
		{"truncated", 400, `[{"message":"x","errorCode":"INVA`, ErrInvalidRequest, ""},
		{"deleted", 404, sfErr("ENTITY_IS_DELETED", "x"), ErrNotFound, "ENTITY_IS_DELETED"},
		{"session", 401, sfErr("INVALID_SESSION_ID", "Session expired or invalid"), ErrSessionExpired, "INVALID_SESSION_ID"},
		{"daily", 403, sfErr("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), ErrDailyLimit, "REQUEST_LIMIT_EXCEEDED"},
		{"concurrent", 403, sfErr("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."), ErrConcurrencyLimit, "REQUEST_LIMIT_EXCEEDED"},
		{"lock", 500, sfErr("UNABLE_TO_LOCK_ROW", "x"), ErrLocked, "UNABLE_TO_LOCK_ROW"},
		{"permission", 403, sfErr("API_DISABLED_FOR_ORG", "x"), ErrPermission, "API_DISABLED_FOR_ORG"},
		{"picklist", 400, sfErr("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value for restricted picklist field: Jane"), ErrValidation, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{"multiple", 300, `["/services/data/v62.0/sobjects/Account/001","/services/data/v62.0/sobjects/Account/002"]`, ErrMultipleMatches, ""},
		{"halted", 400, sfErr("PROCESSING_HALTED", "x"), ErrRolledBack, "PROCESSING_HALTED"},
		{"unavailable", 503, sfErr("SERVER_UNAVAILABLE", "x"), ErrUnavailable, "SERVER_UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := errorFromResponse("query", tt.status, []byte(tt.body))
			assert.ErrorIs(t, e, tt.kind)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.status, e.StatusCode)
			for _, leak := range []string{"Jane", "Naem", "Bad Gateway for"} {
				assert.NotContains(t, e.Error(), leak)
				assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", e, e, e, e), leak)
			}
			for _, other := range []error{ErrSessionExpired, ErrNotFound, ErrDailyLimit, ErrConcurrencyLimit, ErrLocked,
				ErrValidation, ErrInvalidRequest, ErrPermission, ErrUnavailable, ErrMultipleMatches, ErrRolledBack} {
				if other != tt.kind {
					assert.NotErrorIs(t, e, other)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Op: "create Contact", StatusCode: 400, Code: "REQUIRED_FIELD_MISSING", Fields: []string{"LastName"},
		Message: "secret message", Attempts: 2, Shape: "SELECT Id FROM Contact WHERE Phone = ?", kind: ErrValidation}
	assert.Equal(t, "sfdc: create Contact: 400 REQUIRED_FIELD_MISSING fields=LastName query=SELECT Id FROM Contact WHERE Phone = ? attempts=2", e.Error())
	login := &Error{Op: "login", StatusCode: 400, Code: "invalid_grant", Message: "authentication failure", kind: ErrAuth}
	assert.Equal(t, "sfdc: login: 400 invalid_grant (authentication failure)", login.Error())
	tr := transportError("get Account", &url.Error{Op: "Get", URL: "https://x/services/data/v62.0/query?q=SELECT+Name+FROM+Contact+WHERE+Phone='555'", Err: syscall.ECONNRESET})
	assert.NotContains(t, tr.Error(), "555")
	assert.ErrorIs(t, tr, syscall.ECONNRESET)
	assert.ErrorIs(t, tr, ErrUnavailable)
}

func TestParseLimitInfo(t *testing.T) {
	tests := []struct {
		in   string
		want Usage
		ok   bool
	}{
		{"api-usage=18/15000", Usage{18, 15000}, true},
		{"api-usage=18/15000, per-app-api-usage=17/250(appName=sample-app)", Usage{18, 15000}, true},
		{"per-app-api-usage=17/250(appName=x), api-usage=3/10", Usage{3, 10}, true},
		{"api-usage=x/10", Usage{}, false},
		{"api-usage=10", Usage{}, false},
		{"", Usage{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseLimitInfo(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	assert.Equal(t, int64(14982), Usage{18, 15000}.Remaining())
	assert.Equal(t, int64(0), Usage{20, 10}.Remaining())
}

// TestTokenCacheOneLogin checks the cache itself: concurrent callers share one login, and
// invalidating an old session does not throw away a newer one.
func TestTokenCacheOneLogin(t *testing.T) {
	var logins atomic.Int64
	release := make(chan struct{})
	tc := &tokenCache{timeout: time.Minute, login: func(ctx context.Context, _ *session) (*session, error) {
		logins.Add(1)
		<-release
		return &session{accessToken: fmt.Sprint("t", logins.Load()), instanceURL: "https://x", issued: time.Now()}, nil
	}}
	var wg sync.WaitGroup
	got := make([]*session, 200)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := tc.get(context.Background())
			assert.NoError(t, err)
			got[i] = s
		}()
	}
	// A caller whose context ends stops waiting without disturbing the login.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tc.get(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	wg.Wait()
	require.Equal(t, int64(1), logins.Load())
	for _, s := range got {
		require.Same(t, got[0], s)
	}
	old := got[0]
	tc.invalidate(old)
	s2, err := tc.get(context.Background())
	require.NoError(t, err)
	assert.NotSame(t, old, s2)
	tc.invalidate(old) // stale: must not clear s2
	s3, err := tc.get(context.Background())
	require.NoError(t, err)
	assert.Same(t, s2, s3)
	assert.Equal(t, int64(2), logins.Load())
}

func TestTokenCacheLoginFailureIsNotCached(t *testing.T) {
	var n atomic.Int64
	tc := &tokenCache{timeout: time.Minute, login: func(ctx context.Context, _ *session) (*session, error) {
		if n.Add(1) == 1 {
			return nil, errors.New("down")
		}
		return &session{accessToken: "t", instanceURL: "https://x", issued: time.Now()}, nil
	}}
	_, err := tc.get(context.Background())
	require.Error(t, err)
	s, err := tc.get(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t", s.accessToken)
}

func TestTokenCacheLifetime(t *testing.T) {
	var n atomic.Int64
	tc := &tokenCache{timeout: time.Minute, lifetime: time.Hour, login: func(ctx context.Context, _ *session) (*session, error) {
		n.Add(1)
		return &session{accessToken: "t", instanceURL: "https://x", issued: time.Now().Add(-2 * time.Hour)}, nil
	}}
	_, err := tc.get(context.Background())
	require.NoError(t, err)
	_, err = tc.get(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(2), n.Load(), "a session older than the lifetime is replaced")
}

func TestValidNextRecordsURL(t *testing.T) {
	for u, want := range map[string]bool{
		"/services/data/v62.0/query/01gD0000002HU6KIAW-2000":         true,
		"/services/data/v62.0/tooling/query/01gD0000002HU6KIAW-2000": true,
		"https://evil.example/services/data/v62.0/query/x":           false,
		"//evil.example/services/data/x":                             false,
		"/services/data/v62.0/query/x?q=1":                           false,
		"/services/data/v62.0/query/x#f":                             false,
		"/services/data/../../other":                                 false,
		"/services/data/v62.0/query/a b":                             false,
		"/services/data/v62.0/query/a%2F":                            false,
		"/other/path":                                                false,
	} {
		assert.Equal(t, want, validNextRecordsURL(u), u)
	}
}

// TestDefaultAudience: the JWT audience is the login host even when the token request goes to a
// My Domain, which Salesforce refuses as an audience ("audience is invalid").
func TestDefaultAudience(t *testing.T) {
	for _, tt := range []struct{ login, want string }{
		{"https://login.salesforce.com", LoginProduction},
		{"https://test.salesforce.com", LoginSandbox},
		{"https://acme.my.salesforce.com", LoginProduction},
		{"https://ACME.My.Salesforce.com", LoginProduction},
		{"https://acme--uat.sandbox.my.salesforce.com", LoginSandbox},
		{"https://acme.my.site.com/customers", "https://acme.my.site.com/customers"},
		{"http://127.0.0.1:8089", "http://127.0.0.1:8089"},
		{"https://my.salesforce.com.evil.example", "https://my.salesforce.com.evil.example"},
	} {
		assert.Equal(t, tt.want, defaultAudience(tt.login), tt.login)
	}
}

// FuzzQueryParam: queryParam escapes exactly as url.QueryEscape does.
func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"", "SELECT Id FROM Contact WHERE Name = 'O\\'Brien'", "a+b&c=d/é~", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, "q="+url.QueryEscape(s), queryParam(s))
	})
}

// oneShot is a body that fails the test if it is read after it has ended.
type oneShot struct {
	t    *testing.T
	r    io.Reader
	done bool
}

func (o *oneShot) Read(p []byte) (int, error) {
	if o.done {
		o.t.Error("the error body was read twice")
		return 0, io.EOF
	}
	n, err := o.r.Read(p)
	if err == io.EOF {
		o.done = true
	}
	return n, err
}

func (o *oneShot) Close() error { return nil }

// TestErrorBodyParsedOnce: the policy reads and classifies a failed answer's body, and the call
// reports that same *Error: the body is neither read nor parsed again.
func TestErrorBodyParsedOnce(t *testing.T) {
	c := &Client{cfg: Config{RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, RetryAfterMax: time.Second}}
	s := &sender{c: c, r: &call{op: "create", object: "Contact"}, attempts: 1}
	resp := &http.Response{StatusCode: 400, Header: http.Header{},
		Body: &oneShot{t: t, r: strings.NewReader(`[{"errorCode":"REQUIRED_FIELD_MISSING","message":"x","fields":["LastName"]}]`)}}
	retry, err := s.checkRetry(context.Background(), resp, nil)
	require.NoError(t, err)
	require.False(t, retry)
	e := s.finish(context.Background(), resp, nil, &result{})
	require.Same(t, s.failure, e)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", e.Code)
	assert.Equal(t, []string{"LastName"}, e.Fields)
	assert.ErrorIs(t, e, ErrValidation)
}

// TestPerRecordKinds: per-record results of a 200 answer (status 0) get their kind from their
// code alone, as do subrequests whose status says something else.
func TestPerRecordKinds(t *testing.T) {
	body := `[
		{"id":null,"success":false,"errors":[{"statusCode":"ENTITY_IS_DELETED","message":"entity is deleted","fields":[]}]},
		{"id":null,"success":false,"errors":[{"statusCode":"INSUFFICIENT_ACCESS_OR_READONLY","message":"no","fields":[]}]},
		{"id":null,"success":false,"errors":[{"statusCode":"API_DISABLED_FOR_ORG","message":"API is not enabled","fields":[]}]},
		{"id":null,"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"locked","fields":[]}]},
		{"id":"0019000001AWn2oAAD","success":true,"errors":[]}]`
	out := make([]SaveResult, 5)
	require.NoError(t, decodeSaveResults("update Account records", &result{resp: Response{StatusCode: 200}, body: []byte(body)}, out, 10))
	for i, want := range []error{ErrNotFound, ErrPermission, ErrPermission, ErrLocked} {
		require.NotNil(t, out[i].Err, "record %d", i)
		assert.ErrorIs(t, out[i].Err, want, "record %d", i)
		assert.Zero(t, out[i].Err.StatusCode)
		assert.Equal(t, fmt.Sprintf("update Account records[%d]", 10+i), out[i].Err.Op)
	}
	assert.Nil(t, out[4].Err)
	assert.Equal(t, ID("0019000001AWn2oAAD"), out[4].ID)

	// The code decides, whatever the status around it.
	for _, tt := range []struct {
		status int
		code   string
		kind   error
	}{
		{400, "ENTITY_IS_DELETED", ErrNotFound},
		{400, "INSUFFICIENT_ACCESS_OR_READONLY", ErrPermission},
		{400, "API_DISABLED_FOR_ORG", ErrPermission},
		{0, "ENTITY_IS_DELETED", ErrNotFound},
	} {
		assert.ErrorIs(t, errorFromResponse("composite x", tt.status, []byte(sfErr(tt.code, "m"))), tt.kind, "%d %s", tt.status, tt.code)
	}
}

func TestParseSaveResult(t *testing.T) {
	id, created, errs, err := parseSaveResult([]byte(`{"id":"0019000001AWn2oAAD","success":true,"errors":[],"created":false}`))
	require.NoError(t, err)
	assert.Equal(t, ID("0019000001AWn2oAAD"), id)
	require.NotNil(t, created)
	assert.False(t, *created)
	assert.Empty(t, errs)

	id, created, _, err = parseSaveResult([]byte(` { "success" : true , "id" : "0019000001AWn2o" } `))
	require.NoError(t, err)
	assert.Equal(t, ID("0019000001AWn2oAAD"), id, "15 characters become 18")
	assert.Nil(t, created)

	_, _, errs, err = parseSaveResult([]byte(`{"id":"","success":false,"errors":[{"statusCode":"DUPLICATE_VALUE","message":"dup","fields":["Ext__c"]}]}`))
	require.NoError(t, err)
	require.Len(t, errs, 1)
	assert.Equal(t, "DUPLICATE_VALUE", errs[0].code())

	for _, bad := range []string{`{"success":true}`, `{"id":"x","success":true}`, `{"id":1}`, `[]`, `{"id":"0019000001AWn2o"`, ``} {
		_, _, _, err := parseSaveResult([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

// TestLoginTimeoutIsAnError: a login that runs out of its own time (Config.Timeout) fails every
// caller still waiting with an *Error of kind ErrUnavailable, like any other failure.
func TestLoginTimeoutIsAnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	err := loginError(ctx, errors.New("oauth2: cannot fetch token: context deadline exceeded"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "login", e.Op)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
