package bulksync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idverify/idverify/sfdc"
)

// op is a save operation.
type op uint8

const (
	opUpsert op = iota // engagements, by ExternalIdentifier
	opCreate           // attendees and topics not yet in the org
	opUpdate           // attendees and topics found by their natural key
)

// stage is one save of a round: an object, an operation, and the columns that match a Bulk API
// result back to its record (results come in no guaranteed order).
type stage struct {
	name    string // in the checkpoint's job list
	object  string
	op      op
	keyCols []string
}

var (
	stEngagements    = stage{"engagements", objEngagement, opUpsert, []string{keyField}}
	stNewAttendees   = stage{"attendees", objAttendee, opCreate, []string{"EngagementId", "ExternalAttendeeId", "InternalAttendeeId"}}
	stNewTopics      = stage{"topics", objTopic, opCreate, []string{"EngagementId"}}
	stAttendeeUpdate = stage{"attendee-updates", objAttendee, opUpdate, []string{"Id"}}
	stTopicUpdate    = stage{"topic-updates", objTopic, opUpdate, []string{"Id"}}
)

// key matches a record to its result: the key columns' values, case-folded (18-character ids
// stay distinct when folded: their checksum encodes the case of the first 15).
func (st stage) key(get func(col string) string) string {
	var b strings.Builder
	for i, c := range st.keyCols {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strings.ToLower(get(c)))
	}
	return b.String()
}

// rec is one record to save.
type rec struct {
	fields []field
}

