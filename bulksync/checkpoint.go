package bulksync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/idverify/idverify/sfdc"
)

// checkpoint is what Salesforce has accepted so far, on disk: the rows are sent in file order,
// so "the first Done valid rows are handled" is the whole of it, with the round in progress and
// the totals. It holds no value from the file (the input is named by its SHA-256).
type checkpoint struct {
	Version int    `json:"version"`
	Input   string `json:"input_sha256"`
	Rows    int    `json:"rows"`    // valid rows in the input
	Invalid int    `json:"invalid"` // rows refused by validation
	Done    int    `json:"done"`    // valid rows handled (landed or rejected), in file order
	// InvalidLines is the SHA-256 of the invalid rows' lines: Done counts valid rows, so a
	// resumed run must find the same rows valid.
	InvalidLines string `json:"invalid_lines_sha256,omitempty"`

	// ReportSize is the length of the report once the handled rows' lines are in it: a resumed
	// run cuts the report back to it, so that a row is never reported twice.
	ReportSize int64 `json:"report_size"`

	Landed   int   `json:"landed"`   // rows whose every record Salesforce accepted
	Rejected int   `json:"rejected"` // rows with a record Salesforce refused
	Created  int64 `json:"created"`  // records
	Updated  int64 `json:"updated"`
	Calls    int64 `json:"calls"` // API calls over every run

	Round *roundState `json:"round,omitempty"`
}

// roundState is the round being sent (or about to be: it is set with the checkpoint that ends
// the round before), with the Bulk API jobs it created, by stage. A run that finds it resumes
// that round as an interrupted one.
type roundState struct {
	Start int                `json:"start"`
	Jobs  map[string]sfdc.ID `json:"jobs,omitempty"`
}

const checkpointVersion = 1

// loadCheckpoint reads a checkpoint; a missing file is (nil, nil).
func loadCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil || cp.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s is not a sync checkpoint of this version: remove it to start over", path)
	}
	return &cp, nil
}

// save writes the checkpoint atomically: a temporary file in the same directory, synced,
// renamed over the old one, and the directory synced, so that a crash leaves the old checkpoint
// or the new one, never a mix.
func (cp *checkpoint) save(path string) error {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("checkpoint: syncing its directory: %w", err)
		}
	}
	return nil
}
