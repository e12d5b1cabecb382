package fakeorg

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedContacts creates n contacts with the given last name straight in the DB.
func (to *testOrg) seedContacts(n int, lastName string) []string {
	to.t.Helper()
	tx := to.DB().Begin(true)
	ids := make([]string, n)
	for i := range n {
		id, e := tx.Create("Contact", map[string]any{"LastName": lastName, "FirstName": fmt.Sprint("F", i)})
		if e != nil {
			tx.Rollback()
			require.Nil(to.t, e)
		}
		ids[i] = id
	}
	tx.Commit()
	return ids
}

func q(soql string) string { return "query?q=" + url.QueryEscape(soql) }

var nextURL = regexp.MustCompile(`^/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-(\d+)$`)

func TestQueryPaging(t *testing.T) {
	to := newTestOrg(t, Options{})
	want := to.seedContacts(450, "Pager")

	page := to.doJSON(http.MethodGet, q("SELECT Id FROM Contact WHERE LastName = 'Pager'"), nil, http.StatusOK,
		"Sforce-Query-Options", "batchSize=200").(map[string]any)
	var got []string
	var offsets []string
	for {
		assert.Equal(t, "450", fmt.Sprint(page["totalSize"]))
		for _, r := range page["records"].([]any) {
			rec := r.(map[string]any)
			assert.Equal(t, "Contact", rec["attributes"].(map[string]any)["type"])
			got = append(got, rec["Id"].(string))
		}
		if page["done"] == true {
			assert.NotContains(t, page, "nextRecordsUrl")
			break
		}
		next := page["nextRecordsUrl"].(string)
		m := nextURL.FindStringSubmatch(next)
		require.NotNil(t, m, next)
		offsets = append(offsets, m[1])
		page = to.doJSON(http.MethodGet, next, nil, http.StatusOK).(map[string]any)
	}
	assert.Equal(t, []string{"200", "400"}, offsets)
	assert.ElementsMatch(t, want, got)
	assert.Equal(t, int64(2), to.Count(KindQueryMore))

	// The default page is 2,000 rows; a batch size beyond the range is clamped.
	to.seedContacts(1700, "Pager")
	page = to.doJSON(http.MethodGet, q("SELECT Id FROM Contact WHERE LastName = 'Pager'"), nil, http.StatusOK).(map[string]any)
	assert.Len(t, page["records"], 2000)
	assert.Equal(t, false, page["done"])
	page = to.doJSON(http.MethodGet, page["nextRecordsUrl"].(string), nil, http.StatusOK).(map[string]any)
	assert.Len(t, page["records"], 150)
	assert.Equal(t, true, page["done"])
	page = to.doJSON(http.MethodGet, q("SELECT Id FROM Contact WHERE LastName = 'Pager'"), nil, http.StatusOK,
		"Sforce-Query-Options", "batchSize=10").(map[string]any)
	assert.Len(t, page["records"], 200)
}

