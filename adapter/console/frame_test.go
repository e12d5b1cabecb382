package console_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/flows/flowstest"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// The console's cookies: SameSite=Lax when no other site frames it; SameSite=None; Secure;
// Partitioned (CHIPS) when frame ancestors are configured, even on the loopback demo, so
// that they reach the console in another site's frame.
func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ancestors []string
		sameSite  http.SameSite
		secure    bool
		partition bool
	}{
		{"not framed", nil, http.SameSiteLaxMode, false, false},
		{"framed", []string{"https://example.lightning.force.com"}, http.SameSiteNoneMode, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *console.Config) { c.FrameAncestors = tc.ancestors })
			resp, err := noRedirects().Get(e.srv.URL + "/console/signin")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Len(t, resp.Cookies(), 1)
			ck := resp.Cookies()[0]
			assert.Equal(t, "idv_signin", ck.Name)
			assert.True(t, ck.HttpOnly)
			assert.Equal(t, tc.sameSite, ck.SameSite)
			assert.Equal(t, tc.secure, ck.Secure)
			assert.Equal(t, tc.partition, ck.Partitioned)
		})
	}
}

var (
	popupRE  = regexp.MustCompile(`id="popup-signin" href="([^"]+)"`)
	ticketRE = regexp.MustCompile(`data-ticket="([^"]+)"`)
)

// frameGet is a GET of the framed console: the browser says the request is a frame's.
func (b *browser) frameGet(path string) *browser {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.e.t, err)
	req.Header.Set("Sec-Fetch-Dest", "iframe")
	resp, err := b.c.Do(req)
	require.NoError(b.e.t, err)
	b.read(resp)
	return b
}

// popupSignIn is the framed console's sign-in up to the pop-up's last page: frame is the
// frame's cookie jar, the pop-up has its own (another partition). It returns the ticket.
func popupSignIn(t *testing.T, e *env, frame *browser, next string) string {
	t.Helper()
	frame.frameGet("/console/signin?next=" + url.QueryEscape(next))
	require.Equal(t, http.StatusOK, frame.status)
	frame.has("Sign in with Salesforce")
	m := popupRE.FindStringSubmatch(frame.page)
	require.NotNil(t, m, frame.page)
	popup := e.browser(nil).get(unescape(m[1])).login("agent2@demo.idverify.dev", fakeorg.DemoAgentPassword)
	require.Equal(t, http.StatusOK, popup.status, popup.page)
	popup.has("Signed in")
	assert.NotContains(t, popup.page, "Signed in as", "the pop-up is no session of its own")
	tm := ticketRE.FindStringSubmatch(popup.page)
	require.NotNil(t, tm)
	return unescape(tm[1])
}

// A framed console signs in through a pop-up: the pop-up's ticket, posted by the frame that
// opened it, is the frame's session; once only, and never another frame's.
func TestFramedSignIn(t *testing.T) {
	e := newEnv(t)
	frame := e.browser(nil)
	ticket := popupSignIn(t, e, frame, "/console/engagements/call-9")

	// Another frame (its own binding cookie) cannot use the ticket.
	other := e.browser(nil).frameGet("/console/signin")
	other.postRaw("/console/signin/ticket", url.Values{"ticket": {ticket}})
	assert.Equal(t, http.StatusBadRequest, other.status)
	other.get("/console/")
	assert.Contains(t, other.url, "/services/oauth2/authorize", "not signed in")

	// A frame whose browser kept no binding cookie (a browser without partitioned cookies
	// keeps none for another site's frame) is told so.
	e.browser(nil).postRaw("/console/signin/ticket", url.Values{"ticket": {ticket}}).has("keeps no cookie", "a window of its own")

	// A forged or missing ticket signs nobody in.
	for _, bad := range []string{"", "forged", ticket[:len(ticket)-2]} {
		frame.postRaw("/console/signin/ticket", url.Values{"ticket": {bad}})
		assert.Equal(t, http.StatusBadRequest, frame.status, bad)
	}

	frame.postRaw("/console/signin/ticket", url.Values{"ticket": {ticket}})
	require.Equal(t, http.StatusOK, frame.status, frame.page)
	assert.Equal(t, "/console/engagements/call-9", frame.url, "back to the page the frame asked for")
	frame.has("Signed in as", "Ben Carter")
	// Browsers refuse autofocus in a cross-origin frame (and log an error): a frame's page has none.
	assert.NotContains(t, frame.frameGet("/console/").page, "autofocus")
	assert.Contains(t, frame.get("/console/").page, "autofocus")

	// Once only: the binding is gone.
	again := e.browser(nil)
	again.c.Jar = frame.c.Jar
	again.postRaw("/console/signin/ticket", url.Values{"ticket": {ticket}})
	assert.Equal(t, http.StatusBadRequest, again.status)
}

