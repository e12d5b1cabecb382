package fakeorg_test

import (
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
)

// TestSimpleforce drives github.com/simpleforce/simpleforce, a third client independent of
// jsforce and the Salesforce CLI, against the fake org: SOAP login(), query, get, create,
// update, upsert and delete. simpleforce reports most failures by returning nil (and logging),
// so each step checks the org's state itself.
func TestSimpleforce(t *testing.T) {
	org, err := fakeorg.New(fakeorg.Options{Seed: fakeorg.SeedDemo})
	require.NoError(t, err)
	srv := httptest.NewServer(org.Handler())
	t.Cleanup(srv.Close)
	// simpleforce logs through the standard logger (with URLs); keep it in the test's output.
	prev := log.Writer()
	log.SetOutput(t.Output())
	t.Cleanup(func() { log.SetOutput(prev) })

	client := simpleforce.NewClient(srv.URL, simpleforce.DefaultClientID, "62.0")
	require.NoError(t, client.LoginPassword(org.Username(), org.Password(), ""), "SOAP login() at 62.0")
	assert.Equal(t, srv.URL, client.GetLoc())
	assert.True(t, strings.HasPrefix(client.GetSid(), org.OrgID()[:15]+"!"))

	// query
	res, err := client.Query("SELECT Id, Name, PersonBirthdate FROM Account WHERE IsPersonAccount = true ORDER BY Name LIMIT 2")
	require.NoError(t, err)
	require.Len(t, res.Records, 2)
	assert.Equal(t, "Alice Martin", res.Records[0].StringField("Name"))

	// create
	lead := client.SObject("Lead").Set("LastName", "Simpleforce").Set("Company", "Go Ltd").Create()
	require.NotNil(t, lead, "create")
	id := lead.ID()
	require.True(t, strings.HasPrefix(id, "00Q"), id)

	// get
	got := client.SObject("Lead").Get(id)
	require.NotNil(t, got, "get")
	assert.Equal(t, "Go Ltd", got.StringField("Company"))
	assert.Equal(t, "Open - Not Contacted", got.StringField("Status"))

	// update
	require.NotNil(t, client.SObject("Lead").Set("Id", id).Set("Title", "Gopher").Update(), "update")
	assert.Equal(t, "Gopher", client.SObject("Lead").Get(id).StringField("Title"))

	// upsert by ExternalIdentifier (idLookup): created, then updated
	upsert := func(status string) *simpleforce.SObject {
		return client.SObject("EngagementInteraction").
			Set("ExternalIDField", "ExternalIdentifier").Set("ExternalIdentifier", "simpleforce-call-1").
			Set("CommunicationChannel", "Voice Call").Set("StartDateTime", "2026-03-04T10:00:00Z").
			Set("Status", status).Upsert()
	}
	created := upsert("New")
	require.NotNil(t, created, "upsert (create)")
	engagement := created.ID()
	updated := upsert("Completed")
	require.NotNil(t, updated, "upsert (update)")
	assert.Equal(t, engagement, updated.ID())
	ei := client.SObject("EngagementInteraction").Get(engagement)
	require.NotNil(t, ei)
	assert.Equal(t, "Completed", ei.StringField("Status"))
	assert.Equal(t, "Completed", ei.StringField("MappedState"))

	// delete
	require.NoError(t, client.SObject("Lead").Set("Id", id).Delete())
	res, err = client.Query("SELECT Id FROM Lead WHERE Id = '" + id + "'")
	require.NoError(t, err)
	assert.Empty(t, res.Records)

	// A wrong password: the SOAP login fault, as simpleforce parses it.
	bad := simpleforce.NewClient(srv.URL, simpleforce.DefaultClientID, "62.0")
	err = bad.LoginPassword(org.Username(), "wrong", "")
	var sfErr simpleforce.SalesforceError
	require.ErrorAs(t, err, &sfErr)
	assert.Equal(t, "sf:INVALID_LOGIN", sfErr.ErrorCode)
	assert.Equal(t, 500, sfErr.HttpCode)

	// login() is gone from API version 65.0.
	newer := simpleforce.NewClient(srv.URL, simpleforce.DefaultClientID, "65.0")
	err = newer.LoginPassword(org.Username(), org.Password(), "")
	require.ErrorAs(t, err, &sfErr)
	assert.Equal(t, "sf:UNSUPPORTED_API_VERSION", sfErr.ErrorCode)
}
