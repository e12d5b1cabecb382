package salesforce

import (
	"context"
	"errors"
	"time"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// Error is the error of every Adapter method. Op says what the adapter was doing and names
// objects, fields and steps only, never a value; Kind is the flows kind the failure maps to
// (errors.Is answers for it); Err is the failure behind it, usually an *sfdc.Error, itself free
// of values.
type Error struct {
	Op   string
	Kind error
	Err  error
}

func (e *Error) Error() string {
	msg := "salesforce: " + e.Op
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is the error's flows kind.
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the failure behind the error (an *sfdc.Error, a context error, …).
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Salesforce's error code behind the error ("REQUIRED_FIELD_MISSING",
// "REQUEST_LIMIT_EXCEEDED", …), or "" when Salesforce sent none: what an outbox keeps with a
// parked write (never a message, which can echo values).
func (e *Error) ErrorCode() string {
	se, ok := errors.AsType[*sfdc.Error](e.Err)
	switch {
	case !ok:
		return ""
	case se.Code == "" && errors.Is(se, sfdc.ErrMultipleMatches):
		return "MULTIPLE_CHOICES" // a 300 answers a list of records, no code
	}
	return se.Code
}

// RetryAfter returns how long Salesforce (or a proxy in front of it) asked to wait before the
// next attempt, by a Retry-After header that sfdc did not wait for itself (longer than its
// Config.RetryAfterMax), or 0: the outbox reschedules the write no sooner.
func (e *Error) RetryAfter() time.Duration {
	if se, ok := errors.AsType[*sfdc.Error](e.Err); ok {
		return se.RetryAfter
	}
	return 0
}

// fail turns an sfdc error (or a context error) into the adapter's Error: the one place where
// sfdc kinds become flows kinds. A record that does not exist (or not as that object) is
// flows.ErrRecordNotFound; anything that may pass (the org unreachable, over its limits, a
// locked row, a session that could not be renewed, an ended context) is flows.ErrUnavailable;
// input sfdc's builders refused before sending is flows.ErrInvalidInput; anything Salesforce
// refused for good is ErrRejected.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return e
	}
	kind := ErrRejected
	se, _ := errors.AsType[*sfdc.Error](err)
	switch {
	case errors.Is(err, sfdc.ErrNotFound):
		kind = flows.ErrRecordNotFound
	case errors.Is(err, sfdc.ErrBadQuery), errors.Is(err, sfdc.ErrBadID):
		// Refused before anything was sent: the configuration is checked when it loads, so
		// what is left is input (search text with no searchable word, an id that is none).
		kind = flows.ErrInvalidInput
	case se != nil && se.Code == "MALFORMED_ID":
		// The adapter sends only ids it has checked the form of: Salesforce answers this to an id
		// of another object (sobjects/EngagementInteraction/001…), which names no such record.
		kind = flows.ErrRecordNotFound
	case errors.Is(err, sfdc.ErrUnavailable), errors.Is(err, sfdc.ErrLocked), errors.Is(err, sfdc.ErrConcurrencyLimit),
		errors.Is(err, sfdc.ErrDailyLimit), errors.Is(err, sfdc.ErrSessionExpired), errors.Is(err, sfdc.ErrAuth),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		kind = flows.ErrUnavailable
	case errors.Is(err, sfdc.ErrRolledBack):
		// Rolled back by another failure that is not this error's: nothing says it was final.
		kind = flows.ErrUnavailable
	default:
		if se != nil && se.Kind() == nil && se.StatusCode == 0 {
			kind = flows.ErrUnavailable // no answer and no kind: a transport failure without one
		}
	}
	return &Error{Op: op, Kind: kind, Err: err}
}

// ErrRejected is the kind of a request Salesforce refused for good (validation, permissions, a
// malformed request, an upsert key several records share), or a write-back the adapter refused
// before sending it (an id that is none). Sending it again cannot help; an outbox parks such a
// write.
var ErrRejected = errors.New("rejected by Salesforce")
