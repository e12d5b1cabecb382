//go:build unix

package runcheck

import (
	"os/exec"
	"syscall"
)

// stopGroup runs cmd in a process group of its own and makes cancelling it signal the group.
func stopGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
}
