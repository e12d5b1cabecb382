package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/metrics"
	"github.com/idverify/idverify/adapter/webhook"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// Alice, a demo customer, calling from her mobile: her number and her answers.
const (
	alicePhone = "+1 415 555 0101"
	aliceBirth = "12/04/1985"
	// alicePop is her number as a softphone pops it, and aliceDigits what no log line may
	// hold (it is in alicePop's URL, escaped or not).
	alicePop    = "+14155550101"
	aliceDigits = "5550101"
)

// agentBrowser is an agent's browser on a service's console: a cookie jar, redirects followed.
type agentBrowser struct {
	t      *testing.T
	c      *http.Client
	page   string // the last page's HTML
	url    *url.URL
	status int
}

func newAgentBrowser(t *testing.T) *agentBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &agentBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *agentBrowser) read(resp *http.Response, err error) *agentBrowser {
	b.t.Helper()
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	b.page, b.url, b.status = html.UnescapeString(string(body)), resp.Request.URL, resp.StatusCode
	return b
}

func (b *agentBrowser) get(u string) *agentBrowser { b.t.Helper(); return b.read(b.c.Get(u)) }

var (
	pageFormRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
	pageHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// submit posts the page's form whose action ends with suffix: its hidden fields and values.
func (b *agentBrowser) submit(suffix string, values url.Values) *agentBrowser {
	b.t.Helper()
	for _, m := range pageFormRE.FindAllStringSubmatch(b.page, -1) {
		if !strings.HasSuffix(m[1], suffix) {
			continue
		}
		form := url.Values{}
		for _, h := range pageHiddenRE.FindAllStringSubmatch(m[2], -1) {
			form.Add(h[1], h[2])
		}
		for k, v := range values {
			form[k] = v
		}
		action, err := b.url.Parse(m[1])
		require.NoError(b.t, err)
		return b.read(b.c.PostForm(action.String(), form))
	}
	require.FailNow(b.t, "no form", "no form posts to …%s on %s:\n%s", suffix, b.url, b.page)
	return b
}

func (b *agentBrowser) has(texts ...string) *agentBrowser {
	b.t.Helper()
	for _, s := range texts {
		require.Contains(b.t, b.page, s, "on %s", b.url)
	}
	return b
}

// signIn opens the console at consoleURL and signs in at the fake org's login page.
func (b *agentBrowser) signIn(consoleURL, username string) *agentBrowser {
	b.t.Helper()
	b.get(consoleURL)
	require.Equal(b.t, "/services/oauth2/authorize", b.url.Path, "sent to the org's login page: %s", b.url)
	return b.submit("/services/oauth2/authorize", url.Values{"username": {username}, "password": {fakeorg.DemoAgentPassword}})
}

// On demo settings serve mounts the console: /console sends an agent to sign in at the
// embedded fake org; a demo agent signs in through its login form and verifies a caller; the
// access log names the console's routes, never a path, and holds no phone number, though a
// screen pop's URL carries one.
func TestConsoleOnDemoSettings(t *testing.T) {
	s := startDemo(t, nil)
	require.Equal(t, s.URL+"/console/", s.ConsoleURL)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.URL + "/console")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/", resp.Header.Get("Location"))
	resp, err = noFollow.Get(s.URL + "/console/signin")
	require.NoError(t, err)
	resp.Body.Close()
	authorize, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, s.FakeOrgURL+"/services/oauth2/authorize", authorize.Scheme+"://"+authorize.Host+authorize.Path, "sign-in at the fake org")
	assert.Equal(t, fakeorg.DemoClientID, authorize.Query().Get("client_id"))
	assert.Equal(t, s.URL+fakeorg.ConsoleCallbackPath, authorize.Query().Get("redirect_uri"))

	// A screen pop before signing in: sent to sign in, the phone number in its URL.
	b := newAgentBrowser(t)
	b.get(s.URL + "/console/start?phone=" + url.QueryEscape(alicePop) + "&channel=Voice+Call&call_id=console-pop")
	require.Equal(t, "/services/oauth2/authorize", b.url.Path)
	b.submit("/services/oauth2/authorize", url.Values{"username": {"agent1@demo.idverify.dev"}, "password": {fakeorg.DemoAgentPassword}})
	require.Equal(t, http.StatusOK, b.status, b.page)
	assert.Equal(t, "/console/start", b.url.Path, "back to the screen pop")
	b.has("Signed in as", "Amara Okafor")

	b.submit("/console/start", url.Values{"phone": {alicePhone}, "channel": {"Voice Call"}, "call_id": {"console-pop"}})
	b.has("Reason for the call")
	b.submit("/reason", url.Values{"reason": {"Change of address"}}).submit("/subject", url.Values{"subject": {"self"}})
	b.has("Questions for the caller")
	b.submit("/answers", url.Values{"v_PersonBirthdate": {aliceBirth}, "v_PersonMobilePhone": {alicePhone}}).has("Verified")

	routes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		assert.NotContains(t, line, aliceDigits, "a log line holds the caller's number")
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		if r, ok := entry["route"].(string); ok && entry["msg"] == "request" {
			routes[r] = true
		}
	}
	for _, want := range []string{"GET /console/start", "POST /console/start", "GET /console/oauth/callback", "GET /console/s/{handle}",
		"POST /console/s/{handle}/{step}"} {
		assert.True(t, routes[want], "the access log has %q: %v", want, routes)
	}
}

