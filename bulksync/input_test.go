package bulksync_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// progressHooks calls its functions as the sending goes.
type progressHooks struct {
	start, add func()
	stage      func(string)
}

func (p *progressHooks) Start(int) {
	if p.start != nil {
		p.start()
	}
}

func (p *progressHooks) Add(int) {
	if p.add != nil {
		p.add()
	}
}
func (p *progressHooks) Stage(what string) {
	if p.stage != nil {
		p.stage(what)
	}
}
func (p *progressHooks) Finish() {}

// keysInOrg is the ExternalIdentifier of every engagement in the org.
func keysInOrg(t *testing.T, c *sfdc.Client) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for rec, err := range c.Query(context.Background(), sfdc.Select("ExternalIdentifier").From("EngagementInteraction")) {
		require.NoError(t, err)
		k, _ := rec.String("ExternalIdentifier")
		keys[k] = true
	}
	return keys
}

// Standard input is spooled so that it can be read twice; the spool holds personal data, so it
// must not outlive the run on disk, not even a run killed with SIGKILL, which runs no cleanup.
func TestStandardInputSpoolIsNeverLeftOnDisk(t *testing.T) {
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 3, people)
	spools := t.TempDir()
	t.Setenv("TMPDIR", spools)
	opts := options(org, in)
	opts.Input, opts.Stdin = "-", strings.NewReader(mustRead(t, in))
	var during []string
	opts.Progress = &progressHooks{start: func() {
		entries, err := os.ReadDir(spools)
		require.NoError(t, err)
		for _, e := range entries {
			during = append(during, e.Name())
		}
	}}
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 3, sum.Landed)
	assert.Empty(t, during, "the spool is unlinked while the run still reads it")
}

// The file validated and hashed is the file sent: one replaced between the two passes (an
// editor saving, another export landing) must not have its rows sent under the first one's
// checkpoint.
func TestInputReplacedBetweenThePassesIsNotSent(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 4, people)
	writeFile(t, in, mustRead(t, in)+`{"ExternalIdentifier":"bad"}`+"\n") // a problem: the hook below
	other := filepath.Join(t.TempDir(), "other.jsonl")
	writeFile(t, other, mustRead(t, writeJSONL(t, t.TempDir(), 100, 104, people))+`{"ExternalIdentifier":"bad"}`+"\n")
	opts := options(org, in)
	var once sync.Once // during the first pass:
	opts.OnProblem = func(bulksync.Problem) { once.Do(func() { require.NoError(t, os.Rename(other, in)) }) }
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 4, sum.Landed)
	keys := keysInOrg(t, org.Client)
	assert.True(t, keys["ivr-0000000"], "the rows validated were sent")
	assert.False(t, keys["ivr-0000100"], "the replacing file's rows were not")
}

// A run that cannot go on after rows were sent (here the checkpoint that would record the
// round cannot be written) is a stop, exit status 3, never the status that says nothing was
// sent, and not complete.
func TestFailureAfterSendingIsAStop(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, 5, people)
	opts := options(org, in)
	var once sync.Once
	opts.Progress = &progressHooks{stage: func(string) {
		once.Do(func() { // the round is being sent: its checkpoint write will fail
			require.NoError(t, os.Remove(opts.Checkpoint))
			require.NoError(t, os.MkdirAll(filepath.Join(opts.Checkpoint, "x"), 0o700))
		})
	}}
	sum, err := bulksync.Run(context.Background(), opts)
	var stopped *bulksync.StoppedError
	require.ErrorAs(t, err, &stopped)
	assert.False(t, sum.Complete)
	assert.Equal(t, 5, sum.Sent)
	assert.Equal(t, 5, takeCensus(t, org).engagements, "the rows were sent")
}

// A resumed run whose report was removed (or that names another --report) writes a report
// that JSON Lines readers take: no padding up to the length the checkpoint remembers.
func TestResumeWithoutTheReportWritesNoPadding(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, 5, people)
	writeFile(t, in, `{"ExternalIdentifier":"bad"}`+"\n"+mustRead(t, in)) // a problem for the report
	opts := options(org, in)
	ctx, cancel := context.WithCancel(context.Background())
	opts.Progress = &progressHooks{start: cancel} // stop once the problems are reported and recorded
	_, err := bulksync.Run(ctx, opts)
	var stopped *bulksync.StoppedError
	require.ErrorAs(t, err, &stopped)
	require.NoError(t, os.Remove(opts.Report))

	opts.Progress = nil
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.Complete)
	assert.NotContains(t, mustRead(t, opts.Report), "\x00")
}

// --dry-run sends nothing: with credentials it reads the three describes, and writes no
// checkpoint, report or lock.
func TestDryRunOnlyReadsTheDescribes(t *testing.T) {
	t.Parallel()
	org, people := newOrg(t)
	dir := t.TempDir()
	in := writeJSONL(t, dir, 0, 5, people)
	opts := options(org, in)
	opts.DryRun = true
	org.ResetCounts()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, 5, sum.Rows-sum.Invalid)
	assert.Equal(t, int64(3), apiCalls(org))
	assert.Equal(t, int64(3), org.Count(fakeorg.KindDescribe))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the input")
}
