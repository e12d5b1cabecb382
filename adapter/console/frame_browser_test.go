package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// The console in another site's frame, as in Salesforce's console: a softphone page on
// http://localhost:<port> frames the console on http://127.0.0.1:<port> (another site for the
// browser), in a chromium that blocks third-party cookies, so only partitioned ones reach the
// frame. The agent signs in through the pop-up and verifies a caller inside the frame, with
// no JavaScript error, CSP violation or failed request in the page, the frame or the pop-up.
func TestBrowserFramed(t *testing.T) {
	browser := newChromium(t, chromedp.Flag("test-third-party-cookie-phaseout", true))
	dir := screenshotDir(t)
	var consoleURL string
	softphone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Softphone</title><link rel="icon" href="data:,"></head><body>
<iframe id="panel" title="idverify" width="400" height="760" src="%s/console/start?phone=%s&amp;call_id=f-1"></iframe></body></html>`,
			consoleURL, url.QueryEscape(alicePhone))
	}))
	t.Cleanup(softphone.Close)
	softphoneURL := strings.Replace(softphone.URL, "127.0.0.1", "localhost", 1)
	e := newEnv(t, func(c *console.Config) { c.FrameAncestors = []string{softphoneURL} })
	consoleURL = e.srv.URL

	page := e.attach(t, browser, "framed-softphone", dir, "")
	page.do(chromedp.Navigate(softphoneURL + "/"))
	frame := e.attach(t, browser, "framed", dir, e.waitTarget(t, browser, "iframe", e.srv.URL+"/console/signin"))
	frame.do(chromedp.WaitVisible(chromedp.CSS(`#popup-signin`))).sees("Sign in with Salesforce")
	page.shot("sign-in") // a frame has no screenshot of its own: the softphone's page shows it

	popupCreated := chromedp.WaitNewTarget(browser, func(i *target.Info) bool { return i.Type == "page" })
	frame.click("#popup-signin")
	// The framing page, or any window but the pop-up, cannot hand the frame a ticket (it would
	// sign the agent in as whoever the ticket names): the frame hears its pop-up only. Were it
	// heard, the frame would leave the sign-in page for an error, and the sign-in below fail.
	run(page, chromedp.Evaluate[bool](`document.getElementById("panel").contentWindow.postMessage({idverifyTicket: "forged"}, "*"), true`))
	var popupID target.ID
	select {
	case popupID = <-popupCreated:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no pop-up opened")
	}
	popup := e.attach(t, browser, "framed-popup", dir, popupID)
	popup.do(chromedp.WaitVisible(chromedp.CSS(`#username`)), chromedp.SendKeys(chromedp.CSS(`#username`), "agent2@demo.idverify.dev"),
		chromedp.SendKeys(chromedp.CSS(`#password`), fakeorg.DemoAgentPassword))
	// The pop-up hands the frame its ticket and closes itself: its last page is not waited for.
	popup.do(chromedp.Click(chromedp.CSS(`button[type=submit]`)))

	frame.do(chromedp.WaitVisible(chromedp.CSS(`form[action="/console/start"] button[type=submit]`))).
		sees("New engagement")
	page.shot("screen-pop")
	// The frame told the pop-up it has the ticket: the pop-up closed itself.
	require.Eventually(t, func() bool {
		targets, err := chromedp.Targets(browser)
		require.NoError(t, err)
		for _, i := range targets {
			if i.TargetID == popupID {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the pop-up did not close")
	header := run(frame, chromedp.Text(chromedp.CSS(".who")))
	assert.Contains(t, header, "Ben Carter", "signed in inside the frame")
	frame.click(`form[action="/console/start"] button[type=submit]`).do(chromedp.WaitVisible(chromedp.CSS(`#reason0`))).
		click("#reason0").click(`form[action$="/reason"] button[type=submit]`).do(chromedp.WaitVisible(chromedp.CSS(`#subject-self`))).
		click("#subject-self").click(`form[action$="/subject"] button[type=submit]`).do(chromedp.WaitVisible(chromedp.CSS(`#v0`))).
		fill("v0", aliceBirth).fill("v1", aliceMob).click(`form[action$="/answers"] button[type=submit]`).
		do(chromedp.WaitVisible(chromedp.CSS(`.result`))).sees("Verified")
	page.shot("verified")

	// The agent's cookie is in the frame's partition, keyed by the softphone's site.
	var cookies storage.GetCookiesResult
	page.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		cookies, err = cdp.Call(ctx, t, storage.GetCookies, storage.GetCookiesParams{})
		return err
	}))
	var agent []string
	for _, ck := range cookies.Cookies {
		if ck.Name == "idv_agent" {
			require.NotNil(t, ck.PartitionKey, "partitioned")
			agent = append(agent, ck.PartitionKey.TopLevelSite)
		}
	}
	assert.Equal(t, []string{"http://localhost"}, agent, "one session, in the frame's partition")
}

// attach is a tab on the browser's target id (a new tab when id is empty), watched for
// problems as the scenarios' tabs are.
func (e *env) attach(t *testing.T, browser context.Context, name, dir string, id target.ID) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if id != "" {
		opts = append(opts, chromedp.WithTargetID(id))
	}
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	tb := &tab{t: t, e: e, ctx: ctx, name: name, dir: dir}
	require.NoError(t, chromedp.Listen(ctx, tb.watch))
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		assert.Empty(t, tb.problems, "%s: the browser saw errors", name)
	})
	return tb
}

