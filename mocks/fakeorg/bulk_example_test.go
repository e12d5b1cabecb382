package fakeorg_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg"
)

// A Bulk API 2.0 ingest job against the fake org: create it, upload the CSV, close it, wait for
// the org to process it, read the failed records.
func Example_ingestJob() {
	org, err := fakeorg.New(fakeorg.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {fakeorg.DemoClientID}, "client_secret": {fakeorg.DemoClientSecret},
		"username": {fakeorg.DemoUsername}, "password": {fakeorg.DemoPassword}})
	if err != nil {
		panic(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	call := func(method, path, contentType, body string) string {
		req, _ := http.NewRequest(method, srv.URL+"/services/data/v62.0/jobs/ingest"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+login.AccessToken)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	var job struct{ ID string }
	_ = json.Unmarshal([]byte(call("POST", "", "application/json",
		`{"object":"EngagementInteraction","operation":"upsert","externalIdFieldName":"ExternalIdentifier"}`)), &job)
	call("PUT", "/"+job.ID+"/batches", "text/csv",
		"ExternalIdentifier,CommunicationChannel,StartDateTime\n"+
			"ivr-1,Voice Call,2026-03-01T10:00:00Z\n"+
			"ivr-2,Fax,2026-03-01T10:05:00Z\n")
	call("PATCH", "/"+job.ID, "application/json", `{"state":"UploadComplete"}`)
	org.WaitIngestJobs()
	fmt.Print(call("GET", "/"+job.ID+"/failedResults", "", ""))
	// Output:
	// "sf__Id","sf__Error",ExternalIdentifier,CommunicationChannel,StartDateTime
	// "","INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Communication Channel: bad value for restricted picklist field: Fax:CommunicationChannel --","ivr-2","Fax","2026-03-01T10:05:00Z"
}
