package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/flows"
)

func TestIdempotencyKey(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("a repeated step answers the same, once", func(t *testing.T) { testRepeatedStep(t, b) })
			t.Run("a repeated start starts once", func(t *testing.T) { testRepeatedStart(t, b) })
			t.Run("the key with another request", func(t *testing.T) { testKeyReused(t, b) })
			t.Run("a failed request is not kept", func(t *testing.T) { testFailedNotKept(t, b) })
			t.Run("keys are per API key", func(t *testing.T) { testKeysPerAPIKey(t, b) })
			t.Run("kept answers hold no personal data", func(t *testing.T) { testKeptAnswers(t, b) })
		})
	}
}

func testRepeatedStep(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone, "external_id": "call-i"})
	first := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", "reason-1")
	require.Equal(t, http.StatusOK, first.status, "%s", first.body)
	assert.Empty(t, first.header.Get("Idempotent-Replayed"))
	again := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", `"reason-1"`)
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"), "a structured-field string names the same key")
	assert.JSONEq(t, string(first.body), string(again.body))
	assert.Equal(t, first.session(t).Version, e.get(s.Session).Version, "the step ran once")
	reasons := 0
	for _, ev := range e.audit("call-i") {
		if ev.Step == "reason" {
			reasons++
		}
	}
	assert.Equal(t, 1, reasons)
}

func testRepeatedStart(t *testing.T, b backend) {
	e := newEnv(t, b)
	body := map[string]any{"lead": map[string]any{"last_name": "Smith", "company": "Smith Ltd"}, "channel": "In Person"}
	first := e.client.do(http.MethodPost, "/v1/sessions", body, "Idempotency-Key", "start-1")
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	again := e.client.do(http.MethodPost, "/v1/sessions", body, "Idempotency-Key", "start-1")
	require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
	assert.Equal(t, first.session(t).Session, again.session(t).Session, "no second session")
	assert.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Len(t, e.crm.Leads(), 1, "no second Lead")
}

func testKeyReused(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone, "external_id": "call-r"})
	r := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusOK, r.status)
	after := e.get(s.Session)
	events := len(e.audit("call-r"))
	// Another body, another endpoint, another session: each is 422 and runs nothing.
	e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Opening hours"}, "Idempotency-Key", "k").
		problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	e.stepResponse(e.client, after, "subject", map[string]any{"subject": "self"}, "Idempotency-Key", "k").
		problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	e.client.do(http.MethodPost, "/v1/sessions", map[string]any{"phone": janePhone}, "Idempotency-Key", "k").
		problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	assert.Equal(t, after.Version, e.get(s.Session).Version)
	assert.Len(t, e.audit("call-r"), events)
}

func testFailedNotKept(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone})
	stale := s
	stale.Version = 9
	e.stepResponse(e.client, stale, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", "k").
		problem(t, http.StatusConflict, "version_conflict")
	// The client reads the version it was told and sends the request again, with the key.
	r := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Empty(t, r.header.Get("Idempotent-Replayed"), "it ran")
}

func testKeysPerAPIKey(t *testing.T, b backend) {
	e := newEnv(t, b)
	body := map[string]any{"phone": janePhone}
	a := e.client.do(http.MethodPost, "/v1/sessions", body, "Idempotency-Key", "same")
	o := e.client.as(opsKey).do(http.MethodPost, "/v1/sessions", body, "Idempotency-Key", "same")
	require.Equal(t, http.StatusCreated, a.status)
	require.Equal(t, http.StatusCreated, o.status)
	assert.NotEqual(t, a.session(t).Session, o.session(t).Session, "another client's key of the same name is another key")
	assert.NotEqual(t, a.session(t).Engagement, o.session(t).Engagement)
}

// A kept answer holds no personal data: the values of search results and the revealed
// expected values are left out. A replay fills the revealed values again while the session is
// still at that version.
func testKeptAnswers(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": nobodyPhone, "external_id": "call-k"})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	search := map[string]any{"search_type": "branch", "keywords": "Jane"}
	first := e.stepResponse(e.client, s, "search", search, "Idempotency-Key", "search-1")
	require.Equal(t, http.StatusOK, first.status)
	require.Equal(t, []string{"Jane Smith"}, first.session(t).Results[0].Values)
	again := e.stepResponse(e.client, s, "search", search, "Idempotency-Key", "search-1")
	require.Equal(t, http.StatusOK, again.status)
	assert.Nil(t, again.session(t).Results[0].Values, "result values are not kept")
	assert.Equal(t, janeID, again.session(t).Results[0].ID)
	s = first.session(t)

	sel := map[string]any{"record": janeID}
	beforeSelect := s
	first = e.stepResponse(e.client, s, "select", sel, "Idempotency-Key", "select-1")
	require.Equal(t, http.StatusOK, first.status)
	require.Equal(t, "SW1A 1AA", first.session(t).Questions[1].Expected)
	again = e.stepResponse(e.client, s, "select", sel, "Idempotency-Key", "select-1")
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.JSONEq(t, string(first.body), string(again.body), "the revealed values, fetched again")

	// Once the session moved on, the replay is the kept answer: without them.
	e.step(first.session(t), "attestations", map[string]any{"attestations": []map[string]any{{"field": "PersonBirthdate", "correct": true}}})
	again = e.stepResponse(e.client, beforeSelect, "select", sel, "Idempotency-Key", "select-1")
	require.Equal(t, http.StatusOK, again.status)
	assert.Empty(t, again.session(t).Questions[1].Expected)
	assert.Equal(t, first.session(t).Version, again.session(t).Version)

	if idem, ok := e.idem.(*httpapitest.Idempotency); ok {
		bodies := idem.Bodies()
		require.NotEmpty(t, bodies)
		for _, body := range bodies {
			for _, v := range personalData {
				assert.NotContains(t, string(body), v)
			}
			assert.NotContains(t, string(body), "SW1A 1AA")
		}
	}
}

