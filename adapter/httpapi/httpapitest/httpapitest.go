// Package httpapitest holds an in-memory httpapi.IdempotencyStore for tests and the contract of
// every IdempotencyStore, as tests, which each store driver runs from its own tests:
//
//	func TestIdempotency(t *testing.T) {
//		httpapitest.TestIdempotencyStore(t, func(t *testing.T) httpapi.IdempotencyStore { return open(t) })
//	}
package httpapitest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/idverify/idverify/adapter/httpapi"
)

// Idempotency is an in-memory httpapi.IdempotencyStore. The zero value is ready to use. It is
// for tests (and one process): replicas need a shared store.
type Idempotency struct {
	mu      sync.Mutex
	records map[scopedKey]record
}

type scopedKey struct{ scope, key string }

type record struct {
	httpapi.IdempotencyRecord
	token string
}

var _ httpapi.IdempotencyStore = (*Idempotency)(nil)

// BeginIdempotent implements httpapi.IdempotencyStore.
func (s *Idempotency) BeginIdempotent(ctx context.Context, r httpapi.IdempotentRequest) (httpapi.IdempotencyRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return httpapi.IdempotencyRecord{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := scopedKey{r.Scope, r.Key}
	if rec, ok := s.records[k]; ok && rec.Expires.After(r.Now) && (rec.Status != 0 || rec.LeaseUntil.After(r.Now)) {
		return copyRecord(rec.IdempotencyRecord), false, nil
	}
	if s.records == nil {
		s.records = map[scopedKey]record{}
	}
	s.records[k] = record{IdempotencyRecord: httpapi.IdempotencyRecord{Fingerprint: bytes.Clone(r.Fingerprint),
		LeaseUntil: r.LeaseUntil, Expires: r.Expires}, token: r.Token}
	return httpapi.IdempotencyRecord{}, true, nil
}

func copyRecord(r httpapi.IdempotencyRecord) httpapi.IdempotencyRecord {
	r.Fingerprint, r.Body = bytes.Clone(r.Fingerprint), bytes.Clone(r.Body)
	return r
}

// claimed returns the pending record token claims. The caller holds s.mu.
func (s *Idempotency) claimed(scope, key, token string) (record, error) {
	rec, ok := s.records[scopedKey{scope, key}]
	if !ok || rec.token != token || rec.Status != 0 {
		return record{}, httpapi.ErrIdempotencyClaimLost
	}
	return rec, nil
}

// FinishIdempotent implements httpapi.IdempotencyStore.
func (s *Idempotency) FinishIdempotent(ctx context.Context, scope, key, token string, status int, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.claimed(scope, key, token)
	if err != nil {
		return err
	}
	rec.Status, rec.Body = status, bytes.Clone(body)
	s.records[scopedKey{scope, key}] = rec
	return nil
}

// ReleaseIdempotent implements httpapi.IdempotencyStore.
func (s *Idempotency) ReleaseIdempotent(ctx context.Context, scope, key, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.claimed(scope, key, token); err != nil {
		return err
	}
	delete(s.records, scopedKey{scope, key})
	return nil
}

// SweepIdempotent implements httpapi.IdempotencyStore.
func (s *Idempotency) SweepIdempotent(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, rec := range s.records {
		if !rec.Expires.After(now) {
			delete(s.records, k)
			n++
		}
	}
	return n, nil
}

// Len returns how many records the store holds.
func (s *Idempotency) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Bodies returns the bodies of the finished records, for a test to search for what must not be
// kept.
func (s *Idempotency) Bodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, rec := range s.records {
		if rec.Status != 0 {
			out = append(out, bytes.Clone(rec.Body))
		}
	}
	return slices.Clip(out)
}
