package flows

import (
	"context"
	"time"
)

// Ref names one CRM record: its object and its id. The zero Ref names nothing.
type Ref struct {
	// Object is the sObject name, e.g. "Account", "Contact" or "Lead".
	Object string
	// ID is the record id, as the CRM returned it.
	ID string
}

// IsZero reports whether r names no record.
func (r Ref) IsZero() bool { return r.ID == "" }

// Query is what the agent searches with: keywords for a text search type, field values for an
// object search type. Values are user input: a CRM must escape them.
type Query struct {
	// Keywords for SearchText.
	Keywords string
	// Fields maps a search field's API name to the value the agent filled in, for SearchObject.
	Fields map[string]string
}

// Row is one search result: the record and its result fields' values, in the order of the
// search type's ResultFields. The values are shown to the agent and never persisted.
type Row struct {
	Ref
	Values []string
	// PhoneMatch flags, in a View's caller-level results, a record the phone lookup at the
	// start found (several matches, or one untrusted): the agent picks among them. A CRM
	// leaves it false.
	PhoneMatch bool
}

// CRM reads the people verification is about. Implementations must be safe for concurrent use,
// honour ctx, and return errors that carry no personal data: a record that does not exist is
// an error wrapping ErrRecordNotFound, a failure to reach the CRM should wrap ErrUnavailable
// (the engine treats any other error as that too).
//
// Record ids it returns (and the Recorder returns) are in the 18-character form Salesforce's API
// returns (see CaseSafeID): the engine counts failures and keeps verified marks by record id,
// and brings every id a caller names to that form.
type CRM interface {
	// FindByPhone returns every record whose configured phone fields hold phone (in any
	// format the CRM stores it). No match is an empty result, not an error.
	FindByPhone(ctx context.Context, phone string) ([]Ref, error)
	// Search returns the records of st.Object that match q under st's filter, sorted by
	// st.SortBy, with st.ResultFields' values. No match is an empty result, not an error.
	Search(ctx context.Context, st SearchType, q Query) ([]Row, error)
	// Values returns the values of fields of record r, keyed by field name. A field that is
	// empty in the record is missing or "" in the result. A record that does not exist (or is
	// not of r.Object) is an error wrapping ErrRecordNotFound. Values does not keep or modify
	// fields.
	Values(ctx context.Context, r Ref, fields []string) (map[string]string, error)
	// MayRepresent reports whether rule allows representative to speak for customer. It is
	// called only when rule.Enabled().
	MayRepresent(ctx context.Context, rule RepresentationRule, representative, customer Ref) (bool, error)
}

// Recorder writes to the CRM. CreateLead and OpenEngagement run while the agent waits;
// WriteOutcome is called by the outbox worker, never by the engine: a finished session's write
// is queued in the SessionStore by the Commit that ends the session (Commit.Outbox) and
// delivered later. Implementations must be safe for concurrent use and honour ctx. Every write
// carries its idempotency key, so that a call whose answer was lost may be repeated: a repeated
// call with the same key has the effect of one. A record that does not exist is an error
// wrapping ErrRecordNotFound; a failure to reach the CRM (unreachable, its daily limit spent,
// its rows locked) must wrap ErrUnavailable, which tells the outbox to try again later. Any
// other error from WriteOutcome is a rejection for good (validation, permissions): the outbox
// parks the write. An error that has an ErrorCode() string method anywhere in its chain gives
// the CRM's error code (e.g. "FIELD_CUSTOM_VALIDATION_EXCEPTION"), which the outbox keeps;
// never a message, which can echo values.
type Recorder interface {
	// CreateLead creates a Lead for a new customer and returns it. key is the caller's
	// idempotency key: a second call with the same key returns the Lead the first one created,
	// and creates none. It is synchronous: the Lead holds the caller's personal data, which
	// must never sit in an outbox.
	CreateLead(ctx context.Context, key string, lead Lead) (Ref, error)
	// OpenEngagement reads the EngagementInteraction with Salesforce id id, which a session
	// attaches to (after a transfer).
	OpenEngagement(ctx context.Context, id string) (OpenedEngagement, error)
	// WriteOutcome records a finished session's outcome in one write: the engagement (updated
	// by w.Engagement.ID when set, else upserted by w.Engagement.ExternalID and created with
	// every field on first delivery), then the attendee rows and the topic (each keyed by its
	// Key) referring to it. Writing the same Writeback again creates no second row.
	WriteOutcome(ctx context.Context, w Writeback) error
}

