package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// demoService is `idverify serve` on demo settings, in-process, on a loopback port, with its
// log captured as JSON.
type demoService struct {
	*Main
	demo *demo
	logs *syncBuffer
}

// startDemo runs the service as `serve` does without Salesforce credentials; change, when not
// nil, adjusts the loaded configuration first.
func startDemo(t *testing.T, change func(*config.Config)) *demoService {
	t.Helper()
	cfg, d, err := loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	require.NotNil(t, d, "no Salesforce credentials: demo settings")
	if change != nil {
		change(cfg)
	}
	logs := &syncBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := &Main{Config: cfg, Listener: ln,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return &demoService{Main: m, demo: d, logs: logs}
}

// call sends one step of a walk with key and returns the status and the decoded answer.
func call(t *testing.T, base, key string, s demoStep, session string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequest(s.method, base+strings.ReplaceAll(s.path, "$S", session), body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if s.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// scenario is a walk with what its steps must answer.
type scenario struct {
	name  string
	steps []demoStep
	// statuses are the answers' statuses by step index where not 2xx.
	statuses map[int]int
	// admin marks the steps sent with the admin key.
	admin map[int]bool
	// outcome is the last session answer's outcome.
	outcome string
}

// scenarios are every scenario of the source process against the demo org: the banner's two
// walks, then the other endings.
func scenarios() []scenario {
	demo := orgdb.Demo()
	id := func(key string) string { p, _ := demo.Person(key); return p.ID }
	post := func(path, body string) demoStep { return demoStep{method: "POST", path: path, body: body} }
	start := func(body string) demoStep { return post("/v1/sessions", body) }
	reason := func(v int, r string) demoStep {
		return post("/v1/sessions/$S/reason", fmt.Sprintf(`{"version":%d,"reason":%q}`, v, r))
	}
	subject := func(v int, s string) demoStep {
		return post("/v1/sessions/$S/subject", fmt.Sprintf(`{"version":%d,"subject":%q}`, v, s))
	}
	wrong := func(v int) demoStep {
		return post("/v1/sessions/$S/answers", fmt.Sprintf(`{"version":%d,"answers":[{"field":"PersonBirthdate","value":"01/01/1990"}]}`, v))
	}
	walks := demoWalks()
	out := []scenario{
		{name: "self with a registered number (the banner's first walk)", steps: walks[0].steps, outcome: "verified"},
		{name: "representative and customer (the banner's second walk)", steps: walks[1].steps, outcome: "verified"},
		// After the first walk: the call is transferred, the new agent's session on the same
		// engagement passes Alice without questions (her verified mark, within verified_ttl).
		{name: "a transfer reuses the verified mark", outcome: "verified", steps: []demoStep{
			start(`{"phone":"+14155550101","external_id":"demo-call-1"}`), reason(1, "Change of address"), subject(2, "self"),
		}},
		{name: "self searched", outcome: "verified", steps: []demoStep{
			start(`{"phone":"+1 415 555 0999","external_id":"s-searched"}`), reason(1, "Change of address"), subject(2, "self"),
			post("/v1/sessions/$S/search", `{"version":3,"search_type":"customer","keywords":"Bruno Silva"}`),
			post("/v1/sessions/$S/select", fmt.Sprintf(`{"version":4,"record":%q}`, id("bruno"))),
			post("/v1/sessions/$S/answers", `{"version":5,"answers":[{"field":"PersonBirthdate","value":"30/11/1979"},{"field":"PersonMobilePhone","value":"07700 900123"}]}`),
		}},
		{name: "several phone matches", outcome: "verified", steps: []demoStep{
			start(`{"phone":"+14155550107","external_id":"s-several"}`), reason(1, "Lost or stolen card"), subject(2, "self"),
			post("/v1/sessions/$S/search", `{"version":3,"search_type":"customer","keywords":"George Brown"}`),
			post("/v1/sessions/$S/select", fmt.Sprintf(`{"version":4,"record":%q}`, id("george"))),
			post("/v1/sessions/$S/answers", `{"version":5,"answers":[{"field":"PersonBirthdate","value":"17 September 1955"},{"field":"PersonMobilePhone","value":"+1 (415) 555-0108"}]}`),
		}},
		{name: "not identified", outcome: "not_identified", steps: []demoStep{
			start(`{"phone":"+1 415 555 0999","external_id":"s-unknown"}`), reason(1, "Account balance"), subject(2, "self"),
			post("/v1/sessions/$S/search", `{"version":3,"search_type":"customer","keywords":"Zebedee Nobody"}`),
			post("/v1/sessions/$S/not-identified", `{"version":4}`),
		}},
		{name: "failed", outcome: "failed", steps: []demoStep{
			start(`{"phone":"+14155550101","external_id":"s-failed"}`), reason(1, "Change of address"), subject(2, "self"), wrong(3),
		}},
		{name: "not required", outcome: "not_required", steps: []demoStep{
			start(`{"phone":"+14155550101","external_id":"s-hours"}`), reason(1, "Opening hours and branches"),
		}},
		{name: "new customer", outcome: "new_customer", steps: []demoStep{
			start(`{"lead":{"first_name":"Ada","last_name":"Quinn","company":"Quinn Labs","email":"ada@quinn.example"},"channel":"In Person","external_id":"s-new"}`),
			reason(1, "Change of address"), subject(2, "self"),
		}},
		{name: "cancel", outcome: "cancelled", steps: []demoStep{
			start(`{"phone":"+14155550101","external_id":"s-cancel"}`), reason(1, "Change of address"),
			post("/v1/sessions/$S/cancel", `{"version":2}`),
		}},
		{name: "the outbox, as an admin sees it", admin: map[int]bool{0: true}, steps: []demoStep{
			{method: "GET", path: "/v1/admin/outbox"},
		}},
	}
	// Locked: Dmitri's fifth wrong answer (lockout.max_failures) locks him; a sixth session is
	// refused at his questions until an admin resets him, then he is verified.
	locked := scenario{name: "locked, and the admin's reset", outcome: "verified", statuses: map[int]int{}, admin: map[int]bool{}}
	for i := range 5 {
		locked.steps = append(locked.steps, start(fmt.Sprintf(`{"phone":"+14155550104","external_id":"s-locked-%d"}`, i)),
			reason(1, "Change of address"), subject(2, "self"), wrong(3))
	}
	locked.steps = append(locked.steps, start(`{"phone":"+14155550104","external_id":"s-locked-5"}`), reason(1, "Change of address"),
		subject(2, "self"))
	locked.statuses[len(locked.steps)-1] = http.StatusLocked
	locked.admin[len(locked.steps)] = true
	locked.steps = append(locked.steps,
		post("/v1/admin/lockouts/"+id("dmitri")+"/reset", `{"reason":"demo: the caller proved who they are in a branch"}`),
		start(`{"phone":"+14155550104","external_id":"s-locked-6"}`), reason(1, "Change of address"), subject(2, "self"),
		post("/v1/sessions/$S/answers", `{"version":3,"answers":[{"field":"PersonBirthdate","value":"29/02/1968"},{"field":"PersonMobilePhone","value":"+14155550104"}]}`))
	return append(out, locked)
}

// apiTarget is where a scenario's steps go: step i to urls[i % len(urls)] (several replicas
// take turns), with the API key, or the admin key where the scenario says so.
type apiTarget struct {
	urls          []string
	key, adminKey string
}

// runScenario sends sc's steps and checks their statuses and its outcome; it returns how many
// sessions the scenario ended (each queues one write to Salesforce).
func runScenario(t *testing.T, to apiTarget, sc scenario) (ended int) {
	t.Helper()
	var session string
	var last map[string]any
	for i, step := range sc.steps {
		key := to.key
		if sc.admin[i] {
			key = to.adminKey
		}
		status, body := call(t, to.urls[i%len(to.urls)], key, step, session)
		if want, ok := sc.statuses[i]; ok {
			require.Equal(t, want, status, "step %d (%s): %v", i, step.path, body)
			continue
		}
		require.Less(t, status, 300, "step %d (%s): %v", i, step.path, body)
		if step.path == "/v1/sessions" {
			session, _ = body["session"].(string)
		}
		if _, ok := body["session"]; ok {
			if body["outcome"] != nil && (last == nil || last["outcome"] == nil || last["session"] != body["session"]) {
				ended++
			}
			last = body
		}
	}
	if sc.outcome != "" {
		require.NotNil(t, last)
		assert.Equal(t, sc.outcome, last["outcome"], "%v", last)
	}
	return ended
}

// Every scenario over HTTP against the embedded fake org, through the whole service; then no
// log line and no metric holds a personal value of the demo org or of an answer.
func TestEveryScenarioOverHTTP(t *testing.T) {
	s := startDemo(t, func(c *config.Config) {
		c.Server.RateLimit.PersonBurst = 100 // the lockout scenario answers about one person often
	})
	to := apiTarget{urls: []string{s.URL}, key: s.demo.key, adminKey: s.demo.adminKey}
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, to, sc) })
	}
	waitDelivered(t, s)

	// The engagements reached the fake org.
	status, body := call(t, s.URL, s.demo.adminKey, demoStep{method: "GET", path: "/v1/admin/outbox"}, "")
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, body["entries"], "every write delivered, none parked: %v", body)

	metricsText := scrape(t, s.URL, s.demo.key, http.StatusOK)
	for _, want := range []string{`idverify_outcomes_total{outcome="verified"} 6`, `idverify_outcomes_total{outcome="locked"} 1`,
		`idverify_lockouts_total 1`, `idverify_outbox_deliveries_total{result="delivered"}`, `idverify_salesforce_requests_total{result="2xx"}`,
		`idverify_salesforce_api_usage `, `idverify_outbox_depth{status="pending"} 0`, `idverify_sqlite_checkpoint_errors_total 0`,
		`idverify_http_requests_total{key="demo",route="POST /v1/sessions/{id}/answers",status="200"}`} {
		assert.True(t, strings.Contains(string(metricsText), want), "/metrics lacks %s", want)
	}

	// A softphone's screen pop carries the caller's number in its URL; the console's access
	// log names the route only. (TestConsoleOnDemoSettings pops it signed in.)
	pop, err := http.Get(s.URL + "/console/start?phone=" + url.QueryEscape(alicePop) + "&channel=Voice+Call&call_id=pop-1")
	require.NoError(t, err)
	pop.Body.Close()
	require.Contains(t, s.logs.String(), `"route":"GET /console/start"`)

	personal := personalValues(scenarios())
	require.Greater(t, len(personal), 50)
	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	require.Greater(t, len(lines), 50, "the access log logged the requests")
	for _, line := range lines {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		assert.NotContains(t, line, aliceDigits, "log line holds a caller's number")
		for _, text := range stringsIn(entry) {
			for _, p := range personal {
				assert.False(t, p.re.MatchString(text), "log line holds %q: %s", p.value, line)
			}
		}
	}
	for _, line := range strings.Split(string(metricsText), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			line = line[:i] // the sample's value is a number
		}
		for _, p := range personal {
			assert.False(t, p.re.MatchString(line), "metric holds %q: %s", p.value, line)
		}
	}
}

