package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Timeouts bound the phases of a connection (http.Server's fields of the same names): a slow
// or stalled client holds a connection no longer than these.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers; Read bounds reading the whole request.
	ReadHeader, Read time.Duration
	// Write bounds handling a request and writing its answer (from the end of its headers);
	// keep Config.RequestTimeout below it.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for the next request.
	Idle time.Duration
}

// DefaultTimeouts are config's defaults (server.read_header_timeout and the like).
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}

// MaxHeaderBytes bounds a request's headers.
const MaxHeaderBytes = 32 << 10

// NewServer returns an http.Server for h on addr with every phase bounded by t (a zero field
// takes DefaultTimeouts'), and the server's own errors (TLS handshakes, broken connections)
// logged through log at warn level (nil discards them). A panic in h (the API answers its own
// with a 500; a handler mounted beside it may not) is logged by its type only and aborts its
// answer: net/http would log the panic's value, which may hold anything. The caller starts and
// shuts the server down.
func NewServer(addr string, h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           recoverPanics(h, log),
		ReadHeaderTimeout: orDefault(t.ReadHeader, DefaultTimeouts.ReadHeader),
		ReadTimeout:       orDefault(t.Read, DefaultTimeouts.Read),
		WriteTimeout:      orDefault(t.Write, DefaultTimeouts.Write),
		IdleTimeout:       orDefault(t.Idle, DefaultTimeouts.Idle),
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// recoverPanics logs a panic of h by its type and aborts the answer with http.ErrAbortHandler,
// which net/http does not log.
func recoverPanics(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					log.ErrorContext(r.Context(), "panic", "type", fmt.Sprintf("%T", p))
				}
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
