package fakeorg

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// Bulk API 2.0 ingest jobs, as the "Bulk API 2.0 and Bulk API Developer Guide" documents them
// (the page named beside each handler):
//
//	POST   jobs/ingest                       create a job (JSON, or multipart with the data)
//	GET    jobs/ingest                       every job, 1,000 a page (queryLocator)
//	GET    jobs/ingest/{id}                  job info
//	PATCH  jobs/ingest/{id}                  {"state":"UploadComplete"} or {"state":"Aborted"}
//	DELETE jobs/ingest/{id}                  once UploadComplete, JobComplete, Aborted or Failed
//	PUT    jobs/ingest/{id}/batches          the job data, CSV, once per job
//	GET    jobs/ingest/{id}/successfulResults/, failedResults/, unprocessedrecords/
//
// Every request is a REST API call: it is counted, meets faults, needs a live token and takes
// one of the daily API requests ("API Request Limits and Allocations": the limits apply to the
// REST API "and any other API built on those frameworks"; Bulk API 2.0 is built on REST). A
// closed job is processed in the background (bulk_process.go): 10,000 records per internal
// batch, a transaction per chunk of 200.
//
// Error shapes are Salesforce's: [{"errorCode","message"}], with the codes and messages its
// clients record (INVALIDJOB "InvalidJob : Unable to find object: X", API_ERROR "Invalid value:
// 'X' supplied for property: 'operation'", BULK_API_ERROR for a second upload, NOT_FOUND for a
// deleted job). Where the guide names no code (a state change out of turn, a result set asked of
// a running job, an upload over the limit) the fake answers 409 INVALIDJOBSTATE, 413
// CLIENTINPUTERROR or 415 UNSUPPORTED_MEDIA_TYPE, after the guide's error list ("Errors").

// Job states ("Job States").
const (
	stateOpen           = "Open"
	stateUploadComplete = "UploadComplete"
	stateInProgress     = "InProgress"
	stateJobComplete    = "JobComplete"
	stateFailed         = "Failed"
	stateAborted        = "Aborted"
)

const (
	ingestMinVersion  = 41 // "This resource is available in API version 41.0 and later."
	ingestPageSize    = 1000
	ingestJobLifespan = 7 * 24 * time.Hour // jobs older than 7 days are deleted
	maxIngestJSON     = 1 << 20            // a job's JSON body
	maxMultipartData  = 100_000            // characters of CSV in a multipart create ("Create a Job")
	jobKeyPrefix      = "750"
)

// Defaults of the Options for ingest jobs.
const (
	// DefaultIngestUploadLimit is the largest job data upload: Salesforce takes "CSV data that
	// does not in total exceed 150 MB of base64 encoded content" ("Upload Job Data"), which is
	// 112.5 MiB of CSV.
	DefaultIngestUploadLimit int64 = 150 << 20 / 4 * 3
	// DefaultIngestStorageLimit bounds the job data the org holds at once, over all jobs.
	DefaultIngestStorageLimit int64 = 512 << 20
	// DefaultMaxIngestJobs bounds the jobs the org keeps (they are deleted after 7 days).
	DefaultMaxIngestJobs = 10_000
	// DefaultDailyBulkBatches is DailyBulkApiBatches: 15,000 batches per 24 hours, shared by
	// Bulk API and Bulk API 2.0; an ingest job uses one per 10,000 records ("Bulk API and Bulk
	// API 2.0 Limits and Allocations").
	DefaultDailyBulkBatches = 15_000
)

// ingestJob is one Bulk API 2.0 ingest job. Its fields are guarded by ingest.mu, except data,
// which does not change once uploaded.
type ingestJob struct {
	seq        uint64
	id         string
	object     string // canonical name
	operation  string
	extField   string // upsert's externalIdFieldName, canonical
	assignRule string
	lineEnding string // "LF" or "CRLF"
	delimiter  string // "COMMA", …
	format     csvFormat
	apiVersion string // "62.0"
	verN       int

	created      time.Time
	createdDate  string
	modstamp     string
	state        string
	errorMessage string

	uploading bool
	uploaded  bool
	data      []byte
	charged   int64 // bytes of storage held: the data and the records' outcomes
	// rowsCharged is the part of charged that the records' outcomes hold (rowReserve each).
	rowsCharged int64

	// Set by the processor: the header row's span, every record's outcome, the counts.
	headerEnd         int // end of the header row in data (0: none read)
	rows              []rowResult
	processed, failed int64
	closedAt          time.Time
	activeMS, totalMS int64

	running bool          // a processor owns the job
	done    chan struct{} // closed when that processor is finished with it
	deleted bool
}

