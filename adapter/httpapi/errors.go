package httpapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/idverify/idverify/flows"
)

// The API's own error kinds: what it refuses before (or instead of) calling the engine. Like
// the engine's kinds, each has one entry in the table below.
var (
	errMalformedJSON    = errors.New("malformed JSON")
	errInvalidValue     = errors.New("invalid value")
	errUnknownField     = errors.New("unknown field")
	errBodyTooLarge     = errors.New("request body too large")
	errMediaType        = errors.New("unsupported media type")
	errUnauthorized     = errors.New("missing or unknown API key")
	errForbidden        = errors.New("admin key required")
	errRateLimited      = errors.New("rate limit reached")
	errNoRoute          = errors.New("no such endpoint")
	errMethod           = errors.New("method not allowed")
	errOrigin           = errors.New("origin not allowed")
	errIdempotencyKey   = errors.New("invalid Idempotency-Key")
	errIdempotencyReuse = errors.New("Idempotency-Key used with another request")
	errIdempotencyBusy  = errors.New("Idempotency-Key in use")
	errNotReady         = errors.New("not ready")
)

// problemType is how one error kind is answered: its status, its stable code (the problem's
// "code" member and the last part of its "type") and its title.
type problemType struct {
	status int
	code   string
	title  string
}

// problemTypes maps every error kind, the engine's and the API's, to its answer: the one place
// where errors become HTTP (TestEveryFlowsKindIsMapped holds flows to it). An error that wraps
// none of them is logged (its type only: its message may hold anything) and answered 500 with
// no detail. The order matters only for an error that wraps several kinds: the first wins.
var problemTypes = []struct {
	kind error
	problemType
}{
	// The engine's kinds (flows/errors.go).
	{flows.ErrOutOfOrder, problemType{http.StatusConflict, "step_out_of_order", "Step out of order"}},
	{flows.ErrUnknownReason, problemType{http.StatusUnprocessableEntity, "unknown_reason", "Unknown reason"}},
	{flows.ErrUnknownSearchType, problemType{http.StatusUnprocessableEntity, "unknown_search_type", "Unknown search type"}},
	{flows.ErrNotInResults, problemType{http.StatusUnprocessableEntity, "not_in_results", "Record not among the results"}},
	{flows.ErrNotAsked, problemType{http.StatusUnprocessableEntity, "question_not_asked", "Question not asked"}},
	{flows.ErrAlreadyAnswered, problemType{http.StatusConflict, "already_answered", "Question already answered"}},
	{flows.ErrInvalidInput, problemType{http.StatusUnprocessableEntity, "invalid_value", "Invalid value"}},
	{flows.ErrFinished, problemType{http.StatusConflict, "session_finished", "Session finished"}},
	{flows.ErrLocked, problemType{http.StatusLocked, "person_locked", "Person locked"}},
	{flows.ErrExpired, problemType{http.StatusConflict, "session_expired", "Session expired"}},
	{flows.ErrNotFound, problemType{http.StatusNotFound, "not_found", "Not found"}},
	{flows.ErrVersionConflict, problemType{http.StatusConflict, "version_conflict", "Version conflict"}},
	{flows.ErrRecordNotFound, problemType{http.StatusUnprocessableEntity, "record_not_found", "Record not found"}},
	{flows.ErrUnavailable, problemType{http.StatusServiceUnavailable, "unavailable", "Service unavailable"}},
	// Signals between the engine and its store or the outbox worker: no request should meet
	// them, but one that does may be tried again.
	{flows.ErrFailuresChanged, problemType{http.StatusServiceUnavailable, "unavailable", "Service unavailable"}},
	{flows.ErrClaimLost, problemType{http.StatusConflict, "outbox_claim_lost", "Outbox claim lost"}},

	// The API's kinds.
	{errMalformedJSON, problemType{http.StatusBadRequest, "malformed_json", "Malformed JSON"}},
	{errInvalidValue, problemType{http.StatusUnprocessableEntity, "invalid_value", "Invalid value"}},
	{errUnknownField, problemType{http.StatusUnprocessableEntity, "unknown_field", "Unknown field"}},
	{errBodyTooLarge, problemType{http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large"}},
	{errMediaType, problemType{http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type"}},
	{errUnauthorized, problemType{http.StatusUnauthorized, "unauthorized", "Unauthorized"}},
	{errForbidden, problemType{http.StatusForbidden, "forbidden", "Forbidden"}},
	{errRateLimited, problemType{http.StatusTooManyRequests, "rate_limited", "Too many requests"}},
	{errNoRoute, problemType{http.StatusNotFound, "not_found", "Not found"}},
	{errMethod, problemType{http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"}},
	{errOrigin, problemType{http.StatusForbidden, "origin_not_allowed", "Origin not allowed"}},
	{errIdempotencyKey, problemType{http.StatusBadRequest, "invalid_idempotency_key", "Invalid Idempotency-Key"}},
	{errIdempotencyReuse, problemType{http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused"}},
	{errIdempotencyBusy, problemType{http.StatusConflict, "idempotency_key_in_use", "Idempotency-Key in use"}},
	{errNotReady, problemType{http.StatusServiceUnavailable, "not_ready", "Not ready"}},
}

// internal is the answer to an error no entry maps.
var internal = problemType{http.StatusInternalServerError, "internal", "Internal error"}

// problemTypeBase starts every problem's "type": a tag URI (RFC 4151) naming the code. It
// identifies the problem; docs/openapi.yaml lists the codes.
const problemTypeBase = "tag:idverify,2026:problem:"

// problem is an RFC 9457 problem details object with idverify's extension members.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is the stable name of the problem.
	Code string `json:"code"`
	// Field names the request member a 422 is about.
	Field string `json:"field,omitempty"`
	// Step and State say which step failed in which state of the session.
	Step  string `json:"step,omitempty"`
	State string `json:"state,omitempty"`
	// CurrentVersion is the session's version, for a version conflict.
	CurrentVersion uint64 `json:"current_version,omitempty"`
	// LockedUntil is when a locked person's lock lifts.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// apiError is an error of the API's own: a kind with what to do, and the field it is about.
type apiError struct {
	kind   error
	field  string
	detail string
	// retryAfter, when positive, becomes the Retry-After header.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.kind.Error() + ": " + e.detail }
func (e *apiError) Unwrap() error { return e.kind }

// badValue is a 422 about field.
func badValue(field, format string, args ...any) error {
	return &apiError{kind: errInvalidValue, field: field, detail: fmt.Sprintf(format, args...)}
}

// lookupProblem returns the answer to err and whether an entry maps it.
func lookupProblem(err error) (problemType, bool) {
	var se *flows.StepError
	kind := err
	if errors.As(err, &se) {
		kind = se.Kind // a step error's kind decides, not the port error behind it
	}
	for _, e := range problemTypes {
		if errors.Is(kind, e.kind) {
			return e.problemType, true
		}
	}
	return internal, false
}

// fail answers err as a problem. field is the request member a 422 is about when err does not
// say (the step's main member).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, field string) {
	pt, mapped := lookupProblem(err)
	p := problem{Type: problemTypeBase + pt.code, Title: pt.title, Status: pt.status, Code: pt.code}
	var (
		se   *flows.StepError
		le   *flows.LockedError
		vc   *flows.VersionConflictError
		ae   *apiError
		wait time.Duration
	)
	switch {
	case !mapped:
		// The message of an error nobody mapped may hold anything: its type only.
		a.log.ErrorContext(r.Context(), "unmapped error", "route", routeOf(r), "type", fmt.Sprintf("%T", err))
	case errors.As(err, &ae):
		p.Detail, p.Field, wait = ae.detail, ae.field, ae.retryAfter
	case errors.As(err, &se):
		// A StepError's detail and its port error carry no personal data (flows' contract).
		p.Detail, p.Step = se.Detail, se.Step
		if se.State != 0 {
			p.State = se.State.String()
		}
		if pt.status == http.StatusUnprocessableEntity {
			// The engine names the member at fault in the API's own snake_case.
			p.Field = cmp.Or(se.Field, field)
		}
		if errors.As(err, &le) {
			until := le.Until.UTC()
			p.LockedUntil = &until
			wait = until.Sub(a.clock.Now())
		}
		if errors.As(err, &vc) {
			p.CurrentVersion = vc.Current
		}
	}
	if pt.status >= 500 {
		if mapped {
			a.log.WarnContext(r.Context(), "request failed", "route", routeOf(r), "code", pt.code, "err", err)
		}
		if pt.status == http.StatusServiceUnavailable {
			wait = max(wait, time.Second)
		}
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
	}
	if pt.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="idverify"`)
	}
	writeJSON(w, r, pt.status, "application/problem+json", p)
}

// writeJSON writes v as the answer, with status and content type ct.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, ct string, v any) {
	body, err := json.Marshal(v)
	if err != nil { // the API's own types always marshal
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	writeBody(w, r, status, ct, body)
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, ct string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
