package flows

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds. Every error a step returns wraps exactly one of them (test with errors.Is), and a
// step that returns an error has changed nothing.
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
	// answer mode for a question, ...).
	ErrInvalidInput = errors.New("invalid input")
	// ErrFinished: the session has an outcome already.
	ErrFinished = errors.New("session finished")
	// ErrLocked: the person is locked after too many failed verifications; see LockedError.
	ErrLocked = errors.New("person locked")
	// ErrExpired: the session sat idle too long and has expired.
	ErrExpired = errors.New("session expired")
	// ErrNotFound: there is no such session.
	ErrNotFound = errors.New("session not found")
	// ErrVersionConflict: the session changed since the version the caller (or the engine) read.
	ErrVersionConflict = errors.New("session version conflict")
)

// StepError is the error a step returns: which step failed, in which state, and why. Its
// Detail never holds personal data.
type StepError struct {
	Step  string
	State State
	// Kind is one of the Err* kinds.
	Kind error
	// Detail says what to do, in words safe to log.
	Detail string
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s (in state %s): %v", e.Step, e.State, e.Kind)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the kind.
func (e *StepError) Unwrap() error { return e.Kind }

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
