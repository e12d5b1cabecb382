//go:build linux || darwin

package main

import (
	"io"
	"os/exec"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On a terminal, a command that draws no TUI asks the terminal nothing. Bubble Tea v1 asked
// for the background colour (OSC 11, then a cursor position report) in its package init, so
// every command did before main, and one on a terminal that never answers (a pty without a
// terminal emulator behind it, as some tmux or docker -t setups are) waited out termenv's
// five-second timeout. This terminal never answers: what matters is what was asked.
func TestCommandsAskTheTerminalNothing(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{{"version"}, {"--help"}, {"verify", "--help"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"TERM=xterm-256color", "HOME=" + t.TempDir()}
		// pty.Start makes the pty the command's controlling terminal, in the foreground: as a
		// shell runs it, and as termenv requires before it asks anything.
		ptmx, err := pty.Start(cmd)
		require.NoError(t, err)
		out, _ := io.ReadAll(ptmx) // until the command exits and the pty closes (EIO)
		require.NoError(t, cmd.Wait(), "%v: %q", args, out)
		ptmx.Close()
		assert.Contains(t, string(out), "idverify", args)
		assert.NotContains(t, string(out), "\x1b]11;?", "%v asked the terminal for its background colour", args)
		assert.NotContains(t, string(out), "\x1b[6n", "%v asked the terminal where the cursor is", args)
	}
}
