package fakeorg

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// testOrg is an org served by httptest with a logged-in access token.
type testOrg struct {
	*Org
	t     testing.TB
	srv   *httptest.Server
	token string
}

// testCustomFields are declared on every test org: a unique external id and a non-unique one.
var testCustomFields = []orgdb.CustomField{
	{Object: "Contact", Name: "Ext_Id__c", Type: "string", Label: "Ext Id", Length: 40, ExternalID: true, Unique: true},
	{Object: "Contact", Name: "Legacy_Id__c", Type: "string", Label: "Legacy Id", Length: 40, ExternalID: true},
}

// newTestOrg starts an org (Options as given, plus testCustomFields), serves it and logs in with
// the password flow.
func newTestOrg(t testing.TB, opts Options) *testOrg {
	t.Helper()
	opts.CustomFields = append(opts.CustomFields, testCustomFields...)
	o, err := New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(o.Handler())
	t.Cleanup(srv.Close)
	to := &testOrg{Org: o, t: t, srv: srv}
	to.token = to.login()
	return to
}

// login runs the password flow and returns the access token.
func (to *testOrg) login() string {
	to.t.Helper()
	resp, body := to.form("/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {to.ClientID()}, "client_secret": {to.ClientSecret()},
		"username": {to.Username()}, "password": {to.Password()},
	})
	require.Equal(to.t, http.StatusOK, resp.StatusCode, string(body))
	var tr map[string]any
	require.NoError(to.t, json.Unmarshal(body, &tr))
	return tr["access_token"].(string)
}

// form posts a form to path, without authentication.
func (to *testOrg) form(path string, v url.Values) (*http.Response, []byte) {
	to.t.Helper()
	req, err := http.NewRequest(http.MethodPost, to.srv.URL+path, strings.NewReader(v.Encode()))
	require.NoError(to.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return to.send(req)
}

func (to *testOrg) send(req *http.Request) (*http.Response, []byte) {
	to.t.Helper()
	resp, err := to.srv.Client().Do(req)
	require.NoError(to.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(to.t, err)
	return resp, body
}

// do sends an authenticated request; body is JSON-encoded unless it is a string or nil.
// headers come in name, value pairs.
func (to *testOrg) do(method, path string, body any, headers ...string) (*http.Response, []byte) {
	to.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(to.t, err)
		r = bytes.NewReader(j)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/services/data/v62.0/" + path
	}
	req, err := http.NewRequest(method, to.srv.URL+path, r)
	require.NoError(to.t, err)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if to.token != "" {
		req.Header.Set("Authorization", "Bearer "+to.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return to.send(req)
}

// doJSON is do, requiring the status and decoding the body (numbers as json.Number).
func (to *testOrg) doJSON(method, path string, body any, status int, headers ...string) any {
	to.t.Helper()
	resp, b := to.do(method, path, body, headers...)
	require.Equal(to.t, status, resp.StatusCode, "%s %s: %s", method, path, b)
	if len(b) == 0 {
		return nil
	}
	return decode(to.t, b)
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), string(b))
	return v
}

// requireAPIError checks a data API error body: a one-element array with errorCode code.
func requireAPIError(t testing.TB, resp *http.Response, body []byte, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, string(body))
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), resp.Header.Get("Content-Type"))
	arr, ok := decode(t, body).([]any)
	require.True(t, ok, "error body must be a JSON array: %s", body)
	require.Len(t, arr, 1)
	e := arr[0].(map[string]any)
	require.Equal(t, code, e["errorCode"], string(body))
	require.NotEmpty(t, e["message"])
	return e
}

// createContact creates a contact through the API and returns its id.
func (to *testOrg) createContact(fields map[string]any) string {
	to.t.Helper()
	v := to.doJSON(http.MethodPost, "sobjects/Contact", fields, http.StatusCreated).(map[string]any)
	return v["id"].(string)
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
