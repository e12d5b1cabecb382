package flows

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

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

// The cache keeps a session's id, not the stored bytes it was decoded from: a decoded id
// shares the decoder's copy of the whole session, twice what the cache means to hold.
func TestSessionCacheKeepsNoDecodedBytes(t *testing.T) {
	var c sessionCache
	decoded := strings.Repeat("x", 500) + "SESSIONIDSESSIONIDSESSIONI" // the decoder's copy
	for version, id := range []string{strings.Clone(decoded[500:]), decoded[500:]} {
		c.put(id, uint64(version+1), []byte("data"))
		for k := range c.m {
			assert.NotSame(t, unsafe.StringData(decoded[500:]), unsafe.StringData(k), "put %d", version+1)
		}
	}
	c.drop(decoded[500:])
	c.put(decoded[500:], 3, []byte("data"))
	for k := range c.m {
		assert.NotSame(t, unsafe.StringData(decoded[500:]), unsafe.StringData(k), "a new entry")
	}
}
