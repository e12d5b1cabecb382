//go:build unix

package bulksync_test

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
)

func TestOneRunPerCheckpoint(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, 10, people)
	opts := options(org, in)
	f, err := os.OpenFile(opts.Checkpoint+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	_, err = bulksync.Run(context.Background(), opts)
	require.ErrorContains(t, err, "another sync is running")
	f.Close() // as a killed run's lock goes with its process
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.OK())
}