// waitDelivered waits until the outbox has delivered every write.
func waitDelivered(t *testing.T, s *demoService) {
	t.Helper()
	require.Eventually(t, func() bool {
		list, err := s.Store.ListOutbox(context.Background(), 0, 10)
		return err == nil && len(list) == 0
	}, 30*time.Second, 50*time.Millisecond, "the outbox delivers every write")
}

type personalValue struct {
	value string
	re    *regexp.Regexp
}

// personalValues are the demo org's people's values and every value the scenarios sent
// (answers, keywords, search fields, phone numbers, a new customer's details), each matched as
// a whole word, and phone numbers also by their digits.
func personalValues(scs []scenario) []personalValue {
	seen := map[string]bool{}
	var out []personalValue
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) < 3 || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, personalValue{v, regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}])` + regexp.QuoteMeta(v) + `($|[^\p{L}\p{N}])`)})
	}
	digits := func(v string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, v)
	}
	for _, p := range orgdb.Demo().People {
		for _, v := range []string{p.FirstName, p.LastName, p.Name(), p.Birthdate, p.Phone, p.MobilePhone, p.HomePhone, p.Email, p.PostalCode} {
			add(v)
		}
		for _, v := range []string{p.Phone, p.MobilePhone, p.HomePhone} {
			add(digits(v))
		}
	}
	for _, sc := range scs {
		for _, step := range sc.steps {
			var body map[string]any
			if json.Unmarshal([]byte(step.body), &body) != nil {
				continue
			}
			for _, k := range []string{"phone", "keywords"} {
				if v, ok := body[k].(string); ok {
					add(v)
					add(digits(v))
				}
			}
			for _, k := range []string{"fields", "lead"} {
				if m, ok := body[k].(map[string]any); ok {
					for _, v := range m {
						add(fmt.Sprint(v))
					}
				}
			}
			if answers, ok := body["answers"].([]any); ok {
				for _, a := range answers {
					if v, ok := a.(map[string]any)["value"].(string); ok {
						add(v)
						add(digits(v))
					}
				}
			}
		}
	}
	return out
}

// stringsIn returns every string in a decoded JSON value, keys of objects included.
func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

// The commands the banner prints work when pasted into a shell, all at once as a newcomer
// pastes them: run through sh and curl, they verify both callers, and the fake org's queries,
// run right after, show the engagements (the outbox writes them a second or so after each
// outcome, and nothing here waits for it but the script itself).
func TestBannerCommandsWork(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "sed", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the printed commands need %s, which this machine does not have", tool)
		}
	}
	s := startDemo(t, nil)
	var banner bytes.Buffer
	printBanner(&banner, s.Main, s.demo)
	script := banner.String()[strings.Index(banner.String(), "IDV="):]
	require.Contains(t, script, "ORG=", "the banner shows the fake org")

	out := runShell(t, script)
	assert.Equal(t, 2, strings.Count(out, `"outcome":"verified"`), out)
	assert.Equal(t, 2, strings.Count(out, `"verified":true`), out)
	assert.NotContains(t, out, `"type":"tag:idverify`, "no step answered a problem")
	for _, want := range []string{`"ExternalIdentifier":"demo-call-1"`, `"ExternalIdentifier":"demo-call-2"`, `"Role":"OnBehalf"`,
		`"IsAttendeeVerified":true`, `"Name":"Account balance"`} {
		assert.Contains(t, out, want)
	}
}

