package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
)

// Bad input, as an attacker or a broken client sends it, gets the documented problem and
// changes nothing: the session keeps its version, the audit no event, the idempotency store no
// record.
func TestBadInputChangesNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testBadInput(t, b) })
	}
}

func testBadInput(t *testing.T, b backend) {
	e := newEnv(t, b)
	s := e.start(map[string]any{"phone": janePhone, "external_id": "call-bad"})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	require.Equal(t, "questions", s.State)
	reason := "/v1/sessions/" + s.Session + "/reason"
	answers := "/v1/sessions/" + s.Session + "/answers"
	v := jsonNumber(int64(s.Version))
	good := `{"version":` + v + `,"answers":[{"field":"PersonBirthdate","value":"14/03/1980"}]}`

	tests := []struct {
		name         string
		path, body   string
		headers      []string
		client       *client
		status       int
		code, field  string
		checkCurrent bool
	}{
		{name: "malformed JSON", path: answers, body: `{"version":` + v + `,"answers":[`, status: 400, code: "malformed_json"},
		{name: "not an object", path: answers, body: `[1,2,3]`, status: 400, code: "malformed_json"},
		{name: "two objects", path: answers, body: good + `{}`, status: 400, code: "malformed_json"},
		{name: "wrong type", path: answers, body: `{"version":"` + v + `","answers":[]}`, status: 422, code: "invalid_value", field: "version"},
		{name: "wrong type inside", path: answers, body: `{"version":` + v + `,"answers":[{"field":7}]}`, status: 422, code: "invalid_value", field: "answers.field"},
		{name: "negative version", path: answers, body: `{"version":-1,"answers":[]}`, status: 422, code: "invalid_value", field: "version"},
		{name: "unknown field", path: answers, body: strings.TrimSuffix(good, "}") + `,"admin":true}`, status: 422, code: "unknown_field", field: "admin"},
		{name: "unknown field inside", path: answers, body: `{"version":` + v + `,"answers":[{"field":"PersonBirthdate","value":"x","correct":true}]}`,
			status: 422, code: "unknown_field", field: "correct"},
		{name: "null", path: answers, body: `null`, status: 400, code: "malformed_json"},
		{name: "a member in another case", path: answers, body: strings.Replace(good, `"version"`, `"VERSION"`, 1),
			status: 422, code: "unknown_field", field: "VERSION"},
		{name: "a member in another case inside", path: answers, body: strings.Replace(good, `"value"`, `"Value"`, 1),
			status: 422, code: "unknown_field", field: "Value"},
		{name: "a member twice", path: answers, body: strings.TrimSuffix(good, "}") + `,"answers":[{"field":"PersonBirthdate","value":"soon"}]}`,
			status: 422, code: "invalid_value", field: "answers"},
		{name: "a member twice inside", path: answers, body: `{"version":` + v + `,"answers":[{"field":"Password__c","field":"PersonBirthdate","value":"14/03/1980"}]}`,
			status: 422, code: "invalid_value", field: "field"},
		{name: "a search field twice", path: "/v1/sessions/" + s.Session + "/search",
			body: `{"version":` + v + `,"search_type":"person","fields":{"LastName":"Doe","LastName":"x"}}`, status: 422, code: "invalid_value", field: "fields"},
		{name: "oversized body", path: answers, body: `{"version":` + v + `,"answers":[{"field":"PersonBirthdate","value":"` +
			strings.Repeat("x", httpapi.DefaultMaxBodyBytes) + `"}]}`, status: 413, code: "body_too_large"},
		{name: "deep nesting", path: answers, body: `{"version":` + v + `,"answers":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
			status: 422, code: "invalid_value", field: "answers"},
		{name: "not JSON", path: answers, body: good, headers: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type"},
		{name: "no key", path: answers, body: good, client: e.raw.as(""), status: 401, code: "unauthorized"},
		{name: "wrong key", path: answers, body: good, client: e.raw.as(softphoneKey + "x"), status: 401, code: "unauthorized"},
		{name: "a key's hash as the key", path: answers, body: good, client: e.raw.as(httpapi.HashKey(softphoneKey)), status: 401, code: "unauthorized"},
		{name: "basic auth", path: answers, body: good, headers: []string{"Authorization", "Basic " + softphoneKey}, status: 401, code: "unauthorized"},
		{name: "no version", path: answers, body: `{"answers":[{"field":"PersonBirthdate","value":"14/03/1980"}]}`, status: 422, code: "invalid_value", field: "version"},
		{name: "version zero", path: answers, body: `{"version":0,"answers":[{"field":"PersonBirthdate","value":"14/03/1980"}]}`, status: 422, code: "invalid_value", field: "version"},
		{name: "stale version", path: answers, body: strings.Replace(good, `"version":`+v, `"version":1`, 1), status: 409, code: "version_conflict", checkCurrent: true},
		{name: "future version", path: answers, body: strings.Replace(good, `"version":`+v, `"version":99`, 1), status: 409, code: "version_conflict", checkCurrent: true},
		{name: "step out of order", path: reason, body: `{"version":` + v + `,"reason":"Change of address"}`, status: 409, code: "step_out_of_order"},
		{name: "no answers", path: answers, body: `{"version":` + v + `,"answers":[]}`, status: 422, code: "invalid_value", field: "answers"},
		{name: "question not asked", path: answers, body: `{"version":` + v + `,"answers":[{"field":"Password__c","value":"x"}]}`, status: 422, code: "question_not_asked", field: "answers[0].field"},
		{name: "an answer that is not a date", path: answers, body: `{"version":` + v + `,"answers":[{"field":"PersonBirthdate","value":"soon"}]}`,
			status: 422, code: "invalid_value", field: "answers[0].value"},
		{name: "value and doesn't know", path: answers, body: `{"version":` + v + `,"answers":[{"field":"PersonBirthdate","value":"x","dont_know":true}]}`,
			status: 422, code: "invalid_value", field: "answers[0].dont_know"},
		{name: "attest mode for a check question", path: "/v1/sessions/" + s.Session + "/attestations",
			body: `{"version":` + v + `,"attestations":[{"field":"PersonBirthdate","correct":true}]}`, status: 422, code: "invalid_value", field: "attestations[0].field"},
		{name: "unknown session", path: "/v1/sessions/NOPE/answers", body: good, status: 404, code: "not_found"},
		{name: "a session id too long", path: "/v1/sessions/" + strings.Repeat("A", 65) + "/answers", body: good, status: 404, code: "not_found"},
		{name: "idempotency key too long", path: answers, body: good, headers: []string{"Idempotency-Key", strings.Repeat("k", 256)}, status: 400, code: "invalid_idempotency_key"},
		{name: "idempotency key not ASCII", path: answers, body: good, headers: []string{"Idempotency-Key", "kéy"}, status: 400, code: "invalid_idempotency_key"},
		{name: "idempotency key empty string", path: answers, body: good, headers: []string{"Idempotency-Key", `""`}, status: 400, code: "invalid_idempotency_key"},
	}
	idem, _ := e.idem.(*httpapitest.Idempotency)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.audit("call-bad")
			c := tt.client
			if c == nil {
				c = e.raw
			}
			headers := append([]string{"Idempotency-Key", "k-" + tt.name}, tt.headers...)
			r := c.do(http.MethodPost, tt.path, tt.body, headers...)
			p := r.problem(t, tt.status, tt.code)
			assert.Equal(t, tt.field, p.Field)
			assert.NotEmpty(t, p.Detail)
			if tt.checkCurrent {
				assert.Equal(t, s.Version, p.CurrentVersion)
			}
			if tt.status == 401 {
				assert.Equal(t, `Bearer realm="idverify"`, r.header.Get("WWW-Authenticate"))
			}
			assert.Equal(t, s.Version, e.get(s.Session).Version, "the session did not change")
			assert.Len(t, e.audit("call-bad"), len(before), "no step was recorded")
			if idem != nil {
				assert.Zero(t, idem.Len(), "no Idempotency-Key was kept")
			}
		})
	}
	// And the session still takes the good request.
	r := e.client.do(http.MethodPost, answers, good)
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

func TestStartBadInput(t *testing.T) {
	e := newEnv(t, backends[0])
	for _, tt := range []struct {
		name, body, code, field string
	}{
		{"no way to start", `{"channel":"Voice Call"}`, "invalid_value", "phone"},
		{"two ways to start", `{"phone":"` + janePhone + `","attendee":{"object":"Account","id":"` + janeID + `"}}`, "invalid_value", "phone"},
		{"bad attestation", `{"phone":"` + janePhone + `","attestation":"D"}`, "invalid_value", "attestation"},
		{"attestation without phone", `{"attendee":{"object":"Account","id":"` + janeID + `"},"attestation":"A"}`, "invalid_value", "attestation"},
		{"bad start time", `{"attendee":{"object":"Account","id":"` + janeID + `"},"start_time":"yesterday"}`, "invalid_value", "start_time"},
		{"start time in the future", `{"attendee":{"object":"Account","id":"` + janeID + `"},"start_time":"` +
			t0.Add(time.Hour).Format(time.RFC3339) + `"}`, "invalid_value", "start_time"},
		{"empty attendee", `{"attendee":{}}`, "invalid_value", "attendee"},
		{"bad attendee id", `{"attendee":{"object":"Account","id":"x' OR 1=1"}}`, "invalid_value", "attendee"},
		{"no such engagement", `{"engagement":"0ZJ000000000999AAA"}`, "record_not_found", ""},
		{"lead without a name", `{"lead":{"company":"X"}}`, "invalid_value", "lead"},
		{"actor in the body", `{"phone":"` + janePhone + `","actor":"someone-else"}`, "unknown_field", "actor"},
		// A call id the write-back's upsert path cannot carry (flows.validExternalID).
		{"call id of a dot segment", `{"phone":"` + janePhone + `","external_id":".."}`, "invalid_value", "external_id"},
		{"call id with a slash", `{"phone":"` + janePhone + `","external_id":"call/1"}`, "invalid_value", "external_id"},
		{"call id with a query", `{"phone":"` + janePhone + `","external_id":"call?x=1"}`, "invalid_value", "external_id"},
		{"call id ending as a format", `{"phone":"` + janePhone + `","external_id":"example@email.inc"}`, "invalid_value", "external_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.raw.do(http.MethodPost, "/v1/sessions", tt.body)
			p := r.problem(t, http.StatusUnprocessableEntity, tt.code)
			assert.Equal(t, tt.field, p.Field)
			assert.NotContains(t, string(r.body), "OR 1=1", "input is not echoed")
		})
	}
	assert.Empty(t, e.crm.Leads())
}

