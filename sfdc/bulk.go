package sfdc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Bulk API 2.0 ingest ("Bulk API 2.0 and Bulk API Developer Guide"): a job is created for one
// object and operation, its data uploaded once as CSV, closed, processed by Salesforce in the
// background, and its results read as three CSV sets. Each request is one API call, counted and
// classified like any other; requests are retried only when retrying cannot act twice (a job
// created twice would process its data twice, so job creation is retried only on answers that
// mean nothing was done).
//
//	job, _, err := c.CreateIngestJob(ctx, sfdc.IngestSpec{Object: "EngagementInteraction",
//		Operation: sfdc.BulkUpsert, ExternalIDField: "ExternalIdentifier"})
//	_, err = c.UploadIngestData(ctx, job.ID, csvBytes)
//	_, _, err = c.CloseIngestJob(ctx, job.ID)
//	job, err = c.WaitIngestJob(ctx, job.ID, sfdc.Poll{})
//	ok, _, err := c.IngestResults(ctx, job.ID, sfdc.SuccessfulResults)

// BulkOperation is an ingest job's operation.
type BulkOperation string

// The ingest operations ("Create a Job").
const (
	BulkInsert     BulkOperation = "insert"
	BulkUpdate     BulkOperation = "update"
	BulkUpsert     BulkOperation = "upsert"
	BulkDelete     BulkOperation = "delete"
	BulkHardDelete BulkOperation = "hardDelete"
)

// Ingest job states ("Job States").
const (
	JobOpen           = "Open"
	JobUploadComplete = "UploadComplete"
	JobInProgress     = "InProgress"
	JobComplete       = "JobComplete"
	JobFailed         = "Failed"
	JobAborted        = "Aborted"
)

// IngestSpec describes a job to create. Job data is CSV with comma delimiters and LF line
// endings, as AppendCSV writes it.
type IngestSpec struct {
	Object          string
	Operation       BulkOperation
	ExternalIDField string // upsert only: the external id or idLookup field that matches records
}

// IngestJob is a job's information, as Salesforce answers it.
type IngestJob struct {
	ID                     ID     `json:"id"`
	Object                 string `json:"object"`
	Operation              string `json:"operation"`
	State                  string `json:"state"`
	ExternalIDFieldName    string `json:"externalIdFieldName"`
	NumberRecordsProcessed int64  `json:"numberRecordsProcessed"`
	NumberRecordsFailed    int64  `json:"numberRecordsFailed"`
	// ErrorMessage is why a Failed job failed. Salesforce's text can quote the job data (a
	// column name, a value): like Error.Message, do not log it.
	ErrorMessage string `json:"errorMessage"`
}

// Done reports whether the job has reached a final state: JobComplete, Failed or Aborted.
func (j *IngestJob) Done() bool {
	return j.State == JobComplete || j.State == JobFailed || j.State == JobAborted
}

// MaxIngestUpload is the largest job data Salesforce takes in one upload: 150 MB of base64,
// which is 112.5 MiB of CSV ("Upload Job Data").
const MaxIngestUpload = 150 << 20 / 4 * 3

// maxIngestResults bounds one result set read into memory. Results repeat the job data with a
// few columns added, so a set is at most somewhat larger than the upload.
const maxIngestResults = 2 * MaxIngestUpload

var (
	csvContentType  = []string{"text/csv"}
	gzipEncoding    = []string{"gzip"}
	ingestOp        = "ingest job"
	errNotIngestJob = fmt.Errorf("%w: not an ingest job id", ErrBadID)
)

// jobPath returns the path of an ingest job resource, after checking the id.
func (c *Client) jobPath(id ID, rel string) (string, error) {
	if !id.valid() {
		return "", errNotIngestJob
	}
	p := c.dataPath("jobs/ingest/" + string(id))
	if rel != "" {
		p += "/" + rel
	}
	return p, nil
}

