package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/metrics"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// newConsole builds the agents' console that m's configuration (console.*) describes, on m's
// engine. On the embedded fake org (where config refuses a connected app's console.* settings)
// agents sign in at the fake org with its demo client, as users of its org, and come back to
// m.URL's callback: so Run calls it once the listener's URL is known.
func newConsole(m *Main, engagements httpapi.EngagementReader, log *slog.Logger) (*console.Console, error) {
	k := m.Config.Console
	signIn := console.SignIn{LoginURL: k.LoginURL, ClientID: k.ClientID, ClientSecret: k.ClientSecret.Value(),
		RedirectURL: k.CallbackURL, OrgID: k.OrgID}
	if signIn.LoginURL == "" {
		signIn.LoginURL = m.Config.Salesforce.LoginURL
	}
	if m.FakeOrg != nil {
		if !loopbackURL(m.URL) {
			// The demo's callback is plain http, which the console allows (cookies without
			// Secure) and the fake org's demo client lists only on loopback.
			return nil, fmt.Errorf("on demo settings agents sign in over plain http, which only a loopback address may serve, but the service listens at %s: set server.addr to 127.0.0.1:PORT, or console.enabled to false", m.URL)
		}
		org := m.FakeOrg
		// The demo client's callbacks are loopback URLs on any port (fakeorg.DefaultCallbackURLs).
		signIn = console.SignIn{LoginURL: m.FakeOrgURL, ClientID: org.ClientID(), ClientSecret: org.ClientSecret(),
			RedirectURL: m.URL + fakeorg.ConsoleCallbackPath, OrgID: org.OrgID()}
	}
	return console.New(console.Config{Engine: m.Engine, Engagements: engagements, SignIn: signIn,
		Key: []byte(k.Key.Value()), FrameAncestors: k.FrameAncestors, InstanceURL: k.InstanceURL,
		SignInTTL: k.SessionTTL, Logger: log})
}

// loopbackURL reports whether u's host is a loopback address or localhost.
func loopbackURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	if h := pu.Hostname(); h != "localhost" {
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return true
}

// consoleURL is where the console of a service at base opens.
func consoleURL(base string) string { return strings.TrimSuffix(base, "/") + "/console/" }

// accessLog logs every request a mount serves, as httpapi's access log does the API's, and
// counts it in the metrics: the method, the route pattern, the status and the time taken. Never
// the path or the query: a console's screen pop carries the caller's phone number in its query,
// and its other paths carry sealed session handles.
//
// The route is the most specific pattern that served the request: a mount that routes with its
// own http.ServeMux (the console does) leaves its pattern in r.Pattern, since ServeMux sets it on
// the request it is given; otherwise (and when that mux matched nothing: its 404, 405 or
// redirect leaves r.Pattern empty) it is the mount's own pattern. Either way a pattern, never
// the path. A handler that panics is logged 500, whatever it wrote: the server aborts the
// answer (httpapi.NewServer).
func accessLog(next http.Handler, log *slog.Logger, met *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mount := r.Pattern
		sw := &httpapi.StatusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			status := sw.Status
			switch {
			case p != nil:
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = mount
			}
			elapsed := time.Since(start)
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method),
				slog.String("route", route), slog.Int("status", status), slog.Duration("elapsed", elapsed),
				slog.Int64("bytes", sw.Bytes))
			met.Request(route, "", status, elapsed)
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
