package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/idverify/idverify/flows"
)

// Who may call, how often, from which browser origin, and what every answer carries.

// APIKey is one client's key as the configuration names it.
type APIKey struct {
	// Name identifies the client: the actor in the engine's audit, the key in the access log
	// and the metrics. At most 64 letters, digits and . _ - @ :.
	Name string
	// SHA256 is the SHA-256 of the key as 64 hex digits: the key itself is never configured.
	// Keys are random (32 bytes or more), so an unsalted hash is enough.
	SHA256 string
	// Admin lets the key call the admin endpoints.
	Admin bool
}

// HashKey returns the SHA-256 of key in hex, as APIKey.SHA256 holds it.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type apiKey struct {
	name  string
	hash  [sha256.Size]byte
	admin bool
	limit *rate.Limiter
}

var keyName = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

func parseKeys(keys []APIKey) ([]apiKey, error) {
	out := make([]apiKey, 0, len(keys))
	var errs []error
	names := map[string]bool{}
	for i, k := range keys {
		h, err := hex.DecodeString(k.SHA256)
		switch {
		case !keyName.MatchString(k.Name):
			errs = append(errs, fmt.Errorf("httpapi: key %d: the name must be 1 to 64 letters, digits or . _ - @ :", i))
		case names[k.Name]:
			errs = append(errs, fmt.Errorf("httpapi: key %d: the name %q is taken", i, k.Name))
		case err != nil || len(h) != sha256.Size:
			errs = append(errs, fmt.Errorf("httpapi: key %q: SHA256 must be 64 hex digits", k.Name))
		default:
			names[k.Name] = true
			out = append(out, apiKey{name: k.Name, hash: [sha256.Size]byte(h), admin: k.Admin})
		}
	}
	return out, errors.Join(errs...)
}

// maxKeyLen bounds the key a request presents: a longer one is no key of ours.
const maxKeyLen = 512

// lookupKey returns the key whose hash is the presented key's, or nil. Every configured hash
// is compared, in constant time, whichever matches.
func (a *API) lookupKey(presented string) *apiKey {
	if presented == "" || len(presented) > maxKeyLen {
		return nil
	}
	sum := sha256.Sum256([]byte(presented))
	var found *apiKey
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], a.keys[i].hash[:]) == 1 {
			found = &a.keys[i]
		}
	}
	return found
}

// publicPaths are answered without a key.
var publicPaths = map[string]bool{"/healthz": true, "/readyz": true}

// authenticate admits a request with a known API key (Authorization: Bearer <key>) within its
// key's rate limit; the health checks need none.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		scheme, presented, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		var key *apiKey
		if strings.EqualFold(scheme, "Bearer") {
			key = a.lookupKey(strings.TrimSpace(presented))
		}
		if key == nil {
			a.fail(w, r, &apiError{kind: errUnauthorized, detail: "send a valid API key as Authorization: Bearer <key>"}, "")
			return
		}
		infoOf(r).key = key
		if wait, ok := allow(key.limit); !ok {
			a.metrics.Limited("key")
			a.fail(w, r, &apiError{kind: errRateLimited, retryAfter: wait, detail: "too many requests with this API key"}, "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsPreflight answers browsers from the allowed origins: the CORS headers on every answer,
// and the preflight requests (which carry no key) at once. Other origins get no CORS header,
// so a browser does not let their pages read an answer; their preflights are refused.
func (a *API) corsPreflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !a.cors[origin] {
			if preflight {
				a.fail(w, r, &apiError{kind: errOrigin, detail: "the origin is not in server.cors_origins"}, "")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Location, Retry-After, Idempotent-Replayed, X-Request-Id")
		if preflight {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headers sets the security headers of every answer. Answers hold personal data an agent may
// see: nothing may cache them, sniff them, frame them or leak their URL.
func (a *API) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-site")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}

// access logs every request and observes it in the metrics: its id (also the X-Request-Id
// header), method, route pattern (never the path, which holds ids), status, time taken, bytes
// and the API key's name. A panic is logged by its type and answered 500.
func (a *API) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		id := rand.Text()[:16]
		w.Header().Set("X-Request-Id", id)
		sw := &StatusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.ErrorContext(r.Context(), "panic", "id", id, "route", info.route, "type", fmt.Sprintf("%T", p))
				if sw.Status == 0 {
					a.fail(sw, r, errPanic, "")
				}
			}
			elapsed := time.Since(start)
			name := ""
			if info.key != nil {
				name = info.key.name
			}
			status := sw.Status
			if status == 0 {
				status = http.StatusOK
			}
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("id", id), slog.String("method", r.Method),
				slog.String("route", info.route), slog.Int("status", status), slog.Duration("elapsed", elapsed),
				slog.Int64("bytes", sw.Bytes), slog.String("key", name))
			a.metrics.Request(info.route, name, status, elapsed)
		}()
		next.ServeHTTP(sw, r)
	})
}

