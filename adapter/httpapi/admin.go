package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/idverify/idverify/flows"
)

// The admin endpoints: an admin key's name is the actor of what they change.

type resetRequest struct {
	Reason string `json:"reason"`
}

type resetJSON struct {
	Person  string    `json:"person"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	Cleared int       `json:"cleared"`
}

// resetLockout: POST /v1/admin/lockouts/{person}/reset forgets the person's failures (which
// lifts a lock at once), kept in the store's audit with the key's name and the reason.
func (a *API) resetLockout(ctx context.Context, c *call, req *resetRequest) (answer, error) {
	res, err := a.engine.ResetFailures(ctx, flows.ResetRequest{Person: c.r.PathValue("person"), Actor: actor(c.r), Reason: req.Reason})
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusOK, body: resetJSON{Person: res.Person, Actor: res.Actor, Reason: res.Reason,
		At: res.At.UTC(), Cleared: res.Cleared}}, nil
}

type outboxJSON struct {
	Entries []outboxEntryJSON `json:"entries"`
	// NextAfter is the after of the next page, when this one is full.
	NextAfter int64 `json:"next_after,omitempty"`
}

type outboxEntryJSON struct {
	ID         int64  `json:"id"`
	Key        string `json:"key"`
	Engagement string `json:"engagement"`
	Outcome    string `json:"outcome"`
	// Event is the event type of an event for a webhook (then Engagement is its queue,
	// "event/<webhook>"); empty for a write to Salesforce.
	Event       string    `json:"event,omitempty"`
	QueuedAt    time.Time `json:"queued_at"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	Code        string    `json:"code,omitempty"`
	NextAttempt time.Time `json:"next_attempt"`
}

// Bounds of a page of the outbox.
const (
	defaultOutboxPage = 100
	maxOutboxPage     = 1000
)

// listOutbox: GET /v1/admin/outbox?after=&limit= lists the writes not delivered yet, oldest
// first: ids, keys, outcomes and error codes (an outbox write holds no personal data).
func (a *API) listOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, limit := int64(0), defaultOutboxPage
	var err error
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			a.fail(w, r, badValue("after", "give the id of the last entry seen (0 or more)"), "")
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxOutboxPage {
			a.fail(w, r, badValue("limit", "give 1 to %d", maxOutboxPage), "")
			return
		}
	}
	entries, err := a.store.ListOutbox(r.Context(), after, limit)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := outboxJSON{Entries: make([]outboxEntryJSON, len(entries))}
	for i, e := range entries {
		out.Entries[i] = outboxEntryJSON{ID: e.ID, Key: e.Key, Engagement: e.Engagement, Outcome: e.Writeback.Outcome.String(),
			QueuedAt: e.At.UTC(), Status: e.Status.String(), Attempts: e.Attempts, Code: e.Code, NextAttempt: e.NextAttempt.UTC()}
		if ev := e.Event; ev != nil {
			out.Entries[i].Outcome, out.Entries[i].Event = ev.Outcome.String(), ev.Type.String()
		}
	}
	if len(entries) == limit {
		out.NextAfter = entries[len(entries)-1].ID
	}
	writeJSON(w, r, http.StatusOK, "application/json", out)
}

type emptyRequest struct{}

// outboxID is the {id} of an outbox path.
func outboxID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &apiError{kind: flows.ErrNotFound, detail: "no parked write has that id"}
	}
	return id, nil
}

// retryOutbox: POST /v1/admin/outbox/{id}/retry makes a parked write due again.
func (a *API) retryOutbox(ctx context.Context, c *call, _ *emptyRequest) (answer, error) {
	id, err := outboxID(c.r)
	if err == nil {
		err = a.store.RetryParked(ctx, id, a.clock.Now())
	}
	if errors.Is(err, flows.ErrNotFound) {
		return answer{}, &apiError{kind: flows.ErrNotFound, detail: "no parked write has that id"}
	}
	if err != nil {
		return answer{}, err
	}
	a.log.InfoContext(ctx, "outbox write retried", "id", id, "key", actor(c.r))
	return answer{status: http.StatusNoContent}, nil
}

// discardOutbox: POST /v1/admin/outbox/{id}/discard deletes a parked write.
func (a *API) discardOutbox(ctx context.Context, c *call, _ *emptyRequest) (answer, error) {
	id, err := outboxID(c.r)
	if err == nil {
		err = a.store.DiscardParked(ctx, id)
	}
	if errors.Is(err, flows.ErrNotFound) {
		return answer{}, &apiError{kind: flows.ErrNotFound, detail: "no parked write has that id"}
	}
	if err != nil {
		return answer{}, err
	}
	a.log.InfoContext(ctx, "outbox write discarded", "id", id, "key", actor(c.r))
	return answer{status: http.StatusNoContent}, nil
}
