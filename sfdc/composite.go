package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Subrequest is one typed part of a composite request. Build them with CompositeGet,
// CompositeCreate, CompositeUpdate, CompositeUpsert, CompositeDelete and CompositeQuery; a later
// subrequest may use an earlier one's result through Ref.
type Subrequest struct {
	method string
	rel    string // resource path under the versioned data API, with any query string
	ref    string
	body   any
	err    error
}

// Ref is a reference to a field of an earlier subrequest's result, e.g. Ref("NewAccount", "id")
// is "@{NewAccount.id}" and Ref("Found", "records[0].Id") reads a query's first row. Use it in
// place of an id or inside the fields of a later subrequest.
func Ref(referenceID, path string) string { return "@{" + referenceID + "." + path + "}" }

// checkRefID checks a referenceId: letters, digits and underscores, starting with a letter.
func checkRefID(ref string) error {
	if ref == "" || len(ref) > 80 || !(ref[0] >= 'a' && ref[0] <= 'z' || ref[0] >= 'A' && ref[0] <= 'Z') {
		return fmt.Errorf("%w: referenceId must start with a letter", ErrBadQuery)
	}
	for i := 0; i < len(ref); i++ {
		if !isAlnum(ref[i]) && ref[i] != '_' {
			return fmt.Errorf("%w: referenceId may hold only letters, digits and underscores", ErrBadQuery)
		}
	}
	return nil
}

// checkIDOrRef accepts a valid record id or a reference built with Ref.
func checkIDOrRef(s string) error {
	if _, err := ParseID(s); err == nil {
		return nil
	}
	inner, ok := strings.CutPrefix(s, "@{")
	if ok {
		inner, ok = strings.CutSuffix(inner, "}")
	}
	if !ok {
		return ErrBadID
	}
	ref, path, ok := strings.Cut(inner, ".")
	if !ok || checkRefID(ref) != nil || path == "" {
		return ErrBadID
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; !isAlnum(c) && !strings.ContainsRune("_.[]", rune(c)) {
			return ErrBadID
		}
	}
	return nil
}

func newSub(method, ref, object, rel string, body any) Subrequest {
	s := Subrequest{method: method, ref: ref, rel: rel, body: body}
	if err := checkRefID(ref); err != nil {
		s.err = err
	} else if err := checkObject(object); object != "" && err != nil {
		s.err = badObject(err)
	}
	return s
}

// CompositeGet reads a record (id: a record id or a Ref).
func CompositeGet(ref, object, id string, fields ...string) Subrequest {
	rel := "sobjects/" + object + "/" + id
	if len(fields) > 0 {
		rel += "?fields=" + strings.Join(fields, ",")
	}
	s := newSub(http.MethodGet, ref, object, rel, nil)
	if s.err == nil {
		if err := checkIDOrRef(id); err != nil {
			s.err = err
		} else if err := checkFields(fields); err != nil {
			s.err = err
		}
	}
	return s
}

// CompositeCreate inserts a record; its result's "id" is Ref(ref, "id").
func CompositeCreate(ref, object string, fields any) Subrequest {
	return newSub(http.MethodPost, ref, object, "sobjects/"+object, fields)
}

// CompositeUpdate changes a record (id: a record id or a Ref).
func CompositeUpdate(ref, object, id string, fields any) Subrequest {
	s := newSub(http.MethodPatch, ref, object, "sobjects/"+object+"/"+id, fields)
	if s.err == nil {
		s.err = checkIDOrRef(id)
	}
	return s
}

// CompositeUpsert creates or updates by external id.
func CompositeUpsert(ref, object, extField, value string, fields any) Subrequest {
	s := newSub(http.MethodPatch, ref, object, "sobjects/"+object+"/"+extField+"/"+url.PathEscape(value), fields)
	if s.err == nil {
		if err := checkObject(extField); err != nil {
			s.err = fmt.Errorf("%w: external id field: %v", ErrBadQuery, err)
		} else {
			s.err = checkExternalValue(value)
		}
	}
	return s
}

// CompositeDelete deletes a record (id: a record id or a Ref).
func CompositeDelete(ref, object, id string) Subrequest {
	s := newSub(http.MethodDelete, ref, object, "sobjects/"+object+"/"+id, nil)
	if s.err == nil {
		s.err = checkIDOrRef(id)
	}
	return s
}

// CompositeQuery runs a query; Ref(ref, "records[0].Id") reads its first row.
func CompositeQuery(ref string, st Statement) Subrequest {
	if st == nil {
		return Subrequest{err: fmt.Errorf("%w: nil statement", ErrBadQuery)}
	}
	soql, err := st.SOQL()
	s := newSub(http.MethodGet, ref, "", "query?q="+url.QueryEscape(soql), nil)
	if s.err == nil {
		s.err = err
	}
	return s
}

