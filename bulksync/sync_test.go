package bulksync_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// apiCalls is the org's requests since the last ResetCounts, logins aside.
func apiCalls(org *sfdctest.Org) int64 { return org.Counts().Total - org.Count(fakeorg.KindToken) }

func TestSyncCollectionsThenRerun(t *testing.T) {
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, 450, people)
	opts := options(org, in)
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	// 3 describes; per round of 200 rows an upsert, attendee creates (200 a call), a topic create.
	assert.Equal(t, int64(3+(1+2+1)+(1+2+1)+(1+1+1)), apiCalls(org))
	assert.Equal(t, apiCalls(org), sum.Calls, "the summary counts what the org saw")
	assert.True(t, sum.OK())
	assert.Equal(t, bulksync.ViaCollections, sum.Via)
	assert.Equal(t, 450, sum.Landed)
	assert.Equal(t, 450, sum.Sent)
	assert.Equal(t, int64(450*4), sum.Created)
	assert.Equal(t, census{450, 900, 450}, takeCensus(t, org))

	// The same command again: the checkpoint says everything is done.
	org.ResetCounts()
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), sum.Calls, "describe is cached by the client; nothing is sent")
	assert.Equal(t, 0, sum.Sent)
	assert.Equal(t, 450, sum.Skipped)
	assert.True(t, sum.OK())

	// Without the checkpoint (another machine, a lost file): everything is found and updated.
	require.NoError(t, os.Remove(opts.Checkpoint))
	org.ResetCounts()
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), sum.Created)
	assert.Equal(t, int64(450*4), sum.Updated)
	// Per round: an upsert, one composite check (two queries), the updates.
	assert.Equal(t, int64((1+1+2+1)+(1+1+2+1)+(1+1+1+1)), apiCalls(org))
	assert.Equal(t, census{450, 900, 450}, takeCensus(t, org), "no duplicate")
}

func TestSyncBulk(t *testing.T) {
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, 2500, people)
	opts := options(org, in)
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, bulksync.ViaBulk, sum.Via)
	assert.True(t, sum.OK())
	assert.Equal(t, int64(2500*4), sum.Created)
	assert.Equal(t, census{2500, 5000, 2500}, takeCensus(t, org))
	t.Log(org.Counts().ByKind)

	require.NoError(t, os.Remove(opts.Checkpoint))
	sum, err = bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int64(2500*4), sum.Updated)
	assert.Equal(t, census{2500, 5000, 2500}, takeCensus(t, org), "no duplicate")
}

func TestCheckpointOfAnotherInput(t *testing.T) {
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 10, people)
	opts := options(org, in)
	_, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	writeJSONL(t, dir, 5, 15, people) // same name, other rows
	org.ResetCounts()
	_, err = bulksync.Run(context.Background(), opts)
	require.ErrorContains(t, err, "belongs to another input")
	assert.Zero(t, org.Count(fakeorg.KindCollections), "nothing sent")
}
