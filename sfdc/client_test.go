package sfdc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// testEnv is a fake org served over httptest and a client logged in to it with the password flow.
type testEnv struct {
	org *fakeorg.Org
	srv *httptest.Server
	c   *sfdc.Client

	mu     sync.Mutex
	events []sfdc.RetryEvent
}

func (e *testEnv) retryEvents() []sfdc.RetryEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sfdc.RetryEvent(nil), e.events...)
}

func passwordAuth(srv *httptest.Server) sfdc.Auth {
	return sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: srv.URL, ClientID: fakeorg.DemoClientID,
		ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername, Password: fakeorg.DemoPassword}
}

// newEnv starts a fake org with sfdctest (the helper other packages use) and records the
// client's retry events.
func newEnv(t testing.TB, opts fakeorg.Options, tweak ...func(*sfdc.Config)) *testEnv {
	t.Helper()
	e := &testEnv{}
	options := []sfdctest.Option{sfdctest.WithOrg(opts), sfdctest.WithClient(func(c *sfdc.Config) {
		c.OnRetry = func(ev sfdc.RetryEvent) {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
		}
	})}
	for _, f := range tweak {
		options = append(options, sfdctest.WithClient(f))
	}
	org := sfdctest.NewOrg(t, options...)
	e.org, e.srv, e.c = org.Org, org.Server, org.Client
	return e
}

func (e *testEnv) fault(t testing.TB, f fakeorg.Fault) {
	t.Helper()
	_, err := e.org.AddFault(f)
	require.NoError(t, err)
}

func (e *testEnv) createContact(t testing.TB, last string) sfdc.ID {
	t.Helper()
	id, _, err := e.c.Create(context.Background(), "Contact", map[string]any{"LastName": last})
	require.NoError(t, err)
	return id
}

