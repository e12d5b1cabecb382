package fakeorg

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// Processing of a closed ingest job. "Salesforce creates a separate batch for every 10,000
// records in your job data" ("Understanding Bulk API 2.0 Ingest"), and processes a batch in
// chunks of 200 records; each chunk here is one transaction of the data layer, and within it
// every record is saved on its own, with the REST API's validation and error codes: a record that
// fails leaves no trace and the others are kept, so a job whose records fail still ends
// JobComplete, with numberRecordsFailed. A job
// Fails as a whole when its data cannot be read (header, CSV structure) or the daily batch
// allocation runs out; batches already saved stay ("Job data that was successfully processed
// isn't rolled back").

const (
	ingestChunk   = 10_000 // records per internal batch
	ingestTxChunk = 200    // records per transaction within a batch
)

// rowResult is one record's place in the job data and its outcome.
type rowResult struct {
	start, end int // the record's span in the job data
	outcome    rowOutcome
	created    bool
	id         string
	err        *orgdb.Error
}

type rowOutcome uint8

const (
	rowUnprocessed rowOutcome = iota
	rowSucceeded
	rowFailed
)

// column is one header column, resolved against the job's object.
type column struct {
	role  colRole
	key   string // the field written, by its name
	field *orgdb.FieldDef
	// Relationship columns: the parent object and its indexed field that names the parent.
	refObject, refField string
}

type colRole uint8

const (
	colField colRole = iota
	colID            // the Id column
	colExt           // upsert's external id column
	colRef           // a relationship column, RelationshipName.IndexedFieldName
)

// processIngestJob runs a closed job to JobComplete, Failed or Aborted. A panic is a bug in the
// fake: as a request's panic answers 500 (handler.go), a job's fails the job rather than the
// process, which runs it in a goroutine of its own.
func (o *Org) processIngestJob(j *ingestJob) {
	in := &o.ingest
	defer in.wg.Done()
	defer func() {
		v := recover()
		in.mu.Lock()
		if v != nil {
			j.state, j.modstamp = stateFailed, sfTime(o.now())
			j.errorMessage = "UNKNOWN_EXCEPTION : An unexpected error occurred in the fake org (a bug in mocks/fakeorg)."
		}
		j.running = false
		close(j.done)
		in.mu.Unlock()
	}()
	o.runIngestJob(j)
}

// runIngestJob is processIngestJob's work. It takes in.mu where it reads or writes the job's
// state, and returns without it; planning and saving records, where a bug could panic, run
// without it.
func (o *Org) runIngestJob(j *ingestJob) {
	in := &o.ingest
	// in.mu is released explicitly, never deferred: a panic may come while it is not held.
	in.mu.Lock()
	if j.deleted || j.state != stateUploadComplete { // aborted or deleted before its turn
		in.mu.Unlock()
		return
	}
	started := o.now()
	j.state, j.modstamp = stateInProgress, sfTime(started)
	chunk := in.chunk
	in.mu.Unlock()

	// Only this processor touches j.rows and j.headerEnd while j.running; readers wait for done.
	cols, failure := o.planIngestJob(j)
	if failure != "" { // nothing read: all of the data is unprocessed, as uploaded
		j.rows, j.headerEnd = nil, 0
		in.mu.Lock()
		in.stored -= j.rowsCharged
		j.charged -= j.rowsCharged
		j.rowsCharged = 0
		in.mu.Unlock()
	}
	n := len(j.rows)
	for lo := 0; failure == "" && lo < n; lo += chunk {
		if in.beforeBatch != nil {
			in.beforeBatch(j.id, lo)
		}
		in.mu.Lock()
		aborted := j.state != stateInProgress
		granted := !aborted && in.batches.take(o.now(), 1) == 1
		in.mu.Unlock()
		if aborted {
			break
		}
		if !granted {
			failure = "ExceededQuota : the daily Bulk API batch allocation (DailyBulkApiBatches) is used up; the remaining records were not processed"
			break
		}
		hi := min(n, lo+chunk)
		failed := o.applyIngestBatch(j, cols, j.rows[lo:hi])
		in.mu.Lock()
		j.processed += int64(hi - lo)
		j.failed += failed
		j.modstamp = sfTime(o.now())
		in.mu.Unlock()
	}

	in.mu.Lock()
	now := o.now()
	j.modstamp = sfTime(now)
	j.activeMS, j.totalMS = now.Sub(started).Milliseconds(), now.Sub(j.closedAt).Milliseconds()
	switch {
	case j.state != stateInProgress: // aborted meanwhile
	case failure != "":
		j.state, j.errorMessage = stateFailed, failure
	default:
		j.state = stateJobComplete
	}
	in.mu.Unlock()
}

