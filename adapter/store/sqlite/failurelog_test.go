package sqlite

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A checkpoint that fails fails again every checkpointEvery (100 ms) until the disk has room:
// the log gets a line a minute of it, each saying how many went unlogged before it.
func TestFailureLogLogsAMinuteAtMost(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		failures []time.Duration // after t0
		want     []string        // the lines' unlogged_failures_before
	}{
		{"one", []time.Duration{0}, []string{"0"}},
		{"ten a second for a minute and a half", func() []time.Duration {
			var d []time.Duration
			for i := range 900 {
				d = append(d, time.Duration(i)*100*time.Millisecond)
			}
			return d
		}(), []string{"0", "599"}},
		{"a minute apart", []time.Duration{0, time.Minute, 2 * time.Minute}, []string{"0", "0", "0"}},
		{"just under a minute apart", []time.Duration{0, time.Minute - 1, time.Minute + 1}, []string{"0", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(slog.NewTextHandler(&buf, nil))
			var f failureLog
			for _, d := range tc.failures {
				f.failed(l, t0.Add(d), "sqlite: a checkpoint failed", errors.New("sqlite: checkpoint: unavailable (SQLITE_FULL)"))
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				assert.Contains(t, line, `msg="sqlite: a checkpoint failed" err="sqlite: checkpoint: unavailable (SQLITE_FULL)"`)
				_, n, _ := strings.Cut(line, "unlogged_failures_before=")
				got = append(got, n)
			}
			assert.Equal(t, tc.want, got)
		})
	}
	// Without a logger (a store no one set one on) nothing is counted or logged.
	var f failureLog
	f.failed(nil, t0, "m", errors.New("e"))
	assert.Zero(t, f.missed)
	assert.True(t, f.last.IsZero())
}
