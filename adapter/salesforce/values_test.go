package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
)

var customerFields = []string{"PersonBirthdate", "PersonMobilePhone", "PersonMailingPostalCode"}

func TestValues(t *testing.T) {
	e := newEnv(t)
	alice := e.person(t, "alice")
	e.reset(t)
	v, err := e.a.Values(ctx, alice, append(customerFields, "Account.Name", "Fax", "IsPersonAccount"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"PersonBirthdate": "1985-04-12", "PersonMobilePhone": "+14155550101",
		"PersonMailingPostalCode": "94107", "IsPersonAccount": "true"}, v, "null fields and null parents are missing")
	assert.Equal(t, int64(1), e.calls())
}

// Values read with a phone lookup or a search are taken by the step that asks them, without a
// call of its own, once, while they are fresh.
func TestValuesReadAhead(t *testing.T) {
	e := newEnv(t)
	alice := e.person(t, "alice")
	want := map[string]string{"PersonBirthdate": "1985-04-12", "PersonMobilePhone": "+14155550101", "PersonMailingPostalCode": "94107"}

	e.reset(t)
	_, err := e.a.FindByPhone(ctx, "+14155550101")
	require.NoError(t, err)
	v, err := e.a.Values(ctx, alice, customerFields)
	require.NoError(t, err)
	assert.Equal(t, want, v)
	assert.Equal(t, int64(1), e.calls(), "the phone lookup read them")

	v, err = e.a.Values(ctx, alice, customerFields)
	require.NoError(t, err)
	assert.Equal(t, want, v)
	assert.Equal(t, int64(2), e.calls(), "taken once: the next step reads them")

	_, err = e.a.Search(ctx, e.searchType(t, "customer"), flows.Query{Keywords: "Alice"})
	require.NoError(t, err)
	e.clock.Add(salesforce.DefaultReadAheadTTL)
	_, err = e.a.Values(ctx, alice, customerFields)
	require.NoError(t, err)
	assert.Equal(t, int64(4), e.calls(), "expired: read again")

	_, err = e.a.Search(ctx, e.searchType(t, "customer"), flows.Query{Keywords: "Alice"})
	require.NoError(t, err)
	_, err = e.a.Values(ctx, alice, []string{"PersonBirthdate", "AccountNumber"})
	require.NoError(t, err)
	assert.Equal(t, int64(6), e.calls(), "a field not read ahead: read them all")
}

func TestValuesReadAheadOff(t *testing.T) {
	e := newEnv(t, func(o *salesforce.Options, _ *fakeorg.Options) { o.ReadAheadTTL = -1 })
	e.reset(t)
	_, err := e.a.FindByPhone(ctx, "+14155550101")
	require.NoError(t, err)
	_, err = e.a.Values(ctx, e.person(t, "alice"), customerFields)
	require.NoError(t, err)
	assert.Equal(t, int64(2), e.calls())
}

func TestValuesFailures(t *testing.T) {
	e := newEnv(t)
	alice := e.person(t, "alice")
	t.Run("not of that object", func(t *testing.T) {
		_, err := e.a.Values(ctx, flows.Ref{Object: "Contact", ID: alice.ID}, []string{"Birthdate"})
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
	})
	t.Run("deleted", func(t *testing.T) {
		id, _, err := e.org.Client.Create(ctx, "Contact", map[string]any{"LastName": "Gone"})
		require.NoError(t, err)
		_, err = e.org.Client.Delete(ctx, "Contact", id)
		require.NoError(t, err)
		_, err = e.a.Values(ctx, flows.Ref{Object: "Contact", ID: string(id)}, []string{"Birthdate"})
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
	})
	t.Run("not a record id", func(t *testing.T) {
		e.reset(t)
		_, err := e.a.Values(ctx, flows.Ref{Object: "Account", ID: "001' OR Id != '"}, []string{"Name"})
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
		assert.Zero(t, e.calls())
	})
	t.Run("a field the org does not have", func(t *testing.T) {
		_, err := e.a.Values(ctx, alice, []string{"PersonBirthdat"})
		require.ErrorIs(t, err, salesforce.ErrRejected)
	})
	t.Run("org unavailable", func(t *testing.T) {
		e.failAll(t, "*/query", fakeorg.FailServerUnavailable)
		_, err := e.a.Values(ctx, alice, customerFields)
		require.ErrorIs(t, err, flows.ErrUnavailable)
	})
	t.Run("session expired and not renewed", func(t *testing.T) {
		e.failAll(t, "*/query", fakeorg.FailSessionExpired)
		_, err := e.a.Values(ctx, alice, customerFields)
		require.ErrorIs(t, err, flows.ErrUnavailable)
	})
	t.Run("cancelled", func(t *testing.T) {
		c, cancel := contextWithCancel()
		cancel()
		_, err := e.a.Values(c, alice, customerFields)
		require.ErrorIs(t, err, flows.ErrUnavailable)
		require.ErrorIs(t, err, errCanceled)
	})
}

// Warm reads, once, the describes the steps need: none of them is paid by a verification.
func TestWarm(t *testing.T) {
	e := newEnv(t)
	client := e.org.NewClient(t)
	a, err := salesforce.New(client, e.opts)
	require.NoError(t, err)
	e.reset(t)
	require.NoError(t, a.Warm(ctx))
	assert.Equal(t, int64(3), e.org.Count(fakeorg.KindDescribe), "Account, Contact, AccountContactRelation")
	require.NoError(t, a.Warm(ctx))
	assert.Equal(t, int64(3), e.org.Count(fakeorg.KindDescribe), "cached for the client's life")

	e.failAll(t, "*/describe", fakeorg.FailServerUnavailable)
	cold, err := salesforce.New(e.org.NewClient(t), e.opts)
	require.NoError(t, err)
	require.ErrorIs(t, cold.Warm(ctx), flows.ErrUnavailable)
}
