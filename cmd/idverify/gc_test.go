package main

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTuneGC(t *testing.T) {
	current := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	before := current()

	t.Run("GOGC unset", func(t *testing.T) {
		t.Setenv("GOGC", "") // restored after the test
		require.NoError(t, os.Unsetenv("GOGC"))
		restore := tuneGC()
		require.Equal(t, serveGCPercent, current())
		restore()
		require.Equal(t, before, current())
	})
	t.Run("GOGC set", func(t *testing.T) {
		t.Setenv("GOGC", "100") // the operator's: the runtime read it at start
		restore := tuneGC()
		require.Equal(t, before, current())
		restore()
		require.Equal(t, before, current())
	})
}
