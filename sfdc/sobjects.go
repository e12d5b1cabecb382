package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// checkFields validates field names passed to Get.
func checkFields(fields []string) error {
	for i, f := range fields {
		if err := checkIdent(f); err != nil {
			return fmt.Errorf("%w: field %d: %v", ErrBadQuery, i+1, err)
		}
	}
	return nil
}

func badObject(err error) error { return fmt.Errorf("%w: object: %v", ErrBadQuery, err) }

// Get reads one record by id; with no fields it returns every field.
func (c *Client) Get(ctx context.Context, object string, id ID, fields ...string) (Record, *Response, error) {
	res, r, err := c.get(ctx, object, id, fields)
	if err != nil {
		return Record{}, respOf(res), err
	}
	rec, err := parseRecord(res.body) // the body is the call's own: the Record keeps it
	if err != nil {
		return Record{}, &res.resp, decodeError(r.opName(), res, err)
	}
	return rec, &res.resp, nil
}

// GetInto reads one record by id into dst, a pointer to a struct whose json tags name the fields
// (or anything else encoding/json decodes an object into). It is Get without the generic Record,
// for callers that know the shape: values arrive typed, fields not in dst are dropped.
func (c *Client) GetInto(ctx context.Context, object string, id ID, dst any, fields ...string) (*Response, error) {
	res, r, err := c.get(ctx, object, id, fields)
	if err != nil {
		return respOf(res), err
	}
	if err := json.Unmarshal(res.body, dst); err != nil {
		var te *json.InvalidUnmarshalError
		if errors.As(err, &te) {
			return &res.resp, fmt.Errorf("sfdc: %s: %w", r.opName(), err)
		}
		return &res.resp, decodeError(r.opName(), res, err)
	}
	return &res.resp, nil
}

func (c *Client) get(ctx context.Context, object string, id ID, fields []string) (*result, *call, error) {
	if err := checkObject(object); err != nil {
		return nil, nil, badObject(err)
	}
	if !id.valid() {
		return nil, nil, ErrBadID
	}
	if err := checkFields(fields); err != nil {
		return nil, nil, err
	}
	// The path and query in one string: one allocation.
	n := len(c.dataPrefix) + len("sobjects/") + len(object) + 1 + len(id) + len("?fields=") + len(fields)
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.dataPrefix)
	b.WriteString("sobjects/")
	b.WriteString(object)
	b.WriteByte('/')
	b.WriteString(string(id))
	for i, f := range fields {
		if i == 0 {
			b.WriteString("?fields=")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(f)
	}
	r := &call{op: "get", object: object, method: http.MethodGet, path: b.String(), idempotent: true}
	res, err := c.do(ctx, r)
	return res, r, err
}

// saveResult is the body of a create or upsert answer.
type saveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Created *bool      `json:"created"`
	Errors  []apiError `json:"errors"`
}

// encodeFields marshals a record's fields (a map or a struct with json tags) as a JSON object.
func encodeFields(op string, fields any) ([]byte, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("sfdc: %s: encoding fields: %w", op, err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("sfdc: %s: fields must encode as a JSON object", op)
	}
	return b, nil
}

// Create inserts a record and returns its id. fields is a map or a struct with json tags; it must
// not contain Id. Create is not retried on failures that may have written (use Upsert by an
// external id for writes that must not be duplicated).
func (c *Client) Create(ctx context.Context, object string, fields any) (ID, *Response, error) {
	if err := checkObject(object); err != nil {
		return "", nil, badObject(err)
	}
	op := "create " + object
	body, err := encodeFields(op, fields)
	if err != nil {
		return "", nil, err
	}
	res, err := c.do(ctx, &call{op: "create", object: object, method: http.MethodPost, path: c.dataPath("sobjects/" + object), body: body})
	if err != nil {
		return "", respOf(res), err
	}
	var sr saveResult
	if err := json.Unmarshal(res.body, &sr); err != nil {
		return "", &res.resp, decodeError(op, res, err)
	}
	if !sr.Success && len(sr.Errors) > 0 {
		return "", &res.resp, recordError(op, res.resp.StatusCode, sr.Errors[0])
	}
	id, err := ParseID(sr.ID)
	if err != nil {
		return "", &res.resp, decodeError(op, res, err)
	}
	return id, &res.resp, nil
}