// ingest holds the org's ingest jobs.
type ingest struct {
	mu      sync.Mutex
	seq     uint64
	jobs    map[string]*ingestJob
	stored  int64 // bytes of job data held, or reserved by uploads being read
	held    []*ingestJob
	hold    bool
	wg      sync.WaitGroup
	batches dailyAllocation

	uploadLimit, storageLimit int64
	maxJobs                   int
	chunk                     int                           // records per internal batch
	hardDelete                bool                          // the user has the "Bulk API Hard Delete" permission
	beforeBatch               func(jobID string, first int) // tests: called before each batch
}

// dailyAllocation counts a daily allocation such as DailyBulkApiBatches, by UTC day.
type dailyAllocation struct {
	day, used, max int64
}

func (a *dailyAllocation) roll(now time.Time) {
	if day := now.Unix() / 86400; day != a.day {
		a.day, a.used = day, 0
	}
}

// take takes up to n units and returns how many it took.
func (a *dailyAllocation) take(now time.Time, n int64) int64 {
	a.roll(now)
	n = max(min(n, a.max-a.used), 0)
	a.used += n
	return n
}

func (o *Org) initIngest(opts Options) {
	in := &o.ingest
	in.jobs = map[string]*ingestJob{}
	in.uploadLimit = cmp.Or(opts.IngestUploadLimit, DefaultIngestUploadLimit)
	in.storageLimit = cmp.Or(opts.IngestStorageLimit, DefaultIngestStorageLimit)
	in.uploadLimit = min(in.uploadLimit, in.storageLimit)
	in.maxJobs = cmp.Or(opts.MaxIngestJobs, DefaultMaxIngestJobs)
	in.batches.max = int64(cmp.Or(opts.DailyBulkBatches, DefaultDailyBulkBatches))
	in.hold, in.hardDelete = opts.HoldIngestJobs, opts.BulkAPIHardDelete
	in.chunk = ingestChunk
}

// HoldIngestJobs keeps closed ingest jobs in UploadComplete, unprocessed, while hold is true;
// turning it off starts the held jobs. Tests use it to see a job before it runs, or to abort it.
func (o *Org) HoldIngestJobs(hold bool) {
	in := &o.ingest
	in.mu.Lock()
	in.hold = hold
	var start []*ingestJob
	if !hold {
		start, in.held = in.held, nil
	}
	in.mu.Unlock()
	for _, j := range start {
		o.startIngest(j)
	}
}

// WaitIngestJobs waits until no ingest job is being processed: every closed job that is not
// held has reached JobComplete, Failed or Aborted.
func (o *Org) WaitIngestJobs() { o.ingest.wg.Wait() }

// BulkBatchUsage returns today's DailyBulkApiBatches: batches used and the daily maximum.
func (o *Org) BulkBatchUsage() (used, max int64) {
	in := &o.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	in.batches.roll(o.now())
	return in.batches.used, in.batches.max
}

// routeIngest routes jobs/ingest/…: its counter kind, a handler for composite subrequests (which
// may not use the Bulk API: it answers NOT_FOUND), or the methods allowed.
func routeIngest(c *call) (Kind, handlerFunc, string) {
	s, m := c.segs, c.method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	if c.verN < ingestMinVersion || len(s) < 2 || s[1] != "ingest" {
		return KindUnknown, nil, ""
	}
	only := func(k Kind, allowed ...string) (Kind, handlerFunc, string) {
		if slices.Contains(allowed, m) {
			return k, serveNotInComposite, ""
		}
		if allowed[0] == http.MethodGet {
			allowed = append([]string{"GET", "HEAD"}, allowed[1:]...)
		}
		return k, nil, strings.Join(allowed, ",")
	}
	switch len(s) {
	case 2:
		return only(KindIngestJobs, http.MethodGet, http.MethodPost)
	case 3:
		return only(KindIngestJob, http.MethodGet, http.MethodPatch, http.MethodDelete)
	case 4:
		switch s[3] {
		case "batches":
			return only(KindIngestData, http.MethodPut)
		case "successfulResults", "failedResults", "unprocessedrecords":
			return only(KindIngestResults, http.MethodGet)
		}
	}
	return KindUnknown, nil, ""
}