// CreateIngestJob creates an Open job. It is retried only on answers that mean nothing was
// created: a job created twice would leave an orphan Open job, harmless but counted.
func (c *Client) CreateIngestJob(ctx context.Context, spec IngestSpec) (*IngestJob, *Response, error) {
	op := "create " + ingestOp
	if err := checkObject(spec.Object); err != nil {
		return nil, nil, refused(op, badObject(err))
	}
	op += " " + spec.Object
	req := map[string]string{"object": spec.Object, "operation": string(spec.Operation), "contentType": "CSV",
		"lineEnding": "LF", "columnDelimiter": "COMMA"}
	switch spec.Operation {
	case BulkInsert, BulkUpdate, BulkDelete, BulkHardDelete:
	case BulkUpsert:
		if err := checkObject(spec.ExternalIDField); err != nil {
			return nil, nil, refused(op, fmt.Errorf("%w: external id field: %v", ErrBadQuery, err))
		}
		req["externalIdFieldName"] = spec.ExternalIDField
	default:
		return nil, nil, refused(op, fmt.Errorf("%w: unknown bulk operation", ErrBadQuery))
	}
	body, _ := json.Marshal(req)
	res, err := c.do(ctx, &call{op: op, method: http.MethodPost, path: c.dataPath("jobs/ingest"), body: body})
	if err != nil {
		return nil, respOf(res), bulkKind(err)
	}
	job, err := decodeJob(op, res)
	return job, &res.resp, err
}

// UploadIngestData uploads an Open job's data: CSV with a header row, at most MaxIngestUpload
// bytes, sent gzip-compressed. Salesforce takes one upload per job. A retry whose earlier
// attempt was stored answers that the job already has its data: that is success, not an error.
func (c *Client) UploadIngestData(ctx context.Context, id ID, data []byte) (*Response, error) {
	op := "upload " + ingestOp
	path, err := c.jobPath(id, "batches")
	if err != nil {
		return nil, refused(op, err)
	}
	if len(data) > MaxIngestUpload {
		return nil, refused(op, fmt.Errorf("%w: job data over %d bytes: split it into several jobs", ErrBadQuery, MaxIngestUpload))
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	_, _ = zw.Write(data)
	_ = zw.Close()
	// PUT, and idempotent in effect: a job takes one upload, so a resent one can only be refused.
	res, err := c.do(ctx, &call{op: op, method: http.MethodPut, path: path, body: z.Bytes(), idempotent: true,
		contentType: csvContentType, contentEncoding: gzipEncoding})
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == "BULK_API_ERROR" && e.Attempts > 1 {
			return respOf(res), nil // "Found multiple contents": the first attempt's upload was stored
		}
		return respOf(res), bulkKind(err)
	}
	return &res.resp, nil
}

// CloseIngestJob marks the job UploadComplete: Salesforce queues it for processing. A close
// whose answer was lost (or refused because the job is no longer Open) is checked by reading
// the job: when it is past Open, the close took effect and no error is returned.
func (c *Client) CloseIngestJob(ctx context.Context, id ID) (*IngestJob, *Response, error) {
	job, resp, err := c.setJobState(ctx, id, JobUploadComplete)
	if err == nil {
		return job, resp, nil
	}
	if e, ok := err.(*Error); !ok || e.kind == ErrBadID || (e.kind != ErrUnavailable && e.Code != "INVALIDJOBSTATE") {
		return nil, resp, err
	}
	info, resp2, err2 := c.IngestJobInfo(ctx, id)
	if err2 != nil || info.State == JobOpen || info.State == JobAborted {
		return nil, resp, err
	}
	return info, resp2, nil
}

// AbortIngestJob aborts a job that is Open, UploadComplete or InProgress; records already
// processed stay processed.
func (c *Client) AbortIngestJob(ctx context.Context, id ID) (*IngestJob, *Response, error) {
	return c.setJobState(ctx, id, JobAborted)
}

func (c *Client) setJobState(ctx context.Context, id ID, state string) (*IngestJob, *Response, error) {
	op := "close " + ingestOp
	if state == JobAborted {
		op = "abort " + ingestOp
	}
	path, err := c.jobPath(id, "")
	if err != nil {
		return nil, nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodPatch, path: path, body: []byte(`{"state":"` + state + `"}`),
		idempotent: true})
	if err != nil {
		return nil, respOf(res), bulkKind(err)
	}
	job, err := decodeJob(op, res)
	return job, &res.resp, err
}

