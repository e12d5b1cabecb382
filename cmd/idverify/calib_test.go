package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// machineSpeed times two fixed pieces of work, so that a benchmark's numbers can be read
// against the machine's speed at the time: the machine this project measures on (a 2-vCPU
// virtual machine) has cost the same binary 109 µs of CPU a closed-loop step in one stretch
// and 360 in another, hours apart. BenchmarkServeSteps runs it before each variant and again
// after. cpu encodes and decodes a session-sized JSON value 200 times (reflection, maps,
// allocation: the kind of work a step's handlers do); sys writes a 4 KB page to a file and
// reads it back 2,000 times (the kind of system call SQLite's WAL makes; a commit at
// synchronous=NORMAL syncs nothing). Each is the fastest of three tries. Whether they move
// with a slow stretch as a step's CPU does is still to be seen: they were added in a fast one.
func machineSpeed(tb testing.TB) (cpu, sys time.Duration) {
	type answer struct {
		Field, Value string
		Correct      bool
	}
	value := struct {
		Session  string
		Version  uint64
		Reason   string
		Fields   map[string]string
		Answers  []answer
		Attempts map[string]int
	}{Session: "s-0123456789abcdef", Version: 7, Reason: "Account balance",
		Fields: map[string]string{}, Attempts: map[string]int{}}
	for i := range 16 {
		k := "Field" + string(rune('A'+i))
		value.Fields[k] = "a value of some forty characters, give or take"
		value.Attempts[k] = i
		value.Answers = append(value.Answers, answer{k, "an answer", i%2 == 0})
	}
	f, err := os.Create(filepath.Join(tb.TempDir(), "calibrate"))
	require.NoError(tb, err)
	defer f.Close()
	page := make([]byte, 4096)
	fastest := func(work func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			work()
			best = min(best, time.Since(start))
		}
		return best
	}
	cpu = fastest(func() {
		for range 200 {
			data, err := json.Marshal(value)
			require.NoError(tb, err)
			require.NoError(tb, json.Unmarshal(data, &value))
		}
	})
	sys = fastest(func() {
		for i := range 2000 {
			off := int64(i%16) * 4096
			_, err := f.WriteAt(page, off)
			require.NoError(tb, err)
			_, err = f.ReadAt(page, off)
			require.NoError(tb, err)
		}
	})
	return cpu, sys
}

func TestMachineSpeed(t *testing.T) {
	cpu, sys := machineSpeed(t)
	assert.Positive(t, cpu)
	assert.Positive(t, sys)
}