func serveNotInComposite(*call) response { return errResp(errNotFound) }

// isIngest reports the kinds serveIngest answers.
func isIngest(k Kind) bool {
	return k == KindIngestJobs || k == KindIngestJob || k == KindIngestData || k == KindIngestResults
}

// bulkError is a Bulk API error: [{"errorCode","message"}] with the given status.
func bulkError(status int, code, msg string) response {
	return errResp(&orgdb.Error{Status: status, Code: code, Message: msg})
}

// badProperty is Salesforce's answer to a bad enum value in a job's JSON body.
func badProperty(prop, value string) response {
	return bulkError(http.StatusBadRequest, "API_ERROR", fmt.Sprintf("Invalid value: '%s' supplied for property: '%s'", soql.Clip(value), prop))
}

// serveIngest answers a routed, authenticated jobs/ingest call. It reads the body itself: job
// data is CSV, bounded by the upload limit rather than the data API's JSON limit.
func (o *Org) serveIngest(w http.ResponseWriter, r *http.Request, c *call, kind Kind) {
	var resp response
	switch {
	case kind == KindIngestJobs && c.method == http.MethodPost:
		resp = o.createIngestJob(w, r, c)
	case kind == KindIngestJobs:
		resp = o.listIngestJobs(c)
	default:
		j := o.ingestJob(c.segs[2])
		if j == nil {
			// "if the job has been deleted the status is 404 (Not Found)" ("Get Information
			// About an Ingest Job")
			resp = errResp(errNotFound)
			break
		}
		switch {
		case kind == KindIngestData:
			resp = o.uploadJobData(w, r, j)
		case kind == KindIngestResults:
			o.serveIngestResults(w, r, j, c.segs[3])
			return
		case c.method == http.MethodPatch:
			resp = o.changeIngestState(w, r, j)
		case c.method == http.MethodDelete:
			resp = o.deleteIngestJob(j)
		default:
			o.ingest.mu.Lock()
			info := o.jobInfo(j, viewInfo)
			o.ingest.mu.Unlock()
			resp = jsonResp(http.StatusOK, info)
		}
	}
	writeResponse(w, resp)
}

func (o *Org) ingestJob(id string) *ingestJob {
	in := &o.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	if id18, ok := orgdb.ID18(id); ok {
		return in.jobs[id18]
	}
	return nil
}

func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, response, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIngestJSON))
	if err != nil {
		return nil, bulkError(http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body could not be read"), false
	}
	return body, response{}, true
}

// jobRequest is the body of Create a Job.
type jobRequest struct {
	Object              string `json:"object"`
	Operation           string `json:"operation"`
	ExternalIDFieldName string `json:"externalIdFieldName"`
	ContentType         string `json:"contentType"`
	LineEnding          string `json:"lineEnding"`
	ColumnDelimiter     string `json:"columnDelimiter"`
	AssignmentRuleID    string `json:"assignmentRuleId"`
}

// createIngestJob is Create a Job: POST jobs/ingest with the job as JSON, or a multipart body
// of the job and its data ("For small amounts of job data (100,000 characters or less)"), which
// is then closed at once.
func (o *Org) createIngestJob(w http.ResponseWriter, r *http.Request, c *call) response {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var jobBody, data []byte
	if mt == "multipart/form-data" {
		var resp response
		var ok bool
		if jobBody, data, resp, ok = readMultipartJob(w, r, params["boundary"]); !ok {
			return resp
		}
	} else {
		body, resp, ok := readJSONBody(w, r)
		if !ok {
			return resp
		}
		jobBody = body
	}
	var req jobRequest
	if e := decodeJSON(jobBody, &req); e != nil {
		return errResp(e)
	}
	j, resp, ok := o.newIngestJob(c, req)
	if !ok {
		return resp
	}
	in := &o.ingest
	in.mu.Lock()
	now := o.now()
	o.sweepIngestJobs(now)
	if len(in.jobs) >= in.maxJobs {
		in.mu.Unlock()
		return bulkError(http.StatusBadRequest, "EXCEEDEDQUOTA", fmt.Sprintf("ExceededQuota : the fake org keeps at most %d ingest jobs; delete finished ones", in.maxJobs))
	}
	if data != nil {
		if in.stored+int64(len(data)) > in.storageLimit {
			in.mu.Unlock()
			return storageExceeded(in.storageLimit)
		}
		in.stored += int64(len(data))
		j.data, j.charged, j.uploaded = data, int64(len(data)), true
	}
	in.seq++
	j.seq, j.id = in.seq, orgdb.NewID(jobKeyPrefix, in.seq)
	j.created, j.createdDate = now, sfTime(now)
	j.modstamp, j.state = j.createdDate, stateOpen
	in.jobs[j.id] = j
	view, start := viewCreate, false
	if data != nil {
		start, view = o.closeIngestJob(j, now), viewPatch
	}
	info := o.jobInfo(j, view)
	in.mu.Unlock()
	if start {
		go o.processIngestJob(j)
	}
	return jsonResp(http.StatusOK, info)
}

