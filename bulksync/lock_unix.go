//go:build unix

package bulksync

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created if need be) for the life of the process,
// or until unlock: two runs on one checkpoint would each send the rows the other is sending.
// The kernel drops the lock when the process dies, so a killed run leaves no stale lock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another sync is running on this checkpoint (%s is locked)", path)
	}
	return func() { f.Close() }, nil
}
