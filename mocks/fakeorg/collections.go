package fakeorg

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

var errRolledBack = &orgdb.Error{Code: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}

type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// recordResult is one record's outcome in a collection.
type recordResult struct {
	id      string
	err     *orgdb.Error
	created *bool
}

func tooMany(limit int) response {
	return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "EXCEEDED_ID_LIMIT",
		Message: "record limit reached. cannot submit more than " + strconv.Itoa(limit) + " records into this call"})
}

func decodeCollection(body []byte) (collectionRequest, *orgdb.Error) {
	var req collectionRequest
	if e := decodeJSON(body, &req); e != nil {
		return req, e
	}
	return req, nil
}

// recordType takes a record's attributes.type (and removes the attributes key).
func recordType(rec map[string]any) string {
	attrs, _ := rec["attributes"].(map[string]any)
	delete(rec, "attributes")
	t, _ := attrs["type"].(string)
	return t
}

// runCollection applies op to each record in order. With allOrNone, one failure rolls all back:
// the failures keep their errors and the others get ALL_OR_NONE_OPERATION_ROLLED_BACK.
func (c *call) runCollection(allOrNone bool, n int, op func(tx *orgdb.Tx, i int) recordResult) response {
	return c.run(true, func(tx *orgdb.Tx) response {
		results := make([]recordResult, n)
		anyFailed := false
		for i := range n {
			results[i] = op(tx, i)
			if results[i].err != nil {
				anyFailed = true
			}
		}
		failed := allOrNone && anyFailed
		b := append(make([]byte, 0, 64*n+2), '[')
		for i, r := range results {
			if i > 0 {
				b = append(b, ',')
			}
			switch {
			case r.err != nil:
				b = appendSaveResult(b, r.id, r.err, nil)
			case failed:
				b = appendSaveResult(b, "", errRolledBack, nil)
			default:
				b = appendSaveResult(b, r.id, nil, r.created)
			}
		}
		b = append(b, ']')
		return response{status: http.StatusOK, body: b, failed: failed}
	})
}

func asRecordErr(e *orgdb.Error) *orgdb.Error {
	if e.Fields == nil {
		cp := *e
		cp.Fields = []string{}
		return &cp
	}
	return e
}

// serveCollectionCreate is POST composite/sobjects.
func serveCollectionCreate(c *call) response {
	req, e := decodeCollection(c.body)
	if e != nil {
		return errResp(e)
	}
	if len(req.Records) > maxCollection {
		return tooMany(maxCollection)
	}
	return c.runCollection(req.AllOrNone, len(req.Records), func(tx *orgdb.Tx, i int) recordResult {
		rec := req.Records[i]
		obj, ok := c.o.db.Schema().Lookup(recordType(rec))
		if !ok {
			return recordResult{err: &orgdb.Error{Code: "INVALID_TYPE", Message: "sObject type is missing or unknown in attributes.type", Fields: []string{}}}
		}
		id, e := tx.Create(obj.Name(), rec)
		if e != nil {
			return recordResult{err: asRecordErr(e)}
		}
		return recordResult{id: id}
	})
}

// serveCollectionUpdate is PATCH composite/sobjects: each record names its Id.
func serveCollectionUpdate(c *call) response {
	req, e := decodeCollection(c.body)
	if e != nil {
		return errResp(e)
	}
	if len(req.Records) > maxCollection {
		return tooMany(maxCollection)
	}
	return c.runCollection(req.AllOrNone, len(req.Records), func(tx *orgdb.Tx, i int) recordResult {
		rec := req.Records[i]
		typ := recordType(rec)
		var id string
		for k, v := range rec { // field names are case-insensitive: jsforce sends "id"
			if strings.EqualFold(k, "Id") {
				id, _ = v.(string)
				delete(rec, k)
			}
		}
		if id == "" {
			return recordResult{err: &orgdb.Error{Code: "MISSING_ARGUMENT", Message: "Id not specified in an update call", Fields: []string{}}}
		}
		obj, ok := c.o.db.Schema().Lookup(typ)
		if !ok {
			if obj, ok = c.o.db.Schema().ObjectForID(id); !ok {
				return recordResult{id: id, err: &orgdb.Error{Code: "MALFORMED_ID", Message: "malformed id " + soql.Clip(id), Fields: []string{"Id"}}}
			}
		}
		if e := tx.Update(obj.Name(), id, rec); e != nil {
			return recordResult{id: id, err: asRecordErr(e)}
		}
		return recordResult{id: id}
	})
}

