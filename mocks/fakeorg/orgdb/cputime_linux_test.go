package orgdb

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used: benchmarks report it
// beside wall time, which a shared machine's load distorts.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
