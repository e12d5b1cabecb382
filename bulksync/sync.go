package bulksync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/idverify/idverify/sfdc"
)

// Via says how records are sent.
type Via string

// The ways to send.
const (
	ViaAuto        Via = ""            // Bulk API 2.0 from Options.BulkThreshold rows to send, else collections
	ViaCollections Via = "collections" // sObject collections, 200 records a call
	ViaBulk        Via = "bulk"        // Bulk API 2.0 ingest jobs
)

// Defaults of Options.
const (
	DefaultBulkThreshold  = 2000
	DefaultBulkRound      = 10_000
	DefaultBulkMinRecords = 1000
	DefaultTries          = 4
	DefaultBackoff        = 2 * time.Second
	// DefaultSettle is how long after a write whose answer was lost a check trusts what the org
	// shows: Salesforce goes on with a request whose client is gone, so a check made at once
	// could miss a record still being saved.
	DefaultSettle = 10 * time.Second
)

// maxJobData is the most job data a round gives one Bulk API job: "upload data that does not
// exceed 100 MB" to stay within the 150 MB of base64 Salesforce takes ("Upload Job Data",
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm).
const maxJobData = 100_000_000

// Options configures Run.
type Options struct {
	// Input is the file to read, "-" for Stdin.
	Input  string
	Stdin  io.Reader
	Format Format

	// Client sends to the org. Nil is only allowed with DryRun: the rows are then checked
	// against StandardSchema instead of the org's describe.
	Client *sfdc.Client
	DryRun bool

	Checkpoint string // required unless DryRun
	Report     string // required unless DryRun

	Via            Via
	BulkThreshold  int // rows to send from which ViaAuto uses Bulk API 2.0 (DefaultBulkThreshold)
	BulkRound      int // rows per round with Bulk API 2.0 (DefaultBulkRound); collections rounds are 200
	BulkMinRecords int // fewer records than this in a stage go through collections even with Bulk API (DefaultBulkMinRecords)
	Poll           sfdc.Poll

	Tries   int           // attempts at a round before the run stops (DefaultTries)
	Backoff time.Duration // wait before the second attempt, doubling (DefaultBackoff)
	Settle  time.Duration // DefaultSettle; negative: 0

	// maxJobBytes bounds one Bulk API job's data (maxJobData; tests set less).
	maxJobBytes int

	// OnProblem is called with each validation problem (not again for a resumed run's).
	OnProblem func(Problem)
	// Progress, when set, is told how the sending goes.
	Progress Progress
}

// Progress follows the sending: Start with the rows to send, Add as rows are handled, Stage
// with what is being done (never a value).
type Progress interface {
	Start(total int)
	Add(rows int)
	Stage(what string)
	Finish()
}

// Summary is what a run did. Rows, Invalid, Landed, Rejected, Created and Updated cover the
// whole sync (earlier runs on the checkpoint included); Sent, Calls and Elapsed this run.
type Summary struct {
	Rows     int // rows in the input
	Invalid  int // refused by validation: nothing sent for them
	Skipped  int // handled by earlier runs (the checkpoint)
	Sent     int // rows sent by this run
	Landed   int // rows whose every record Salesforce accepted
	Rejected int // rows with a record Salesforce refused (the report has the codes)
	Created  int64
	Updated  int64
	Calls    int64 // API calls of this run (retries included)
	Elapsed  time.Duration
	Via      Via
	DryRun   bool
	// Planned is, for a dry run, the fewest API calls the sync would make; a check call is
	// added for each 200 engagements the org already has.
	Planned int
	// Complete is true when every row has been handled (landed, rejected or invalid).
	Complete bool
}

// OK reports whether everything landed: complete, nothing invalid, nothing rejected.
func (s *Summary) OK() bool { return s.Complete && s.Invalid == 0 && s.Rejected == 0 }

