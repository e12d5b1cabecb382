package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
)

// The browser tests drive Debian's chromium (IDVERIFY_CHROMIUM names another binary) through
// every scenario, on the screens an agent sees, with no JavaScript error, no CSP violation and
// no failed request. Each screen's screenshot goes to IDVERIFY_SCREENSHOTS (a directory), or
// to the test's temporary directory.

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("IDVERIFY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SKIPPED: no chromium at %s (apt-get install chromium, or set IDVERIFY_CHROMIUM): the browser tests need it", path)
	}
	return path
}

// newChromium starts a headless chromium with a fresh profile for the test, with extra
// options.
func newChromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	return bctx
}

func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("IDVERIFY_SCREENSHOTS"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.TempDir()
}

// tab is one agent's tab, watching for what must not happen.
type tab struct {
	t     *testing.T
	e     *env
	ctx   context.Context
	name  string
	dir   string
	shots int

	mu       sync.Mutex
	problems []string
}

// tab opens a tab signed in as username on the fake org's login page (Salesforce's web
// server flow with PKCE), as an agent signs in.
func (e *env) tab(t *testing.T, browser context.Context, name, dir, username string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, e: e, ctx: ctx, name: name, dir: dir}
	require.NoError(t, chromedp.Listen(ctx, tb.watch))
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		assert.Empty(t, tb.problems, "the browser saw errors")
	})
	// The tabs share the browser's cookies: the agent before signs out by forgetting them.
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
	tb.open("/console/")
	require.Contains(t, run(tb, chromedp.Location()), "/services/oauth2/authorize", "sent to Salesforce's login page")
	tb.do(chromedp.SendKeys(chromedp.CSS("#username"), username), chromedp.SendKeys(chromedp.CSS("#password"), fakeorg.DemoAgentPassword))
	if name == "self" {
		tb.shot("salesforce-login")
	}
	tb.clickAndWait(`button[type=submit]`)
	require.Equal(t, e.srv.URL+"/console/", run(tb, chromedp.Location()))
	return tb
}

// watch records JavaScript errors, console errors (CSP violations are logged there), failed
// requests and error answers.
func (tb *tab) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
	case *runtime.EventConsoleAPICalled:
		if ev.Type == "error" || ev.Type == "assert" {
			p = "console." + string(ev.Type)
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p = "log: " + ev.Entry.Text
		}
	case *network.EventLoadingFailed:
		p = "request failed: " + ev.ErrorText
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			p = fmt.Sprintf("answer %d for %s", ev.Response.Status, ev.Response.URL)
		}
	}
	if p != "" {
		tb.mu.Lock()
		tb.problems = append(tb.problems, p)
		tb.mu.Unlock()
	}
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) *tab {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 90*time.Second)
	defer cancel()
	require.NoError(tb.t, chromedp.Do(ctx, actions...))
	return tb
}

// run runs a and returns its value.
func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(tb.t, err)
	return v
}

func (tb *tab) open(path string) *tab {
	tb.t.Helper()
	return tb.do(chromedp.Navigate(tb.e.srv.URL + path))
}

// fill types value into the field with id, as an agent would.
func (tb *tab) fill(id, value string) *tab {
	tb.t.Helper()
	return tb.do(chromedp.SendKeys(chromedp.CSS("#"+id), value))
}

// submit clicks the button of the form whose action ends with action, and waits for the
// next page.
func (tb *tab) submit(action string) *tab {
	tb.t.Helper()
	return tb.clickAndWait(fmt.Sprintf(`form[action$=%q] button[type=submit]`, action))
}

func (tb *tab) clickAndWait(sel string) *tab {
	tb.t.Helper()
	return tb.loads(chromedp.Click(chromedp.CSS(sel)))
}

// loads runs trigger and waits for the page it loads (after a form's redirect, the page
// the redirect names).
func (tb *tab) loads(trigger chromedp.Action[chromedp.Void]) *tab {
	tb.t.Helper()
	run(tb, chromedp.WaitEvent(page.LoadEventFired, nil, trigger))
	return tb
}

func (tb *tab) click(sel string) *tab {
	tb.t.Helper()
	return tb.do(chromedp.Click(chromedp.CSS(sel)))
}

// sees checks that the page's main content holds each of texts.
func (tb *tab) sees(texts ...string) *tab {
	tb.t.Helper()
	main := run(tb, chromedp.Text(chromedp.CSS("main")))
	for _, s := range texts {
		require.Contains(tb.t, main, s, "%s", tb.name)
	}
	return tb
}

