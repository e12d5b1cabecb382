package fakeorg

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// Versions of the data API the org serves: Salesforce's "API End-of-Life Policy" (REST API
// Developer Guide, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/api_rest_eol.htm)
// retired versions 7.0 through 20.0 in Summer '22 and 21.0 through 30.0 in Summer '25: "If you
// request any resource or use an operation from a retired API version, REST API returns the
// 410:GONE error code." Versions 31.0 and later are served (31.0–40.0 are deprecated from
// Summer '27); GET /services/data/ lists only those.
const (
	minVersion           = 31
	maxVersion           = 66
	oldestAPIVersion     = 7 // the first API version Salesforce released; older numbers never existed
	newestRetiredVersion = minVersion - 1
)

var (
	// errRetiredVersion is 410 GONE. Salesforce documents the status and the code, not the
	// message; this message is the fake's.
	errRetiredVersion = &orgdb.Error{Status: http.StatusGone, Code: "GONE",
		Message: "This API version is retired and no longer available; use version " + strconv.Itoa(minVersion) + ".0 or later."}
	errInvalidSession = &orgdb.Error{Status: http.StatusUnauthorized, Code: "INVALID_SESSION_ID",
		Message: "Session expired or invalid"}
	errNotFound = &orgdb.Error{Status: http.StatusNotFound, Code: "NOT_FOUND",
		Message: "The requested resource does not exist"}
	errDailyLimit = &orgdb.Error{Status: http.StatusForbidden, Code: "REQUEST_LIMIT_EXCEEDED",
		Message: "TotalRequests Limit exceeded."}
)

// Handler returns the http.Handler that serves the org's whole API:
//
//	GET  /services/oauth2/authorize    the web server flow's login page (PKCE; authorize.go)
//	POST /services/oauth2/token        authorization_code, password, client_credentials,
//	                                   refresh_token, JWT bearer
//	POST /services/oauth2/revoke       token=…
//	GET  /services/oauth2/userinfo     and the identity URL /id/<orgId>/<userId>
//	POST /services/Soap/{u,c}/NN.0     the SOAP API's login() call only (31.0–64.0; soap.go)
//	GET  /services/data/               versions 31.0–66.0, without authentication (7.0–30.0
//	                                   are retired: 410 GONE)
//	     /services/data/vNN.N/…        resources, sobjects (describeGlobal, basic info, describe,
//	                                   create, read, update, delete, upsert and read by external
//	                                   id), query, queryAll, nextRecordsUrl, search,
//	                                   parameterizedSearch, composite, composite/sobjects,
//	                                   limits, tooling/query, Bulk API 2.0 ingest jobs
//	                                   (jobs/ingest; bulk.go)
//	     /_fakeorg/…                   the admin endpoint (loopback clients only; see admin.go)
//
// Data calls need a live access token (401 INVALID_SESSION_ID otherwise), count against the
// daily limit (403 REQUEST_LIMIT_EXCEEDED past it) and carry Sforce-Limit-Info. Every request
// but the admin endpoint's is counted and may meet an injected Fault first.
// With Options.RequestLog set, every request is logged (requestlog.go).
func (o *Org) Handler() http.Handler {
	if o.reqLog != nil {
		return o.logRequests(http.HandlerFunc(o.serveHTTP), o.reqLog)
	}
	return http.HandlerFunc(o.serveHTTP)
}

