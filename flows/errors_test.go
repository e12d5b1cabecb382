package flows_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// TestKindsListsEveryKind reads the package's source for its exported Err* variables made by
// errors.New: a kind added without adding it to Kinds fails here, before an adapter's table
// misses it.
func TestKindsListsEveryKind(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var declared []string
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
					if !strings.HasPrefix(name.Name, "Err") || i >= len(vs.Values) {
						continue
					}
					if call, ok := vs.Values[i].(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" {
							declared = append(declared, name.Name)
						}
					}
				}
			}
		}
	}
	require.Contains(t, declared, "ErrOutOfOrder", "the parser finds the kinds")
	kinds := flows.Kinds()
	assert.Len(t, kinds, len(declared), "Kinds lists %v", declared)
	for i, k := range kinds {
		assert.NotContains(t, kinds[:i], k, "listed once")
	}
}

// A version conflict says the session's current version, whether the step named a stale one
// or lost the race to commit.
func TestVersionConflictCarriesTheCurrentVersion(t *testing.T) {
	t.Run("a stale version", func(t *testing.T) {
		h := newHarness(t, demoPolicy())
		v := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"))
		_, err := h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version - 1, Subject: flows.SubjectOther})
		var vc *flows.VersionConflictError
		require.ErrorAs(t, err, &vc)
		assert.Equal(t, v.Version, vc.Current)
		require.ErrorIs(t, err, flows.ErrVersionConflict)
		var se *flows.StepError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "subject", se.Step)
	})
	t.Run("a commit that lost the race", func(t *testing.T) {
		var (
			racer   *flows.Engine
			current uint64
		)
		h := newHarnessWith(t, demoPolicy(), func(st *flowstest.Store) flows.SessionStore {
			return &raceStore{Store: st, before: func(c flows.Commit) {
				if racer == nil || c.Version == 0 {
					return
				}
				// Another replica cancels the session between this step's load and its commit.
				e := racer
				racer = nil
				v, err := e.Cancel(context.Background(), flows.CancelRequest{Session: c.Session, Version: c.Version})
				require.NoError(t, err)
				current = v.Version
			}}
		})
		v := run(t, h, flows.StartRequest{Phone: noPhone})
		racer = h.e
		_, err := h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
		var vc *flows.VersionConflictError
		require.ErrorAs(t, err, &vc)
		require.NotZero(t, current)
		assert.Equal(t, current, vc.Current)
	})
}

// raceStore runs before ahead of every Commit.
type raceStore struct {
	*flowstest.Store
	before func(flows.Commit)
}

func (s *raceStore) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	s.before(c)
	return s.Store.Commit(ctx, c)
}

