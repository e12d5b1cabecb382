package outbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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
