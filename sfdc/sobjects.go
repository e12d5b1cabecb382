package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
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

// GetInto reads one record by id into dst, a non-nil pointer to a struct whose json tags name
// the fields (or anything else encoding/json decodes an object into), as json.Unmarshal does.
// It is Get without the generic Record, for callers that know the shape: values arrive typed,
// fields not in dst are dropped. Use Date and DateTime for date and datetime fields. A dst that
// does not fit the record is an error of kind ErrDecode, which never quotes the value.
func (c *Client) GetInto(ctx context.Context, object string, id ID, dst any, fields ...string) (*Response, error) {
	if err := checkDestination(dst); err != nil {
		return nil, decodeFailure("get "+object, err)
	}
	res, r, err := c.get(ctx, object, id, fields)
	if err != nil {
		return respOf(res), err
	}
	if err := json.Unmarshal(res.body, dst); err != nil {
		return &res.resp, intoError(r.opName(), res, err)
	}
	return &res.resp, nil
}

// checkDestination refuses a destination encoding/json could not decode into, before anything is
// sent.
func checkDestination(dst any) error {
	if v := reflect.ValueOf(dst); v.Kind() != reflect.Pointer || v.IsNil() {
		return &json.InvalidUnmarshalError{Type: reflect.TypeOf(dst)}
	}
	return nil
}

// intoError maps a failure to decode an answer into the caller's type: a body that is not JSON is
// the answer's fault (ErrUnavailable); anything else is the type's (ErrDecode).
func intoError(op string, res *result, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return decodeError(op, res, err)
	}
	return decodeFailure(op, err)
}

func (c *Client) get(ctx context.Context, object string, id ID, fields []string) (*result, *call, error) {
	if err := checkObject(object); err != nil {
		return nil, nil, refused("get", badObject(err))
	}
	if !id.valid() {
		return nil, nil, refused("get "+object, ErrBadID)
	}
	if err := checkFields(fields); err != nil {
		return nil, nil, refused("get "+object, err)
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

// saveResult is the body of a create or upsert answer, and one element of a collection's.
type saveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Created *bool      `json:"created"`
	Errors  []apiError `json:"errors"`
}

// parseSaveResult reads a create or upsert answer ({"id":…,"success":…,"errors":[…]}) without
// reflection: it is on every write's path.
func parseSaveResult(b []byte) (id ID, created *bool, errs []apiError, err error) {
	rec, err := parseRecord(b)
	if err != nil {
		return "", nil, nil, err
	}
	if raw, ok := rec.rawValue("errors"); ok && len(raw) > 2 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &errs); err != nil {
			return "", nil, nil, err
		}
	}
	if ok, _ := rec.Bool("success"); !ok && len(errs) > 0 {
		return "", nil, errs, nil
	}
	if v, ok := rec.Bool("created"); ok {
		created = &v
	}
	raw, _ := rec.rawValue("id")
	if len(raw) < 2 || raw[0] != '"' {
		return "", nil, nil, errors.New("no id")
	}
	id, err = parseID(raw[1 : len(raw)-1])
	return id, created, nil, err
}

// encodeFields marshals a record's fields (a map or a struct with json tags) as a JSON object.
// Its errors never quote a value.
func encodeFields(fields any) ([]byte, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		var te *json.UnsupportedTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: fields: %v", ErrBadQuery, te)
		}
		return nil, fmt.Errorf("%w: fields cannot be encoded as JSON (%T)", ErrBadQuery, err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: fields must encode as a JSON object", ErrBadQuery)
	}
	return b, nil
}

// Create inserts a record and returns its id. fields is a map or a struct with json tags; it must
// not contain Id. Create is not retried on failures that may have written (use Upsert by an
// external id for writes that must not be duplicated).
func (c *Client) Create(ctx context.Context, object string, fields any) (ID, *Response, error) {
	if err := checkObject(object); err != nil {
		return "", nil, refused("create", badObject(err))
	}
	body, err := encodeFields(fields)
	if err != nil {
		return "", nil, refused("create "+object, err)
	}
	r := &call{op: "create", object: object, method: http.MethodPost, path: c.dataPrefix + "sobjects/" + object, body: body}
	res, err := c.do(ctx, r)
	if err != nil {
		return "", respOf(res), err
	}
	id, _, errs, err := parseSaveResult(res.body)
	if err != nil {
		return "", &res.resp, decodeError(r.opName(), res, err)
	}
	if len(errs) > 0 {
		return "", &res.resp, recordError(r.opName(), res.resp.StatusCode, errs[0])
	}
	return id, &res.resp, nil
}