// readMultipartJob reads a multipart Create a Job body: the "job" part (JSON) and the
// "content" part (CSV).
func readMultipartJob(w http.ResponseWriter, r *http.Request, boundary string) (job, data []byte, _ response, _ bool) {
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxIngestJSON+4*maxMultipartData), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, bulkError(http.StatusBadRequest, "CLIENTINPUTERROR", "ClientInputError : the multipart body could not be read"), false
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, bulkError(http.StatusBadRequest, "CLIENTINPUTERROR", "ClientInputError : the multipart body could not be read"), false
		}
		switch p.FormName() {
		case "job":
			job = b
		case "content":
			data = b
		}
	}
	if job == nil || data == nil {
		return nil, nil, bulkError(http.StatusBadRequest, "CLIENTINPUTERROR", `ClientInputError : a multipart job needs a "job" part and a "content" part`), false
	}
	if utf8.RuneCount(data) > maxMultipartData {
		return nil, nil, bulkError(http.StatusBadRequest, "CLIENTINPUTERROR",
			fmt.Sprintf("ClientInputError : job data in a multipart request is limited to %d characters; upload larger data with PUT …/batches", maxMultipartData)), false
	}
	return job, data, response{}, true
}

// newIngestJob validates a job request. The error shapes are Salesforce's: INVALIDJOB for an
// unknown object or external id field, API_ERROR for a bad enum value.
func (o *Org) newIngestJob(c *call, req jobRequest) (*ingestJob, response, bool) {
	j := &ingestJob{apiVersion: c.ver, verN: c.verN, lineEnding: cmp.Or(req.LineEnding, "LF"),
		delimiter: cmp.Or(req.ColumnDelimiter, "COMMA"), assignRule: req.AssignmentRuleID}
	switch req.Operation {
	case "insert", "update", "upsert", "delete", "hardDelete":
		j.operation = req.Operation
	default:
		return nil, badProperty("operation", req.Operation), false
	}
	if ct := cmp.Or(req.ContentType, "CSV"); ct != "CSV" {
		return nil, badProperty("contentType", req.ContentType), false
	}
	switch j.lineEnding {
	case "LF", "CRLF":
	default:
		return nil, badProperty("lineEnding", req.LineEnding), false
	}
	delim, ok := columnDelimiters[j.delimiter]
	if !ok {
		return nil, badProperty("columnDelimiter", req.ColumnDelimiter), false
	}
	j.format = csvFormat{delim: delim, crlf: j.lineEnding == "CRLF"}
	obj, ok := c.schema().Lookup(req.Object)
	if !ok {
		return nil, bulkError(http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Unable to find object: "+soql.Clip(req.Object)), false
	}
	j.object = obj.Name()
	if j.operation == "upsert" {
		if req.ExternalIDFieldName == "" {
			return nil, bulkError(http.StatusBadRequest, "INVALIDJOB",
				fmt.Sprintf("InvalidJob : External ID was blank for %s. An External ID must be specified for upsert.", j.object)), false
		}
		f, ok := obj.Field(req.ExternalIDFieldName)
		if !ok || !f.Indexed() {
			return nil, bulkError(http.StatusBadRequest, "INVALIDJOB",
				fmt.Sprintf("InvalidJob : Field name provided, %s does not match an External ID for %s", soql.Clip(req.ExternalIDFieldName), j.object)), false
		}
		j.extField = f.Name
	}
	// "The permission for this operation, “Bulk API Hard Delete,” is disabled by default"
	// ("Create a Job"); the message is Salesforce's for a user without it.
	if j.operation == "hardDelete" && !o.ingest.hardDelete {
		return nil, bulkError(http.StatusBadRequest, "FEATURENOTENABLED",
			"FeatureNotEnabled : hardDelete operation requires special user profile permission, please contact your system administrator"), false
	}
	return j, response{}, true
}

// sweepIngestJobs deletes jobs older than their 7-day lifespan ("Bulk API and Bulk API 2.0
// Limits and Allocations"). in.mu is held.
func (o *Org) sweepIngestJobs(now time.Time) {
	in := &o.ingest
	for id, j := range in.jobs {
		if !j.running && now.Sub(j.created) > ingestJobLifespan {
			o.dropIngestJob(j)
			delete(in.jobs, id)
		}
	}
}

// dropIngestJob releases a job's data. in.mu is held.
func (o *Org) dropIngestJob(j *ingestJob) {
	in := &o.ingest
	in.stored -= j.charged
	j.charged, j.data, j.rows, j.deleted = 0, nil, nil, true
	if i := slices.Index(in.held, j); i >= 0 {
		in.held = slices.Delete(in.held, i, i+1)
	}
}

func storageExceeded(limit int64) response {
	return bulkError(http.StatusBadRequest, "EXCEEDEDQUOTA",
		fmt.Sprintf("ExceededQuota : the fake org holds at most %d bytes of job data at once; delete finished jobs", limit))
}

// uploadJobData is Upload Job Data: PUT …/batches with the CSV, once, while the job is Open.
// It answers 201 with no body; the data is read when the job is processed, so a bad header shows
// as a Failed job, not here.
func (o *Org) uploadJobData(w http.ResponseWriter, r *http.Request, j *ingestJob) response {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" {
		return bulkError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
			"Upload job data as Content-Type: text/csv")
	}
	in := &o.ingest
	limit := in.uploadLimit
	// A client may compress the upload (Content-Encoding: gzip, as the REST API takes it); the
	// limit bounds the CSV, so the length of the data is then unknown until it is read.
	body, length := io.Reader(r.Body), r.ContentLength
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return bulkError(http.StatusBadRequest, "CLIENTINPUTERROR", "ClientInputError : the gzip-compressed job data could not be read")
		}
		body, length = zr, -1
	default:
		return bulkError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Encoding "+soql.Clip(enc)+" is not supported: send gzip or no encoding")
	}
	if length > limit {
		return uploadTooLarge(limit)
	}
	// Reserve the storage before reading, so that concurrent uploads cannot pass the bound
	// together; a body of unknown length reserves the whole upload limit until it is read.
	reserve := limit
	if length >= 0 {
		reserve = length
	}
	in.mu.Lock()
	if resp, ok := o.uploadAllowed(j); !ok {
		in.mu.Unlock()
		return resp
	}
	if in.stored+reserve > in.storageLimit {
		in.mu.Unlock()
		return storageExceeded(in.storageLimit)
	}
	in.stored += reserve
	j.uploading = true
	in.mu.Unlock()

	// A body of known length is read into a buffer of that size; one of unknown length grows,
	// and may briefly take twice its size while it does.
	var buf bytes.Buffer
	if length >= 0 {
		buf.Grow(int(length))
	}
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))

	in.mu.Lock()
	defer in.mu.Unlock()
	j.uploading = false
	in.stored -= reserve
	switch {
	case n > limit:
		return uploadTooLarge(limit)
	case err != nil:
		return bulkError(http.StatusBadRequest, "CLIENTINPUTERROR", "ClientInputError : the job data could not be read")
	case j.deleted || j.state != stateOpen:
		return notOpen(j)
	case in.stored+n > in.storageLimit:
		return storageExceeded(in.storageLimit)
	}
	in.stored += n
	j.data, j.charged, j.uploaded = buf.Bytes(), n, true
	j.modstamp = sfTime(o.now())
	return response{status: http.StatusCreated}
}

