package fakeorg

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultResponses(t *testing.T) {
	tests := []struct {
		failure Failure
		status  int
		code    string
		message string
	}{
		{FailServerUnavailable, 503, "SERVER_UNAVAILABLE", ""},
		{FailUnableToLockRow, 500, "UNABLE_TO_LOCK_ROW", ""},
		{FailConcurrentLimit, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (concurrent API requests) Limit exceeded."},
		{FailSessionExpired, 401, "INVALID_SESSION_ID", "Session expired or invalid"},
	}
	for _, tt := range tests {
		t.Run(string(tt.failure), func(t *testing.T) {
			to := newTestOrg(t, Options{})
			_, err := to.AddFault(Fault{Path: "/services/data/*/limits", Failure: tt.failure})
			require.NoError(t, err)
			resp, body := to.do(http.MethodGet, "limits", nil)
			e := requireAPIError(t, resp, body, tt.status, tt.code)
			if tt.message != "" {
				assert.Equal(t, tt.message, e["message"])
			}
			// Other paths are not affected.
			to.doJSON(http.MethodGet, "sobjects", nil, http.StatusOK)
		})
	}
	t.Run("html", func(t *testing.T) {
		to := newTestOrg(t, Options{})
		_, err := to.AddFault(Fault{Path: "re:/query$", Failure: FailHTMLBadGateway})
		require.NoError(t, err)
		resp, body := to.do(http.MethodGet, "query?q=SELECT+Id+FROM+Contact", nil)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"))
		assert.Contains(t, string(body), "<html>")
	})
	t.Run("empty", func(t *testing.T) {
		to := newTestOrg(t, Options{})
		_, err := to.AddFault(Fault{Method: "post", Failure: FailEmptyBody, Status: 502})
		require.NoError(t, err)
		resp, body := to.do(http.MethodPost, "sobjects/Contact", map[string]any{"LastName": "x"})
		assert.Equal(t, 502, resp.StatusCode)
		assert.Empty(t, body)
		to.doJSON(http.MethodGet, "limits", nil, http.StatusOK) // GET not affected
	})
}

func TestFaultNextNCalls(t *testing.T) {
	to := newTestOrg(t, Options{})
	_, err := to.AddFault(Fault{Path: "*/sobjects/Contact", Method: "POST", Failure: FailUnableToLockRow, Times: 2})
	require.NoError(t, err)
	for range 2 {
		resp, body := to.do(http.MethodPost, "sobjects/Contact", map[string]any{"LastName": "Locked"})
		requireAPIError(t, resp, body, 500, "UNABLE_TO_LOCK_ROW")
	}
	to.createContact(map[string]any{"LastName": "Locked"})
	assert.Equal(t, 1, to.countContacts("Locked"), "the failed calls changed nothing")
	assert.Empty(t, to.listFaults(), "a spent fault is removed")
	assert.Equal(t, int64(3), to.Count(KindCreate), "faulted calls are counted")
}

func TestFaultRateIsDeterministicWithSeed(t *testing.T) {
	run := func() []int {
		to := newTestOrg(t, Options{FaultSeed: 42})
		_, err := to.AddFault(Fault{Path: "*/limits", Failure: FailServerUnavailable, Rate: 0.3})
		require.NoError(t, err)
		var statuses []int
		for range 60 {
			resp, _ := to.do(http.MethodGet, "limits", nil)
			statuses = append(statuses, resp.StatusCode)
		}
		return statuses
	}
	a, b := run(), run()
	assert.Equal(t, a, b)
	failed := 0
	for _, s := range a {
		if s == 503 {
			failed++
		}
	}
	assert.Greater(t, failed, 5)
	assert.Less(t, failed, 40)
}

func TestFaultLatencyAndRemoval(t *testing.T) {
	to := newTestOrg(t, Options{})
	id, err := to.AddFault(Fault{Path: "*/limits", Latency: time.Hour})
	require.NoError(t, err)
	// A client that gives up gets no answer; the org does not hang on the hour.
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, to.srv.URL+"/services/data/v62.0/limits", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+to.token)
	done := make(chan error, 1)
	go func() {
		resp, err := to.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Once the org has the request (it is counted before the latency), give up on it.
	require.Eventually(t, func() bool { return to.Count(KindLimits) == 1 }, 30*time.Second, time.Millisecond)
	cancel()
	require.Error(t, <-done)
	to.RemoveFault(id)
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)

	_, err = to.AddFault(Fault{Failure: "nonsense"})
	assert.Error(t, err)
	_, err = to.AddFault(Fault{})
	assert.Error(t, err)
	_, err = to.AddFault(Fault{Path: "re:(", Failure: FailEmptyBody})
	assert.Error(t, err)
	_, err = to.AddFault(Fault{Rate: 2, Failure: FailEmptyBody})
	assert.Error(t, err)
}

