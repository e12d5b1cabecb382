package flows

import (
	"strings"
	"sync"
)

// sessionCacheSize bounds how many sessions an Engine keeps as it last committed them: about
// half a kilobyte each (a stored session holds ids, digests and states, no personal data), so
// a few MB, more than the sessions a contact centre has open at once.
const sessionCacheSize = 8192

// sessionCache holds the sessions this engine committed last, by id, as stored. A step that
// names the version cached runs on it without reading the store: the store's version check at
// Commit still decides, so a session another replica (or process) has changed meanwhile fails
// there as a stale version, exactly as when it was read. A step without a version, a read
// (Get, Person) and the sweep always read the store.
type sessionCache struct {
	mu sync.Mutex
	// m's entries are changed in place: assigning to a string key that is there replaces the
	// key with the string assigned, and a session id decoded from stored bytes shares the
	// decoder's copy of all of them, which the cache would then keep as well.
	m map[string]*cachedSession
}

type cachedSession struct {
	version uint64
	data    []byte // never changed once cached
}

// get returns session id's data if the cache holds it at version.
func (c *sessionCache) get(id string, version uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	if !ok || s.version != version {
		return nil, false
	}
	return s.data, true
}

// put caches data as session id's at version. When the cache is full an arbitrary entry
// makes room (a map's iteration order): one more read of the store for that session's next
// step, whichever it is.
func (c *sessionCache) put(id string, version uint64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[id]; ok {
		s.version, s.data = version, data
		return
	}
	if c.m == nil {
		c.m = make(map[string]*cachedSession, 256)
	}
	if len(c.m) >= sessionCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[strings.Clone(id)] = &cachedSession{version: version, data: data}
}

// drop forgets session id: it ended, or a Commit of it failed and what the store holds is not
// known.
func (c *sessionCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
