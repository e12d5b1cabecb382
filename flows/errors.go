package flows

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds. Every error a step returns is a *StepError that wraps exactly one of them (test
// with errors.Is), and a step that returns an error has changed nothing, except where a kind
// says otherwise (ErrExpired).
var (
	// ErrOutOfOrder: the step is not allowed in the session's current state.
	ErrOutOfOrder = errors.New("step out of order")
	// ErrUnknownReason: the reason is not configured.
	ErrUnknownReason = errors.New("unknown reason")
	// ErrUnknownSearchType: the search type is not configured, or not allowed at this level.
	ErrUnknownSearchType = errors.New("unknown search type")
	// ErrNotInResults: the record was not among the results of the last search.
	ErrNotInResults = errors.New("record not among the results")
	// ErrNotAsked: the answer is to a question that was not asked at this point.
	ErrNotAsked = errors.New("question not asked")
	// ErrAlreadyAnswered: the question has an answer already.
	ErrAlreadyAnswered = errors.New("question already answered")
	// ErrInvalidInput: the request is malformed (an empty answer, a missing field, the wrong
	// answer mode for a question, a start time in the future, ...).
	ErrInvalidInput = errors.New("invalid input")
	// ErrFinished: the session has an outcome already.
	ErrFinished = errors.New("session finished")
	// ErrLocked: the person is locked after too many wrong answers; see LockedError.
	ErrLocked = errors.New("person locked")
	// ErrExpired: the session sat idle too long. The step recorded OutcomeExpired (and queued
	// its write-back) before it failed.
	ErrExpired = errors.New("session expired")
	// ErrNotFound: there is no such session (or, from an Outbox, no such write).
	ErrNotFound = errors.New("session not found")
	// ErrVersionConflict: the session changed since the version the caller (or the engine) read.
	ErrVersionConflict = errors.New("session version conflict")
	// ErrRecordNotFound: a CRM record the step names or needs (an attendee, an engagement,
	// the selected person) does not exist, or not as that object. CRM and Recorder adapters
	// wrap it into their not-found errors.
	ErrRecordNotFound = errors.New("record not found")
	// ErrUnavailable: a port (the CRM, the Recorder or the SessionStore) failed or could not be
	// reached, or the stored session could not be read. Nothing changed; the step may be
	// tried again. Adapters wrap it into their transient failures; the engine treats any port
	// error that wraps no other kind as this one.
	ErrUnavailable = errors.New("service unavailable")
)

// Kinds returns every error kind of the package, the step kinds first, then the signals
// between the engine and its ports (ErrFailuresChanged, ErrClaimLost) that no step returns: an
// adapter that maps errors (the HTTP API's table) tests that it has an entry for each.
func Kinds() []error {
	return []error{ErrOutOfOrder, ErrUnknownReason, ErrUnknownSearchType, ErrNotInResults, ErrNotAsked,
		ErrAlreadyAnswered, ErrInvalidInput, ErrFinished, ErrLocked, ErrExpired, ErrNotFound,
		ErrVersionConflict, ErrRecordNotFound, ErrUnavailable, ErrFailuresChanged, ErrClaimLost}
}

// ErrFailuresChanged is what SessionStore.Commit returns when a Commit's Guard no longer holds:
// the person's failures changed since the step read them. It is a signal between the store and
// the engine (which runs the step again on what the store now holds); no step returns it.
var ErrFailuresChanged = errors.New("failures changed")

// StepError is the error a step returns: which step failed, in which state, and why. Its
// Detail never holds personal data.
type StepError struct {
	Step  string
	State State
	// Kind is one of the Err* kinds.
	Kind error
	// Detail says what to do, in words safe to log.
	Detail string
	// Field names the request member a bad value is in, for ErrInvalidInput (and the kinds
	// that name one member: ErrUnknownReason, ErrUnknownSearchType, ErrNotInResults,
	// ErrNotAsked, ErrAlreadyAnswered), in the snake_case an API's JSON uses: "phone",
	// "start_time", "search_type", "fields", "answers[1].value", ... Empty when no one member
	// is at fault.
	Field string
	// Err is the port error behind an ErrRecordNotFound, ErrUnavailable or ErrVersionConflict,
	// if any (ports return errors without personal data). It is
	// unwrapped too, so errors.Is sees e.g. context.Canceled.
	Err error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s (in state %s): %v", e.Step, e.State, e.Kind)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind and, if there is one, the port error behind it.
func (e *StepError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// LockedError is returned when the selected person is locked. It wraps ErrLocked.
type LockedError struct {
	StepError
	// Until is when the lock lifts (unless more failures are recorded).
	Until time.Time
}

func (e *LockedError) Error() string {
	return e.StepError.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap returns the embedded StepError, so errors.Is(err, ErrLocked) and errors.As(err,
// **StepError) both hold.
func (e *LockedError) Unwrap() error { return &e.StepError }

// VersionConflictError is returned when the session changed since the version a step names
// (or since the engine read it). It wraps ErrVersionConflict.
type VersionConflictError struct {
	StepError
	// Current is the session's version when the conflict was found: a client may reload at it.
	// 0 when it could not be read.
	Current uint64
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("%s (current version %d)", e.StepError.Error(), e.Current)
}

// Unwrap returns the embedded StepError, as LockedError's does.
func (e *VersionConflictError) Unwrap() error { return &e.StepError }

func stepErr(step string, s State, kind error, detail string) error {
	return &StepError{Step: step, State: s, Kind: kind, Detail: detail}
}

// fieldErr is stepErr for a bad value in one request member.
func fieldErr(step string, s State, kind error, field, detail string) error {
	return &StepError{Step: step, State: s, Kind: kind, Field: field, Detail: detail}
}

// conflict is the version conflict of step on a session whose version is now current.
func conflict(step string, s State, current uint64, detail string, err error) error {
	return &VersionConflictError{StepError: StepError{Step: step, State: s, Kind: ErrVersionConflict, Detail: detail, Err: err},
		Current: current}
}

// portErr turns the error of a port call into the step's error: ErrRecordNotFound when the
// port says the record does not exist, ErrInvalidInput when it refused what the caller sent
// before sending it (search text with no searchable word: trying again cannot help, and a
// client must not be told the CRM is down), ErrUnavailable otherwise. what says which call
// failed.
func portErr(step string, s State, what string, err error) error {
	kind := ErrUnavailable
	switch {
	case errors.Is(err, ErrRecordNotFound):
		kind = ErrRecordNotFound
	case errors.Is(err, ErrInvalidInput):
		kind = ErrInvalidInput
	}
	return &StepError{Step: step, State: s, Kind: kind, Detail: what, Err: err}
}

// storeErr turns the error of a SessionStore call into the step's error: the store's
// ErrNotFound and ErrVersionConflict keep their kind; anything else is ErrUnavailable.
func storeErr(step string, s State, what string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return &StepError{Step: step, State: s, Kind: ErrNotFound, Detail: "give the session id Start returned"}
	case errors.Is(err, ErrVersionConflict):
		return conflict(step, s, 0, "reload the session and try again", nil)
	}
	return &StepError{Step: step, State: s, Kind: ErrUnavailable, Detail: what, Err: err}
}
