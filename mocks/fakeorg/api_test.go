package fakeorg

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersions(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.token = "" // no auth needed
	for _, p := range []string{"/services/data/", "/services/data"} {
		vs := to.doJSON(http.MethodGet, p, nil, http.StatusOK).([]any)
		// Only the versions still served: 31.0 (Summer '14) onwards.
		require.Len(t, vs, 66-31+1)
		assert.Equal(t, map[string]any{"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}, vs[0])
		byVersion := map[string]string{}
		for _, v := range vs {
			m := v.(map[string]any)
			byVersion[m["version"].(string)] = m["label"].(string)
		}
		assert.Equal(t, "Winter '25", byVersion["62.0"])
		assert.Equal(t, "Spring '25", byVersion["63.0"])
		assert.Equal(t, "Summer '25", byVersion["64.0"])
		assert.Equal(t, "Spring '26", byVersion["66.0"])
	}
}

func TestUnknownVersionsAndPaths(t *testing.T) {
	to := newTestOrg(t, Options{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/services/data/v6.0/sobjects", 404, "NOT_FOUND"}, // never existed
		{"GET", "/services/data/v0.0/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/v020.0/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/v20.5/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/v67.0/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/v62/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/vX/sobjects", 404, "NOT_FOUND"},
		{"GET", "/services/data/v62.0/nothing-here", 404, "NOT_FOUND"},
		{"GET", "/services/data/v62.0/sobjects/NoSuchObject", 404, "NOT_FOUND"},
		{"GET", "/services/data/v62.0/sobjects/NoSuchObject/describe", 404, "NOT_FOUND"},
		{"GET", "/nothing", 404, "NOT_FOUND"},
		{"PUT", "/services/data/v62.0/sobjects/Contact", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/services/data/v62.0/query", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/services/data/v62.0/composite", 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/services/data/v62.0/sobjects", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := to.do(tt.method, tt.path, nil)
			e := requireAPIError(t, resp, body, tt.status, tt.code)
			if tt.code == "NOT_FOUND" {
				assert.Equal(t, "The requested resource does not exist", e["message"])
			}
		})
	}
}

// TestRetiredVersions: "If you request any resource or use an operation from a retired API
// version, REST API returns the 410:GONE error code" (REST API Developer Guide, API End-of-Life
// Policy: 7.0–20.0 retired in Summer '22, 21.0–30.0 in Summer '25), whatever the resource, the
// method or the session; the versions still served work.
func TestRetiredVersions(t *testing.T) {
	to := newTestOrg(t, Options{})
	tests := []struct {
		method, path string
		token        bool
		status       int
		code         string
	}{
		{"GET", "/services/data/v7.0/", true, 410, "GONE"},
		{"GET", "/services/data/v20.0/sobjects", true, 410, "GONE"},
		{"GET", "/services/data/v21.0/query?q=SELECT+Id+FROM+Account", true, 410, "GONE"},
		{"POST", "/services/data/v25.0/sobjects/Contact", true, 410, "GONE"},
		{"GET", "/services/data/v30.0/sobjects/Account/describe", true, 410, "GONE"},
		{"GET", "/services/data/v30.0/no-such-resource", true, 410, "GONE"},
		{"GET", "/services/data/v30.0/limits", false, 410, "GONE"}, // before the session is looked at
		{"GET", "/services/data/v31.0/limits", true, 200, ""},
		{"GET", "/services/data/v66.0/limits", true, 200, ""},
		{"GET", "/services/data/v31.0/limits", false, 401, "INVALID_SESSION_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			tok := to.token
			if !tt.token {
				to.token = ""
			}
			var body any
			if tt.method == http.MethodPost {
				body = map[string]any{"LastName": "Retired"}
			}
			resp, b := to.do(tt.method, tt.path, body)
			to.token = tok
			if tt.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
				return
			}
			requireAPIError(t, resp, b, tt.status, tt.code)
		})
	}

	// In a composite request too, as a subrequest's answer.
	out := to.doJSON(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{
		map[string]any{"method": "GET", "url": "/services/data/v30.0/limits", "referenceId": "old"},
	}}, http.StatusOK).(map[string]any)
	sub := out["compositeResponse"].([]any)[0].(map[string]any)
	assert.Equal(t, json.Number("410"), sub["httpStatusCode"])
	assert.Equal(t, "GONE", sub["body"].([]any)[0].(map[string]any)["errorCode"])
	assert.Equal(t, 0, countContacts(t, to, "Retired"))
}

