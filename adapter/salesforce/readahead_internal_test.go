package salesforce

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Values nobody takes are personal data held in memory: they must go when their TTL ends,
// not linger until the cache fills up.
func TestReadAheadDropsWhatNobodyTakesOnceExpired(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r := newReadAhead(clock.now)
	r.putValues("Account", "001000000000001AAA", map[string]string{"PersonBirthdate": "1980-01-02"}, time.Minute)
	r.putReps("Contact", "003000000000001AAA", "rule", map[string]bool{"001000000000001AAA": true}, time.Minute)
	r.putValues("Account", "001000000000002AAA", map[string]string{"PersonBirthdate": "1990-03-04"}, handoffTTL)
	r.mu.Lock()
	require.True(t, r.sweeping, "a put schedules a sweep")
	r.mu.Unlock()

	clock.add(30 * time.Second)
	r.sweepExpired()
	r.mu.Lock()
	assert.Len(t, r.values, 1, "the handoff entry is past its TTL")
	assert.Len(t, r.reps, 1)
	assert.True(t, r.sweeping, "entries are left: another sweep is scheduled")
	r.mu.Unlock()

	clock.add(time.Minute)
	r.sweepExpired()
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Empty(t, r.values, "expired values are deleted though nobody asked for them")
	assert.Empty(t, r.reps, "expired representation answers too")
	assert.False(t, r.sweeping, "nothing left: no sweep scheduled")
}