// Lead is a new customer, created in the CRM when the caller is not a customer yet. LastName
// and Company are required; Start refuses a field longer than Salesforce's Lead takes it
// (FirstName 40 characters, LastName 80, Company 255, Phone 40, Email 80).
type Lead struct {
	FirstName, LastName, Company, Phone, Email string
}

// OpenedEngagement is an engagement as the CRM holds it.
type OpenedEngagement struct {
	// ID is the engagement's Salesforce id.
	ID string
	// ExternalID is its ExternalIdentifier, or empty.
	ExternalID string
	// Initiating is the engagement's initiating attendee, or the zero Ref.
	Initiating Ref
}

// Engagement field values the engine writes.
const (
	EngagementTypeInbound    = "Inbound"
	EngagementStatusNew      = "New"
	EngagementStatusProgress = "In Progress"
)

// Attendee roles (EngagementAttendee.Role).
const (
	RoleSelf     = "Self"
	RoleOnBehalf = "OnBehalf"
)

// Topic process statuses (EngagementTopic.ProcessStatus).
const (
	ProcessCompleted = "Completed"
	ProcessFailed    = "Failed"
	ProcessCancelled = "Cancelled"
)

// Writeback is everything a finished session writes to the CRM, as one value so it can go
// through an outbox. It holds record ids, the reason, the channel and verdicts only: no
// personal data (the caller's phone number is not written: see EngagementUpdate).
type Writeback struct {
	// Key is the write's idempotency key: the session's digest + "/writeback". It names no
	// session id (a session id is a handle that drives the session).
	Key string
	// Outcome is the session's outcome.
	Outcome Outcome
	// Engagement is the EngagementInteraction's update (or creation).
	Engagement EngagementUpdate
	// Attendees are the EngagementAttendee rows: the caller, when a record was selected, then
	// the agent (internal), when the session was started with one.
	Attendees []Attendee
	// Topic is the EngagementTopic: what the engagement was about.
	Topic Topic
}

// EngagementUpdate is the write of an EngagementInteraction when a session ends. Exactly one
// of ID and ExternalID is set. The engagement's PhoneNumber is not written: the caller's
// number is personal data, and the write waits in a persisted outbox.
type EngagementUpdate struct {
	// ID is the Salesforce id of the engagement the session attached to: the write updates it
	// (Reason, the verification fields, Status) and leaves its creation fields alone.
	ID string
	// ExternalID is the upsert key (ExternalIdentifier) of an engagement idverify creates: the
	// CTI call id, else "idv-" + the session's digest.
	ExternalID string
	// Type, Channel (CommunicationChannel), Start (StartDateTime) and Authenticated
	// (IsAttendeeAuthenticated: pre-authenticated by an IVR or app, which the engine does not
	// treat as verification) are set for an engagement idverify creates (ExternalID).
	Type          string
	Channel       string
	Start         time.Time
	Authenticated bool
	Reason        string
	// Verified is IsAttendeeVerified; VerifiedAt is AttendeeVerificationTime (zero unless Verified).
	Verified   bool
	VerifiedAt time.Time
	// Initiating, when not zero, sets InitiatingAttendeeId: for an engagement idverify creates,
	// the verified caller or else the caller known at the start; for one attached to, the
	// verified caller when the engagement had another or none.
	Initiating Ref
	Status     string
}

