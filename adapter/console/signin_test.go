package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

var orgHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signIn signs in on the fake org's login page as username, from the console's first page.
func (b *browser) signIn(username, password string) *browser {
	b.e.t.Helper()
	b.get("/console/")
	return b.login(username, password)
}

// login signs in as username on the fake org's login page, which is the browser's page.
func (b *browser) login(username, password string) *browser {
	b.e.t.Helper()
	require.Contains(b.e.t, b.url, "/services/oauth2/authorize", "sent to Salesforce's login page")
	form := url.Values{}
	for _, m := range orgHiddenRE.FindAllStringSubmatch(b.page, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	form.Set("username", username)
	form.Set("password", password)
	resp, err := b.c.PostForm(b.e.org.URL()+"/services/oauth2/authorize", form)
	require.NoError(b.e.t, err)
	b.read(resp)
	return b
}

func unescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return r.Replace(s)
}

// An agent signs in with Salesforce (the fake org's login page, PKCE), and their User is the
// actor of the steps and the internal attendee of the engagement.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser(nil).signIn("agent2@demo.idverify.dev", fakeorg.DemoAgentPassword)
	require.Equal(t, http.StatusOK, b.status, b.page)
	assert.Equal(t, "/console/", b.url)
	b.has("Signed in as", "Ben Carter", "America/New_York")

	users := e.query(sfdc.Select("Id").From("User").Where(sfdc.Eq("Username", "agent2@demo.idverify.dev")))
	require.Len(t, users, 1)
	ben := string(users[0].ID())
	b.post("/console/start", url.Values{"phone": {alicePhone}, "call_id": {"call-signed-in"}})
	b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
	b.post("/answers", url.Values{"v_PersonBirthdate": {aliceBirth}, "v_PersonMobilePhone": {aliceMob}}).has("Verified")
	e.deliver()
	engs := e.query(sfdc.Select("Id").From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", "call-signed-in")))
	require.Len(t, engs, 1)
	rows := e.query(sfdc.Select("Id").From("EngagementAttendee").Where(sfdc.Eq("EngagementId", engs[0].ID()),
		sfdc.Eq("InternalAttendeeId", ben)))
	assert.Len(t, rows, 1, "Ben is the engagement's internal attendee")
	events, err := e.store.AuditByEngagement(t.Context(), "call-signed-in")
	require.NoError(t, err)
	for _, ev := range events {
		assert.Equal(t, ben, ev.Actor)
	}
	// The token was revoked once userinfo was read: the console keeps none.
	assert.EqualValues(t, 1, e.org.Count(fakeorg.KindRevoke), "one revoke request")
	assert.EqualValues(t, 1, e.org.Count(fakeorg.KindUserinfo))

	// Signing out ends the console session.
	b.post("/console/signout", nil)
	b.has("Signed out")
	noFollow := *b.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(e.srv.URL + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestSignInRequest(t *testing.T) {
	e := newEnv(t, func(c *console.Config) { c.FrameAncestors = nil }) // frame_test.go has the framed cookies
	b := e.browser(nil)
	noFollow := *b.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(e.srv.URL + "/console/signin?next=" + url.QueryEscape("https://evil.example/"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	q := to.Query()
	assert.Equal(t, e.org.URL()+"/services/oauth2/authorize", to.Scheme+"://"+to.Host+to.Path)
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43, "base64url of a SHA-256")
	assert.NotEmpty(t, q.Get("state"))
	var flow *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "idv_signin" {
			flow = ck
		}
	}
	require.NotNil(t, flow)
	assert.True(t, flow.HttpOnly)
	assert.False(t, flow.Secure, "plain HTTP on loopback")
	assert.Equal(t, http.SameSiteLaxMode, flow.SameSite)
	assert.NotContains(t, flow.Value, q.Get("state"), "sealed")

	// The callback with another state, or without the cookie, signs nobody in.
	for name, cookie := range map[string]*http.Cookie{"wrong state": flow, "no cookie": nil} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/console/oauth/callback?code=x&state=other", nil)
		if cookie != nil {
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		for _, ck := range resp.Cookies() {
			assert.NotEqual(t, "idv_agent", ck.Name, name)
		}
	}
	// Salesforce's answer to a refused login signs nobody in either.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/console/oauth/callback?error=access_denied&state="+q.Get("state"), nil)
	req.AddCookie(&http.Cookie{Name: flow.Name, Value: flow.Value})
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// A wrong password stays on Salesforce's page.
	b.signIn("agent2@demo.idverify.dev", "wrong")
	assert.Contains(t, b.url, "/services/oauth2/authorize")
	b.get("/console/")
	assert.Contains(t, b.url, "/services/oauth2/authorize", "not signed in")
}

// A user of another org than the console's (a connected app is not confined to its own org:
// another org's administrator can authorize it) is refused, and no agent cookie is set.
func TestSignInOtherOrgRefused(t *testing.T) {
	e := newEnv(t, func(c *console.Config) { c.SignIn.OrgID = "00D000000000001AAA" })
	b := e.browser(nil).signIn("agent2@demo.idverify.dev", fakeorg.DemoAgentPassword)
	assert.Equal(t, http.StatusForbidden, b.status)
	b.has("another Salesforce org")
	b.get("/console/")
	assert.Contains(t, b.url, "/services/oauth2/authorize", "not signed in")
}

// Behind a reverse proxy the console is reached at a loopback address; its cookies are Secure
// all the same, because its callback URL is https. An http callback is accepted on a loopback
// host only.
func TestCookiesSecureBehindProxy(t *testing.T) {
	e := newEnv(t, func(c *console.Config) { c.SignIn.RedirectURL = "https://console.example.com/console/oauth/callback" })
	resp, err := noRedirects().Get(e.srv.URL + "/console/signin")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.NotEmpty(t, resp.Cookies())
	for _, ck := range resp.Cookies() {
		assert.True(t, ck.Secure, ck.Name)
	}

	cfg := console.Config{Engine: e.engine, Key: testKey, SignIn: console.SignIn{LoginURL: e.org.URL(),
		ClientID: fakeorg.DemoClientID, RedirectURL: "http://console.example.com/console/oauth/callback", OrgID: e.org.OrgID()}}
	_, err = console.New(cfg)
	assert.ErrorContains(t, err, "https")
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// A screen pop before signing in: the caller's phone number is in the pop's query, and it must
// not reach any URL of the sign-in (browser history, proxies' logs, the Referer sent to
// Salesforce) in clear; after signing in, the agent lands on the pop with the number filled in.
func TestScreenPopSignInKeepsPhoneOutOfURLs(t *testing.T) {
	e := newEnv(t)
	b := e.browser(nil)
	var visited []string
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		visited = append(visited, req.URL.String())
		return nil
	}
	digitsOf := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	b.get("/console/start?phone=" + url.QueryEscape(alicePhone) + "&call_id=call-pop-signin")
	b.login("agent1@demo.idverify.dev", fakeorg.DemoAgentPassword)
	require.Equal(t, http.StatusOK, b.status, b.page)
	require.NotEmpty(t, visited)
	for _, u := range visited[:len(visited)-1] { // the last is the pop itself, after signing in
		plain, err := url.QueryUnescape(u)
		require.NoError(t, err)
		plain, err = url.QueryUnescape(plain) // next= holds an escaped URL
		require.NoError(t, err)
		assert.NotContains(t, digitsOf(plain), digitsOf(alicePhone), "a sign-in URL carries the phone number")
		assert.NotContains(t, u, "call-pop-signin")
	}
	assert.Contains(t, b.url, "/console/start?", "back on the screen pop")
	b.has(`value="` + alicePhone + `"`)
}
