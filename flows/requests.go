package flows

import "time"

// StartRequest starts a session. Exactly one of Phone, Attendee, Lead or Engagement says how.
type StartRequest struct {
	// Actor is who acts (an API key's name, an agent's Salesforce user id), for the audit: at
	// most 64 characters of letters, digits and . _ - @ : (no spaces). Every request has one.
	Actor string
	// Phone is the caller's number from a CTI event: it is looked up, and exactly one match
	// makes that record the initiating attendee (View.PhoneMatch says how many matched). It is
	// used for the lookup only: neither the session nor the write-back keeps it.
	Phone string
	// PhoneUntrusted says the caller id is not to be trusted (e.g. its STIR/SHAKEN attestation
	// is below the configured minimum): a single match is then flagged in the search results,
	// not preselected.
	PhoneUntrusted bool
	// Agent is the Salesforce User id (in either form) of the agent taking the call, when the
	// caller knows it (the console's signed-in agent): the write-back adds them to the
	// engagement as an internal EngagementAttendee (InternalAttendeeId). Empty adds nobody.
	Agent string
	// Attendee is the initiating attendee the agent named (in person). Its id may be in its
	// 15- or 18-character form (see CaseSafeID).
	Attendee Ref
	// Lead creates a Lead for a new customer, who becomes the initiating attendee.
	Lead *Lead
	// Engagement attaches the session to an engagement that exists (e.g. after a transfer), by
	// its id in either form.
	Engagement string
	// Key is the caller's idempotency key for this start (at most 255 characters): a Start
	// repeated with the same Key creates no second Lead and, when ExternalID is empty, names the
	// same engagement. Empty means a key derived from the session id (not the id itself).
	Key string
	// ExternalID is the engagement's upsert key (e.g. the CTI call id), which is also its
	// EngagementRef: a transfer's session started with the same ExternalID reuses the verified
	// marks. Empty means "idv-" + a digest of Key. Ignored when attaching.
	ExternalID string
	// Channel is the engagement's CommunicationChannel, e.g. "Voice Call". Ignored when
	// attaching.
	Channel string
	// Authenticated says an IVR or app authenticated the caller before the agent took the
	// call: it is written to the engagement (IsAttendeeAuthenticated) and is not verification.
	// Ignored when attaching.
	Authenticated bool
	// StartTime is when the engagement began, as the agent entered it for an in-person one; zero
	// means now. It may be up to MaxStartSkew ahead of the engine's clock (the agent's clock may
	// run ahead) and up to MaxStartAge behind it. Not with Engagement: that one has its start.
	StartTime time.Time
}

// Bounds of StartRequest.StartTime.
const (
	// MaxStartSkew is how far ahead of the engine's clock a start time may be.
	MaxStartSkew = 5 * time.Minute
	// MaxStartAge is how far back a start time may be: an older one is a typo, not a meeting.
	MaxStartAge = 24 * time.Hour
)

// ReasonRequest picks the reason for the call.
type ReasonRequest struct {
	Actor   string
	Session string
	// Version, when not zero, must be the session's current version.
	Version uint64
	Reason  string
}

// SubjectRequest says whom the call is about.
type SubjectRequest struct {
	Actor   string
	Session string
	Version uint64
	Subject Subject
	// SearchType optionally picks the question set for a caller who is about themself and
	// already known; empty means the first search type on the caller's object.
	SearchType string
}

// SearchRequest searches for the person of the current level.
type SearchRequest struct {
	Actor   string
	Session string
	Version uint64
	// SearchType is a configured search type; at the customer level it may be empty (the
	// representative's linked search type) and must otherwise be that one.
	SearchType string
	Query      Query
}

// SelectRequest picks one of the last search's results.
type SelectRequest struct {
	Actor   string
	Session string
	Version uint64
	// Record is the id of one of the results, in either form (see CaseSafeID).
	Record string
}

// NotIdentifiedRequest says the agent cannot find the person of the current level.
type NotIdentifiedRequest struct {
	Actor   string
	Session string
	Version uint64
}

// AnswerRequest submits what the caller said, for check-mode questions.
type AnswerRequest struct {
	Actor   string
	Session string
	Version uint64
	Answers []Answer
}

// Answer is what the caller said to the question on Field: a Value, or DontKnow.
type Answer struct {
	Field string
	Value string
	// DontKnow says the caller does not know the answer (Value stays empty). It counts as a
	// wrong answer.
	DontKnow bool
}

// AttestRequest records the agent's verdicts, for attest-mode questions.
type AttestRequest struct {
	Actor        string
	Session      string
	Version      uint64
	Attestations []Attestation
}

// Attestation is the agent's verdict on the question on Field.
type Attestation struct {
	Field   string
	Correct bool
	// DontKnow says the caller does not know the answer (Correct stays false). It counts as a
	// wrong answer.
	DontKnow bool
}

// CancelRequest ends a session that has no outcome yet.
type CancelRequest struct {
	Actor   string
	Session string
	Version uint64
}

// ResetRequest is an admin's reset of a person's failures, which lifts their lock at once.
type ResetRequest struct {
	// Person is the record id, in either form (see CaseSafeID).
	Person string
	// Actor is who resets (an admin's user name, an API key's id), for the audit: required, in
	// the form of StartRequest.Actor.
	Actor string
	// Reason is why, for the audit (at most 255 characters, no personal data).
	Reason string
}
