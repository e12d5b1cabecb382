//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far (user and system, every thread).
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