func TestRoutingProblems(t *testing.T) {
	e := newEnv(t, backends[0])
	r := e.raw.do(http.MethodGet, "/v1/nope", nil)
	r.problem(t, http.StatusNotFound, "not_found")
	r = e.raw.do(http.MethodDelete, "/v1/sessions/ABC", nil)
	r.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "GET, HEAD", r.header.Get("Allow"))
	r = e.raw.do(http.MethodGet, "/v1/sessions/ABC/reason", nil)
	r.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", r.header.Get("Allow"))
	// Without a key, a route that does not exist is not told apart from one that does.
	e.raw.as("").do(http.MethodGet, "/v1/nope", nil).problem(t, http.StatusUnauthorized, "unauthorized")
}

// A session idle past its timeout is expired by the next step, which fails.
func TestExpiredSession(t *testing.T) {
	e := newEnv(t, backends[0])
	s := e.start(map[string]any{"phone": janePhone})
	e.clock.Advance(11 * time.Minute)
	e.stepResponse(e.client, s, "reason", map[string]any{"reason": "Change of address"}).problem(t, http.StatusConflict, "session_expired")
	assert.Equal(t, "expired", e.get(s.Session).Outcome)
}

// A body sent without a Content-Length (chunked) is bounded as it is read.
func TestOversizedChunkedBody(t *testing.T) {
	e := newEnv(t, backends[0])
	s := e.start(map[string]any{"phone": janePhone})
	body := io.MultiReader(strings.NewReader(`{"version":1,"reason":"`), strings.NewReader(strings.Repeat("x", 2*httpapi.DefaultMaxBodyBytes)),
		strings.NewReader(`"}`))
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/sessions/"+s.Session+"/reason", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+softphoneKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	(&response{status: res.StatusCode, header: res.Header, body: data}).problem(t, http.StatusRequestEntityTooLarge, "body_too_large")
	assert.Equal(t, s.Version, e.get(s.Session).Version)
}

