package fakeorg

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The requests the Salesforce CLI (sf) makes beyond jsforce's basics; e2e/sfcli runs the CLI
// itself against the org.

// TestDoubleSlashPaths: sf keeps instance URLs with a trailing slash and asks for
// <instance>//services/data/…; Salesforce's servers read a run of slashes as one.
func TestDoubleSlashPaths(t *testing.T) {
	to := newTestOrg(t, Options{Seed: SeedDemo})
	resp, body := to.do(http.MethodGet, "//services/data", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"version":"66.0"`)
	res := to.doJSON(http.MethodGet, "//services/data//v66.0/query?q="+url.QueryEscape("SELECT Id FROM Lead"), nil, http.StatusOK).(map[string]any)
	assert.Len(t, res["records"], 3)
}

// TestOrganizationForCLI: sf org login and sf org display read these Organization fields
// (Object Reference, Organization).
func TestOrganizationForCLI(t *testing.T) {
	to := newTestOrg(t, Options{})
	res := to.doJSON(http.MethodGet, "query?q="+url.QueryEscape("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization"), nil, http.StatusOK).(map[string]any)
	rec := res["records"].([]any)[0].(map[string]any)
	assert.Equal(t, false, rec["IsSandbox"])
	assert.Nil(t, rec["TrialExpirationDate"])
	assert.Nil(t, rec["NamespacePrefix"])
	assert.Equal(t, "Developer Edition", rec["OrganizationType"])
}

// TestQueryColumns: `sf data query` asks query?q=…&columns=true for the select list's columns
// (undocumented by Salesforce; the shape is the one the CLI's tests record).
func TestQueryColumns(t *testing.T) {
	to := newTestOrg(t, Options{Seed: SeedDemo})
	cols := func(soql string) map[string]any {
		return to.doJSON(http.MethodGet, "query?columns=true&q="+url.QueryEscape(soql), nil, http.StatusOK).(map[string]any)
	}
	c := cols("SELECT Id, Name, Owner.Name, Owner.Email, (SELECT LastName FROM Contacts) FROM Account")
	assert.Equal(t, "Account", c["entityName"])
	assert.Equal(t, "001", c["keyPrefix"])
	assert.Equal(t, true, c["idSelected"])
	md := c["columnMetadata"].([]any)
	require.Len(t, md, 4)
	id := md[0].(map[string]any)
	assert.Equal(t, map[string]any{"aggregate": false, "apexType": "Id", "booleanType": false, "columnName": "Id",
		"custom": false, "displayName": "Id", "foreignKeyName": nil, "insertable": false, "joinColumns": []any{},
		"numberType": false, "textType": false, "updatable": false}, id)
	name := md[1].(map[string]any)
	assert.Equal(t, "String", name["apexType"])
	assert.Equal(t, true, name["textType"])
	assert.Equal(t, true, name["insertable"])
	owner := md[2].(map[string]any)
	assert.Equal(t, "Owner", owner["columnName"])
	assert.Equal(t, "OwnerId", owner["foreignKeyName"])
	assert.Nil(t, owner["apexType"])
	join := owner["joinColumns"].([]any)
	require.Len(t, join, 2)
	assert.Equal(t, "Email", join[1].(map[string]any)["columnName"])
	contacts := md[3].(map[string]any)
	assert.Equal(t, true, contacts["aggregate"])
	assert.Equal(t, "Contacts", contacts["columnName"])
	assert.Equal(t, "LastName", contacts["joinColumns"].([]any)[0].(map[string]any)["columnName"])

	agg := cols("SELECT COUNT(Id), MAX(Birthdate) latest FROM Contact")["columnMetadata"].([]any)
	require.Len(t, agg, 2)
	assert.Equal(t, "expr0", agg[0].(map[string]any)["columnName"])
	assert.Equal(t, "count(Id)", agg[0].(map[string]any)["displayName"])
	assert.Equal(t, true, agg[0].(map[string]any)["numberType"])
	assert.Equal(t, "latest", agg[1].(map[string]any)["columnName"])
	assert.Equal(t, "max(Birthdate)", agg[1].(map[string]any)["displayName"])

	// A bad query gets the query's own error.
	resp, body := to.do(http.MethodGet, "query?columns=true&q="+url.QueryEscape("SELECT Naem FROM Account"), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), "INVALID_FIELD")
}