func TestCRUD(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()

	id, resp, err := e.c.Create(ctx, "Contact", map[string]any{"FirstName": "Ann", "LastName": "Lee", "Phone": "+44 20 7946 0000"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "003", id.Prefix())
	assert.Positive(t, resp.Usage.Max, "Sforce-Limit-Info is parsed on every response")

	rec, _, err := e.c.Get(ctx, "Contact", id, "FirstName", "LastName", "Phone")
	require.NoError(t, err)
	assert.Equal(t, "Contact", rec.Type())
	first, ok := rec.String("FirstName")
	assert.True(t, ok)
	assert.Equal(t, "Ann", first)

	type contact struct {
		FirstName string `json:"FirstName"`
		LastName  string `json:"LastName"`
	}
	var c contact
	require.NoError(t, rec.Decode(&c))
	assert.Equal(t, contact{"Ann", "Lee"}, c)
	assert.NotContains(t, fmt.Sprintf("%v %+v %s", rec, rec, rec), "Ann", "a record never prints its values")
	var into contact
	_, err = e.c.GetInto(ctx, "Contact", id, &into, "FirstName", "LastName")
	require.NoError(t, err)
	assert.Equal(t, contact{"Ann", "Lee"}, into)
	_, err = e.c.GetInto(ctx, "Contact", id, into)
	require.Error(t, err, "dst must be a pointer")

	_, err = e.c.Update(ctx, "Contact", id, map[string]any{"FirstName": "Anna"})
	require.NoError(t, err)
	rec, _, err = e.c.Get(ctx, "Contact", id)
	require.NoError(t, err)
	first, _ = rec.String("FirstName")
	assert.Equal(t, "Anna", first)
	assert.Equal(t, id, rec.ID())
	assert.True(t, rec.IsNull("Email"))

	_, err = e.c.Delete(ctx, "Contact", id)
	require.NoError(t, err)
	_, _, err = e.c.Get(ctx, "Contact", id)
	require.ErrorIs(t, err, sfdc.ErrNotFound)

	u, ok := e.c.Usage()
	require.True(t, ok)
	used, max := e.org.APIUsage()
	assert.Equal(t, sfdc.Usage{Used: used, Max: max}, u)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	_, _, err := e.c.Create(ctx, "Contact WHERE", map[string]any{"LastName": "x"})
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, _, err = e.c.Create(ctx, "Contact", []string{"not an object"})
	require.Error(t, err)
	_, _, err = e.c.Get(ctx, "Contact", sfdc.ID("003' OR Id != '"))
	require.ErrorIs(t, err, sfdc.ErrBadID)
	_, _, err = e.c.Get(ctx, "Contact", sfdc.MustParseID("003000000000001"), "Name,Phone")
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, err = e.c.Update(ctx, "Contact", "", map[string]any{})
	require.ErrorIs(t, err, sfdc.ErrBadID)
	// A dot segment as an external id would make the PATCH go to another path.
	for _, v := range []string{"", ".", ".."} {
		_, _, err = e.c.Upsert(ctx, "Contact", "Ext_Id__c", v, map[string]any{"LastName": "x"})
		require.ErrorIs(t, err, sfdc.ErrBadQuery, "value %q", v)
	}
	assert.Zero(t, e.org.Counts().Total, "nothing reached the org, not even a login")
}

func TestUpsert(t *testing.T) {
	e := newEnv(t, fakeorg.Options{CustomFields: []orgdb.CustomField{
		{Object: "Contact", Name: "Ext_Id__c", Type: "string", Length: 64, ExternalID: true, Unique: true},
		{Object: "Contact", Name: "Loose_Id__c", Type: "string", Length: 64, ExternalID: true},
	}})
	ctx := context.Background()
	r1, resp, err := e.c.Upsert(ctx, "Contact", "Ext_Id__c", "call/42 ü", map[string]any{"LastName": "Ng"})
	require.NoError(t, err)
	assert.True(t, r1.Created)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	r2, _, err := e.c.Upsert(ctx, "Contact", "Ext_Id__c", "call/42 ü", map[string]any{"LastName": "Ngo"})
	require.NoError(t, err)
	assert.False(t, r2.Created)
	assert.Equal(t, r1.ID, r2.ID)
	rec, _, err := e.c.Get(ctx, "Contact", r1.ID, "LastName", "Ext_Id__c")
	require.NoError(t, err)
	ext, _ := rec.String("Ext_Id__c")
	assert.Equal(t, "call/42 ü", ext)

	e.org.ResetCounts()
	_, _, err = e.c.Create(ctx, "Contact", map[string]any{"LastName": "Again", "Ext_Id__c": "call/42 ü"})
	require.ErrorIs(t, err, sfdc.ErrValidation)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "DUPLICATE_VALUE", se.Code)
	assert.NotContains(t, err.Error(), "call/42", "the duplicated value stays out of the error text")
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindCreate))

	for range 2 {
		_, _, err = e.c.Create(ctx, "Contact", map[string]any{"LastName": "Dup", "Loose_Id__c": "same"})
		require.NoError(t, err)
	}
	_, _, err = e.c.Upsert(ctx, "Contact", "Loose_Id__c", "same", map[string]any{"LastName": "Dup"})
	require.ErrorIs(t, err, sfdc.ErrMultipleMatches)
}