// StoppedError is a run that stopped before the end; running it again with the same checkpoint
// resumes it.
type StoppedError struct {
	Reason string
	Err    error
}

func (e *StoppedError) Error() string {
	if e.Err == nil {
		return "stopped: " + e.Reason
	}
	return "stopped: " + e.Reason + ": " + e.Err.Error()
}

func (e *StoppedError) Unwrap() error { return e.Err }

// syncer is one run.
type syncer struct {
	opts   Options
	c      *sfdc.Client
	schema *Schema
	bulk   bool
	cp     *checkpoint
	report *report
	reuse  map[string]sfdc.ID // jobs of an interrupted round to pick up, by stage

	calls0    int64 // the client's calls when the run started
	callsBase int64 // the checkpoint's calls when the run started

	interrupted bool      // the checkpoint's round was left by an interrupted run
	unknownAt   time.Time // when a write whose outcome is unknown was last sent
}

// Run syncs the input to Salesforce: it validates every row first (a first pass over the file;
// standard input is spooled to a temporary file), reports the bad ones and sends the others in
// rounds, recording each round in the checkpoint. See docs/SYNC.md.
//
// It returns the summary and nil when every row has been handled; a *StoppedError when the run
// stopped early (interrupted, the daily limit, Salesforce failing) and can be resumed; another
// error when it could not start (the input, the checkpoint, the org's describe).
func Run(ctx context.Context, opts Options) (*Summary, error) {
	start := time.Now()
	opts = withDefaults(opts)
	s := &syncer{opts: opts, c: opts.Client, reuse: map[string]sfdc.ID{}}
	if opts.Client == nil && !opts.DryRun {
		return nil, errors.New("no Salesforce client: only a dry run can check rows without the org")
	}
	if !opts.DryRun && (opts.Checkpoint == "" || opts.Report == "") {
		return nil, errors.New("a sync needs a checkpoint file and a report file")
	}
	if s.c != nil {
		s.calls0 = callsOf(s.c)
		schema, err := DescribeSchema(ctx, s.c)
		if err != nil {
			return nil, err
		}
		s.schema = schema
	} else {
		s.schema = StandardSchema()
	}
	if !opts.DryRun {
		unlock, err := lockFile(opts.Checkpoint + ".lock")
		if err != nil {
			return nil, err
		}
		defer unlock()
		if s.cp, err = loadCheckpoint(opts.Checkpoint); err != nil {
			return nil, err
		}
	}

	src, cleanup, err := openInput(opts)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fresh := s.cp == nil
	// A fresh run writes the validation problems to the report as they are found (a resumed
	// run's are there already, up to the checkpoint's report size).
	var emit func(Problem)
	if fresh {
		emit = opts.OnProblem
		if !opts.DryRun {
			if s.report, err = openReport(opts.Report, 0); err != nil {
				return nil, err
			}
			defer s.report.close()
			emit = func(p Problem) {
				s.report.add(p)
				if opts.OnProblem != nil {
					opts.OnProblem(p)
				}
			}
		}
	}
	scan, err := scanInput(ctx, src, opts.Format, s.schema, emit)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Rows: scan.rows, Invalid: scan.invalid, DryRun: opts.DryRun}
	defer func() {
		sum.Elapsed = time.Since(start)
		if s.c != nil {
			sum.Calls = callsOf(s.c) - s.calls0
		}
	}()
	if fresh {
		s.cp = &checkpoint{Version: checkpointVersion, Input: scan.sha256, Rows: scan.valid, Invalid: scan.invalid,
			InvalidLines: scan.invalidDigest()}
		if scan.valid > 0 {
			s.cp.Round = &roundState{}
		}
	} else if s.cp.Input != scan.sha256 {
		return nil, fmt.Errorf("the checkpoint %s belongs to another input (its SHA-256 differs): remove it, or give this input its own --checkpoint", opts.Checkpoint)
	} else if s.cp.Rows != scan.valid || s.cp.InvalidLines != "" && s.cp.InvalidLines != scan.invalidDigest() {
		// The checkpoint counts valid rows: if others are valid now (the org's describe
		// changed: a picklist value, a length, a permission), its count points elsewhere in the
		// file, and resuming would skip rows never sent.
		return nil, fmt.Errorf("the checkpoint %s was written when other rows of this input were valid (the org's describe changed since: "+
			"picklist values, lengths or permissions): remove it to sync the file again (what landed is found and updated, not created twice)", opts.Checkpoint)
	} else if r := s.cp.Round; r != nil && r.Start == s.cp.Done {
		// A run stopped within this round, maybe with a write still running in Salesforce.
		s.interrupted, s.unknownAt = true, time.Now()
	}
	s.callsBase = s.cp.Calls
	remaining := scan.valid - s.cp.Done
	sum.Skipped = s.cp.Done
	s.bulk = opts.Via == ViaBulk || opts.Via == ViaAuto && remaining >= opts.BulkThreshold
	sum.Via = ViaCollections
	if s.bulk {
		sum.Via = ViaBulk
	}
	if opts.DryRun {
		sum.Planned = plan(scan, s.bulk, opts)
		sum.Complete = true
		return sum, nil
	}

	if fresh {
		if err := s.report.write(nil); err != nil { // the problems added, synced
			return nil, err
		}
		s.cp.ReportSize = s.report.size
		if err := s.cp.save(opts.Checkpoint); err != nil {
			return nil, err
		}
	} else {
		if s.report, err = openReport(opts.Report, s.cp.ReportSize); err != nil {
			return nil, err
		}
		defer s.report.close()
	}
	err = s.send(ctx, src, scan, sum)
	s.fillSummary(sum)
	if _, stopped := errors.AsType[*StoppedError](err); err != nil && !stopped {
		// Rows may have been sent (a checkpoint or report that cannot be written, an input
		// changed under the run): not "nothing was sent", but a stop that a run can pick up.
		err = &StoppedError{Reason: "the sync could not go on", Err: err}
	}
	if err != nil {
		sum.Complete = false // whatever was sent, the checkpoint may not say so
	}
	return sum, err
}