func runShell(t *testing.T, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// The quick start: the built binary, run as `idverify serve` with nothing configured, prints
// the banner, answers /readyz, verifies a caller through the printed commands, walks every
// scenario over HTTP, and stops on SIGINT, deleting its temporary store.
func TestQuickStartSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the child with SIGINT, which Windows cannot send")
	}
	bin := buildBinary(t)
	// Nothing configured but a higher burst of answers on one person: the lockout scenario
	// below answers about one person six times in a row.
	proc := startProcess(t, bin, []string{"IDVERIFY_SERVER_RATE_LIMIT_PERSON_BURST=100"}, "serve", "--addr", "127.0.0.1:0")
	banner := proc.waitBanner(t)
	apiURL := regexp.MustCompile(`API:\s+(http://\S+)`).FindStringSubmatch(banner)
	require.NotNil(t, apiURL, banner)
	resp, err := http.Get(apiURL[1] + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The banner's console answers: it sends the browser to sign in at the fake org.
	consoleURL := regexp.MustCompile(`console:\s+(http://\S+)`).FindStringSubmatch(banner)
	require.NotNil(t, consoleURL, banner)
	resp, err = http.Get(consoleURL[1])
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/services/oauth2/authorize", resp.Request.URL.Path, "the fake org's login page")
	assert.Contains(t, string(page), "agent1@demo.idverify.dev", "it offers the demo agents")

	walked := 0 // the banner's walks, when curl ran them
	if _, err := exec.LookPath("curl"); err == nil {
		walked = len(demoWalks())
		walks, _, _ := strings.Cut(banner[strings.Index(banner, "IDV="):], "ORG=")
		out := runShell(t, walks)
		assert.Equal(t, 2, strings.Count(out, `"outcome":"verified"`), out)
	}

	// Every other scenario, through the binary, with the keys the banner printed (a second run
	// of the banner's walks on their engagements would reuse their verified marks).
	keys := regexp.MustCompile(`API key:\s+(\S+)\n\s+admin API key:\s+(\S+)`).FindStringSubmatch(banner)
	require.NotNil(t, keys, banner)
	to := apiTarget{urls: []string{apiURL[1]}, key: keys[1], adminKey: keys[2]}
	for _, sc := range scenarios()[walked:] {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, to, sc) })
	}

	db := regexp.MustCompile(`store:\s+SQLite at (\S+) \(deleted at exit\)`).FindStringSubmatch(banner)
	require.NotNil(t, db, banner)
	require.FileExists(t, db[1])
	require.NoError(t, proc.cmd.Process.Signal(os.Interrupt))
	require.NoError(t, proc.wait(t), "stderr: %s", proc.stderr.String())
	assert.NoFileExists(t, db[1], "the demo's temporary store is deleted at exit")
	assert.Contains(t, proc.stderr.String(), "stopped")
}