// slowStore makes every Commit of the engine take a while, so that requests overlap.
type slowStore struct {
	flows.SessionStore
	delay time.Duration
}

func (s slowStore) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	time.Sleep(s.delay)
	return s.SessionStore.Commit(ctx, c)
}

// The same step sent many times at once with one Idempotency-Key runs once: every other copy
// is told the key is in use (409) or answered with the first one's answer. Without the key the
// engine's version check alone would answer them version_conflict.
func TestConcurrentRepeatsRunOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, func(s *setup) { s.sessions = slowStore{s.sessions, 20 * time.Millisecond} })
			s := e.start(map[string]any{"phone": janePhone, "external_id": "call-c"})
			s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
			s = e.step(s, "subject", map[string]any{"subject": "self"})
			const n = 8
			var wg sync.WaitGroup
			responses := make([]*response, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					responses[i] = e.stepResponse(e.client, s, "answers", map[string]any{"answers": janeAnswers}, "Idempotency-Key", "answer-1")
				}()
			}
			wg.Wait()
			var ok [][]byte
			for _, r := range responses {
				switch r.status {
				case http.StatusOK:
					ok = append(ok, r.body)
				case http.StatusConflict:
					p := r.problem(t, http.StatusConflict, "idempotency_key_in_use")
					assert.NotEmpty(t, p.Detail)
					assert.Equal(t, "1", r.header.Get("Retry-After"))
				default:
					t.Errorf("answer %d: %s", r.status, r.body)
				}
			}
			require.NotEmpty(t, ok)
			for _, body := range ok[1:] {
				assert.JSONEq(t, string(ok[0]), string(body))
			}
			answers := 0
			for _, ev := range e.audit("call-c") {
				if ev.Step == "answer" {
					answers++
				}
			}
			assert.Equal(t, 1, answers, "the step ran once")
			assert.Equal(t, "verified", e.get(s.Session).Outcome)
		})
	}
}

// The idempotency store failing fails the request, which runs nothing.
func TestIdempotencyStoreDown(t *testing.T) {
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) { c.Idempotency = downStore{} }))
	s := e.start(map[string]any{"phone": janePhone})
	r := e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}, "Idempotency-Key", "k")
	r.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Equal(t, s.Version, e.get(s.Session).Version)
}

type downStore struct{ httpapi.IdempotencyStore }

func (downStore) BeginIdempotent(context.Context, httpapi.IdempotentRequest) (httpapi.IdempotencyRecord, bool, error) {
	return httpapi.IdempotencyRecord{}, false, errDown
}

var errDown = json.Unmarshal([]byte("x"), new(any)) // an error no entry maps

// An answer kept by a store that holds what this API did not write is a fault (500), not a
// replay of something else.
func TestUnreadableKeptAnswer(t *testing.T) {
	idem := &httpapitest.Idempotency{}
	e := newEnv(t, backends[0], withConfig(func(c *httpapi.Config) { c.Idempotency = idem }))
	s := e.start(map[string]any{"phone": janePhone})
	body, _ := json.Marshal(map[string]any{"version": s.Version, "reason": "Change of address"})
	// Keep garbage under the key, as a broken store would.
	req := httpapi.IdempotentRequest{Scope: "softphone", Key: "k", Token: "t", Now: t0, LeaseUntil: t0.Add(time.Minute), Expires: t0.Add(time.Hour),
		Fingerprint: fingerprint(http.MethodPost, "/v1/sessions/"+s.Session+"/reason", body)}
	_, started, err := idem.BeginIdempotent(e.ctx, req)
	require.NoError(t, err)
	require.True(t, started)
	require.NoError(t, idem.FinishIdempotent(e.ctx, "softphone", "k", "t", 200, []byte("not json")))
	r := e.raw.do(http.MethodPost, "/v1/sessions/"+s.Session+"/reason", body, "Idempotency-Key", "k")
	r.problem(t, http.StatusInternalServerError, "internal")
	assert.True(t, strings.Contains(e.logs.String(), "unmapped error"))
}

// fingerprint is the API's fingerprint of a request, as documented: SHA-256 of method, path and body.
func fingerprint(method, path string, body []byte) []byte {
	sum := sha256.Sum256(append([]byte(method+" "+path+"\n"), body...))
	return sum[:]
}
