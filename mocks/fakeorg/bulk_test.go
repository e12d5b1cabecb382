package fakeorg

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
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

// values reads fields of a record from the database.
func (to *testOrg) values(object, id string, fields ...string) []any {
	to.t.Helper()
	tx := to.DB().Begin(false)
	defer tx.Rollback()
	rec, e := tx.Get(object, id, fields)
	require.Nil(to.t, e, "%v", e)
	var vs []any
	for _, f := range rec.Fields {
		vs = append(vs, f.Value)
	}
	return vs
}

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
	assert.Equal(t, []any{`Grace "Amazing"`, nil}, to.values("Contact", ok[2][0], "FirstName", "Phone"), "an empty value sets nothing")

	bad := to.results(id, "failedResults")
	require.Len(t, bad, 2)
	assert.Equal(t, []string{"sf__Id", "sf__Error", "FirstName", "LastName", "Phone"}, bad[0])
	assert.Equal(t, []string{"", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "No", "", "+1 555 0100"}, bad[1])
	assert.Equal(t, [][]string{{"FirstName", "LastName", "Phone"}}, to.results(id, "unprocessedrecords"))
}

// failedJob asserts that a job Failed as a whole with the message, processing no record, and
// that its data comes back as unprocessed, untouched.
func (to *testOrg) failedJob(id string, info map[string]any, data, message string) {
	to.t.Helper()
	require.Equal(to.t, "Failed", info["state"], "%v", info)
	assert.Equal(to.t, message, info["errorMessage"])
	assert.Equal(to.t, "0", num(info["numberRecordsProcessed"]))
	assert.Equal(to.t, "0", num(info["numberRecordsFailed"]))
	resp, body := to.do(http.MethodGet, ingestPath+"/"+id+"/unprocessedrecords", nil)
	require.Equal(to.t, http.StatusOK, resp.StatusCode)
	assert.Equal(to.t, data, string(body))
	assert.Len(to.t, to.results(id, "successfulResults"), 1, "the header only")
	assert.Len(to.t, to.results(id, "failedResults"), 1, "the header only")
}

