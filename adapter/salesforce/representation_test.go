package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
)

var acr = flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
	CustomerField: "AccountId", RequireActive: true}

func TestMayRepresent(t *testing.T) {
	e := newEnv(t)
	withRoles := func(roles ...string) flows.RepresentationRule { r := acr; r.Roles = roles; return r }
	inactiveToo := acr
	inactiveToo.RequireActive = false
	tests := []struct {
		name          string
		rule          flows.RepresentationRule
		rep, customer string
		want          bool
	}{
		{"an active relation", acr, "julia", "alice", true},
		{"another customer of the same representative", acr, "julia", "emma", true},
		{"no relation", acr, "ian", "alice", false},
		{"an inactive relation", acr, "kevin", "bruno", false},
		{"an inactive relation, activity not required", inactiveToo, "kevin", "bruno", true},
		{"one of the roles", withRoles("Power of Attorney", "Spouse"), "julia", "emma", true},
		{"none of the roles", withRoles("Power of Attorney"), "julia", "alice", false},
		{"roles with quotes are values", withRoles("x') OR (Roles != 'y"), "julia", "alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.reset(t)
			ok, err := e.a.MayRepresent(ctx, tt.rule, e.person(t, tt.rep), e.person(t, tt.customer))
			require.NoError(t, err)
			assert.Equal(t, tt.want, ok)
			assert.Equal(t, int64(1), e.calls())
		})
	}
}

// The check reads the customer's verifier values with it: the questions that follow make no
// call of their own.
func TestMayRepresentReadsTheCustomerAhead(t *testing.T) {
	e := newEnv(t)
	e.reset(t)
	ok, err := e.a.MayRepresent(ctx, acr, e.person(t, "julia"), e.person(t, "alice"))
	require.NoError(t, err)
	require.True(t, ok)
	v, err := e.a.Values(ctx, e.person(t, "alice"), customerFields)
	require.NoError(t, err)
	assert.Equal(t, "1985-04-12", v["PersonBirthdate"])
	assert.Equal(t, int64(1), e.calls())
}

// A representative's object search reads what each row may represent: the check makes no call.
func TestMayRepresentReadAheadBySearch(t *testing.T) {
	e := newEnv(t)
	e.reset(t)
	rows, err := e.a.Search(ctx, e.searchType(t, "representative"), flows.Query{Fields: map[string]string{"LastName": "Chen"}})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	for customer, want := range map[string]bool{"alice": true, "emma": true, "bruno": false} {
		ok, err := e.a.MayRepresent(ctx, acr, e.person(t, "julia"), e.person(t, customer))
		require.NoError(t, err)
		assert.Equal(t, want, ok, customer)
	}
	assert.Equal(t, int64(1), e.calls(), "the search alone")

	other := acr
	other.Roles = []string{"Spouse"}
	ok, err := e.a.MayRepresent(ctx, other, e.person(t, "julia"), e.person(t, "alice"))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, int64(2), e.calls(), "read under another rule: asked")
}

// A person account represents through its person contact.
func TestMayRepresentAsPersonAccount(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.demo.Person("alice")
	_, _, err := e.org.Client.Create(ctx, "AccountContactRelation", map[string]any{"AccountId": e.person(t, "bruno").ID,
		"ContactId": alice.PersonContactID, "Roles": "Spouse", "IsActive": true})
	require.NoError(t, err)
	ok, err := e.a.MayRepresent(ctx, acr, e.person(t, "alice"), e.person(t, "bruno"))
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = e.a.MayRepresent(ctx, acr, e.person(t, "alice"), e.person(t, "chloe"))
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestMayRepresentFailures(t *testing.T) {
	e := newEnv(t)
	julia, alice := e.person(t, "julia"), e.person(t, "alice")
	t.Run("no such customer", func(t *testing.T) {
		_, err := e.a.MayRepresent(ctx, acr, julia, flows.Ref{Object: "Account", ID: e.person(t, "ian").ID})
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
	})
	t.Run("not a record id", func(t *testing.T) {
		e.reset(t)
		_, err := e.a.MayRepresent(ctx, acr, flows.Ref{Object: "Contact", ID: "x"}, alice)
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
		assert.Zero(t, e.calls())
	})
	t.Run("a rule object the org does not have", func(t *testing.T) {
		bad := acr
		bad.Object = "AccountContactRelaton"
		_, err := e.a.MayRepresent(ctx, bad, julia, alice)
		require.ErrorIs(t, err, salesforce.ErrRejected)
	})
	t.Run("org unavailable", func(t *testing.T) {
		e.failAll(t, "*/query", fakeorg.FailServerUnavailable)
		_, err := e.a.MayRepresent(ctx, acr, julia, alice)
		require.ErrorIs(t, err, flows.ErrUnavailable)
	})
}
