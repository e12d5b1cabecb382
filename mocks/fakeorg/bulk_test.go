package fakeorg

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
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

// TestIngestJobFailures covers data that cannot be read: the job Fails as a whole, processes
// nothing and hands its data back as unprocessed.
func TestIngestJobFailures(t *testing.T) {
	to := newTestOrg(t, Options{})
	attendee := map[string]any{"object": "EngagementAttendee", "operation": "insert"}
	contact := map[string]any{"object": "Contact", "operation": "insert"}
	crlf := map[string]any{"object": "Contact", "operation": "insert", "lineEnding": "CRLF"}
	tests := []struct {
		name    string
		job     map[string]any
		data    string
		message string
	}{
		{"unknown column", contact, "LastName,Nickname\nA,b\n", "InvalidBatch : Field name not found : Nickname"},
		{"empty column name", contact, "LastName,\nA,b\n", "InvalidBatch : Field name not found : "},
		{"byte order mark", contact, "\ufeffLastName\nA\n", "InvalidBatch : Field name not found : \ufeffLastName"},
		{"column twice", contact, "LastName,lastname\nA,B\n", "InvalidBatch : Duplicate field name: lastname"},
		{"field and relationship to the same field", contact, "ReportsToId,ReportsTo.Email\n,\n", "InvalidBatch : Duplicate field name: ReportsTo.Email"},
		{"field of a later API version", map[string]any{"object": "EngagementInteraction", "operation": "insert"}, "Reason\nx\n", ""},
		{"unknown relationship", contact, "LastName,Manager.Email\nA,b\n", "InvalidBatch : Unable to find relationship: Manager"},
		{"type on a plain relationship", contact, "LastName,Contact:ReportsTo.Email\nA,b\n", "InvalidBatch : type is not needed for non polymorphic foreign key references: ReportsTo"},
		{"no type on a polymorphic relationship", attendee, "Engagement.ExternalIdentifier\nx\n", "InvalidBatch : type is required for polymorphic foreign key references: Engagement"},
		{"type the org lacks", attendee, "VoiceCall:Engagement.ExternalIdentifier\nx\n", "InvalidBatch : Unable to find object: VoiceCall"},
		{"parent field not indexed", contact, "LastName,ReportsTo.Title\nA,b\n", "InvalidBatch : Contact.Title is not an indexed field: a relationship column names its parent by Id, an external id or an idLookup field"},
		{"grandparent", contact, "LastName,ReportsTo.Account.Name\nA,b\n", "InvalidBatch : Field name not found : ReportsTo.Account.Name"},
		{"colons without a dot", attendee, "EngagementInteraction:Engagement:ExternalIdentifier\nx\n", "InvalidBatch : Field name not found : EngagementInteraction:Engagement:ExternalIdentifier"},
		{"CRLF data in an LF job", contact, "FirstName,LastName\r\nAda,Lovelace\r\n", "InvalidBatch : Field name not found : LastName\r"},
		{"LF data in a CRLF job", crlf, "FirstName,LastName\nAda,Lovelace\n", "InvalidBatch : Field name not found : LastName\nAda"},
		{"quote never closed", contact, "LastName,Title\nA,\"Chief\nB,Cook\n", "InvalidBatch : Failed to parse CSV. row 2: a quoted value is never closed"},
		{"text after a closing quote", contact, "LastName,Title\n\"A\" ,Chief\n", "InvalidBatch : Failed to parse CSV. row 2: text follows the closing quote of a value (values are not trimmed: no space may stand between a quote and the delimiter)"},
		{"space before a quote", contact, "LastName,Title\nA, \"Chief\"\n", "InvalidBatch : Failed to parse CSV. row 2: found an unescaped quote: a value holding a quote must be quoted, with the quote doubled"},
		{"quote inside a value", contact, "LastName,Title\nO\"Brien,Chief\n", "InvalidBatch : Failed to parse CSV. row 2: found an unescaped quote: a value holding a quote must be quoted, with the quote doubled"},
		{"more values than columns", contact, "LastName\nA\nB,C\n", "InvalidBatch : Failed to parse CSV. row 3: 2 values for the 1 columns of the header"},
		{"fewer values than columns", contact, "LastName,Title\nA\n", "InvalidBatch : Failed to parse CSV. row 2: 1 values for the 2 columns of the header"},
		{"header over 32,000 characters", contact, "LastName," + strings.Repeat("x", maxHeaderChars) + "\nA,b\n", "InvalidBatch : The header row has more than 32000 characters"},
		{"row over 400,000 characters", contact, "LastName,Description\nA," + strings.Repeat("x", maxRecordChars) + "\n", "InvalidBatch : Failed to parse CSV. row 2: the row has more than 400000 characters"},
		{"header quote never closed", contact, "\"LastName\nA\n", "InvalidBatch : Failed to parse CSV header. row 1: a quoted value is never closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to.t = t
			if tt.message == "" { // Reason appeared in API version 56.0 (orgdb's schema)
				resp, body := to.do(http.MethodPost, "/services/data/v55.0/jobs/ingest", tt.job)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				id := decode(t, body).(map[string]any)["id"].(string)
				to.upload(id, tt.data)
				to.setState(id, "UploadComplete")
				to.WaitIngestJobs()
				to.failedJob(id, to.jobInfo(id), tt.data, "InvalidBatch : Field name not found : Reason")
				return
			}
			id, info := to.runJob(tt.job, tt.data)
			to.failedJob(id, info, tt.data, tt.message)
		})
	}
}

