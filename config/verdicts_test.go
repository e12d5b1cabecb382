package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// The verdicts key: on_decision by default, immediate when set, nothing else.
func TestVerdicts(t *testing.T) {
	withKey(t)
	c, err := Load(Options{File: writeFile(t, minimal)})
	require.NoError(t, err)
	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, flows.VerdictsOnDecision, p.Verdicts, "the default")

	t.Setenv("IDVERIFY_VERDICTS", "immediate")
	c, err = Load(Options{File: writeFile(t, minimal)})
	require.NoError(t, err)
	p, err = c.Policy()
	require.NoError(t, err)
	assert.Equal(t, flows.VerdictsImmediate, p.Verdicts)

	c = valid()
	c.Verdicts = "later"
	ps := problems(t, c.Validate())
	require.Len(t, ps, 1)
	assert.Equal(t, "verdicts", ps[0].Path)
	assert.Contains(t, ps[0].Message, `unknown value "later": use one of on_decision, immediate`)
}