// planIngestJob reads the job data: the header, resolved to columns, and the span of every
// record (j.rows, all unprocessed). A failure is the job's errorMessage.
func (o *Org) planIngestJob(j *ingestJob) ([]column, string) {
	sc := &csvScanner{data: j.data, f: j.format}
	hdr, ok, err := sc.next(nil, true)
	if err != nil {
		return nil, "InvalidBatch : Failed to parse CSV header. " + err.Error()
	}
	if !ok {
		// No data, or no upload: jsforce uploads an empty body for no records, and Salesforce
		// completes such a job with no records (jsforce's own tests against an org expect it).
		return nil, ""
	}
	if utf8.RuneCount(j.data[hdr.start:hdr.end]) > maxHeaderChars {
		return nil, fmt.Sprintf("InvalidBatch : The header row has more than %d characters", maxHeaderChars)
	}
	if hdr.n > maxColumns {
		return nil, fmt.Sprintf("InvalidBatch : A record has more than %d fields", maxColumns)
	}
	cols, failure := o.resolveColumns(j, hdr.values)
	if failure != "" {
		return nil, failure
	}
	j.headerEnd = hdr.end
	// Read the records once to check them and count them, so that their outcomes' storage is
	// charged before they are held, then again to note where each lies.
	records := *sc
	n := 0
	for {
		rec, ok, err := sc.next(nil, false)
		if err != nil {
			return nil, "InvalidBatch : Failed to parse CSV. " + err.Error()
		}
		if !ok {
			break
		}
		if rec.n != len(cols) {
			return nil, fmt.Sprintf("InvalidBatch : Failed to parse CSV. row %d: %d values for the %d columns of the header", sc.row, rec.n, len(cols))
		}
		n++
	}
	if !o.reserveRows(j, n) {
		return nil, fmt.Sprintf("ExceededQuota : the fake org holds at most %d bytes of job data and record outcomes at once (%d bytes a record); upload fewer records per job", o.ingest.storageLimit, rowReserve)
	}
	j.rows = make([]rowResult, 0, n)
	for {
		rec, ok, _ := records.next(nil, false)
		if !ok {
			return cols, ""
		}
		j.rows = append(j.rows, rowResult{start: rec.start, end: rec.end})
	}
}

// rowReserve is the storage a record's outcome is charged against IngestStorageLimit: its
// rowResult, its id and a typical error. Uncharged, a job's outcomes grew with its records
// (10 million two-byte rows, a 20 MB upload, took 2 GB to process), and so did what one job
// could write to the database.
const rowReserve = 256

// reserveRows charges the storage of n more records' outcomes to a job being planned, and
// reports whether the org's storage had room.
func (o *Org) reserveRows(j *ingestJob, n int) bool {
	in := &o.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	size := int64(n) * rowReserve
	if in.stored+size > in.storageLimit {
		return false
	}
	in.stored += size
	j.charged += size
	j.rowsCharged += size
	return true
}

// resolveColumns maps the header's field names to the job object's fields, as the job's API
// version sees them. The failure messages are Salesforce's ("Field name not found", "Unable to
// find relationship", "type is not needed for non polymorphic foreign key references").
func (o *Org) resolveColumns(j *ingestJob, names []string) ([]column, string) {
	schema := o.db.Schema().At(j.verN)
	obj, ok := schema.Lookup(j.object)
	if !ok {
		return nil, "InvalidJob : Unable to find object: " + j.object
	}
	cols := make([]column, len(names))
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		var col column
		if f, ok := obj.Field(name); ok {
			col = column{role: colField, key: f.Name, field: f}
			switch {
			case j.operation == "upsert" && f.Name == j.extField:
				col.role = colExt
			case f.Type == "id":
				col.role = colID
			}
		} else if strings.Contains(name, ".") {
			var failure string
			if col, failure = resolveRelationship(schema, obj, name); failure != "" {
				return nil, failure
			}
		} else {
			return nil, "InvalidBatch : Field name not found : " + soql.Clip(name)
		}
		if seen[col.key] {
			return nil, "InvalidBatch : Duplicate field name: " + soql.Clip(name)
		}
		seen[col.key] = true
		cols[i] = col
	}
	return cols, ""
}