// uploadAllowed checks that job data may be uploaded now. in.mu is held.
func (o *Org) uploadAllowed(j *ingestJob) (response, bool) {
	switch {
	case j.state != stateOpen:
		return notOpen(j), false
	case j.uploaded || j.uploading:
		// Salesforce's answer to a second PUT, word for word (its typo included).
		return bulkError(http.StatusBadRequest, "BULK_API_ERROR", fmt.Sprintf(
			"Found multipe contents for job: <%s>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.", j.id[:15])), false
	}
	return response{}, true
}

func notOpen(j *ingestJob) response {
	return bulkError(http.StatusConflict, "INVALIDJOBSTATE",
		fmt.Sprintf("InvalidJobState : job data can only be uploaded to an Open job; job %s is %s", j.id, j.state))
}

func uploadTooLarge(limit int64) response {
	return bulkError(http.StatusRequestEntityTooLarge, "CLIENTINPUTERROR", fmt.Sprintf(
		"ClientInputError : job data is limited to 150 MB of base64-encoded content; this org takes at most %d bytes of CSV per job", limit))
}

// changeIngestState is Upload Complete and Abort a Job: PATCH {"state": …}.
func (o *Org) changeIngestState(w http.ResponseWriter, r *http.Request, j *ingestJob) response {
	body, resp, ok := readJSONBody(w, r)
	if !ok {
		return resp
	}
	var req struct {
		State string `json:"state"`
	}
	if e := decodeJSON(body, &req); e != nil {
		return errResp(e)
	}
	in := &o.ingest
	in.mu.Lock()
	now := o.now()
	switch {
	case req.State != stateUploadComplete && req.State != stateAborted:
		in.mu.Unlock()
		if !slices.Contains([]string{stateOpen, stateInProgress, stateJobComplete, stateFailed}, req.State) {
			return badProperty("state", req.State)
		}
		return badTransition(j, req.State)
	case req.State == stateUploadComplete && (j.state != stateOpen || j.uploading):
		in.mu.Unlock()
		return badTransition(j, req.State)
	case req.State == stateAborted && !slices.Contains([]string{stateOpen, stateUploadComplete, stateInProgress}, j.state):
		in.mu.Unlock()
		return badTransition(j, req.State)
	}
	start := false
	if req.State == stateAborted {
		// A processor stops before its next batch; the records it has not reached stay unprocessed.
		j.state, j.modstamp = stateAborted, sfTime(now)
		if i := slices.Index(in.held, j); i >= 0 {
			in.held = slices.Delete(in.held, i, i+1)
		}
	} else {
		start = o.closeIngestJob(j, now)
	}
	info := o.jobInfo(j, viewPatch)
	in.mu.Unlock()
	if start {
		go o.processIngestJob(j)
	}
	return jsonResp(http.StatusOK, info)
}

