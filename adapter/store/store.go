// Package store is what idverify's stores share: the Store interface (every flows port a store
// implements, plus sweeping), retention, the sweeper a service runs, the error a driver's
// failures become, and the outbox payload's encoding. The drivers are its subpackages, laid
// out as river lays out its drivers: store/sqlite (embedded, one instance) and
// store/postgres (many replicas), both held to one contract (store/storetest).
//
//	st, err := sqlite.Open(ctx, "idverify.db")
//	if err != nil { ... }
//	defer st.Close()
//	e, err := flows.New(policy, flows.Ports{CRM: crm, Recorder: rec, Store: st}, secret)
//	go store.Sweep(ctx, st, e, time.Minute, store.DefaultRetention, logger)
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/idverify/idverify/flows"
)

// Store is a durable store: sessions, failures, verified marks, the outbox and the audit.
// Implementations are safe for concurrent use by every replica sharing the database.
type Store interface {
	flows.SessionStore
	flows.IdleSessions
	flows.Outbox
	flows.AuditLog
	// Sweep deletes what r says is past keeping, as of now, and reports how much.
	Sweep(ctx context.Context, now time.Time, r Retention) (Swept, error)
	// Close releases the database.
	Close() error
}

// Retention says how long a store keeps what it no longer needs. Verified marks are deleted
// once past their Until; parked and pending outbox writes are never deleted by a sweep.
type Retention struct {
	// Sessions: a session is deleted this long after its last step. Longer than the idle
	// timeout, so that a finished session can still be read (and its write-back rebuilt).
	Sessions time.Duration
	// Failures: a failure is deleted this long after it was counted. At least the lockout
	// window, or a lock would lift early.
	Failures time.Duration
	// Delivered: a delivered outbox write is deleted this long after delivery (its key, which
	// stops the same write being queued twice, goes with it).
	Delivered time.Duration
	// Audit: audit events and reset records are deleted this long after they happened; 0
	// keeps them for ever.
	Audit time.Duration
}

// DefaultRetention keeps sessions and delivered writes 7 days, failures 30 days and the audit
// for ever.
var DefaultRetention = Retention{Sessions: 7 * 24 * time.Hour, Failures: 30 * 24 * time.Hour,
	Delivered: 7 * 24 * time.Hour}

// Swept counts what a Sweep deleted.
type Swept struct {
	Sessions, Failures, Marks, Delivered, Audit int64
}

// Expirer ends sessions left open past their idle timeout: a *flows.Engine on the store.
type Expirer interface {
	ExpireIdle(ctx context.Context, max int) (int, error)
}

// expireBatch is how many idle sessions one round of Sweep ends at most per call of
// ExpireIdle; it calls again while a call ends a whole batch.
const expireBatch = 500

// Sweep runs, every interval (and once at once) until ctx ends: e.ExpireIdle when e is not
// nil, which ends the sessions nobody came back to (OutcomeExpired, their write-back queued, so
// an abandoned call's engagement still records its outcome), then s.Sweep, which deletes what
// r says is past keeping. It logs what it did and any failure (a failed round is tried again
// at the next tick), and returns ctx's error.
func Sweep(ctx context.Context, s Store, e Expirer, every time.Duration, r Retention, log *slog.Logger) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		expired, err := expireIdle(ctx, e)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "expiring idle sessions failed", "err", err)
		}
		swept, err := s.Sweep(ctx, time.Now(), r)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			log.WarnContext(ctx, "store sweep failed", "err", err)
		default:
			log.DebugContext(ctx, "store swept", "expired", expired, "sessions", swept.Sessions, "failures", swept.Failures,
				"marks", swept.Marks, "delivered", swept.Delivered, "audit", swept.Audit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// expireIdle has e end every idle session, a batch at a time, and returns how many it ended.
func expireIdle(ctx context.Context, e Expirer) (int, error) {
	if e == nil {
		return 0, nil
	}
	total := 0
	for {
		n, err := e.ExpireIdle(ctx, expireBatch)
		total += n
		if err != nil || n < expireBatch {
			return total, err
		}
	}
}

// Error is what a driver's failure becomes (in one function per driver, its formatError):
// one flows error kind, the driver's error code, never its message (which can quote values).
type Error struct {
	// Driver is "sqlite" or "postgres"; Op is what failed, e.g. "commit".
	Driver, Op string
	// Code is the driver's error code (a SQLSTATE, an SQLite result code), if any.
	Code string
	// Kind is the flows kind: flows.ErrVersionConflict, flows.ErrNotFound or flows.ErrUnavailable.
	Kind error
	// Err is the driver's error, for errors.Is and errors.As (a cancelled context shows
	// through it).
	Err error
}

func (e *Error) Error() string {
	msg := e.Driver + ": " + e.Op + ": " + e.Kind.Error()
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	return msg
}

// Unwrap returns the kind and the driver's error.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// EncodeWrite is the stored form of an outbox write's Writeback: JSON, so that an operator can
// read it (it holds ids, the reason, the channel and verdicts only).
func EncodeWrite(w flows.Writeback) ([]byte, error) { return json.Marshal(w) }

// DecodeWrite reads what EncodeWrite wrote.
func DecodeWrite(data []byte) (flows.Writeback, error) {
	var w flows.Writeback
	if err := json.Unmarshal(data, &w); err != nil {
		return flows.Writeback{}, fmt.Errorf("store: an outbox write cannot be read: %w", err)
	}
	return w, nil
}

// People returns the persons a Commit names (its guard's and its failures'), sorted and
// without repeats: the order in which a SQL store locks their rows, so two commits never wait
// on each other in a circle.
func People(c flows.Commit) []string {
	var out []string
	if c.Guard.Person != "" {
		out = append(out, c.Guard.Person)
	}
	for _, f := range c.Failures {
		out = append(out, f.Person)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
