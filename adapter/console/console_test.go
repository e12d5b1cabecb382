package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/sfdc"
)

// Alice verifies herself: phone match, reason, subject, check-mode answers; the result links to
// her record, and the write-back names the agent as an internal attendee.
func TestSelfVerified(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).toQuestions("call-self")
	b.post("/answers", url.Values{"v_PersonBirthdate": {aliceBirth}, "v_PersonMobilePhone": {aliceMob}})
	b.has("Verified", "Open the record in Salesforce", e.org.URL()+"/")
	assert.NotContains(t, b.page, "Stop processing")

	e.deliver()
	engs := e.query(sfdc.Select("Id").From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", "call-self")))
	require.Len(t, engs, 1)
	rows := e.query(sfdc.Select("InternalAttendeeId", "ExternalAttendeeId").From("EngagementAttendee").
		Where(sfdc.Eq("EngagementId", engs[0].ID())))
	var internal []string
	for _, r := range rows {
		if v, _ := r.Get("InternalAttendeeId"); v != nil {
			internal = append(internal, v.(string))
		}
	}
	assert.Equal(t, []string{agentAnna.UserID}, internal, "the agent is the internal attendee")
	events, err := e.store.AuditByEngagement(t.Context(), "call-self")
	require.NoError(t, err)
	require.NotEmpty(t, events)
	for _, ev := range events {
		assert.Equal(t, agentAnna.UserID, ev.Actor, "step %s", ev.Step)
	}
}

func TestNoSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser(nil)
	noFollow := *b.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/console/", "/console/start?phone=1", "/console/engagements/call-1", "/console/s/x"} {
		resp, err := noFollow.Get(e.srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
		loc := resp.Header.Get("Location")
		if strings.Contains(path, "?") { // sealed: a screen pop's query is the caller's phone
			assert.True(t, strings.HasPrefix(loc, "/console/signin?next="), loc)
			assert.NotContains(t, loc, "phone", path)
		} else {
			assert.Equal(t, "/console/signin?next="+url.QueryEscape(path), loc, path)
		}
	}
	b.postRaw("/console/start", url.Values{"phone": {alicePhone}, "csrf": {"x"}})
	assert.Equal(t, http.StatusUnauthorized, b.status)

	// A cookie sealed with another key, or tampered with, is no sign-in.
	other, err := console.New(console.Config{Engine: e.engine, Key: []byte(strings.Repeat("k", 32))})
	require.NoError(t, err)
	forged := other.AgentCookie(agentAnna)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/console/", nil)
	req.AddCookie(forged)
	resp, err := noFollow.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).toQuestions("call-csrf")
	page := b.url
	before := b.form("/answers")
	answers := url.Values{"q": {"PersonBirthdate"}, "v_PersonBirthdate": {aliceBirth}, "version": before["version"]}
	for name, token := range map[string][]string{"missing": nil, "wrong": {"not-the-token"},
		"another agent's": e.browser(&agentBen).get("/console/").form("/console/start")["csrf"]} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range answers {
				form[k] = v
			}
			if token != nil {
				form["csrf"] = token
			}
			b.postRaw(b.action("/answers"), form)
			assert.Equal(t, http.StatusForbidden, b.status)
			b.get(page)
		})
	}
	// Nothing changed: the questions wait at the same version.
	b.get(page)
	assert.Equal(t, before["version"], b.form("/answers")["version"])
}

func TestStaleVersion(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna)
	b.get("/console/").post("/console/start", url.Values{"phone": {alicePhone}})
	stale := b.form("/reason")
	b.post("/reason", url.Values{"reason": {"Change of address"}}).has("Whom is the call about?")
	// The same form sent again (another tab, a double click): refused, the current step shown.
	stale.Set("reason", "Opening hours and branches")
	b.postRaw(b.action("/subject")[:len(b.action("/subject"))-len("/subject")]+"/reason", stale)
	assert.Equal(t, http.StatusOK, b.status)
	b.has("changed in another tab", "Whom is the call about?")
	assert.NotContains(t, b.page, "Verification not required")

	// A form without a version is refused as such.
	form := b.form("/subject")
	form.Del("version")
	form.Set("subject", "self")
	b.postRaw(b.action("/subject"), form)
	assert.Equal(t, http.StatusBadRequest, b.status)
}