func TestQueryLocators(t *testing.T) {
	clock := newFakeClock()
	to := newTestOrg(t, Options{Now: clock.Now, CursorLifetime: time.Minute, SessionLifetime: 24 * time.Hour})
	to.seedContacts(250, "Loc")
	page := to.doJSON(http.MethodGet, q("SELECT Id FROM Contact"), nil, http.StatusOK, "Sforce-Query-Options", "batchSize=200").(map[string]any)
	next := page["nextRecordsUrl"].(string)

	for _, bad := range []string{"query/01gXXXXXXXXXXXXXXX-200", "query/nonsense", "query/" + nextURL.FindStringSubmatch(next)[0][len("/services/data/v62.0/query/"):len(next)-4] + "-abc"} {
		resp, body := to.do(http.MethodGet, bad, nil)
		requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_QUERY_LOCATOR")
	}
	// A cursor left unread for longer than its lifetime is gone.
	clock.Add(2 * time.Minute)
	resp, body := to.do(http.MethodGet, next, nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_QUERY_LOCATOR")
}

func TestQueryShapes(t *testing.T) {
	to := newTestOrg(t, Options{})
	acct := to.doJSON(http.MethodPost, "sobjects/Account", map[string]any{"Name": "Parent Co"}, http.StatusCreated).(map[string]any)["id"].(string)
	ct := to.createContact(map[string]any{"LastName": "Child", "AccountId": acct})
	to.doJSON(http.MethodPost, "sobjects/Account", map[string]any{"Name": "Lonely Co"}, http.StatusCreated)

	resp, body := to.do(http.MethodGet, q("SELECT Id, LastName, Account.Name FROM Contact WHERE Id = '"+ct+"'"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/`+ct+`"},
		"Id":"`+ct+`","LastName":"Child","Account":{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/`+acct+`"},"Name":"Parent Co"}}]}`, string(body))
	assert.NotEmpty(t, resp.Header.Get("Sforce-Limit-Info"))

	// Child subqueries are nested query results; none is null.
	res := to.doJSON(http.MethodGet, q("SELECT Name, (SELECT LastName FROM Contacts) FROM Account ORDER BY Name"), nil, http.StatusOK).(map[string]any)
	recs := res["records"].([]any)
	require.Len(t, recs, 2)
	assert.Nil(t, recs[0].(map[string]any)["Contacts"], "Lonely Co has no contacts")
	child := recs[1].(map[string]any)["Contacts"].(map[string]any)
	assert.Equal(t, true, child["done"])
	assert.Equal(t, "1", fmt.Sprint(child["totalSize"]))

	// COUNT().
	res = to.doJSON(http.MethodGet, q("SELECT COUNT() FROM Account"), nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "2", fmt.Sprint(res["totalSize"]))
	assert.Equal(t, []any{}, res["records"])

	// Errors pass through; a missing q is MALFORMED_QUERY.
	resp, body = to.do(http.MethodGet, q("SELECT Naem FROM Contact"), nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_FIELD")
	resp, body = to.do(http.MethodGet, "query", nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "MALFORMED_QUERY")

	// queryAll sees deleted rows, query does not.
	to.doJSON(http.MethodDelete, "sobjects/Contact/"+ct, nil, http.StatusNoContent)
	res = to.doJSON(http.MethodGet, q("SELECT Id FROM Contact WHERE Id = '"+ct+"'"), nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "0", fmt.Sprint(res["totalSize"]))
	res = to.doJSON(http.MethodGet, "queryAll?q="+url.QueryEscape("SELECT Id, IsDeleted FROM Contact WHERE Id = '"+ct+"'"), nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "1", fmt.Sprint(res["totalSize"]))
	assert.Equal(t, true, res["records"].([]any)[0].(map[string]any)["IsDeleted"])
}

func TestToolingQuery(t *testing.T) {
	to := newTestOrg(t, Options{})
	res := to.doJSON(http.MethodGet, "tooling/query?q="+url.QueryEscape("SELECT Id FROM IdentityVerificationProcDef"), nil, http.StatusOK).(map[string]any)
	assert.Contains(t, res, "totalSize")
	assert.Contains(t, res, "records")
	resp, body := to.do(http.MethodGet, "tooling/query?q="+url.QueryEscape("SELECT Id FROM Account"), nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_TYPE")
	assert.Equal(t, int64(2), to.Count(KindToolingQuery))
}

func TestSearch(t *testing.T) {
	to := newTestOrg(t, Options{})
	id := to.createContact(map[string]any{"LastName": "Searchable", "FirstName": "Sam"})
	to.createContact(map[string]any{"LastName": "Other"})

	res := to.doJSON(http.MethodGet, "search?q="+url.QueryEscape("FIND {Searchable} IN NAME FIELDS RETURNING Contact(Id, LastName)"), nil, http.StatusOK).(map[string]any)
	recs := res["searchRecords"].([]any)
	require.Len(t, recs, 1)
	assert.Equal(t, id, recs[0].(map[string]any)["Id"])
	assert.Equal(t, "Contact", recs[0].(map[string]any)["attributes"].(map[string]any)["type"])

	resp, body := to.do(http.MethodGet, "search?q="+url.QueryEscape("FIND {a} RETURNING Contact"), nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	resp, body = to.do(http.MethodGet, "search", nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "MALFORMED_SEARCH")

	// parameterizedSearch, GET and POST.
	res = to.doJSON(http.MethodGet, "parameterizedSearch?q=Searchable&sobject=Contact&Contact.fields=Id,LastName", nil, http.StatusOK).(map[string]any)
	require.Len(t, res["searchRecords"], 1)
	res = to.doJSON(http.MethodPost, "parameterizedSearch", map[string]any{"q": "Searchable", "in": "NAME",
		"sobjects": []any{map[string]any{"name": "Contact", "fields": []string{"Id", "LastName"}}}}, http.StatusOK).(map[string]any)
	require.Len(t, res["searchRecords"], 1)
	assert.Equal(t, "Searchable", res["searchRecords"].([]any)[0].(map[string]any)["LastName"])
}
