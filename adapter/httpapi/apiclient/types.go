package apiclient

import "time"

// What the /v1 API's JSON holds, as docs/openapi.yaml describes it (its schemas' names).

// Ref is a Salesforce record.
type Ref struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

// Session is a session as the agent may see it (the Session schema).
type Session struct {
	Session     string     `json:"session"`
	Version     uint64     `json:"version"`
	State       string     `json:"state"`
	Outcome     string     `json:"outcome,omitempty"`
	Cause       string     `json:"cause,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Subject     string     `json:"subject,omitempty"`
	Level       string     `json:"level"`
	Engagement  string     `json:"engagement"`
	Initiating  *Ref       `json:"initiating,omitempty"`
	PhoneMatch  string     `json:"phone_match,omitempty"`
	SearchType  string     `json:"search_type,omitempty"`
	Results     []Result   `json:"results,omitempty"`
	MoreResults bool       `json:"more_results,omitempty"`
	Record      *Ref       `json:"record,omitempty"`
	Questions   []Question `json:"questions,omitempty"`
	OptionalMin int        `json:"optional_min"`
	RetriesLeft int        `json:"retries_left"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	Open        *Ref       `json:"open,omitempty"`
	Verified    []Ref      `json:"verified,omitempty"`
	Updated     time.Time  `json:"updated"`
	Expires     *time.Time `json:"expires,omitempty"`
	Next        Next       `json:"next"`
}

// The session's states (Session.State) and outcomes (Session.Outcome).
const (
	StateReason    = "reason"
	StateSubject   = "subject"
	StateSearch    = "search"
	StateSelect    = "select"
	StateQuestions = "questions"
	StateDone      = "done"

	OutcomeVerified      = "verified"
	OutcomeFailed        = "failed"
	OutcomeNotRequired   = "not_required"
	OutcomeLocked        = "locked"
	OutcomeCancelled     = "cancelled"
	OutcomeExpired       = "expired"
	OutcomeNotIdentified = "not_identified"
	OutcomeNewCustomer   = "new_customer"
)

// Takes reports whether the session takes step now (Next.Steps holds it).
func (s *Session) Takes(step string) bool {
	for _, st := range s.Next.Steps {
		if st == step {
			return true
		}
	}
	return false
}

// Result is a search result; Values are the search type's result fields, in order, and only
// in the answer to the search.
type Result struct {
	Object     string   `json:"object"`
	ID         string   `json:"id"`
	Values     []string `json:"values,omitempty"`
	PhoneMatch bool     `json:"phone_match,omitempty"`
}

// Question is a question of the current level.
type Question struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	// Mode is ModeCheck (idverify compares: Answers) or ModeAttest (the agent judges: Attest).
	Mode    string `json:"mode"`
	Verdict string `json:"verdict"`
	Rule    string `json:"rule,omitempty"`
	// Expected is the expected value as the question's reveal allows, for a pending
	// attest-mode question.
	Expected string `json:"expected,omitempty"`
}

// Question modes and verdicts.
const (
	ModeCheck  = "check"
	ModeAttest = "attest"

	VerdictPending   = "pending"
	VerdictCorrect   = "correct"
	VerdictIncorrect = "incorrect"
	VerdictAnswered  = "answered"
)

// Next is what the agent may do now, with the choices of the step the session expects.
type Next struct {
	Steps       []string     `json:"steps"`
	Reasons     []Reason     `json:"reasons,omitempty"`
	Subjects    []string     `json:"subjects,omitempty"`
	SearchTypes []SearchType `json:"search_types,omitempty"`
}

// The steps, as Next.Steps names them.
const (
	StepReason        = "reason"
	StepSubject       = "subject"
	StepSearch        = "search"
	StepSelect        = "select"
	StepAnswers       = "answers"
	StepAttestations  = "attestations"
	StepNotIdentified = "not-identified"
	StepCancel        = "cancel"
)

// Reason is a configured reason for a call.
type Reason struct {
	Name         string `json:"name"`
	Confidential bool   `json:"confidential"`
}

// SearchType is a configured search type the session offers.
type SearchType struct {
	Name         string   `json:"name"`
	Label        string   `json:"label"`
	Object       string   `json:"object"`
	Search       string   `json:"search"` // SearchText or SearchObject
	SearchFields []string `json:"search_fields"`
	ResultFields []string `json:"result_fields"`
}

