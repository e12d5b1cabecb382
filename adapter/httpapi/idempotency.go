package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
)

// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a client that may send a
// request twice (a retry after a lost answer) names it with a key. The first request with a
// key runs; a repeat with the same key and the same request gets the first one's answer and
// runs nothing; the same key with another request is 422; a repeat while the first still runs
// is 409. Keys are scoped to the API key that sent them. Only answers that succeeded are kept:
// a request that failed changed nothing (the engine's contract), so its repeat runs again.

// IdempotencyStore keeps the answers to requests sent with an Idempotency-Key, shared by every
// replica. Implementations must be safe for concurrent use and honour ctx;
// httpapitest.TestIdempotencyStore is the contract, as tests. A record holds a hash of the
// request and an answer with no personal data (see storeAnswer), never the request itself.
type IdempotencyStore interface {
	// BeginIdempotent claims r.Key in r.Scope for the request r describes, atomically. When
	// the store holds no record of the key, or one that expired (Expires not after r.Now), or
	// a pending one whose lease ended (LeaseUntil not after r.Now: its request died), it keeps
	// r as pending and returns started true. Otherwise it changes nothing and returns the
	// record it holds and false.
	BeginIdempotent(ctx context.Context, r IdempotentRequest) (rec IdempotencyRecord, started bool, err error)
	// FinishIdempotent keeps the answer (status, body) of the pending request that token
	// claimed. It fails with ErrIdempotencyClaimLost when that claim no longer holds.
	FinishIdempotent(ctx context.Context, scope, key, token string, status int, body []byte) error
	// ReleaseIdempotent forgets the pending request that token claimed, so that the key may
	// be used again at once. It fails with ErrIdempotencyClaimLost when that claim no longer
	// holds.
	ReleaseIdempotent(ctx context.Context, scope, key, token string) error
	// SweepIdempotent deletes the records that expired at now and reports how many.
	SweepIdempotent(ctx context.Context, now time.Time) (int64, error)
}

// IdempotentRequest is a request sent with an Idempotency-Key, as the store keeps it.
type IdempotentRequest struct {
	// Scope is the API key's name; Key is the Idempotency-Key (at most 255 characters).
	Scope, Key string
	// Fingerprint is the SHA-256 of the request's method, path and body.
	Fingerprint []byte
	// Token names this claim of the key.
	Token string
	// Now is when the request began; LeaseUntil is when a pending request counts as dead;
	// Expires is when the record is forgotten.
	Now, LeaseUntil, Expires time.Time
}

// IdempotencyRecord is what the store holds for a key.
type IdempotencyRecord struct {
	Fingerprint []byte
	// Status is the answer's HTTP status; 0 while the request runs.
	Status int
	// Body is what FinishIdempotent kept.
	Body []byte
	// LeaseUntil and Expires are as BeginIdempotent was given them.
	LeaseUntil, Expires time.Time
}

// ErrIdempotencyClaimLost is what finishing or releasing a claim that no longer holds returns:
// its lease ended and another request took the key, or the record expired.
var ErrIdempotencyClaimLost = errors.New("idempotency claim lost")

// maxIdempotencyKey is the longest Idempotency-Key taken.
const maxIdempotencyKey = 255

// idempotencyKey returns the request's Idempotency-Key, "" when it has none. The draft makes
// it a structured-field string ("…"); a bare token is taken too, as most clients send one.
func idempotencyKey(r *http.Request) (string, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return "", nil
	}
	bad := &apiError{kind: errIdempotencyKey,
		detail: "send one Idempotency-Key of 1 to 255 printable ASCII characters, e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\""}
	if len(values) > 1 {
		return "", bad
	}
	key := strings.TrimSpace(values[0])
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
		if strings.ContainsAny(key, `"\`) {
			return "", bad // an escaped string: keys never need one
		}
	}
	if key == "" || len(key) > maxIdempotencyKey {
		return "", bad
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", bad
		}
	}
	return key, nil
}

// fingerprint is the SHA-256 of what makes two requests the same: method, path and body.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return h.Sum(nil)
}

// storedAnswer is the body of a kept answer.
type storedAnswer struct {
	Location string          `json:"location,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	// Stripped says Body is a session whose personal values (search results' values, revealed
	// expected values) were left out; a replay puts back what it can.
	Stripped bool `json:"stripped,omitempty"`
}

