package salesforce

import (
	"sync"
	"time"
)

// readAhead keeps, for a short time and in memory only, values read by one call for a later
// step that would otherwise make a call of its own: the verifier values of the records a phone
// lookup or a search returned (read with them, in the same request), and what a
// representative may represent (read with a representative search or a representation check).
// Salesforce counts every API call against the org's daily limit; this is how a verification
// costs 2 to 4 calls instead of 3 to 7 (docs/BENCHMARKS.md).
//
// What it holds is personal data, so it is bounded: at most maxAhead entries, each dropped
// within sweepEvery of the end of its TTL (Options.ReadAheadTTL; handoffTTL for values handed
// from one port call to the next within a step) whether or not anyone asks for it again, a
// record's values dropped as soon as a step takes them, never persisted, logged or shown to an
// agent (the adapter returns result fields only, as before). A miss costs the call read-ahead saves, nothing else: another
// replica, an expired entry, a field not read ahead.
type readAhead struct {
	now func() time.Time

	mu     sync.Mutex
	values map[recordKey]valuesEntry
	reps   map[recordKey]repsEntry
	// sweeping is set while a sweep is scheduled: one runs every sweepEvery while anything is
	// held, so an entry nobody takes does not stay in memory past its TTL.
	sweeping bool
}

// sweepEvery is how often expired entries are deleted while the cache holds any: an entry
// outlives its TTL by at most this long.
const sweepEvery = handoffTTL

// maxAhead bounds the entries of each map: about 2 KB each at most (a record's verifier values
// or a representative's customers), so a few tens of MB however busy the process.
const maxAhead = 20_000

type recordKey struct{ object, id string }

type valuesEntry struct {
	values  map[string]string // field → value ("" for null); every field read is present
	expires time.Time
}

// repsEntry is what one representative may represent under one rule: the customers of every
// row of the rule's object that names them and passes the rule's conditions.
type repsEntry struct {
	rule      string // ruleKey of the rule the rows were read under
	customers map[string]bool
	expires   time.Time
}

func newReadAhead(now func() time.Time) *readAhead {
	return &readAhead{now: now, values: map[recordKey]valuesEntry{}, reps: map[recordKey]repsEntry{}}
}

// handoffTTL is how long values read by one port call for the next call of the same step (the
// representation check for the questions) are kept: that next call comes within milliseconds.
const handoffTTL = 10 * time.Second

// putValues keeps the values read for record (object, id) for ttl.
func (r *readAhead) putValues(object, id string, values map[string]string, ttl time.Duration) {
	if len(values) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.values) >= maxAhead && !sweep(r.values, now, func(e valuesEntry) time.Time { return e.expires }) {
		return // full of live entries: read on demand instead
	}
	r.values[recordKey{object, id}] = valuesEntry{values: values, expires: now.Add(ttl)}
	r.scheduleSweep()
}

// takeValues returns the values of fields of record (object, id) if they were read ahead and
// are still fresh, and forgets the record's values: a step takes them once.
func (r *readAhead) takeValues(object, id string, fields []string) (map[string]string, bool) {
	k := recordKey{object, id}
	r.mu.Lock()
	e, ok := r.values[k]
	if ok {
		delete(r.values, k)
	}
	r.mu.Unlock()
	if !ok || !r.now().Before(e.expires) {
		return nil, false
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		v, ok := e.values[f]
		if !ok {
			return nil, false // not read ahead: the caller reads them all
		}
		if v != "" {
			out[f] = v
		}
	}
	return out, true
}

// putReps keeps the customers representative (object, id) may represent under rule, for ttl.
func (r *readAhead) putReps(object, id, rule string, customers map[string]bool, ttl time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.reps) >= maxAhead && !sweep(r.reps, now, func(e repsEntry) time.Time { return e.expires }) {
		return
	}
	r.reps[recordKey{object, id}] = repsEntry{rule: rule, customers: customers, expires: now.Add(ttl)}
	r.scheduleSweep()
}

// scheduleSweep makes sure a sweep is scheduled. r.mu must be held.
func (r *readAhead) scheduleSweep() {
	if !r.sweeping {
		r.sweeping = true
		time.AfterFunc(sweepEvery, r.sweepExpired)
	}
}

// sweepExpired deletes the expired entries of both maps, and schedules the next sweep while
// any entry is left.
func (r *readAhead) sweepExpired() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	sweep(r.values, now, func(e valuesEntry) time.Time { return e.expires })
	sweep(r.reps, now, func(e repsEntry) time.Time { return e.expires })
	r.sweeping = false
	if len(r.values)+len(r.reps) > 0 {
		r.scheduleSweep()
	}
}

// mayRepresent answers from what was read ahead: known is false when nothing fresh was read
// for this representative under this rule.
func (r *readAhead) mayRepresent(object, id, rule, customer string) (ok, known bool) {
	r.mu.Lock()
	e, found := r.reps[recordKey{object, id}]
	r.mu.Unlock()
	if !found || e.rule != rule || !r.now().Before(e.expires) {
		return false, false
	}
	return e.customers[customer], true
}

// sweep deletes the expired entries of m and reports whether it freed any.
func sweep[E any](m map[recordKey]E, now time.Time, expires func(E) time.Time) bool {
	n := len(m)
	for k, e := range m {
		if !now.Before(expires(e)) {
			delete(m, k)
		}
	}
	return len(m) < n
}