func TestIngestUpsertEngagementsAndAttendeesByExternalID(t *testing.T) {
	to := newTestOrg(t, Options{})
	upsert := map[string]any{"object": "EngagementInteraction", "operation": "upsert", "externalIdFieldName": "ExternalIdentifier"}
	id, info := to.runJob(upsert, "ExternalIdentifier,CommunicationChannel,StartDateTime,IsAttendeeVerified,Status\n"+
		"call-1,Voice Call,2026-03-01T10:00:00.000Z,true,New\n"+
		"call-2,Web Chat,2026-03-01T10:05:00.000+01:00,false,In Progress\n"+
		"call-3,Carrier Pigeon,2026-03-01T10:10:00Z,false,New\n"+
		",Voice Call,2026-03-01T10:15:00Z,false,New\n")
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "upsert", info["operation"])
	assert.Equal(t, "ExternalIdentifier", info["externalIdFieldName"])
	assert.Equal(t, "4", num(info["numberRecordsProcessed"]))
	assert.Equal(t, "2", num(info["numberRecordsFailed"]))
	ok := to.results(id, "successfulResults")
	require.Len(t, ok, 3)
	assert.Equal(t, "true", ok[1][1])
	call1 := ok[1][0]
	bad := to.results(id, "failedResults")
	require.Len(t, bad, 3)
	assert.Equal(t, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Communication Channel: bad value for restricted picklist field: Carrier Pigeon:CommunicationChannel --", bad[1][1])
	assert.Equal(t, "MISSING_ARGUMENT:ExternalIdentifier not specified:ExternalIdentifier --", bad[2][1])

	// The same external id again updates: sf__Created is false, the id the same.
	id, info = to.runJob(upsert, "ExternalIdentifier,Status\ncall-1,Completed\n")
	assert.Equal(t, "JobComplete", info["state"])
	ok = to.results(id, "successfulResults")
	assert.Equal(t, []string{call1, "false", "call-1", "Completed"}, ok[1])

	// Attendees name their engagement by its external id. EngagementId is polymorphic (describe
	// lists EngagementInteraction, MessagingSession and VoiceCall), so the column needs the type.
	attendees := "EngagementInteraction:Engagement.ExternalIdentifier,InternalAttendeeId,StartDateTime,Role\n" +
		"call-1," + to.UserID() + ",2026-03-01T10:00:00Z,Self\n" +
		"call-9," + to.UserID() + ",2026-03-01T10:00:00Z,Self\n" +
		"#N/A," + to.UserID() + ",2026-03-01T10:00:00Z,Self\n"
	id, info = to.runJob(map[string]any{"object": "EngagementAttendee", "operation": "insert"}, attendees)
	assert.Equal(t, "JobComplete", info["state"], "%v", info)
	ok = to.results(id, "successfulResults")
	require.Len(t, ok, 2)
	assert.Equal(t, []any{call1}, to.values("EngagementAttendee", ok[1][0], "EngagementId"))
	bad = to.results(id, "failedResults")
	require.Len(t, bad, 3)
	assert.Equal(t, "INVALID_FIELD:Foreign key external ID: call-9 not found for field ExternalIdentifier in entity EngagementInteraction:EngagementId --", bad[1][1])
	assert.Equal(t, "REQUIRED_FIELD_MISSING:Required fields are missing: [EngagementId]:EngagementId --", bad[2][1])

	// Without the type, the job fails as Salesforce fails it.
	data := "Engagement.ExternalIdentifier,InternalAttendeeId,StartDateTime\ncall-1," + to.UserID() + ",2026-03-01T10:00:00Z\n"
	id, info = to.runJob(map[string]any{"object": "EngagementAttendee", "operation": "insert"}, data)
	to.failedJob(id, info, data, "InvalidBatch : type is required for polymorphic foreign key references: Engagement")

	// ExternalIdentifier is idLookup but not unique: two engagements with one external id make
	// both the upsert and the reference ambiguous.
	_, info = to.runJob(map[string]any{"object": "EngagementInteraction", "operation": "insert"},
		"ExternalIdentifier,CommunicationChannel,StartDateTime\ntwin,Voice Call,2026-03-01T10:00:00Z\ntwin,Voice Call,2026-03-01T10:00:00Z\n")
	require.Equal(t, "0", num(info["numberRecordsFailed"]))
	id, _ = to.runJob(upsert, "ExternalIdentifier,Status\ntwin,Completed\n")
	bad = to.results(id, "failedResults")
	require.Len(t, bad, 2)
	assert.Regexp(t, `^DUPLICATE_EXTERNAL_ID:ExternalIdentifier: more than one record found for external id field: 0Ze\w{15}, 0Ze\w{15}:ExternalIdentifier --$`, bad[1][1])
	id, _ = to.runJob(map[string]any{"object": "EngagementAttendee", "operation": "insert"},
		"EngagementInteraction:Engagement.ExternalIdentifier,InternalAttendeeId,StartDateTime\ntwin,"+to.UserID()+",2026-03-01T10:00:00Z\n")
	bad = to.results(id, "failedResults")
	require.Len(t, bad, 2)
	assert.True(t, strings.HasPrefix(bad[1][1], "DUPLICATE_EXTERNAL_ID:Foreign key external ID: twin matched more than one record"), bad[1][1])
}

