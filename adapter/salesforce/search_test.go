package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
)

func TestTextSearch(t *testing.T) {
	e := newEnv(t)
	st := e.searchType(t, "customer") // Account, filter IsPersonAccount = true, sort Name
	tests := []struct {
		name, keywords string
		want           []string
	}{
		{"a name", "martin", []string{"alice"}},
		{"two words, any order, sorted by Name", "brown", []string{"george", "hannah"}},
		{"first and last name", "Hannah Brown", []string{"hannah"}},
		{"an e-mail address", "chloe.dubois@example.com", []string{"chloe"}},
		{"accents as the text rule folds them", "Chloe", []string{"chloe"}},
		// The representatives' business account matches "Northwind" but is filtered out.
		{"the filter applies", "Northwind", nil},
		{"nobody", "Zebulon", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.reset(t)
			rows, err := e.a.Search(ctx, st, flows.Query{Keywords: tt.keywords})
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
				assert.Equal(t, "Account", r.Object)
				assert.Len(t, r.Values, len(st.ResultFields))
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, e.person(t, k).ID)
			}
			assert.Equal(t, want, got)
			assert.Equal(t, int64(1), e.calls(), "one SOSL search")
		})
	}
	rows, err := e.a.Search(ctx, st, flows.Query{Keywords: "Alice Martin"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, []string{"Alice Martin", "", "(415) 555-0101"}, rows[0].Values, "the result fields, in order")
}

// A text search's rows must hold the keywords in its search fields: a row SOSL found through
// another field would confirm an answer the agent must not see (here a mobile number asked in
// check mode).
func TestTextSearchIsNoOracle(t *testing.T) {
	e := newEnv(t)
	st := e.searchType(t, "customer") // search fields Name, PersonEmail; PersonMobilePhone asked in check mode
	rows, err := e.a.Search(ctx, st, flows.Query{Keywords: "+14155550101"})
	require.NoError(t, err)
	assert.Empty(t, rows, "Alice's mobile number finds nobody")
	rows, err = e.a.Search(ctx, st, flows.Query{Keywords: "Alice 4155550101"})
	require.NoError(t, err)
	assert.Empty(t, rows, "nor narrows a search")
}

func TestObjectSearch(t *testing.T) {
	e := newEnv(t)
	st := e.searchType(t, "representative") // Contact, search fields LastName, FirstName
	tests := []struct {
		name   string
		fields map[string]string
		want   []string
	}{
		{"a last name", map[string]string{"LastName": "Chen"}, []string{"julia"}},
		{"a prefix, any case", map[string]string{"LastName": "wri"}, []string{"ian"}},
		{"two fields", map[string]string{"LastName": "Patel", "FirstName": "Kevin"}, []string{"kevin"}},
		{"two fields, one wrong", map[string]string{"LastName": "Patel", "FirstName": "Julia"}, nil},
		{"quotes and wildcards are text", map[string]string{"LastName": "%' OR LastName LIKE '%"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.reset(t)
			rows, err := e.a.Search(ctx, st, flows.Query{Fields: tt.fields})
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, e.person(t, k).ID)
			}
			assert.Equal(t, want, got)
			assert.Equal(t, int64(1), e.calls(), "one query (describe read by Warm)")
		})
	}
}

// Object search fields are compared by their type: a date as the engine reads dates.
func TestObjectSearchByType(t *testing.T) {
	e := newEnv(t)
	st := flows.SearchType{Name: "by birth date", Object: "Contact", Search: flows.SearchObject,
		SearchFields: []string{"Birthdate", "LastName"}, ResultFields: []string{"Name"}}
	rows, err := e.a.Search(ctx, st, flows.Query{Fields: map[string]string{"Birthdate": "19 August 1983"}})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, e.person(t, "julia").ID, rows[0].ID)

	e.reset(t)
	_, err = e.a.Search(ctx, st, flows.Query{Fields: map[string]string{"Birthdate": "the 32nd"}})
	require.ErrorIs(t, err, flows.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "32nd", "the value is not echoed")
	assert.Zero(t, e.calls(), "nothing is sent")
}

// Keywords with no word Salesforce can search (two letters or digits) are refused unsent.
func TestTextSearchRefusesWhatCannotBeSearched(t *testing.T) {
	e := newEnv(t)
	e.reset(t)
	_, err := e.a.Search(ctx, e.searchType(t, "customer"), flows.Query{Keywords: "a b - c"})
	require.ErrorIs(t, err, flows.ErrInvalidInput)
	assert.Zero(t, e.calls())
}

func TestSearchFailures(t *testing.T) {
	text := func(e *env, t *testing.T) flows.SearchType { return e.searchType(t, "customer") }
	object := func(e *env, t *testing.T) flows.SearchType { return e.searchType(t, "representative") }
	queries := map[flows.SearchKind]flows.Query{
		flows.SearchText:   {Keywords: "Martin"},
		flows.SearchObject: {Fields: map[string]string{"LastName": "Chen"}},
	}
	tests := []struct {
		name    string
		st      func(e *env, t *testing.T) flows.SearchType
		failure func(e *env, t *testing.T)
		kind    error
		code    string
	}{
		{"text: org unavailable", text, func(e *env, t *testing.T) { e.failAll(t, "*/search", fakeorg.FailServerUnavailable) }, flows.ErrUnavailable, "SERVER_UNAVAILABLE"},
		{"object: rows locked", object, func(e *env, t *testing.T) { e.failAll(t, "*/query", fakeorg.FailUnableToLockRow) }, flows.ErrUnavailable, "UNABLE_TO_LOCK_ROW"},
		{"object: over the concurrency limit", object, func(e *env, t *testing.T) { e.failAll(t, "*/query", fakeorg.FailConcurrentLimit) }, flows.ErrUnavailable, "REQUEST_LIMIT_EXCEEDED"},
		{"text: a filter the org refuses", func(e *env, t *testing.T) flows.SearchType {
			st := text(e, t)
			st.Filter = "IsPersonAcount = true"
			return st
		}, func(*env, *testing.T) {}, salesforce.ErrRejected, "INVALID_FIELD"},
		{"object: a result field the org does not have", func(e *env, t *testing.T) flows.SearchType {
			st := object(e, t)
			st.ResultFields = []string{"Name", "MailingCty"}
			return st
		}, func(*env, *testing.T) {}, salesforce.ErrRejected, "INVALID_FIELD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			st := tt.st(e, t)
			tt.failure(e, t)
			rows, err := e.a.Search(ctx, st, queries[st.Search])
			require.ErrorIs(t, err, tt.kind)
			assert.Nil(t, rows)
			var ae *salesforce.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
			for _, v := range []string{"Martin", "Chen", "IsPersonAcount"} {
				assert.NotContains(t, err.Error(), v, "no value or filter text in the error")
			}
		})
	}
}
