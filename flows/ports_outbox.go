package flows

import (
	"context"
	"errors"
	"time"
)

// The outbox and the audit log: what a SessionStore keeps besides sessions, failures and marks.
// The engine only writes them, through Commit; the outbox worker (outside flows) delivers the
// writes through a Recorder, and admin commands read both.

// OutboxWrite is one write to the CRM (its Writeback), or one event for a subscriber (its
// Event), queued by the Commit of the step that causes it.
type OutboxWrite struct {
	// Key is the write's idempotency key (Writeback.Key): a Key the store holds is not queued
	// again.
	Key string
	// Engagement is the EngagementRef of the engagement written: the writes of one engagement
	// are delivered in the order they were queued, one at a time. For an event it is the
	// subscriber's queue, "event/<subscriber>": its events go in order, one at a time.
	Engagement string
	// At is when the write was queued: it is due from then on.
	At        time.Time
	Writeback Writeback
	// Event, when set, makes this an event for Event.Subscriber, delivered through a
	// Notifier; Writeback is then zero.
	Event *Event
}

// Notifier delivers events to their subscribers (the webhooks); the outbox worker calls it,
// never the engine. Like a Recorder's, an error wrapping ErrUnavailable is transient (the
// outbox tries again later); any other is a rejection the outbox parks, with the error's
// ErrorCode() when it has one.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// OutboxStatus is where a queued write stands.
type OutboxStatus uint8

// The statuses.
const (
	// OutboxPending: waiting to be delivered, at NextAttempt or later.
	OutboxPending OutboxStatus = iota + 1
	// OutboxClaimed: a worker holds it until its lease (NextAttempt) ends.
	OutboxClaimed
	// OutboxParked: the CRM rejected it for good; it waits for an operator (retry or discard).
	OutboxParked
	// OutboxDelivered: the CRM took it.
	OutboxDelivered
)

var outboxStatusNames = [...]string{"", "pending", "claimed", "parked", "delivered"}

func (s OutboxStatus) String() string {
	if int(s) < len(outboxStatusNames) && s != 0 {
		return outboxStatusNames[s]
	}
	return "invalid"
}

// OutboxEntry is a queued write as the store holds it.
type OutboxEntry struct {
	// ID is the store's id of the write, increasing in the order writes were queued.
	ID int64
	OutboxWrite
	Status OutboxStatus
	// Attempts is how many times the write was claimed.
	Attempts int
	// Code is the error code of the last failed attempt (the CRM's code, or a kind such as
	// "unavailable"): a code only, never a message.
	Code string
	// NextAttempt is when a pending write is due, or when a claimed write's lease ends.
	NextAttempt time.Time
}

// Claim returns the token that settles the claimed entry e.
func (e OutboxEntry) Claim() OutboxClaim { return OutboxClaim{ID: e.ID, Attempt: e.Attempts} }

// OutboxClaim names one claim of a write: its id and the attempt the claim made. A claim whose
// lease ended and that another worker claimed again no longer settles the write.
type OutboxClaim struct {
	ID      int64
	Attempt int
}

// ErrClaimLost is what settling a claim returns when the claim no longer holds: its lease
// ended and another worker claimed the write, or the write was settled already. The write was
// (or will be) delivered by whoever holds it now; the Recorder's idempotency makes a second
// delivery harmless.
var ErrClaimLost = errors.New("outbox claim lost")

// Outbox is the store's side of the outbox: claiming due writes, settling them, and what an
// operator needs. Implementations must be safe for concurrent use by workers on every replica,
// and honour ctx. flowstest.TestOutbox is the contract, as tests.
type Outbox interface {
	// ClaimOutbox claims up to max due writes (those due longest first, where a store can
	// choose) and returns them oldest first, each with its Attempts counted and its lease
	// ending at now + lease. A write is due when it is pending and its NextAttempt is not
	// after now, or claimed with its lease ended (its worker stopped), and it is the oldest write of its engagement that is neither delivered nor
	// parked: so writes of one engagement go one at a time, in order, and a parked write holds
	// up none. Concurrent claims never return the same write twice while its lease holds.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]OutboxEntry, error)
	// Delivered records that the claimed write reached the CRM, at now.
	Delivered(ctx context.Context, c OutboxClaim, now time.Time) error
	// Reschedule returns the claimed write to pending, due at next, with the error code of the
	// attempt that failed.
	Reschedule(ctx context.Context, c OutboxClaim, code string, next time.Time) error
	// Park sets the claimed write aside with the error code of the CRM's rejection.
	Park(ctx context.Context, c OutboxClaim, code string) error
	// Settling a claim that no longer holds fails with ErrClaimLost and changes nothing.

	// ListOutbox returns the pending, claimed and parked writes, oldest first, at most max
	// (0: all) with an id greater than after.
	ListOutbox(ctx context.Context, after int64, max int) ([]OutboxEntry, error)
	// RetryParked makes the parked write id pending again, due at now, its attempts and code
	// kept. It fails with ErrNotFound when no parked write has that id.
	RetryParked(ctx context.Context, id int64, now time.Time) error
	// DiscardParked deletes the parked write id. It fails with ErrNotFound when no parked
	// write has that id.
	DiscardParked(ctx context.Context, id int64) error
}

// AuditEvent records one committed step: who acted, what the step did and which rule decided.
// It holds ids, names of steps, states, rules and counts: never a value, an answer, a name or
// a session id.
type AuditEvent struct {
	At time.Time
	// SessionKey is the session's digest, never its id.
	SessionKey string
	// Engagement is the EngagementRef.
	Engagement string
	// Actor is who acted (StartRequest.Actor and the like); empty when the engine acted alone
	// (a session that expired when read).
	Actor string
	// Step is the step's name ("start", "reason", "answer", ...).
	Step string
	// From and To are the session's states before and after (From is 0 for a start).
	From, To State
	// Outcome is the session's outcome after the step (OutcomeNone while open).
	Outcome Outcome
	// Person is the record id of the current level's person, once one is selected.
	Person string
	// Rule says what decided, when something was: a Cause ("required_incorrect", ...),
	// "locked", "mark_reused", "passed", and for the answers judged in the step the question
	// fields with their match rules and verdicts ("Name:name=correct PersonBirthdate:date=incorrect";
	// "attest" for the agent's verdicts).
	Rule string
	// Failures is how many wrong answers the step counted.
	Failures int
}

// AuditLog reads the audit of steps. flowstest.TestAudit is its contract.
type AuditLog interface {
	// AuditByEngagement returns the events of engagement (an EngagementRef), oldest first.
	AuditByEngagement(ctx context.Context, engagement string) ([]AuditEvent, error)
	// AuditByPerson returns the events whose Person is person, oldest first.
	AuditByPerson(ctx context.Context, person string) ([]AuditEvent, error)
}
