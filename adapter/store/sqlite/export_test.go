package sqlite

import "time"

// ClaimOutboxQuery is the claim's statement, for its query plan.
const ClaimOutboxQuery = claimOutbox

// SetCheckpoints sets how often the checkpointer runs, the WAL's restart mark (frames) and
// the size it is cut back to (bytes), for stores opened until the returned function restores
// them.
func SetCheckpoints(every time.Duration, restartFrames, sizeLimit int) (restore func()) {
	e, f, l := checkpointEvery, walRestartFrames, walSizeLimit
	checkpointEvery, walRestartFrames, walSizeLimit = every, restartFrames, sizeLimit
	return func() { checkpointEvery, walRestartFrames, walSizeLimit = e, f, l }
}
