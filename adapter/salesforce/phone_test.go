package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
)

func TestFindByPhone(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, phone string
		want        []string // demo person keys
	}{
		{"E.164, stored nationally (US, no trunk prefix)", "+14155550101", []string{"alice"}},
		{"E.164, stored nationally with a trunk 0 (UK): found by its national number", "+442079460958", []string{"bruno"}},
		{"national, default country 44: found by its E.164 form", "07700 900123", []string{"bruno"}},
		{"formatted", "+1 (415) 555-0104", []string{"dmitri"}},
		{"a contact", "+14155550201", []string{"ian"}},
		{"several: a shared home phone", "+14155550107", []string{"george", "hannah"}},
		{"none", "+14155559999", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.reset(t)
			refs, err := e.a.FindByPhone(ctx, tt.phone)
			require.NoError(t, err)
			var want []flows.Ref
			for _, k := range tt.want {
				want = append(want, e.person(t, k))
			}
			assert.ElementsMatch(t, want, refs)
			assert.Equal(t, int64(1), e.calls(), "one SOSL search")
			assert.Equal(t, int64(1), e.org.Count(fakeorg.KindSearch))
		})
	}
}

// A record is kept only when a configured field holds the number: SOSL's PHONE scope searches
// every phone field.
func TestFindByPhoneOnlyConfiguredFields(t *testing.T) {
	e := newEnv(t, func(o *salesforce.Options, _ *fakeorg.Options) {
		o.PhoneFields = []salesforce.PhoneFields{{Object: "Account", Fields: []string{"PersonMobilePhone"}}}
	})
	refs, err := e.a.FindByPhone(ctx, "+442079460958") // Bruno's Phone, not his mobile
	require.NoError(t, err)
	assert.Empty(t, refs)
	refs, err = e.a.FindByPhone(ctx, "+447700900123") // his mobile
	require.NoError(t, err)
	assert.Equal(t, []flows.Ref{e.person(t, "bruno")}, refs)
}

func TestFindByPhoneRefusesWhatIsNoNumber(t *testing.T) {
	e := newEnv(t)
	e.reset(t)
	for _, phone := range []string{"+44 20 FLOWERS", "4155550101} IN ALL FIELDS RETURNING User(Username", "٤١٥٥٥٥٠١٠١",
		"12", "+1 415 555 0101 ext. 12", "1234567890123456789012345678901"} {
		refs, err := e.a.FindByPhone(ctx, phone)
		require.ErrorIs(t, err, flows.ErrInvalidInput, phone)
		assert.Nil(t, refs)
		assert.NotContains(t, err.Error(), phone, "the number is not echoed")
	}
	assert.Zero(t, e.calls(), "nothing is sent")
}

func TestFindByPhoneFailures(t *testing.T) {
	tests := []struct {
		name    string
		failure func(e *env, t *testing.T)
		kind    error
	}{
		{"org unavailable", func(e *env, t *testing.T) { e.failAll(t, "*/search", fakeorg.FailServerUnavailable) }, flows.ErrUnavailable},
		{"daily limit spent", func(e *env, _ *testing.T) { e.org.ExhaustDailyLimit() }, flows.ErrUnavailable},
		{"proxy page", func(e *env, t *testing.T) { e.failAll(t, "*/search", fakeorg.FailHTMLBadGateway) }, flows.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.reset(t)
			tt.failure(e, t)
			refs, err := e.a.FindByPhone(ctx, "+14155550101")
			require.ErrorIs(t, err, tt.kind)
			assert.Nil(t, refs)
			assert.NotContains(t, err.Error(), "4155550101")
		})
	}
	t.Run("a phone field the org does not have", func(t *testing.T) {
		e := newEnv(t, func(o *salesforce.Options, _ *fakeorg.Options) {
			o.PhoneFields = []salesforce.PhoneFields{{Object: "Account", Fields: []string{"PersonMobilPhone"}}}
		})
		_, err := e.a.FindByPhone(ctx, "+14155550101")
		require.ErrorIs(t, err, salesforce.ErrRejected)
		var ae *salesforce.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "INVALID_FIELD", ae.ErrorCode())
	})
}