// Kinds of search (SearchType.Search).
const (
	SearchText   = "text"
	SearchObject = "object"
)

// Subjects: whom the call is about.
const (
	SubjectSelf  = "self"
	SubjectOther = "other"
)

// StartRequest starts a session: exactly one of Phone, Attendee, Lead or Engagement.
type StartRequest struct {
	Phone         string     `json:"phone,omitempty"`
	Attestation   string     `json:"attestation,omitempty"`
	Attendee      *Ref       `json:"attendee,omitempty"`
	Lead          *Lead      `json:"lead,omitempty"`
	Engagement    string     `json:"engagement,omitempty"`
	ExternalID    string     `json:"external_id,omitempty"`
	Channel       string     `json:"channel,omitempty"`
	Authenticated bool       `json:"authenticated,omitempty"`
	StartTime     *time.Time `json:"start_time,omitempty"`
	// IdempotencyKey, when set, is sent as the Idempotency-Key header.
	IdempotencyKey string `json:"-"`
}

// Lead is a new customer, created as a Lead.
type Lead struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Phone     string `json:"phone,omitempty"`
	Email     string `json:"email,omitempty"`
}

// Step is what every step names: the session's version it acts on, and optionally an
// Idempotency-Key.
type Step struct {
	Version        uint64 `json:"version"`
	IdempotencyKey string `json:"-"`
}

// ReasonRequest chooses the reason.
type ReasonRequest struct {
	Step
	Reason string `json:"reason"`
}

// SubjectRequest says whom the call is about; SearchType may pick the search type of a known
// caller's questions.
type SubjectRequest struct {
	Step
	Subject    string `json:"subject"`
	SearchType string `json:"search_type,omitempty"`
}

// SearchRequest searches: Keywords for a text search type, Fields for an object search type.
type SearchRequest struct {
	Step
	SearchType string            `json:"search_type,omitempty"`
	Keywords   string            `json:"keywords,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// SelectRequest picks one of the last search's results.
type SelectRequest struct {
	Step
	Record string `json:"record"`
}

// AnswersRequest submits what the caller said to check-mode questions.
type AnswersRequest struct {
	Step
	Answers []Answer `json:"answers"`
}

// Answer is what the caller said to one question, or that they do not know.
type Answer struct {
	Field    string `json:"field"`
	Value    string `json:"value,omitempty"`
	DontKnow bool   `json:"dont_know,omitempty"`
}

// AttestationsRequest records the agent's verdicts on attest-mode questions.
type AttestationsRequest struct {
	Step
	Attestations []Attestation `json:"attestations"`
}

// Attestation is the agent's verdict on one question.
type Attestation struct {
	Field    string `json:"field"`
	Correct  bool   `json:"correct,omitempty"`
	DontKnow bool   `json:"dont_know,omitempty"`
}

// EngagementStatus says who was verified on an engagement, in which role, until when.
type EngagementStatus struct {
	Engagement string           `json:"engagement"`
	Verified   bool             `json:"verified"`
	People     []VerifiedPerson `json:"people"`
}

// VerifiedPerson is one verification that holds on an engagement.
type VerifiedPerson struct {
	Record     string    `json:"record"`
	Role       string    `json:"role"` // self, representative or customer
	Level      string    `json:"level"`
	VerifiedAt time.Time `json:"verified_at"`
	ValidUntil time.Time `json:"valid_until"`
}

// Reset is the audit record of a lockout's reset.
type Reset struct {
	Person  string    `json:"person"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	Cleared int       `json:"cleared"`
}

// Outbox is a page of the outbox's undelivered writes; NextAfter is the After of the next
// page, when this one is full.
type Outbox struct {
	Entries   []OutboxEntry `json:"entries"`
	NextAfter int64         `json:"next_after,omitempty"`
}

// OutboxEntry is one write to Salesforce not delivered yet.
type OutboxEntry struct {
	ID          int64     `json:"id"`
	Key         string    `json:"key"`
	Engagement  string    `json:"engagement"`
	Outcome     string    `json:"outcome"`
	QueuedAt    time.Time `json:"queued_at"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	Code        string    `json:"code,omitempty"`
	NextAttempt time.Time `json:"next_attempt"`
}
