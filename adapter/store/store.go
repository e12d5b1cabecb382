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
	"cmp"
	"context"
	"encoding/json"
	"errors"
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
// once past their Until; parked and pending outbox writes are never deleted by a sweep. A
// duration of 0 keeps for ever: a zero Retention deletes nothing but expired marks (it must
// never delete every session and every failure counted, lifting every lock).
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
	// Audit: audit events and reset records are deleted this long after they happened.
	Audit time.Duration
}

// SweepStep is one DELETE of a sweep, with its one parameter: the time before which rows go.
type SweepStep struct {
	Count  *int64 // where the deleted rows are counted
	SQL    string
	Before time.Time
}

// SweepSteps are the statements of a sweep of r as of now, counting into sw, in the drivers'
// shared schema; param is the driver's placeholder ("?", "$1").
func SweepSteps(sw *Swept, now time.Time, r Retention, param string) []SweepStep {
	steps := []SweepStep{{&sw.Marks, `DELETE FROM marks WHERE until <= ` + param, now}}
	for _, s := range []struct {
		keep  time.Duration
		count *int64
		sql   string
	}{
		// A session is kept at least r.Sessions after its last step: an ended one by the time
		// of that step, an open one by when it expires idle (later still). Each statement
		// reads a partial index (sessions_ended, sessions_expires_at).
		{r.Sessions, &sw.Sessions, `DELETE FROM sessions WHERE expires_at IS NULL AND updated_at < `},
		{r.Sessions, &sw.Sessions, `DELETE FROM sessions WHERE expires_at < `},
		{r.Failures, &sw.Failures, `DELETE FROM failures WHERE at < `},
		{r.Delivered, &sw.Delivered, `DELETE FROM outbox WHERE status = 4 AND delivered_at < `},
		{r.Audit, &sw.Audit, `DELETE FROM audit WHERE at < `},
		{r.Audit, &sw.Audit, `DELETE FROM resets WHERE at < `},
	} {
		if s.keep > 0 {
			steps = append(steps, SweepStep{s.count, s.sql + param, now.Add(-s.keep)})
		}
	}
	return steps
}

// Passes reports whether err is one of the flows sentinels a store returns itself, which a
// driver's formatError passes through as they are.
func Passes(err error) bool {
	for _, sentinel := range []error{flows.ErrVersionConflict, flows.ErrNotFound, flows.ErrFailuresChanged, flows.ErrClaimLost} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
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

// expireBatch is how many idle sessions one call of Expirer.ExpireIdle ends at most.
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
		expired, err := ExpireIdle(ctx, e)
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

// ExpireIdle has e end every idle session, a batch at a time, and returns how many it ended,
// with the first error e returned. It calls e again while a call ends any session, not only a
// whole batch: when replicas sweep at once, each ends part of a batch the other listed too, and
// stopping there would leave the backlog to the next sweep interval; a session e cannot end
// (unreadable) is reported and does not stop the others. It stops at a call that ends none.
func ExpireIdle(ctx context.Context, e Expirer) (int, error) {
	if e == nil {
		return 0, nil
	}
	total := 0
	var first error
	for {
		n, err := e.ExpireIdle(ctx, expireBatch)
		total += n
		if first == nil {
			first = err
		}
		if n == 0 || ctx.Err() != nil {
			return total, first
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

// EncodeWrite is the stored form of an outbox write's payload: JSON, so that an operator can
// read it (it holds ids, the reason, the channel, verdicts and outcomes only). A write-back is
// its Writeback; an event is {"Event": ...}.
func EncodeWrite(w flows.OutboxWrite) ([]byte, error) {
	if w.Event != nil {
		return json.Marshal(storedPayload{Event: w.Event})
	}
	return json.Marshal(w.Writeback)
}

// storedPayload reads either form EncodeWrite writes (a Writeback has no member named Event).
type storedPayload struct {
	flows.Writeback
	Event *flows.Event `json:",omitempty"`
}

// DecodeWrite reads what EncodeWrite wrote into w's Writeback or Event.
func DecodeWrite(data []byte, w *flows.OutboxWrite) error {
	var p storedPayload
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("store: an outbox write cannot be read: %w", err)
	}
	if p.Event != nil {
		w.Event = p.Event
		return nil
	}
	w.Writeback = p.Writeback
	return nil
}

// CodeUnreadable is the code of a write whose stored payload cannot be read (written by an
// incompatible version, or damaged): a claim parks it with this code at once, so it holds up
// neither its engagement nor the writes claimed with it, and an operator sees it in the list.
const CodeUnreadable = "unreadable_payload"

// StoredEntry is an outbox row as a driver reads it: the entry, and whether its payload could
// be read (when not, the entry's Writeback and Event are empty).
type StoredEntry struct {
	flows.OutboxEntry
	Unreadable bool
}

// Decode sets e's Writeback or Event from payload, or marks e unreadable.
func (e *StoredEntry) Decode(payload []byte) {
	var w flows.OutboxWrite
	if err := DecodeWrite(payload, &w); err != nil {
		e.Unreadable = true
		return
	}
	e.Writeback, e.Event = w.Writeback, w.Event
}

// Entries returns the entries of stored.
func Entries(stored []StoredEntry) []flows.OutboxEntry {
	out := make([]flows.OutboxEntry, len(stored))
	for i, e := range stored {
		out[i] = e.OutboxEntry
	}
	return out
}

// Readable returns what a driver's claim hands the worker: the readable entries of claimed,
// oldest first, after parking each unreadable one with park (store.CodeUnreadable). Should
// parking fail, the claim's lease runs out and the next claim parks it.
func Readable(ctx context.Context, claimed []StoredEntry, park func(context.Context, flows.OutboxClaim, string) error) []flows.OutboxEntry {
	out := make([]flows.OutboxEntry, 0, len(claimed))
	for _, e := range claimed {
		if e.Unreadable {
			_ = park(ctx, e.Claim(), CodeUnreadable)
			continue
		}
		out = append(out, e.OutboxEntry)
	}
	slices.SortFunc(out, func(a, b flows.OutboxEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out
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
