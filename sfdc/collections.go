package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// CollectionChunk is the most records one sObject collections call takes; longer inputs are
// sent in chunks of this size, one after another.
const CollectionChunk = 200

// SaveResult is the outcome of one record of a collection call, in input order.
type SaveResult struct {
	ID      ID
	Created bool   // upsert: true when the record was created
	Err     *Error // nil on success; errors.Is works on it
}

// CreateRecords inserts records (maps or structs with json tags, without Id) through
// composite/sobjects, 200 a call. With allOrNone each chunk succeeds or fails as a whole (a
// failure in one chunk does not undo earlier chunks). The results are in input order; the error
// is the first record's failure (or the failure of a whole call, which also marks every record
// not yet saved). Creates are not retried unless nothing can have been written.
func (c *Client) CreateRecords(ctx context.Context, object string, allOrNone bool, records []any) ([]SaveResult, error) {
	return c.saveRecords(ctx, "create "+object+" records", http.MethodPost, object, "composite/sobjects", false, allOrNone, records)
}

// UpdateRecords updates records, each of which must carry its Id field. Idempotent.
func (c *Client) UpdateRecords(ctx context.Context, object string, allOrNone bool, records []any) ([]SaveResult, error) {
	return c.saveRecords(ctx, "update "+object+" records", http.MethodPatch, object, "composite/sobjects", true, allOrNone, records)
}

// UpsertRecords creates or updates records by the external id field extField, which each record
// must carry. Idempotent.
func (c *Client) UpsertRecords(ctx context.Context, object, extField string, allOrNone bool, records []any) ([]SaveResult, error) {
	if err := checkObject(extField); err != nil {
		return nil, refused("upsert "+object+" records", fmt.Errorf("%w: external id field: %v", ErrBadQuery, err))
	}
	return c.saveRecords(ctx, "upsert "+object+" records", http.MethodPatch, object,
		"composite/sobjects/"+object+"/"+extField, true, allOrNone, records)
}

func (c *Client) saveRecords(ctx context.Context, op, method, object, rel string, idempotent, allOrNone bool,
	records []any) ([]SaveResult, error) {
	if err := checkObject(object); err != nil {
		return nil, refused(op, badObject(err))
	}
	// Encode every record first: bad input changes nothing.
	attrs := []byte(`{"attributes":{"type":"` + object + `"}`)
	encoded := make([][]byte, len(records))
	for i, rec := range records {
		b, err := encodeFields(rec)
		if err != nil {
			return nil, refused(op, fmt.Errorf("%w (record %d)", err, i+1))
		}
		var withType bytes.Buffer
		withType.Write(attrs)
		if inner := bytes.TrimSpace(b[1:]); len(inner) > 0 && inner[0] != '}' {
			withType.WriteByte(',')
		}
		withType.Write(b[1:])
		encoded[i] = withType.Bytes()
	}
	out := make([]SaveResult, len(records))
	for start := 0; start < len(records); start += CollectionChunk {
		end := min(start+CollectionChunk, len(records))
		var body bytes.Buffer
		body.WriteString(`{"allOrNone":` + strconv.FormatBool(allOrNone) + `,"records":[`)
		for i, b := range encoded[start:end] {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(b)
		}
		body.WriteString("]}")
		res, err := c.do(ctx, &call{op: op, method: method, path: c.dataPath(rel), body: body.Bytes(), idempotent: idempotent})
		if err == nil {
			err = decodeSaveResults(op, res, out[start:end], start)
		}
		if err != nil {
			return failFrom(out, start, op, err)
		}
	}
	return out, firstSaveError(out)
}

// failFrom marks every record from start on (the failed chunk and those never sent) with the
// failure of a whole call, and returns it.
func failFrom(out []SaveResult, start int, op string, err error) ([]SaveResult, error) {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Op: op, cause: err}
	}
	for i := start; i < len(out); i++ {
		out[i].Err = e
	}
	return out, e
}

// DeleteRecords deletes records by id, 200 a call, results in input order.
func (c *Client) DeleteRecords(ctx context.Context, allOrNone bool, ids []ID) ([]SaveResult, error) {
	const op = "delete records"
	for i, id := range ids {
		if !id.valid() {
			return nil, refused(op, fmt.Errorf("%w (record %d)", ErrBadID, i+1))
		}
	}
	out := make([]SaveResult, len(ids))
	for start := 0; start < len(ids); start += CollectionChunk {
		end := min(start+CollectionChunk, len(ids))
		list := make([]string, 0, end-start)
		for _, id := range ids[start:end] {
			list = append(list, string(id))
		}
		q := "ids=" + strings.Join(list, ",") + "&allOrNone=" + strconv.FormatBool(allOrNone)
		res, err := c.do(ctx, &call{op: op, method: http.MethodDelete, path: c.dataPath("composite/sobjects"), query: q,
			idempotent: true})
		if err == nil {
			err = decodeSaveResults(op, res, out[start:end], start)
		}
		if err != nil {
			return failFrom(out, start, op, err)
		}
	}
	return out, firstSaveError(out)
}

// decodeSaveResults fills out from a collection answer: one result per record, in order.
func decodeSaveResults(op string, res *result, out []SaveResult, offset int) error {
	var list []saveResult
	if err := json.Unmarshal(res.body, &list); err != nil {
		return decodeError(op, res, err)
	}
	if len(list) != len(out) {
		return &Error{Op: op, StatusCode: res.resp.StatusCode, Code: "UNEXPECTED_RESPONSE", kind: ErrUnavailable}
	}
	for i, r := range list {
		if r.Created != nil {
			out[i].Created = *r.Created
		}
		if id, err := ParseID(r.ID); err == nil {
			out[i].ID = id
		}
		if !r.Success {
			a := apiError{StatusCode: "UNKNOWN_ERROR"}
			if len(r.Errors) > 0 {
				a = r.Errors[0]
			}
			out[i].Err = recordError(op+"["+strconv.Itoa(offset+i)+"]", 0, a)
		}
	}
	return nil
}

// firstSaveError returns the first per-record failure that is a cause, not a rollback.
func firstSaveError(out []SaveResult) error {
	var first *Error
	for i := range out {
		if e := out[i].Err; e != nil {
			if e.kind != ErrRolledBack {
				return e
			}
			if first == nil {
				first = e
			}
		}
	}
	if first != nil {
		return first
	}
	return nil
}