func badTransition(j *ingestJob, to string) response {
	return bulkError(http.StatusConflict, "INVALIDJOBSTATE",
		fmt.Sprintf("InvalidJobState : job %s cannot go from %s to %s", j.id, j.state, to))
}

// closeIngestJob moves an Open job to UploadComplete and holds it, or hands it to a processor:
// it reports whether the caller must start one (go o.processIngestJob, once in.mu is released).
// in.mu is held.
func (o *Org) closeIngestJob(j *ingestJob, now time.Time) bool {
	in := &o.ingest
	j.state, j.modstamp, j.closedAt = stateUploadComplete, sfTime(now), now
	if in.hold {
		in.held = append(in.held, j)
		return false
	}
	o.claimIngestJob(j)
	return true
}

// claimIngestJob marks a job as owned by a processor about to start. in.mu is held.
func (o *Org) claimIngestJob(j *ingestJob) {
	j.running, j.done = true, make(chan struct{})
	o.ingest.wg.Add(1)
}

// startIngest starts a held job.
func (o *Org) startIngest(j *ingestJob) {
	in := &o.ingest
	in.mu.Lock()
	if j.deleted || j.state != stateUploadComplete || j.running {
		in.mu.Unlock()
		return
	}
	o.claimIngestJob(j)
	in.mu.Unlock()
	go o.processIngestJob(j)
}

// deleteIngestJob is Delete a Job: "To be deleted, a job must have a state of UploadComplete,
// JobComplete, Aborted, or Failed."
func (o *Org) deleteIngestJob(j *ingestJob) response {
	in := &o.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	if !slices.Contains([]string{stateUploadComplete, stateJobComplete, stateAborted, stateFailed}, j.state) || j.uploading {
		return bulkError(http.StatusConflict, "INVALIDJOBSTATE",
			fmt.Sprintf("InvalidJobState : a job can be deleted once it is UploadComplete, JobComplete, Aborted or Failed; job %s is %s", j.id, j.state))
	}
	if j.state == stateAborted {
		o.waitForProcessor(j)
	}
	if j.deleted {
		return errResp(errNotFound)
	}
	o.dropIngestJob(j)
	delete(in.jobs, j.id)
	return response{status: http.StatusNoContent}
}

