package outbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

const (
	envChildDB  = "IDVERIFY_OUTBOX_CHILD_DB"
	envChildLog = "IDVERIFY_OUTBOX_CHILD_LOG"
)

// TestSIGKILLLosesNothing runs the worker in a child process on a SQLite store and kills it
// with SIGKILL at random points, again and again, then lets a last child finish. The child's
// Recorder appends each write it takes to a log, as the CRM would keep it: every write must be
// there (nothing lost), each engagement's writes must first arrive in order, and a write may
// arrive again only because a kill came between the CRM taking it and the store settling it
// (what the Recorder's idempotency absorbs: the set of writes is what counts).
func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	db, log := filepath.Join(dir, "idverify.db"), filepath.Join(dir, "crm.log")
	const engagements, writes = 8, 30
	st, err := sqlite.Open(t.Context(), db)
	require.NoError(t, err)
	var want []string
	for i := range writes {
		for e := range engagements {
			key := fmt.Sprintf("e%d-w%02d", e, i)
			want = append(want, key)
			_, err := st.Commit(t.Context(), flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{
				{Key: key, Engagement: fmt.Sprint("call-", e), At: time.Now(), Writeback: flows.Writeback{Key: key}}}})
			require.NoError(t, err)
		}
	}
	require.NoError(t, st.Close())

	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChildDB+"="+db, envChildLog+"="+log)
		return cmd
	}
	r := rand.New(rand.NewPCG(9, 2026))
	// Kill workers (ten at least) until they have taken a third of the writes between them,
	// then let one finish. A child needs tens of milliseconds to start (hundreds with -race or
	// on a busy machine): a kill that came before any delivery makes the next one wait longer.
	kills, calls, slow := 0, 0, time.Duration(0)
	for deadline := time.Now().Add(90 * time.Second); (calls < len(want)/3 || kills < 10) && time.Now().Before(deadline); {
		cmd := child()
		require.NoError(t, cmd.Start())
		time.Sleep(slow + time.Duration(30+r.IntN(150))*time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			kills++
		}
		_ = cmd.Wait()
		data, _ := os.ReadFile(log)
		if n := len(strings.Fields(string(data))); n > calls {
			calls = n
		} else {
			slow = min(slow+50*time.Millisecond, 2*time.Second)
		}
	}
	require.GreaterOrEqual(t, calls, len(want)/3, "the kills must come while the workers deliver")
	out, err := child().CombinedOutput()
	require.NoError(t, err, "the last worker finishes: %s", out)

	data, err := os.ReadFile(log)
	require.NoError(t, err)
	took := strings.Fields(string(data))
	seen := map[string]bool{}
	firsts := map[string][]string{}
	for _, k := range took {
		if !seen[k] {
			seen[k] = true
			eng := k[:strings.IndexByte(k, '-')]
			firsts[eng] = append(firsts[eng], k)
		}
	}
	for _, k := range want {
		assert.True(t, seen[k], "write %s lost", k)
	}
	assert.Len(t, seen, len(want), "nothing the store did not hold")
	for eng, keys := range firsts {
		assert.True(t, slices.IsSorted(keys), "%s in order: %v", eng, keys)
	}
	again := len(took) - len(seen)
	assert.LessOrEqual(t, again, kills*outbox.DefaultBatch, "a write is sent again only after a kill caught it in flight")
	t.Logf("%d kills; %d writes delivered (%d calls by killed workers), %d sent again after a kill", kills, len(seen), calls, again)

	st, err = sqlite.Open(t.Context(), db)
	require.NoError(t, err)
	defer st.Close()
	left, err := st.ListOutbox(t.Context(), 0, 0)
	require.NoError(t, err)
	assert.Empty(t, left, "every write settled")
}