// TestRetryableCodes: every answer that means "nothing was done" is retried, even for a create,
// counted by reason, and reported to OnRetry; exactly one record results.
func TestRetryableCodes(t *testing.T) {
	for _, tt := range []struct {
		failure fakeorg.Failure
		reason  string
	}{
		{fakeorg.FailServerUnavailable, "SERVER_UNAVAILABLE"},
		{fakeorg.FailUnableToLockRow, "UNABLE_TO_LOCK_ROW"},
		{fakeorg.FailConcurrentLimit, "REQUEST_LIMIT_EXCEEDED"},
	} {
		t.Run(string(tt.failure), func(t *testing.T) {
			e := newEnv(t, fakeorg.Options{})
			e.fault(t, fakeorg.Fault{Path: "*/sobjects/Contact", Method: "POST", Failure: tt.failure, Times: 2})
			id, resp, err := e.c.Create(context.Background(), "Contact", map[string]any{"LastName": "Retry"})
			require.NoError(t, err)
			assert.True(t, id != "")
			assert.Equal(t, 3, resp.Attempts)
			assert.Equal(t, int64(3), e.org.Count(fakeorg.KindCreate))
			assert.Equal(t, map[string]int64{tt.reason: 2}, e.c.Stats().Retries)
			ev := e.retryEvents()
			require.Len(t, ev, 2)
			assert.Equal(t, sfdc.RetryEvent{Op: "create Contact", Attempt: 2, Reason: tt.reason, StatusCode: ev[0].StatusCode,
				Wait: ev[0].Wait}, ev[0])
			assert.Positive(t, ev[0].Wait)
			assert.Equal(t, 3, ev[1].Attempt)
		})
	}
}

// TestRetriesExhausted: a retryable failure that persists ends with its typed error after
// MaxRetries retries.
func TestRetriesExhausted(t *testing.T) {
	e := newEnv(t, fakeorg.Options{}, func(c *sfdc.Config) { c.MaxRetries = 2 })
	e.fault(t, fakeorg.Fault{Path: "*/limits", Failure: fakeorg.FailUnableToLockRow})
	_, resp, err := e.c.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrLocked)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 3, se.Attempts)
	assert.Equal(t, 3, resp.Attempts)
	assert.Equal(t, int64(3), e.org.Count(fakeorg.KindLimits))
}

// TestEdgeProxyAnswers: HTML and empty bodies give typed errors; they are retried for reads only.
func TestEdgeProxyAnswers(t *testing.T) {
	for _, failure := range []fakeorg.Failure{fakeorg.FailHTMLBadGateway, fakeorg.FailEmptyBody} {
		t.Run(string(failure), func(t *testing.T) {
			e := newEnv(t, fakeorg.Options{})
			id := e.createContact(t, "Edge")
			e.org.ResetCounts()
			e.fault(t, fakeorg.Fault{Path: "*/sobjects/Contact*", Failure: failure})

			_, _, err := e.c.Create(context.Background(), "Contact", map[string]any{"LastName": "Once"})
			require.ErrorIs(t, err, sfdc.ErrUnavailable)
			assert.NotContains(t, err.Error(), "<html")
			assert.Equal(t, int64(1), e.org.Count(fakeorg.KindCreate), "a create that may have been written is not retried")

			_, _, err = e.c.Get(context.Background(), "Contact", id)
			require.ErrorIs(t, err, sfdc.ErrUnavailable)
			assert.Equal(t, int64(1+sfdc.DefaultMaxRetries), e.org.Count(fakeorg.KindRead), "a read is retried")
		})
	}
}

// TestNotRetried: daily limit, validation and session errors are not retried.
func TestNotRetried(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()

	_, _, err := e.c.Create(ctx, "Contact", map[string]any{"FirstName": "NoLastName"})
	require.ErrorIs(t, err, sfdc.ErrValidation)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", se.Code)
	assert.Contains(t, se.Fields, "LastName")
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindCreate))

	e.org.ExhaustDailyLimit()
	e.org.ResetCounts()
	_, _, err = e.c.Get(ctx, "Contact", sfdc.MustParseID("003000000000001"))
	require.ErrorIs(t, err, sfdc.ErrDailyLimit)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindRead))
	assert.NotErrorIs(t, err, sfdc.ErrConcurrencyLimit)
	assert.Empty(t, e.c.Stats().Retries)
}