func TestIngestUpdateDeleteAndNulls(t *testing.T) {
	to := newTestOrg(t, Options{})
	a := to.createContact(map[string]any{"LastName": "Able", "Title": "Chief", "Phone": "+1 555 0101"})
	b := to.createContact(map[string]any{"LastName": "Baker", "Title": "Cook"})
	// An empty value leaves a field alone; #N/A empties it ("Prepare CSV Files").
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "update"},
		"Id,Title,Phone\n"+a+",,#N/A\n"+b[:15]+",Baker-in-chief,\n,Nobody,\n003000000000000AAA,Ghost,\n")
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "4", num(info["numberRecordsProcessed"]))
	assert.Equal(t, "2", num(info["numberRecordsFailed"]))
	assert.Equal(t, []any{"Chief", nil}, to.values("Contact", a, "Title", "Phone"))
	assert.Equal(t, []any{"Baker-in-chief"}, to.values("Contact", b, "Title"))
	ok := to.results(id, "successfulResults")
	assert.Equal(t, [][]string{{"sf__Id", "sf__Created", "Id", "Title", "Phone"}, {a, "false", a, "", "#N/A"}, {b, "false", b[:15], "Baker-in-chief", ""}}, ok)
	bad := to.results(id, "failedResults")
	require.Len(t, bad, 3)
	assert.Equal(t, []string{"", "MISSING_ARGUMENT:Id not specified in an update call:--", "", "Nobody", ""}, bad[1])
	assert.Equal(t, []string{"003000000000000AAA", "NOT_FOUND:The requested resource does not exist:--", "003000000000000AAA", "Ghost", ""}, bad[2])

	// Before API version 53.0 failed records carry no sf__Id ("Get Job Failed Record Results").
	resp, body := to.do(http.MethodPost, "/services/data/v52.0/jobs/ingest", map[string]any{"object": "Contact", "operation": "delete"})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	old := decode(t, body).(map[string]any)["id"].(string)
	to.upload(old, "Id\n003000000000000AAA\n"+a+"\n")
	to.setState(old, "UploadComplete")
	to.WaitIngestJobs()
	assert.Equal(t, "52.0", num(to.jobInfo(old)["apiVersion"]))
	bad = to.results(old, "failedResults")
	assert.Equal(t, []string{"", "NOT_FOUND:The requested resource does not exist:--", "003000000000000AAA"}, bad[1])
	assert.Equal(t, []string{a, "false", a}, to.results(old, "successfulResults")[1])
	tx := to.DB().Begin(false)
	_, e := tx.Get("Contact", a, nil)
	tx.Rollback()
	require.NotNil(t, e)
	assert.Equal(t, "ENTITY_IS_DELETED", e.Code)
}

func TestIngestValues(t *testing.T) {
	to := newTestOrg(t, Options{})
	// Dates as the guide's samples write them (1940-06-07Z); UTF-8 text; a value over
	// Salesforce's 32,000 characters a field; bytes that are not UTF-8 become U+FFFD; a
	// relationship by an idLookup field (the guide's ReportsTo.Email).
	boss := to.createContact(map[string]any{"LastName": "Boss", "Email": "buyer@salesforcesample.com"})
	long := strings.Repeat("x", maxFieldChars+1)
	data := "LastName,Birthdate,ReportsTo.Email,Description,Title\n" +
		"Jones,1940-06-07Z,buyer@salesforcesample.com,\"Self-described as \"\"the top\"\" branding guru\nOn two lines\",\n" +
		"Dury,1965-12-11,,Fuzzy; logic,\n" +
		"Müller,12/11/1965,,,\n" +
		"Long,,," + long + ",\n" +
		"Latin\xfc,,,,Caf\xe9\n"
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	require.Equal(t, "JobComplete", info["state"], "%v", info)
	ok := to.results(id, "successfulResults")
	require.Len(t, ok, 4)
	get := func(id string, fields ...string) []any { return to.values("Contact", id, fields...) }
	assert.Equal(t, []any{"1940-06-07", boss, "Self-described as \"the top\" branding guru\nOn two lines"}, get(ok[1][0], "Birthdate", "ReportsToId", "Description"))
	assert.Equal(t, []any{"1965-12-11", nil}, get(ok[2][0], "Birthdate", "ReportsToId"))
	assert.Equal(t, []any{"Latin\uFFFD", "Caf\uFFFD"}, get(ok[3][0], "LastName", "Title"))
	bad := to.results(id, "failedResults")
	require.Len(t, bad, 3)
	assert.Equal(t, "Müller", bad[1][2])
	assert.True(t, strings.HasPrefix(bad[1][1], "JSON_PARSER_ERROR:Cannot deserialize instance of date"), bad[1][1])
	assert.Equal(t, "STRING_TOO_LONG:Description: data value too large: a field holds at most 32000 characters:Description --", bad[2][1])
	assert.Equal(t, long, bad[2][5], "failed results carry the record's values")
}
