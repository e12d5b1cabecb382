package fakeorg

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

func TestAppendValue(t *testing.T) {
	parent := &orgdb.Record{Type: "Account", ID: "001000000000001AAA", Fields: []orgdb.Field{{Name: "Name", Value: "Acme"}}}
	child := &orgdb.QueryResult{TotalSize: 1, Done: true, Records: []*orgdb.Record{{Type: "Contact", ID: "003000000000001AAA"}}}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, `null`},
		{"string", "a\"b", `"a\"b"`},
		{"bool", true, `true`},
		{"int64", int64(-42), `-42`},
		{"int", 7, `7`},
		{"float", 1.5, `1.5`},
		{"big float", 1e21, `1000000000000000000000`},
		{"NaN", math.NaN(), `null`},
		{"json.Number", json.Number("12.50"), `12.50`},
		{"parent", parent, `{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001000000000001AAA"},"Name":"Acme"}`},
		{"aggregate row", &orgdb.Record{Type: "AggregateResult", Fields: []orgdb.Field{{Name: "expr0", Value: int64(3)}}}, `{"attributes":{"type":"AggregateResult"},"expr0":3}`},
		{"child", child, `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/003000000000001AAA"}}]}`},
		{"no children", &orgdb.QueryResult{Done: true}, `null`},
		{"nil record", (*orgdb.Record)(nil), `null`},
		{"other", []string{"a", "b"}, `["a","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendValue(nil, tt.v, "62.0"))
			assert.Equal(t, tt.want, got)
			assert.True(t, json.Valid([]byte(got)), got)
		})
	}
}

func TestSOQLStringKeepsInjectionLiteral(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, `'plain'`},
		{`O'Brien`, `'O\'Brien'`},
		{`back\slash`, `'back\\slash'`},
		{`"quoted"`, `'\"quoted\"'`},
		{"line\nfeed\r\t\b\f", `'line\nfeed\r\t\b\f'`},
		{`x' OR LastName LIKE '%`, `'x\' OR LastName LIKE \'%'`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, soqlString(tt.in), tt.in)
	}

	// Over the wire: GET by external id with injection attempts finds nothing.
	to := newTestOrg(t, Options{})
	to.createContact(map[string]any{"LastName": "Secret", "Ext_Id__c": "E1"})
	for _, attack := range []string{`x' OR LastName LIKE '%`, `x\' OR Ext_Id__c != '`, `%`, `E1' OR Ext_Id__c = 'E1`} {
		resp, body := to.do(http.MethodGet, "sobjects/Contact/Ext_Id__c/"+url.PathEscape(attack), nil)
		requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	}
	// Escaped path segments are unescaped once; "/" inside a value works.
	to.createContact(map[string]any{"LastName": "Slash", "Ext_Id__c": "A/B 1"})
	got := to.doJSON(http.MethodGet, "sobjects/Contact/Ext_Id__c/"+url.PathEscape("A/B 1")+"?fields=LastName", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Slash", got["LastName"])
	_, ok := splitPath("sobjects/Contact/Ext_Id__c/%zz")
	assert.False(t, ok, "a bad escape is refused")
	segs, ok := splitPath("/sobjects/Contact/Ext_Id__c/A%2FB%201/")
	assert.True(t, ok)
	assert.Equal(t, []string{"sobjects", "Contact", "Ext_Id__c", "A/B 1"}, segs)
	// An unknown field is NOT_FOUND, not a query error.
	resp, body := to.do(http.MethodGet, "sobjects/Contact/No_Such__c/x", nil)
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	// So is a field that is not an external id, even though a record holds the value; and a
	// name that is no field at all.
	for _, path := range []string{"sobjects/Contact/LastName/Secret", "sobjects/Contact/LIMIT/1", "sobjects/Contact/Ext_Id__c%20OR%20Id/E1"} {
		resp, body := to.do(http.MethodGet, path, nil)
		requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	}
	// Field names are case-insensitive; Id (an idLookup field) reads by id.
	secret := to.doJSON(http.MethodGet, "sobjects/Contact/ext_id__c/E1?fields=LastName", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Secret", secret["LastName"])
	byID := to.doJSON(http.MethodGet, "sobjects/Contact/Id/"+secret["Id"].(string)+"?fields=LastName", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Secret", byID["LastName"])
	resp, body = to.do(http.MethodGet, "sobjects/Contact/Bad-Field/x", nil)
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
}

func TestCursorEviction(t *testing.T) {
	to := newTestOrg(t, Options{MaxCursors: 10})
	to.seedContacts(201, "Cur")
	open := func() string {
		page := to.doJSON(http.MethodGet, q("SELECT Id FROM Contact"), nil, http.StatusOK, "Sforce-Query-Options", "batchSize=200").(map[string]any)
		return page["nextRecordsUrl"].(string)
	}
	first := open()
	var last string
	for range 10 {
		last = open()
	}
	resp, body := to.do(http.MethodGet, first, nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_QUERY_LOCATOR")
	page := to.doJSON(http.MethodGet, last, nil, http.StatusOK).(map[string]any)
	assert.Equal(t, true, page["done"])
	require.Len(t, page["records"], 1)
	// A cursor read to its end is closed.
	resp, body = to.do(http.MethodGet, last, nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_QUERY_LOCATOR")
}

func TestIdentityTokenInQuery(t *testing.T) {
	to := newTestOrg(t, Options{})
	tok := to.token
	to.token = ""
	to.doJSON(http.MethodGet, "/id/"+to.OrgID()+"/"+to.UserID()+"?oauth_token="+url.QueryEscape(tok), nil, http.StatusOK)
	to.doJSON(http.MethodGet, "/services/oauth2/userinfo?access_token="+url.QueryEscape(tok), nil, http.StatusOK)
	resp, _ := to.do(http.MethodGet, "/id/"+to.OrgID()+"/005000000000000AAA?oauth_token="+url.QueryEscape(tok), nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another user's identity URL")
}
