package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/sqlite"
)

// Processes starting together on a new file (the server and an admin command) all open it:
// the one that loses the race to migrate finds the tables the winner created and migrates
// nothing. Without the retry in migrate, 8 openers fail in one round of 4 or another (each of
// 3 runs by hand); with it, no round fails.
func TestOpenConcurrentlyOnANewFile(t *testing.T) {
	for i := range 4 {
		path := filepath.Join(t.TempDir(), "idverify.db")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for j := range errs {
			wg.Go(func() {
				st, err := sqlite.Open(t.Context(), path)
				if err == nil {
					st.Close()
				}
				errs[j] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "round %d", i)
		}
	}
}