// buildBinary builds cmd/idverify into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "idverify")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// serveProcess is `idverify serve` (or fake-org) running as a child process.
type serveProcess struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan error
}

// startProcess starts bin with args (serve, fake-org), in an environment of env plus this
// process's without its IDVERIFY_* variables; it is killed at the end of the test if still
// running.
func startProcess(t *testing.T, bin string, env []string, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &serveProcess{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitBanner waits for the whole banner (its last line is the fake org's last query).
func (p *serveProcess) waitBanner(t *testing.T) string {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.stdout.String(), "FROM EngagementTopic") },
		time.Minute, 50*time.Millisecond, "stdout: %s\nstderr: %s", p.stdout, p.stderr)
	return p.stdout.String()
}

// waitReady waits until the process answers /readyz at base.
func (p *serveProcess) waitReady(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "stderr: %s", p.stderr)
}

// wait waits for the process to exit, at most a minute.
func (p *serveProcess) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of SIGINT")
		return nil
	}
}

// Where the configuration sets its own API keys or store, the banner does not offer the demo's.
func TestBannerWhenTheConfigurationOverridesTheDemo(t *testing.T) {
	s := startDemo(t, func(c *config.Config) {
		c.Server.APIKeys = []config.APIKey{{Name: "mine", SHA256: strings.Repeat("ab", 32)}}
		c.Store.DSN = config.Secret(filepath.Join(t.TempDir(), "mine.db"))
	})
	var banner bytes.Buffer
	printBanner(&banner, s.Main, s.demo)
	assert.NotContains(t, banner.String(), s.demo.key)
	assert.Contains(t, banner.String(), "KEY=YOUR_KEY")
	assert.Contains(t, banner.String(), "store:          sqlite (store.dsn)")
	assert.NotContains(t, banner.String(), "mine.db", "the DSN is a secret")
}