// storeAnswer returns what is kept of ans: the answer itself, except that a session's
// personal values are left out. What remains holds ids, names of fields and steps, verdicts
// and times, as the audit does.
func storeAnswer(ans answer) ([]byte, error) {
	s := storedAnswer{Location: ans.location}
	if ans.body != nil {
		body := ans.body
		if sj, ok := body.(sessionJSON); ok {
			s.Stripped = stripPersonal(&sj)
			body = sj
		}
		var err error
		if s.Body, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	return json.Marshal(s)
}

// storeTimeout bounds finishing or releasing a claim, which runs even when the request's
// context has ended (the client went away), so the key is not left pending.
const storeTimeout = 5 * time.Second

// idempotent runs exec once for the request's Idempotency-Key and answers its result, or
// answers a repeat from the store.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, c *call, field string, body []byte, exec func() (answer, error)) {
	ctx := r.Context()
	now := a.clock.Now()
	scope := actor(r)
	token := rand.Text()
	fp := fingerprint(r, body)
	rec, started, err := a.idem.BeginIdempotent(ctx, IdempotentRequest{Scope: scope, Key: c.idempotencyKey,
		Fingerprint: fp, Token: token, Now: now, LeaseUntil: now.Add(a.lease), Expires: now.Add(a.ttl)})
	switch {
	case err != nil:
		a.fail(w, r, storeFailure(err), field)
		return
	case !started && !bytes.Equal(rec.Fingerprint, fp):
		a.fail(w, r, &apiError{kind: errIdempotencyReuse,
			detail: "this Idempotency-Key was sent with another request: use a new key for a new request"}, "")
		return
	case !started && rec.Status == 0:
		a.fail(w, r, &apiError{kind: errIdempotencyBusy, retryAfter: time.Second,
			detail: "a request with this Idempotency-Key is still running: send it again in a moment"}, "")
		return
	case !started:
		a.replay(w, r, rec)
		return
	}
	settled := false
	settle := func(finish func(ctx context.Context) error) {
		settled = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if err := finish(sctx); err != nil {
			a.log.WarnContext(ctx, "idempotency record not settled", "route", routeOf(r), "err", err)
		}
	}
	defer func() {
		if !settled { // exec panicked: the key may be used again
			settle(func(ctx context.Context) error { return a.idem.ReleaseIdempotent(ctx, scope, c.idempotencyKey, token) })
		}
	}()
	ans, err := exec()
	if err != nil {
		settle(func(ctx context.Context) error { return a.idem.ReleaseIdempotent(ctx, scope, c.idempotencyKey, token) })
		a.respond(w, r, c, ans, err, field)
		return
	}
	kept, kerr := storeAnswer(ans)
	settle(func(ctx context.Context) error {
		if kerr != nil {
			return kerr
		}
		return a.idem.FinishIdempotent(ctx, scope, c.idempotencyKey, token, ans.status, kept)
	})
	a.respond(w, r, c, ans, nil, field)
}

// replay answers a request from the answer kept for its key. A kept session lacks its personal
// values: when the session is still at the kept version, the engine's view of it (with the
// revealed values, which it fetches again) is answered instead; search results' values are
// not fetched again (the agent searches again to see them).
func (a *API) replay(w http.ResponseWriter, r *http.Request, rec IdempotencyRecord) {
	var s storedAnswer
	if err := json.Unmarshal(rec.Body, &s); err != nil {
		a.fail(w, r, err, "") // unmapped: a kept answer the API did not write
		return
	}
	body := []byte(s.Body)
	if s.Stripped {
		var kept sessionJSON
		if err := json.Unmarshal(s.Body, &kept); err == nil {
			if v, err := a.engine.Get(r.Context(), kept.Session); err == nil && v.Version == kept.Version {
				fresh := a.sessionJSON(v)
				fresh.MoreResults = kept.MoreResults
				if b, err := json.Marshal(fresh); err == nil {
					body = b
				}
			}
		}
	}
	a.metrics.Replayed(routeOf(r))
	w.Header().Set("Idempotent-Replayed", "true")
	if s.Location != "" {
		w.Header().Set("Location", s.Location)
	}
	if len(body) == 0 {
		w.WriteHeader(rec.Status)
		return
	}
	writeBody(w, r, rec.Status, "application/json", body)
}

// storeFailure is the error of an idempotency store that failed: unavailable, unless it said
// more.
func storeFailure(err error) error {
	if _, mapped := lookupProblem(err); mapped {
		return err
	}
	return &apiError{kind: flows.ErrUnavailable, detail: "the idempotency store failed: try again"}
}