// TestIngestFormats runs the same records through every column delimiter and line ending.
func TestIngestFormats(t *testing.T) {
	to := newTestOrg(t, Options{})
	records := [][]string{
		{"LastName", "Title", "Description"},
		{"Plain", "Chief", "no delimiter here"},
		{"Quoted", "Chief, Operations", "a \"quoted\" word"},
		{"Lines", "", "first line\nsecond line\r\nthird line"},
		{"Delims", "#N/A", "` ^ , | ; \t all the delimiters"},
	}
	for name, delim := range columnDelimiters {
		for _, eol := range []string{"LF", "CRLF"} {
			t.Run(name+"/"+eol, func(t *testing.T) {
				to.t = t
				f := csvFormat{delim: delim, crlf: eol == "CRLF"}
				var b []byte
				for i, rec := range records {
					for k, v := range rec {
						if k > 0 {
							b = append(b, delim)
						}
						if i == 0 || strings.ContainsAny(v, "\"\r\n"+string(delim)) {
							b = appendCSVValue(b, v)
						} else {
							b = append(b, v...)
						}
					}
					b = append(b, f.terminator()...)
				}
				id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert", "columnDelimiter": name, "lineEnding": eol}, string(b))
				require.Equal(t, "JobComplete", info["state"], "%v", info)
				require.Equal(t, "0", num(info["numberRecordsFailed"]))
				assert.Equal(t, name, info["columnDelimiter"])
				assert.Equal(t, eol, info["lineEnding"])

				resp, body := to.do(http.MethodGet, ingestPath+"/"+id+"/successfulResults", nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				sc := &csvScanner{data: body, f: f}
				hdr, _, err := sc.next(nil, true)
				require.NoError(t, err)
				assert.Equal(t, append([]string{"sf__Id", "sf__Created"}, records[0]...), hdr.values)
				for i := 1; i < len(records); i++ {
					rec, ok, err := sc.next(nil, true)
					require.NoError(t, err)
					require.True(t, ok)
					assert.Equal(t, records[i], rec.values[2:], "results carry the values as uploaded")
					desc := to.values("Contact", rec.values[0], "Description")
					assert.Equal(t, []any{records[i][2]}, desc)
				}
				_, more, _ := sc.next(nil, true)
				assert.False(t, more)
			})
		}
	}
}

func TestIngestCreateJobErrors(t *testing.T) {
	to := newTestOrg(t, Options{})
	tests := []struct {
		name    string
		job     any
		status  int
		code    string
		message string
	}{
		{"unknown object", map[string]any{"object": "Widget__c", "operation": "insert"}, 400, "INVALIDJOB", "InvalidJob : Unable to find object: Widget__c"},
		{"no object", map[string]any{"operation": "insert"}, 400, "INVALIDJOB", "InvalidJob : Unable to find object: "},
		{"no operation", map[string]any{"object": "Contact"}, 400, "API_ERROR", "Invalid value: '' supplied for property: 'operation'"},
		{"operation in capitals", map[string]any{"object": "Contact", "operation": "INSERT"}, 400, "API_ERROR", "Invalid value: 'INSERT' supplied for property: 'operation'"},
		{"query is not ingest", map[string]any{"object": "Contact", "operation": "query"}, 400, "API_ERROR", "Invalid value: 'query' supplied for property: 'operation'"},
		{"upsert without external id", map[string]any{"object": "Contact", "operation": "upsert"}, 400, "INVALIDJOB", "InvalidJob : External ID was blank for Contact. An External ID must be specified for upsert."},
		{"upsert by a plain field", map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Title"}, 400, "INVALIDJOB", "InvalidJob : Field name provided, Title does not match an External ID for Contact"},
		{"upsert by an unknown field", map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Nope__c"}, 400, "INVALIDJOB", "InvalidJob : Field name provided, Nope__c does not match an External ID for Contact"},
		{"JSON content", map[string]any{"object": "Contact", "operation": "insert", "contentType": "JSON"}, 400, "API_ERROR", "Invalid value: 'JSON' supplied for property: 'contentType'"},
		{"CR line ending", map[string]any{"object": "Contact", "operation": "insert", "lineEnding": "CR"}, 400, "API_ERROR", "Invalid value: 'CR' supplied for property: 'lineEnding'"},
		{"colon delimiter", map[string]any{"object": "Contact", "operation": "insert", "columnDelimiter": "COLON"}, 400, "API_ERROR", "Invalid value: 'COLON' supplied for property: 'columnDelimiter'"},
		{"hardDelete without the permission", map[string]any{"object": "Contact", "operation": "hardDelete"}, 400, "FEATURENOTENABLED", "FeatureNotEnabled : hardDelete operation requires special user profile permission, please contact your system administrator"},
		{"not JSON", "{object:", 400, "JSON_PARSER_ERROR", ""},
		{"object too long to echo", map[string]any{"object": strings.Repeat("W", 10_000), "operation": "insert"}, 400, "INVALIDJOB", "InvalidJob : Unable to find object: " + strings.Repeat("W", soql.MaxEcho) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to.t = t
			resp, body := to.do(http.MethodPost, ingestPath, tt.job)
			e := requireAPIError(t, resp, body, tt.status, tt.code)
			if tt.message != "" {
				assert.Equal(t, tt.message, e["message"])
			}
		})
	}
	to.t = t
	// Bulk API 2.0 exists from API version 41.0.
	resp, body := to.do(http.MethodPost, "/services/data/v40.0/jobs/ingest", map[string]any{"object": "Contact", "operation": "insert"})
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	// An upsert may use Id, an external id or an idLookup field (Email).
	for _, f := range []string{"Id", "Ext_Id__c", "Email"} {
		v := to.doJSON(http.MethodPost, ingestPath, map[string]any{"object": "contact", "operation": "upsert", "externalIdFieldName": strings.ToLower(f)}, http.StatusOK).(map[string]any)
		assert.Equal(t, "Contact", v["object"])
		assert.Equal(t, f, v["externalIdFieldName"])
	}
}

func TestIngestCreateResponse(t *testing.T) {
	clock := newFakeClock()
	to := newTestOrg(t, Options{Now: clock.Now})
	v := to.doJSON(http.MethodPost, ingestPath, map[string]any{"object": "Contact", "operation": "insert",
		"lineEnding": "CRLF", "columnDelimiter": "PIPE"}, http.StatusOK).(map[string]any)
	id := v["id"].(string)
	assert.Regexp(t, `^750[0-9A-Za-z]{15}$`, id)
	assert.Equal(t, map[string]any{"id": id, "operation": "insert", "object": "Contact", "createdById": to.UserID(),
		"createdDate": "2026-03-01T12:00:00.000+0000", "systemModstamp": "2026-03-01T12:00:00.000+0000", "state": "Open",
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": json.Number("62.0"),
		"contentUrl": "services/data/v62.0/jobs/ingest/" + id + "/batches", "lineEnding": "CRLF", "columnDelimiter": "PIPE"}, v)
	// Salesforce writes apiVersion as a number with its decimal: 62.0.
	_, body := to.do(http.MethodGet, ingestPath+"/"+id, nil)
	assert.Contains(t, string(body), `"apiVersion":62.0`)
	info := to.jobInfo(id)
	assert.Equal(t, "V2Ingest", info["jobType"])
	assert.Nil(t, info["numberRecordsProcessed"], "an open job shows no counts")
	clock.Add(time.Minute)
	to.upload(id, "LastName|Title\r\nA|B\r\n")
	v = to.doJSON(http.MethodPatch, ingestPath+"/"+id, map[string]string{"state": "UploadComplete"}, http.StatusOK).(map[string]any)
	assert.Equal(t, map[string]any{"id": id, "operation": "insert", "object": "Contact", "createdById": to.UserID(),
		"createdDate": "2026-03-01T12:00:00.000+0000", "systemModstamp": "2026-03-01T12:01:00.000+0000", "state": "UploadComplete",
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": json.Number("62.0")}, v)
	to.WaitIngestJobs()
	info = to.jobInfo(id)
	assert.Equal(t, "JobComplete", info["state"])
	assert.Nil(t, info["contentUrl"], "contentUrl is only for an Open job")
	for _, k := range []string{"retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime"} {
		assert.Equal(t, "0", num(info[k]), k) // the fake clock did not move while it ran
	}
}

func TestIngestStateRules(t *testing.T) {
	to := newTestOrg(t, Options{})
	job := map[string]any{"object": "Contact", "operation": "insert"}
	data := "LastName\nA\n"

	id := to.createJob(job)
	resp, body := to.do(http.MethodDelete, ingestPath+"/"+id, nil)
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE") // an Open job cannot be deleted
	resp, body = to.do(http.MethodGet, ingestPath+"/"+id+"/successfulResults", nil)
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	resp, body = to.do(http.MethodPut, ingestPath+"/"+id+"/batches", data, "Content-Type", "application/json")
	requireAPIError(t, resp, body, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	resp, body = to.do(http.MethodPut, ingestPath+"/"+id+"/batches", data, "Content-Type", "text/csv; charset=UTF-8")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	// One upload per job, in Salesforce's words.
	resp, body = to.upload(id, data)
	e := requireAPIError(t, resp, body, http.StatusBadRequest, "BULK_API_ERROR")
	assert.Equal(t, "Found multipe contents for job: <"+id[:15]+">, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.", e["message"])
	for _, state := range []string{"Open", "InProgress", "JobComplete", "Failed"} {
		resp, body = to.setState(id, state)
		requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	}
	resp, body = to.setState(id, "Closed")
	e = requireAPIError(t, resp, body, http.StatusBadRequest, "API_ERROR")
	assert.Equal(t, "Invalid value: 'Closed' supplied for property: 'state'", e["message"])
	resp, body = to.setState(id, "UploadComplete")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	to.WaitIngestJobs()
	resp, body = to.upload(id, data) // after close
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	resp, body = to.setState(id, "UploadComplete") // twice
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	resp, body = to.setState(id, "Aborted") // once complete
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	resp, body = to.do(http.MethodDelete, ingestPath+"/"+id, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	for _, p := range []string{"", "/batches", "/successfulResults", "/failedResults", "/unprocessedrecords"} {
		m := map[string]string{"/batches": http.MethodPut}[p]
		resp, body = to.do(cmp.Or(m, http.MethodGet), ingestPath+"/"+id+p, "", "Content-Type", "text/csv")
		requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	}

	// Aborting an open job: nothing is processed; its data is unprocessed.
	id = to.createJob(job)
	to.upload(id, data)
	v := to.doJSON(http.MethodPatch, ingestPath+"/"+id, map[string]string{"state": "Aborted"}, http.StatusOK).(map[string]any)
	assert.Equal(t, "Aborted", v["state"])
	resp, body = to.upload(id, data)
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	resp, body = to.setState(id, "UploadComplete")
	requireAPIError(t, resp, body, http.StatusConflict, "INVALIDJOBSTATE")
	to.WaitIngestJobs()
	assert.Equal(t, "Aborted", to.jobInfo(id)["state"])
	assert.Equal(t, [][]string{{"LastName"}, {"A"}}, to.results(id, "unprocessedrecords"))

	// Unknown and malformed job ids, wrong methods, query jobs (not served).
	for _, p := range []string{"7505g0000000999AAA", "not-an-id"} {
		resp, body = to.do(http.MethodGet, ingestPath+"/"+p, nil)
		requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
	}
	resp, body = to.do(http.MethodPost, ingestPath+"/"+id, "")
	e = requireAPIError(t, resp, body, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	assert.Equal(t, "HTTP Method 'POST' not allowed. Allowed are GET,HEAD,PATCH,DELETE", e["message"])
	resp, body = to.do(http.MethodGet, ingestPath+"/"+id+"/batches", nil)
	requireAPIError(t, resp, body, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	resp, body = to.do(http.MethodGet, "jobs/query", nil)
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
}

func TestIngestUploadLimits(t *testing.T) {
	to := newTestOrg(t, Options{IngestUploadLimit: 1000, IngestStorageLimit: 2500})
	job := map[string]any{"object": "Contact", "operation": "insert"}
	row := "LastName\n" + strings.Repeat("Abcdefghi\n", 99) // 999 bytes
	tooBig := row + "XY\n"

	// Over the limit, with a length (refused before reading) and without one (chunked).
	id := to.createJob(job)
	resp, body := to.upload(id, tooBig)
	requireAPIError(t, resp, body, http.StatusRequestEntityTooLarge, "CLIENTINPUTERROR")
	req, err := http.NewRequest(http.MethodPut, to.srv.URL+"/services/data/v62.0/"+ingestPath+"/"+id+"/batches", io.MultiReader(strings.NewReader(tooBig)))
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+to.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, body = to.send(req)
	requireAPIError(t, resp, body, http.StatusRequestEntityTooLarge, "CLIENTINPUTERROR")
	resp, body = to.upload(id, row) // the job is still Open and empty
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))

	// The storage limit holds over every job: two uploads fit, the third waits for a delete.
	id2 := to.createJob(job)
	resp, _ = to.upload(id2, row)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	id3 := to.createJob(job)
	resp, body = to.upload(id3, row)
	requireAPIError(t, resp, body, http.StatusBadRequest, "EXCEEDEDQUOTA")
	to.setState(id, "UploadComplete")
	to.WaitIngestJobs()
	resp, _ = to.do(http.MethodDelete, ingestPath+"/"+id, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, body = to.upload(id3, row)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
}

// TestIngestRecordOutcomesCountAgainstStorage: each record's outcome is charged rowReserve bytes
// of the storage limit before the job runs, so that a small upload of many tiny records cannot
// hold unbounded memory (10 million two-byte records took 2 GB) nor write unbounded records:
// such a job Fails with ExceededQuota, nothing processed, and its charge is released.
func TestIngestRecordOutcomesCountAgainstStorage(t *testing.T) {
	const limit = 1 << 20
	to := newTestOrg(t, Options{IngestStorageLimit: limit})
	records := limit / rowReserve // their outcomes alone would fill the storage
	data := "LastName\n" + strings.Repeat("x\n", records)
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	assert.Equal(t, "Failed", info["state"])
	assert.Contains(t, info["errorMessage"], "ExceededQuota")
	assert.Equal(t, "0", num(info["numberRecordsProcessed"]))
	assert.Equal(t, 0, to.countContacts("x"))
	unprocessed := to.results(id, "unprocessedrecords")
	assert.Len(t, unprocessed, records+1, "the data, as uploaded")
	to.ingest.mu.Lock()
	assert.Equal(t, int64(len(data)), to.ingest.stored, "only the data stays charged")
	to.ingest.mu.Unlock()

	// Fewer records fit; their outcomes stay charged until the job is deleted.
	data = "LastName\n" + strings.Repeat("y\n", records/2)
	id2, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	assert.Equal(t, "JobComplete", info["state"], info)
	assert.Equal(t, records/2, to.countContacts("y"))
	to.ingest.mu.Lock()
	stored := to.ingest.stored
	to.ingest.mu.Unlock()
	assert.Greater(t, stored, int64(records/2*rowReserve))
	for _, id := range []string{id, id2} {
		resp, _ := to.do(http.MethodDelete, ingestPath+"/"+id, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	to.ingest.mu.Lock()
	assert.Zero(t, to.ingest.stored)
	to.ingest.mu.Unlock()
}

// largestWrite is a ResponseWriter that keeps only the size of the largest Write.
type largestWrite struct {
	h       http.Header
	status  int
	largest int
	total   int
}

func (w *largestWrite) Header() http.Header { return w.h }
func (w *largestWrite) WriteHeader(s int)   { w.status = s }
func (w *largestWrite) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.largest, w.total = max(w.largest, len(b)), w.total+len(b)
	return len(b), nil
}

// TestIngestResultsAreWrittenAPieceAtATime: a result set is as large as the job's data (112 MiB
// of CSV at most) plus each record's outcome; it is written a buffer at a time, not built whole
// for each request (16 requests for a large job's results held 16 copies).
func TestIngestResultsAreWrittenAPieceAtATime(t *testing.T) {
	to := newTestOrg(t, Options{})
	data := "LastName,Title\n" + strings.Repeat("Piece,"+strings.Repeat("t", 80)+"\n", 20_000)
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	require.Equal(t, "JobComplete", info["state"])
	for _, gzip := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodGet, "/services/data/v62.0/"+ingestPath+"/"+id+"/successfulResults", nil)
		req.Header.Set("Authorization", "Bearer "+to.token)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		w := &largestWrite{h: http.Header{}}
		to.Handler().ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.status)
		if !gzip {
			assert.Greater(t, w.total, len(data), "the whole result set")
		}
		assert.LessOrEqual(t, w.largest, 2*resultsChunk, "gzip %v", gzip)
	}
}

// TestIngestConcurrentUploadsStayWithinStorage sends many uploads at once, to one job and to
// many: one upload per job gets in, and the data held never passes the storage limit.
func TestIngestConcurrentUploadsStayWithinStorage(t *testing.T) {
	to := newTestOrg(t, Options{IngestUploadLimit: 1000, IngestStorageLimit: 3000})
	row := "LastName\n" + strings.Repeat("Abcdefghi\n", 99)
	same := to.createJob(map[string]any{"object": "Contact", "operation": "insert"})
	var ids []string
	for range 8 {
		ids = append(ids, to.createJob(map[string]any{"object": "Contact", "operation": "insert"}))
	}
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	put := func(id string) {
		defer wg.Done()
		req, _ := http.NewRequest(http.MethodPut, to.srv.URL+"/services/data/v62.0/"+ingestPath+"/"+id+"/batches", strings.NewReader(row))
		req.Header.Set("Authorization", "Bearer "+to.token)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		mu.Lock()
		codes[fmt.Sprintf("%s %d", map[bool]string{true: "same", false: "other"}[id == same], resp.StatusCode)]++
		mu.Unlock()
	}
	for i := range 8 {
		wg.Add(2)
		go put(same)
		go put(ids[i])
	}
	wg.Wait()
	assert.LessOrEqual(t, codes["same 201"], 1, "%v", codes)
	assert.Equal(t, 3, codes["same 201"]+codes["other 201"], "the storage holds 3 uploads: %v", codes)
	to.ingest.mu.Lock()
	assert.Equal(t, int64(3*len(row)), to.ingest.stored)
	to.ingest.mu.Unlock()
}

func TestIngestListJobs(t *testing.T) {
	to := newTestOrg(t, Options{})
	var ids []string
	for range ingestPageSize + 1 {
		ids = append(ids, to.createJob(map[string]any{"object": "Contact", "operation": "insert"}))
	}
	page := to.doJSON(http.MethodGet, ingestPath, nil, http.StatusOK).(map[string]any)
	assert.Equal(t, false, page["done"])
	records := page["records"].([]any)
	require.Len(t, records, ingestPageSize)
	first := records[0].(map[string]any)
	assert.Equal(t, ids[0], first["id"])
	assert.Equal(t, "V2Ingest", first["jobType"])
	assert.Equal(t, "Open", first["state"])
	next := page["nextRecordsUrl"].(string)
	assert.Regexp(t, `^/services/data/v62\.0/jobs/ingest\?queryLocator=01g\w+$`, next)
	page = to.doJSON(http.MethodGet, next, nil, http.StatusOK).(map[string]any)
	assert.Equal(t, true, page["done"])
	assert.Nil(t, page["nextRecordsUrl"])
	require.Len(t, page["records"], 1)
	assert.Equal(t, ids[ingestPageSize], page["records"].([]any)[0].(map[string]any)["id"])

	for q, n := range map[string]int{"jobType=V2Ingest&concurrencyMode=Parallel": ingestPageSize, "jobType=Classic": 0,
		"jobType=BigObjectIngest": 0, "isPkChunkingEnabled=true": 0, "isPkChunkingEnabled=false": ingestPageSize, "concurrencyMode=serial": 0} {
		page = to.doJSON(http.MethodGet, ingestPath+"?"+q, nil, http.StatusOK).(map[string]any)
		assert.Len(t, page["records"], n, q)
	}
	for _, q := range []string{"jobType=V2Query", "isPkChunkingEnabled=maybe", "concurrencyMode=eager"} {
		resp, body := to.do(http.MethodGet, ingestPath+"?"+q, nil)
		requireAPIError(t, resp, body, http.StatusBadRequest, "API_ERROR")
	}
	resp, body := to.do(http.MethodGet, ingestPath+"?queryLocator=bogus", nil)
	requireAPIError(t, resp, body, http.StatusBadRequest, "INVALID_QUERY_LOCATOR")
}

func TestIngestJobCountAndLifespan(t *testing.T) {
	clock := newFakeClock()
	to := newTestOrg(t, Options{Now: clock.Now, MaxIngestJobs: 2})
	job := map[string]any{"object": "Contact", "operation": "insert"}
	a := to.createJob(job)
	to.createJob(job)
	resp, body := to.do(http.MethodPost, ingestPath, job)
	requireAPIError(t, resp, body, http.StatusBadRequest, "EXCEEDEDQUOTA")
	// Jobs live seven days ("Bulk API and Bulk API 2.0 Limits and Allocations").
	clock.Add(7*24*time.Hour + time.Second)
	to.token = to.login()
	to.createJob(job)
	resp, body = to.do(http.MethodGet, ingestPath+"/"+a, nil)
	requireAPIError(t, resp, body, http.StatusNotFound, "NOT_FOUND")
}

func TestIngestCountsFaultsAndLimits(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.ResetCounts()
	usedBefore, _ := to.APIUsage()
	id, _ := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nA\n")
	to.results(id, "successfulResults")
	to.results(id, "failedResults")
	to.results(id, "unprocessedrecords")
	to.doJSON(http.MethodGet, ingestPath, nil, http.StatusOK)
	resp, _ := to.do(http.MethodDelete, ingestPath+"/"+id, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	c := to.Counts()
	assert.Equal(t, map[string]int64{"POST": 1, "GET": 1}, c.ByKind[KindIngestJobs])
	assert.Equal(t, map[string]int64{"PATCH": 1, "GET": 1, "DELETE": 1}, c.ByKind[KindIngestJob])
	assert.Equal(t, map[string]int64{"PUT": 1}, c.ByKind[KindIngestData])
	assert.Equal(t, map[string]int64{"GET": 3}, c.ByKind[KindIngestResults])
	used, _ := to.APIUsage()
	assert.Equal(t, int64(9), used-usedBefore, "every Bulk API 2.0 request is an API call")
	batches, max := to.BulkBatchUsage()
	assert.Equal(t, int64(1), batches)
	l := to.doJSON(http.MethodGet, "limits", nil, http.StatusOK).(map[string]any)["DailyBulkApiBatches"].(map[string]any)
	assert.Equal(t, fmt.Sprint(max), num(l["Max"]))
	assert.Equal(t, fmt.Sprint(max-1), num(l["Remaining"]))

	// Faults meet these paths as any other: a 503 on the upload, then the retry goes through.
	id = to.createJob(map[string]any{"object": "Contact", "operation": "insert"})
	_, err := to.AddFault(Fault{Path: "*/jobs/ingest/*/batches", Method: "PUT", Failure: FailServerUnavailable, Times: 1})
	require.NoError(t, err)
	resp, body := to.upload(id, "LastName\nA\n")
	requireAPIError(t, resp, body, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE")
	resp, _ = to.upload(id, "LastName\nA\n")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	// The daily API limit refuses them too.
	to.ExhaustDailyLimit()
	resp, body = to.setState(id, "UploadComplete")
	requireAPIError(t, resp, body, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED")
	to.ResetDailyUsage()
	resp, _ = to.setState(id, "UploadComplete")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	to.WaitIngestJobs()
	assert.Equal(t, "JobComplete", to.jobInfo(id)["state"])
	// An expired session is answered as elsewhere.
	to.token = "bogus"
	resp, body = to.do(http.MethodGet, ingestPath, nil)
	requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
}

// TestIngestBatches lowers the batch size to see batches: one transaction and one daily
// allocation each, an abort between them, and a job that runs out of allocation.
func TestIngestBatches(t *testing.T) {
	to := newTestOrg(t, Options{DailyBulkBatches: 4})
	to.ingest.chunk = 2
	data := "LastName\nA\nB\nC\nD\nE\n"
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	assert.Equal(t, "JobComplete", info["state"])
	used, _ := to.BulkBatchUsage()
	assert.Equal(t, int64(3), used)

	// One batch left for five records: the first two are saved, the job Fails, three remain.
	id, info = to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, data)
	assert.Equal(t, "Failed", info["state"])
	assert.Equal(t, "ExceededQuota : the daily Bulk API batch allocation (DailyBulkApiBatches) is used up; the remaining records were not processed", info["errorMessage"])
	assert.Equal(t, "2", num(info["numberRecordsProcessed"]))
	assert.Len(t, to.results(id, "successfulResults"), 3)
	assert.Equal(t, [][]string{{"LastName"}, {"C"}, {"D"}, {"E"}}, to.results(id, "unprocessedrecords"))
	to.ResetDailyUsage() // the API usage; the batch allocation rolls with the day
}

func TestIngestAbortBetweenBatches(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.ingest.chunk = 2
	var once sync.Once
	to.ingest.beforeBatch = func(id string, first int) {
		if first == 2 {
			once.Do(func() {
				resp, body := to.setState(id, "Aborted")
				assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			})
		}
	}
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nA\nB\nC\nD\nE\n")
	assert.Equal(t, "Aborted", info["state"])
	assert.Equal(t, "2", num(info["numberRecordsProcessed"]))
	assert.Len(t, to.results(id, "successfulResults"), 3)
	assert.Equal(t, [][]string{{"LastName"}, {"C"}, {"D"}, {"E"}}, to.results(id, "unprocessedrecords"))
}

func TestIngestHold(t *testing.T) {
	to := newTestOrg(t, Options{HoldIngestJobs: true})
	job := map[string]any{"object": "Contact", "operation": "insert"}
	a := to.createJob(job)
	to.upload(a, "LastName\nA\n")
	to.setState(a, "UploadComplete")
	b := to.createJob(job)
	to.upload(b, "LastName\nB\n")
	to.setState(b, "UploadComplete")
	to.WaitIngestJobs()
	assert.Equal(t, "UploadComplete", to.jobInfo(a)["state"])
	assert.Equal(t, "0", num(to.jobInfo(a)["numberRecordsProcessed"]))
	resp, _ := to.setState(b, "Aborted")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	to.HoldIngestJobs(false)
	to.WaitIngestJobs()
	assert.Equal(t, "JobComplete", to.jobInfo(a)["state"])
	assert.Equal(t, "Aborted", to.jobInfo(b)["state"])
	assert.Equal(t, [][]string{{"LastName"}, {"B"}}, to.results(b, "unprocessedrecords"))

	// A held job may be deleted; it never runs.
	to.HoldIngestJobs(true)
	c := to.createJob(job)
	to.upload(c, "LastName\nC\n")
	to.setState(c, "UploadComplete")
	resp, _ = to.do(http.MethodDelete, ingestPath+"/"+c, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	to.HoldIngestJobs(false)
	to.WaitIngestJobs()
	left := to.doJSON(http.MethodGet, "query?q=SELECT+COUNT()+FROM+Contact+WHERE+LastName+=+'C'", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, "0", num(left["totalSize"]))
}

// TestIngestRaces closes, aborts, deletes and reads jobs at once (run with -race): every job
// ends in one state, and its records are saved at most once.
func TestIngestRaces(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.ingest.chunk = 3
	for i := range 20 {
		id := to.createJob(map[string]any{"object": "Contact", "operation": "insert"})
		to.upload(id, fmt.Sprintf("LastName\nRace%d\nRace%d\nRace%d\nRace%d\nRace%d\n", i, i, i, i, i))
		var wg sync.WaitGroup
		for _, f := range []func(){
			func() { to.setState(id, "UploadComplete") },
			func() { to.setState(id, "Aborted") },
			func() { to.do(http.MethodDelete, ingestPath+"/"+id, nil) },
			func() { to.do(http.MethodGet, ingestPath+"/"+id+"/successfulResults", nil) },
			func() { to.do(http.MethodGet, ingestPath+"/"+id, nil) },
		} {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		wg.Wait()
		to.WaitIngestJobs()
		n := to.doJSON(http.MethodGet, fmt.Sprintf("query?q=SELECT+COUNT()+FROM+Contact+WHERE+LastName+=+'Race%d'", i), nil, http.StatusOK).(map[string]any)
		saved := num(n["totalSize"])
		assert.Contains(t, []string{"0", "3", "5"}, saved)
		resp, body := to.do(http.MethodGet, ingestPath+"/"+id, nil)
		if resp.StatusCode == http.StatusOK {
			info := decode(t, body).(map[string]any)
			assert.Contains(t, []string{"Aborted", "JobComplete"}, info["state"])
			assert.Equal(t, saved, num(info["numberRecordsProcessed"]))
		}
	}
}

func TestIngestMultipartCreate(t *testing.T) {
	to := newTestOrg(t, Options{})
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `form-data; name="job"`)
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte(`{"object":"Contact","contentType":"CSV","operation":"insert","lineEnding":"LF"}`))
	h = textproto.MIMEHeader{}
	h.Set("Content-Type", "text/csv")
	h.Set("Content-Disposition", `form-data; name="content"; filename="content"`)
	pw, _ = mw.CreatePart(h)
	pw.Write([]byte("FirstName,LastName,MailingCity\nAstro,Nomical,San Francisco\nHootie,McOwl,San Francisco\n"))
	mw.Close()
	resp, body := to.do(http.MethodPost, ingestPath, b.String(), "Content-Type", mw.FormDataContentType())
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	v := decode(t, body).(map[string]any)
	assert.Equal(t, "UploadComplete", v["state"], "a multipart job is closed at once")
	to.WaitIngestJobs()
	info := to.jobInfo(v["id"].(string))
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "2", num(info["numberRecordsProcessed"]))

	// A multipart job's data is limited to 100,000 characters.
	b.Reset()
	mw = multipart.NewWriter(&b)
	fw, _ := mw.CreateFormField("job")
	fw.Write([]byte(`{"object":"Contact","operation":"insert"}`))
	fw, _ = mw.CreateFormField("content")
	fw.Write([]byte("LastName\n" + strings.Repeat("é", maxMultipartData)))
	mw.Close()
	resp, body = to.do(http.MethodPost, ingestPath, b.String(), "Content-Type", mw.FormDataContentType())
	requireAPIError(t, resp, body, http.StatusBadRequest, "CLIENTINPUTERROR")
}

func TestIngestGzipResultsAndHardDelete(t *testing.T) {
	to := newTestOrg(t, Options{BulkAPIHardDelete: true})
	a := to.createContact(map[string]any{"LastName": "Gone"})
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "hardDelete"}, "Id\n"+a+"\n")
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "hardDelete", info["operation"])
	req, _ := http.NewRequest(http.MethodGet, to.srv.URL+"/services/data/v62.0/"+ingestPath+"/"+id+"/successfulResults/", nil)
	req.Header.Set("Authorization", "Bearer "+to.token)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	csvText, _ := io.ReadAll(zr)
	assert.Equal(t, "\"sf__Id\",\"sf__Created\",Id\n\""+a+"\",\"false\",\""+a+"\"\n", string(csvText))
}

func TestIngestNotInComposite(t *testing.T) {
	to := newTestOrg(t, Options{})
	v := to.doJSON(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{
		map[string]any{"method": "POST", "url": "/services/data/v62.0/jobs/ingest", "referenceId": "job",
			"body": map[string]any{"object": "Contact", "operation": "insert"}},
	}}, http.StatusOK).(map[string]any)
	sub := v["compositeResponse"].([]any)[0].(map[string]any)
	assert.Equal(t, "404", num(sub["httpStatusCode"]))
}

func TestIngestGzipUpload(t *testing.T) {
	to := newTestOrg(t, Options{IngestUploadLimit: 1000})
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.String()
	}
	id := to.createJob(map[string]any{"object": "Contact", "operation": "insert"})
	// The limit bounds the data once decompressed: a small body that inflates past it is refused.
	resp, body := to.do(http.MethodPut, ingestPath+"/"+id+"/batches", gz("LastName\n"+strings.Repeat("A\n", 1000)),
		"Content-Type", "text/csv", "Content-Encoding", "gzip")
	requireAPIError(t, resp, body, http.StatusRequestEntityTooLarge, "CLIENTINPUTERROR")
	resp, body = to.do(http.MethodPut, ingestPath+"/"+id+"/batches", "LastName\nA\n", "Content-Type", "text/csv", "Content-Encoding", "br")
	requireAPIError(t, resp, body, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	resp, body = to.do(http.MethodPut, ingestPath+"/"+id+"/batches", gz("LastName\nZipped\n"), "Content-Type", "text/csv", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	to.setState(id, "UploadComplete")
	to.WaitIngestJobs()
	assert.Equal(t, [][]string{{"sf__Id", "sf__Created", "LastName"}}, to.results(id, "successfulResults")[:1])
	assert.Equal(t, "Zipped", to.results(id, "successfulResults")[1][2])
}

// TestIngestRecordFaults makes records of a job fail as lock contention makes them fail, and
// checks that HTTP faults do not reach records nor record faults requests.
func TestIngestRecordFaults(t *testing.T) {
	to := newTestOrg(t, Options{FaultSeed: 7})
	_, err := to.AddFault(Fault{Path: "bulkrow:Contact", Failure: FailUnableToLockRow, Times: 2})
	require.NoError(t, err)
	_, err = to.AddFault(Fault{Path: "*/sobjects/*", Failure: FailServerUnavailable}) // HTTP only
	require.NoError(t, err)
	id, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nA\nB\nC\n")
	assert.Equal(t, "JobComplete", info["state"])
	assert.Equal(t, "2", num(info["numberRecordsFailed"]))
	bad := to.results(id, "failedResults")
	require.Len(t, bad, 3)
	assert.Equal(t, []string{"", "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records:--", "A"}, bad[1])
	assert.Equal(t, "C", to.results(id, "successfulResults")[1][2])
	// Spent: the next job's records all go through; other objects were never affected.
	_, info = to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nD\n")
	assert.Equal(t, "0", num(info["numberRecordsFailed"]))
	_, err = to.AddFault(Fault{Path: "bulkrow:*", Failure: FailUnableToLockRow, Rate: 0.5})
	require.NoError(t, err)
	_, info = to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\n"+strings.Repeat("E\n", 200))
	failed := num(info["numberRecordsFailed"])
	assert.NotEqual(t, "0", failed)
	assert.NotEqual(t, "200", failed)
}

// TestIngestPanicFailsTheJobNotTheProcess: a panic while a job runs (a bug in the fake) fails the
// job with UNKNOWN_EXCEPTION, as a request's panic answers 500; the job ran in a goroutine of its
// own, where a panic ended the process.
func TestIngestPanicFailsTheJobNotTheProcess(t *testing.T) {
	to := newTestOrg(t, Options{})
	to.ingest.beforeBatch = func(string, int) { panic("a bug") }
	_, info := to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nPanics\n")
	assert.Equal(t, "Failed", info["state"])
	assert.Contains(t, info["errorMessage"], "UNKNOWN_EXCEPTION")
	to.ingest.beforeBatch = nil
	_, info = to.runJob(map[string]any{"object": "Contact", "operation": "insert"}, "LastName\nAfter\n")
	assert.Equal(t, "JobComplete", info["state"], "the org goes on")
	assert.Equal(t, 1, to.countContacts("After"))
}