// scrape GETs /metrics with key ("" for none), checks the status and returns the body.
func scrape(t *testing.T, base, key string, status int) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s", body)
	return body
}

// /metrics is the API's, as every route but the health checks: it names the API's clients (key
// names), the verifications' volumes and outcomes and the org's daily API usage, so it needs a
// key (Prometheus sends one: scrape_config's authorization), is access-logged and counted.
func TestMetricsNeedAKey(t *testing.T) {
	s := startDemo(t, nil)
	for name, key := range map[string]string{"no key": "", "a wrong key": s.demo.key + "x"} {
		t.Run(name, func(t *testing.T) {
			body := scrape(t, s.URL, key, http.StatusUnauthorized)
			assert.NotContains(t, string(body), "idverify_http_requests_total")
		})
	}
	scrape(t, s.URL, s.demo.key, http.StatusOK)
	assert.Contains(t, string(scrape(t, s.URL, s.demo.key, http.StatusOK)),
		`idverify_http_requests_total{key="demo",route="GET /metrics",status="200"} 1`)
	assert.Contains(t, s.logs.String(), `"route":"GET /metrics","status":401`)
}

// Main.Mounts serve beside the API (and the console) on its listener, and Close drains a request in flight: the
// listener stops taking connections, the request still gets its answer, then Close returns.
func TestMountsAndGracefulClose(t *testing.T) {
	cfg, d, err := loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	started, release := make(chan struct{}), make(chan struct{})
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/extra/slow" {
			close(started)
			<-release
		}
		_, _ = io.WriteString(w, "extra")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := &Main{Config: cfg, Listener: ln, Mounts: []Mount{{Pattern: "/extra/", Handler: extra}}}
	require.NoError(t, m.Run(t.Context()))

	get := func(path string) (int, string, error) {
		resp, err := http.Get(m.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	status, body, err := get("/extra/")
	require.NoError(t, err)
	assert.Equal(t, "extra", body, "the mount answers its pattern")
	status, _, err = get("/healthz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "the API answers the rest")
	assert.Contains(t, string(scrape(t, m.URL, d.key, http.StatusOK)), "idverify_http_requests_total")

	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		s, b, err := get("/extra/slow")
		inflight <- result{s, b, err}
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	require.Eventually(t, func() bool {
		_, _, err := get("/healthz")
		return err != nil
	}, 30*time.Second, 10*time.Millisecond, "the listener stops taking connections")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	r := <-inflight
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "extra", r.body)
	require.NoError(t, <-closed)
}

func TestLoggerLevelAndFormat(t *testing.T) {
	for _, tt := range []struct {
		log        config.Log
		json       bool
		debugShown bool
	}{
		{config.Log{Level: "debug", Format: "json"}, true, true},
		{config.Log{Level: "info", Format: "text"}, false, false},
		{config.Log{Level: "warn", Format: "auto"}, true, false}, // not a terminal: JSON
	} {
		var buf bytes.Buffer
		log := newLogger(tt.log, &buf)
		log.Debug("quiet")
		log.Warn("loud", "n", 1)
		assert.Equal(t, tt.debugShown, strings.Contains(buf.String(), "quiet"), "%+v", tt.log)
		assert.Contains(t, buf.String(), "loud")
		assert.Equal(t, tt.json, strings.HasPrefix(buf.String(), "{"), "%+v: %s", tt.log, buf.String())
	}
}

// With Salesforce credentials there is no demo: the configuration is the operator's alone, and
// --db (the demo's file) is refused.
func TestLoadServeConfigWithCredentials(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	t.Setenv(config.EnvFile, filepath.Join(filepath.Dir(file), "..", "..", "examples", "idverify.yaml"))
	t.Setenv("IDVERIFY_SALESFORCE_AUTH", "password")
	t.Setenv("IDVERIFY_SALESFORCE_LOGIN_URL", "http://127.0.0.1:8089")
	t.Setenv("IDVERIFY_SALESFORCE_CLIENT_ID", "idverify-demo")
	t.Setenv("IDVERIFY_SALESFORCE_CLIENT_SECRET", "idverify-demo-secret")
	t.Setenv("IDVERIFY_SALESFORCE_USERNAME", "integration@demo.idverify.dev")
	t.Setenv("IDVERIFY_SALESFORCE_PASSWORD", "demo-password")
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", strings.Repeat("k", 32))

	cfg, d, err := loadServeConfig(config.Options{}, "")
	require.NoError(t, err)
	assert.Nil(t, d)
	assert.Empty(t, cfg.Server.APIKeys, "no demo keys")
	assert.Equal(t, "idverify.db", cfg.Store.DSN.Value(), "the file's store, not a temporary one")

	_, _, err = loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "demo.db"))
	require.ErrorContains(t, err, "--db is for the demo only")

	t.Setenv("IDVERIFY_SALESFORCE_AUTH", "")
	t.Setenv("IDVERIFY_SALESFORCE_PASSWORD", "")
	t.Setenv("IDVERIFY_SALESFORCE_CLIENT_SECRET", "")
	t.Setenv("IDVERIFY_SALESFORCE_USERNAME", "")
	t.Setenv("IDVERIFY_SALESFORCE_CLIENT_ID", "")
	t.Setenv("IDVERIFY_SALESFORCE_LOGIN_URL", "")
	cfg, d, err = loadServeConfig(config.Options{}, "")
	require.NoError(t, err)
	require.NotNil(t, d)
	defer d.close()
	assert.Equal(t, strings.Repeat("k", 32), cfg.Secrets.HMACKey.Value(), "a configured key beats the generated one")
	assert.Len(t, cfg.Server.APIKeys, 2, "the demo's keys where none are configured")

	// A real org named without salesforce.auth is a mistake, not a demo.
	t.Setenv("IDVERIFY_SALESFORCE_LOGIN_URL", "https://acme.my.salesforce.com")
	_, d2, err := loadServeConfig(config.Options{}, "")
	require.ErrorContains(t, err, "salesforce.login_url is set")
	assert.Nil(t, d2)
}

