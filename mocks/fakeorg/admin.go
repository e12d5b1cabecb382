package fakeorg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The admin endpoint /_fakeorg/ drives the org from outside: request counters, fault injection,
// expired tokens, the daily limit. It answers only a request that
//   - comes from a loopback address (the connection's, never a header's), and
//   - names a loopback host in its Host header (localhost, 127.0.0.0/8, [::1]), so that a web
//     page cannot reach it by DNS rebinding (a name of the attacker's resolving to 127.0.0.1),
//
// and any other request gets 404, as if it did not exist. A POST must carry a JSON body
// (Content-Type: application/json), which a browser sends cross-site only after a CORS
// preflight the endpoint never grants: so a page on the developer's machine cannot drive it with
// a simple form or text/plain request (415 otherwise). GET /_fakeorg/ lists the resources, one a
// line (adminRoutes).

// adminRoute is one resource of the admin endpoint.
type adminRoute struct {
	method, path, doc string
	serve             func(o *Org, w http.ResponseWriter, r *http.Request, arg string)
}

// adminRoutes are the admin resources; {id} stands for the last path segment. The index's
// serve is nil (serveAdmin lists adminRoutes itself).
var adminRoutes = []adminRoute{
	{"GET", "", "this list, one resource a line", nil},
	{"GET", "counts", "request counters (Counts as JSON)", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		writeJSON(w, http.StatusOK, o.Counts())
	}},
	{"DELETE", "counts", "reset the request counters", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		o.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	}},
	{"GET", "faults", "the active faults", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		writeJSON(w, http.StatusOK, o.listFaults())
	}},
	{"POST", "faults", `add a fault, e.g. {"path":"*/query","failure":"server-unavailable","times":1}; answers {"id":N}`, serveAddFault},
	{"DELETE", "faults", "remove every fault", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		o.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	}},
	{"DELETE", "faults/{id}", "remove one fault", func(o *Org, w http.ResponseWriter, _ *http.Request, arg string) {
		id, err := strconv.Atoi(arg)
		if err != nil {
			adminError(w, http.StatusBadRequest, "bad fault id")
			return
		}
		o.RemoveFault(id)
		w.WriteHeader(http.StatusNoContent)
	}},
	{"GET", "callbacks", "the connected app's callback URLs (web server flow)", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		writeJSON(w, http.StatusOK, o.CallbackURLs())
	}},
	{"POST", "callbacks", `register a callback URL, e.g. {"url":"https://console.example/console/oauth/callback"}`, func(o *Org, w http.ResponseWriter, r *http.Request, _ string) {
		var body struct {
			URL string `json:"url"`
		}
		if err := decodeAdmin(w, r, &body); err != nil {
			adminError(w, http.StatusBadRequest, "bad callback: "+err.Error())
			return
		}
		if err := o.AddCallbackURL(body.URL); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}},
	{"POST", "expire-tokens", "end every access session now (refresh tokens stay valid)", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		o.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	}},
	{"GET", "daily-limit", `daily API usage: {"used":N,"max":N}`, func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		used, max := o.APIUsage()
		writeJSON(w, http.StatusOK, map[string]int64{"used": used, "max": max})
	}},
	{"POST", "daily-limit", `{"max":N} sets the daily limit; {"exhaust":true} uses it up`, serveDailyLimit},
	{"DELETE", "daily-limit", "reset the daily usage", func(o *Org, w http.ResponseWriter, _ *http.Request, _ string) {
		o.ResetDailyUsage()
		w.WriteHeader(http.StatusNoContent)
	}},
}

// adminFault is a Fault on the wire; latency is a Go duration ("250ms").
type adminFault struct {
	ID      int     `json:"id,omitempty"`
	Path    string  `json:"path,omitempty"`
	Method  string  `json:"method,omitempty"`
	Latency string  `json:"latency,omitempty"`
	Failure Failure `json:"failure,omitempty"`
	Status  int     `json:"status,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
	Times   int     `json:"times,omitempty"`
	Left    int     `json:"left,omitempty"`
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackHost reports whether a Host header names this machine: localhost, or a loopback
// address, with or without a port.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (o *Org) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) || !isLoopbackHost(r.Host) {
		writeDataError(w, http.StatusNotFound, errNotFound)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_fakeorg"), "/")
	res, arg, _ := strings.Cut(rest, "/")
	path := res
	if arg != "" {
		path += "/{id}"
	}
	allowed := ""
	for _, rt := range adminRoutes {
		if rt.path != path {
			continue
		}
		if rt.method != r.Method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
			allowed += "," + rt.method
			continue
		}
		if r.Method == http.MethodPost {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				adminError(w, http.StatusUnsupportedMediaType, "the admin endpoint takes JSON bodies only (Content-Type: application/json)")
				return
			}
		}
		if rt.serve == nil {
			serveAdminIndex(w)
			return
		}
		rt.serve(o, w, r, arg)
		return
	}
	if allowed != "" {
		w.Header().Set("Allow", allowed[1:])
		adminError(w, http.StatusMethodNotAllowed, "method not allowed; allowed: "+allowed[1:])
		return
	}
	adminError(w, http.StatusNotFound, "no such admin resource; GET /_fakeorg/ lists them")
}

// serveAdminIndex lists the admin resources, one a line.
func serveAdminIndex(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rt := range adminRoutes {
		fmt.Fprintf(tw, "%s\t/_fakeorg/%s\t%s\n", rt.method, rt.path, rt.doc)
	}
	_ = tw.Flush()
}

// decodeAdmin decodes a small JSON body; an empty body decodes as {}.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) error {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func serveAddFault(o *Org, w http.ResponseWriter, r *http.Request, _ string) {
	var af adminFault
	if err := decodeAdmin(w, r, &af); err != nil {
		adminError(w, http.StatusBadRequest, "bad fault: "+err.Error())
		return
	}
	f := Fault{Path: af.Path, Method: af.Method, Failure: af.Failure, Status: af.Status, Rate: af.Rate, Times: af.Times}
	if af.Latency != "" {
		d, err := time.ParseDuration(af.Latency)
		if err != nil {
			adminError(w, http.StatusBadRequest, "bad latency: "+err.Error())
			return
		}
		f.Latency = d
	}
	id, err := o.AddFault(f)
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"id": id})
}

func serveDailyLimit(o *Org, w http.ResponseWriter, r *http.Request, _ string) {
	var body struct {
		Max     int64 `json:"max"`
		Exhaust bool  `json:"exhaust"`
	}
	if err := decodeAdmin(w, r, &body); err != nil || body.Max < 0 {
		adminError(w, http.StatusBadRequest, `want {"max":N} or {"exhaust":true}`)
		return
	}
	if body.Max > 0 {
		o.SetDailyAPILimit(body.Max)
	}
	if body.Exhaust {
		o.ExhaustDailyLimit()
	}
	used, max := o.APIUsage()
	writeJSON(w, http.StatusOK, map[string]int64{"used": used, "max": max})
}

func (o *Org) listFaults() []adminFault {
	fs := &o.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]adminFault, 0, len(fs.list))
	for _, a := range fs.list {
		af := adminFault{ID: a.id, Path: a.f.Path, Method: a.f.Method, Failure: a.f.Failure,
			Status: a.f.Status, Rate: a.f.Rate, Times: a.f.Times, Left: a.left}
		if a.f.Latency > 0 {
			af.Latency = a.f.Latency.String()
		}
		out = append(out, af)
	}
	return out
}