func withDefaults(o Options) Options {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&o.BulkThreshold, DefaultBulkThreshold)
	set(&o.BulkRound, DefaultBulkRound)
	set(&o.BulkMinRecords, DefaultBulkMinRecords)
	set(&o.Tries, DefaultTries)
	set(&o.maxJobBytes, maxJobData)
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	o.Settle = max(o.Settle, 0)
	return o
}

// callsOf is the API requests a client made: calls, their retries and replays (each one counts
// against the org's daily limit).
func callsOf(c *sfdc.Client) int64 {
	st := c.Stats()
	n := st.Calls + st.Replays
	for _, r := range st.Retries {
		n += r
	}
	return n
}

func (s *syncer) fillSummary(sum *Summary) {
	cp := s.cp
	sum.Landed, sum.Rejected, sum.Created, sum.Updated = cp.Landed, cp.Rejected, cp.Created, cp.Updated
	sum.Complete = cp.Done == cp.Rows
}

func (s *syncer) stage(what string) {
	if s.opts.Progress != nil {
		s.opts.Progress.Stage(what)
	}
}

// input is the file read twice: validated, then sent. Both passes read the one descriptor
// opened at the start, so that a file replaced meanwhile (an editor saves by renaming a new
// file over the old) cannot send rows that were not the ones validated and hashed.
type input struct {
	name string
	f    *os.File
}

// pass returns a reader of the whole input from its first byte.
func (in *input) pass() io.Reader { return io.NewSectionReader(in.f, 0, math.MaxInt64) }