// README.md's walk is the banner's: each of its step commands is one the banner prints (and
// TestBannerCommandsWork runs).
func TestREADMEWalkIsTheBanners(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	require.NoError(t, err)
	var script bytes.Buffer
	writeDemoScript(&script, "http://127.0.0.1:8080", "KEY")
	n := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "idv -d ") || strings.HasPrefix(line, `idv "`) || strings.HasPrefix(line, "idv() ") {
			assert.Contains(t, script.String(), line+"\n")
			n++
		}
	}
	assert.Greater(t, n, 10, "README.md walks through a representative's verification")
}

// When the drain runs out (server.shutdown_timeout), Close cancels the requests still running
// and waits for their handlers to return before it closes the store: a handler that stops on
// its context and then touches the store finds it open, and Close returns only after it.
func TestCloseWaitsForCancelledHandlers(t *testing.T) {
	cfg, _, err := loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	cfg.Server.ShutdownTimeout = 50 * time.Millisecond
	var m *Main
	started, cancelled, proceed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	storeErr := make(chan error, 1)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // past the shutdown timeout, until Close cancels it
		close(cancelled)
		<-proceed
		_, err := m.Store.ListOutbox(context.Background(), 0, 1)
		storeErr <- err
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	waiting := &onMessage{msg: msgCancelledRequests, seen: make(chan struct{})}
	m = &Main{Config: cfg, Listener: ln, Logger: slog.New(waiting), Mounts: []Mount{{Pattern: "/slow", Handler: slow}}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() {
		select {
		case <-proceed:
		default:
			close(proceed) // a failed run: let the handler go
		}
	})

	go func() {
		if resp, err := http.Get(m.URL + "/slow"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a handler was running", err)
	case <-waiting.seen:
	}
	<-cancelled // the handler saw its context end
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a cancelled handler was running", err)
	default:
	}
	close(proceed)
	require.NoError(t, <-storeErr, "the store is open while a handler runs")
	err = <-closed
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Close says the drain ran out")
	assert.ErrorContains(t, err, "draining requests")
}