// A 422 names the member it is about, including when the engine refused the value.
func TestInvalidValueNamesTheField(t *testing.T) {
	e := newEnv(t, backends[0])
	s := e.start(map[string]any{"phone": nobodyPhone})
	s = e.step(s, "reason", map[string]any{"reason": "Change of address"})
	e.stepResponse(e.raw, s, "reason", map[string]any{"reason": "Nope"}).problem(t, http.StatusConflict, "step_out_of_order")
	e.stepResponse(e.raw, s, "subject", map[string]any{"subject": "them"}).problem(t, http.StatusUnprocessableEntity, "invalid_value")
	p := e.stepResponse(e.raw, s, "subject", map[string]any{"subject": "self", "search_type": "person"}).
		problem(t, http.StatusUnprocessableEntity, "invalid_value")
	assert.Equal(t, "search_type", p.Field, "a search type for a caller who is not known")
	s = e.step(s, "subject", map[string]any{"subject": "self"})
	for _, tt := range []struct {
		body        map[string]any
		code, field string
	}{
		{map[string]any{"search_type": "person", "keywords": "J"}, "invalid_value", "keywords"},
		{map[string]any{"search_type": "person", "fields": map[string]string{"Name": "Jane"}}, "invalid_value", "fields"},
		{map[string]any{"search_type": "person", "keywords": "Jane", "fields": map[string]string{"Name": "Jane"}}, "invalid_value", "fields"},
		{map[string]any{"search_type": "nope", "keywords": "Jane"}, "unknown_search_type", "search_type"},
		{map[string]any{"search_type": "representative", "fields": map[string]string{"Password": "x"}}, "invalid_value", "fields"},
	} {
		p := e.stepResponse(e.raw, s, "search", tt.body).problem(t, http.StatusUnprocessableEntity, tt.code)
		assert.Equal(t, tt.field, p.Field, "%v", tt.body)
	}
	s = e.step(s, "search", map[string]any{"search_type": "person", "keywords": "Jane"})
	p = e.stepResponse(e.raw, s, "select", map[string]any{"record": ahmedID}).problem(t, http.StatusUnprocessableEntity, "not_in_results")
	assert.Equal(t, "record", p.Field)
	p = e.raw.do(http.MethodPost, "/v1/sessions/"+s.Session+"/reason", map[string]any{"version": 1, "reason": "x"}).problem(t, http.StatusConflict, "version_conflict")
	assert.Equal(t, s.Version, p.CurrentVersion)
}