// A pop-up sign-in with no frame ancestor configured is a top-level one: no ticket.
func TestPopupNeedsFrameAncestors(t *testing.T) {
	e := newEnv(t, func(c *console.Config) { c.FrameAncestors = nil })
	b := e.browser(nil).frameGet("/console/signin?popup=abc")
	b.login("agent2@demo.idverify.dev", fakeorg.DemoAgentPassword)
	assert.NotContains(t, b.page, "data-ticket")
	b.has("Signed in as")
	// Nor is there a ticket to redeem: the route is the framed console's only.
	b.postRaw("/console/signin/ticket", url.Values{"ticket": {"x"}})
	assert.Equal(t, http.StatusNotFound, b.status)
}

// COOP same-origin on every page, but for the sign-in's pages of a framed console: its pop-up
// hands its opener, another site's frame, the ticket, which COOP would cut it from.
func TestOpenerPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ancestors []string
		path      string
		coop      string
	}{
		{"framed sign-in", []string{"https://example.lightning.force.com"}, "/console/signin", ""},
		{"framed callback", []string{"https://example.lightning.force.com"}, "/console/oauth/callback", ""},
		{"framed page", []string{"https://example.lightning.force.com"}, "/console/signedout", "same-origin"},
		{"sign-in", nil, "/console/signin", "same-origin"},
		{"callback", nil, "/console/oauth/callback", "same-origin"},
		{"page", nil, "/console/signedout", "same-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *console.Config) { c.FrameAncestors = tc.ancestors })
			resp, err := noRedirects().Get(e.srv.URL + tc.path)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.coop, resp.Header.Get("Cross-Origin-Opener-Policy"))
		})
	}
}

// Another site's page may navigate to the console (a screen pop) or frame it (when listed),
// but not load its pages as an image, a script, a fetch or an embed: framed, the agent's
// cookie is SameSite=None, and a browser that ignores Partitioned would send it along.
func TestCrossSiteEmbedsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).get("/console/")
	for _, tc := range []struct {
		path, site, mode, dest string
		status                 int
	}{
		{"/console/", "cross-site", "no-cors", "image", http.StatusForbidden},
		{"/console/", "cross-site", "no-cors", "script", http.StatusForbidden},
		{"/console/", "cross-site", "cors", "empty", http.StatusForbidden},
		{"/console/engagements/call-1", "cross-site", "navigate", "embed", http.StatusForbidden},
		{"/console/", "cross-site", "navigate", "object", http.StatusForbidden},
		{"/console/", "cross-site", "navigate", "document", http.StatusOK}, // a screen pop
		{"/console/", "cross-site", "navigate", "iframe", http.StatusOK},   // a listed origin's frame
		{"/console/", "same-origin", "no-cors", "image", http.StatusOK},
		{"/console/", "", "", "", http.StatusOK}, // not a browser, or an old one: the cookie decides
		{"/console/static/console.css", "cross-site", "no-cors", "style", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+tc.path, nil)
		require.NoError(t, err)
		for k, v := range map[string]string{"Sec-Fetch-Site": tc.site, "Sec-Fetch-Mode": tc.mode, "Sec-Fetch-Dest": tc.dest} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		for _, ck := range b.c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := noRedirects().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%+v", tc)
		if tc.status == http.StatusForbidden {
			assert.False(t, strings.Contains(string(body), "Anna Agent"), "nothing of the agent's: %+v", tc)
		}
	}
}