// resolveRelationship reads a relationship column, RelationshipName.IndexedFieldName, or
// ObjectType:RelationshipName.IndexedFieldName for a polymorphic field ("Relationship Fields in
// a Header Row (2.0)": "You get an error if you omit this syntax for a polymorphic field. You
// also get an error if you include this syntax for a field that is not polymorphic.").
// Polymorphic is as describe says: EngagementAttendee.EngagementId, which Salesforce documents
// as pointing at EngagementInteraction, MessagingSession or VoiceCall, needs
// EngagementInteraction:Engagement.ExternalIdentifier.
func resolveRelationship(schema *orgdb.Schema, obj *orgdb.SObject, name string) (column, string) {
	path, fieldName, _ := strings.Cut(name, ".")
	typ, rel, typed := strings.Cut(path, ":")
	if !typed {
		rel = path
	}
	f, ok := obj.ReferenceByRelationship(rel)
	switch {
	case !ok:
		return column{}, "InvalidBatch : Unable to find relationship: " + soql.Clip(rel)
	case typed && !f.Polymorphic():
		return column{}, "InvalidBatch : type is not needed for non polymorphic foreign key references: " + f.RelationshipName
	case !typed && f.Polymorphic():
		return column{}, "InvalidBatch : type is required for polymorphic foreign key references: " + f.RelationshipName
	}
	var parent *orgdb.SObject
	for _, to := range f.ReferenceTo {
		if p, ok := schema.Lookup(to); ok && (!typed || strings.EqualFold(typ, to)) {
			parent = p
			break
		}
	}
	if parent == nil {
		return column{}, "InvalidBatch : Unable to find object: " + soql.Clip(typ)
	}
	pf, ok := parent.Field(fieldName)
	if !ok {
		return column{}, "InvalidBatch : Field name not found : " + soql.Clip(name)
	}
	if !pf.Indexed() {
		return column{}, fmt.Sprintf("InvalidBatch : %s.%s is not an indexed field: a relationship column names its parent by Id, an external id or an idLookup field", parent.Name(), pf.Name)
	}
	return column{role: colRef, key: f.Name, field: f, refObject: parent.Name(), refField: pf.Name}, ""
}

// applyIngestBatch saves one internal batch of records, a transaction per chunk of 200
// ("Batches are processed in chunks ... In API version 21.0 and later, the chunk size is 200
// records", "Bulk API and Bulk API 2.0 Limits and Allocations"), recording each record's
// outcome in rows, and returns how many failed.
func (o *Org) applyIngestBatch(j *ingestJob, cols []column, rows []rowResult) int64 {
	sc := &csvScanner{f: j.format}
	var values []string
	var failed int64
	for lo := 0; lo < len(rows); lo += ingestTxChunk {
		func() {
			tx := o.db.Begin(true)
			defer tx.Rollback() // after Commit, nothing; after a panic, the write lock is released
			tx.UseVersion(j.verN)
			for i := lo; i < min(len(rows), lo+ingestTxChunk); i++ {
				r := &rows[i]
				sc.data, sc.pos = j.data[:r.end], r.start
				rec, _, _ := sc.next(values[:0], true) // the record was read once already: it parses
				values = rec.values
				if e := o.recordFault(j.object); e != nil {
					r.err = e
				} else {
					r.id, r.created, r.err = o.applyIngestRecord(tx, j, cols, values)
				}
				r.outcome = rowSucceeded
				if r.err != nil {
					r.outcome = rowFailed
					failed++
				}
			}
			tx.Commit()
		}()
	}
	return failed
}

