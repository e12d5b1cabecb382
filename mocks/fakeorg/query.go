package fakeorg

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// Query page sizes (Sforce-Query-Options: batchSize=N).
const (
	defaultBatchSize = 2000
	minBatchSize     = 200
	maxBatchSize     = 2000
)

// cursor holds the rest of a query result for nextRecordsUrl: the result's row ids (18 bytes a
// row), not its records, which are built a page at a time.
type cursor struct {
	rows    *orgdb.Cursor
	batch   int
	tooling bool
	expires time.Time
}

type cursors struct {
	mu   sync.Mutex
	m    map[string]*cursor
	max  int // open cursors kept; the one closest to expiry is dropped beyond it
	rows int // rows held by the open cursors, against maxCursorRows
}

// maxCursorRows bounds the rows all open cursors hold together (18 bytes each: 36 MB): past it,
// the cursors closest to expiry are dropped, as past the count of cursors. A single result
// larger than that keeps a cursor of its own.
const maxCursorRows = 2_000_000

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newLocator returns a query locator shaped like Salesforce's (prefix 01g, 18 characters).
func newLocator() string {
	var buf [15]byte
	_, _ = rand.Read(buf[:])
	b := []byte("01g")
	for _, x := range buf {
		b = append(b, base62[int(x)%62])
	}
	return string(b)
}

func (cs *cursors) put(now time.Time, cur *cursor) string {
	loc := newLocator()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = make(map[string]*cursor)
	}
	n := cur.rows.Len()
	if len(cs.m) >= cs.max || cs.rows+n > maxCursorRows {
		for k, c := range cs.m {
			if !now.Before(c.expires) {
				cs.dropLocked(k)
			}
		}
	}
	for len(cs.m) > 0 && (len(cs.m) >= cs.max || cs.rows+n > maxCursorRows) {
		var oldest string
		var oldestExp time.Time
		for k, c := range cs.m {
			if oldest == "" || c.expires.Before(oldestExp) {
				oldest, oldestExp = k, c.expires
			}
		}
		cs.dropLocked(oldest)
	}
	cs.m[loc] = cur
	cs.rows += n
	return loc
}

func (cs *cursors) dropLocked(loc string) {
	if c, ok := cs.m[loc]; ok {
		cs.rows -= c.rows.Len()
		delete(cs.m, loc)
	}
}

// get returns a live cursor and extends its life.
func (cs *cursors) get(now time.Time, loc string, ttl time.Duration) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[loc]
	if !ok {
		return nil
	}
	if !now.Before(c.expires) {
		cs.dropLocked(loc)
		return nil
	}
	c.expires = now.Add(ttl)
	return c
}

func (cs *cursors) drop(loc string) {
	cs.mu.Lock()
	cs.dropLocked(loc)
	cs.mu.Unlock()
}

// batchSize reads Sforce-Query-Options: batchSize=N, clamped to 200..2000.
func batchSize(h http.Header) int {
	opts := h.Get("Sforce-Query-Options")
	if opts == "" {
		return defaultBatchSize
	}
	for _, kv := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return defaultBatchSize
		}
		return min(max(n, minBatchSize), maxBatchSize)
	}
	return defaultBatchSize
}

func (c *call) queryPath(tooling bool) string {
	if tooling {
		return "/services/data/v" + c.ver + "/tooling/query/"
	}
	return "/services/data/v" + c.ver + "/query/"
}

func serveQuery(c *call) response        { return runQuery(c, false, false) }
func serveQueryAll(c *call) response     { return runQuery(c, true, false) }
func serveToolingQuery(c *call) response { return runQuery(c, false, true) }

// toolingObject finds the FROM object of a tooling query and reports whether tooling/query
// serves it (the IdentityVerificationProc* objects).
func toolingObject(soql string) (string, bool) {
	f := strings.Fields(soql)
	for i := 0; i+1 < len(f); i++ {
		if strings.EqualFold(f[i], "FROM") {
			name := strings.TrimRight(f[i+1], ")")
			return name, strings.HasPrefix(strings.ToLower(name), "identityverificationproc")
		}
	}
	return "", true // no FROM: let the engine say what is wrong
}

// runQuery is GET query|queryAll|tooling/query ?q=SOQL: the first page, and a cursor for the rest.
func runQuery(c *call, all, tooling bool) response {
	q := c.query.Get("q")
	if strings.TrimSpace(q) == "" {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "MALFORMED_QUERY",
			Message: "A query string has to be specified"})
	}
	if tooling {
		if name, ok := toolingObject(q); !ok {
			return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_TYPE",
				Message: "sObject type '" + soql.Clip(name) + "' is not supported."})
		}
	}
	if c.query.Get("columns") == "true" {
		return serveColumns(c, q)
	}
	return c.run(false, func(tx *orgdb.Tx) response {
		res, e := tx.QueryCursor(q, all)
		if e != nil {
			return errResp(e)
		}
		batch := batchSize(c.header)
		recs, e := res.Records(tx, 0, batch)
		if e != nil {
			return errResp(e)
		}
		if res.Len() <= batch {
			return response{status: http.StatusOK,
				body: appendQueryResult(make([]byte, 0, 256+len(recs)*256), res.TotalSize, true, "", recs, c.ver)}
		}
		loc := c.o.cursors.put(c.o.now(), &cursor{rows: res, batch: batch,
			tooling: tooling, expires: c.o.now().Add(c.o.cursorTTL)})
		next := c.queryPath(tooling) + loc + "-" + strconv.Itoa(batch)
		return response{status: http.StatusOK,
			body: appendQueryResult(make([]byte, 0, 256+batch*256), res.TotalSize, false, next, recs, c.ver)}
	})
}

