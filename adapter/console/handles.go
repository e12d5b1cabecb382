package console

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/idverify/idverify/flows"
)

func withSession(ctx context.Context, s *agentSession) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// A session's handle is its id and its agent's user id, sealed: the console's URLs name
// sessions by it, so a URL neither shows the session id (a handle that drives the session)
// nor opens the session for another agent.
type handle struct {
	Session string `json:"s"`
	UserID  string `json:"u"`
}

func (c *Console) sealHandle(session, user string) string {
	return c.handles.sealJSON(handle{Session: session, UserID: user})
}

// openHandle returns the session id text names, when it names one of agent's.
func (c *Console) openHandle(text, user string) (string, bool) {
	var h handle
	if c.handles.openJSON(text, &h) != nil || h.Session == "" || h.UserID != user {
		return "", false
	}
	return h.Session, true
}

// The results of a search are personal data the engine gives once, in its answer to the
// search (a session keeps only their ids). To show them on the page the search redirects to,
// the console keeps them in memory, for a few minutes, under the session and the version the
// search made; never on disk. On another replica, or later, the page offers to search again.
const (
	resultCacheSize = 1024
	resultTTL       = 5 * time.Minute
)

type resultCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	order   *list.List // of *resultEntry, oldest first
	entries map[string]*list.Element
}

type resultEntry struct {
	session string
	version uint64
	rows    []flows.Row
	more    bool
	expires time.Time
}

func newResultCache(max int, ttl time.Duration) *resultCache {
	return &resultCache{max: max, ttl: ttl, order: list.New(), entries: map[string]*list.Element{}}
}

func (rc *resultCache) put(now time.Time, session string, version uint64, rows []flows.Row, more bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if el, ok := rc.entries[session]; ok {
		rc.order.Remove(el)
	}
	rc.entries[session] = rc.order.PushBack(&resultEntry{session: session, version: version, rows: rows, more: more,
		expires: now.Add(rc.ttl)})
	rc.sweep(now)
}

// sweep forgets the oldest entries beyond max, and every expired one: personal data is kept
// for the TTL, not until enough other searches push it out. Entries are in the order they
// expire (put moves a session's to the back).
func (rc *resultCache) sweep(now time.Time) {
	for rc.order.Len() > 0 {
		oldest := rc.order.Front().Value.(*resultEntry)
		if rc.order.Len() <= rc.max && now.Before(oldest.expires) {
			break
		}
		rc.order.Remove(rc.order.Front())
		delete(rc.entries, oldest.session)
	}
}

// get returns the rows of session's search at version, if they are still kept.
func (rc *resultCache) get(now time.Time, session string, version uint64) ([]flows.Row, bool, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.sweep(now)
	el, ok := rc.entries[session]
	if !ok {
		return nil, false, false
	}
	e := el.Value.(*resultEntry)
	if e.version != version {
		return nil, false, false
	}
	return e.rows, e.more, true
}

// drop forgets session's rows (the agent selected, or the session moved on).
func (rc *resultCache) drop(session string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if el, ok := rc.entries[session]; ok {
		rc.order.Remove(el)
		delete(rc.entries, session)
	}
}