func (o *Org) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A panic is a bug in the fake. Answer as Salesforce answers its own bugs, without
		// echoing the panic value (it could carry a query or a record).
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeDataError(w, http.StatusInternalServerError, &orgdb.Error{Code: "UNKNOWN_EXCEPTION",
				Message: "An unexpected error occurred in the fake org (a bug in mocks/fakeorg)."})
		}
	}()
	if headTooLarge(w, r) {
		return
	}
	o.limitBodyTime(w, r)
	if strings.Contains(r.URL.Path, "//") {
		// Salesforce's servers read a run of slashes as one. The Salesforce CLI relies on it: it
		// keeps instance URLs with a trailing slash and asks for <instance>//services/data.
		r.URL.Path, r.URL.RawPath = collapseSlashes(r.URL.Path), collapseSlashes(r.URL.RawPath)
	}
	p := r.URL.Path
	if p == "/_fakeorg" || strings.HasPrefix(p, "/_fakeorg/") {
		o.serveAdmin(w, r)
		return
	}
	if strings.HasPrefix(p, "/services/data/v") {
		o.serveData(w, r)
		return
	}
	kind := KindUnknown
	switch {
	case p == "/services/oauth2/token":
		kind = KindToken
	case p == "/services/oauth2/authorize":
		kind = KindAuthorize
	case p == "/services/oauth2/revoke":
		kind = KindRevoke
	case p == "/services/oauth2/userinfo":
		kind = KindUserinfo
	case strings.HasPrefix(p, "/id/"):
		kind = KindIdentity
	case p == "/services/data" || p == "/services/data/":
		kind = KindVersions
	case strings.HasPrefix(p, "/services/Soap/"):
		kind = KindSOAP
	}
	o.counters.add(kind, r.Method)
	if o.applyFaults(w, r) {
		return
	}
	switch kind {
	case KindToken:
		o.serveToken(w, r)
	case KindAuthorize:
		o.serveAuthorize(w, r)
	case KindRevoke:
		o.serveRevoke(w, r)
	case KindUserinfo:
		o.serveUserinfo(w, r)
	case KindSOAP:
		o.serveSOAP(w, r)
	case KindIdentity:
		parts := strings.Split(strings.TrimPrefix(p, "/id/"), "/")
		if len(parts) != 2 || r.Method != http.MethodGet && r.Method != http.MethodPost {
			writeDataError(w, http.StatusNotFound, errNotFound)
			return
		}
		o.serveIdentity(w, r, parts[0], parts[1])
	case KindVersions:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeDataError(w, http.StatusMethodNotAllowed, methodNotAllowed(r.Method, "GET,HEAD"))
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(versionsBody())
	default:
		writeDataError(w, http.StatusNotFound, errNotFound)
	}
}

// collapseSlashes replaces each run of slashes in a path by one.
func collapseSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// versionsBody is GET /services/data/: every version the org serves, oldest first.
var versionsBody = sync.OnceValue(func() []byte {
	type version struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	var vs []version
	for n := minVersion; n <= maxVersion; n++ {
		v := strconv.Itoa(n) + ".0"
		vs = append(vs, version{versionLabel(n), "/services/data/v" + v, v})
	}
	b, _ := json.Marshal(vs)
	return b
})

// versionLabel names a release: v62.0 is Winter '25, v63.0 Spring '25, v64.0 Summer '25.
func versionLabel(n int) string {
	season := [3]string{"Spring", "Summer", "Winter"}[n%3]
	base := [3]int{63, 64, 62}[n%3]
	return season + " '" + strconv.Itoa(25+(n-base)/3)
}

// parseVersion reads "v62.0" and returns "62.0" and 62, or ok false for versions not served.
func parseVersion(s string) (string, int, bool) {
	n, ok := versionNumber(s)
	if !ok || n < minVersion || n > maxVersion {
		return "", 0, false
	}
	return s[1:], n, true
}

// versionNumber reads "v62.0" as 62, whether or not the org serves it.
func versionNumber(s string) (int, bool) {
	if len(s) < 4 || s[0] != 'v' || !strings.HasSuffix(s, ".0") || s[1] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s[1 : len(s)-2])
	return n, err == nil
}

// retiredVersion reports whether s ("v20.0") names an API version Salesforce has retired.
func retiredVersion(s string) bool {
	n, ok := versionNumber(s)
	return ok && n >= oldestAPIVersion && n <= newestRetiredVersion
}

// call is one data API request, from the wire or a composite subrequest.
type call struct {
	o      *Org
	ver    string // "62.0"
	verN   int
	method string
	segs   []string // path segments after the version, unescaped
	query  url.Values
	header http.Header
	body   []byte
	tx     *orgdb.Tx // the composite's transaction, or nil: the handler runs its own
	// decoded is body as composite decoded it to resolve its references, when it is an
	// object: what decoding body again would give (see record), without a second decode.
	decoded map[string]any
}

// response is what a data handler answers.
type response struct {
	status   int
	body     []byte // JSON; nil for no body
	location string
	failed   bool // a collection whose allOrNone failed (for composite's allOrNone)
}

type handlerFunc func(c *call) response

func errResp(e *orgdb.Error) response {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	return response{status: status, body: appendErrors(nil, e)}
}

func jsonResp(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errResp(&orgdb.Error{Status: 500, Code: "UNKNOWN_EXCEPTION", Message: "An unexpected error occurred."})
	}
	return response{status: status, body: b}
}

func writeDataError(w http.ResponseWriter, status int, e *orgdb.Error) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(appendErrors(nil, e))
}

func methodNotAllowed(method, allowed string) *orgdb.Error {
	return &orgdb.Error{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
		Message: "HTTP Method '" + method + "' not allowed. Allowed are " + allowed}
}