func (r rec) get(name string) string {
	for _, f := range r.fields {
		if f.name == name {
			if s, ok := f.value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// saved is one record's outcome.
type saved struct {
	id      sfdc.ID
	created bool
	err     *sfdc.Error // Salesforce refused the record
}

// errRetry: some records met a failure that says nothing was done (a lock, an unavailable
// server): the round is sent again.
var errRetry = errors.New("records met transient failures (UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE…)")

// errJobUnfinished: a Bulk API job failed or was aborted before it processed every record.
var errJobUnfinished = errors.New("a Bulk API job ended before processing every record")

// errBulkQuota: a job failed because the org's daily Bulk API allocation is used up.
var errBulkQuota = fmt.Errorf("%w (the daily Bulk API batch allocation, ExceededQuota)", sfdc.ErrDailyLimit)

// transient reports whether a record's failure means it was not saved and may be sent again.
func transient(e *sfdc.Error) bool {
	return errors.Is(e, sfdc.ErrLocked) || errors.Is(e, sfdc.ErrUnavailable) || errors.Is(e, sfdc.ErrConcurrencyLimit)
}

// save sends one stage's records through collections, or a Bulk API job when the run uses
// Bulk API 2.0 and there are enough records to be worth a job. The results are in record order.
// The error is a failure of a whole call (the records' outcomes are then unknown).
func (s *syncer) save(ctx context.Context, st stage, recs []rec) ([]saved, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if s.bulk && (len(recs) >= s.opts.BulkMinRecords || s.reuse[st.name] != "") {
		return s.saveBulk(ctx, st, recs)
	}
	return s.saveCollection(ctx, st, recs)
}

// callFailed tells a whole call's failure from a record's (a per-record result has no HTTP
// status and always a code).
func callFailed(err error) bool {
	var e *sfdc.Error
	return !errors.As(err, &e) || e.StatusCode != 0 || e.Code == ""
}

func (s *syncer) saveCollection(ctx context.Context, st stage, recs []rec) ([]saved, error) {
	objs := make([]any, len(recs))
	for i, r := range recs {
		m := make(map[string]any, len(r.fields))
		for _, f := range r.fields {
			m[f.name] = f.value
		}
		objs[i] = m
	}
	var res []sfdc.SaveResult
	var err error
	switch st.op {
	case opUpsert:
		res, err = s.c.UpsertRecords(ctx, st.object, keyField, false, objs)
	case opCreate:
		res, err = s.c.CreateRecords(ctx, st.object, false, objs)
	default:
		res, err = s.c.UpdateRecords(ctx, st.object, false, objs)
	}
	if err != nil && callFailed(err) {
		return nil, err
	}
	out := make([]saved, len(recs))
	for i, r := range res {
		out[i] = saved{id: r.ID, created: r.Created || st.op == opCreate && r.Err == nil, err: r.Err}
	}
	return out, nil
}

// saveBulk runs one Bulk API 2.0 job for the stage, or picks up the job an interrupted run left
// (s.reuse), and matches its results back to the records by the stage's key columns.
func (s *syncer) saveBulk(ctx context.Context, st stage, recs []rec) ([]saved, error) {
	id := s.reuse[st.name]
	delete(s.reuse, st.name)
	if id == "" {
		data := bulkCSV(recs)
		spec := sfdc.IngestSpec{Object: st.object, Operation: sfdc.BulkInsert}
		switch st.op {
		case opUpsert:
			spec.Operation, spec.ExternalIDField = sfdc.BulkUpsert, keyField
		case opUpdate:
			spec.Operation = sfdc.BulkUpdate
		}
		job, _, err := s.c.CreateIngestJob(ctx, spec)
		if err != nil {
			return nil, err
		}
		id = job.ID
		// Before the data goes: a resumed run must find every job that may process records.
		if err := s.recordJob(st.name, id); err != nil {
			return nil, err
		}
		s.stage(st.object + " job: upload")
		if _, err := s.c.UploadIngestData(ctx, id, data); err != nil {
			return nil, err
		}
		if _, _, err := s.c.CloseIngestJob(ctx, id); err != nil {
			return nil, err
		}
	}
	poll := s.opts.Poll
	poll.OnPoll = func(j *sfdc.IngestJob) {
		s.stage(fmt.Sprintf("%s job %s: %d/%d processed", st.object, j.State, j.NumberRecordsProcessed, len(recs)))
	}
	job, err := s.c.WaitIngestJob(ctx, id, poll)
	if err != nil {
		return nil, err
	}
	if job.State == sfdc.JobFailed && strings.HasPrefix(job.ErrorMessage, "ExceededQuota") {
		return nil, errBulkQuota
	}
	out := make([]saved, len(recs))
	complete := job.State == sfdc.JobComplete
	if complete && job.NumberRecordsFailed == 0 && job.NumberRecordsProcessed == int64(len(recs)) && st.op != opUpsert {
		// Every record saved, and no id is needed from a child: skip reading the results.
		for i := range out {
			out[i].created = st.op == opCreate
		}
		return out, nil
	}
	index := make(map[string]int, len(recs))
	for i, r := range recs {
		index[st.key(r.get)] = i
	}
	seen := make([]bool, len(recs))
	read := func(set sfdc.ResultSet) error {
		res, _, err := s.c.IngestResults(ctx, id, set)
		if err != nil {
			return err
		}
		cols := make(map[string]int, len(st.keyCols))
		for _, c := range st.keyCols {
			cols[c] = res.Column(c)
		}
		for _, row := range res.Rows {
			k := st.key(func(c string) string {
				if j := cols[c]; j >= 0 && j < len(row.Values) {
					return row.Values[j]
				}
				return ""
			})
			i, ok := index[k]
			if !ok || seen[i] {
				continue
			}
			seen[i] = true
			out[i] = saved{id: row.ID, created: row.Created, err: row.Err}
		}
		return nil
	}
	if err := read(sfdc.SuccessfulResults); err != nil {
		return nil, err
	}
	if job.NumberRecordsFailed > 0 || !complete {
		if err := read(sfdc.FailedResults); err != nil {
			return nil, err
		}
	}
	for i := range seen {
		if !seen[i] {
			return nil, errJobUnfinished
		}
	}
	return out, nil
}

// bulkCSV writes records as job data: the union of their fields as columns, in first-seen
// order. An empty value leaves a field as it is.
func bulkCSV(recs []rec) []byte {
	var cols []string
	pos := map[string]int{}
	for _, r := range recs {
		for _, f := range r.fields {
			if _, ok := pos[f.name]; !ok {
				pos[f.name] = len(cols)
				cols = append(cols, f.name)
			}
		}
	}
	b := sfdc.AppendCSV(make([]byte, 0, 128*len(recs)), cols...)
	values := make([]string, len(cols))
	for _, r := range recs {
		clear(values)
		for _, f := range r.fields {
			switch v := f.value.(type) {
			case string:
				values[pos[f.name]] = v
			case bool:
				values[pos[f.name]] = fmt.Sprint(v)
			}
		}
		b = sfdc.AppendCSV(b, values...)
	}
	return b
}