func countContacts(t *testing.T, to *testOrg, lastName string) int {
	t.Helper()
	tx := to.DB().Begin(false)
	defer tx.Rollback()
	res, e := tx.Query("SELECT Id FROM Contact WHERE LastName = '"+lastName+"'", false)
	require.Nil(t, e)
	return res.TotalSize
}

func TestResourcesAndDescribe(t *testing.T) {
	to := newTestOrg(t, Options{})
	res := to.doJSON(http.MethodGet, "/services/data/v62.0/", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "/services/data/v62.0/sobjects", res["sobjects"])
	assert.Equal(t, "/services/data/v62.0/query", res["query"])

	g := to.doJSON(http.MethodGet, "sobjects", nil, http.StatusOK).(map[string]any)
	names := map[string]bool{}
	for _, s := range g["sobjects"].([]any) {
		names[s.(map[string]any)["name"].(string)] = true
	}
	for _, n := range []string{"Account", "Contact", "Lead", "User", "EngagementInteraction", "EngagementAttendee",
		"EngagementTopic", "AccountContactRelation", "IdentityVerificationProcDef", "IdentityVerificationProcDtl", "IdentityVerificationProcFld"} {
		assert.True(t, names[n], n)
	}

	basic := to.doJSON(http.MethodGet, "sobjects/contact", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Contact", basic["objectDescribe"].(map[string]any)["name"])
	assert.Contains(t, basic, "recentItems")

	d := to.doJSON(http.MethodGet, "sobjects/Contact/describe", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Contact", d["name"])
	assert.Equal(t, "003", d["keyPrefix"])
	fields := map[string]map[string]any{}
	for _, f := range d["fields"].([]any) {
		fm := f.(map[string]any)
		fields[fm["name"].(string)] = fm
	}
	assert.Equal(t, "string", fields["LastName"]["type"])
	assert.Equal(t, true, fields["Ext_Id__c"]["externalId"])
}

func TestSObjectCRUD(t *testing.T) {
	to := newTestOrg(t, Options{})

	// Create: 201 with the documented body.
	resp, body := to.do(http.MethodPost, "sobjects/Contact", map[string]any{
		"attributes": map[string]any{"type": "Contact"}, "FirstName": "Ada", "LastName": "Lovelace", "Phone": "+1 555 0100"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var created map[string]any
	require.NoError(t, json.Unmarshal(body, &created))
	id := created["id"].(string)
	assert.Len(t, id, 18)
	assert.True(t, strings.HasPrefix(id, "003"))
	assert.Equal(t, map[string]any{"id": id, "success": true, "errors": []any{}}, created)
	assert.NotEmpty(t, resp.Header.Get("Sforce-Limit-Info"))

	// Read with ?fields: attributes first, then the fields.
	resp, body = to.do(http.MethodGet, "sobjects/Contact/"+id+"?fields=LastName,Phone", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/`+id+`"},
		"LastName":"Lovelace","Phone":"+1 555 0100","Id":"`+id+`"}`, string(body))
	assert.True(t, strings.HasPrefix(string(body), `{"attributes":{"type":"Contact","url":`), string(body))

	// Read everything, with the 15-character id.
	all := to.doJSON(http.MethodGet, "sobjects/Contact/"+id[:15], nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Ada", all["FirstName"])
	assert.Contains(t, all, "Birthdate")
	assert.Nil(t, all["Birthdate"])

	// Update: 204, no body.
	resp, body = to.do(http.MethodPatch, "sobjects/Contact/"+id, map[string]any{"Phone": "+1 555 0199"})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	assert.Empty(t, body)
	got := to.doJSON(http.MethodGet, "sobjects/Contact/"+id+"?fields=Phone", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "+1 555 0199", got["Phone"])

	// Validation errors come from the data layer as arrays.
	resp, body = to.do(http.MethodPost, "sobjects/Contact", map[string]any{"FirstName": "NoLast"})
	requireAPIError(t, resp, body, http.StatusBadRequest, "REQUIRED_FIELD_MISSING")

	// Delete: 204; then the record is gone.
	resp, body = to.do(http.MethodDelete, "sobjects/Contact/"+id, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	resp, body = to.do(http.MethodGet, "sobjects/Contact/"+id, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))

	assert.Equal(t, int64(2), to.Count(KindCreate))
	assert.Equal(t, int64(4), to.Count(KindRead))
	assert.Equal(t, int64(1), to.Count(KindUpdate))
	assert.Equal(t, int64(1), to.Count(KindDelete))
}

func TestMalformedBodies(t *testing.T) {
	to := newTestOrg(t, Options{})
	id := to.createContact(map[string]any{"LastName": "X"})
	tests := []struct{ method, path, body string }{
		{"POST", "sobjects/Contact", `{"LastName":`},
		{"POST", "sobjects/Contact", ``},
		{"POST", "sobjects/Contact", `["LastName"]`},
		{"POST", "sobjects/Contact", `{"LastName":"a"} {}`},
		{"PATCH", "sobjects/Contact/" + id, `nope`},
		{"PATCH", "sobjects/Contact/Ext_Id__c/E1", `{`},
		{"POST", "composite", `{"compositeRequest":`},
		{"POST", "composite/sobjects", `{"records":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			resp, body := to.do(tt.method, tt.path, tt.body)
			requireAPIError(t, resp, body, http.StatusBadRequest, "JSON_PARSER_ERROR")
		})
	}
	// Nothing was created or changed.
	got := to.doJSON(http.MethodGet, "sobjects/Contact/"+id+"?fields=LastName", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "X", got["LastName"])
}

func TestUpsertByExternalID(t *testing.T) {
	to := newTestOrg(t, Options{})
	resp, body := to.do(http.MethodPatch, "sobjects/Contact/Ext_Id__c/E-1", map[string]any{"LastName": "First"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var r map[string]any
	require.NoError(t, json.Unmarshal(body, &r))
	id := r["id"].(string)
	assert.Equal(t, map[string]any{"id": id, "success": true, "errors": []any{}, "created": true}, r)

	resp, body = to.do(http.MethodPatch, "sobjects/Contact/Ext_Id__c/E-1", map[string]any{"LastName": "Second"})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, &r))
	assert.Equal(t, map[string]any{"id": id, "success": true, "errors": []any{}, "created": false}, r)

	// Before v46.0 an update by upsert answers 204.
	resp, body = to.do(http.MethodPatch, "/services/data/v45.0/sobjects/Contact/Ext_Id__c/E-1", map[string]any{"LastName": "Third"})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))

	// GET by external id.
	got := to.doJSON(http.MethodGet, "sobjects/Contact/Ext_Id__c/E-1?fields=LastName", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Third", got["LastName"])
	resp, body = to.do(http.MethodGet, "sobjects/Contact/Ext_Id__c/missing", nil)
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")

	// Several matches on a non-unique external id: 300 with the record URLs.
	a := to.createContact(map[string]any{"LastName": "A", "Legacy_Id__c": "L-1"})
	b := to.createContact(map[string]any{"LastName": "B", "Legacy_Id__c": "L-1"})
	resp, body = to.do(http.MethodPatch, "sobjects/Contact/Legacy_Id__c/L-1", map[string]any{"LastName": "C"})
	require.Equal(t, http.StatusMultipleChoices, resp.StatusCode, string(body))
	var urls []string
	require.NoError(t, json.Unmarshal(body, &urls))
	assert.ElementsMatch(t, []string{"/services/data/v62.0/sobjects/Contact/" + a, "/services/data/v62.0/sobjects/Contact/" + b}, urls)
	assert.Equal(t, int64(4), to.Count(KindUpsert))
}

func TestLimitsAndDailyLimit(t *testing.T) {
	to := newTestOrg(t, Options{DailyAPILimit: 5})
	l := to.doJSON(http.MethodGet, "limits", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, map[string]any{"Max": json.Number("5"), "Remaining": json.Number("4")}, l["DailyApiRequests"])

	resp, _ := to.do(http.MethodGet, "sobjects", nil)
	assert.Equal(t, "api-usage=2/5", resp.Header.Get("Sforce-Limit-Info"))
	for range 3 {
		resp, _ = to.do(http.MethodGet, "sobjects", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.Equal(t, "api-usage=5/5", resp.Header.Get("Sforce-Limit-Info"))
	resp, body := to.do(http.MethodGet, "sobjects", nil)
	e := requireAPIError(t, resp, body, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED")
	assert.Equal(t, "TotalRequests Limit exceeded.", e["message"])
	assert.Equal(t, "api-usage=5/5", resp.Header.Get("Sforce-Limit-Info"))

	// Logins do not count against the limit and still work.
	to.login()
	to.ResetDailyUsage()
	to.doJSON(http.MethodGet, "sobjects", nil, http.StatusOK)
	to.ExhaustDailyLimit()
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED")
}

func TestCounters(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.ResetCounts()
	to.doJSON(http.MethodGet, "sobjects", nil, http.StatusOK)
	to.doJSON(http.MethodGet, "sobjects/Contact/describe", nil, http.StatusOK)
	to.doJSON(http.MethodGet, "sobjects/Contact/describe", nil, http.StatusOK)
	to.createContact(map[string]any{"LastName": "X"})
	to.login()
	c := to.Counts()
	assert.Equal(t, int64(5), c.Total)
	assert.Equal(t, map[string]int64{"GET": 2}, c.ByKind[KindDescribe])
	assert.Equal(t, int64(1), c.Kind(KindDescribeGlobal))
	assert.Equal(t, map[string]int64{"POST": 1}, c.ByKind[KindCreate])
	assert.Equal(t, int64(1), to.Count(KindToken))
	to.ResetCounts()
	assert.Equal(t, Counts{Total: 0, ByKind: map[Kind]map[string]int64{}}, to.Counts())
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := New(Options{Seed: "big"})
	assert.ErrorContains(t, err, "unknown seed")
	_, err = New(Options{Records: -1})
	assert.Error(t, err)
}

func TestEncodeString(t *testing.T) {
	tests := []string{"", "plain", `quote " backslash \ `, "ctl \x00\x01\n\r\t", "ünïcödé ✓", "\u2028\u2029", "bad \xff utf8", "<>&"}
	for _, s := range tests {
		var got string
		require.NoError(t, json.Unmarshal(appendString(nil, s), &got), s)
		want := strings.ToValidUTF8(s, "\ufffd")
		assert.Equal(t, want, got)
	}
}

func TestWireHeaders(t *testing.T) {
	to := newTestOrg(t, Options{DailyAPILimit: 1000})
	g := to.doJSON(http.MethodGet, "sobjects", nil, http.StatusOK).(map[string]any)
	for _, k := range []string{"encoding", "maxBatchSize", "sobjects"} {
		assert.Contains(t, g, k)
	}
	// Every data response carries Sforce-Limit-Info and JSON, errors included.
	for _, p := range []string{"sobjects", "nothing-here", "sobjects/Contact/003000000000000AAA"} {
		resp, _ := to.do(http.MethodGet, p, nil)
		assert.Regexp(t, `^api-usage=\d+/1000$`, resp.Header.Get("Sforce-Limit-Info"), p)
		assert.Equal(t, "application/json;charset=UTF-8", resp.Header.Get("Content-Type"), p)
	}
	// HEAD answers like GET, without a body.
	resp, body := to.do(http.MethodHead, "limits", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	// 401 says how to authenticate.
	to.token = ""
	resp, _ = to.do(http.MethodGet, "limits", nil)
	assert.Equal(t, "Token", resp.Header.Get("WWW-Authenticate"))
}

func TestConcurrentUse(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.seedContacts(500, "Busy")
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				switch (g + i) % 4 {
				case 0:
					resp, body := to.do(http.MethodPost, "sobjects/Contact", map[string]any{"LastName": "Busy"})
					if resp.StatusCode != http.StatusCreated {
						errs <- string(body)
					}
				case 1:
					resp, body := to.do(http.MethodGet, q("SELECT Id FROM Contact WHERE LastName = 'Busy'"), nil, "Sforce-Query-Options", "batchSize=200")
					if resp.StatusCode != http.StatusOK {
						errs <- string(body)
						continue
					}
					var page map[string]any
					_ = json.Unmarshal(body, &page)
					if next, ok := page["nextRecordsUrl"].(string); ok {
						if resp, body := to.do(http.MethodGet, next, nil); resp.StatusCode != http.StatusOK {
							errs <- string(body)
						}
					}
				case 2:
					id, _ := to.AddFault(Fault{Path: "/nowhere", Failure: FailEmptyBody})
					to.RemoveFault(id)
					_ = to.Counts()
				case 3:
					resp, _ := to.form("/services/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {DemoClientID},
						"client_secret": {DemoClientSecret}, "username": {DemoUsername}, "password": {DemoPassword}})
					if resp.StatusCode != http.StatusOK {
						errs <- "login failed"
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	assert.Equal(t, int64(20), to.Count(KindCreate))
}
