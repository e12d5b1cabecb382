package fakeorg

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// Composite limits.
const (
	maxSubrequests      = 25
	maxQuerySubrequests = 5 // queries and collections
	maxCollection       = 200
	maxRetrieve         = 2000 // ids a collection retrieve takes
	// maxRefGrowth bounds what references may add to a subrequest's url, and to its body.
	// Salesforce documents no bound; references name ids and field values, which this leaves
	// ample room for.
	maxRefGrowth = maxCompositeString
)

// reference matches @{refId.path} in composite subrequest urls and bodies.
var reference = regexp.MustCompile(`@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+(?:\[[0-9]+\])*|\[[0-9]+\])+)\}`)

var validRefID = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

const haltedMessage = "The transaction was rolled back since another operation in the same transaction failed."

type compositeRequest struct {
	AllOrNone          bool `json:"allOrNone"`
	CollateSubrequests bool `json:"collateSubrequests"`
	CompositeRequest   []struct {
		Method      string            `json:"method"`
		URL         string            `json:"url"`
		ReferenceID string            `json:"referenceId"`
		Body        json.RawMessage   `json:"body"`
		HTTPHeaders map[string]string `json:"httpHeaders"`
	} `json:"compositeRequest"`
}

// subResult is one subrequest's answer.
type subResult struct {
	refID   string
	resp    response
	decoded any // the body decoded, for references; set lazily
	ran     bool
}

func (s *subResult) failed() bool { return !s.ran || s.resp.status >= 400 || s.resp.failed }

