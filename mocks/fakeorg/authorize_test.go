package fakeorg

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

const testCallback = "http://127.0.0.1:8123/console/oauth/callback"

// webFlow drives the web server flow as a browser (a cookie jar, redirects not followed) and a
// console (golang.org/x/oauth2) would.
type webFlow struct {
	t       *testing.T
	org     *Org
	srv     *httptest.Server
	browser *http.Client
	cfg     oauth2.Config
	mu      sync.Mutex
	now     time.Time
}

func newWebFlow(t *testing.T, opts Options) *webFlow {
	t.Helper()
	f := &webFlow{t: t, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	o, err := New(opts)
	require.NoError(t, err)
	f.org = o
	f.srv = httptest.NewServer(o.Handler())
	t.Cleanup(f.srv.Close)
	f.browser = f.newBrowser()
	f.cfg = oauth2.Config{
		ClientID: DemoClientID,
		Endpoint: oauth2.Endpoint{AuthURL: f.srv.URL + "/services/oauth2/authorize",
			TokenURL: f.srv.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: testCallback,
		Scopes:      []string{"api", "id", "refresh_token"},
	}
	return f
}

func (f *webFlow) newBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(f.t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *webFlow) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *webFlow) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, f.srv.Client())
}

func (f *webFlow) do(c *http.Client, req *http.Request) (*http.Response, string) {
	f.t.Helper()
	resp, err := c.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp, string(b)
}

func (f *webFlow) get(c *http.Client, u string) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(f.t, err)
	return f.do(c, req)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// loginForm opens the authorization URL in browser c and returns the login form's hidden fields.
func (f *webFlow) loginForm(c *http.Client, authURL string) url.Values {
	f.t.Helper()
	resp, page := f.get(c, authURL)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, page)
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	require.NotEmpty(f.t, form.Get("csrf_token"), page)
	return form
}