// listIngestJobs is Get Information About All Ingest Jobs: up to 1,000 jobs a page, in creation
// order, with nextRecordsUrl (?queryLocator=…) while more remain.
func (o *Org) listIngestJobs(c *call) response {
	q := c.query
	// Every job here is a parallel Bulk API 2.0 job: the filters either keep all or none.
	all := true
	if v := q.Get("jobType"); v != "" {
		switch v {
		case "V2Ingest":
		case "Classic", "BigObjectIngest":
			all = false
		default:
			return badProperty("jobType", v)
		}
	}
	if v := q.Get("isPkChunkingEnabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badProperty("isPkChunkingEnabled", v)
		}
		all = all && !b // PK chunking is a Bulk API (1.0) feature
	}
	if v := q.Get("concurrencyMode"); v != "" {
		switch strings.ToLower(v) {
		case "parallel":
		case "serial":
			all = false
		default:
			return badProperty("concurrencyMode", v)
		}
	}
	var after uint64
	if loc := q.Get("queryLocator"); loc != "" {
		n, ok := parseJobLocator(loc)
		if !ok {
			return bulkError(http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		}
		after = n
	}
	in := &o.ingest
	in.mu.Lock()
	var jobs []*ingestJob
	if all {
		for _, j := range in.jobs {
			if j.seq > after {
				jobs = append(jobs, j)
			}
		}
	}
	slices.SortFunc(jobs, func(a, b *ingestJob) int { return cmp.Compare(a.seq, b.seq) })
	more := len(jobs) > ingestPageSize
	jobs = jobs[:min(len(jobs), ingestPageSize)]
	records := make([]jobInfo, len(jobs))
	for i, j := range jobs {
		records[i] = o.jobInfo(j, viewList)
	}
	in.mu.Unlock()
	page := struct {
		Done           bool      `json:"done"`
		Records        []jobInfo `json:"records"`
		NextRecordsURL *string   `json:"nextRecordsUrl"`
	}{Done: !more, Records: records}
	if more {
		next := url.Values{}
		for _, k := range []string{"jobType", "isPkChunkingEnabled", "concurrencyMode"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		next.Set("queryLocator", jobLocator(jobs[len(jobs)-1].seq))
		u := "/services/data/v" + c.ver + "/jobs/ingest?" + next.Encode()
		page.NextRecordsURL = &u
	}
	return jsonResp(http.StatusOK, page)
}

// A job list locator names the last job of the page before: its sequence number in base 36.
func jobLocator(seq uint64) string { return "01g" + strconv.FormatUint(seq, 36) }

func parseJobLocator(s string) (uint64, bool) {
	rest, ok := strings.CutPrefix(s, "01g")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 36, 64)
	return n, err == nil
}

// Job info views: what each response shows of a job, after the examples of the guide.
type jobView int

const (
	viewCreate jobView = iota // Create a Job
	viewPatch                 // Upload Complete, Abort a Job
	viewInfo                  // Get Information About an Ingest Job
	viewList                  // a record of Get All Jobs
)

// jobInfo is a job on the wire, its properties in Salesforce's order.
type jobInfo struct {
	ID                      string      `json:"id"`
	Operation               string      `json:"operation"`
	Object                  string      `json:"object"`
	CreatedByID             string      `json:"createdById"`
	CreatedDate             string      `json:"createdDate"`
	SystemModstamp          string      `json:"systemModstamp"`
	State                   string      `json:"state"`
	ExternalIDFieldName     string      `json:"externalIdFieldName,omitempty"`
	AssignmentRuleID        string      `json:"assignmentRuleId,omitempty"`
	ConcurrencyMode         string      `json:"concurrencyMode"`
	ContentType             string      `json:"contentType"`
	APIVersion              json.Number `json:"apiVersion"`
	JobType                 string      `json:"jobType,omitempty"`
	ContentURL              string      `json:"contentUrl,omitempty"`
	LineEnding              string      `json:"lineEnding,omitempty"`
	ColumnDelimiter         string      `json:"columnDelimiter,omitempty"`
	NumberRecordsProcessed  *int64      `json:"numberRecordsProcessed,omitempty"`
	NumberRecordsFailed     *int64      `json:"numberRecordsFailed,omitempty"`
	Retries                 *int64      `json:"retries,omitempty"`
	TotalProcessingTime     *int64      `json:"totalProcessingTime,omitempty"`
	APIActiveProcessingTime *int64      `json:"apiActiveProcessingTime,omitempty"`
	ApexProcessingTime      *int64      `json:"apexProcessingTime,omitempty"`
	ErrorMessage            string      `json:"errorMessage,omitempty"`
}