// serveComposite is POST composite.
func serveComposite(c *call) response {
	var req compositeRequest
	if e := decodeJSONLimited(c.body, &req, maxCompositeString); e != nil {
		return errResp(e)
	}
	subs := req.CompositeRequest
	if len(subs) == 0 {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_INPUT",
			Message: "The composite request must contain at least one subrequest."})
	}
	if len(subs) > maxSubrequests {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "LIMIT_EXCEEDED",
			Message: "Composite request cannot contain more than " + strconv.Itoa(maxSubrequests) + " subrequests."})
	}
	seen := make(map[string]bool, len(subs))
	queries := 0
	for _, s := range subs {
		if !validRefID.MatchString(s.ReferenceID) {
			return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_INPUT",
				Message: "Invalid referenceId ('" + soql.Clip(s.ReferenceID) + "'): it must contain only letters, numbers and underscores."})
		}
		if seen[s.ReferenceID] {
			return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_INPUT",
				Message: "Duplicate ReferenceId provided in the request: " + soql.Clip(s.ReferenceID)})
		}
		seen[s.ReferenceID] = true
		if isQueryOrCollection(s.URL) {
			queries++
		}
	}
	if queries > maxQuerySubrequests {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "LIMIT_EXCEEDED",
			Message: "Composite request cannot contain more than " + strconv.Itoa(maxQuerySubrequests) + " query or sObject Collections subrequests."})
	}

	results := make([]*subResult, len(subs))
	byRef := make(map[string]*subResult, len(subs))
	var tx *orgdb.Tx
	if req.AllOrNone {
		tx = c.o.db.Begin(true)
	}
	finished := false
	defer func() {
		if tx != nil && !finished {
			tx.Rollback()
		}
	}()
	halted := -1
	for i, s := range subs {
		res := &subResult{refID: s.ReferenceID}
		results[i] = res
		byRef[s.ReferenceID] = res
		res.resp = c.runSub(tx, s.Method, s.URL, s.Body, s.HTTPHeaders, byRef)
		res.ran = true
		if req.AllOrNone && res.failed() {
			halted = i
			break
		}
	}
	if tx != nil {
		if halted >= 0 {
			tx.Rollback()
		} else {
			tx.Commit()
		}
		finished = true
	}

	b := append(make([]byte, 0, 1024), `{"compositeResponse":[`...)
	for i, s := range subs {
		if i > 0 {
			b = append(b, ',')
		}
		res := results[i]
		resp := response{}
		switch {
		case halted >= 0 && i != halted:
			resp = errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "PROCESSING_HALTED", Message: haltedMessage})
		default:
			resp = res.resp
		}
		b = append(b, `{"body":`...)
		if resp.body != nil {
			b = append(b, resp.body...)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"httpHeaders":{`...)
		if resp.location != "" && (halted < 0 || i == halted) {
			b = append(b, `"Location":`...)
			b = appendString(b, resp.location)
		}
		b = append(b, `},"httpStatusCode":`...)
		b = strconv.AppendInt(b, int64(resp.status), 10)
		b = append(b, `,"referenceId":`...)
		b = appendString(b, s.ReferenceID)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return response{status: http.StatusOK, body: b}
}

// isQueryOrCollection reports whether a subrequest url is a query, queryAll or sObject
// Collections request: composite allows at most five of them.
func isQueryOrCollection(u string) bool {
	p, _, _ := strings.Cut(u, "?")
	segs := strings.Split(strings.Trim(p, "/"), "/")
	// services, data, vNN.N, resource…
	if len(segs) < 4 {
		return false
	}
	switch r := segs[3:]; {
	case r[0] == "query" || r[0] == "queryAll":
		return true
	case r[0] == "composite" && len(r) > 1 && r[1] == "sobjects":
		return true
	}
	return false
}

// runSub runs one composite subrequest after resolving its references.
func (c *call) runSub(tx *orgdb.Tx, method, rawURL string, body json.RawMessage, headers map[string]string, byRef map[string]*subResult) response {
	halt := func(msg string) response {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "PROCESSING_HALTED", Message: msg})
	}
	var refErr string
	// growth is what the references may still add to the url, or to the body (maxRefGrowth
	// each): a short reference to a long value, repeated, would otherwise expand a 1 MiB url
	// into gigabytes.
	var growth int
	resolve := func(s string) string {
		return reference.ReplaceAllStringFunc(s, func(m string) string {
			if refErr != "" {
				return ""
			}
			sm := reference.FindStringSubmatch(m)
			v, ok := lookupRef(byRef, sm[1], sm[2])
			if !ok {
				ref := soql.Clip(sm[1])
				refErr = "Invalid reference specified. No value for " + soql.Clip(sm[1]+sm[2]) + " found in " + ref +
					". Provided referenceId ('" + ref + "') must match one of the referenceIds of the subrequests executed before this one."
				return ""
			}
			if growth -= len(v) - len(m); growth < 0 {
				refErr = "The references of this subrequest resolve to more than " + strconv.Itoa(maxRefGrowth) + " bytes beyond its url or its body."
				return ""
			}
			return v
		})
	}
	u := rawURL
	if strings.Contains(u, "@{") {
		growth = maxRefGrowth
		u = resolve(rawURL)
	}
	var decoded map[string]any
	if len(body) > 0 && bytes.Contains(body, []byte("@{")) {
		var v any
		if e := decodeJSON(body, &v); e != nil {
			return errResp(e)
		}
		growth = maxRefGrowth
		v = resolveValue(v, resolve)
		body, _ = json.Marshal(v)
		decoded, _ = v.(map[string]any)
	}
	if refErr != "" {
		return halt(refErr)
	}
	parsed, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(parsed.EscapedPath(), "/services/data/v") {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_INPUT",
			Message: "The url of a subrequest must start with /services/data/vXX.X/"})
	}
	rest := strings.TrimPrefix(parsed.EscapedPath(), "/services/data/")
	verSeg, tail, _ := strings.Cut(rest, "/")
	ver, verN, ok := parseVersion(verSeg)
	segs, pathOK := splitPath(tail)
	if retiredVersion(verSeg) {
		return errResp(errRetiredVersion)
	}
	if !ok || !pathOK {
		return errResp(errNotFound)
	}
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	sub := &call{o: c.o, ver: ver, verN: verN, method: strings.ToUpper(method), segs: segs,
		query: parsed.Query(), header: h, body: body, tx: tx, decoded: decoded}
	kind, fn, allowed := route(sub)
	switch {
	case kind == KindComposite:
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_INPUT",
			Message: "A composite request cannot contain another composite request."})
	case fn == nil && allowed != "":
		return errResp(methodNotAllowed(sub.method, allowed))
	case fn == nil:
		return errResp(errNotFound)
	}
	return fn(sub)
}

// resolveValue replaces references in every string of a decoded JSON value.
func resolveValue(v any, resolve func(string) string) any {
	switch v := v.(type) {
	case string:
		return resolve(v)
	case map[string]any:
		for k, x := range v {
			v[k] = resolveValue(x, resolve)
		}
	case []any:
		for i, x := range v {
			v[i] = resolveValue(x, resolve)
		}
	}
	return v
}

// lookupRef evaluates ref.path (e.g. ".id", ".records[0].Id") against an earlier result.
func lookupRef(byRef map[string]*subResult, ref, path string) (string, bool) {
	res, ok := byRef[ref]
	if !ok || res.failed() || res.resp.body == nil {
		return "", false
	}
	if res.decoded == nil {
		dec := json.NewDecoder(bytes.NewReader(res.resp.body))
		dec.UseNumber()
		if dec.Decode(&res.decoded) != nil {
			return "", false
		}
	}
	cur := res.decoded
	for path != "" {
		switch path[0] {
		case '.':
			end := strings.IndexAny(path[1:], ".[")
			if end < 0 {
				end = len(path) - 1
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return "", false
			}
			if cur, ok = m[path[1:1+end]]; !ok {
				return "", false
			}
			path = path[1+end:]
		case '[':
			end := strings.IndexByte(path, ']')
			n, _ := strconv.Atoi(path[1:end])
			a, ok := cur.([]any)
			if !ok || n >= len(a) {
				return "", false
			}
			cur = a[n]
			path = path[end+1:]
		default:
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}
