package bulksync_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
)

// stages calls on with each stage a run reports.
type stages struct {
	mu sync.Mutex
	on func(string)
}

func (s *stages) Start(int) {}
func (s *stages) Add(int)   {}
func (s *stages) Finish()   {}
func (s *stages) Stage(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on != nil {
		s.on(what)
	}
}

// A run stopped while its attendee job is queued in Salesforce: the resumed run must wait for
// that job before it checks what the engagements have, or it would create every attendee again.
func TestResumeWaitsForTheJobsTheRoundStarted(t *testing.T) {
	t.Parallel()
	const n = 300
	org, people := newOrg(t)
	in := writeJSONL(t, t.TempDir(), 0, n, people)
	opts := options(org, in)
	opts.Via, opts.BulkMinRecords = bulksync.ViaBulk, 1

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Progress = &stages{on: func(what string) {
		switch {
		case what == "attendees":
			org.HoldIngestJobs(true) // the attendee job will stay queued
		case strings.HasPrefix(what, "EngagementAttendee job UploadComplete"):
			cancel()
		}
	}}
	_, err := bulksync.Run(ctx, opts)
	var stopped *bulksync.StoppedError
	require.ErrorAs(t, err, &stopped)

	// Resume while the job is still queued (through collections, so that the resumed run's own
	// writes are not held with it); let the job run a little later.
	opts.Progress, opts.Via = nil, bulksync.ViaCollections
	go func() {
		time.Sleep(300 * time.Millisecond)
		org.HoldIngestJobs(false)
	}()
	sum, err := bulksync.Run(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, sum.OK())
	org.WaitIngestJobs()
	assert.Equal(t, census{n, 2 * n, n}, takeCensus(t, org), "every row exactly once")
}