// openInput opens the input, spooling standard input to a temporary file so that it can be
// read twice. The spool is removed as soon as it is created and read through its descriptor:
// rows hold personal data, and a run killed with SIGKILL must not leave them on disk.
func openInput(o Options) (*input, func(), error) {
	if o.Input != "-" {
		f, err := os.Open(o.Input)
		if err != nil {
			return nil, nil, err
		}
		return &input{name: o.Input, f: f}, func() { f.Close() }, nil
	}
	if o.Stdin == nil {
		return nil, nil, errors.New("no standard input")
	}
	f, err := os.CreateTemp("", "idverify-sync-*.spool")
	if err != nil {
		return nil, nil, err
	}
	// Where an open file cannot be removed (Windows), it is removed once closed.
	removed := os.Remove(f.Name()) == nil
	cleanup := func() {
		f.Close()
		if !removed {
			os.Remove(f.Name())
		}
	}
	if _, err := io.Copy(f, o.Stdin); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("reading standard input: %w", err)
	}
	return &input{name: "-", f: f}, cleanup, nil
}

// scan is the first pass's findings.
type scan struct {
	sha256               string
	rows, valid, invalid int
	invalidLines         []int // in file order
	format               Format
	children             []uint8 // per valid row, for the plan: attendees (≤ 20) + 32 with a topic
}