// Attendee is one EngagementAttendee row: an external attendee (the caller: ExternalAttendeeId,
// with a Role and the verification), or an internal one (the agent, a User: InternalAttendeeId,
// with neither).
type Attendee struct {
	// Key is the row's idempotency key: the session's digest and the person.
	Key    string
	Person Ref
	// Internal says Person is a User of the org (the agent who took the call).
	Internal bool
	Role     string
	Verified bool
	// VerifiedAt is zero unless Verified.
	VerifiedAt time.Time
	Start      time.Time
}

// Topic is the EngagementTopic row.
type Topic struct {
	// Key is the row's idempotency key: the session's digest.
	Key string
	// Name is the reason.
	Name string
	// RelatedPerson is the person the engagement is about: the customer, or the caller.
	RelatedPerson Ref
	ProcessStatus string
}

// SessionStore keeps sessions, the failures counted against each person, verified marks, the
// outbox of writes to the CRM, the audit of steps and the audit of admin resets, shared by
// every replica. Implementations must be safe for
// concurrent use and honour ctx. Nothing the engine hands a store holds plaintext personal data.
//
// The store is what makes the attempt limit hold: a step's session, the failures it counts and
// the marks it sets are written by one Commit, all or nothing, conditional on the session's
// version and on the failures of the person the step judged. flowstest.TestSessionStore is the
// contract, as tests; every implementation runs it.
type SessionStore interface {
	// Get returns the encoded session id and its version, or an error wrapping ErrNotFound.
	// The caller does not modify the returned slice.
	Get(ctx context.Context, id string) (data []byte, version uint64, err error)
	// Commit performs one step's write, all or nothing, in one transaction:
	//
	//   - With c.Version 0 it creates session c.Session, and fails with ErrVersionConflict
	//     if that exists; otherwise it replaces the session only if its current version is
	//     c.Version, else it fails with ErrVersionConflict (or ErrNotFound). This is checked
	//     first: a stale version is ErrVersionConflict whatever the guard.
	//   - When c.Guard.Person is set, it fails with ErrFailuresChanged unless that person has
	//     exactly c.Guard.Failures failures after c.Guard.Since, the count the step read
	//     (before this commit's own failures).
	//   - It records c.Failures, each against its person, except one whose Key the store
	//     holds already, for whichever person (the same wrong answer is counted once, however
	//     often it arrives).
	//   - It sets c.Marks, each replacing a mark with the same key, whatever its Until.
	//   - It queues c.Outbox, except a write whose Key the store holds already.
	//   - It appends c.Audit to the audit log.
	//
	// Commits are serialisable: two that name the same session, or the same person in a Guard
	// or a Failure, never interleave (a SQL store locks the session's row and each person's
	// row, in a fixed order, within the transaction). A Commit that fails changes nothing. It
	// returns the new version, which is never 0 and never one the session had before. c.Data is
	// binary (any byte values) and comes back from Get byte for byte; the store may keep it,
	// and the caller does not modify it afterwards.
	Commit(ctx context.Context, c Commit) (version uint64, err error)
	// Failures returns the times of person's failures after since (not at it), oldest first.
	Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error)
	// Verified returns the mark set for key whose Until is after now, if there is one.
	Verified(ctx context.Context, key VerifiedKey, now time.Time) (VerifiedMark, bool, error)
	// VerifiedByEngagement returns the marks of engagement (an EngagementRef) whose Until is
	// after now, ordered by At, then Role (a representative before the customer they speak for), then Person: who is verified on the engagement, for
	// the agent a call is transferred to.
	VerifiedByEngagement(ctx context.Context, engagement string, now time.Time) ([]VerifiedMark, error)
	// ResetFailures forgets every failure of r.Person and keeps r, with Cleared set to the
	// number forgotten, in the audit, in one transaction; it returns the kept record. It is
	// serialised with the Commits that name the person.
	ResetFailures(ctx context.Context, r Reset) (Reset, error)
	// Resets returns the audit of person's resets, oldest first.
	Resets(ctx context.Context, person string) ([]Reset, error)
}

