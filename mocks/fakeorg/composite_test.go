package fakeorg

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type subreq = map[string]any

func composite(allOrNone bool, subs ...subreq) map[string]any {
	return map[string]any{"allOrNone": allOrNone, "compositeRequest": subs}
}

// compositeItems posts a composite request and returns its items, requiring the envelope's 200.
func (to *testOrg) compositeItems(req map[string]any) []map[string]any {
	to.t.Helper()
	v := to.doJSON(http.MethodPost, "composite", req, http.StatusOK).(map[string]any)
	var out []map[string]any
	for _, it := range v["compositeResponse"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func (to *testOrg) countContacts(lastName string) int {
	to.t.Helper()
	to.t.Helper()
	n := 0
	tx := to.DB().Begin(false)
	defer tx.Rollback()
	res, e := tx.Query("SELECT Id FROM Contact WHERE LastName = "+soqlString(lastName), false)
	require.Nil(to.t, e)
	n = len(res.Records)
	return n
}

func TestCompositeWithReferences(t *testing.T) {
	to := newTestOrg(t, Options{})
	items := to.compositeItems(composite(true,
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
			"body": map[string]any{"Name": "Acme"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "ct",
			"body": map[string]any{"LastName": "Ref", "AccountId": "@{acct.id}"}},
		subreq{"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{ct.id}?fields=AccountId,LastName", "referenceId": "read"},
		subreq{"method": "PATCH", "url": "/services/data/v62.0/sobjects/Contact/@{ct.id}", "referenceId": "upd",
			"body": map[string]any{"Title": "@{read.LastName} title"}},
		subreq{"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+AccountId+=+'@{acct.id}'", "referenceId": "q"},
		subreq{"method": "PATCH", "url": "/services/data/v62.0/sobjects/Contact/@{q.records[0].Id}", "referenceId": "upd2",
			"body": map[string]any{"Department": "Dept of @{q.totalSize}"}},
	))
	require.Len(t, items, 6)
	acctID := items[0]["body"].(map[string]any)["id"].(string)
	ctID := items[1]["body"].(map[string]any)["id"].(string)
	assert.Equal(t, "acct", items[0]["referenceId"])
	assert.Equal(t, "201", fmt.Sprint(items[0]["httpStatusCode"]))
	assert.Equal(t, map[string]any{"Location": "/services/data/v62.0/sobjects/Account/" + acctID}, items[0]["httpHeaders"])
	assert.Equal(t, acctID, items[2]["body"].(map[string]any)["AccountId"])
	assert.Equal(t, "204", fmt.Sprint(items[3]["httpStatusCode"]))
	assert.Nil(t, items[3]["body"])
	assert.Equal(t, map[string]any{}, items[3]["httpHeaders"])
	got := to.doJSON(http.MethodGet, "sobjects/Contact/"+ctID+"?fields=Title", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Ref title", got["Title"])
	assert.Equal(t, "204", fmt.Sprint(items[5]["httpStatusCode"]), items[5]["body"])
	got = to.doJSON(http.MethodGet, "sobjects/Contact/"+ctID+"?fields=Department", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Dept of 1", got["Department"])
	assert.Equal(t, int64(1), to.Count(KindComposite), "a composite request counts once")
	assert.Equal(t, int64(0), to.Count(KindCreate))
}

func TestCompositeAllOrNoneRollsBack(t *testing.T) {
	to := newTestOrg(t, Options{})
	items := to.compositeItems(composite(true,
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "a", "body": map[string]any{"LastName": "Rollback"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad", "body": map[string]any{"FirstName": "NoLast"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "c", "body": map[string]any{"LastName": "Rollback"}},
	))
	require.Len(t, items, 3)
	for i, it := range items {
		assert.Equal(t, "400", fmt.Sprint(it["httpStatusCode"]), i)
	}
	assert.Equal(t, "PROCESSING_HALTED", items[0]["body"].([]any)[0].(map[string]any)["errorCode"])
	assert.Equal(t, "REQUIRED_FIELD_MISSING", items[1]["body"].([]any)[0].(map[string]any)["errorCode"])
	assert.Equal(t, "PROCESSING_HALTED", items[2]["body"].([]any)[0].(map[string]any)["errorCode"])
	assert.Equal(t, 0, to.countContacts("Rollback"), "the first create is rolled back")
}

func TestCompositeWithoutAllOrNone(t *testing.T) {
	to := newTestOrg(t, Options{})
	items := to.compositeItems(composite(false,
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "a", "body": map[string]any{"LastName": "Kept"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad", "body": map[string]any{"FirstName": "NoLast"}},
		subreq{"method": "PATCH", "url": "/services/data/v62.0/sobjects/Contact/@{bad.id}", "referenceId": "dep", "body": map[string]any{"LastName": "x"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "c", "body": map[string]any{"LastName": "Kept"}},
	))
	require.Len(t, items, 4)
	assert.Equal(t, "201", fmt.Sprint(items[0]["httpStatusCode"]))
	assert.Equal(t, "400", fmt.Sprint(items[1]["httpStatusCode"]))
	assert.Equal(t, "400", fmt.Sprint(items[2]["httpStatusCode"]))
	assert.Equal(t, "PROCESSING_HALTED", items[2]["body"].([]any)[0].(map[string]any)["errorCode"])
	assert.Equal(t, "201", fmt.Sprint(items[3]["httpStatusCode"]))
	assert.Equal(t, 2, to.countContacts("Kept"))
}

func TestCompositeLimits(t *testing.T) {
	to := newTestOrg(t, Options{})
	var many []subreq
	for i := range maxSubrequests + 1 {
		many = append(many, subreq{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": fmt.Sprint("r", i)})
	}
	resp, body := to.do(http.MethodPost, "composite", composite(false, many...))
	requireAPIError(t, resp, body, http.StatusBadRequest, "LIMIT_EXCEEDED")

	var queries []subreq
	for i := range maxQuerySubrequests + 1 {
		queries = append(queries, subreq{"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact", "referenceId": fmt.Sprint("q", i)})
	}
	resp, body = to.do(http.MethodPost, "composite", composite(false, queries...))
	requireAPIError(t, resp, body, http.StatusBadRequest, "LIMIT_EXCEEDED")

	resp, body = to.do(http.MethodPost, "composite", composite(false,
		subreq{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "dup"},
		subreq{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "dup"}))
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_INPUT")

	resp, body = to.do(http.MethodPost, "composite", composite(false,
		subreq{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "bad-id"}))
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_INPUT")

	// Nested composite and unknown urls fail as subrequests; the envelope is still 200.
	items := to.compositeItems(composite(false,
		subreq{"method": "POST", "url": "/services/data/v62.0/composite", "referenceId": "nested", "body": map[string]any{}},
		subreq{"method": "GET", "url": "/services/data/v62.0/nowhere", "referenceId": "nowhere"},
		subreq{"method": "GET", "url": "/elsewhere", "referenceId": "elsewhere"},
	))
	assert.Equal(t, "400", fmt.Sprint(items[0]["httpStatusCode"]))
	assert.Equal(t, "404", fmt.Sprint(items[1]["httpStatusCode"]))
	assert.Equal(t, "400", fmt.Sprint(items[2]["httpStatusCode"]))
}

func collection(allOrNone bool, records ...map[string]any) map[string]any {
	return map[string]any{"allOrNone": allOrNone, "records": records}
}

func contact(fields map[string]any) map[string]any {
	fields["attributes"] = map[string]any{"type": "Contact"}
	return fields
}

func TestCollectionsCreateUpdateDelete(t *testing.T) {
	to := newTestOrg(t, Options{})
	res := to.doJSON(http.MethodPost, "composite/sobjects", collection(false,
		contact(map[string]any{"LastName": "Coll"}),
		contact(map[string]any{"FirstName": "NoLast"}),
		contact(map[string]any{"LastName": "Coll"}),
	), http.StatusOK).([]any)
	require.Len(t, res, 3)
	r0, r1, r2 := res[0].(map[string]any), res[1].(map[string]any), res[2].(map[string]any)
	assert.Equal(t, true, r0["success"])
	assert.Equal(t, []any{}, r0["errors"])
	assert.Equal(t, false, r1["success"])
	e := r1["errors"].([]any)[0].(map[string]any)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", e["statusCode"])
	assert.NotContains(t, e, "errorCode")
	assert.Contains(t, e, "fields")
	id0, id2 := r0["id"].(string), r2["id"].(string)

	// Update.
	res = to.doJSON(http.MethodPatch, "composite/sobjects", collection(true,
		contact(map[string]any{"Id": id0, "Title": "T0"}),
		contact(map[string]any{"id": id2, "Title": "T2"}), // field names are case-insensitive
	), http.StatusOK).([]any)
	assert.Equal(t, []any{
		map[string]any{"id": id0, "success": true, "errors": []any{}},
		map[string]any{"id": id2, "success": true, "errors": []any{}},
	}, res)

	// Retrieve.
	recs := to.doJSON(http.MethodGet, "composite/sobjects/Contact?ids="+id2+","+id0+",003000000000000AAA&fields=Title", nil, http.StatusOK).([]any)
	require.Len(t, recs, 3)
	assert.Equal(t, "T2", recs[0].(map[string]any)["Title"])
	assert.Equal(t, "T0", recs[1].(map[string]any)["Title"])
	assert.Nil(t, recs[2])
	recs = to.doJSON(http.MethodPost, "composite/sobjects/Contact", map[string]any{"ids": []string{id0}, "fields": []string{"Title"}}, http.StatusOK).([]any)
	require.Len(t, recs, 1)
	assert.Equal(t, "T0", recs[0].(map[string]any)["Title"])

	// Delete.
	res = to.doJSON(http.MethodDelete, "composite/sobjects?ids="+id0+","+id2, nil, http.StatusOK).([]any)
	assert.Equal(t, true, res[0].(map[string]any)["success"])
	assert.Equal(t, id2, res[1].(map[string]any)["id"])
	assert.Equal(t, 0, to.countContacts("Coll"))
	assert.Equal(t, int64(5), to.Count(KindCollections))
}

func TestCollectionsAllOrNoneRollsBack(t *testing.T) {
	to := newTestOrg(t, Options{})
	res := to.doJSON(http.MethodPost, "composite/sobjects", collection(true,
		contact(map[string]any{"LastName": "Atomic"}),
		contact(map[string]any{"FirstName": "NoLast"}),
		contact(map[string]any{"LastName": "Atomic"}),
	), http.StatusOK).([]any)
	require.Len(t, res, 3)
	for i, want := range []string{"ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING", "ALL_OR_NONE_OPERATION_ROLLED_BACK"} {
		r := res[i].(map[string]any)
		assert.Equal(t, false, r["success"], i)
		assert.Equal(t, want, r["errors"].([]any)[0].(map[string]any)["statusCode"], i)
	}
	assert.Equal(t, 0, to.countContacts("Atomic"))
}

func TestCollectionsUpsert(t *testing.T) {
	to := newTestOrg(t, Options{})
	existing := to.createContact(map[string]any{"LastName": "Old", "Ext_Id__c": "U-1"})
	res := to.doJSON(http.MethodPatch, "composite/sobjects/Contact/Ext_Id__c", collection(false,
		contact(map[string]any{"Ext_Id__c": "U-1", "LastName": "Updated"}),
		contact(map[string]any{"Ext_Id__c": "U-2", "LastName": "New"}),
	), http.StatusOK).([]any)
	require.Len(t, res, 2)
	assert.Equal(t, map[string]any{"id": existing, "success": true, "errors": []any{}, "created": false}, res[0])
	assert.Equal(t, true, res[1].(map[string]any)["created"])
}

// TestCollectionsUpsertFieldCheckedFirst: the external id field of a collection upsert is checked
// before its records, as in a single upsert (404 NOT_FOUND, the name clipped). Checked per record,
// each of 200 records echoed a field name of a composite subrequest's url (up to 1 MiB) twice:
// 400 MB per subrequest.
func TestCollectionsUpsertFieldCheckedFirst(t *testing.T) {
	to := newTestOrg(t, Options{})
	recs := make([]map[string]any, maxCollection)
	for i := range recs {
		recs[i] = contact(map[string]any{"LastName": "NoExt"})
	}
	field := strings.Repeat("F", 100_000)
	items := to.compositeItems(composite(false, subreq{"method": "PATCH", "referenceId": "up",
		"url": "/services/data/v62.0/composite/sobjects/Contact/" + field, "body": collection(false, recs...)}))
	require.Len(t, items, 1)
	assert.Equal(t, "404", fmt.Sprint(items[0]["httpStatusCode"]))
	e := items[0]["body"].([]any)[0].(map[string]any)
	assert.Equal(t, "NOT_FOUND", e["errorCode"])
	assert.Less(t, len(fmt.Sprint(e["message"])), 300)
	assert.Equal(t, 0, to.countContacts("NoExt"))

	// A field that is not an external id is refused the same way.
	resp, body := to.do(http.MethodPatch, "composite/sobjects/Contact/LastName", collection(false, recs[0]))
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")

	// A record without the field names it as the describe does.
	res := to.doJSON(http.MethodPatch, "composite/sobjects/Contact/ext_id__c", collection(false, recs[0]), http.StatusOK).([]any)
	e = res[0].(map[string]any)["errors"].([]any)[0].(map[string]any)
	assert.Equal(t, "MISSING_ARGUMENT", e["statusCode"])
	assert.Equal(t, "Ext_Id__c not specified", e["message"])
}

func TestCollectionsLimit(t *testing.T) {
	to := newTestOrg(t, Options{})
	var recs []map[string]any
	for range maxCollection + 1 {
		recs = append(recs, contact(map[string]any{"LastName": "TooMany"}))
	}
	resp, body := to.do(http.MethodPost, "composite/sobjects", collection(false, recs...))
	requireAPIError(t, resp, body, http.StatusBadRequest, "EXCEEDED_ID_LIMIT")
	ids := strings.Repeat("003000000000000AAA,", maxCollection+1)
	resp, body = to.do(http.MethodDelete, "composite/sobjects?ids="+ids, nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "EXCEEDED_ID_LIMIT")
	assert.Equal(t, 0, to.countContacts("TooMany"))
}

func TestCompositeAllOrNoneWithCollection(t *testing.T) {
	to := newTestOrg(t, Options{})
	items := to.compositeItems(composite(true,
		subreq{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "a", "body": map[string]any{"LastName": "Mixed"}},
		subreq{"method": "POST", "url": "/services/data/v62.0/composite/sobjects", "referenceId": "coll",
			"body": collection(true, contact(map[string]any{"LastName": "Mixed"}), contact(map[string]any{"FirstName": "x"}))},
	))
	require.Len(t, items, 2)
	assert.Equal(t, "400", fmt.Sprint(items[0]["httpStatusCode"]))
	assert.Equal(t, 0, to.countContacts("Mixed"))
}

// TestCollectionsRetrieveLimits: a retrieve takes up to 2,000 ids ("The request retrieves up to
// 2,000 records", "Get Records With a Request Body Using sObject Collections"), and a field named
// many times is answered once, so that a long field list cannot multiply the answer: 2,000 ids
// with 50,000 "Id"s (a 300 KB body) would otherwise answer 2,000 × 50,000 fields, gigabytes.
func TestCollectionsRetrieveLimits(t *testing.T) {
	to := newTestOrg(t, Options{})
	id := to.createContact(map[string]any{"LastName": "Retrieved", "Title": "T"})
	ids := make([]string, maxRetrieve)
	for i := range ids {
		ids[i] = id
	}
	fields := []string{"Title", "title", " TITLE "}
	for range 50_000 {
		fields = append(fields, "Id")
	}
	resp, body := to.do(http.MethodPost, "composite/sobjects/Contact", map[string]any{"ids": ids, "fields": fields})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body[:min(len(body), 300)]))
	require.Less(t, len(body), 1<<20, "the answer holds each field once")
	recs := decode(t, body).([]any)
	require.Len(t, recs, maxRetrieve)
	want := map[string]any{"attributes": map[string]any{"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/" + id},
		"Title": "T", "Id": id}
	assert.Equal(t, want, recs[0])

	// GET sobjects/X/id?fields= answers each field once too.
	rec := to.doJSON(http.MethodGet, "sobjects/Contact/"+id+"?fields=Title,Id,title,ID", nil, http.StatusOK)
	assert.Equal(t, want, rec)

	resp, body = to.do(http.MethodPost, "composite/sobjects/Contact", map[string]any{"ids": append(ids, id), "fields": []string{"Id"}})
	requireAPIError(t, resp, body, http.StatusBadRequest, "EXCEEDED_ID_LIMIT")
}

// TestCompositeReferencesAreBounded: references may add at most maxRefGrowth bytes to a
// subrequest's url or body. Unbounded, a 1 MiB url of "@{c.Description}" references to a
// 32,000-character value resolved to 1.8 GB per subrequest.
func TestCompositeReferencesAreBounded(t *testing.T) {
	to := newTestOrg(t, Options{})
	long := strings.Repeat("d", 32_000)
	id := to.createContact(map[string]any{"LastName": "Refs", "Description": long})
	read := subreq{"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/" + id, "referenceId": "c"}
	many := strings.Repeat("@{c.Description}", maxRefGrowth/len(long)+1)
	for _, tc := range []struct {
		name string
		sub  subreq
	}{
		{"url", subreq{"method": "GET", "referenceId": "r", "url": "/services/data/v62.0/sobjects/Contact/" + id + "?fields=" + many}},
		{"body", subreq{"method": "PATCH", "referenceId": "r", "url": "/services/data/v62.0/sobjects/Contact/" + id,
			"body": map[string]any{"Description": many}}},
		{"body, spread over strings", subreq{"method": "POST", "referenceId": "r", "url": "/services/data/v62.0/composite/sobjects",
			"body": collection(false, contact(map[string]any{"LastName": many[:len(many)/2+8]}), contact(map[string]any{"LastName": many[len(many)/2+8:]}))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := to.compositeItems(composite(false, read, tc.sub))
			require.Len(t, items, 2)
			assert.Equal(t, "400", fmt.Sprint(items[1]["httpStatusCode"]))
			e := items[1]["body"].([]any)[0].(map[string]any)
			assert.Equal(t, "PROCESSING_HALTED", e["errorCode"])
			assert.Contains(t, e["message"], "resolve to more than")
		})
	}
	// A reference to a long value, within the bound, works.
	items := to.compositeItems(composite(false, read, subreq{"method": "POST", "referenceId": "copy",
		"url": "/services/data/v62.0/sobjects/Contact", "body": map[string]any{"LastName": "Copy", "Description": "@{c.Description}"}}))
	require.Equal(t, "201", fmt.Sprint(items[1]["httpStatusCode"]), items[1])
	copyID := items[1]["body"].(map[string]any)["id"].(string)
	assert.Equal(t, []any{long}, to.values("Contact", copyID, "Description"))
}

// TestDuplicateExternalIDListsABoundedPrefix: an upsert whose external id many records share
// fails each record with DUPLICATE_EXTERNAL_ID listing the first ten matches; the whole list made
// each record's error as long as the matches (2 MB for 100,000), in collections and job results.
func TestDuplicateExternalIDListsABoundedPrefix(t *testing.T) {
	to := newTestOrg(t, Options{})
	var ids []string
	for range 25 {
		ids = append(ids, to.createContact(map[string]any{"LastName": "Dup", "Legacy_Id__c": "L-1"}))
	}
	res := to.doJSON(http.MethodPatch, "composite/sobjects/Contact/Legacy_Id__c",
		collection(false, contact(map[string]any{"Legacy_Id__c": "L-1", "Title": "x"})), http.StatusOK).([]any)
	e := res[0].(map[string]any)["errors"].([]any)[0].(map[string]any)
	assert.Equal(t, "DUPLICATE_EXTERNAL_ID", e["statusCode"])
	assert.Equal(t, "Legacy_Id__c: more than one record found for external id field: "+
		strings.Join(ids[:10], ", ")+", … (25 in all)", e["message"])

	// A single upsert answers 300 with every match, as Salesforce documents.
	resp, body := to.do(http.MethodPatch, "sobjects/Contact/Legacy_Id__c/L-1", map[string]any{"Title": "x"})
	assert.Equal(t, http.StatusMultipleChoices, resp.StatusCode)
	assert.Len(t, decode(t, body), 25)
}
