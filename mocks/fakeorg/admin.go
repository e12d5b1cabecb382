package fakeorg

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The admin endpoint, served only to loopback clients (404 otherwise):
//
//	GET    /_fakeorg/counts                request counters (Counts as JSON)
//	DELETE /_fakeorg/counts                ResetCounts
//	GET    /_fakeorg/faults                the active faults
//	POST   /_fakeorg/faults                AddFault; body adminFault; answers {"id":N}
//	DELETE /_fakeorg/faults                ClearFaults
//	DELETE /_fakeorg/faults/{id}           RemoveFault
//	POST   /_fakeorg/expire-tokens         ExpireTokens
//	GET    /_fakeorg/daily-limit           {"used":N,"max":N}
//	POST   /_fakeorg/daily-limit           body {"max":N} sets the limit; {"exhaust":true} uses it up
//	DELETE /_fakeorg/daily-limit           ResetDailyUsage

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

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (o *Org) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		writeDataError(w, http.StatusNotFound, errNotFound)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_fakeorg"), "/")
	res, arg, _ := strings.Cut(rest, "/")
	switch {
	case res == "counts" && arg == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, o.Counts())
	case res == "counts" && arg == "" && r.Method == http.MethodDelete:
		o.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	case res == "faults" && arg == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, o.listFaults())
	case res == "faults" && arg == "" && r.Method == http.MethodPost:
		var af adminFault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&af); err != nil {
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
	case res == "faults" && r.Method == http.MethodDelete:
		if arg == "" {
			o.ClearFaults()
		} else {
			id, err := strconv.Atoi(arg)
			if err != nil {
				adminError(w, http.StatusBadRequest, "bad fault id")
				return
			}
			o.RemoveFault(id)
		}
		w.WriteHeader(http.StatusNoContent)
	case res == "expire-tokens" && r.Method == http.MethodPost:
		o.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	case res == "daily-limit" && r.Method == http.MethodGet:
		used, max := o.APIUsage()
		writeJSON(w, http.StatusOK, map[string]int64{"used": used, "max": max})
	case res == "daily-limit" && r.Method == http.MethodPost:
		var body struct {
			Max     int64 `json:"max"`
			Exhaust bool  `json:"exhaust"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Max < 0 {
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
	case res == "daily-limit" && r.Method == http.MethodDelete:
		o.ResetDailyUsage()
		w.WriteHeader(http.StatusNoContent)
	default:
		adminError(w, http.StatusNotFound, "no such admin resource")
	}
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
