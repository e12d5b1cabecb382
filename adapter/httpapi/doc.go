// Package httpapi is idverify's JSON API for softphone (CTI) plugins: a session's steps over
// HTTP under /v1, each a call of the flows engine, with API keys, rate limits, CORS,
// Idempotency-Key and RFC 9457 problem details. docs/openapi.yaml describes it and is served at
// /v1/openapi.json.
//
//	h, err := httpapi.New(httpapi.Config{Engine: e, Store: st, Idempotency: st, Keys: keys, Logger: log})
//	if err != nil { ... }
//	srv := httpapi.NewServer(":8080", h, httpapi.DefaultTimeouts, log)
//	go srv.ListenAndServe()
//
// The files split it by reason to change: errors.go (the one table from errors to HTTP),
// httpapi.go (configuration, routes, middleware), sessions.go (a session's steps),
// views.go (what the JSON holds), admin.go (lockouts and the outbox), engagements.go (the
// verified status of an engagement), idempotency.go (Idempotency-Key), access.go (keys, rate
// limits, CORS, headers) and server.go (the http.Server and its timeouts).
package httpapi
