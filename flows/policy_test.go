package flows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

func TestPolicyValidate(t *testing.T) {
	require.NoError(t, demoPolicy().Validate())
	tests := []struct {
		name   string
		change func(p *flows.Policy)
		want   string
	}{
		{"no confidential reason", func(p *flows.Policy) { p.Reasons = p.Reasons[1:] }, "none is confidential"},
		{"duplicate reason", func(p *flows.Policy) { p.Reasons = append(p.Reasons, p.Reasons[0]) }, `reasons[2]: duplicate name "Change of address"`},
		{"no search types", func(p *flows.Policy) { p.SearchTypes = nil }, "search_types: none configured"},
		{"duplicate search type", func(p *flows.Policy) { p.SearchTypes[1].Name = "person"; p.SearchTypes[1].Linked = "" },
			`search_types[1]: duplicate name "person"`},
		{"unknown match rule", func(p *flows.Policy) { p.SearchTypes[0].Required[0].Match = "soundex" },
			`search_types[0].verifiers[0].match: unknown match rule "soundex"`},
		{"optional_min too large", func(p *flows.Policy) { p.SearchTypes[0].OptionalMin = 3 },
			"search_types[0].optional_min: 3 is outside 0..2"},
		{"nothing asked", func(p *flows.Policy) { p.SearchTypes[0].Required = nil; p.SearchTypes[0].OptionalMin = 0 },
			"would verify anyone"},
		{"linked type missing", func(p *flows.Policy) { p.SearchTypes[1].Linked = "nobody" },
			`search_types[1].linked_search_type: "nobody" does not exist`},
		{"linked chain or cycle", func(p *flows.Policy) { p.SearchTypes[2].Linked = "representative" },
			"only one customer level is supported"},
		{"field name injection", func(p *flows.Policy) { p.SearchTypes[0].Required[0].Field = "Name FROM User--" },
			"is not a field name"},
		{"question asked twice", func(p *flows.Policy) { p.SearchTypes[0].Optional[0].Field = "Name" }, `"Name" is asked twice`},
		{"bad mode", func(p *flows.Policy) { p.SearchTypes[0].Required[0].Mode = "guess" }, `unknown mode "guess"`},
		{"bad country code", func(p *flows.Policy) { p.Matching.DefaultCountryCode = "+44" }, "not a calling code"},
		{"unassigned country code", func(p *flows.Policy) { p.Matching.DefaultCountryCode = "999" }, "999 is not the calling code of a country"},
		{"non-geographic country code", func(p *flows.Policy) { p.Matching.DefaultCountryCode = "800" }, "800 is not the calling code of a country"},
		{"unknown language", func(p *flows.Policy) { p.Matching.Languages = []flows.Language{"nl"} }, `matching.languages: unknown language "nl"`},
		{"masked field not a result field", func(p *flows.Policy) { p.SearchTypes[0].MaskedResultFields = []string{"MobilePhone"} },
			`search_types[0].masked_result_fields: "MobilePhone" is not one of the result fields`},
		{"negative window", func(p *flows.Policy) { p.Lockout.Window = -1 }, "must not be negative"},
		{"unknown verdicts", func(p *flows.Policy) { p.Verdicts = "sometimes" }, `verdicts: unknown setting "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := demoPolicy()
			tt.change(&p)
			err := p.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseEnums(t *testing.T) {
	m, err := flows.ParseMode("check")
	require.NoError(t, err)
	assert.Equal(t, flows.ModeCheck, m)
	_, err = flows.ParseReveal("partial")
	require.ErrorContains(t, err, `unknown reveal "partial": use one of none, masked, full`)
	o, err := flows.ParseDateOrder("mdy")
	require.NoError(t, err)
	assert.Equal(t, flows.MDY, o)
	v, err := flows.ParseVerdicts("immediate")
	require.NoError(t, err)
	assert.Equal(t, flows.VerdictsImmediate, v)
	k, err := flows.ParseSearchKind("object")
	require.NoError(t, err)
	assert.Equal(t, flows.SearchObject, k)
	l, err := flows.ParseLanguage("de")
	require.NoError(t, err)
	assert.Equal(t, flows.German, l)
	_, err = flows.ParseLanguage("nl")
	require.ErrorContains(t, err, `unknown language "nl": use one of en, de, fr, es, it`)
}

func TestValidateCallingCode(t *testing.T) {
	for _, cc := range []string{"1", "7", "39", "44", "353", "998"} {
		assert.NoError(t, flows.ValidateCallingCode(cc), cc)
	}
	for _, cc := range []string{"", "0", "044", "+44", "4a", "1234", "999", "800", "882"} {
		assert.Error(t, flows.ValidateCallingCode(cc), cc)
	}
}
