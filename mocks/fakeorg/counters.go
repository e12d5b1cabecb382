package fakeorg

import (
	"strconv"
	"sync"
	"time"
)

// Kind names the kind of endpoint a request went to, for the request counters.
type Kind string

// The endpoint kinds the org counts.
const (
	KindToken          Kind = "token"     // POST /services/oauth2/token (every grant type)
	KindAuthorize      Kind = "authorize" // /services/oauth2/authorize: the login page and its form
	KindRevoke         Kind = "revoke"    // /services/oauth2/revoke
	KindIdentity       Kind = "identity"  // GET /id/<org>/<user>
	KindUserinfo       Kind = "userinfo"  // /services/oauth2/userinfo
	KindSOAP           Kind = "soap"      // POST /services/Soap/{u,c}/NN.0: login()
	KindVersions       Kind = "versions"  // GET /services/data/
	KindResources      Kind = "resources"
	KindDescribeGlobal Kind = "describe-global"
	KindSObjectInfo    Kind = "sobject-info" // GET sobjects/X
	KindDescribe       Kind = "describe"
	KindCreate         Kind = "sobject-create"
	KindRead           Kind = "sobject-read" // by id or by external id
	KindUpdate         Kind = "sobject-update"
	KindDelete         Kind = "sobject-delete"
	KindUpsert         Kind = "sobject-upsert"
	KindQuery          Kind = "query"
	KindQueryAll       Kind = "queryAll"
	KindQueryMore      Kind = "query-more" // GET nextRecordsUrl
	KindSearch         Kind = "search"
	KindParamSearch    Kind = "parameterized-search"
	KindComposite      Kind = "composite"
	KindCollections    Kind = "collections"
	KindLimits         Kind = "limits"
	KindToolingQuery   Kind = "tooling-query"
	KindIngestJobs     Kind = "ingest-jobs"    // POST, GET jobs/ingest: create a Bulk API 2.0 job, list jobs
	KindIngestJob      Kind = "ingest-job"     // GET, PATCH, DELETE jobs/ingest/{id}
	KindIngestData     Kind = "ingest-data"    // PUT jobs/ingest/{id}/batches: the job data
	KindIngestResults  Kind = "ingest-results" // GET jobs/ingest/{id}/successfulResults|failedResults|unprocessedrecords
	KindUnknown        Kind = "unknown"        // anything that answered 404 before reaching a resource
)

// Counts is a snapshot of the request counters.
type Counts struct {
	Total  int64                     `json:"total"`
	ByKind map[Kind]map[string]int64 `json:"byKind"` // kind → HTTP method → requests
}

// Kind returns the requests of one kind, whatever their method.
func (c Counts) Kind(k Kind) int64 {
	var n int64
	for _, v := range c.ByKind[k] {
		n += v
	}
	return n
}

type countKey struct {
	kind   Kind
	method string
}

type counters struct {
	mu    sync.Mutex
	total int64
	by    map[countKey]int64
}

func (c *counters) add(k Kind, method string) {
	c.mu.Lock()
	if c.by == nil {
		c.by = make(map[countKey]int64)
	}
	c.by[countKey{k, method}]++
	c.total++
	c.mu.Unlock()
}

// Counts returns a snapshot of the request counters: every request the org answered except
// those to the admin endpoint, by endpoint kind and method. A composite request counts once.
func (o *Org) Counts() Counts {
	c := &o.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Counts{Total: c.total, ByKind: make(map[Kind]map[string]int64)}
	for k, n := range c.by {
		m := out.ByKind[k.kind]
		if m == nil {
			m = make(map[string]int64)
			out.ByKind[k.kind] = m
		}
		m[k.method] = n
	}
	return out
}

// Count returns the number of requests of one kind, whatever their method.
func (o *Org) Count(k Kind) int64 {
	c := &o.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for key, v := range c.by {
		if key.kind == k {
			n += v
		}
	}
	return n
}

// ResetCounts sets every request counter to zero. It does not touch the daily API usage.
func (o *Org) ResetCounts() {
	c := &o.counters
	c.mu.Lock()
	c.total = 0
	clear(c.by)
	c.mu.Unlock()
}

// apiUsage is the DailyApiRequests limit: calls used today (UTC) out of max.
type apiUsage struct {
	mu   sync.Mutex
	day  int64 // days since the epoch of the last call
	used int64
	max  int64
}

// take counts one API call and reports whether it is within the limit, and the usage after it.
func (u *apiUsage) take(now time.Time) (ok bool, used, max int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.roll(now)
	if u.used >= u.max {
		return false, u.used, u.max
	}
	u.used++
	return true, u.used, u.max
}

func (u *apiUsage) snapshot(now time.Time) (used, max int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.roll(now)
	return u.used, u.max
}

func (u *apiUsage) roll(now time.Time) {
	day := now.Unix() / 86400
	if day != u.day {
		u.day, u.used = day, 0
	}
}

// limitInfo is the value of the Sforce-Limit-Info header.
func limitInfo(used, max int64) string {
	b := make([]byte, 0, 40)
	b = append(b, "api-usage="...)
	b = strconv.AppendInt(b, used, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, max, 10)
	return string(b)
}

// APIUsage returns the daily API requests used today and the daily maximum.
func (o *Org) APIUsage() (used, max int64) { return o.usage.snapshot(o.now()) }

// SetDailyAPILimit changes the daily maximum (DailyApiRequests Max); max must be positive.
func (o *Org) SetDailyAPILimit(max int64) {
	if max <= 0 {
		return
	}
	o.usage.mu.Lock()
	o.usage.max = max
	o.usage.mu.Unlock()
}

// ExhaustDailyLimit uses up today's API requests: every data call gets 403 REQUEST_LIMIT_EXCEEDED
// until the UTC day changes, the limit is raised, or ResetDailyUsage is called.
func (o *Org) ExhaustDailyLimit() {
	u := &o.usage
	u.mu.Lock()
	u.roll(o.now())
	u.used = u.max
	u.mu.Unlock()
}

// ResetDailyUsage sets today's API usage to zero.
func (o *Org) ResetDailyUsage() {
	u := &o.usage
	u.mu.Lock()
	u.roll(o.now())
	u.used = 0
	u.mu.Unlock()
}
