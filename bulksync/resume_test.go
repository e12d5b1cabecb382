package bulksync_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// The child side of TestResumeAfterKill: this test binary, run again with BULKSYNC_CHILD set,
// syncs one file against the parent's fake org and exits 0 when the sync completed.
func TestMain(m *testing.M) {
	if os.Getenv("BULKSYNC_CHILD") != "" {
		os.Exit(childSync())
	}
	os.Exit(m.Run())
}

func childSync() int {
	env := os.Getenv
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: env("BULKSYNC_ORG"),
		ClientID: fakeorg.DemoClientID, ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername,
		Password: fakeorg.DemoPassword}, RetryWaitMin: time.Millisecond, RetryWaitMax: 4 * time.Millisecond})
	if err != nil {
		return 1
	}
	_, err = bulksync.Run(context.Background(), bulksync.Options{Input: env("BULKSYNC_INPUT"), Client: c,
		Checkpoint: env("BULKSYNC_INPUT") + ".checkpoint", Report: env("BULKSYNC_INPUT") + ".report",
		Via: bulksync.Via(env("BULKSYNC_VIA")), BulkRound: 250, BulkMinRecords: 1,
		Poll: sfdc.Poll{Min: time.Millisecond, Max: 5 * time.Millisecond}, Backoff: time.Millisecond,
		// The parent kills the child after the org has acted on a request, or before it has
		// read one: no write is still running when the next run looks.
		Settle: time.Millisecond})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 3
	}
	return 0
}

// killer kills the running child with SIGKILL when the org receives its k-th data request
// (describes aside: each run starts with them, and a kill there tests nothing): before the org
// reads it (the request is lost) or after the org has acted on it (the answer is lost).
type killer struct {
	mu    sync.Mutex
	child *os.Process
	seen  atomic.Int64
	at    atomic.Int64 // the request number to kill at; 0: none
	after atomic.Bool
	kills atomic.Int64
}

func (k *killer) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/services/data/") || strings.HasSuffix(r.URL.Path, "/describe") {
			next.ServeHTTP(w, r)
			return
		}
		if n := k.seen.Add(1); n == k.at.Load() {
			if k.after.Load() {
				next.ServeHTTP(httptest.NewRecorder(), r)
			}
			k.mu.Lock()
			if k.child != nil {
				_ = k.child.Kill()
				k.kills.Add(1)
			}
			k.mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	for _, tt := range []struct {
		via  bulksync.Via
		rows int
		// A kill comes within this many data requests: fewer than a resumed round makes (5
		// through collections: upsert, check, two attendee creates, topic create; 13 or more
		// through jobs), so that every run until the eighth is killed, at a random point of
		// the round in progress, and the test does not depend on luck to kill often enough.
		span int64
		// Several rounds each (200 rows through collections, 250 in the child's jobs).
	}{{bulksync.ViaCollections, 450, 5}, {bulksync.ViaBulk, 600, 12}} {
		t.Run(string(tt.via), func(t *testing.T) {
			t.Parallel()
			k := &killer{}
			org, people := newOrg(t, sfdctest.WithMiddleware(k.middleware))
			in := writeJSONL(t, t.TempDir(), 0, tt.rows, people)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rnd := rand.New(rand.NewPCG(seed, 12))
			done := false
			for run := 0; run < 40 && !done; run++ {
				k.at.Store(0)
				if run < 8 { // then let it finish
					k.at.Store(k.seen.Load() + 1 + rnd.Int64N(tt.span))
					k.after.Store(rnd.IntN(2) == 0)
				}
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "BULKSYNC_CHILD=1", "BULKSYNC_ORG="+org.URL(), "BULKSYNC_INPUT="+in,
					"BULKSYNC_VIA="+string(tt.via))
				var stderr strings.Builder
				cmd.Stderr = &stderr
				require.NoError(t, cmd.Start())
				k.mu.Lock()
				k.child = cmd.Process
				k.mu.Unlock()
				err := cmd.Wait()
				k.mu.Lock()
				k.child = nil
				k.mu.Unlock()
				var exit *exec.ExitError
				switch {
				case err == nil:
					done = true
				case errors.As(err, &exit) && exit.ExitCode() == 3: // stopped, resumable (e.g. after a 502)
				case errors.As(err, &exit) && exit.ExitCode() == -1: // killed
				default:
					t.Fatalf("run %d: %v: %s", run, err, stderr.String())
				}
			}
			require.True(t, done, "the sync never completed")
			t.Logf("%d kills", k.kills.Load())
			assert.GreaterOrEqual(t, k.kills.Load(), int64(3), "the test killed too rarely to mean much")
			assert.Equal(t, census{tt.rows, 2 * tt.rows, tt.rows}, takeCensus(t, org), "every row exactly once")
		})
	}
}