// Another site's page cannot post a form to the console, even with the agent's cookie (sent
// cross-site when the console is framed) and a valid token: Sec-Fetch-Site, or else Origin,
// says where the form came from.
func TestCrossSitePostRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).get("/console/")
	form := b.form("/console/start")
	form.Set("phone", alicePhone)
	for _, tc := range []struct {
		header, value string
		status        int
	}{
		{"Sec-Fetch-Site", "cross-site", http.StatusForbidden},
		{"Sec-Fetch-Site", "same-site", http.StatusForbidden},
		{"Origin", "https://example.lightning.force.com", http.StatusForbidden},
		{"Sec-Fetch-Site", "same-origin", http.StatusSeeOther}, // the console's own form, in a frame too
	} {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/console/start", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(tc.header, tc.value)
		for _, ck := range b.c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := noRedirects().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%s: %s", tc.header, tc.value)
	}
}

// A ticket lasts a minute: one redeemed later signs nobody in.
func TestFramedTicketExpires(t *testing.T) {
	clock := flowstest.NewClock(time.Now())
	e := newEnv(t, func(c *console.Config) { c.Clock = clock })
	frame := e.browser(nil)
	ticket := popupSignIn(t, e, frame, "/console/")
	clock.Advance(time.Minute)
	frame.postRaw("/console/signin/ticket", url.Values{"ticket": {ticket}})
	assert.Equal(t, http.StatusBadRequest, frame.status)
	frame.has("did not come from the window")
	frame.get("/console/")
	assert.Contains(t, frame.url, "/services/oauth2/authorize", "not signed in")
}

// A screen pop in a frame before signing in: neither the frame's sign-in page (the pop-up's
// link) nor any URL the frame or the pop-up visits carries the caller's number in clear; once
// the frame redeems the ticket, it lands on the pop with the number filled in.
func TestFramedScreenPopKeepsPhoneOutOfURLs(t *testing.T) {
	e := newEnv(t)
	var visited []string
	record := func(req *http.Request, _ []*http.Request) error {
		visited = append(visited, req.URL.String())
		return nil
	}
	frame := e.browser(nil)
	frame.c.CheckRedirect = record
	frame.frameGet("/console/start?phone=" + url.QueryEscape(alicePhone) + "&call_id=call-framed-pop")
	require.Equal(t, http.StatusOK, frame.status, frame.page)
	frame.has("Sign in with Salesforce")
	m := popupRE.FindStringSubmatch(frame.page)
	require.NotNil(t, m, frame.page)
	pages := []string{frame.page}
	visited = append(visited, unescape(m[1]))

	popup := e.browser(nil)
	popup.c.CheckRedirect = record
	popup.get(unescape(m[1])).login("agent2@demo.idverify.dev", fakeorg.DemoAgentPassword)
	require.Equal(t, http.StatusOK, popup.status, popup.page)
	pages = append(pages, popup.page)
	tm := ticketRE.FindStringSubmatch(popup.page)
	require.NotNil(t, tm, popup.page)

	frame.c.CheckRedirect = nil // the last redirect is to the pop itself
	frame.postRaw("/console/signin/ticket", url.Values{"ticket": {unescape(tm[1])}})
	require.Equal(t, http.StatusOK, frame.status, frame.page)
	assert.True(t, strings.HasPrefix(frame.url, "/console/start?"), "back on the screen pop: %s", frame.url)
	frame.has(`value="` + alicePhone + `"`)

	require.Greater(t, len(visited), 3, "the pop-up's link, the authorize page, the callback")
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, alicePhone)
	for _, u := range append(visited, pages...) {
		plain, err := url.QueryUnescape(u)
		if err == nil {
			plain, _ = url.QueryUnescape(plain) // next= holds an escaped URL
		} else {
			plain = u
		}
		assert.NotContains(t, strings.ReplaceAll(plain, " ", ""), digits[1:], "the number in clear: %s", u)
		assert.NotContains(t, plain, "call-framed-pop")
	}
}