// TestSessionExpiredMidRun: a token that expires is replaced once and the call replayed once.
func TestSessionExpiredMidRun(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	e.createContact(t, "Before")
	e.org.ExpireTokens()
	e.createContact(t, "After")
	e.createContact(t, "AfterAgain")
	st := e.c.Stats()
	assert.Equal(t, int64(2), st.Logins)
	assert.Equal(t, int64(1), st.Replays)
	assert.Equal(t, int64(2), e.org.Count(fakeorg.KindToken))
	assert.Equal(t, int64(4), e.org.Count(fakeorg.KindCreate), "3 creates + 1 replay")

	// A 401 that persists is replayed once only, then reported.
	e.fault(t, fakeorg.Fault{Path: "*/limits", Failure: fakeorg.FailSessionExpired})
	_, _, err := e.c.Limits(ctx)
	require.ErrorIs(t, err, sfdc.ErrSessionExpired)
	assert.Equal(t, int64(2), e.org.Count(fakeorg.KindLimits))
	assert.Equal(t, int64(3), e.org.Count(fakeorg.KindToken))
}

// TestConcurrentExpiryOneLogin: 500 goroutines calling while the token expires cause exactly one
// new login (compare-and-clear plus one login in flight), and every call succeeds.
func TestConcurrentExpiryOneLogin(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	id := e.createContact(t, "Shared")
	e.org.ExpireTokens()
	for _, err := range concurrently(500, func() error {
		_, _, err := e.c.Get(context.Background(), "Contact", id, "LastName")
		return err
	}) {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(2), e.org.Count(fakeorg.KindToken), "one login at start, exactly one after expiry")
	assert.Equal(t, int64(2), e.c.Stats().Logins)
}

// TestCancelStopsRetries: a cancelled context ends a call that is waiting to retry at once.
func TestCancelStopsRetries(t *testing.T) {
	e := newEnv(t, fakeorg.Options{}, func(c *sfdc.Config) {
		// The call's bound must outlast the wait, or the failure is reported without waiting.
		c.RetryWaitMin, c.RetryWaitMax, c.Timeout = time.Hour, time.Hour, 3*time.Hour
	})
	e.createContact(t, "x") // logged in
	e.fault(t, fakeorg.Fault{Path: "*/limits", Failure: fakeorg.FailServerUnavailable})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := e.c.Limits(ctx)
		done <- err
	}()
	for e.org.Count(fakeorg.KindLimits) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a measurement
		t.Fatal("the call did not stop when its context was cancelled")
	}
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindLimits), "no attempt after cancellation")
	assert.Empty(t, e.retryEvents())

	// A context that is already done makes no request at all.
	e.org.ResetCounts()
	_, _, err = e.c.Limits(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, e.org.Counts().Total)
}