// serveCollectionUpsert is PATCH composite/sobjects/X/ExtField.
func serveCollectionUpsert(c *call) response {
	obj, e := c.object(c.segs[2])
	if e != nil {
		return errResp(e)
	}
	// The field is checked once, before the records: each record's error would echo it.
	f, e := externalIDField(obj, c.segs[3])
	if e != nil {
		return errResp(e)
	}
	field := f.Name
	req, e := decodeCollection(c.body)
	if e != nil {
		return errResp(e)
	}
	if len(req.Records) > maxCollection {
		return tooMany(maxCollection)
	}
	return c.runCollection(req.AllOrNone, len(req.Records), func(tx *orgdb.Tx, i int) recordResult {
		rec := req.Records[i]
		recordType(rec)
		var value string
		for k, v := range rec {
			if strings.EqualFold(k, field) {
				switch v := v.(type) {
				case string:
					value = v
				case json.Number:
					value = v.String()
				}
			}
		}
		if value == "" {
			return recordResult{err: &orgdb.Error{Code: "MISSING_ARGUMENT",
				Message: field + " not specified", Fields: []string{field}}}
		}
		res, e := tx.Upsert(obj.Name(), field, value, rec)
		if e != nil {
			return recordResult{err: asRecordErr(e)}
		}
		if len(res.Matches) > 0 {
			return recordResult{err: duplicateExternalID(field, res.Matches)}
		}
		created := res.Created
		return recordResult{id: res.ID, created: &created}
	})
}

// serveCollectionDelete is DELETE composite/sobjects?ids=…[&allOrNone=true].
func serveCollectionDelete(c *call) response {
	ids := fieldsParam(c.query.Get("ids"))
	if len(ids) > maxCollection {
		return tooMany(maxCollection)
	}
	allOrNone, _ := strconv.ParseBool(c.query.Get("allOrNone"))
	return c.runCollection(allOrNone, len(ids), func(tx *orgdb.Tx, i int) recordResult {
		id := ids[i]
		obj, ok := c.o.db.Schema().ObjectForID(id)
		if !ok {
			return recordResult{id: id, err: &orgdb.Error{Code: "MALFORMED_ID", Message: "malformed id " + soql.Clip(id), Fields: []string{}}}
		}
		if e := tx.Delete(obj.Name(), id); e != nil {
			return recordResult{id: id, err: asRecordErr(e)}
		}
		return recordResult{id: id}
	})
}

// serveCollectionRetrieve is GET composite/sobjects/X?ids=…&fields=…, or POST with the body
// {"ids":[…],"fields":[…]}: records in request order, null for those not found. "The request
// retrieves up to 2,000 records" ("Get Records With a Request Body Using sObject Collections",
// REST API Developer Guide); a GET meets the URL's length first.
func serveCollectionRetrieve(c *call) response {
	obj, e := c.object(c.segs[2])
	if e != nil {
		return errResp(e)
	}
	ids := fieldsParam(c.query.Get("ids"))
	fields := fieldsParam(c.query.Get("fields"))
	if c.method == http.MethodPost {
		var body struct {
			IDs    []string `json:"ids"`
			Fields []string `json:"fields"`
		}
		if e := decodeJSON(c.body, &body); e != nil {
			return errResp(e)
		}
		ids, fields = body.IDs, body.Fields
	}
	if len(ids) > maxRetrieve {
		return tooMany(maxRetrieve)
	}
	fields = uniqueFields(fields)
	if len(fields) == 0 {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "MISSING_ARGUMENT",
			Message: "The fields parameter is required"})
	}
	return c.run(false, func(tx *orgdb.Tx) response {
		b := []byte{'['}
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			rec, e := tx.Get(obj.Name(), id, fields)
			switch {
			case e == nil:
				b = appendRecord(b, rec, c.ver)
			case e.Code == "INVALID_FIELD":
				return errResp(e)
			default:
				b = append(b, "null"...)
			}
		}
		return response{status: http.StatusOK, body: append(b, ']')}
	})
}

// uniqueFields drops the repeats of a field list (names are case-insensitive), so that the
// list is checked once per record at the cost of the fields the object has, not of the list.
func uniqueFields(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := names[:0:0]
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}
