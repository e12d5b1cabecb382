package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// Every error kind of flows (flows.Kinds, which flows' own test holds to its source) has an
// entry in the table.
func TestEveryFlowsKindIsMapped(t *testing.T) {
	require.NotEmpty(t, flows.Kinds())
	for _, kind := range flows.Kinds() {
		pt, mapped := lookupProblem(&flows.StepError{Step: "x", Kind: kind})
		assert.True(t, mapped, "%v has no entry in problemTypes", kind)
		assert.NotEqual(t, internal, pt, "%v", kind)
		assert.NotEmpty(t, pt.code, "%v", kind)
	}
}

func TestProblemTypes(t *testing.T) {
	seen := map[error]bool{}
	codes := map[string]int{}
	for _, e := range problemTypes {
		assert.False(t, seen[e.kind], "%v is mapped twice", e.kind)
		seen[e.kind] = true
		assert.Regexp(t, `^[a-z][a-z_]*$`, e.code)
		assert.GreaterOrEqual(t, e.status, 400)
		if s, ok := codes[e.code]; ok {
			assert.Equal(t, s, e.status, "code %s has one status", e.code)
		}
		codes[e.code] = e.status
	}
	// The statuses.
	for kind, status := range map[error]int{
		flows.ErrOutOfOrder: 409, flows.ErrVersionConflict: 409, flows.ErrInvalidInput: 422,
		flows.ErrNotFound: 404, flows.ErrLocked: 423,
	} {
		pt, _ := lookupProblem(kind)
		assert.Equal(t, status, pt.status, "%v", kind)
	}
}

// The step's kind decides, not the port error behind it: an unavailable CRM that says "record
// not found" somewhere in its chain is still a step error of its own kind.
func TestStepKindDecides(t *testing.T) {
	err := &flows.StepError{Step: "search", Kind: flows.ErrUnavailable, Err: fmt.Errorf("x: %w", flows.ErrRecordNotFound)}
	pt, ok := lookupProblem(err)
	require.True(t, ok)
	assert.Equal(t, "unavailable", pt.code)
}

// An error nobody mapped is answered 500 with no detail, and logged by its type: its message,
// which may hold anything, is in neither.
func TestUnmappedErrorIsLoggedSafely(t *testing.T) {
	var logs bytes.Buffer
	a := &API{log: slog.New(slog.NewJSONHandler(&logs, nil)), clock: systemClock{}}
	const secret = "Jane Smith 1980-03-14"
	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/v1/sessions/x", nil)
	a.fail(w, r, fmt.Errorf("driver said %s", secret), "")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"type":"tag:idverify,2026:problem:internal","title":"Internal error","status":500,"code":"internal"}`, w.Body.String())
	assert.NotContains(t, logs.String(), secret)
	assert.Contains(t, logs.String(), `"type":"*errors.errorString"`)
}

func TestLockedAnswersRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	a := &API{log: slog.New(slog.DiscardHandler), clock: fixedClock(now)}
	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/sessions/x/select", nil)
	err := &flows.LockedError{StepError: flows.StepError{Step: "select", State: flows.StateSelect, Kind: flows.ErrLocked,
		Detail: "too many wrong answers for this person"}, Until: now.Add(90*time.Second + time.Millisecond)}
	a.fail(w, r, err, "record")
	assert.Equal(t, http.StatusLocked, w.Code)
	assert.Equal(t, "91", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"type":"tag:idverify,2026:problem:person_locked","title":"Person locked","status":423,"code":"person_locked",
		"detail":"too many wrong answers for this person","step":"select","state":"select","locked_until":"2026-11-25T09:01:30.001Z"}`, w.Body.String())
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