// shot saves a screenshot of the screen, and checks what every screen must hold: a label
// for every field, no horizontal scrolling.
func (tb *tab) shot(screen string) *tab {
	tb.t.Helper()
	unlabelled := run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
		.filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.name)`))
	assert.Empty(tb.t, unlabelled, "fields without a label on %s", screen)
	fits := run(tb, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	assert.True(tb.t, fits, "%s scrolls sideways", screen)
	png := run(tb, chromedp.CaptureScreenshot())
	tb.shots++
	name := fmt.Sprintf("%s-%02d-%s.png", tb.name, tb.shots, screen)
	require.NoError(tb.t, os.WriteFile(filepath.Join(tb.dir, name), png, 0o644))
	return tb
}

func TestBrowser(t *testing.T) {
	browser := newChromium(t)
	e := newEnv(t)
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)

	t.Run("self", func(t *testing.T) {
		tb := e.tab(t, browser, "self", dir, "agent1@demo.idverify.dev")
		tb.open("/console/start?phone=" + strings.ReplaceAll(alicePhone, " ", "%20") + "&call_id=b-self&channel=Voice%20Call").
			shot("screen-pop")
		tb.submit("/console/start").sees("Reason for the call", "The phone number matched one record").shot("reason")
		// The keyboard alone: the first reason has the focus; space picks it, tab leaves the
		// group for Continue, enter sends the form.
		tb.do(chromedp.KeyEvent(" "), chromedp.KeyEvent(kb.Tab))
		tb.loads(chromedp.KeyEvent(kb.Enter)).sees("Whom is the call about?").shot("subject")
		tb.click("#subject-self").submit("/subject").sees("Questions for the caller", "Date of birth", "Expected:").shot("questions")
		tb.fill("v0", aliceBirth).fill("v1", aliceMob).submit("/answers").sees("Verified", "Open the record in Salesforce").
			shot("verified")
	})
	t.Run("representative", func(t *testing.T) {
		tb := e.tab(t, browser, "representative", dir, "agent1@demo.idverify.dev")
		tb.open("/console/").shot("new-engagement")
		tb.fill("phone", "+1 415 555 0999").fill("call_id", "b-rep").submit("/console/start")
		tb.click("#reason0").submit("/reason").click("#subject-other").submit("/subject").
			sees("Find the representative", "Someone calling for a customer").shot("search-representative")
		tb.fill("f0-0", "Chen").submit("/search").sees("Julia Chen").shot("results")
		tb.click("#r0").submit("/select").sees("Questions for the representative")
		tb.fill("v0", "19/08/1983").fill("v1", "+1 415 555 0202").submit("/answers").
			sees("The representative is verified", "Find the customer").shot("customer-level")
		tb.fill("kw0", "Alice").submit("/search").click("#r0").submit("/select").sees("Questions for the customer", "Expected:").
			shot("customer-questions")
		tb.fill("v0", aliceBirth).click("#c2").submit("/answers").sees("Verified").shot("verified")
	})
	t.Run("not identified", func(t *testing.T) {
		tb := e.tab(t, browser, "not-identified", dir, "agent1@demo.idverify.dev")
		tb.open("/console/").fill("phone", "+1 415 555 0999").submit("/console/start")
		tb.click("#reason0").submit("/reason").click("#subject-other").submit("/subject")
		tb.fill("f0-0", "Nobody").submit("/search").sees("Nobody matches").shot("no-results")
		tb.submit("/not-identified").sees("Representative not identified").shot("result")
	})
	t.Run("failed", func(t *testing.T) {
		tb := e.tab(t, browser, "failed", dir, "agent1@demo.idverify.dev")
		tb.open("/console/").fill("phone", alicePhone).submit("/console/start")
		tb.click("#reason0").submit("/reason").click("#subject-self").submit("/subject")
		tb.fill("v0", "01/01/1900").submit("/answers").sees("Verification failed", "Stop processing").shot("result")
	})
	t.Run("locked", func(t *testing.T) {
		tb := e.tab(t, browser, "locked", dir, "agent1@demo.idverify.dev")
		for range 3 {
			tb.open("/console/").fill("phone", "020 7946 0958").submit("/console/start")
			tb.click("#reason0").submit("/reason").click("#subject-self").submit("/subject")
			tb.click("#dk0").submit("/answers")
		}
		tb.sees("Locked", "Stop processing", "locked until").shot("result")
	})
	t.Run("non-confidential", func(t *testing.T) {
		tb := e.tab(t, browser, "not-required", dir, "agent1@demo.idverify.dev")
		tb.open("/console/").fill("phone", alicePhone).submit("/console/start")
		tb.click("#reason1").submit("/reason").sees("Verification not required").shot("result")
	})
	t.Run("transfer", func(t *testing.T) {
		amara := e.tab(t, browser, "transfer-first", dir, "agent1@demo.idverify.dev")
		amara.open("/console/start?phone=" + strings.ReplaceAll(alicePhone, " ", "%20") + "&call_id=b-transfer").submit("/console/start")
		amara.click("#reason0").submit("/reason").click("#subject-self").submit("/subject")
		amara.fill("v0", aliceBirth).fill("v1", aliceMob).submit("/answers").sees("Verified")
		// Ben takes the call Amara transfers in a 400-px softphone panel.
		ben := e.tab(t, browser, "transfer-panel", dir, "agent2@demo.idverify.dev")
		ben.do(chromedp.EmulateViewport(400, 800))
		ben.open("/console/").fill("engagement", "b-transfer").clickAndWait(`#lookup button`).
			sees("Engagement b-transfer", "Verified", "self").shot("status")
		ben.open("/console/start?phone=" + strings.ReplaceAll(alicePhone, " ", "%20") + "&call_id=b-transfer").submit("/console/start")
		ben.click("#reason0").submit("/reason").shot("subject").click("#subject-self").submit("/subject").sees("Verified").
			shot("verified")
	})
}