// Update changes fields of the record id. It is idempotent and retried as such.
func (c *Client) Update(ctx context.Context, object string, id ID, fields any) (*Response, error) {
	if err := checkObject(object); err != nil {
		return nil, badObject(err)
	}
	if !id.valid() {
		return nil, ErrBadID
	}
	op := "update " + object
	body, err := encodeFields(op, fields)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodPatch, path: c.dataPath("sobjects/" + object + "/" + string(id)),
		body: body, idempotent: true})
	return respOf(res), err
}

// UpsertResult says what an upsert did.
type UpsertResult struct {
	ID      ID
	Created bool // true: a record was created; false: an existing one was updated
}

// Upsert creates or updates the record whose external id field extField equals value. It is
// idempotent (the way to write without duplicates) and retried as such. Several matching records
// give an error of kind ErrMultipleMatches.
func (c *Client) Upsert(ctx context.Context, object, extField, value string, fields any) (UpsertResult, *Response, error) {
	if err := checkObject(object); err != nil {
		return UpsertResult{}, nil, badObject(err)
	}
	if err := checkObject(extField); err != nil {
		return UpsertResult{}, nil, fmt.Errorf("%w: external id field: %v", ErrBadQuery, err)
	}
	if err := checkExternalValue(value); err != nil {
		return UpsertResult{}, nil, err
	}
	op := "upsert " + object
	body, err := encodeFields(op, fields)
	if err != nil {
		return UpsertResult{}, nil, err
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodPatch,
		path: c.dataPath("sobjects/" + object + "/" + extField + "/" + url.PathEscape(value)), body: body, idempotent: true})
	if err != nil {
		return UpsertResult{}, respOf(res), err
	}
	out := UpsertResult{Created: res.resp.StatusCode == http.StatusCreated}
	if len(bytes.TrimSpace(res.body)) > 0 { // API < 46 answers 204 to an update
		var sr saveResult
		if err := json.Unmarshal(res.body, &sr); err != nil {
			return UpsertResult{}, &res.resp, decodeError(op, res, err)
		}
		if sr.Created != nil {
			out.Created = *sr.Created
		}
		if out.ID, err = ParseID(sr.ID); err != nil {
			return UpsertResult{}, &res.resp, decodeError(op, res, err)
		}
	}
	return out, &res.resp, nil
}

// checkExternalValue refuses external id values that cannot be one path segment: empty, and
// "." or "..", which url.PathEscape leaves as they are and a server or proxy would resolve as a
// path step, sending the write to another resource.
func checkExternalValue(value string) error {
	switch value {
	case "":
		return fmt.Errorf("%w: empty external id value", ErrBadQuery)
	case ".", "..":
		return fmt.Errorf("%w: external id value is a dot segment", ErrBadQuery)
	}
	return nil
}

// Delete moves the record id to the recycle bin.
func (c *Client) Delete(ctx context.Context, object string, id ID) (*Response, error) {
	if err := checkObject(object); err != nil {
		return nil, badObject(err)
	}
	if !id.valid() {
		return nil, ErrBadID
	}
	res, err := c.do(ctx, &call{op: "delete " + object, method: http.MethodDelete,
		path: c.dataPath("sobjects/" + object + "/" + string(id)), idempotent: true})
	return respOf(res), err
}

// Describe is an object's metadata (GET sobjects/X/describe), the parts callers use; Raw keeps the
// whole answer.
type Describe struct {
	Name               string          `json:"name"`
	Label              string          `json:"label"`
	KeyPrefix          string          `json:"keyPrefix"`
	Createable         bool            `json:"createable"`
	Updateable         bool            `json:"updateable"`
	Queryable          bool            `json:"queryable"`
	Searchable         bool            `json:"searchable"`
	Fields             []FieldInfo     `json:"fields"`
	ChildRelationships []ChildRelation `json:"childRelationships"`
	Raw                json.RawMessage `json:"-"`
}

// FieldInfo is one field of a Describe.
type FieldInfo struct {
	Name             string          `json:"name"`
	Label            string          `json:"label"`
	Type             string          `json:"type"`
	Length           int             `json:"length"`
	Nillable         bool            `json:"nillable"`
	Createable       bool            `json:"createable"`
	Updateable       bool            `json:"updateable"`
	ExternalID       bool            `json:"externalId"`
	IDLookup         bool            `json:"idLookup"`
	Unique           bool            `json:"unique"`
	ReferenceTo      []string        `json:"referenceTo"`
	RelationshipName string          `json:"relationshipName"`
	PicklistValues   []PicklistValue `json:"picklistValues"`
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value        string `json:"value"`
	Label        string `json:"label"`
	Active       bool   `json:"active"`
	DefaultValue bool   `json:"defaultValue"`
}

