package fakeorg

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerificationSetupThroughTheDataAPI: the IdentityVerificationProc* objects are created,
// read, updated, queried and deleted through the REST data API, as their data API pages say
// ("Supported Calls: create(), delete(), describeSObjects(), query(), retrieve(), update(),
// upsert()"; Industries Common Resources Developer Guide, e.g.
// https://developer.salesforce.com/docs/industries/industries-common-dev/guide/sforce-api-objects-identityverificationprocfld.html),
// every field but NamespacePrefix and ProcFld.FieldDataType writable.
func TestVerificationSetupThroughTheDataAPI(t *testing.T) {
	to := newTestOrg(t, Options{})
	ids := map[string]string{}
	steps := []struct {
		object string
		create func() map[string]any
		update map[string]any
		check  string // a SOQL query whose first row's first field must be want
		want   any
	}{
		{"IdentityVerificationProcDef", func() map[string]any {
			return map[string]any{"DeveloperName": "Verify_Caller", "MasterLabel": "Verify Caller", "SearchLayoutType": "Stack"}
		}, map[string]any{"MasterLabel": "Verify the Caller"},
			"SELECT MasterLabel FROM IdentityVerificationProcDef WHERE DeveloperName = 'Verify_Caller'", "Verify the Caller"},
		{"IdentityVerificationProcDtl", func() map[string]any {
			return map[string]any{"DeveloperName": "Caller_Search", "MasterLabel": "Caller Search",
				"IdentityVerificationProcDefId": ids["IdentityVerificationProcDef"], "ObjectName": "Account",
				"SearchType": "Text-Based", "DataSourceType": "Salesforce", "SearchSequenceNumber": 1,
				"OptionalVerifiersMinVerfCount": 1}
		}, map[string]any{"IsActive": true, "OptionalVerifiersMinVerfCount": 2},
			"SELECT OptionalVerifiersMinVerfCount FROM IdentityVerificationProcDtl WHERE IsActive = true AND DeveloperName = 'Caller_Search'", json.Number("2")},
		{"IdentityVerificationProcFld", func() map[string]any {
			return map[string]any{"DeveloperName": "Caller_Birthdate", "MasterLabel": "Birthdate",
				"IdentityVerificationProcDtlId": ids["IdentityVerificationProcDtl"], "FieldName": "PersonBirthdate",
				"FieldType": "requiredVerifier", "DataSourceType": "Salesforce", "SequenceNumber": 1}
		}, map[string]any{"FieldType": "optionalVerifier", "IsActive": true},
			"SELECT IdentityVerificationProcDtl.IdentityVerificationProcDef.DeveloperName, FieldType FROM IdentityVerificationProcFld WHERE FieldType = 'optionalVerifier' AND DeveloperName = 'Caller_Birthdate'", nil},
	}
	for _, st := range steps {
		out := to.doJSON(http.MethodPost, "sobjects/"+st.object, st.create(), http.StatusCreated).(map[string]any)
		require.Equal(t, true, out["success"])
		id := out["id"].(string)
		ids[st.object] = id
		rec := to.doJSON(http.MethodGet, "sobjects/"+st.object+"/"+id, nil, http.StatusOK).(map[string]any)
		if st.object != "IdentityVerificationProcDef" { // which has no IsActive
			assert.Equal(t, false, rec["IsActive"], "%s.IsActive defaults to false", st.object)
		}
		assert.Equal(t, "en_US", rec["Language"], "%s.Language defaults to en_US", st.object)
		to.doJSON(http.MethodPatch, "sobjects/"+st.object+"/"+id, st.update, http.StatusNoContent)
		res := to.doJSON(http.MethodGet, "query?q="+url.QueryEscape(st.check), nil, http.StatusOK).(map[string]any)
		require.Equal(t, json.Number("1"), res["totalSize"], st.check)
		if st.want != nil {
			row := res["records"].([]any)[0].(map[string]any)
			for k, v := range row {
				if k != "attributes" {
					assert.Equal(t, st.want, v, st.check)
				}
			}
		}
	}

	// The fields the pages list without Create or Update are refused, and nothing changes.
	for _, tc := range []struct{ method, path, field string }{
		{http.MethodPatch, "sobjects/IdentityVerificationProcFld/" + ids["IdentityVerificationProcFld"], "FieldDataType"},
		{http.MethodPatch, "sobjects/IdentityVerificationProcDef/" + ids["IdentityVerificationProcDef"], "NamespacePrefix"},
		{http.MethodPatch, "sobjects/IdentityVerificationProcDtl/" + ids["IdentityVerificationProcDtl"], "NamespacePrefix"},
	} {
		resp, b := to.do(tc.method, tc.path, map[string]any{tc.field: "text"})
		requireAPIError(t, resp, b, http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE")
	}

	// Before API version 54.0 the objects do not exist.
	resp, b := to.do(http.MethodPost, "/services/data/v53.0/sobjects/IdentityVerificationProcDef",
		map[string]any{"DeveloperName": "Old", "MasterLabel": "Old", "SearchLayoutType": "Stack"})
	requireAPIError(t, resp, b, http.StatusNotFound, "NOT_FOUND")

	// And they are deleted like any record, children first.
	for _, object := range []string{"IdentityVerificationProcFld", "IdentityVerificationProcDtl", "IdentityVerificationProcDef"} {
		to.doJSON(http.MethodDelete, "sobjects/"+object+"/"+ids[object], nil, http.StatusNoContent)
		resp, b := to.do(http.MethodGet, "sobjects/"+object+"/"+ids[object], nil)
		requireAPIError(t, resp, b, http.StatusNotFound, "ENTITY_IS_DELETED")
	}
}