// IngestJobInfo reads a job's information.
func (c *Client) IngestJobInfo(ctx context.Context, id ID) (*IngestJob, *Response, error) {
	op := "get " + ingestOp
	path, err := c.jobPath(id, "")
	if err != nil {
		return nil, nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodGet, path: path, idempotent: true})
	if err != nil {
		return nil, respOf(res), bulkKind(err)
	}
	job, err := decodeJob(op, res)
	return job, &res.resp, err
}

// DeleteIngestJob deletes a job that is UploadComplete, JobComplete, Aborted or Failed, and its
// data and results.
func (c *Client) DeleteIngestJob(ctx context.Context, id ID) (*Response, error) {
	op := "delete " + ingestOp
	path, err := c.jobPath(id, "")
	if err != nil {
		return nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodDelete, path: path, idempotent: true})
	if err != nil {
		return respOf(res), bulkKind(err)
	}
	return &res.resp, nil
}

// Poll says how often WaitIngestJob reads a job: every Min at first, doubling up to Max. Each
// read is an API call. Zero values mean DefaultPollMin and DefaultPollMax.
type Poll struct {
	Min, Max time.Duration
	// OnPoll, when set, is called with each job information read (e.g. to show progress).
	OnPoll func(*IngestJob)
}

// Defaults of Poll.
const (
	DefaultPollMin = time.Second
	DefaultPollMax = 30 * time.Second
)

// WaitIngestJob reads the job until it is JobComplete, Failed or Aborted, and returns it then.
// It returns early with the context's error (an *Error) or the first failed read.
func (c *Client) WaitIngestJob(ctx context.Context, id ID, p Poll) (*IngestJob, error) {
	wait := p.Min
	if wait <= 0 {
		wait = DefaultPollMin
	}
	most := p.Max
	if most <= 0 {
		most = DefaultPollMax
	}
	most = max(most, wait)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		job, _, err := c.IngestJobInfo(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.OnPoll != nil {
			p.OnPoll(job)
		}
		if job.Done() {
			return job, nil
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil, ended("wait "+ingestOp, 0, ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, most)
	}
}

// ResultSet names one of a job's three result sets.
type ResultSet string

// The result sets ("Get Job Successful Record Results", "… Failed …", "… Unprocessed …").
const (
	SuccessfulResults  ResultSet = "successfulResults"
	FailedResults      ResultSet = "failedResults"
	UnprocessedRecords ResultSet = "unprocessedrecords"
)

// IngestResults is one result set: a row per record, in no guaranteed order, each with the
// values the job data gave it (Header names their columns).
type IngestResults struct {
	Header []string       // the job data's columns, without the sf__ columns
	Rows   []IngestResult // in the order Salesforce wrote them
}

// IngestResult is one record of a result set.
type IngestResult struct {
	ID      ID     // sf__Id: the record's id (failed records: API 53.0 and later, when known)
	Created bool   // sf__Created: successfulResults only
	Err     *Error // sf__Error: failedResults only; Code and Fields parsed, Message kept (never logged)
	Values  []string
}

// Column returns the index of a column in Header (compared ignoring case, as field names are),
// or -1.
func (r *IngestResults) Column(name string) int {
	for i, h := range r.Header {
		if strings.EqualFold(h, name) {
			return i
		}
	}
	return -1
}

// IngestResults reads one of a job's result sets; they exist once the job is JobComplete,
// Failed or Aborted. The answer is gzip-compressed on the wire (net/http asks for it and
// decompresses).
func (c *Client) IngestResults(ctx context.Context, id ID, set ResultSet) (*IngestResults, *Response, error) {
	op := "get " + ingestOp + " " + string(set)
	switch set {
	case SuccessfulResults, FailedResults, UnprocessedRecords:
	default:
		return nil, nil, refused(op, fmt.Errorf("%w: unknown result set", ErrBadQuery))
	}
	path, err := c.jobPath(id, string(set)+"/")
	if err != nil {
		return nil, nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodGet, path: path, idempotent: true, maxBody: maxIngestResults})
	if err != nil {
		return nil, respOf(res), bulkKind(err)
	}
	out, err := parseIngestResults(op, set, res.body)
	if err != nil {
		return nil, &res.resp, &Error{Op: op, StatusCode: res.resp.StatusCode, Code: "MALFORMED_RESPONSE", kind: ErrUnavailable, cause: err}
	}
	return out, &res.resp, nil
}