// Configured webhooks get their events: a session verified through serve's API reaches a
// receiver as a signed `verified` event that webhook.Verify accepts.
func TestServeDeliversWebhookEvents(t *testing.T) {
	secret := strings.Repeat("w", 32)
	var (
		mu     sync.Mutex
		events []map[string]any
		errs   []error
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e map[string]any
		_ = json.Unmarshal(body, &e)
		mu.Lock()
		events = append(events, e)
		errs = append(errs, webhook.Verify([]byte(secret), r.Header.Get(webhook.SignatureHeader), body, time.Now(), 0))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	s := startDemo(t, func(c *config.Config) {
		c.Events.Webhooks = []config.Webhook{{Name: "crm", URL: receiver.URL + "/hook", Secret: config.Secret(secret),
			Events: []string{"verified", "failed"}, AllowPrivate: true}}
		c.Outbox.MinBackoff = 10 * time.Millisecond
	})
	runScenario(t, apiTarget{urls: []string{s.URL}, key: s.demo.key, adminKey: s.demo.adminKey}, scenarios()[0])
	waitDelivered(t, s)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 1, "one event: the verified session")
	require.NoError(t, errs[0], "the signature verifies")
	assert.Equal(t, "verified", events[0]["type"])
	assert.Equal(t, "demo-call-1", events[0]["engagement"])
}

// A mount on a pattern Run takes itself (the console's while the console is on, the API's,
// /metrics) is an error of Run, not a panic, and Run leaves nothing running.
func TestMountOnATakenPattern(t *testing.T) {
	for _, pattern := range []string{"/console/", "/", "GET /metrics"} {
		t.Run(pattern, func(t *testing.T) {
			cfg, d, err := loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "idverify.db"))
			require.NoError(t, err)
			t.Cleanup(d.close)
			require.True(t, cfg.Console.Enabled, "on by default on demo settings")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			m := &Main{Config: cfg, Listener: ln, Mounts: []Mount{{Pattern: pattern, Handler: http.NotFoundHandler()}}}
			require.ErrorContains(t, m.Run(t.Context()), fmt.Sprintf("mount %q", pattern))
			_, err = net.Dial("tcp", ln.Addr().String())
			assert.Error(t, err, "the listener is closed")
		})
	}
}

// A mount's access log line names a route pattern and the status the client got: the inner
// mux's pattern when it routed the request, the mount's when it matched nothing (its 405 leaves
// r.Pattern empty), and 500 for a handler that panicked after writing 200 (the server aborts
// that answer).
func TestAccessLogOfMounts(t *testing.T) {
	inner := http.NewServeMux()
	inner.HandleFunc("GET /m/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	inner.HandleFunc("GET /m", func(http.ResponseWriter, *http.Request) {})
	inner.HandleFunc("GET /p", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("half an answer"))
		panic("a personal value 5550101")
	})
	for _, tt := range []struct {
		name, method, path, mount, route string
		status                           int
		panics                           bool
	}{
		{"routed by the mount's mux", http.MethodGet, "/m/secret-handle?phone=5550101", "/m/", "GET /m/{id}", http.StatusNoContent, false},
		{"no route in the mount's mux", http.MethodPost, "/m?phone=5550101", "/m", "/m", http.StatusMethodNotAllowed, false},
		{"a panic after 200", http.MethodGet, "/p?phone=5550101", "/p", "GET /p", http.StatusInternalServerError, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			outer := http.NewServeMux()
			outer.Handle(tt.mount, accessLog(inner, slog.New(slog.NewJSONHandler(logs, nil)), metrics.New()))
			serve := func() { outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil)) }
			if tt.panics {
				require.Panics(t, serve, "the panic reaches the server, which aborts the answer")
			} else {
				serve()
			}
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(logs.String()), &entry), logs.String())
			assert.Equal(t, tt.route, entry["route"])
			assert.EqualValues(t, tt.status, entry["status"])
			assert.NotContains(t, logs.String(), "5550101")
			assert.NotContains(t, logs.String(), "secret-handle")
		})
	}
}

// On demo settings the keys an operator gives in files replace the generated ones, wherever
// the *_file key is set: here in the YAML file (the environment's were honoured already).
func TestDemoTakesKeyFilesFromTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	hmacFile, consoleFile, yaml := filepath.Join(dir, "hmac"), filepath.Join(dir, "console"), filepath.Join(dir, "idverify.yaml")
	require.NoError(t, os.WriteFile(hmacFile, []byte(strings.Repeat("h", 32)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(consoleFile, []byte(strings.Repeat("c", 32)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(yaml, []byte("secrets:\n  hmac_key_file: "+hmacFile+"\nconsole:\n  key_file: "+consoleFile+"\n"), 0o600))
	cfg, d, err := loadServeConfig(config.Options{File: yaml}, filepath.Join(dir, "idverify.db"))
	require.NoError(t, err)
	t.Cleanup(d.close)
	assert.Equal(t, strings.Repeat("h", 32), cfg.Secrets.HMACKey.Value())
	assert.Equal(t, strings.Repeat("c", 32), cfg.Console.Key.Value())
	assert.True(t, cfg.Console.Enabled)
}

// On demo settings the console's sign-in is plain http, which only loopback may serve: a
// service listening elsewhere is told what to change, not that a callback must be https.
func TestDemoConsoleNeedsLoopback(t *testing.T) {
	s := startDemo(t, nil)
	for base, ok := range map[string]bool{"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://192.0.2.1:8080": false, "http://[2001:db8::1]:8080": false} {
		m := &Main{Config: s.Config, Engine: s.Engine, FakeOrg: s.FakeOrg, FakeOrgURL: s.FakeOrgURL, URL: base}
		_, err := newConsole(m, nil, nil)
		if ok {
			assert.NoError(t, err, base)
		} else {
			assert.ErrorContains(t, err, "set server.addr to 127.0.0.1:PORT, or console.enabled to false", base)
		}
	}
}