// errPanic is what a panicking handler is answered with: no entry maps it (500).
var errPanic = errors.New("handler panicked")

// StatusWriter records the status and size of an answer, for an access log: the API's, and
// serve's for the handlers it mounts beside the API.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status written (0 until one is), Bytes the body's size so far.
	Status int
	Bytes  int64
}

// WriteHeader implements http.ResponseWriter.
func (w *StatusWriter) WriteHeader(status int) {
	if w.Status == 0 {
		w.Status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Limits are the rate limits: token buckets kept in each replica's memory. They bound load and
// guessing speed; the lockout (in the store, shared by every replica) is what bounds the
// wrong answers on a person overall.
type Limits struct {
	// KeyPerSecond and KeyBurst bound the requests of one API key; zero means 100 and 200.
	KeyPerSecond float64
	KeyBurst     int
	// PersonPerMinute and PersonBurst bound the answer steps (answers and attestations) on
	// one person record, whoever sends them; zero means 10 and 5.
	PersonPerMinute float64
	PersonBurst     int
}

type limiters struct {
	personRate  rate.Limit
	personBurst int
	mu          sync.Mutex
	persons     map[string]*rate.Limiter
	swept       time.Time
}

// maxLimitedPersons bounds the persons whose buckets are kept between sweeps.
const maxLimitedPersons = 1 << 16

func newLimiters(l Limits) *limiters {
	return &limiters{personRate: rate.Limit(orDefault(l.PersonPerMinute, 10) / 60), personBurst: orDefault(l.PersonBurst, 5),
		persons: map[string]*rate.Limiter{}}
}

// keyLimiter returns the bucket of one API key.
func keyLimiter(l Limits) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(orDefault(l.KeyPerSecond, 100)), orDefault(l.KeyBurst, 200))
}

// person takes a token from person's bucket and returns the function that gives it back; when
// there is none it reports how long to wait.
func (l *limiters) person(person string) (refund func(), wait time.Duration, ok bool) {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute || len(l.persons) >= maxLimitedPersons {
		// A full bucket is as good as a new one: forget it.
		for p, lim := range l.persons {
			if lim.TokensAt(now) >= float64(l.personBurst) {
				delete(l.persons, p)
			}
		}
		l.swept = now
	}
	lim := l.persons[person]
	if lim == nil {
		lim = rate.NewLimiter(l.personRate, l.personBurst)
		l.persons[person] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, d, false
	}
	// Cancelling at the time reserved gives the token back even after the step ran (Cancel
	// at a later time would count it as used).
	return func() { res.CancelAt(now) }, 0, true
}

// allow takes a token from lim now, or reports how long until one is there.
func allow(lim *rate.Limiter) (time.Duration, bool) {
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}

// personCache remembers the person each session was at, by version, from the sessions the API
// answered with: an answer step's person is known without reading the session again.
type personCache struct {
	mu   sync.Mutex
	max  int
	seen map[string]sessionPerson
}

type sessionPerson struct {
	version uint64
	person  string
}

const personCacheSize = 1 << 16

func newPersonCache(max int) *personCache {
	return &personCache{max: max, seen: map[string]sessionPerson{}}
}

// remember notes v's person while v is at its questions.
func (c *personCache) remember(v *flows.View) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v.State != flows.StateQuestions {
		delete(c.seen, v.Session)
		return
	}
	if len(c.seen) >= c.max {
		clear(c.seen) // a miss costs one read of the session
	}
	c.seen[v.Session] = sessionPerson{version: v.Version, person: v.Record.ID}
}

// lookup returns the person of session at version, if remembered.
func (c *personCache) lookup(session string, version uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sp, ok := c.seen[session]
	if !ok || sp.version != version {
		return "", false
	}
	return sp.person, true
}