func TestHostileInput(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna)
	b.get("/console/")
	csrf := b.form("/console/start")["csrf"]

	b.postRaw("/console/start", url.Values{"csrf": csrf, "phone": {strings.Repeat("9", 20<<10)}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, b.status, "a form over 16 KB")

	b.postRaw("/console/start", url.Values{"csrf": csrf, "phone": {strings.Repeat("9", 5000)}})
	b.has("Check what you entered")
	assert.NotContains(t, b.page, strings.Repeat("9", 300), "the value is not echoed whole")

	b.get("/console/s/" + strings.Repeat("A", 10000))
	assert.Equal(t, http.StatusNotFound, b.status)
	b.get("/console/engagements/" + strings.Repeat("A", 1000))
	assert.Equal(t, http.StatusNotFound, b.status)

	// Keywords far longer than a search takes: refused by the engine, nothing searched.
	b.get("/console/").post("/console/start", url.Values{"phone": {"+1 415 555 0999"}})
	b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
	b.has("Find the caller")
	b.post("/search", url.Values{"keywords": {strings.Repeat("x", 8000)}})
	b.has("Check what you entered", "Find the caller")

	// Many answers for fields that are not asked: not asked, nothing judged.
	b.get("/console/").post("/console/start", url.Values{"phone": {alicePhone}})
	b.post("/reason", url.Values{"reason": {"Change of address"}}).post("/subject", url.Values{"subject": {"self"}})
	q := url.Values{}
	for i := range 200 {
		f := "F" + strings.Repeat("x", i%50)
		q.Add("q", f)
		q.Set("v_"+f, "x")
	}
	b.post("/answers", q)
	b.has("Questions for the caller")
	assert.NotContains(t, b.page, "Verification failed")
}

// A session's URL opens it for the agent who started it only.
func TestAnotherAgentsSession(t *testing.T) {
	e := newEnv(t)
	anna := e.browser(&agentAnna).toQuestions("call-other")
	ben := e.browser(&agentBen)
	ben.get(anna.url)
	assert.Equal(t, http.StatusNotFound, ben.status)
	ben.get("/console/")
	form := anna.form("/cancel")
	form["csrf"] = ben.form("/console/start")["csrf"]
	ben.postRaw(anna.action("/cancel"), form)
	assert.Equal(t, http.StatusNotFound, ben.status)
	anna.get(anna.url).has("Questions for the caller")
}

func TestHeaders(t *testing.T) {
	e := newEnv(t)
	resp, err := e.browser(&agentAnna).c.Get(e.srv.URL + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-ancestors https://example.lightning.force.com")
	assert.Empty(t, resp.Header.Get("X-Frame-Options"), "it would forbid the listed origins")
	assert.Contains(t, csp, "script-src 'self';")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))

	resp, err = http.Get(e.srv.URL + "/console/static/console.js")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// With no frame ancestor configured nothing may frame the console, not even its own origin.
	e = newEnv(t, func(c *console.Config) { c.FrameAncestors = nil })
	resp, err = e.browser(&agentAnna).c.Get(e.srv.URL + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
}

func TestNewRejectsBadConfig(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]console.Config{
		"no engine":      {Key: testKey},
		"short key":      {Engine: e.engine, Key: []byte("short")},
		"frame ancestor": {Engine: e.engine, Key: testKey, FrameAncestors: []string{"https://x.example; script-src *"}},
		"wildcard":       {Engine: e.engine, Key: testKey, FrameAncestors: []string{"*"}},
		// CSP's host-source has no user info, query or fragment: a browser would drop the
		// source, and the listed origin could not frame the console.
		"ancestor user":     {Engine: e.engine, Key: testKey, FrameAncestors: []string{"https://evil@x.example"}},
		"ancestor fragment": {Engine: e.engine, Key: testKey, FrameAncestors: []string{"https://x.example#a"}},
		"ancestor query":    {Engine: e.engine, Key: testKey, FrameAncestors: []string{"https://x.example?"}},
		"ancestor path":     {Engine: e.engine, Key: testKey, FrameAncestors: []string{"https://x.example/panel"}},
		"instance":          {Engine: e.engine, Key: testKey, InstanceURL: "javascript:alert(1)"},
		"sign-in no https": {Engine: e.engine, Key: testKey, SignIn: console.SignIn{LoginURL: "ftp://x", ClientID: "c",
			RedirectURL: "http://127.0.0.1/console/oauth/callback", OrgID: e.org.OrgID()}},
		"sign-in no org": {Engine: e.engine, Key: testKey, SignIn: console.SignIn{LoginURL: e.org.URL(), ClientID: "c",
			RedirectURL: "http://127.0.0.1/console/oauth/callback"}},
		"sign-in bad org": {Engine: e.engine, Key: testKey, SignIn: console.SignIn{LoginURL: e.org.URL(), ClientID: "c",
			RedirectURL: "http://127.0.0.1/console/oauth/callback", OrgID: "005000000000011AAA"}},
	} {
		_, err := console.New(cfg)
		assert.Error(t, err, name)
	}
}

