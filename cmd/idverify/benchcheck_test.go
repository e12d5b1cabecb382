package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/config"
)

// The serve benchmark's sessions are checked as it checks them: its callers are verified, and
// a session that ends otherwise is an error. A wrong answer is answered 200 (outcome "failed");
// with one person calling, five of them locked the person and the benchmark stopped at the
// next 423, but its 2,000 callers call a few times each, so it measured failed verifications
// as if they were the verifications it reports.
func TestBenchSessionsAreVerified(t *testing.T) {
	s := startDemo(t, func(c *config.Config) {
		c.Server.RateLimit = config.RateLimit{KeyPerSecond: 1e9, KeyBurst: 1e9, PersonPerMinute: 1e9, PersonBurst: 1e9}
	})
	callers := benchCallers(t, s.Main)
	require.Len(t, callers, benchCallerCount)
	wrong := func(c benchCaller) benchCaller {
		steps := append([]demoStep(nil), c.steps...)
		last := &steps[len(steps)-1]
		last.body = strings.Replace(last.body, "/19", "/18", 1) // born a century earlier: not theirs
		return benchCaller{steps: steps}
	}
	for _, tc := range []struct {
		name     string
		caller   benchCaller
		verified bool
	}{
		{name: "the first caller", caller: callers[0], verified: true},
		{name: "the last caller", caller: callers[len(callers)-1], verified: true},
		{name: "a wrong birth date", caller: wrong(callers[1])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &loadConn{addr: strings.TrimPrefix(s.URL, "http://")}
			defer conn.close()
			var id string
			var err error
			for i := range tc.caller.steps {
				if id, err = tc.caller.step(conn, s.demo.key, i, id); err != nil {
					break
				}
			}
			if tc.verified {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, `ended "failed"`)
			}
		})
	}
}

func TestVariantFile(t *testing.T) {
	for _, tc := range []struct{ path, name, want string }{
		{"cpu.prof", "BenchmarkServeSteps/sqlite/no-outbox", "cpu-sqlite-no-outbox.prof"},
		{"/tmp/t.out", "BenchmarkServeSteps/sqlite/outbox/paced-5000-steps-s", "/tmp/t-sqlite-outbox-paced-5000-steps-s.out"},
		{"trace", "BenchmarkServeSteps/postgres/no-outbox", "trace-postgres-no-outbox"},
		{"cpu.prof", "BenchmarkServeSteps", "cpu-BenchmarkServeSteps.prof"},
	} {
		assert.Equal(t, tc.want, variantFile(tc.path, tc.name), tc.path)
	}
}

// A second round of a variant (-count 2, or another -cpu: the same b.Name()) writes a file of
// its own, not over the first's.
func TestBenchFileTakesANewNameEachRound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.prof")
	for range 3 {
		f := benchFile(t, path, "BenchmarkServeSteps/sqlite/no-outbox")
		_, err := f.WriteString(f.Name())
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	var names []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"cpu-sqlite-no-outbox-2.prof", "cpu-sqlite-no-outbox-3.prof", "cpu-sqlite-no-outbox.prof"}, names)
}
