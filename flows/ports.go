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
}

// CRM reads the people verification is about. Implementations must be safe for concurrent use,
// honour ctx, and return errors that carry no personal data.
type CRM interface {
	// FindByPhone returns every record whose configured phone fields hold phone (in any
	// format the CRM stores it). No match is an empty result, not an error.
	FindByPhone(ctx context.Context, phone string) ([]Ref, error)
	// Search returns the records of st.Object that match q under st's filter, sorted by
	// st.SortBy, with st.ResultFields' values. No match is an empty result, not an error.
	Search(ctx context.Context, st SearchType, q Query) ([]Row, error)
	// Values returns the values of fields of record r, keyed by field name. A field that is
	// empty in the record is missing or "" in the result. A record that does not exist is an
	// error.
	Values(ctx context.Context, r Ref, fields []string) (map[string]string, error)
	// MayRepresent reports whether rule allows representative to speak for customer. It is
	// called only when rule.Enabled().
	MayRepresent(ctx context.Context, rule RepresentationRule, representative, customer Ref) (bool, error)
}

// Recorder writes the engagement to the CRM. OpenEngagement and CreateLead run while the agent
// waits; WriteOutcome may queue the write in a durable outbox and return before it reaches the
// CRM. Implementations must be safe for concurrent use and idempotent for a repeated call with
// the same value (the engine may repeat a call when a step is retried).
type Recorder interface {
	// CreateLead creates a Lead for a new customer and returns it.
	CreateLead(ctx context.Context, lead Lead) (Ref, error)
	// OpenEngagement makes sure the engagement exists and returns it: with e.ID set it reads
	// that engagement; otherwise it upserts one by e.ExternalID with the other fields of e.
	OpenEngagement(ctx context.Context, e Engagement) (OpenedEngagement, error)
	// WriteOutcome records a finished session's outcome: the engagement update, the attendee
	// rows and the topic, in one write. It must be idempotent (w.Session identifies it).
	WriteOutcome(ctx context.Context, w Writeback) error
}

// Lead is a new customer, created in the CRM when the caller is not a customer yet.
type Lead struct {
	FirstName, LastName, Company, Phone, Email string
}

// Engagement is the EngagementInteraction a session starts or attaches to.
type Engagement struct {
	// ID attaches to an engagement that already exists. When set, the other fields are ignored.
	ID string
	// ExternalID is the upsert key (e.g. the CTI call id) of a new engagement.
	ExternalID string
	// Channel is the CommunicationChannel, e.g. "Voice Call".
	Channel string
	// Phone is the caller's number, when known.
	Phone string
	// Initiating is the initiating attendee, when known.
	Initiating Ref
	// Start is the start time.
	Start time.Time
}

// OpenedEngagement is an engagement as the CRM holds it.
type OpenedEngagement struct {
	ID string
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
// through an outbox. It holds record ids, the reason and verdicts only: no personal data.
type Writeback struct {
	// Session is the session id; with the engagement id it makes the write idempotent.
	Session string
	// Outcome is the session's outcome.
	Outcome Outcome
	// Engagement is the update to the EngagementInteraction.
	Engagement EngagementUpdate
	// Attendees are the EngagementAttendee rows: the caller, when a record was selected.
	Attendees []Attendee
	// Topic is the EngagementTopic: what the engagement was about.
	Topic Topic
}

// EngagementUpdate is the update of an EngagementInteraction when a session ends.
type EngagementUpdate struct {
	ID     string
	Reason string
	// Verified is IsAttendeeVerified; VerifiedAt is AttendeeVerificationTime (zero unless Verified).
	Verified   bool
	VerifiedAt time.Time
	// Initiating, when not zero, sets InitiatingAttendeeId (the verified caller, when the
	// engagement started without one).
	Initiating Ref
	Status     string
}

// Attendee is one EngagementAttendee row.
type Attendee struct {
	Person   Ref
	Role     string
	Verified bool
	// VerifiedAt is zero unless Verified.
	VerifiedAt time.Time
	Start      time.Time
}

// Topic is the EngagementTopic row.
type Topic struct {
	// Name is the reason.
	Name string
	// RelatedPerson is the person the engagement is about: the customer, or the caller.
	RelatedPerson Ref
	ProcessStatus string
}

// SessionStore keeps sessions, attempt counters and verified status, shared by every replica.
// Implementations must be safe for concurrent use and honour ctx. Nothing the engine hands a
// store holds plaintext personal data.
type SessionStore interface {
	// Get returns the encoded session id and its version, or an error wrapping ErrNotFound.
	// The caller does not modify the returned slice.
	Get(ctx context.Context, id string) (data []byte, version uint64, err error)
	// Put stores data as session id. With version 0 it creates the session and fails with
	// ErrVersionConflict if id exists; otherwise it replaces the session only if its current
	// version is version, else it fails with ErrVersionConflict (or ErrNotFound). It returns
	// the new version, which is never 0. The store may keep data; the caller does not modify
	// it afterwards.
	Put(ctx context.Context, id string, data []byte, version uint64) (uint64, error)
	// AddFailure records a failed verification of person at time at.
	AddFailure(ctx context.Context, person string, at time.Time) error
	// Failures returns the times of person's failures after since (not at it), oldest first.
	Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error)
	// MarkVerified records that key was verified, until the time until.
	MarkVerified(ctx context.Context, key VerifiedKey, until time.Time) error
	// Verified reports whether key was marked verified with an until after now.
	Verified(ctx context.Context, key VerifiedKey, now time.Time) (bool, error)
}

// VerifiedKey is whose verified status is kept: a person within one engagement, so a transfer
// that attaches a new session to the same engagement keeps the status, and a new call does not.
type VerifiedKey struct {
	Engagement, Person string
}

// Clock tells the time. Production uses the system clock; tests use a clock they move.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