func serveQueryMore(c *call) response        { return queryMore(c, false) }
func serveToolingQueryMore(c *call) response { return queryMore(c, true) }

// queryMore is GET query/<locator>-<offset>: the next page of a cursor.
func queryMore(c *call, tooling bool) response {
	last := c.segs[len(c.segs)-1]
	i := strings.LastIndexByte(last, '-')
	var loc string
	offset := -1
	if i > 0 {
		loc = last[:i]
		if n, err := strconv.Atoi(last[i+1:]); err == nil {
			offset = n
		}
	}
	cur := c.o.cursors.get(c.o.now(), loc, c.o.cursorTTL)
	if cur == nil || offset < 0 || offset > cur.rows.Len() || cur.tooling != tooling {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "INVALID_QUERY_LOCATOR",
			Message: "invalid query locator"})
	}
	end := min(offset+cur.batch, cur.rows.Len())
	return c.run(false, func(tx *orgdb.Tx) response {
		page, e := cur.rows.Records(tx, offset, end)
		if e != nil {
			return errResp(e)
		}
		done := end == cur.rows.Len()
		next := ""
		if done {
			c.o.cursors.drop(loc)
		} else {
			next = c.queryPath(tooling) + loc + "-" + strconv.Itoa(end)
		}
		return response{status: http.StatusOK,
			body: appendQueryResult(make([]byte, 0, 256+len(page)*256), cur.rows.TotalSize, done, next, page, c.ver)}
	})
}

func searchResult(recs []*orgdb.Record, ver string) []byte {
	b := append(make([]byte, 0, 64+len(recs)*256), `{"searchRecords":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, r, ver)
	}
	return append(b, "]}"...)
}

// serveSearch is GET search?q=SOSL.
func serveSearch(c *call) response {
	q := c.query.Get("q")
	if strings.TrimSpace(q) == "" {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "MALFORMED_SEARCH",
			Message: "No search term found. The search term must be enclosed in braces."})
	}
	return c.run(false, func(tx *orgdb.Tx) response {
		recs, e := tx.Search(q)
		if e != nil {
			return errResp(e)
		}
		return response{status: http.StatusOK, body: searchResult(recs, c.ver)}
	})
}

// paramSearchBody is the POST body of parameterizedSearch.
type paramSearchBody struct {
	Q        string   `json:"q"`
	In       string   `json:"in"`
	Fields   []string `json:"fields"`
	SObjects []struct {
		Name   string   `json:"name"`
		Fields []string `json:"fields"`
		Where  string   `json:"where"`
		Limit  int      `json:"limit"`
	} `json:"sobjects"`
	OverallLimit int `json:"overallLimit"`
}

// serveParamSearch is parameterizedSearch: GET with q=, sobject=, X.fields=, X.limit=, fields=,
// in=, overallLimit=; or POST with the JSON body.
func serveParamSearch(c *call) response {
	var p orgdb.SearchParams
	if c.method == http.MethodPost {
		var body paramSearchBody
		if e := decodeJSON(c.body, &body); e != nil {
			return errResp(e)
		}
		p = orgdb.SearchParams{Q: body.Q, In: strings.ToUpper(body.In), Fields: body.Fields, Limit: body.OverallLimit}
		for _, so := range body.SObjects {
			p.Objects = append(p.Objects, orgdb.SearchObject{Name: so.Name, Fields: so.Fields, Where: so.Where, Limit: so.Limit})
		}
		p.Options = json.RawMessage(c.body)
	} else {
		q := c.query
		p = orgdb.SearchParams{Q: q.Get("q"), In: strings.ToUpper(q.Get("in")), Fields: fieldsParam(q.Get("fields"))}
		p.Limit, _ = strconv.Atoi(q.Get("overallLimit"))
		for _, name := range q["sobject"] {
			so := orgdb.SearchObject{Name: name, Fields: fieldsParam(q.Get(name + ".fields")), Where: q.Get(name + ".where")}
			so.Limit, _ = strconv.Atoi(q.Get(name + ".limit"))
			p.Objects = append(p.Objects, so)
		}
	}
	if strings.TrimSpace(p.Q) == "" {
		return errResp(&orgdb.Error{Status: http.StatusBadRequest, Code: "MALFORMED_SEARCH",
			Message: "Missing or invalid parameter: q"})
	}
	if p.In == "" {
		p.In = "ALL"
	}
	return c.run(false, func(tx *orgdb.Tx) response {
		recs, e := tx.ParameterizedSearch(p)
		if e != nil {
			return errResp(e)
		}
		return response{status: http.StatusOK, body: searchResult(recs, c.ver)}
	})
}