// applyIngestRecord saves one record: the id it has, whether it was created, or its error.
// "Empty field values are ignored when you update records. To set a field value to null, use a
// field value of #N/A." ("Prepare CSV Files")
func (o *Org) applyIngestRecord(tx *orgdb.Tx, j *ingestJob, cols []column, values []string) (string, bool, *orgdb.Error) {
	fields := make(map[string]any, len(cols))
	var id, ext string
	for k, col := range cols {
		v := values[k]
		if v == "" {
			continue
		}
		if len(v) > maxFieldChars && utf8.RuneCountInString(v) > maxFieldChars {
			return recordID(id), false, recordError("STRING_TOO_LONG",
				fmt.Sprintf("%s: data value too large: a field holds at most %d characters", col.key, maxFieldChars), col.key)
		}
		// Salesforce reads the data as UTF-8; bytes that are not become U+FFFD, as Java's
		// decoder makes them.
		v = strings.ToValidUTF8(v, "\uFFFD")
		var value any = v
		if v == "#N/A" {
			value = nil
		}
		switch col.role {
		case colID:
			if value != nil {
				id = v
			}
			continue
		case colExt:
			if value != nil {
				ext = v
			}
			continue
		case colRef:
			if value != nil {
				ref, e := lookupParent(tx, col, v)
				if e != nil {
					return recordID(id), false, e
				}
				value = ref
			}
		case colField:
			// The guide's own samples write dates as 1940-06-07Z ("Sample CSV Files").
			if col.field.Type == "date" {
				value = strings.TrimSuffix(v, "Z")
			}
		}
		fields[col.key] = value
	}
	switch j.operation {
	case "insert":
		if id != "" {
			fields["Id"] = id // the data layer answers as the REST API does
		}
		newID, e := tx.Create(j.object, fields)
		return newID, e == nil, asRecordErr0(e)
	case "update":
		if id == "" {
			return "", false, recordError("MISSING_ARGUMENT", "Id not specified in an update call")
		}
		e := tx.Update(j.object, id, fields)
		return recordID(id), false, asRecordErr0(e)
	case "upsert":
		if id != "" { // an Id column beside the external id: the data layer checks it
			fields["Id"] = id
		}
		if ext == "" && j.extField != "Id" {
			return "", false, recordError("MISSING_ARGUMENT", j.extField+" not specified", j.extField)
		}
		res, e := tx.Upsert(j.object, j.extField, ext, fields)
		if e != nil {
			return recordID(id), false, asRecordErr0(e)
		}
		if len(res.Matches) > 0 {
			return "", false, duplicateExternalID(j.extField, res.Matches)
		}
		return res.ID, res.Created, nil
	default: // delete, hardDelete
		if id == "" {
			return "", false, recordError("MISSING_ARGUMENT", "Id not specified in a delete call")
		}
		return recordID(id), false, asRecordErr0(tx.Delete(j.object, id))
	}
}

// bulkRowPath prefixes the fault paths that meet the records of ingest jobs (Fault.Path).
const bulkRowPath = "bulkrow:"

