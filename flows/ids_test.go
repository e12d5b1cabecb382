package flows_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/idverify/flows"
)

func TestCaseSafeID(t *testing.T) {
	tests := []struct {
		in, want string // want "": not a record id
	}{
		{"70130000001tcyI", "70130000001tcyIAAQ"},
		{"003G000001SUbc4", "003G000001SUbc4IAD"},
		{"AAAAABBBBBCCCCC", "AAAAABBBBBCCCCC555"},
		{"001000000000001", "001000000000001AAA"},
		{"003G000001SUbc4IAD", "003G000001SUbc4IAD"},
		{"003g000001subc4iad", "003G000001SUbc4IAD"}, // case restored from the suffix
		{"003G000001SUBC4IAD", "003G000001SUbc4IAD"},
		{"003G000001SUbc4", "003G000001SUbc4IAD"},
		{"001000000000001BAA", ""}, // the suffix marks a digit as upper case
		{"003G000001SUbc4I9D", ""}, // 9 is no suffix character
		{"003G000001SUbc", ""},
		{"003G000001SUbc4IA", ""},
		{"003G000001SUbc4IADX", ""},
		{"003G000001SUbc'", ""},
		{"003G000001SUbc4\u00e9D", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := flows.CaseSafeID(tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
		assert.Equal(t, tt.want != "", ok, "%q", tt.in)
		if ok {
			again, _ := flows.CaseSafeID(got)
			assert.Equal(t, got, again, "idempotent")
			from15, _ := flows.CaseSafeID(got[:15])
			assert.Equal(t, got, from15, "the 15-character form of the result gives the same")
			lower, _ := flows.CaseSafeID(strings.ToLower(got))
			assert.Equal(t, got, lower, "case-safe")
		}
	}
}