// invalidDigest names the set of invalid rows: the SHA-256 of their lines.
func (sc *scan) invalidDigest() string {
	h := sha256.New()
	var b []byte
	for _, l := range sc.invalidLines {
		b = binary.AppendUvarint(b[:0], uint64(l))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// scanInput validates every row: problems, counts, the input's SHA-256, and the lines of the
// invalid rows (which the second pass skips).
func scanInput(ctx context.Context, src *input, format Format, schema *Schema, emit func(Problem)) (*scan, error) {
	f := src.pass()
	h := sha256.New()
	rd, format, err := newRowReader(io.TeeReader(f, h), src.name, format)
	if err != nil {
		return nil, err
	}
	sc := &scan{format: format}
	keys := map[string]int{}
	for {
		raw, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if sc.rows%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err() // nothing was sent
		}
		sc.rows++
		row, problems := schema.validate(raw)
		if row != nil {
			if first, dup := keys[row.key]; dup {
				problems = []Problem{{Line: row.Line, Field: keyField,
					Reason: fmt.Sprintf("repeats the ExternalIdentifier of line %d (Salesforce matches it ignoring case)", first)}}
			} else {
				keys[row.key] = row.Line
			}
		}
		if len(problems) > 0 {
			sc.invalid++
			sc.invalidLines = append(sc.invalidLines, raw.line)
			for _, p := range problems {
				if emit != nil {
					emit(p)
				}
			}
			continue
		}
		sc.valid++
		c := uint8(len(row.attendees))
		if row.topic != nil {
			c |= 32
		}
		sc.children = append(sc.children, c)
	}
	_, _ = io.Copy(h, f) // what the reader left unread (nothing, unless it stopped early)
	sc.sha256 = hex.EncodeToString(h.Sum(nil))
	return sc, nil
}

// plan counts the fewest API calls a sync of every valid row would make.
func plan(sc *scan, bulk bool, o Options) int {
	calls := 3 // describe of the three objects
	ceil := func(n, d int) int { return (n + d - 1) / d }
	round := CollectionRows
	if bulk {
		round = o.BulkRound
	}
	for lo := 0; lo < sc.valid; lo += round {
		hi := min(lo+round, sc.valid)
		att, top := 0, 0
		for i := lo; i < hi; i++ {
			att += int(sc.children[i] & 31)
			top += int(sc.children[i] >> 5)
		}
		for _, n := range []int{hi - lo, att, top} {
			switch {
			case n == 0:
			case bulk && n >= o.BulkMinRecords:
				calls += 4 // create, upload, close, one poll at least
				if n == hi-lo {
					calls++ // the engagements' results (their ids)
				}
			default:
				calls += ceil(n, sfdc.CollectionChunk)
			}
		}
	}
	return calls
}

// CollectionRows is the rows per round through collections: one upsert call of engagements.
const CollectionRows = sfdc.CollectionChunk

// send is the second pass: the valid rows not yet handled, round by round.
func (s *syncer) send(ctx context.Context, src *input, sc *scan, sum *Summary) error {
	rd, _, err := newRowReader(src.pass(), src.name, sc.format)
	if err != nil {
		return err
	}
	size := CollectionRows
	if s.bulk {
		size = s.opts.BulkRound
	}
	if p := s.opts.Progress; p != nil {
		p.Start(s.cp.Rows - s.cp.Done)
		defer p.Finish()
	}
	seen := 0 // valid rows read
	invalid := sc.invalidLines
	var round []*Row
	var roundBytes [3]int // with Bulk API: the most job data the round's rows make, by stage
	flush := func() error {
		err := s.sendAndRecord(ctx, round, sum)
		round, roundBytes = round[:0], [3]int{}
		return err
	}
	for {
		raw, err := rd.next()
		if err != nil && err != io.EOF {
			return err
		}
		for len(invalid) > 0 && raw != nil && invalid[0] < raw.line {
			invalid = invalid[1:]
		}
		if raw != nil && len(invalid) > 0 && invalid[0] == raw.line {
			raw = nil // refused by validation
		}
		if raw != nil {
			seen++
			if seen > s.cp.Done {
				row, problems := s.schema.validate(raw)
				if row == nil {
					return fmt.Errorf("line %d: the input changed between the two passes (%s)", raw.line, problems[0].Reason)
				}
				// A job takes one upload of at most maxJobBytes ("Upload Job Data"): a round
				// of long rows ends early rather than make a job Salesforce refuses at
				// every attempt.
				if s.bulk {
					n, full := row.jobBytes(), false
					for i := range n {
						full = full || roundBytes[i]+n[i] > s.opts.maxJobBytes-jobHeaderBytes
					}
					if full && len(round) > 0 {
						if err := flush(); err != nil {
							return err
						}
					}
					for i := range n {
						roundBytes[i] += n[i]
					}
				}
				round = append(round, row)
			}
		}
		if len(round) == size || err == io.EOF && len(round) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// sendAndRecord sends one round, with retries, then writes its rejections to the report and
// the checkpoint past it (marking the next round as the one in progress: one checkpoint write a
// round, besides one per Bulk API job).
func (s *syncer) sendAndRecord(ctx context.Context, rows []*Row, sum *Summary) error {
	cp := s.cp
	force := s.interrupted
	if s.interrupted {
		// Check every engagement's children, after letting any write still running in
		// Salesforce finish.
		s.interrupted = false
		if err := s.settle(ctx, cp.Round); err != nil {
			return err
		}
	}
	if cp.Round == nil || cp.Round.Start != cp.Done {
		cp.Round = &roundState{Start: cp.Done}
		if err := s.saveCheckpoint(); err != nil {
			return err
		}
	}
	sum.Sent += len(rows)
	var rr *roundResult
	for attempt := 1; ; attempt++ {
		var err error
		rr, err = s.sendRound(ctx, rows, force)
		if err == nil {
			break
		}
		force = true
		if !errors.Is(err, errRetry) {
			s.unknownAt = time.Now() // a call failed whole: what it wrote is unknown
		}
		switch {
		case ctx.Err() != nil:
			return &StoppedError{Reason: "interrupted", Err: ctx.Err()}
		case errors.Is(err, sfdc.ErrDailyLimit):
			return &StoppedError{Reason: "the org's daily API limit is used up; run again once it resets", Err: err}
		case !retryable(err):
			return &StoppedError{Reason: "Salesforce refused a call", Err: err}
		case attempt >= s.opts.Tries:
			return &StoppedError{Reason: fmt.Sprintf("Salesforce kept failing (%d attempts at one round)", attempt), Err: err}
		}
		s.stage("waiting to retry: " + shortReason(err))
		if err := sleep(ctx, s.opts.Backoff<<(attempt-1)); err != nil {
			return &StoppedError{Reason: "interrupted", Err: err}
		}
		if err := s.settle(ctx, cp.Round); err != nil {
			return err
		}
	}
	var lines []any
	for i := range rr.items {
		if it := &rr.items[i]; it.rej != nil {
			lines = append(lines, it.rej)
			cp.Rejected++
		} else {
			cp.Landed++
		}
	}
	if err := s.report.write(lines); err != nil {
		return err
	}
	cp.ReportSize = s.report.size
	cp.Created += rr.created
	cp.Updated += rr.updated
	cp.Done += len(rows)
	cp.Round = nil
	if cp.Done < cp.Rows {
		cp.Round = &roundState{Start: cp.Done}
	}
	if err := s.saveCheckpoint(); err != nil {
		return err
	}
	if p := s.opts.Progress; p != nil {
		p.Add(len(rows))
	}
	return nil
}

func (s *syncer) saveCheckpoint() error {
	s.cp.Calls = s.callsBase + callsOf(s.c) - s.calls0
	return s.cp.save(s.opts.Checkpoint)
}

// recordJob notes a Bulk API job of the round in the checkpoint.
func (s *syncer) recordJob(stage string, id sfdc.ID) error {
	r := s.cp.Round
	if r.Jobs == nil {
		r.Jobs = map[string]sfdc.ID{}
	}
	r.Jobs[stage] = id
	return s.saveCheckpoint()
}

// settle makes a round safe to send again: it waits out Settle after the last write whose
// outcome is unknown (for a resumed run: from its start), and lets every Bulk API job the round
// started finish (an Open job, which has processed nothing, is aborted). A completed engagements
// job is picked up again (its results give the ids and what was created); any other job's
// records are found by the check.
func (s *syncer) settle(ctx context.Context, r *roundState) error {
	if wait := time.Until(s.unknownAt.Add(s.opts.Settle)); !s.unknownAt.IsZero() && wait > 0 {
		s.stage("letting the last run's writes settle")
		if err := sleep(ctx, wait); err != nil {
			return &StoppedError{Reason: "interrupted", Err: err}
		}
	}
	for stage, id := range r.Jobs {
		job, _, err := s.c.IngestJobInfo(ctx, id)
		if err != nil {
			if errors.Is(err, sfdc.ErrNotFound) {
				delete(r.Jobs, stage)
				continue
			}
			return &StoppedError{Reason: "reading a Bulk API job the round started", Err: err}
		}
		if job.State == sfdc.JobOpen {
			if _, _, err := s.c.AbortIngestJob(ctx, id); err != nil {
				return &StoppedError{Reason: "aborting a Bulk API job the round started", Err: err}
			}
			delete(r.Jobs, stage)
			continue
		}
		s.stage("waiting for a Bulk API job the last attempt started")
		if job, err = s.c.WaitIngestJob(ctx, id, s.opts.Poll); err != nil {
			return &StoppedError{Reason: "waiting for a Bulk API job the round started", Err: err}
		}
		if stage == stEngagements.name && job.State == sfdc.JobComplete {
			s.reuse[stage] = id
		}
		delete(r.Jobs, stage)
	}
	return nil
}

// retryable reports whether a round's failure may pass if the round is sent again.
func retryable(err error) bool {
	return errors.Is(err, errRetry) || errors.Is(err, errJobUnfinished) || errors.Is(err, sfdc.ErrUnavailable) ||
		errors.Is(err, sfdc.ErrLocked) || errors.Is(err, sfdc.ErrConcurrencyLimit) || errors.Is(err, sfdc.ErrRolledBack)
}

func shortReason(err error) string {
	var e *sfdc.Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	if errors.As(err, &e) && e.StatusCode != 0 {
		return fmt.Sprint("HTTP ", e.StatusCode)
	}
	return "transient failure"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
