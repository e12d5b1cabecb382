package sfdc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/sfdc"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0019000001AWn2o", "0019000001AWn2oAAD", true},
		{"a0D30000001n7Pi", "a0D30000001n7PiEAI", true},
		{"0019000001AWn2oAAD", "0019000001AWn2oAAD", true},
		{"0019000001AWn2oaad", "0019000001AWn2oAAD", true}, // suffix compared case-insensitively
		{"001000000000000", "001000000000000AAA", true},
		{"0019000001AWn2oAAE", "", false}, // wrong checksum
		{"0019000001AWn2", "", false},     // 14
		{"0019000001AWn2oA", "", false},   // 16
		{"0019000001AWn2o'", "", false},
		{"001900000' OR 1", "", false},
		{"", "", false},
		{"0019000001AWn2ö", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := sfdc.ParseID(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, sfdc.ErrBadID)
				if tt.in != "" {
					assert.NotContains(t, err.Error(), tt.in)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id.String())
			assert.Equal(t, tt.want[:15], id.Short())
			assert.Equal(t, tt.want[:3], id.Prefix())
		})
	}
}

func TestIDCaseSensitive(t *testing.T) {
	a := sfdc.MustParseID("0019000001AWn2o")
	b := sfdc.MustParseID("0019000001AWN2o")
	assert.NotEqual(t, a, b, "ids differing in case are different records")
	assert.Panics(t, func() { sfdc.MustParseID("nope") })
}
