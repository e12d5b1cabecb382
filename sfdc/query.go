package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
)

// page is one page of a query result, records left to the caller's type.
type page[T any] struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        []T    `json:"records"`
}

// Query runs a SOQL query and yields its rows, fetching the next page (up to 2,000 rows) only when
// the previous one has been consumed: a large result is never held whole. Stopping the loop
// stops the fetching; each range over the iterator runs the query anew. On failure the iterator
// yields one error (an *Error, or a builder error wrapping ErrBadQuery) and ends.
//
//	for rec, err := range client.Query(ctx, q) {
//		if err != nil { return err }
//		…
//	}
func (c *Client) Query(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryRecords(ctx, c, st, resQuery)
}

// QueryAll is Query including deleted and archived rows (the queryAll resource).
func (c *Client) QueryAll(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryRecords(ctx, c, st, resQueryAll)
}

// ToolingQuery is Query against the Tooling API (tooling/query), where setup objects such as
// IdentityVerificationProcDef live.
func (c *Client) ToolingQuery(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryRecords(ctx, c, st, resTooling)
}

// queryResource is the resource a query goes to.
type queryResource int

const (
	resQuery queryResource = iota
	resQueryAll
	resTooling
)

func queryRecords(ctx context.Context, c *Client, st Statement, res queryResource) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for rec, err := range queryPages[Record](ctx, c, st, res) {
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// QueryInto runs a query like Client.Query, decoding each row straight into T (a struct with json
// tags matching the selected fields; nested structs for parent lookups).
func QueryInto[T any](ctx context.Context, c *Client, st Statement) iter.Seq2[T, error] {
	return queryPages[T](ctx, c, st, resQuery)
}

// Count runs a SELECT COUNT() query (see SelectCount) and returns the count.
func (c *Client) Count(ctx context.Context, st Statement) (int, *Response, error) {
	if st == nil {
		return 0, nil, fmt.Errorf("%w: nil statement", ErrBadQuery)
	}
	soql, err := st.SOQL()
	if err != nil {
		return 0, nil, err
	}
	res, err := c.do(ctx, &call{op: "query", method: "GET", path: c.dataPath("query"),
		query: "q=" + url.QueryEscape(soql), idempotent: true, shape: st.Shape()})
	if err != nil {
		return 0, respOf(res), err
	}
	var p page[json.RawMessage]
	if err := json.Unmarshal(res.body, &p); err != nil {
		return 0, &res.resp, decodeError("query", res, err)
	}
	return p.TotalSize, &res.resp, nil
}

// decodePage decodes one page of a query result; numbers in untyped values stay json.Number.
func decodePage[T any](body []byte) (page[T], error) {
	var p page[T]
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(&p)
	return p, err
}

func queryPages[T any](ctx context.Context, c *Client, st Statement, res queryResource) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if st == nil {
			yield(zero, fmt.Errorf("%w: nil statement", ErrBadQuery))
			return
		}
		soql, err := st.SOQL()
		if err != nil {
			yield(zero, err)
			return
		}
		op, resource := "query", "query"
		switch res {
		case resQueryAll:
			op, resource = "queryAll", "queryAll"
		case resTooling:
			op, resource = "tooling query", "tooling/query"
		}
		r := &call{op: op, method: "GET", path: c.dataPath(resource), query: "q=" + url.QueryEscape(soql),
			idempotent: true, shape: st.Shape()}
		for {
			res, err := c.do(ctx, r)
			if err != nil {
				yield(zero, err)
				return
			}
			p, err := decodePage[T](res.body)
			if err != nil {
				yield(zero, decodeError(op, res, err))
				return
			}
			for _, rec := range p.Records {
				if !yield(rec, nil) {
					return
				}
			}
			if p.Done || p.NextRecordsURL == "" {
				return
			}
			// The next page is a path on the same instance; refuse anything else, so that the
			// bearer token never goes elsewhere.
			if !validNextRecordsURL(p.NextRecordsURL) {
				yield(zero, &Error{Op: op, StatusCode: res.resp.StatusCode, Code: "BAD_NEXT_RECORDS_URL", kind: ErrUnavailable})
				return
			}
			r = &call{op: op, method: "GET", path: p.NextRecordsURL, idempotent: true, shape: st.Shape()}
		}
	}
}

