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
}

// openReport opens the report, cut back to size (what the checkpoint says was reported).
func openReport(path string, size int64) (*report, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
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

// write appends lines and syncs them to disk (before the checkpoint that counts them).
func (r *report) write(lines []any) error {
	if len(lines) == 0 {
		return nil
	}
	var b []byte
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			return err
		}
		b = append(append(b, j...), '\n')
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	if err == nil {
		err = r.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (r *report) close() error { return r.f.Close() }