// onMessage is a slog.Handler that closes seen when a record with message msg is logged.
type onMessage struct {
	msg  string
	seen chan struct{}
	once sync.Once
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *onMessage) WithGroup(string) slog.Handler            { return h }
func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}

// A handler that ignores its cancelled context: Close gives up waiting after another
// server.shutdown_timeout, says so, and leaves the store open under it rather than close it.
func TestCloseLeavesTheStoreToAHandlerThatWillNotStop(t *testing.T) {
	cfg, _, err := loadServeConfig(config.Options{}, filepath.Join(t.TempDir(), "idverify.db"))
	require.NoError(t, err)
	cfg.Server.ShutdownTimeout = 50 * time.Millisecond
	var m *Main
	started, release := make(chan struct{}), make(chan struct{})
	storeErr := make(chan error, 1)
	stubborn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, err := m.Store.ListOutbox(context.Background(), 0, 1)
		storeErr <- err
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m = &Main{Config: cfg, Listener: ln, Mounts: []Mount{{Pattern: "/stubborn", Handler: stubborn}}}
	require.NoError(t, m.Run(t.Context()))
	go func() {
		if resp, err := http.Get(m.URL + "/stubborn"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-started
	err = m.Close()
	assert.ErrorContains(t, err, "requests still running 50ms after they were cancelled (1)")
	assert.ErrorContains(t, err, "the store and the org are left open")
	close(release)
	require.NoError(t, <-storeErr, "the store is open")
	require.NoError(t, m.Store.Close())
	m.org.stop()
}

// The server's handlers counted for Close: one running holds Close's wait open until it
// returns; once Close waits, a request that arrives anyway (read on a connection as the server
// closed) is answered 503 with the connection closed, and never reaches the handler, which
// would find the store closed.
func TestRequestsRefusedOnceClosing(t *testing.T) {
	var reqs requests
	entered, release := make(chan struct{}), make(chan struct{})
	calls := 0
	h := reqs.track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
	}))
	served := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slow", nil))
		served <- rec.Code
	}()
	<-entered
	require.Equal(t, 1, reqs.running())
	idle := reqs.close()
	select {
	case <-idle:
		t.Fatal("idle while a handler runs")
	default:
	}

	late := httptest.NewRecorder()
	h.ServeHTTP(late, httptest.NewRequest(http.MethodGet, "/late", nil))
	assert.Equal(t, http.StatusServiceUnavailable, late.Code)
	assert.Equal(t, "close", late.Header().Get("Connection"))
	assert.Equal(t, 1, reqs.running(), "the late request is not counted")

	close(release)
	assert.Equal(t, http.StatusOK, <-served)
	<-idle // closed when the last handler returned
	assert.Equal(t, 0, reqs.running())
	assert.Equal(t, 1, calls, "the late request never reached the handler")

	var none requests
	select {
	case <-none.close():
	default:
		t.Fatal("with no handler running, close is idle at once")
	}
}