// waitTarget returns the browser's target of the type whose URL starts with prefix.
func (e *env) waitTarget(t *testing.T, browser context.Context, typ, prefix string) target.ID {
	t.Helper()
	var id target.ID
	require.Eventually(t, func() bool {
		targets, err := chromedp.Targets(browser)
		require.NoError(t, err)
		for _, i := range targets {
			if i.Type == typ && strings.HasPrefix(i.URL, prefix) {
				id = i.TargetID
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no %s at %s", typ, prefix)
	return id
}

// Another site's page that opens the pop-up itself, on a binding its server got by saying
// Sec-Fetch-Dest: iframe, and listens: the agent signs in there (Salesforce signs in a user
// without asking when they have a session), but the ticket, bound to the attacker's binding and
// naming the agent, is posted to the console's origin only, so the page never sees it.
func TestBrowserTicketNotHandedToAnotherSite(t *testing.T) {
	browser := newChromium(t)
	e := newEnv(t)
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/console/signin", nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Dest", "iframe")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	m := popupRE.FindSubmatch(body)
	require.NotNil(t, m, "the attacker's own binding")
	popupURL := e.srv.URL + html.UnescapeString(string(m[1]))

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Evil</title><link rel="icon" href="data:,"></head><body>
<button id="go">Go</button><script>
window.got = [];
window.addEventListener("message", function (ev) { window.got.push(JSON.stringify(ev.data)); });
document.getElementById("go").addEventListener("click", function () { window.open(%q, "x", "popup"); });
</script></body></html>`, popupURL)
	}))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // another site than the console

	page := e.attach(t, browser, "evil", "", "")
	page.do(chromedp.Navigate(evilURL + "/"))
	popupCreated := chromedp.WaitNewTarget(browser, func(i *target.Info) bool { return i.Type == "page" })
	page.click("#go")
	var popupID target.ID
	select {
	case popupID = <-popupCreated:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no pop-up opened")
	}
	// Not watched as the console's tabs are: the browser logs the refused postMessage.
	pctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(popupID))
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(pctx, chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "agent2@demo.idverify.dev"),
		chromedp.SendKeys(chromedp.CSS(`#password`), fakeorg.DemoAgentPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`))))
	// The pop-up posts to its opener and waits for the console's frame to say it has the ticket;
	// none does, so it stays open and says it lost the console (by then a message would be in).
	ctx, cancelWait := context.WithTimeout(pctx, 90*time.Second)
	defer cancelWait()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#handoff-lost`))))
	got := run(page, chromedp.Evaluate[[]string](`window.got`))
	assert.Empty(t, got, "another site's page got the ticket")
}
