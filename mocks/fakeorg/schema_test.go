package fakeorg

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOlderAPIVersions: a request at an API version older than an object or field gets
// Salesforce's errors for an unknown object or field. EngagementInteraction appeared in 55.0,
// its Reason field in 56.0 (Industries Common Resources Developer Guide, EngagementInteraction).
func TestOlderAPIVersions(t *testing.T) {
	to := newTestOrg(t, Options{Seed: SeedDemo})
	q := func(v, soql string) string { return "/services/data/v" + v + "/query?q=" + url.QueryEscape(soql) }

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, message      string
	}{
		{"describe of an object newer than the version", http.MethodGet, "/services/data/v54.0/sobjects/EngagementInteraction/describe", nil, 404, "NOT_FOUND", "The requested resource does not exist"},
		{"create of an object newer than the version", http.MethodPost, "/services/data/v54.0/sobjects/EngagementInteraction", map[string]any{}, 404, "NOT_FOUND", "The requested resource does not exist"},
		{"query of an object newer than the version", http.MethodGet, q("54.0", "SELECT Id FROM EngagementInteraction"), nil, 400, "INVALID_TYPE", "sObject type 'EngagementInteraction' is not supported"},
		{"query of a field newer than the version", http.MethodGet, q("55.0", "SELECT Reason FROM EngagementInteraction"), nil, 400, "INVALID_FIELD", "No such column 'Reason' on entity 'EngagementInteraction'"},
		{"create with a field newer than the version", http.MethodPost, "/services/data/v55.0/sobjects/EngagementInteraction",
			map[string]any{"CommunicationChannel": "Voice Call", "StartDateTime": "2026-01-01T00:00:00Z", "Reason": "x"}, 400, "INVALID_FIELD", "No such column 'Reason' on sobject of type EngagementInteraction"},
		{"semi-join on an object newer than the version", http.MethodGet, q("54.0", "SELECT Id FROM Contact WHERE Id IN (SELECT ExternalAttendeeId FROM EngagementAttendee)"), nil, 400, "INVALID_TYPE", "sObject type 'EngagementAttendee' is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := to.do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			errs := decode(t, body).([]any)
			e := errs[0].(map[string]any)
			assert.Equal(t, tc.code, e["errorCode"])
			assert.Contains(t, e["message"], tc.message)
		})
	}

	// At the versions that have them, the same calls work.
	to.doJSON(http.MethodGet, q("56.0", "SELECT Reason FROM EngagementInteraction"), nil, http.StatusOK)
	to.doJSON(http.MethodGet, "/services/data/v55.0/sobjects/EngagementInteraction/describe", nil, http.StatusOK)

	// describeGlobal lists what the version has.
	names := func(v string) map[string]bool {
		g := to.doJSON(http.MethodGet, "/services/data/v"+v+"/sobjects", nil, http.StatusOK).(map[string]any)
		out := map[string]bool{}
		for _, s := range g["sobjects"].([]any) {
			out[s.(map[string]any)["name"].(string)] = true
		}
		return out
	}
	assert.False(t, names("53.0")["IdentityVerificationProcDtl"])
	assert.True(t, names("54.0")["IdentityVerificationProcDtl"])
	assert.False(t, names("54.0")["EngagementTopic"])
	assert.True(t, names("62.0")["EngagementTopic"])
}

// TestPersonAccountsByRecordType: a person account is an Account of the person account record
// type ("Person Account Record Types", SOAP API Developer Guide); IsPersonAccount is read-only.
func TestPersonAccountsByRecordType(t *testing.T) {
	to := newTestOrg(t, Options{})
	rts := to.doJSON(http.MethodGet, "query?q="+url.QueryEscape("SELECT Id, DeveloperName, IsPersonType FROM RecordType WHERE SobjectType = 'Account' ORDER BY DeveloperName"), nil, http.StatusOK).(map[string]any)
	recs := rts["records"].([]any)
	require.Len(t, recs, 2)
	person := recs[1].(map[string]any)
	assert.Equal(t, "PersonAccount", person["DeveloperName"])
	assert.Equal(t, true, person["IsPersonType"])

	id := to.doJSON(http.MethodPost, "sobjects/Account", map[string]any{"RecordTypeId": person["Id"], "FirstName": "Ada", "LastName": "Lovelace"}, http.StatusCreated).(map[string]any)["id"].(string)
	acc := to.doJSON(http.MethodGet, "sobjects/Account/"+id+"?fields=Name,IsPersonAccount,PersonContactId", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "Ada Lovelace", acc["Name"])
	assert.Equal(t, true, acc["IsPersonAccount"])
	assert.NotNil(t, acc["PersonContactId"])

	for _, tc := range []struct {
		name    string
		body    map[string]any
		message string
	}{
		{"person fields need the person record type", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"}, "Account: bad field names on insert/update call: FirstName, LastName"},
		{"IsPersonAccount is read-only", map[string]any{"Name": "X", "IsPersonAccount": true}, "Unable to create/update fields: IsPersonAccount."},
	} {
		resp, body := to.do(http.MethodPost, "sobjects/Account", tc.body)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.name)
		e := decode(t, body).([]any)[0].(map[string]any)
		assert.Equal(t, "INVALID_FIELD_FOR_INSERT_UPDATE", e["errorCode"], tc.name)
		assert.Contains(t, e["message"], tc.message, tc.name)
	}

	// describe lists the record types, the business one being the default.
	d := to.doJSON(http.MethodGet, "sobjects/Account/describe", nil, http.StatusOK).(map[string]any)
	var infos []string
	for _, rt := range d["recordTypeInfos"].([]any) {
		m := rt.(map[string]any)
		if m["defaultRecordTypeMapping"] == true {
			infos = append(infos, "*"+m["developerName"].(string))
		} else {
			infos = append(infos, m["developerName"].(string))
		}
	}
	assert.Equal(t, []string{"*Business_Account", "PersonAccount", "Master"}, infos)
}

// TestSeededVerificationSetup: the demo's IdentityVerificationProc* records carry the
// FieldDataType the org's setup gave them, which the data API cannot change while it can change
// the rest (TestVerificationSetupThroughTheDataAPI covers create and delete).
func TestSeededVerificationSetup(t *testing.T) {
	to := newTestOrg(t, Options{Seed: SeedDemo})
	res := to.doJSON(http.MethodGet, "query?q="+url.QueryEscape("SELECT Id, FieldDataType, DataSourceType FROM IdentityVerificationProcFld WHERE FieldName = 'PersonBirthdate' LIMIT 1"), nil, http.StatusOK).(map[string]any)
	rec := res["records"].([]any)[0].(map[string]any)
	assert.Equal(t, "dateonly", rec["FieldDataType"])
	assert.Equal(t, "Salesforce", rec["DataSourceType"])
	path := "sobjects/IdentityVerificationProcFld/" + rec["Id"].(string)

	resp, body := to.do(http.MethodPatch, path, map[string]any{"FieldDataType": "text"})
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE")
	to.doJSON(http.MethodPatch, path, map[string]any{"CustomFieldLabel": "Date of birth"}, http.StatusNoContent)
	got := to.doJSON(http.MethodGet, path, nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "dateonly", got["FieldDataType"])
	assert.Equal(t, "Date of birth", got["CustomFieldLabel"])
}
