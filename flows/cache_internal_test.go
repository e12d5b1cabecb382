package flows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// However many sessions an engine commits, it keeps at most sessionCacheSize.
func TestSessionCacheIsBounded(t *testing.T) {
	var c sessionCache
	for i := range sessionCacheSize + 100 {
		c.put(fmt.Sprint("s", i), 1, []byte("data"))
	}
	assert.Len(t, c.m, sessionCacheSize)
	c.put("last", 2, []byte("new"))
	data, ok := c.get("last", 2)
	require.True(t, ok)
	assert.Equal(t, "new", string(data))
	_, ok = c.get("last", 1)
	assert.False(t, ok, "another version")
	c.drop("last")
	_, ok = c.get("last", 2)
	assert.False(t, ok)
}