// validNextRecordsURL accepts a data API path made of URL-safe characters only (no query, no
// fragment, no escapes), e.g. /services/data/v62.0/query/01gD0000002HU6KIAW-2000.
func validNextRecordsURL(u string) bool {
	if !strings.HasPrefix(u, "/services/data/") || strings.Contains(u, "..") {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; !isAlnum(c) && c != '/' && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// decodeError reports an answer that is not the JSON the resource promises.
func decodeError(op string, res *result, err error) error {
	var se *json.SyntaxError
	code := "UNEXPECTED_RESPONSE"
	if errors.As(err, &se) {
		code = "MALFORMED_RESPONSE"
	}
	return &Error{Op: op, StatusCode: res.resp.StatusCode, Code: code, kind: ErrUnavailable}
}

func respOf(res *result) *Response {
	if res == nil {
		return nil
	}
	return &res.resp
}

// Search runs a SOSL search built with Find and returns the searchRecords.
func (c *Client) Search(ctx context.Context, s *Search) ([]Record, *Response, error) {
	sosl, err := s.SOSL()
	if err != nil {
		return nil, nil, err
	}
	res, err := c.do(ctx, &call{op: "search", method: "GET", path: c.dataPath("search"),
		query: "q=" + url.QueryEscape(sosl), idempotent: true, shape: s.Shape()})
	if err != nil {
		return nil, respOf(res), err
	}
	return decodeSearch("search", res)
}

func decodeSearch(op string, res *result) ([]Record, *Response, error) {
	var body struct {
		SearchRecords []Record `json:"searchRecords"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		return nil, &res.resp, decodeError(op, res, err)
	}
	if body.SearchRecords == nil {
		body.SearchRecords = []Record{}
	}
	return body.SearchRecords, &res.resp, nil
}

// ParamSearch is a parameterized search (the parameterizedSearch resource): the text is matched
// literally, as with Find.
type ParamSearch struct {
	Text    string      // the search text: its words, each quoted and escaped, joined with AND, as Find does
	In      SearchScope // default ALL
	Objects []Returning // objects to search, with fields, filter and limit; OrderBy is ignored
	Fields  []string    // fields returned for objects that list none
	Limit   int         // overall row cap; 0 means Salesforce's default
}

// ParameterizedSearch runs p through POST parameterizedSearch (a read: retried like a GET).
func (c *Client) ParameterizedSearch(ctx context.Context, p ParamSearch) ([]Record, *Response, error) {
	body, err := p.body()
	if err != nil {
		return nil, nil, err
	}
	res, err := c.do(ctx, &call{op: "parameterizedSearch", method: "POST", path: c.dataPath("parameterizedSearch"),
		body: body, idempotent: true})
	if err != nil {
		return nil, respOf(res), err
	}
	return decodeSearch("parameterizedSearch", res)
}

func (p ParamSearch) body() ([]byte, error) {
	s := &Search{text: p.Text, scope: p.In, returning: p.Objects}
	term, err := s.term()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	for i, f := range p.Fields {
		if err := checkIdent(f); err != nil {
			return nil, fmt.Errorf("%w: fields %d: %v", ErrBadQuery, i+1, err)
		}
	}
	type sobject struct {
		Name   string   `json:"name"`
		Fields []string `json:"fields,omitempty"`
		Where  string   `json:"where,omitempty"`
		Limit  int      `json:"limit,omitempty"`
	}
	req := struct {
		Q            string    `json:"q"`
		In           string    `json:"in,omitempty"`
		Fields       []string  `json:"fields,omitempty"`
		SObjects     []sobject `json:"sobjects,omitempty"`
		OverallLimit int       `json:"overallLimit,omitempty"`
	}{Q: term, In: string(p.In), Fields: p.Fields, OverallLimit: p.Limit}
	for _, o := range p.Objects {
		so := sobject{Name: o.Object, Fields: o.Fields, Limit: o.Limit}
		if o.Where != nil {
			var b strings.Builder
			if err := o.Where.render(&b, false); err != nil {
				return nil, err
			}
			so.Where = b.String()
		}
		req.SObjects = append(req.SObjects, so)
	}
	return json.Marshal(req)
}
