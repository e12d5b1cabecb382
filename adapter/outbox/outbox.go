// Package outbox delivers the writes the engine queued in the store's outbox to the CRM: a
// Worker claims due writes (with a lease), calls flows.Recorder.WriteOutcome, and marks each
// delivered, rescheduled with capped exponential backoff and jitter (the CRM unreachable or
// over its limit), or parked with its error code (rejected for good). The store hands out one
// write per engagement at a time, oldest first, so an engagement's writes reach the CRM in
// order while a slow or failing engagement holds up no other.
//
//	w := &outbox.Worker{Outbox: st, Recorder: rec, Log: logger}
//	go w.Run(ctx) // until ctx ends
//
// A worker that dies at any point loses nothing: a write is settled only after the Recorder
// took it, and a claim that is never settled expires with its lease, so another worker (or the
// restarted one) delivers the write again. The Recorder's idempotency (the engagement upserted
// by ExternalIdentifier, rows keyed) makes that second delivery create nothing twice.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/idverify/idverify/flows"
)

// Defaults of the Worker's settings.
const (
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 4 // no more than Concurrency: a claimed write waiting for a free slot burns its lease
	DefaultConcurrency = 4
	DefaultPoll        = time.Second
	DefaultMinBackoff  = 5 * time.Second
	DefaultMaxBackoff  = 15 * time.Minute
	DefaultGiveUpAfter = 24 * time.Hour
)

// GiveUpAttempts is how many attempts a write that fails for a transient reason gets at least
// before GiveUpAfter parks it: a write that waited behind its engagement's earlier writes is
// tried a few times, not parked at its first failure.
const GiveUpAttempts = 5

// Codes the worker keeps when the Recorder's error has no ErrorCode.
const (
	CodeUnavailable = "unavailable" // the CRM could not be reached (flows.ErrUnavailable)
	CodeTimeout     = "timeout"     // the call ran out of its time (half the lease)
	CodeNotFound    = "not_found"   // the engagement attached to does not exist (flows.ErrRecordNotFound)
	CodeRejected    = "rejected"    // any other error
	CodeInterrupted = "interrupted" // the worker stopped while the call ran
	// CodeGaveUpPrefix begins the code of a write parked because it kept failing for a
	// transient reason past GiveUpAfter: "gave_up:" and the last failure's code.
	CodeGaveUpPrefix = "gave_up:"
)

// Worker delivers the outbox's writes. Set Outbox and Recorder; the other fields have
// defaults. A Worker is safe to run on every replica at once.
type Worker struct {
	Outbox   flows.Outbox
	Recorder flows.Recorder
	// Notifier delivers the queued events (adapter/webhook's Sender); nil parks them with the
	// code "no_notifier".
	Notifier flows.Notifier
	// Lease is how long a claim holds: a write whose worker stopped is delivered again after
	// it. Each Recorder call gets half of it.
	Lease time.Duration
	// Batch is how many writes one claim takes; Concurrency how many are delivered at once.
	Batch, Concurrency int
	// Poll is how long the worker waits when nothing is due.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before a write that failed for a transient
	// reason is tried again: MinBackoff·2^(attempts-1), capped, with full jitter in its upper
	// half.
	MinBackoff, MaxBackoff time.Duration
	// GiveUpAfter bounds how long a write that keeps failing for a transient reason (a 500
	// from a trigger on every attempt, a row locked for ever) is tried: once it was queued this
	// long ago and has had GiveUpAttempts attempts, its next transient failure parks it with
	// the code CodeGaveUpPrefix+code, so that it no longer holds up its engagement's later
	// writes, and an operator sees it in the list (and retries it). Zero means
	// DefaultGiveUpAfter; negative, never.
	GiveUpAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives a line per failed attempt (ids, codes and counts only); nil means none.
	Log *slog.Logger
}

// Run delivers due writes until ctx ends, then returns ctx's error. A failing store is logged
// and tried again after Poll.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			w.log().WarnContext(ctx, "outbox: claiming failed", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more due at once
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.or(w.Poll, DefaultPoll)):
		}
	}
}

// RunOnce claims one batch of due writes and delivers it, and returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimed, err := w.Outbox.ClaimOutbox(ctx, w.now(), w.or(w.Lease, DefaultLease), w.orInt(w.Batch, DefaultBatch))
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, w.orInt(w.Concurrency, DefaultConcurrency))
	var wg sync.WaitGroup
	for _, e := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w.deliver(ctx, e)
		})
	}
	wg.Wait()
	return len(claimed), nil
}

