package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// flowsKinds names every error kind of package flows, by the name it has there. flows exports
// no list of its kinds, so TestEveryFlowsKindIsMapped reads flows' source to find any kind
// this map lacks.
var flowsKinds = map[string]error{
	"ErrOutOfOrder":        flows.ErrOutOfOrder,
	"ErrUnknownReason":     flows.ErrUnknownReason,
	"ErrUnknownSearchType": flows.ErrUnknownSearchType,
	"ErrNotInResults":      flows.ErrNotInResults,
	"ErrNotAsked":          flows.ErrNotAsked,
	"ErrAlreadyAnswered":   flows.ErrAlreadyAnswered,
	"ErrInvalidInput":      flows.ErrInvalidInput,
	"ErrFinished":          flows.ErrFinished,
	"ErrLocked":            flows.ErrLocked,
	"ErrExpired":           flows.ErrExpired,
	"ErrNotFound":          flows.ErrNotFound,
	"ErrVersionConflict":   flows.ErrVersionConflict,
	"ErrRecordNotFound":    flows.ErrRecordNotFound,
	"ErrUnavailable":       flows.ErrUnavailable,
	"ErrFailuresChanged":   flows.ErrFailuresChanged,
	"ErrClaimLost":         flows.ErrClaimLost,
}

// declaredKinds returns the names of flows' package-level Err* variables made by errors.New,
// read from its source: a kind added to flows shows here before anyone maps it.
func declaredKinds(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "flows", "*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Err") || !name.IsExported() || i >= len(vs.Values) {
						continue
					}
					if call, ok := vs.Values[i].(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" {
							names = append(names, name.Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

func TestEveryFlowsKindIsMapped(t *testing.T) {
	declared := declaredKinds(t)
	require.Contains(t, declared, "ErrOutOfOrder", "the parser finds flows' kinds")
	known := make([]string, 0, len(flowsKinds))
	for name := range flowsKinds {
		known = append(known, name)
	}
	slices.Sort(known)
	assert.Equal(t, declared, known, "flows declares these kinds: add each to flowsKinds and to problemTypes")
	for name, kind := range flowsKinds {
		pt, mapped := lookupProblem(&flows.StepError{Step: "x", Kind: kind})
		assert.True(t, mapped, "%s has no entry in problemTypes", name)
		assert.NotEqual(t, internal, pt, name)
		assert.NotEmpty(t, pt.code, name)
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
	a.fail(w, r, fmt.Errorf("driver said %s", secret), "", 0)
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
	a.fail(w, r, err, "record", 0)
	assert.Equal(t, http.StatusLocked, w.Code)
	assert.Equal(t, "91", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"type":"tag:idverify,2026:problem:person_locked","title":"Person locked","status":423,"code":"person_locked",
		"detail":"too many wrong answers for this person","step":"select","state":"select","locked_until":"2026-11-25T09:01:30.001Z"}`, w.Body.String())
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