// TestDeadline: a call that outlives its context's deadline ends with DeadlineExceeded and is not
// retried.
func TestDeadline(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	e.createContact(t, "x") // logged in
	e.fault(t, fakeorg.Fault{Path: "*/limits", Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := e.c.Limits(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindLimits))
	assert.Empty(t, e.c.Stats().Retries)
}

// TestConnectionRefused: a request that never left (the org is gone) is retried even for a
// create, and counted as such.
func TestConnectionRefused(t *testing.T) {
	// No idle connection: the create dials, and the dial is refused. (A pooled connection the
	// server closed answers EOF instead, which a create cannot retry: it may have been sent.)
	e := newEnv(t, fakeorg.Options{}, func(c *sfdc.Config) {
		c.MaxRetries = 2
		c.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	e.createContact(t, "x")
	e.srv.Close()
	_, _, err := e.c.Create(context.Background(), "Contact", map[string]any{"LastName": "y"})
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.NotContains(t, err.Error(), e.srv.URL, "transport errors do not quote URLs")
	assert.Equal(t, map[string]int64{"connection refused": 2}, e.c.Stats().Retries)
}

// ownServer is a server of the test's own for answers the fake org never gives: it issues a
// token at the OAuth endpoint and hands every other request to h.
func ownServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *sfdc.Client) {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "tok", "instance_url": srv.URL,
				"token_type": "Bearer", "issued_at": "1"})
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := sfdc.New(sfdc.Config{Auth: passwordAuth(srv), RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	require.NoError(t, err)
	return srv, c
}

// TestPermissionNotRetried: the fake org has no permissions, so a server of our own answers 403.
func TestPermissionNotRetried(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	_, c := ownServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]`))
	})
	_, _, err := c.Get(context.Background(), "Contact", sfdc.MustParseID("003000000000001"))
	require.ErrorIs(t, err, sfdc.ErrPermission)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, hits)
}

// TestConnectionReset uses a server of its own: the fake org never resets connections. A reset
// read is retried, a reset write is not (it may have been processed).
func TestConnectionReset(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	_, c := ownServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.Method]++
		mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	_, _, err := c.Get(context.Background(), "Contact", sfdc.MustParseID("003000000000001"))
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	_, _, err = c.Create(context.Background(), "Contact", map[string]any{"LastName": "x"})
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.Equal(t, map[string]int64{"transport error": sfdc.DefaultMaxRetries}, c.Stats().Retries)
	mu.Lock()
	defer mu.Unlock()
	// net/http itself may resend a GET once on a reused connection, so at least.
	assert.GreaterOrEqual(t, hits["GET"], 1+sfdc.DefaultMaxRetries)
	assert.Equal(t, 1, hits["POST"])
}

func TestDescribeCached(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	for range 3 {
		d, _, err := e.c.Describe(ctx, "Contact")
		require.NoError(t, err)
		assert.Equal(t, "003", d.KeyPrefix)
		f, ok := d.Field("lastname")
		require.True(t, ok)
		assert.Equal(t, "LastName", f.Name)
		assert.False(t, f.Nillable)
	}
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindDescribe))
	for range 2 {
		g, _, err := e.c.DescribeGlobal(ctx)
		require.NoError(t, err)
		o, ok := g.ObjectForPrefix("001")
		require.True(t, ok)
		assert.Equal(t, "Account", o.Name)
	}
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindDescribeGlobal))
	_, _, err := e.c.Describe(ctx, "NoSuchObject")
	require.Error(t, err)
}

func TestLimits(t *testing.T) {
	e := newEnv(t, fakeorg.Options{DailyAPILimit: 5000})
	l, resp, err := e.c.Limits(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(5000), l["DailyApiRequests"].Max)
	assert.Equal(t, int64(5000), resp.Usage.Max)
	assert.Positive(t, resp.Usage.Used)
}

func TestComposite(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()

	res, _, err := e.c.Composite(ctx, true,
		sfdc.CompositeCreate("acc", "Account", map[string]any{"Name": "Acme"}),
		sfdc.CompositeCreate("con", "Contact", map[string]any{"LastName": "Roe", "AccountId": sfdc.Ref("acc", "id")}),
		sfdc.CompositeGet("read", "Contact", sfdc.Ref("con", "id"), "AccountId"),
	)
	require.NoError(t, err)
	require.Len(t, res.Results, 3)
	var created struct{ ID string }
	acc, ok := res.Result("acc")
	require.True(t, ok)
	require.NoError(t, json.Unmarshal(acc.Body, &created))
	read, _ := res.Result("read")
	var got struct{ AccountId string }
	require.NoError(t, json.Unmarshal(read.Body, &got))
	assert.Equal(t, created.ID, got.AccountId, "the reference resolved")
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindComposite))

	// A failed subrequest makes the call fail, with the root cause, even though the envelope is 200.
	for _, allOrNone := range []bool{false, true} {
		res, resp, err := e.c.Composite(ctx, allOrNone,
			sfdc.CompositeCreate("ok", "Account", map[string]any{"Name": "Fine"}),
			sfdc.CompositeCreate("bad", "Contact", map[string]any{"FirstName": "NoLast"}),
		)
		require.ErrorIs(t, err, sfdc.ErrValidation, "allOrNone=%v", allOrNone)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		var se *sfdc.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "composite bad", se.Op)
		require.Len(t, res.Results, 2)
		assert.NotNil(t, res.Results[1].Err)
		if allOrNone {
			require.NotNil(t, res.Results[0].Err)
			assert.ErrorIs(t, res.Results[0].Err, sfdc.ErrRolledBack)
		} else {
			assert.Nil(t, res.Results[0].Err)
		}
	}

	// Bad subrequests are refused before anything is sent.
	e.org.ResetCounts()
	_, _, err = e.c.Composite(ctx, false, sfdc.CompositeUpdate("u", "Contact", "003' OR '", map[string]any{}))
	require.ErrorIs(t, err, sfdc.ErrBadID)
	_, _, err = e.c.Composite(ctx, false, sfdc.CompositeCreate("a b", "Contact", map[string]any{}))
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, _, err = e.c.Composite(ctx, false)
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, _, err = e.c.Composite(ctx, false, sfdc.CompositeQuery("q", nil))
	require.ErrorIs(t, err, sfdc.ErrBadQuery, "a nil statement is an error, not a panic")
	_, _, err = e.c.Composite(ctx, false, sfdc.CompositeQuery("q", sfdc.Select("Name; DELETE").From("Contact")))
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	_, _, err = e.c.Composite(ctx, false, sfdc.CompositeUpsert("up", "Contact", "Ext_Id__c", "..", map[string]any{}))
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	assert.Zero(t, e.org.Counts().Total)
}

// TestCompositeRetryOnlyWhenReadOnly: a composite that writes is not retried on a 502; one of
// GETs is.
func TestCompositeRetryOnlyWhenReadOnly(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	id := e.createContact(t, "x")
	e.fault(t, fakeorg.Fault{Path: "*/composite", Failure: fakeorg.FailHTMLBadGateway})
	_, _, err := e.c.Composite(context.Background(), false, sfdc.CompositeCreate("a", "Account", map[string]any{"Name": "x"}))
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindComposite))
	_, _, err = e.c.Composite(context.Background(), false, sfdc.CompositeGet("g", "Contact", id.String()))
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.Equal(t, int64(2+sfdc.DefaultMaxRetries), e.org.Count(fakeorg.KindComposite))
}

func TestCollections(t *testing.T) {
	e := newEnv(t, fakeorg.Options{CustomFields: []orgdb.CustomField{
		{Object: "Contact", Name: "Ext_Id__c", Type: "string", Length: 64, ExternalID: true, Unique: true},
	}})
	ctx := context.Background()
	const n = 450
	recs := make([]any, n)
	for i := range recs {
		recs[i] = map[string]any{"LastName": fmt.Sprintf("L%03d", i), "Ext_Id__c": fmt.Sprintf("e%03d", i)}
	}
	res, err := e.c.CreateRecords(ctx, "Contact", false, recs)
	require.NoError(t, err)
	require.Len(t, res, n)
	assert.Equal(t, int64(3), e.org.Count(fakeorg.KindCollections), "chunked at 200")
	for _, i := range []int{0, 199, 200, 449} {
		rec, _, err := e.c.Get(ctx, "Contact", res[i].ID, "LastName")
		require.NoError(t, err)
		last, _ := rec.String("LastName")
		assert.Equal(t, fmt.Sprintf("L%03d", i), last, "results are in input order")
	}

	// Per-record errors (statusCode, not errorCode) map to *Error, in place.
	mixed := []any{map[string]any{"LastName": "ok1"}, map[string]any{"FirstName": "bad"}, map[string]any{"LastName": "ok2"}}
	res, err = e.c.CreateRecords(ctx, "Contact", false, mixed)
	require.ErrorIs(t, err, sfdc.ErrValidation)
	assert.Nil(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, sfdc.ErrValidation)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", res[1].Err.Code)
	assert.Nil(t, res[2].Err)
	res, err = e.c.CreateRecords(ctx, "Contact", true, mixed)
	require.ErrorIs(t, err, sfdc.ErrValidation, "the cause, not the rollback, is the error")
	assert.ErrorIs(t, res[0].Err, sfdc.ErrRolledBack)

	first, _ := e.c.CreateRecords(ctx, "Contact", false, []any{map[string]any{"LastName": "before"}})
	res, err = e.c.UpdateRecords(ctx, "Contact", false, []any{map[string]any{"Id": first[0].ID, "LastName": "after"}})
	require.NoError(t, err)
	rec, _, err := e.c.Get(ctx, "Contact", first[0].ID, "LastName")
	require.NoError(t, err)
	last, _ := rec.String("LastName")
	assert.Equal(t, "after", last)

	res, err = e.c.UpsertRecords(ctx, "Contact", "Ext_Id__c", false, []any{
		map[string]any{"Ext_Id__c": "e001", "LastName": "updated"},
		map[string]any{"Ext_Id__c": "new1", "LastName": "created"},
	})
	require.NoError(t, err)
	assert.False(t, res[0].Created)
	assert.True(t, res[1].Created)

	res, err = e.c.DeleteRecords(ctx, false, []sfdc.ID{first[0].ID, res[1].ID})
	require.NoError(t, err)
	require.Len(t, res, 2)
	_, _, err = e.c.Get(ctx, "Contact", first[0].ID)
	require.ErrorIs(t, err, sfdc.ErrNotFound)

	_, err = e.c.DeleteRecords(ctx, false, []sfdc.ID{"bad"})
	require.ErrorIs(t, err, sfdc.ErrBadID)
}

func TestLoginFlows(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idverify test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyFile := t.TempDir() + "/key.pem"
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))

	org, err := fakeorg.New(fakeorg.Options{JWTCertificates: [][]byte{certPEM}})
	require.NoError(t, err)
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()
	_, refresh := passwordLogin(t, http.DefaultClient, srv.URL)
	require.NotEmpty(t, refresh)

	base := sfdc.Auth{LoginURL: srv.URL, ClientID: fakeorg.DemoClientID}
	tests := []struct {
		name string
		auth func(a sfdc.Auth) sfdc.Auth
	}{
		{"jwt pem", func(a sfdc.Auth) sfdc.Auth {
			a.Method, a.Username, a.PrivateKeyPEM = sfdc.AuthJWT, fakeorg.DemoUsername, keyPEM
			return a
		}},
		{"jwt file", func(a sfdc.Auth) sfdc.Auth {
			a.Method, a.Username, a.PrivateKeyFile = sfdc.AuthJWT, fakeorg.DemoUsername, keyFile
			return a
		}},
		{"client credentials", func(a sfdc.Auth) sfdc.Auth {
			a.Method, a.ClientSecret = sfdc.AuthClientCredentials, fakeorg.DemoClientSecret
			return a
		}},
		{"refresh token", func(a sfdc.Auth) sfdc.Auth {
			a.Method, a.RefreshToken = sfdc.AuthRefreshToken, refresh
			return a
		}},
		{"password", func(a sfdc.Auth) sfdc.Auth {
			return passwordAuth(srv)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sfdc.New(sfdc.Config{Auth: tt.auth(base)})
			require.NoError(t, err)
			_, resp, err := c.Limits(context.Background())
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, int64(1), c.Stats().Logins)
		})
	}
}

// passwordLogin logs in with the fake org's password flow and returns the tokens.
func passwordLogin(t testing.TB, hc *http.Client, base string) (access, refresh string) {
	t.Helper()
	resp, err := hc.PostForm(base+"/services/oauth2/token", url.Values{"grant_type": {"password"},
		"client_id": {fakeorg.DemoClientID}, "client_secret": {fakeorg.DemoClientSecret},
		"username": {fakeorg.DemoUsername}, "password": {fakeorg.DemoPassword}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotEmpty(t, body.AccessToken)
	return body.AccessToken, body.RefreshToken
}

// concurrently runs f in n goroutines at once and returns their errors.
func concurrently(n int, f func() error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	return errs
}

// TestLoginFailures: Salesforce's error and description come through; no secret does.
func TestLoginFailures(t *testing.T) {
	org, err := fakeorg.New(fakeorg.Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()
	const badSecret = "wrong-Secret-123"
	tests := []struct {
		name string
		auth sfdc.Auth
		code string
	}{
		{"bad password", func() sfdc.Auth { a := passwordAuth(srv); a.Password = badSecret; return a }(), "invalid_grant"},
		{"bad client", func() sfdc.Auth { a := passwordAuth(srv); a.ClientID = "nope"; return a }(), "invalid_client_id"},
		{"bad refresh", sfdc.Auth{Method: sfdc.AuthRefreshToken, LoginURL: srv.URL, ClientID: fakeorg.DemoClientID, RefreshToken: badSecret}, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sfdc.New(sfdc.Config{Auth: tt.auth})
			require.NoError(t, err)
			_, _, err = c.Limits(context.Background())
			require.ErrorIs(t, err, sfdc.ErrAuth)
			var se *sfdc.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.code, se.Code)
			assert.NotEmpty(t, se.Message, "error_description")
			assert.Contains(t, err.Error(), se.Message)
			assert.NotContains(t, err.Error(), badSecret)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), badSecret)
		})
	}
	// The JWT flow with no registered certificate is refused.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthJWT, LoginURL: srv.URL, ClientID: fakeorg.DemoClientID,
		Username: fakeorg.DemoUsername, PrivateKeyPEM: keyPEM}})
	require.NoError(t, err)
	_, _, err = c.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrAuth)
	assert.NotContains(t, err.Error(), "PRIVATE KEY")
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		auth sfdc.Auth
		want string
	}{
		{"no method", sfdc.Auth{ClientID: "x"}, "auth.method is required"},
		{"unknown method", sfdc.Auth{Method: "saml", ClientID: "x"}, "auth.method must be"},
		{"jwt without key", sfdc.Auth{Method: sfdc.AuthJWT, ClientID: "x", Username: "u"}, "auth.private_key"},
		{"password without secret", sfdc.Auth{Method: sfdc.AuthPassword, ClientID: "x", Username: "u", Password: "p"}, "auth.client_secret"},
		{"no client id", sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientSecret: "s"}, "auth.client_id"},
		{"bad login url", sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientID: "x", ClientSecret: "s", LoginURL: "login.salesforce.com"}, "auth.login_url"},
		{"login url with password", sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientID: "x", ClientSecret: "s", LoginURL: "https://u:hunter2@login.salesforce.com"}, "auth.login_url must hold no user"},
		{"login url with query", sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientID: "x", ClientSecret: "s", LoginURL: "https://login.salesforce.com?sid=hunter2"}, "auth.login_url must hold no user"},
		{"bad key", sfdc.Auth{Method: sfdc.AuthJWT, ClientID: "x", Username: "u", PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, "not an RSA private key"},
		{"missing key file", sfdc.Auth{Method: sfdc.AuthJWT, ClientID: "x", Username: "u", PrivateKeyFile: "/nonexistent/key.pem"}, "private_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sfdc.New(sfdc.Config{Auth: tt.auth})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
	_, err := sfdc.New(sfdc.Config{APIVersion: "sixty", Auth: sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientID: "x", ClientSecret: "s"}})
	require.ErrorContains(t, err, "api_version")
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthClientCredentials, ClientID: "x", ClientSecret: "s"}})
	require.NoError(t, err)
	assert.Equal(t, sfdc.DefaultAPIVersion, c.APIVersion())
}

func TestAuthRedacted(t *testing.T) {
	a := sfdc.Auth{Method: sfdc.AuthPassword, ClientID: "cid", ClientSecret: "s3cr3t", Username: "u@x", Password: "pw-123",
		SecurityToken: "tok-456", RefreshToken: "rt-789", PrivateKeyPEM: []byte("-----BEGIN RSA PRIVATE KEY-----")}
	cfg := sfdc.Config{Auth: a}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		for _, secret := range []string{"s3cr3t", "pw-123", "tok-456", "rt-789", "PRIVATE KEY"} {
			assert.NotContains(t, s, secret)
		}
	}
	assert.Contains(t, a.String(), "password=[redacted]")
}