// submit posts the login form from browser c.
func (f *webFlow) submit(c *http.Client, form url.Values, username, password string) (*http.Response, string) {
	f.t.Helper()
	form = cloneValues(form)
	form.Set("username", username)
	form.Set("password", password)
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/services/oauth2/authorize", strings.NewReader(form.Encode()))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(c, req)
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// signIn runs the browser's part: the login page and a right password; it returns the callback
// URL the org redirected to.
func (f *webFlow) signIn(state, verifier, username, password string) *url.URL {
	f.t.Helper()
	form := f.loginForm(f.browser, f.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	resp, page := f.submit(f.browser, form, username, password)
	require.Equal(f.t, http.StatusFound, resp.StatusCode, page)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(f.t, err)
	return loc
}

// requireRetrieveError checks that a token request failed with Salesforce's error.
func requireRetrieveError(t *testing.T, err error, code, desc string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, http.StatusBadRequest, re.Response.StatusCode)
	assert.Equal(t, code, re.ErrorCode)
	assert.Equal(t, desc, re.ErrorDescription)
}

func agentID(t *testing.T, o *Org, username string) string {
	t.Helper()
	tx := o.DB().Begin(false)
	defer tx.Rollback()
	ids, e := tx.LookupIDs("User", "Username", username)
	require.Nil(t, e)
	require.Len(t, ids, 1)
	return ids[0]
}

func TestWebServerFlowSignsInADemoAgent(t *testing.T) {
	f := newWebFlow(t, Options{})
	verifier := oauth2.GenerateVerifier()
	state := "st/ä é&x=1 +"
	loc := f.signIn(state, verifier, "Agent1@demo.idverify.dev", DemoAgentPassword)

	// The callback gets the code and the state, unchanged.
	assert.Equal(t, "http", loc.Scheme)
	assert.Equal(t, "127.0.0.1:8123", loc.Host)
	assert.Equal(t, ConsoleCallbackPath, loc.Path)
	assert.Equal(t, state, loc.Query().Get("state"))
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)

	tok, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	agent := agentID(t, f.org, "agent1@demo.idverify.dev")
	idURL := f.srv.URL + "/id/" + f.org.OrgID() + "/" + agent
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.NotEmpty(t, tok.RefreshToken)
	assert.Equal(t, f.srv.URL, tok.Extra("instance_url"))
	assert.Equal(t, idURL, tok.Extra("id"))
	assert.Equal(t, "api id refresh_token", tok.Extra("scope"))
	issuedAt, _ := tok.Extra("issued_at").(string)
	mac := hmac.New(sha256.New, []byte(DemoClientSecret))
	mac.Write([]byte(idURL + issuedAt))
	assert.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), tok.Extra("signature"))

	// The identity URL and userinfo answer for the agent.
	client := f.cfg.Client(f.ctx(), tok)
	var id map[string]any
	getJSON(t, client, idURL, &id)
	assert.Equal(t, agent, id["user_id"])
	assert.Equal(t, f.org.OrgID(), id["organization_id"])
	assert.Equal(t, "agent1@demo.idverify.dev", id["username"])
	assert.Equal(t, "Amara Okafor", id["display_name"])
	assert.Equal(t, "Europe/London", id["timezone"])
	assert.EqualValues(t, 0, id["utcOffset"]) // London in December
	var ui map[string]any
	getJSON(t, client, f.srv.URL+"/services/oauth2/userinfo", &ui)
	assert.Equal(t, agent, ui["user_id"])
	assert.Equal(t, "agent1@demo.idverify.dev", ui["preferred_username"])
	assert.Equal(t, "Amara Okafor", ui["name"])
	assert.Equal(t, "Europe/London", ui["zoneinfo"])
	assert.Equal(t, idURL, ui["sub"])

	// The agent's token is no key to another user's identity.
	resp, err := client.Get(f.srv.URL + "/id/" + f.org.OrgID() + "/" + f.org.UserID())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// The refresh token stays the agent's.
	refreshed, err := f.cfg.TokenSource(f.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.NoError(t, err)
	assert.Equal(t, idURL, refreshed.Extra("id"))
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func TestWebServerFlowTokenRequestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		exchange   func(f *webFlow, code, verifier string) error
		code, desc string
	}{
		{"wrong verifier", func(f *webFlow, code, _ string) error {
			_, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			return err
		}, "invalid_grant", "invalid code verifier"},
		{"no verifier", func(f *webFlow, code, _ string) error {
			_, err := f.cfg.Exchange(f.ctx(), code)
			return err
		}, "invalid_grant", "invalid code verifier"},
		{"code used twice", func(f *webFlow, code, verifier string) error {
			_, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			require.NoError(f.t, err)
			_, err = f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			return err
		}, "invalid_grant", "invalid authorization code"},
		{"code spent by a failed request", func(f *webFlow, code, verifier string) error {
			_, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption("wrong"))
			require.Error(f.t, err)
			_, err = f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			return err
		}, "invalid_grant", "invalid authorization code"},
		{"expired code", func(f *webFlow, code, verifier string) error {
			f.advance(CodeLifetime)
			_, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			return err
		}, "invalid_grant", "expired authorization code"},
		{"another redirect_uri", func(f *webFlow, code, verifier string) error {
			cfg := f.cfg
			cfg.RedirectURL = "http://127.0.0.1:8124/console/oauth/callback" // registered too, but not the one authorized
			_, err := cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			return err
		}, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"unknown code", func(f *webFlow, _, verifier string) error {
			_, err := f.cfg.Exchange(f.ctx(), "aPrxnot-a-code", oauth2.VerifierOption(verifier))
			return err
		}, "invalid_grant", "invalid authorization code"},
		{"wrong client secret", func(f *webFlow, code, verifier string) error {
			cfg := f.cfg
			cfg.ClientSecret = "wrong"
			_, err := cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			return err
		}, "invalid_client", "invalid client credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newWebFlow(t, Options{})
			verifier := oauth2.GenerateVerifier()
			loc := f.signIn("s", verifier, "agent2@demo.idverify.dev", DemoAgentPassword)
			requireRetrieveError(t, tc.exchange(f, loc.Query().Get("code"), verifier), tc.code, tc.desc)
		})
	}
}