// deliver sends one claimed write and settles it.
func (w *Worker) deliver(ctx context.Context, e flows.OutboxEntry) {
	lease := w.or(w.Lease, DefaultLease)
	call, cancel := context.WithTimeout(ctx, lease/2)
	err := w.send(call, e)
	cancel()
	// Settle even when ctx ended (a stopping worker): a write the CRM took must not wait for
	// its lease to run out and be sent again.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, code := e.Claim(), Code(err)
	switch {
	case err == nil:
		err = w.Outbox.Delivered(settle, c, w.now())
	case ctx.Err() != nil:
		code = CodeInterrupted
		err = w.Outbox.Reschedule(settle, c, code, w.now())
	case transient(err) && w.givesUp(e):
		code = CodeGaveUpPrefix + code
		w.log().ErrorContext(ctx, "outbox: write parked", "id", e.ID, "engagement", e.Engagement, "attempts", e.Attempts, "code", code)
		err = w.Outbox.Park(settle, c, code)
	case transient(err):
		next := w.now().Add(w.retryWait(e.Attempts, err))
		w.log().WarnContext(ctx, "outbox: write deferred", "id", e.ID, "engagement", e.Engagement, "attempts", e.Attempts, "code", code, "next", next)
		err = w.Outbox.Reschedule(settle, c, code, next)
	default:
		w.log().ErrorContext(ctx, "outbox: write parked", "id", e.ID, "engagement", e.Engagement, "attempts", e.Attempts, "code", code)
		err = w.Outbox.Park(settle, c, code)
	}
	if err != nil {
		// ErrClaimLost: the lease ran out and another worker holds the write now.
		w.log().WarnContext(ctx, "outbox: settling failed", "id", e.ID, "err", err)
	}
}

// transient reports whether a failed write may succeed later: the CRM was unavailable (its
// daily limit spent, unreachable, locked) or the call ran out of time.
// ErrNoNotifier is what delivering an event fails with when the worker has no Notifier: the
// event is parked (code "no_notifier") until one is configured and an operator retries it.
var ErrNoNotifier = errors.New("outbox: no notifier for events")

// CodeNoNotifier is the parked code of an event the worker had no Notifier for.
const CodeNoNotifier = "no_notifier"

// send delivers e: a write-back through the Recorder, an event through the Notifier.
func (w *Worker) send(ctx context.Context, e flows.OutboxEntry) error {
	if e.Event == nil {
		return w.Recorder.WriteOutcome(ctx, e.Writeback)
	}
	if w.Notifier == nil {
		return noNotifier{}
	}
	return w.Notifier.Notify(ctx, *e.Event)
}

type noNotifier struct{}

func (noNotifier) Error() string     { return ErrNoNotifier.Error() }
func (noNotifier) Unwrap() error     { return ErrNoNotifier }
func (noNotifier) ErrorCode() string { return CodeNoNotifier }

func transient(err error) bool {
	return errors.Is(err, flows.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// Code is the code kept for a failed write: the error's ErrorCode() (the CRM's code) when it
// has one, else one of the Code* constants; "" for nil. Never a message.
func Code(err error) string {
	var coded interface{ ErrorCode() string }
	switch {
	case err == nil:
		return ""
	case errors.As(err, &coded) && coded.ErrorCode() != "":
		return coded.ErrorCode()
	case errors.Is(err, flows.ErrUnavailable):
		return CodeUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, flows.ErrRecordNotFound):
		return CodeNotFound
	}
	return CodeRejected
}

// Backoff is the wait after the attempts-th failed attempt: MinBackoff·2^(attempts-1), at most
// MaxBackoff, jittered uniformly over its upper half so that writes that failed together do
// not come back together.
func (w *Worker) Backoff(attempts int) time.Duration {
	lo, hi := w.or(w.MinBackoff, DefaultMinBackoff), w.or(w.MaxBackoff, DefaultMaxBackoff)
	d := lo
	for i := 1; i < attempts && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// retryWait is the wait after the attempts-th attempt failed with the transient err: the
// backoff, or longer when the CRM asked for it (a Retry-After longer than sfdc waits itself,
// which leaves it to its caller), at most MaxBackoff.
func (w *Worker) retryWait(attempts int, err error) time.Duration {
	d := w.Backoff(attempts)
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		d = max(d, min(ra.RetryAfter(), w.or(w.MaxBackoff, DefaultMaxBackoff)))
	}
	return d
}

// givesUp reports whether e, which failed for a transient reason, is to be parked: queued
// GiveUpAfter ago or more, after GiveUpAttempts attempts at least.
func (w *Worker) givesUp(e flows.OutboxEntry) bool {
	after := w.or(w.GiveUpAfter, DefaultGiveUpAfter)
	return w.GiveUpAfter >= 0 && e.Attempts >= GiveUpAttempts && w.now().Sub(e.At) >= after
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (w *Worker) or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (w *Worker) orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