func TestFaultsOnLogin(t *testing.T) {
	to := newTestOrg(t, Options{})
	_, err := to.AddFault(Fault{Path: "/services/oauth2/token", Failure: FailServerUnavailable, Times: 1})
	require.NoError(t, err)
	resp, _ := to.form("/services/oauth2/token", nil)
	assert.Equal(t, 503, resp.StatusCode)
	to.login()
}

func TestAdminEndpoint(t *testing.T) {
	to := newTestOrg(t, Options{DailyAPILimit: 100})
	admin := func(method, path, body string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, to.srv.URL+"/_fakeorg/"+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		return to.send(req)
	}
	to.ResetCounts()
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	resp, body := admin("GET", "counts", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	c := decode(t, body).(map[string]any)
	assert.Equal(t, "1", c["total"].(interface{ String() string }).String())
	assert.Contains(t, c["byKind"], "limits")

	resp, _ = admin("DELETE", "counts", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, int64(0), to.Counts().Total, "admin calls are not counted")

	resp, body = admin("POST", "faults", `{"path":"*/limits","failure":"server-unavailable","times":1,"latency":"1ms"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, body = admin("GET", "faults", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"failure":"server-unavailable"`)
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, 503, "SERVER_UNAVAILABLE")

	resp, _ = admin("POST", "faults", `{"failure":"bogus"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = admin("POST", "faults", `{"failure":"empty-body","latency":"soon"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, body = admin("POST", "faults", `{"path":"*/limits","failure":"empty-body"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	id := decode(t, body).(map[string]any)["id"]
	resp, _ = admin("DELETE", fmt.Sprint("faults/", id), "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	_, _ = admin("POST", "faults", `{"failure":"empty-body"}`)
	resp, _ = admin("DELETE", "faults", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)

	resp, _ = admin("POST", "expire-tokens", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, 401, "INVALID_SESSION_ID")
	to.token = to.login()

	resp, body = admin("POST", "daily-limit", `{"exhaust":true}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, 403, "REQUEST_LIMIT_EXCEEDED")
	resp, body = admin("GET", "daily-limit", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"used":100,"max":100}`, string(body))
	resp, _ = admin("DELETE", "daily-limit", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, body = admin("POST", "daily-limit", `{"max":7}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"used":0,"max":7}`, string(body))
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)

	resp, _ = admin("GET", "nothing", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Not from loopback: the endpoint does not exist.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/_fakeorg/counts", nil)
	req.RemoteAddr = "192.0.2.10:4000"
	to.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, rec.Body.String(), "NOT_FOUND")

	// Only the connection's address counts: headers a proxy or a client sets do not.
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/_fakeorg/expire-tokens", nil)
		req.RemoteAddr = "192.0.2.10:4000"
		req.Header.Set(h, "127.0.0.1")
		if h == "Forwarded" {
			req.Header.Set(h, "for=127.0.0.1")
		}
		to.Handler().ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNotFound, rec.Code, h)
	}
}

func TestIsLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true},
		{"127.9.9.9:80", true},
		{"[::1]:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"192.0.2.10:80", false},
		{"[2001:db8::1]:80", false},
		{"localhost:80", false}, // RemoteAddr is an address, never a name
		{"", false},
		{"127.0.0.1.evil.example:80", false},
	} {
		assert.Equal(t, tt.want, isLoopback(tt.addr), tt.addr)
	}
}