func TestWebServerFlowSecretIsOptionalButChecked(t *testing.T) {
	f := newWebFlow(t, Options{})
	f.cfg.ClientSecret = DemoClientSecret
	verifier := oauth2.GenerateVerifier()
	loc := f.signIn("s", verifier, "supervisor@demo.idverify.dev", DemoAgentPassword)
	tok, err := f.cfg.Exchange(f.ctx(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	assert.Equal(t, f.srv.URL+"/id/"+f.org.OrgID()+"/"+agentID(t, f.org, "supervisor@demo.idverify.dev"), tok.Extra("id"))
}

func TestWebServerFlowIntegrationUserSignsInToo(t *testing.T) {
	f := newWebFlow(t, Options{})
	verifier := oauth2.GenerateVerifier()
	loc := f.signIn("s", verifier, DemoUsername, DemoPassword)
	tok, err := f.cfg.Exchange(f.ctx(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	assert.Equal(t, f.srv.URL+"/id/"+f.org.OrgID()+"/"+f.org.UserID(), tok.Extra("id"))
}

func TestWebServerFlowAuthorizeRefusals(t *testing.T) {
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	good := url.Values{"response_type": {"code"}, "client_id": {DemoClientID}, "redirect_uri": {testCallback},
		"state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	with := func(k, v string) url.Values {
		q := cloneValues(good)
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for _, tc := range []struct {
		name       string
		query      url.Values
		page       bool // refused on a page (no redirect); else redirected to the callback
		code, desc string
	}{
		{"unknown client", with("client_id", "someone-else"), true, "invalid_client_id", "client identifier invalid"},
		{"no redirect_uri", with("redirect_uri", ""), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"unregistered host", with("redirect_uri", "http://evil.example:8123/console/oauth/callback"), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"loopback, other path", with("redirect_uri", "http://127.0.0.1:8123/console/oauth/callback/x"), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"loopback, https", with("redirect_uri", "https://127.0.0.1:8123/console/oauth/callback"), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"loopback, query", with("redirect_uri", testCallback+"?next=/"), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"loopback, userinfo", with("redirect_uri", "http://127.0.0.1:8123@evil.example/console/oauth/callback"), true, "redirect_uri_mismatch", "redirect_uri must match configuration"},
		{"response type token", with("response_type", "token"), false, "unsupported_response_type", "response type not supported"},
		{"no code challenge", with("code_challenge", ""), false, "invalid_request", "missing required code challenge"},
		{"bad code challenge", with("code_challenge", "short"), false, "invalid_request", "invalid code challenge"},
		{"plain method", with("code_challenge_method", "plain"), false, "invalid_request", "unsupported code challenge method"},
		{"unknown scope", with("scope", "api everything"), false, "invalid_scope", "the requested scope is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newWebFlow(t, Options{})
			resp, page := f.get(f.browser, f.srv.URL+"/services/oauth2/authorize?"+tc.query.Encode())
			if tc.page {
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
				assert.Empty(t, resp.Header.Get("Location"))
				assert.Contains(t, page, "error="+tc.code)
				assert.Contains(t, page, html.EscapeString(tc.desc))
				return
			}
			require.Equal(t, http.StatusFound, resp.StatusCode, page)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.Equal(t, testCallback, loc.Scheme+"://"+loc.Host+loc.Path)
			assert.Equal(t, url.Values{"error": {tc.code}, "error_description": {tc.desc}, "state": {"xyz"}}, loc.Query())
		})
	}
}

func TestWebServerFlowLoginFormRefusals(t *testing.T) {
	f := newWebFlow(t, Options{})
	authURL := f.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	t.Run("bad password shows the page again", func(t *testing.T) {
		form := f.loginForm(f.browser, authURL)
		resp, page := f.submit(f.browser, form, "agent1@demo.idverify.dev", "wrong")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Location"))
		assert.Contains(t, page, `role="alert"`)
		assert.Contains(t, page, "Please check your username and password.")
		assert.Contains(t, page, `value="agent1@demo.idverify.dev"`) // the username stays filled in
		assert.NotContains(t, page, "code=")
	})
	t.Run("unknown user", func(t *testing.T) {
		resp, page := f.submit(f.browser, f.loginForm(f.browser, authURL), "nobody@demo.idverify.dev", DemoAgentPassword)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, page, "Please check your username and password.")
	})
	t.Run("an agent with the integration user's password", func(t *testing.T) {
		resp, _ := f.submit(f.browser, f.loginForm(f.browser, authURL), "agent1@demo.idverify.dev", DemoPassword)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("no CSRF token", func(t *testing.T) {
		form := f.loginForm(f.browser, authURL)
		form.Del("csrf_token")
		resp, page := f.submit(f.browser, form, "agent1@demo.idverify.dev", DemoAgentPassword)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Location"))
		assert.Contains(t, page, "The login form has expired")
	})
	t.Run("another browser's CSRF token", func(t *testing.T) {
		form := f.loginForm(f.newBrowser(), authURL) // the attacker's token, posted from the victim's browser
		f.loginForm(f.browser, authURL)              // the victim has a cookie of their own
		resp, _ := f.submit(f.browser, form, "agent1@demo.idverify.dev", DemoAgentPassword)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Location"))
	})
	t.Run("no cookie", func(t *testing.T) {
		form := f.loginForm(f.newBrowser(), authURL)
		resp, _ := f.submit(f.newBrowser(), form, "agent1@demo.idverify.dev", DemoAgentPassword)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("redirect_uri changed in the form", func(t *testing.T) {
		form := f.loginForm(f.browser, authURL)
		form.Set("redirect_uri", "http://evil.example/console/oauth/callback")
		resp, page := f.submit(f.browser, form, "agent1@demo.idverify.dev", DemoAgentPassword)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Location"))
		assert.Contains(t, page, "redirect_uri_mismatch")
	})
}

func TestLoginPageIsAccessible(t *testing.T) {
	f := newWebFlow(t, Options{})
	resp, page := f.get(f.browser, f.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	// The page's one <style> is allowed by its hash: no 'unsafe-inline'.
	assert.NotContains(t, csp, "unsafe-inline")
	_, rest, _ := strings.Cut(page, "<style>")
	css, _, _ := strings.Cut(rest, "</style>")
	sum := sha256.Sum256([]byte(css))
	assert.Contains(t, csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Contains(t, page, `<html lang="en">`)
	for _, id := range []string{"username", "password"} {
		assert.Contains(t, page, `<label for="`+id+`">`)
		assert.Contains(t, page, `id="`+id+`"`)
	}
	assert.Contains(t, page, "autofocus")
	assert.Contains(t, page, ":focus-visible")
	for _, u := range []string{"agent1@demo.idverify.dev", "agent2@demo.idverify.dev", "agent3@demo.idverify.dev", "supervisor@demo.idverify.dev", DemoUsername} {
		assert.Contains(t, page, u)
	}
	assert.Contains(t, page, DemoAgentPassword)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == loginCookie {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)

	// A configured integration password is never shown.
	g := newWebFlow(t, Options{Password: "s3cret-configured"})
	_, page = g.get(g.browser, g.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	assert.NotContains(t, page, "s3cret-configured")
	assert.NotContains(t, page, DemoUsername)
}

func TestCallbackURLMatching(t *testing.T) {
	for _, tc := range []struct {
		reg, got string
		want     bool
	}{
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:8080/console/oauth/callback", true},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:1/console/oauth/callback", true},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:0/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:08080/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:65536/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:80:81/console/oauth/callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:8080/console/oauth/callback/", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:8080/console/oauth/callback#x", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1:8080/console/oauth/Callback", false},
		{"http://127.0.0.1:*/console/oauth/callback", "http://127.0.0.1.evil.example:8080/console/oauth/callback", false},
		{"http://[::1]:*/console/oauth/callback", "http://[::1]:9000/console/oauth/callback", true},
		{"https://console.example/console/oauth/callback", "https://console.example/console/oauth/callback", true},
		{"https://console.example/console/oauth/callback", "https://console.example:443/console/oauth/callback", false},
	} {
		assert.Equal(t, tc.want, callbackMatches(tc.reg, tc.got), "%s against %s", tc.got, tc.reg)
	}
	for _, bad := range []string{"/console/oauth/callback", "https://*.example/cb", "http://example.com:*/cb", "https://127.0.0.1:*/cb", "http://127.0.0.1:*/cb?x=1", "https://a.example/cb#f"} {
		assert.Error(t, CheckCallbackURL(bad), bad)
	}
	_, err := New(Options{CallbackURLs: []string{"http://example.com:*/cb"}})
	assert.Error(t, err)
}

func TestCallbackURLsFromOptionsAndAdmin(t *testing.T) {
	f := newWebFlow(t, Options{CallbackURLs: []string{"https://console.example/console/oauth/callback"}})
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	resp, _ := f.get(f.browser, f.cfg.AuthCodeURL("st", challenge)) // loopback is no longer registered
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/_fakeorg/callbacks", strings.NewReader(`{"url":"`+testCallback+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, body := f.do(f.srv.Client(), req)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	assert.Equal(t, []string{"https://console.example/console/oauth/callback", testCallback}, f.org.CallbackURLs())
	resp, _ = f.get(f.browser, f.cfg.AuthCodeURL("st", challenge))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestDemoUsersAreUserRecords(t *testing.T) {
	o, err := New(Options{})
	require.NoError(t, err)
	tx := o.DB().Begin(false)
	defer tx.Rollback()
	res, e := tx.Query("SELECT Id, Name, Username, Title, Profile.Name, TimeZoneSidKey FROM User ORDER BY Username", false)
	require.Nil(t, e)
	var got []string
	for _, r := range res.Records {
		profile := r.Fields[4].Value.(*orgdb.Record)
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s", r.Fields[2].Value, r.Fields[1].Value, r.Fields[3].Value, profile.Fields[0].Value, r.Fields[5].Value))
	}
	assert.Equal(t, []string{
		"agent1@demo.idverify.dev|Amara Okafor|Contact centre agent|Standard User|Europe/London",
		"agent2@demo.idverify.dev|Ben Carter|Contact centre agent|Standard User|America/New_York",
		"agent3@demo.idverify.dev|Chloé Martin|Contact centre agent|Standard User|Europe/Paris",
		"integration@demo.idverify.dev|Demo Integration|Integration user|System Administrator|GMT",
		"supervisor@demo.idverify.dev|Dana Whitfield|Contact centre supervisor|Contact Center Supervisor|America/Los_Angeles",
	}, got)
	assert.Equal(t, o.UserID(), res.Records[3].ID)
}

func TestLoginPageTakesFromTheLoginRate(t *testing.T) {
	f := newWebFlow(t, Options{LoginRateLimit: 1})
	authURL := f.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	resp, _ := f.submit(f.browser, f.loginForm(f.browser, authURL), "agent1@demo.idverify.dev", "wrong")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, page := f.submit(f.browser, f.loginForm(f.browser, authURL), "agent1@demo.idverify.dev", DemoAgentPassword)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Location"))
	assert.Contains(t, page, "Login rate exceeded")
}

// Salesforce's login rate limit is per user ("Login requests exceeding 3,600 requests per hour
// per user will be blocked", Salesforce Help 000381578): wrong passwords on the login page for
// one agent block that agent, not another, and not the integration user's API logins; an
// agent's code exchange is no login of the integration user either.
func TestLoginFormRateIsPerUser(t *testing.T) {
	f := newWebFlow(t, Options{LoginRateLimit: 2})
	authURL := f.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	for range 2 {
		resp, _ := f.submit(f.browser, f.loginForm(f.browser, authURL), "agent1@demo.idverify.dev", "guess")
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, page := f.submit(f.browser, f.loginForm(f.browser, authURL), "agent1@demo.idverify.dev", DemoAgentPassword)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, page, "Login rate exceeded")

	verifier := oauth2.GenerateVerifier()
	loc := f.signIn("s", verifier, "agent2@demo.idverify.dev", DemoAgentPassword)
	_, err := f.cfg.Exchange(f.ctx(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)

	integration := f.cfg
	integration.ClientSecret = DemoClientSecret
	for i := range 2 {
		_, err := integration.PasswordCredentialsToken(f.ctx(), DemoUsername, DemoPassword)
		require.NoError(t, err, "integration login %d", i+1)
	}
}

// Two token requests with one code at once: exactly one gets a token.
func TestWebServerFlowCodeRedeemedOnceUnderConcurrency(t *testing.T) {
	f := newWebFlow(t, Options{})
	verifier := oauth2.GenerateVerifier()
	code := f.signIn("s", verifier, "agent2@demo.idverify.dev", DemoAgentPassword).Query().Get("code")
	const n = 8
	var wg sync.WaitGroup
	oks := make(chan bool, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.cfg.Exchange(f.ctx(), code, oauth2.VerifierOption(verifier))
			oks <- err == nil
		}()
	}
	close(start)
	wg.Wait()
	close(oks)
	got := 0
	for ok := range oks {
		if ok {
			got++
		}
	}
	assert.Equal(t, 1, got)
}
