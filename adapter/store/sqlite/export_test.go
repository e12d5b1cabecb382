package sqlite

import "time"

// ClaimOutboxQuery is the claim's statement, for its query plan.
const ClaimOutboxQuery = claimOutbox

// ListOutboxQuery is ListOutbox's statement, for its query plan.
const ListOutboxQuery = listOutbox

// SetCheckpoints sets how often the checkpointer runs, the WAL's restart mark (frames) and
// the size it is cut back to (bytes), for stores opened until the returned function restores
// them.
func SetCheckpoints(every time.Duration, restartFrames, sizeLimit int) (restore func()) {
	e, f, l := checkpointEvery, walRestartFrames, walSizeLimit
	checkpointEvery, walRestartFrames, walSizeLimit = every, restartFrames, sizeLimit
	return func() { checkpointEvery, walRestartFrames, walSizeLimit = e, f, l }
}

// SweepBatchSQL is a sweep statement as the store runs it, a batch at a time.
var SweepBatchSQL = sweepBatchSQL

// SetSweepBatch sets how many rows one write of a sweep deletes, until the returned function
// restores it.
func SetSweepBatch(n int) (restore func()) {
	b := sweepBatch
	sweepBatch = n
	return func() { sweepBatch = b }
}

// BreakCheckpointer closes the checkpointer's connection: its checkpoints fail from then on.
func BreakCheckpointer(s *Store) error { return s.c.Close() }

// CatchUp is the checkpointer's catching up before a RESTART, with the WAL's restart mark and
// the tail it aims for.
func CatchUp(checkpoint func() (int, error), restartFrames, tail int) (int, error) {
	f, t := walRestartFrames, restartTail
	walRestartFrames, restartTail = restartFrames, tail
	defer func() { walRestartFrames, restartTail = f, t }()
	return catchUp(checkpoint)
}