// splitPath splits an escaped path into unescaped segments, ignoring a trailing slash.
func splitPath(escaped string) ([]string, bool) {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil, true
	}
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		if strings.IndexByte(s, '%') < 0 {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

// serveData serves /services/data/vNN.N/….
func (o *Org) serveData(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/")
	verSeg, tail, _ := strings.Cut(rest, "/")
	ver, verN, verOK := parseVersion(verSeg)
	segs, pathOK := splitPath(tail)
	c := &call{o: o, ver: ver, verN: verN, method: r.Method, segs: segs, query: r.URL.Query(), header: r.Header}
	kind, h, allowed := route(c)
	if !verOK || !pathOK {
		kind, h, allowed = KindUnknown, nil, ""
	}
	o.counters.add(kind, r.Method)
	if o.applyFaults(w, r) {
		return
	}
	if retiredVersion(verSeg) { // whatever the path and the session: the version itself is gone
		writeDataError(w, http.StatusGone, errRetiredVersion)
		return
	}
	if !verOK || !pathOK {
		writeDataError(w, http.StatusNotFound, errNotFound)
		return
	}
	if !o.validAccess(bearer(r)) {
		w.Header().Set("WWW-Authenticate", "Token")
		writeDataError(w, http.StatusUnauthorized, errInvalidSession)
		return
	}
	ok, used, max := o.usage.take(o.now())
	w.Header().Set("Sforce-Limit-Info", limitInfo(used, max))
	if !ok {
		writeDataError(w, http.StatusForbidden, errDailyLimit)
		return
	}
	if h == nil {
		if allowed != "" {
			writeDataError(w, http.StatusMethodNotAllowed, methodNotAllowed(r.Method, allowed))
		} else {
			writeDataError(w, http.StatusNotFound, errNotFound)
		}
		return
	}
	if isIngest(kind) { // reads its own body: job data is CSV, up to the upload limit
		o.serveIngest(w, r, c, kind)
		return
	}
	if r.Body != nil && r.Method != http.MethodGet {
		body, err := readBody(w, r)
		if err != nil {
			status := http.StatusRequestEntityTooLarge
			if errors.Is(err, os.ErrDeadlineExceeded) {
				status = http.StatusRequestTimeout
			}
			writeDataError(w, status, &orgdb.Error{Code: "JSON_PARSER_ERROR",
				Message: "The request body could not be read: " + err.Error()})
			return
		}
		c.body = body
	}
	resp := h(c)
	writeResponse(w, resp)
}

func writeResponse(w http.ResponseWriter, resp response) {
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	if resp.body != nil {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(resp.status)
	if resp.body != nil {
		_, _ = w.Write(resp.body)
	}
}

// route finds the handler for a call: its counter kind, the handler, or (handler nil) the
// methods allowed on the path ("" when the path does not exist).
func route(c *call) (Kind, handlerFunc, string) {
	s, m := c.segs, c.method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	get := func(k Kind, h handlerFunc) (Kind, handlerFunc, string) {
		if m == http.MethodGet {
			return k, h, ""
		}
		return k, nil, "GET,HEAD"
	}
	switch {
	case len(s) == 0:
		return get(KindResources, serveResources)
	case s[0] == "sobjects":
		switch len(s) {
		case 1:
			return get(KindDescribeGlobal, serveDescribeGlobal)
		case 2:
			switch m {
			case http.MethodPost:
				return KindCreate, serveCreate, ""
			case http.MethodGet:
				return KindSObjectInfo, serveSObjectInfo, ""
			}
			return KindSObjectInfo, nil, "GET,HEAD,POST"
		case 3:
			if s[2] == "describe" {
				return get(KindDescribe, serveDescribe)
			}
			switch m {
			case http.MethodGet:
				return KindRead, serveRead, ""
			case http.MethodPatch:
				return KindUpdate, serveUpdate, ""
			case http.MethodDelete:
				return KindDelete, serveDelete, ""
			}
			return KindRead, nil, "GET,HEAD,PATCH,DELETE"
		case 4:
			switch m {
			case http.MethodGet:
				return KindRead, serveReadByExternalID, ""
			case http.MethodPatch:
				return KindUpsert, serveUpsert, ""
			}
			return KindUpsert, nil, "GET,HEAD,PATCH"
		}
	case s[0] == "query" && len(s) == 1:
		return get(KindQuery, serveQuery)
	case s[0] == "queryAll" && len(s) == 1:
		return get(KindQueryAll, serveQueryAll)
	case (s[0] == "query" || s[0] == "queryAll") && len(s) == 2:
		return get(KindQueryMore, serveQueryMore)
	case s[0] == "tooling" && len(s) == 2 && s[1] == "query":
		return get(KindToolingQuery, serveToolingQuery)
	case s[0] == "tooling" && len(s) == 3 && s[1] == "query":
		return get(KindQueryMore, serveToolingQueryMore)
	case s[0] == "search" && len(s) == 1:
		return get(KindSearch, serveSearch)
	case s[0] == "parameterizedSearch" && len(s) == 1:
		if m == http.MethodGet || m == http.MethodPost {
			return KindParamSearch, serveParamSearch, ""
		}
		return KindParamSearch, nil, "GET,HEAD,POST"
	case s[0] == "jobs":
		return routeIngest(c)
	case s[0] == "limits" && len(s) == 1:
		return get(KindLimits, serveLimits)
	case s[0] == "composite" && len(s) == 1:
		if m == http.MethodPost {
			return KindComposite, serveComposite, ""
		}
		return KindComposite, nil, "POST"
	case s[0] == "composite" && s[1] == "sobjects":
		switch len(s) {
		case 2:
			switch m {
			case http.MethodPost:
				return KindCollections, serveCollectionCreate, ""
			case http.MethodPatch:
				return KindCollections, serveCollectionUpdate, ""
			case http.MethodDelete:
				return KindCollections, serveCollectionDelete, ""
			}
			return KindCollections, nil, "POST,PATCH,DELETE"
		case 3:
			if m == http.MethodPost { // ids and fields in a JSON body, for long id lists
				return KindCollections, serveCollectionRetrieve, ""
			}
			if m == http.MethodGet {
				return KindCollections, serveCollectionRetrieve, ""
			}
			return KindCollections, nil, "GET,HEAD,POST"
		case 4:
			if m == http.MethodPatch {
				return KindCollections, serveCollectionUpsert, ""
			}
			return KindCollections, nil, "PATCH"
		}
	}
	return KindUnknown, nil, ""
}

// run executes fn in the call's transaction, or in one of its own that is committed when fn
// answers a success and rolled back otherwise.
func (c *call) run(write bool, fn func(tx *orgdb.Tx) response) response {
	if c.tx != nil {
		c.tx.UseVersion(c.verN)
		return fn(c.tx)
	}
	tx := c.o.db.Begin(write)
	tx.UseVersion(c.verN) // what the call's API version sees of the schema
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	resp := fn(tx)
	done = true
	if resp.status < 300 && !resp.failed {
		tx.Commit()
	} else {
		tx.Rollback()
	}
	return resp
}

// decodeJSON decodes a request body (numbers as json.Number) into v.
func decodeJSON(body []byte, v any) *orgdb.Error { return decodeJSONLimited(body, v, 0) }

// decodeJSONLimited is decodeJSON refusing strings longer than maxString bytes (0: any).
func decodeJSONLimited(body []byte, v any, maxString int) *orgdb.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
			Message: "No content to map to Object due to end of input"}
	}
	if e := checkJSON(body, maxString); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
			Message: "Unexpected content after the end of the JSON value"}
	}
	return nil
}

