// Package sfdctest starts a fake Salesforce org (mocks/fakeorg) on a local httptest server, with
// an sfdc.Client logged in to it, for the tests of packages that use sfdc. The org is the real
// fake: its fault injection, counters and token expiry work as documented in mocks/fakeorg.
//
//	org := sfdctest.NewOrg(t, sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo}))
//	org.AddFault(fakeorg.Fault{Path: "*/composite", Failure: fakeorg.FailServerUnavailable, Times: 1})
//	id, _, err := org.Client.Create(ctx, "Contact", map[string]any{"LastName": "Lee"})
//	calls := org.Count(fakeorg.KindCreate)
package sfdctest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// Org is a running fake org and a client logged in to it (with the password flow, on its first
// call). The server stops when the test ends.
type Org struct {
	*fakeorg.Org                  // faults, counters, ExpireTokens, limits…
	Server       *httptest.Server // login and instance URL: Server.URL
	Client       *sfdc.Client
}

// Option configures NewOrg.
type Option func(*settings)

type settings struct {
	org    fakeorg.Options
	client []func(*sfdc.Config)
	wrap   []func(http.Handler) http.Handler
}

// WithOrg sets the fake org's options (seed data, custom fields, limits, clock…). FaultSeed 0
// becomes 1, so that rate-based faults fire the same way in every run.
func WithOrg(o fakeorg.Options) Option { return func(s *settings) { s.org = o } }

// WithClient changes the client's configuration before it is built (retries, OnRetry, timeouts…).
// By default the client retries after 1 to 4 ms, so that tests with faults stay fast.
func WithClient(f func(*sfdc.Config)) Option {
	return func(s *settings) { s.client = append(s.client, f) }
}

// WithMiddleware wraps the org's HTTP handler, e.g. to answer what the fake org never does (a
// Retry-After header, a proxy's page) or to watch the requests. The first wraps outermost.
func WithMiddleware(m func(next http.Handler) http.Handler) Option {
	return func(s *settings) { s.wrap = append(s.wrap, m) }
}

// NewOrg starts a fake org on a local server and returns it with a configured client. It fails
// the test if the org cannot start.
func NewOrg(t testing.TB, opts ...Option) *Org {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if s.org.FaultSeed == 0 {
		s.org.FaultSeed = 1
	}
	fake, err := fakeorg.New(s.org)
	if err != nil {
		t.Fatalf("sfdctest: starting the fake org: %v", err)
	}
	h := fake.Handler()
	for i := len(s.wrap) - 1; i >= 0; i-- {
		h = s.wrap[i](h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o := &Org{Org: fake, Server: srv}
	o.Client = o.NewClient(t, s.client...)
	return o
}

// URL is the org's login and instance URL.
func (o *Org) URL() string { return o.Server.URL }

// Auth is the password-flow auth of the org's demo integration user.
func (o *Org) Auth() sfdc.Auth {
	return sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: o.Server.URL, ClientID: fakeorg.DemoClientID,
		ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername, Password: fakeorg.DemoPassword}
}

// NewClient returns another client of the org (its own token, its own counters), configured as
// NewOrg's is, then changed by tweak.
func (o *Org) NewClient(t testing.TB, tweak ...func(*sfdc.Config)) *sfdc.Client {
	t.Helper()
	cfg := sfdc.Config{Auth: o.Auth(), RetryWaitMin: time.Millisecond, RetryWaitMax: 4 * time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := sfdc.New(cfg)
	if err != nil {
		t.Fatalf("sfdctest: client: %v", err)
	}
	return c
}

// Session logs in with the password flow and returns the new session, e.g. for an
// sfdc.AuthSession client or a peer client (simpleforce's SetSidLoc) in a test.
func (o *Org) Session(t testing.TB) sfdc.Session {
	t.Helper()
	resp, err := o.Server.Client().PostForm(o.Server.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {fakeorg.DemoClientID}, "client_secret": {fakeorg.DemoClientSecret},
		"username": {fakeorg.DemoUsername}, "password": {fakeorg.DemoPassword}})
	if err != nil {
		t.Fatalf("sfdctest: login: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil || body.AccessToken == "" {
		t.Fatalf("sfdctest: login answered %s", resp.Status)
	}
	return sfdc.Session{AccessToken: body.AccessToken, InstanceURL: body.InstanceURL}
}

// APICalls is how many API calls the org answered since the last ResetAPICalls, logins
// excluded: what a scenario costs out of an org's daily limit.
func (o *Org) APICalls() int64 {
	c := o.Counts()
	return c.Total - c.Kind(fakeorg.KindToken)
}

// ResetAPICalls logs Client in (so that its login is not what a test counts) and forgets the
// calls made so far.
func (o *Org) ResetAPICalls(t testing.TB) {
	t.Helper()
	if _, _, err := o.Client.Limits(t.Context()); err != nil {
		t.Fatalf("sfdctest: logging in: %v", err)
	}
	o.ResetCounts()
}