// TestWorkerChild is the child of TestSIGKILLLosesNothing: a worker on the store, with a
// short lease, that exits once nothing is left to deliver.
func TestWorkerChild(t *testing.T) {
	db := os.Getenv(envChildDB)
	if db == "" {
		t.Skip("the child process of TestSIGKILLLosesNothing")
	}
	f, err := os.OpenFile(os.Getenv(envChildLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer f.Close()
	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	defer st.Close()
	rec := &recorder{fail: func(w flows.Writeback) error {
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		_, err := f.WriteString(w.Key + "\n") // one write(2): an append is whole or absent
		return err
	}}
	w := &outbox.Worker{Outbox: st, Recorder: rec, Lease: 300 * time.Millisecond, Poll: 5 * time.Millisecond}
	for {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		left, err := st.ListOutbox(context.Background(), 0, 1)
		require.NoError(t, err)
		if len(left) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	envOrgChild   = "IDVERIFY_FAKEORG_CHILD"
	envDeliverDB  = "IDVERIFY_DELIVER_CHILD_DB"
	envDeliverOrg = "IDVERIFY_DELIVER_CHILD_ORG"
	orgURLLine    = "FAKEORG_URL="
)

// TestSIGKILLWithSalesforce is TestSIGKILLLosesNothing with the real Salesforce adapter and
// the fake org in a process of its own: 80 sessions of five kinds end through the engine on a
// SQLite store, then workers in child processes deliver their write-backs to the org and are
// killed with SIGKILL at random points (the org answers a write-back 50 ms late, so many kills
// land while Salesforce handles one, or after it committed and before the store settled it),
// again and again, until a last worker finishes. The org must then hold each session's outcome
// exactly once: one engagement per call id, one topic, the attendee rows its outcome writes.
func TestSIGKILLWithSalesforce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	orgURL := startOrgProcess(t)
	db := filepath.Join(t.TempDir(), "idverify.db")
	st, err := sqlite.Open(t.Context(), db)
	require.NoError(t, err)
	r := newRigOn(t, st, remoteClient(t, orgURL))
	const sessions = 80
	for i := range sessions {
		g := &agent{t: t, r: r}
		stormKinds[i%len(stormKinds)].run(g, crashID(i))
	}
	require.NoError(t, st.Close())
	adminPost(t, orgURL+"/_fakeorg/faults", `{"path":"*/composite","method":"POST","latency":"50ms"}`)

	pending := func() int {
		st, err := sqlite.Open(t.Context(), db)
		require.NoError(t, err)
		defer st.Close()
		left, err := st.ListOutbox(t.Context(), 0, 0)
		require.NoError(t, err)
		return len(left)
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeliveryChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envDeliverDB+"="+db, envDeliverOrg+"="+orgURL)
		return cmd
	}
	rnd := rand.New(rand.NewPCG(9, 40))
	// Kill workers (ten at least) until a third of the writes are delivered, while a third
	// are left, then let one finish. A kill that came before any delivery makes the next one
	// wait longer.
	kills, slow, left := 0, time.Duration(0), sessions
	for deadline := time.Now().Add(2 * time.Minute); (left > sessions*2/3 || kills < 10) && left > sessions/3 && time.Now().Before(deadline); {
		cmd := child()
		require.NoError(t, cmd.Start())
		time.Sleep(slow + time.Duration(30+rnd.IntN(170))*time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			kills++
		}
		_ = cmd.Wait()
		if n := pending(); n < left {
			left = n
		} else {
			slow = min(slow+100*time.Millisecond, 3*time.Second)
		}
	}
	require.LessOrEqual(t, left, sessions*2/3, "the kills must come while the workers deliver")
	out, err := child().CombinedOutput()
	require.NoError(t, err, "the last worker finishes: %s", out)
	require.Zero(t, pending(), "every write settled, none parked")

	// What landed, counted per engagement.
	reader := remoteClient(t, orgURL)
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = crashID(i)
	}
	landedOnce(t, reader, ids)
	resp, err := http.Get(orgURL + "/_fakeorg/counts")
	require.NoError(t, err)
	defer resp.Body.Close()
	var counts fakeorg.Counts
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	t.Logf("%d kills, %d writes left when the last worker started; %d composite requests for %d write-backs; each outcome in the org once",
		kills, left, counts.Kind(fakeorg.KindComposite), sessions)
}

func crashID(i int) string { return fmt.Sprintf("crash-%03d", i) }

// TestDeliveryChild is the child of TestSIGKILLWithSalesforce: a worker on the store and the
// Salesforce adapter, with a short lease, that exits once nothing is left to deliver.
func TestDeliveryChild(t *testing.T) {
	db := os.Getenv(envDeliverDB)
	if db == "" {
		t.Skip("the child process of TestSIGKILLWithSalesforce")
	}
	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	defer st.Close()
	r := newRigOn(t, st, remoteClient(t, os.Getenv(envDeliverOrg)))
	w := r.worker()
	w.Lease = time.Second // a killed worker's claims come back a second later
	for {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		left, err := st.ListOutbox(context.Background(), 0, 0)
		require.NoError(t, err)
		if len(left) == 0 {
			return
		}
		require.False(t, allParked(left), "parked: %+v", left)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFakeOrgChild is the fake org of TestSIGKILLWithSalesforce, in a process of its own: it
// prints its URL and serves until it is killed.
func TestFakeOrgChild(t *testing.T) {
	if os.Getenv(envOrgChild) == "" {
		t.Skip("the fake org's process of TestSIGKILLWithSalesforce")
	}
	org, err := fakeorg.New(fakeorg.Options{Seed: fakeorg.SeedDemo})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fmt.Println(orgURLLine + "http://" + ln.Addr().String())
	t.Fatal(http.Serve(ln, org.Handler()))
}

// startOrgProcess starts TestFakeOrgChild and returns its URL; the process is killed when the
// test ends.
func startOrgProcess(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeOrgChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envOrgChild+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), orgURLLine); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return url
		}
	}
	t.Fatal("the fake org's process printed no URL")
	return ""
}

// remoteClient is an sfdc client of the demo org at url, which retries soon.
func remoteClient(t testing.TB, url string) *sfdc.Client {
	t.Helper()
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: url, ClientID: fakeorg.DemoClientID,
		ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername, Password: fakeorg.DemoPassword},
		RetryWaitMin: time.Millisecond, RetryWaitMax: 4 * time.Millisecond})
	require.NoError(t, err)
	return c
}

// adminPost posts a JSON body to the fake org's admin endpoint.
func adminPost(t testing.TB, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "admin endpoint answered %s", resp.Status)
}
