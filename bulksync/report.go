package bulksync

import (
	"encoding/json"
	"fmt"
	"os"
)

// Rejection is a row Salesforce refused a record of: which record, Salesforce's error code and
// the fields it named. Never its message, which can echo values.
type Rejection struct {
	Line   int      `json:"line"`
	Record string   `json:"record"` // Engagement, Attendee2, Topic
	Code   string   `json:"code"`
	Fields []string `json:"fields,omitempty"`
	ID     string   `json:"id,omitempty"` // the engagement's record id, when it landed
}

// report is the file of refused rows: one JSON object a line, validation problems
// ({"line","field","reason"}) and rejections ({"line","record","code",…}). It holds line numbers,
// field names, codes and record ids: no value from the file.
type report struct {
	f    *os.File
	size int64
	buf  []byte // lines added, not yet written
	err  error  // the first failed write
}

// openReport opens the report, cut back to size (what the checkpoint says was reported). A
// report shorter than that (removed, or another --report) is kept as it is: truncating would
// pad it with NUL bytes that no JSON Lines reader takes.
func openReport(path string, size int64) (*report, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if st, err := f.Stat(); err == nil {
		size = min(size, st.Size())
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("report: %w", err)
	}
	if _, err := f.Seek(size, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("report: %w", err)
	}
	return &report{f: f, size: size}, nil
}

// add buffers a line, writing the buffer out when it is large (unsynced: write syncs).
func (r *report) add(line any) {
	j, _ := json.Marshal(line) // Problem and Rejection always encode
	r.buf = append(append(r.buf, j...), '\n')
	if len(r.buf) >= 64<<10 {
		r.flush()
	}
}

func (r *report) flush() {
	if len(r.buf) == 0 || r.err != nil {
		return
	}
	n, err := r.f.Write(r.buf)
	r.size += int64(n)
	r.buf, r.err = r.buf[:0], err
}

// write appends lines (after those added) and syncs them to disk, before the checkpoint that
// counts them.
func (r *report) write(lines []any) error {
	for _, l := range lines {
		r.add(l)
	}
	r.flush()
	err := r.err
	if err == nil {
		err = r.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (r *report) close() error { return r.f.Close() }