// A bad value names the request member it is in.
func TestInvalidInputNamesTheField(t *testing.T) {
	h := newHarness(t, demoPolicy())
	field := func(err error) string {
		t.Helper()
		var se *flows.StepError
		require.ErrorAs(t, err, &se)
		return se.Field
	}
	_, err := h.e.Start(h.ctx, flows.StartRequest{Phone: "call me"})
	assert.Equal(t, "phone", field(err))
	_, err = h.e.Start(h.ctx, flows.StartRequest{Attendee: jane, StartTime: t0.Add(time.Hour)})
	assert.Equal(t, "start_time", field(err))
	_, err = h.e.Start(h.ctx, flows.StartRequest{Attendee: jane, ExternalID: strings.Repeat("x", 256)})
	assert.Equal(t, "external_id", field(err))
	_, err = h.e.Start(h.ctx, flows.StartRequest{Lead: &flows.Lead{LastName: "Newman"}})
	assert.Equal(t, "lead", field(err))

	v := atQuestions(t, h)
	_, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Version: v.Version,
		Answers: []flows.Answer{{Field: "Name", Value: "Jane Smith"}, {Field: "PersonBirthdate", Value: "soon"}}})
	require.ErrorIs(t, err, flows.ErrInvalidInput)
	assert.Equal(t, "answers[1].value", field(err))
	_, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Version: v.Version,
		Answers: []flows.Answer{{Field: "Name", Value: "Jane", DontKnow: true}}})
	assert.Equal(t, "answers[0].dont_know", field(err))
	_, err = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Version: v.Version,
		Answers: []flows.Answer{{Field: "Name", Value: "Jane Smith"}, {Field: "Nope", Value: "x"}}})
	require.ErrorIs(t, err, flows.ErrNotAsked)
	assert.Equal(t, "answers[1].field", field(err))

	s := run(t, h, flows.StartRequest{Phone: noPhone}, reason("Change of address"), subject(flows.SubjectSelf))
	_, err = h.e.Search(h.ctx, flows.SearchRequest{Session: s.Session, Version: s.Version, SearchType: "person", Query: flows.Query{Keywords: "x"}})
	assert.Equal(t, "keywords", field(err))
	_, err = h.e.Search(h.ctx, flows.SearchRequest{Session: s.Session, Version: s.Version, SearchType: "nope", Query: flows.Query{Keywords: "xy"}})
	require.ErrorIs(t, err, flows.ErrUnknownSearchType)
	assert.Equal(t, "search_type", field(err))
	_, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: s.Session, Version: s.Version, Reason: "x"})
	require.ErrorIs(t, err, flows.ErrOutOfOrder)
	assert.Empty(t, field(err), "no member is at fault in a step out of order")
}

// Person reads a session's person and version without touching the session or the CRM.
func TestPersonHasNoEffect(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := atQuestions(t, h)
	before := h.store.Raw(v.Session)
	person, version, err := h.e.Person(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, janeID, person)
	assert.Equal(t, v.Version, version)

	h.clock.Advance(time.Hour) // idle past the timeout: Get would expire it
	person, version, err = h.e.Person(h.ctx, v.Session)
	require.NoError(t, err)
	assert.Equal(t, janeID, person)
	assert.Equal(t, v.Version, version)
	assert.Equal(t, before, h.store.Raw(v.Session), "not expired, not written")
	assert.Empty(t, h.written(t), "nothing queued")

	_, _, err = h.e.Person(h.ctx, "nope")
	require.ErrorIs(t, err, flows.ErrNotFound)
}

// EngagementStatus is who is verified on an engagement: the caller and the customer they speak
// for, in their roles, until their marks run out.
func TestEngagementStatus(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := run(t, h, flows.StartRequest{Phone: noPhone, ExternalID: "call-7"}, reason("Change of address"),
		subject(flows.SubjectOther), searchFields("representative", map[string]string{"LastName": "Brown"}), pick(robertID),
		answer(robertAnswers...), search("customer", "Jane Smith"), pick(janeID), answer(janeAsCustomer...))
	require.Equal(t, flows.OutcomeVerified, v.Outcome)
	marks, err := h.e.EngagementStatus(h.ctx, "call-7")
	require.NoError(t, err)
	got := make([]flows.VerifiedKey, len(marks))
	for i, m := range marks {
		got[i] = m.VerifiedKey
		assert.True(t, m.Until.After(h.clock.Now()))
	}
	// Verified at one instant of the test's clock: by role.
	assert.Equal(t, []flows.VerifiedKey{{Engagement: "call-7", Person: robertID, Role: flows.VerifiedRepresentative},
		{Engagement: "call-7", Person: janeID, Role: flows.VerifiedCustomer}}, got)

	marks, err = h.e.EngagementStatus(h.ctx, "call-8")
	require.NoError(t, err)
	assert.Empty(t, marks)
	h.clock.Advance(2 * time.Hour)
	marks, err = h.e.EngagementStatus(h.ctx, "call-7")
	require.NoError(t, err)
	assert.Empty(t, marks, "past the verified TTL")
	_, err = h.e.EngagementStatus(h.ctx, "")
	require.ErrorIs(t, err, flows.ErrInvalidInput)
}
