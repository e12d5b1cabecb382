package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// page is one page of a query result decoded into the caller's type.
type page[T any] struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        []T    `json:"records"`
}

// Query runs a SOQL query and yields its rows, fetching the next page (up to 2,000 rows) only when
// the previous one has been consumed: a large result is never held whole. Stopping the loop
// stops the fetching; each range over the iterator runs the query anew. On failure the iterator
// yields one *Error and ends. The rows of a page share its text (see Record).
//
//	for rec, err := range client.Query(ctx, q) {
//		if err != nil { return err }
//		…
//	}
func (c *Client) Query(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryPages(ctx, c, st, resQuery, recordsOf)
}

// QueryAll is Query including deleted and archived rows (the queryAll resource).
func (c *Client) QueryAll(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryPages(ctx, c, st, resQueryAll, recordsOf)
}

// ToolingQuery is Query against the Tooling API (tooling/query), where setup objects such as
// IdentityVerificationProcDef live.
func (c *Client) ToolingQuery(ctx context.Context, st Statement) iter.Seq2[Record, error] {
	return queryPages(ctx, c, st, resTooling, recordsOf)
}

// queryResource is the resource a query goes to.
type queryResource int

const (
	resQuery queryResource = iota
	resQueryAll
	resTooling
)

// QueryInto runs a query like Client.Query, decoding each row straight into T (a struct with json
// tags matching the selected fields; nested structs for parent lookups) as json.Unmarshal does.
// Use Date and DateTime for date and datetime fields, and Query's Records where numbers must keep
// their text. A T that does not fit the rows is an *Error of kind ErrDecode, which never quotes a
// value.
func QueryInto[T any](ctx context.Context, c *Client, st Statement) iter.Seq2[T, error] {
	return queryPages(ctx, c, st, resQuery, decodeInto[T])
}

// Count runs a SELECT COUNT() query (see SelectCount) and returns the count.
func (c *Client) Count(ctx context.Context, st Statement) (int, *Response, error) {
	soql, err := statementSOQL(st)
	if err != nil {
		return 0, nil, refused("query", err)
	}
	res, err := c.do(ctx, &call{op: "query", method: "GET", path: c.queryPaths[resQuery],
		query: queryParam(soql), idempotent: true, shaped: st})
	if err != nil {
		return 0, respOf(res), err
	}
	p, err := parsePage(res.body)
	if err != nil {
		return 0, &res.resp, decodeError("query", res, err)
	}
	return p.totalSize, &res.resp, nil
}

func statementSOQL(st Statement) (string, error) {
	if st == nil {
		return "", fmt.Errorf("%w: nil statement", ErrBadQuery)
	}
	return st.SOQL()
}

// pageOf decodes one page of a query answer into rows of T; the error is the call's.
type pageOf[T any] func(op string, res *result) (rows []T, next string, done bool, err error)

// recordsOf reads a page as Records that share its text.
func recordsOf(op string, res *result) ([]Record, string, bool, error) {
	p, err := parsePage(res.body)
	if err != nil {
		return nil, "", false, decodeError(op, res, err)
	}
	return p.records, p.next, p.done, nil
}

// decodeInto decodes a page into the caller's T. A failure inside the rows is T's (ErrDecode);
// one in the page around them, or a body that is not JSON, is the answer's (ErrUnavailable).
func decodeInto[T any](op string, res *result) ([]T, string, bool, error) {
	var p page[T]
	if err := json.Unmarshal(res.body, &p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "records" && !strings.HasPrefix(te.Field, "records.") {
			return nil, "", false, decodeError(op, res, err)
		}
		return nil, "", false, intoError(op, res, err)
	}
	return p.Records, p.NextRecordsURL, p.Done, nil
}

func queryPages[T any](ctx context.Context, c *Client, st Statement, res queryResource, decode pageOf[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		op := [...]string{resQuery: "query", resQueryAll: "queryAll", resTooling: "tooling query"}[res]
		soql, err := statementSOQL(st)
		if err != nil {
			yield(zero, refused(op, err))
			return
		}
		r := &call{op: op, method: "GET", path: c.queryPaths[res], query: queryParam(soql), idempotent: true, shaped: st}
		for {
			res, err := c.do(ctx, r)
			if err != nil {
				yield(zero, err)
				return
			}
			rows, next, done, err := decode(op, res)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, row := range rows {
				if !yield(row, nil) {
					return
				}
			}
			if done || next == "" {
				return
			}
			// The next page is a path on the same instance; refuse anything else, so that the
			// bearer token never goes elsewhere.
			if !validNextRecordsURL(next) {
				yield(zero, &Error{Op: op, StatusCode: res.resp.StatusCode, Code: "BAD_NEXT_RECORDS_URL", kind: ErrUnavailable})
				return
			}
			r = &call{op: op, method: "GET", path: next, idempotent: true, shaped: st}
		}
	}
}

// queryParam is "q=" and the text escaped as url.QueryEscape does, in one allocation.
func queryParam(text string) string {
	const hex = "0123456789ABCDEF"
	n := len("q=") + len(text)
	for i := 0; i < len(text); i++ {
		if c := text[i]; !queryUnreserved(c) && c != ' ' {
			n += 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("q=")
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case queryUnreserved(c):
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// queryUnreserved reports whether url.QueryEscape leaves c as it is (RFC 3986's unreserved).
func queryUnreserved(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' }

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

// Search runs a SOSL search built with Find and returns the searchRecords (never nil).
func (c *Client) Search(ctx context.Context, s *Search) ([]Record, *Response, error) {
	sosl, err := s.SOSL()
	if err != nil {
		return nil, nil, refused("search", err)
	}
	res, err := c.do(ctx, &call{op: "search", method: "GET", path: c.dataPath("search"),
		query: queryParam(sosl), idempotent: true, shaped: s})
	if err != nil {
		return nil, respOf(res), err
	}
	return decodeSearch("search", res)
}

func decodeSearch(op string, res *result) ([]Record, *Response, error) {
	p, err := parsePage(res.body)
	if err != nil {
		return nil, &res.resp, decodeError(op, res, err)
	}
	if p.records == nil {
		p.records = []Record{}
	}
	return p.records, &res.resp, nil
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
		return nil, nil, refused("parameterizedSearch", err)
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