// recordFault is the error an injected fault gives a record of a job on object, or nil. Lock
// contention shows this way in Salesforce: UNABLE_TO_LOCK_ROW in failedResults ("Organize Data
// to Minimize Lock Contention").
func (o *Org) recordFault(object string) *orgdb.Error {
	_, f := o.faults.pick("", bulkRowPath+object)
	if f == nil {
		return nil
	}
	if e := failureError(f.Failure); e != nil {
		return asRecordErr(e)
	}
	return recordError("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
}

// lookupParent finds the record a relationship column names: exactly one live record whose
// indexed field has the value.
func lookupParent(tx *orgdb.Tx, col column, v string) (string, *orgdb.Error) {
	ids, e := tx.LookupIDs(col.refObject, col.refField, v)
	if e != nil {
		return "", asRecordErr0(e)
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", recordError("INVALID_FIELD", fmt.Sprintf("Foreign key external ID: %s not found for field %s in entity %s", soql.Clip(v), col.refField, col.refObject), col.key)
	}
	return "", recordError("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("Foreign key external ID: %s matched more than one record for field %s in entity %s", soql.Clip(v), col.refField, col.refObject), col.key)
}

// recordID is the sf__Id of a record the job named by id: its 18-character form.
func recordID(id string) string {
	id18, _ := orgdb.ID18(id)
	return id18
}

func recordError(code, msg string, fields ...string) *orgdb.Error {
	if fields == nil {
		fields = []string{}
	}
	return &orgdb.Error{Status: http.StatusBadRequest, Code: code, Message: msg, Fields: fields}
}

// asRecordErr0 is asRecordErr that passes nil through.
func asRecordErr0(e *orgdb.Error) *orgdb.Error {
	if e == nil {
		return nil
	}
	return asRecordErr(e)
}

// writeResults writes one result set as CSV: successfulResults ("sf__Id","sf__Created" and the
// record's values), failedResults ("sf__Id","sf__Error" and the values) or unprocessedrecords
// (the records as uploaded), after the header row as uploaded, a buffer of resultsChunk bytes
// at a time. The job has no processor.
func (j *ingestJob) writeResults(w io.Writer, which string) error {
	f := j.format
	eol := f.terminator()
	var want rowOutcome
	b := make([]byte, 0, resultsChunk+1024)
	switch which {
	case "successfulResults":
		want = rowSucceeded
		b = appendCSVValue(b, "sf__Id")
		b = appendCSVValue(append(b, f.delim), "sf__Created")
	case "failedResults":
		want = rowFailed
		b = appendCSVValue(b, "sf__Id")
		b = appendCSVValue(append(b, f.delim), "sf__Error")
	default:
		if j.headerEnd == 0 && len(j.rows) == 0 {
			// The data was never read into records: all of it is unprocessed, as uploaded.
			_, err := w.Write(j.data)
			return err
		}
		want = rowUnprocessed
	}
	if j.headerEnd > 0 {
		if len(b) > 0 {
			b = append(b, f.delim)
		}
		b = append(b, j.data[:j.headerEnd]...)
	}
	b = append(b, eol...)
	sc := &csvScanner{f: f}
	var values []string
	for i := range j.rows {
		if len(b) >= resultsChunk {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
		r := &j.rows[i]
		if r.outcome != want {
			continue
		}
		if want == rowUnprocessed {
			b = append(append(b, j.data[r.start:r.end]...), eol...)
			continue
		}
		if want == rowFailed && j.verN < 53 {
			b = appendCSVValue(b, "") // sf__Id of failed records: "Available in API version 53 and later."
		} else {
			b = appendCSVValue(b, r.id)
		}
		b = append(b, f.delim)
		if want == rowSucceeded {
			b = appendCSVValue(b, strconv.FormatBool(r.created))
		} else {
			b = appendCSVValue(b, bulkErrorText(r.err))
		}
		sc.data, sc.pos = j.data[:r.end], r.start
		rec, _, _ := sc.next(values[:0], true)
		values = rec.values
		for _, v := range values {
			b = appendCSVValue(append(b, f.delim), v)
		}
		b = append(b, eol...)
	}
	_, err := w.Write(b)
	return err
}

// resultsChunk is how much of a result set is written at a time.
const resultsChunk = 64 << 10

// bulkErrorText is a record's sf__Error: "CODE:message:fields --", as Salesforce writes it
// ("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --").
func bulkErrorText(e *orgdb.Error) string {
	var sb strings.Builder
	sb.WriteString(e.Code)
	sb.WriteByte(':')
	sb.WriteString(e.Message)
	sb.WriteByte(':')
	for _, f := range e.Fields {
		sb.WriteString(f)
		sb.WriteByte(' ')
	}
	sb.WriteString("--")
	return sb.String()
}

// duplicateExternalID is the error for an upsert whose external id matches several records. It
// lists the first maxListedMatches of them: each record of a job or a collection carries its own
// error, and an external id that 100,000 records share would otherwise make each 2 MB.
func duplicateExternalID(field string, matches []string) *orgdb.Error {
	list := strings.Join(matches[:min(len(matches), maxListedMatches)], ", ")
	if len(matches) > maxListedMatches {
		list += ", … (" + strconv.Itoa(len(matches)) + " in all)"
	}
	return &orgdb.Error{Code: "DUPLICATE_EXTERNAL_ID",
		Message: field + ": more than one record found for external id field: " + list,
		Fields:  []string{field}}
}

// maxListedMatches is how many matching records a DUPLICATE_EXTERNAL_ID error lists.
const maxListedMatches = 10