// SubResult is the answer to one subrequest.
type SubResult struct {
	ReferenceID string
	StatusCode  int
	Body        json.RawMessage // the subrequest's answer (a record, a save result, a query page…)
	Err         *Error          // nil when the subrequest succeeded
}

// CompositeResult holds the answers in request order.
type CompositeResult struct {
	Results []SubResult
}

// maxComposite is Salesforce's cap on subrequests per composite call.
const maxComposite = 25

// Composite sends up to 25 subrequests in one call (one API request). Salesforce answers 200 even
// when subrequests fail; Composite does not: if any subrequest failed, the error is that
// subrequest's *Error (the root cause: a failure other than PROCESSING_HALTED when there is one),
// with its reference id in Op, and the result still carries every answer. With allOrNone a
// failure rolls every subrequest back.
//
// A composite is retried like a GET only when every subrequest is a GET; otherwise only on answers
// that mean nothing was done.
func (c *Client) Composite(ctx context.Context, allOrNone bool, subs ...Subrequest) (*CompositeResult, *Response, error) {
	if len(subs) == 0 || len(subs) > maxComposite {
		return nil, nil, refused("composite", fmt.Errorf("%w: composite needs 1 to %d subrequests", ErrBadQuery, maxComposite))
	}
	type item struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		ReferenceID string `json:"referenceId"`
		Body        any    `json:"body,omitempty"`
	}
	req := struct {
		AllOrNone bool   `json:"allOrNone"`
		Items     []item `json:"compositeRequest"`
	}{AllOrNone: allOrNone}
	readOnly := true
	seen := make(map[string]bool, len(subs))
	for i, s := range subs {
		if s.err != nil {
			return nil, nil, refused("composite", fmt.Errorf("subrequest %d: %w", i+1, s.err))
		}
		if s.method == "" {
			return nil, nil, refused("composite", fmt.Errorf("%w: composite subrequest %d is empty", ErrBadQuery, i+1))
		}
		if seen[s.ref] {
			return nil, nil, refused("composite", fmt.Errorf("%w: composite subrequest %d repeats a referenceId", ErrBadQuery, i+1))
		}
		seen[s.ref] = true
		if s.method != http.MethodGet {
			readOnly = false
		}
		if s.body != nil {
			if _, err := encodeFields(s.body); err != nil {
				return nil, nil, refused("composite", fmt.Errorf("subrequest %d: %w", i+1, err))
			}
		}
		req.Items = append(req.Items, item{Method: s.method, URL: c.dataPath(s.rel), ReferenceID: s.ref, Body: s.body})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, refused("composite", fmt.Errorf("%w: cannot be encoded as JSON (%T)", ErrBadQuery, err))
	}
	res, err := c.do(ctx, &call{op: "composite", method: http.MethodPost, path: c.dataPath("composite"), body: body,
		idempotent: readOnly})
	if err != nil {
		return nil, respOf(res), err
	}
	var answer struct {
		CompositeResponse []struct {
			Body           json.RawMessage `json:"body"`
			HTTPStatusCode int             `json:"httpStatusCode"`
			ReferenceID    string          `json:"referenceId"`
		} `json:"compositeResponse"`
	}
	if err := json.Unmarshal(res.body, &answer); err != nil {
		return nil, &res.resp, decodeError("composite", res, err)
	}
	out := &CompositeResult{Results: make([]SubResult, len(answer.CompositeResponse))}
	var first, firstRoot *Error
	for i, a := range answer.CompositeResponse {
		r := SubResult{ReferenceID: a.ReferenceID, StatusCode: a.HTTPStatusCode, Body: a.Body}
		if a.HTTPStatusCode < 200 || a.HTTPStatusCode > 299 {
			r.Err = errorFromResponse("composite "+a.ReferenceID, a.HTTPStatusCode, a.Body)
			if first == nil {
				first = r.Err
			}
			if firstRoot == nil && !errors.Is(r.Err, ErrRolledBack) {
				firstRoot = r.Err
			}
		}
		out.Results[i] = r
	}
	if len(out.Results) != len(subs) {
		return out, &res.resp, &Error{Op: "composite", StatusCode: res.resp.StatusCode, Code: "UNEXPECTED_RESPONSE",
			kind: ErrUnavailable}
	}
	if firstRoot != nil {
		return out, &res.resp, firstRoot
	}
	if first != nil {
		return out, &res.resp, first
	}
	return out, &res.resp, nil
}

// Result returns the answer for a reference id.
func (r *CompositeResult) Result(ref string) (SubResult, bool) {
	for _, x := range r.Results {
		if x.ReferenceID == ref {
			return x, true
		}
	}
	return SubResult{}, false
}
