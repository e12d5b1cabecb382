package fakeorg

import (
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// The request log (Options.RequestLog, `idverify fake-org --log-requests`) writes one line per
// request: method, path, status and duration. It never writes a value: the path keeps only its
// fixed words (services, data, sobjects, query, …), versions, and the names of objects and
// fields the org has; any other segment (a record id, an external id value, a query locator, a
// name the org does not know) becomes {id} or {value}, and the query string keeps its
// parameter names without their values (so no SOQL, no token, no search text).

// logWords are the path segments logged as they are.
var logWords = map[string]bool{
	"services": true, "data": true, "oauth2": true, "token": true, "revoke": true, "userinfo": true,
	"id": true, "sobjects": true, "describe": true, "query": true, "queryAll": true, "search": true,
	"parameterizedSearch": true, "composite": true, "limits": true, "tooling": true,
	"_fakeorg": true, "counts": true, "faults": true, "expire-tokens": true, "daily-limit": true,
}

var (
	versionSegment = regexp.MustCompile(`^v[0-9]{2}\.0$`)
	idSegment      = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
)

// logRequests wraps h with the request log.
func (o *Org) logRequests(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			log.Info("request", "method", logMethod(r.Method), "path", o.logPath(r),
				"status", sw.status, "duration", time.Since(start).Round(time.Microsecond))
		}()
		h.ServeHTTP(sw, r)
	})
}

func logMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "{other}"
}

// logPath is the request's path with every segment that could carry a value replaced, and its
// query string reduced to the parameter names.
func (o *Org) logPath(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	var obj *orgdb.SObject // the last object named, whose fields may follow
	for i, s := range segs {
		if so, ok := o.db.Schema().Lookup(s); ok {
			obj = so
			continue
		}
		switch {
		case s == "" || logWords[s] || versionSegment.MatchString(s):
		case obj != nil && hasField(obj, s):
		case idSegment.MatchString(s):
			segs[i] = "{id}"
		default:
			segs[i] = "{value}"
		}
	}
	p := strings.Join(segs, "/")
	if q := r.URL.Query(); len(q) > 0 {
		names := make([]string, 0, len(q))
		for k := range q {
			if !isLogName(k) {
				k = "{name}"
			}
			names = append(names, k)
		}
		slices.Sort(names)
		p += "?" + strings.Join(slices.Compact(names), "&")
	}
	return p
}

func hasField(o *orgdb.SObject, name string) bool {
	_, ok := o.Field(name)
	return ok
}

// isLogName reports whether a query parameter name is short and plain enough to be logged.
func isLogName(k string) bool {
	if len(k) == 0 || len(k) > 40 {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '.' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a handler answers. Unwrap lets http.ResponseController
// reach the connection (the body read deadline).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