// Commit is one step's write to the SessionStore: the session's new encoding and the side
// effects that happen with it or not at all.
type Commit struct {
	// Session is the session id; Data is its new encoding.
	Session string
	Data    []byte
	// Version is the session's version the step read; 0 creates the session.
	Version uint64
	// Guard, when its Person is set, makes the commit conditional on that person's failures.
	Guard Guard
	// Failures are the wrong answers the step counts.
	Failures []Failure
	// Marks are the verified marks the step sets.
	Marks []VerifiedMark
	// Outbox are the writes to the CRM the step causes: the write-back of the session it ends.
	Outbox []OutboxWrite
	// Audit records the step.
	Audit []AuditEvent
	// Expires is when the session expires if no step comes first (its last step's time plus
	// session.idle_timeout); zero once it has ended. A store keeps it for IdleSessions.
	Expires time.Time
}

// IdleSessions is what a SessionStore offers so that sessions nobody comes back to still end:
// a call the agent abandoned at the questions would otherwise never record its outcome, since
// the engine expires a session only when a step or Get reads it. Engine.ExpireIdle reads the
// sessions it lists, which expires them. flowstest's contract tests it with the SQL stores'.
type IdleSessions interface {
	// IdleSessions returns up to max ids of sessions whose Commit.Expires is not zero and
	// is before now, those that expired first first.
	IdleSessions(ctx context.Context, now time.Time, max int) ([]string, error)
}

// Guard names the count of a person's failures a step read and decided on: the commit applies
// only if the count is still the same. It is to the person's failures what the version is to
// the session.
type Guard struct {
	// Person is the record id; empty means no guard.
	Person string
	// Since is the start of the lockout window the step read from (failures after it count).
	Since time.Time
	// Failures is how many failures the step read.
	Failures int
}

// Failure is one wrong answer counted against a person.
type Failure struct {
	// Person is the record id the failure counts against.
	Person string
	// Key identifies the wrong answer (the session, the level's attempt and the question), so
	// that it is counted once.
	Key string
	// At is when the answer was given.
	At time.Time
}

// VerifiedRole is in what role a person was verified. A verified mark is reused (after a
// transfer) only for the role it was earned in.
type VerifiedRole uint8

// The roles.
const (
	// VerifiedSelf: the caller, about themself.
	VerifiedSelf VerifiedRole = iota + 1
	// VerifiedRepresentative: the caller, speaking for a customer.
	VerifiedRepresentative
	// VerifiedCustomer: a customer, through their verified representative.
	VerifiedCustomer
)

var verifiedRoleNames = [...]string{"", "self", "representative", "customer"}

func (r VerifiedRole) String() string {
	if int(r) < len(verifiedRoleNames) {
		return verifiedRoleNames[r]
	}
	return "invalid"
}

// Level is the level a person is verified at in this role.
func (r VerifiedRole) Level() Level {
	if r == VerifiedCustomer {
		return LevelCustomer
	}
	return LevelCaller
}

// VerifiedKey is whose verified status is kept: a person in one role within one engagement,
// so a transfer that attaches a new session to the same engagement keeps the status for the
// same role, and a new call does not.
type VerifiedKey struct {
	Engagement, Person string
	Role               VerifiedRole
}

// VerifiedMark records that a person passed a level: in which role, when, and until when the
// mark may be reused.
type VerifiedMark struct {
	VerifiedKey
	At, Until time.Time
}

// Reset is the audit record of an admin's reset of a person's failures.
type Reset struct {
	// Person is the record id whose failures were forgotten.
	Person string
	// Actor is who reset them (an admin's user name, an API key's id).
	Actor string
	// Reason is why, as the admin gave it.
	Reason string
	At     time.Time
	// Cleared is how many failures were forgotten; the store sets it.
	Cleared int
	// Outbox are the writes queued with the reset, in its transaction, as a Commit queues its
	// own (the EventUnlocked events). They are not part of the audit record: Resets returns
	// none.
	Outbox []OutboxWrite
}

// Clock tells the time. Production uses the system clock; tests use a clock they move.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