// jobInfo renders a job. in.mu is held.
func (o *Org) jobInfo(j *ingestJob, view jobView) jobInfo {
	ji := jobInfo{ID: j.id, Operation: j.operation, Object: j.object, CreatedByID: o.userID,
		CreatedDate: j.createdDate, SystemModstamp: j.modstamp, State: j.state,
		ExternalIDFieldName: j.extField, AssignmentRuleID: j.assignRule, ConcurrencyMode: "Parallel",
		ContentType: "CSV", APIVersion: json.Number(j.apiVersion)}
	if view == viewPatch {
		return ji
	}
	ji.LineEnding, ji.ColumnDelimiter = j.lineEnding, j.delimiter
	if j.state == stateOpen {
		// "Only valid if the job is in Open state."
		ji.ContentURL = "services/data/v" + j.apiVersion + "/jobs/ingest/" + j.id + "/batches"
	}
	if view == viewCreate {
		return ji
	}
	ji.JobType = "V2Ingest"
	if view == viewList {
		ji.ExternalIDFieldName, ji.AssignmentRuleID = "", ""
		return ji
	}
	zero, processed, failed, total, active := int64(0), j.processed, j.failed, j.totalMS, j.activeMS
	ji.Retries, ji.ApexProcessingTime = &zero, &zero
	ji.TotalProcessingTime, ji.APIActiveProcessingTime = &total, &active
	if j.state != stateOpen {
		ji.NumberRecordsProcessed, ji.NumberRecordsFailed = &processed, &failed
	}
	if j.state == stateFailed {
		ji.ErrorMessage = j.errorMessage
	}
	return ji
}

// sfTime formats a time as Salesforce writes datetimes.
func sfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// serveIngestResults is Get Job Successful / Failed / Unprocessed Record Results: CSV, in the
// job's delimiter and line ending, gzip-compressed for clients that ask ("Use Compression for
// Bulk API 2.0 Ingest Responses"). Results exist once the job is JobComplete, Failed or Aborted.
func (o *Org) serveIngestResults(w http.ResponseWriter, r *http.Request, j *ingestJob, which string) {
	res, resp, ok := o.ingestResults(j)
	if !ok {
		writeResponse(w, resp)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=UTF-8")
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		_ = res.writeResults(zw, which)
		_ = zw.Close()
		return
	}
	_ = res.writeResults(w, which)
}

// ingestResults returns what a job's result sets are read from: a copy of the job's finished
// data and outcomes, which no processor changes any more, so that the results are written
// without holding in.mu (a client reading slowly would hold every ingest request up) and a
// buffer at a time (a result set is as large as the job's data).
func (o *Org) ingestResults(j *ingestJob) (*ingestJob, response, bool) {
	in := &o.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	if s := j.state; s != stateJobComplete && s != stateFailed && s != stateAborted {
		return nil, bulkError(http.StatusConflict, "INVALIDJOBSTATE",
			fmt.Sprintf("InvalidJobState : results are available once a job is JobComplete, Failed or Aborted; job %s is %s", j.id, s)), false
	}
	o.waitForProcessor(j)
	if j.deleted {
		return nil, errResp(errNotFound), false
	}
	return &ingestJob{data: j.data, rows: j.rows, headerEnd: j.headerEnd, format: j.format, verN: j.verN}, response{}, true
}

// waitForProcessor waits, in.mu held, until no processor owns the job: an aborted job's
// processor finishes the batch it is in.
func (o *Org) waitForProcessor(j *ingestJob) {
	in := &o.ingest
	for j.running {
		done := j.done
		in.mu.Unlock()
		<-done
		in.mu.Lock()
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