// The same answers sent eight times at once (a double click, a retried request): judged once,
// one failure counted; the others are told the session moved on.
func TestSameStepTwiceAtOnce(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).toQuestions("call-twice")
	form := b.form("/answers")
	form.Set("q", "PersonBirthdate")
	form.Set("v_PersonBirthdate", "01/01/1901")
	action := b.action("/answers")
	var wg sync.WaitGroup
	stale := make(chan bool, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := b.c.PostForm(e.srv.URL+action, form)
			if !assert.NoError(t, err) {
				return
			}
			resp.Body.Close()
			stale <- strings.Contains(resp.Request.URL.RawQuery, "m=stale") || strings.Contains(resp.Request.URL.RawQuery, "m=order")
		}()
	}
	wg.Wait()
	close(stale)
	refused := 0
	for s := range stale {
		if s {
			refused++
		}
	}
	assert.Equal(t, 7, refused, "one step ran")
	alice := e.query(sfdc.Select("Id").From("Account").Where(sfdc.Eq("PersonEmail", "alice.martin@example.com")))
	require.Len(t, alice, 1)
	failures, err := e.store.Failures(t.Context(), string(alice[0].ID()), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Len(t, failures, 1, "one wrong answer counted")
}

// A start form the engine refuses is answered again with what the agent typed, never sent
// back in a URL: a phone number in a redirect's query lands in history and access logs.
func TestStartRefusedKeepsPhoneOutOfURL(t *testing.T) {
	e := newEnv(t)
	b := e.browser(&agentAnna).get("/console/")
	b.post("/console/start", url.Values{"phone": {alicePhone}, "call_id": {"call-bad-time"}, "start_time": {"not a time"}})
	assert.Equal(t, http.StatusUnprocessableEntity, b.status)
	assert.Equal(t, "/console/start", b.url, "no redirect")
	b.has("Check what you entered", `value="`+alicePhone+`"`, `value="call-bad-time"`)
}

// Guessing through the console is bounded by the engine's lockout, as through the API: six
// sessions on one person answer wrong at once, and at most max_failures (3 in the demo policy)
// wrong answers are counted; the others find the person locked. This is why the console has
// no per-person rate limit of its own (docs/ARCHITECTURE.md).
func TestGuessesBoundedByLockout(t *testing.T) {
	e := newEnv(t)
	const sessions = 6
	type post struct {
		action string
		form   url.Values
	}
	posts := make([]post, sessions)
	agent := e.browser(&agentAnna)
	for i := range posts {
		agent.toQuestions("call-guess-" + string(rune('a'+i)))
		form := agent.form("/answers")
		form.Set("q", "PersonBirthdate")
		form.Set("v_PersonBirthdate", "0"+string(rune('1'+i))+"/01/1901")
		posts[i] = post{agent.action("/answers"), form}
	}
	var wg sync.WaitGroup
	for _, p := range posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := agent.c.PostForm(e.srv.URL+p.action, p.form)
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	alice := e.query(sfdc.Select("Id").From("Account").Where(sfdc.Eq("PersonEmail", "alice.martin@example.com")))
	require.Len(t, alice, 1)
	failures, err := e.store.Failures(t.Context(), string(alice[0].ID()), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Len(t, failures, 3, "as many wrong answers as the lockout allows, no more")
}
