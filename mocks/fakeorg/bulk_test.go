package fakeorg

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ingestPath = "jobs/ingest"

// createJob creates an ingest job and returns its id.
func (to *testOrg) createJob(job map[string]any) string {
	to.t.Helper()
	v := to.doJSON(http.MethodPost, ingestPath, job, http.StatusOK).(map[string]any)
	require.Equal(to.t, "Open", v["state"])
	return v["id"].(string)
}

// upload PUTs job data as text/csv.
func (to *testOrg) upload(id, data string) (*http.Response, []byte) {
	to.t.Helper()
	return to.do(http.MethodPut, ingestPath+"/"+id+"/batches", data, "Content-Type", "text/csv")
}

// setState PATCHes a job's state.
func (to *testOrg) setState(id, state string) (*http.Response, []byte) {
	to.t.Helper()
	return to.do(http.MethodPatch, ingestPath+"/"+id, map[string]string{"state": state})
}

// runJob creates a job, uploads data, closes it, waits for it and returns its final info.
func (to *testOrg) runJob(job map[string]any, data string) (string, map[string]any) {
	to.t.Helper()
	id := to.createJob(job)
	resp, body := to.upload(id, data)
	require.Equal(to.t, http.StatusCreated, resp.StatusCode, string(body))
	require.Empty(to.t, body)
	resp, body = to.setState(id, "UploadComplete")
	require.Equal(to.t, http.StatusOK, resp.StatusCode, string(body))
	to.WaitIngestJobs()
	return id, to.jobInfo(id)
}

func (to *testOrg) jobInfo(id string) map[string]any {
	to.t.Helper()
	return to.doJSON(http.MethodGet, ingestPath+"/"+id, nil, http.StatusOK).(map[string]any)
}

// results GETs a result set and parses it (comma-delimited).
func (to *testOrg) results(id, which string) [][]string {
	to.t.Helper()
	resp, body := to.do(http.MethodGet, ingestPath+"/"+id+"/"+which, nil)
	require.Equal(to.t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(to.t, "text/csv; charset=UTF-8", resp.Header.Get("Content-Type"))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(to.t, err, string(body))
	return rows
}

func num(v any) string { return fmt.Sprint(v) }

func TestIngestInsertWithGoodAndBadRows(t *testing.T) {
	to := newTestOrg(t, Options{})
	data := "FirstName,LastName,Phone\nAda,Lovelace,+44 20 7946 0001\nNo,,+1 555 0100\n\"Grace \"\"Amazing\"\"\",Hopper,\n"
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "3", num(info["numberRecordsProcessed"]))
	assert.Equal(t, "1", num(info["numberRecordsFailed"]))
	assert.Equal(t, "V2Ingest", info["jobType"])
	assert.Equal(t, "62.0", num(info["apiVersion"]))

	ok := to.results(id, "successfulResults")
	require.Len(t, ok, 3)
	assert.Equal(t, []string{"sf__Id", "sf__Created", "FirstName", "LastName", "Phone"}, ok[0])
	assert.Regexp(t, `^003[0-9A-Za-z]{15}$`, ok[1][0])
	assert.Equal(t, []string{"true", "Ada", "Lovelace", "+44 20 7946 0001"}, ok[1][1:])
	assert.Equal(t, []string{"true", `Grace "Amazing"`, "Hopper", ""}, ok[2][1:])
	rec, e := to.DB().Begin(false).Get("Contact", ok[2][0], []string{"FirstName", "Phone"})
	require.Nil(t, e)
	assert.Equal(t, `Grace "Amazing"`, rec.Fields[0].Value)
	assert.Nil(t, rec.Fields[1].Value, "an empty value sets nothing")

	bad := to.results(id, "failedResults")
	require.Len(t, bad, 2)
	assert.Equal(t, []string{"sf__Id", "sf__Error", "FirstName", "LastName", "Phone"}, bad[0])
	assert.Equal(t, []string{"", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "No", "", "+1 555 0100"}, bad[1])
	assert.Equal(t, [][]string{{"FirstName", "LastName", "Phone"}}, to.results(id, "unprocessedrecords"))
}