// ChildRelation is a child relationship of a Describe.
type ChildRelation struct {
	ChildSObject     string `json:"childSObject"`
	Field            string `json:"field"`
	RelationshipName string `json:"relationshipName"`
}

// Field returns the field named name (case-insensitively).
func (d *Describe) Field(name string) (FieldInfo, bool) {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return FieldInfo{}, false
}

// Describe returns an object's metadata. Answers are cached for the client's life (metadata
// changes need a new client); concurrent first calls may each fetch. Every caller gets the same
// *Describe: treat it as read-only.
func (c *Client) Describe(ctx context.Context, object string) (*Describe, error) {
	if err := checkObject(object); err != nil {
		return nil, badObject(err)
	}
	key := strings.ToLower(object)
	c.describeMu.Lock()
	d := c.describeCache[key]
	c.describeMu.Unlock()
	if d != nil {
		return d, nil
	}
	op := "describe " + object
	res, err := c.do(ctx, &call{op: op, method: http.MethodGet, path: c.dataPath("sobjects/" + object + "/describe"),
		idempotent: true})
	if err != nil {
		return nil, err
	}
	d = &Describe{Raw: res.body}
	if err := json.Unmarshal(res.body, d); err != nil {
		return nil, decodeError(op, res, err)
	}
	c.describeMu.Lock()
	if c.describeCache == nil {
		c.describeCache = make(map[string]*Describe)
	}
	c.describeCache[key] = d
	c.describeMu.Unlock()
	return d, nil
}

// GlobalDescribe lists the org's objects (GET sobjects).
type GlobalDescribe struct {
	Encoding     string          `json:"encoding"`
	MaxBatchSize int             `json:"maxBatchSize"`
	SObjects     []SObjectInfo   `json:"sobjects"`
	Raw          json.RawMessage `json:"-"`
}

// SObjectInfo is one object of a GlobalDescribe.
type SObjectInfo struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	KeyPrefix  string `json:"keyPrefix"`
	Custom     bool   `json:"custom"`
	Createable bool   `json:"createable"`
	Queryable  bool   `json:"queryable"`
	Searchable bool   `json:"searchable"`
}

// ObjectForPrefix returns the object whose ids start with prefix (e.g. "001" → Account).
func (g *GlobalDescribe) ObjectForPrefix(prefix string) (SObjectInfo, bool) {
	for _, o := range g.SObjects {
		if o.KeyPrefix != "" && o.KeyPrefix == prefix {
			return o, true
		}
	}
	return SObjectInfo{}, false
}

// DescribeGlobal lists the org's objects, cached for the client's life. Every caller gets the
// same *GlobalDescribe: treat it as read-only.
func (c *Client) DescribeGlobal(ctx context.Context) (*GlobalDescribe, error) {
	c.describeMu.Lock()
	g := c.describeGlobal
	c.describeMu.Unlock()
	if g != nil {
		return g, nil
	}
	res, err := c.do(ctx, &call{op: "describe global", method: http.MethodGet, path: c.dataPath("sobjects"),
		idempotent: true})
	if err != nil {
		return nil, err
	}
	g = &GlobalDescribe{Raw: res.body}
	if err := json.Unmarshal(res.body, g); err != nil {
		return nil, decodeError("describe global", res, err)
	}
	c.describeMu.Lock()
	c.describeGlobal = g
	c.describeMu.Unlock()
	return g, nil
}

// Limit is one of the org's limits (GET limits).
type Limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

// Limits returns the org's limits by name, e.g. "DailyApiRequests".
func (c *Client) Limits(ctx context.Context) (map[string]Limit, *Response, error) {
	res, err := c.do(ctx, &call{op: "limits", method: http.MethodGet, path: c.dataPath("limits"), idempotent: true})
	if err != nil {
		return nil, respOf(res), err
	}
	var out map[string]Limit
	if err := json.Unmarshal(res.body, &out); err != nil {
		return nil, &res.resp, decodeError("limits", res, err)
	}
	return out, &res.resp, nil
}