// parseIngestResults reads a result set's CSV. Its errors name rows and columns, never values.
func parseIngestResults(op string, set ResultSet, body []byte) (*IngestResults, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.ReuseRecord = false
	header, err := r.Read()
	if err == io.EOF {
		return &IngestResults{}, nil // no data at all: nothing was uploaded
	}
	if err != nil {
		return nil, errors.New("the header row is not CSV")
	}
	skip := 0
	if set != UnprocessedRecords {
		if len(header) < 2 || header[0] != "sf__Id" || (header[1] != "sf__Created" && header[1] != "sf__Error") {
			return nil, errors.New("the header row lacks the sf__ columns")
		}
		skip = 2
	}
	r.FieldsPerRecord = len(header)
	out := &IngestResults{Header: header[skip:]}
	for n := 1; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("row %d is not CSV of the header's %d columns", n, len(header))
		}
		row := IngestResult{Values: rec[skip:]}
		if skip > 0 {
			if rec[0] != "" {
				if row.ID, err = ParseID(rec[0]); err != nil {
					return nil, fmt.Errorf("row %d: sf__Id is not a record id", n)
				}
			}
			if set == SuccessfulResults {
				row.Created = rec[1] == "true"
			} else {
				row.Err = parseBulkError(op, rec[1])
			}
		}
		out.Rows = append(out.Rows, row)
	}
}

// parseBulkError reads an sf__Error value, "CODE:message:field1 field2 --" (the message may
// hold colons; the fields follow the last one).
func parseBulkError(op, s string) *Error {
	code, rest, _ := strings.Cut(s, ":")
	rest = strings.TrimSuffix(strings.TrimSpace(rest), "--")
	msg, fields := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		msg, fields = rest[:i], rest[i+1:]
	}
	e := &Error{Op: op, Code: code, Message: strings.TrimSpace(msg), Fields: strings.Fields(fields)}
	e.kind = classify(0, e.Code, e.Message)
	return e
}

// bulkKind gives the Bulk API's own codes their kind: ExceededQuota is a daily allocation used
// up (DailyBulkApiBatches, DailyBulkV2QueryJobs…), as REQUEST_LIMIT_EXCEEDED is for requests.
func bulkKind(err error) error {
	if e, ok := err.(*Error); ok && strings.EqualFold(e.Code, "EXCEEDEDQUOTA") {
		e.kind = ErrDailyLimit
	}
	return err
}

// decodeJob reads a job information answer.
func decodeJob(op string, res *result) (*IngestJob, error) {
	var job IngestJob
	if err := json.Unmarshal(res.body, &job); err != nil || !job.ID.valid() {
		if err == nil {
			err = errors.New("no job id")
		}
		return nil, decodeError(op, res, err)
	}
	return &job, nil
}

// AppendCSV appends one CSV row (comma-separated, LF-terminated) for job data: each value
// quoted when it holds a comma, a quote, a CR or LF, or starts or ends with a space (Salesforce
// does not trim values, "Prepare CSV Files").
func AppendCSV(b []byte, values ...string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		if v == "" || !strings.ContainsAny(v, ",\"\r\n") && v[0] != ' ' && v[len(v)-1] != ' ' {
			b = append(b, v...)
			continue
		}
		b = append(b, '"')
		for {
			j := strings.IndexByte(v, '"')
			if j < 0 {
				break
			}
			b = append(b, v[:j+1]...)
			b = append(b, '"')
			v = v[j+1:]
		}
		b = append(b, v...)
		b = append(b, '"')
	}
	return append(b, '\n')
}