// readBody reads a request body of at most maxBody bytes into a buffer of its declared size,
// so that reading it costs its size once (io.ReadAll doubles its buffer as it goes).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, maxBody)
	if r.ContentLength <= 0 || r.ContentLength > maxBody {
		return io.ReadAll(rd)
	}
	buf := make([]byte, r.ContentLength+1) // one more, to see a body longer than declared
	n, err := io.ReadFull(rd, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:n], err
}

func jsonError(err error) *orgdb.Error {
	msg := "Malformed JSON"
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		msg = "Unexpected character at offset " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error()
	case errors.As(err, &te):
		msg = "Cannot deserialize instance of " + te.Type.String() + " out of JSON " + te.Value
	}
	return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR", Message: msg}
}

// decodeRecord decodes a JSON object body into the fields map the data layer takes, without
// the "attributes" key.
// record is decodeRecord(c.body), from the object composite decoded when it has one: body is
// json.Marshal of that object, whose values are what encoding/json decodes with UseNumber
// (strings valid UTF-8, numbers as written), so decoding body again gives the same map.
func (c *call) record() (map[string]any, *orgdb.Error) {
	if c.decoded != nil {
		delete(c.decoded, "attributes")
		return c.decoded, nil
	}
	return decodeRecord(c.body)
}

func decodeRecord(body []byte) (map[string]any, *orgdb.Error) {
	var m map[string]any
	if e := decodeJSON(body, &m); e != nil {
		return nil, e
	}
	if m == nil {
		return nil, &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
			Message: "The request body must be a JSON object"}
	}
	delete(m, "attributes")
	return m, nil
}