// Update changes fields of the record id. It is idempotent and retried as such.
func (c *Client) Update(ctx context.Context, object string, id ID, fields any) (*Response, error) {
	if err := checkObject(object); err != nil {
		return nil, refused("update", badObject(err))
	}
	op := "update " + object
	if !id.valid() {
		return nil, refused(op, ErrBadID)
	}
	body, err := encodeFields(fields)
	if err != nil {
		return nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodPatch, path: c.dataPrefix + "sobjects/" + object + "/" + string(id),
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
		return UpsertResult{}, nil, refused("upsert", badObject(err))
	}
	op := "upsert " + object
	if err := checkObject(extField); err != nil {
		return UpsertResult{}, nil, refused(op, fmt.Errorf("%w: external id field: %v", ErrBadQuery, err))
	}
	if err := checkExternalValue(value); err != nil {
		return UpsertResult{}, nil, refused(op, err)
	}
	body, err := encodeFields(fields)
	if err != nil {
		return UpsertResult{}, nil, refused(op, err)
	}
	res, err := c.do(ctx, &call{op: op, method: http.MethodPatch,
		path: c.dataPrefix + "sobjects/" + object + "/" + extField + "/" + url.PathEscape(value), body: body, idempotent: true})
	if err != nil {
		return UpsertResult{}, respOf(res), err
	}
	out := UpsertResult{Created: res.resp.StatusCode == http.StatusCreated}
	if len(bytes.TrimSpace(res.body)) > 0 { // API < 46 answers 204 to an update
		id, created, errs, err := parseSaveResult(res.body)
		if err != nil {
			return UpsertResult{}, &res.resp, decodeError(op, res, err)
		}
		if len(errs) > 0 {
			return UpsertResult{}, &res.resp, recordError(op, res.resp.StatusCode, errs[0])
		}
		if created != nil {
			out.Created = *created
		}
		out.ID = id
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
		return nil, refused("delete", badObject(err))
	}
	if !id.valid() {
		return nil, refused("delete "+object, ErrBadID)
	}
	res, err := c.do(ctx, &call{op: "delete " + object, method: http.MethodDelete,
		path: c.dataPrefix + "sobjects/" + object + "/" + string(id), idempotent: true})
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
// *Describe: treat it as read-only. The *Response is nil when the answer came from the cache.
func (c *Client) Describe(ctx context.Context, object string) (*Describe, *Response, error) {
	if err := checkObject(object); err != nil {
		return nil, nil, refused("describe", badObject(err))
	}
	key := strings.ToLower(object)
	c.describeMu.Lock()
	d := c.describeCache[key]
	c.describeMu.Unlock()
	if d != nil {
		return d, nil, nil
	}
	op := "describe " + object
	res, err := c.do(ctx, &call{op: op, method: http.MethodGet, path: c.dataPath("sobjects/" + object + "/describe"),
		idempotent: true})
	if err != nil {
		return nil, respOf(res), err
	}
	d = &Describe{Raw: res.body}
	if err := json.Unmarshal(res.body, d); err != nil {
		return nil, &res.resp, decodeError(op, res, err)
	}
	c.describeMu.Lock()
	if c.describeCache == nil {
		c.describeCache = make(map[string]*Describe)
	}
	c.describeCache[key] = d
	c.describeMu.Unlock()
	return d, &res.resp, nil
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
// same *GlobalDescribe: treat it as read-only. The *Response is nil when the answer came from
// the cache.
func (c *Client) DescribeGlobal(ctx context.Context) (*GlobalDescribe, *Response, error) {
	c.describeMu.Lock()
	g := c.describeGlobal
	c.describeMu.Unlock()
	if g != nil {
		return g, nil, nil
	}
	res, err := c.do(ctx, &call{op: "describe global", method: http.MethodGet, path: c.dataPath("sobjects"),
		idempotent: true})
	if err != nil {
		return nil, respOf(res), err
	}
	g = &GlobalDescribe{Raw: res.body}
	if err := json.Unmarshal(res.body, g); err != nil {
		return nil, &res.resp, decodeError("describe global", res, err)
	}
	c.describeMu.Lock()
	c.describeGlobal = g
	c.describeMu.Unlock()
	return g, &res.resp, nil
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
