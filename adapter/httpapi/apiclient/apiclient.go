// Package apiclient is a typed Go client of idverify's /v1 JSON API (docs/openapi.yaml): one
// method per endpoint, the API's problem details as a *Problem error. `idverify verify` drives
// a verification with it, and it suits any Go program that calls the API (tests included).
//
//	c, err := apiclient.New("http://127.0.0.1:8080", key)
//	s, err := c.Start(ctx, apiclient.StartRequest{Phone: "+44 20 7946 0001", Channel: "Voice Call"})
//	s, err = c.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: apiclient.Step{Version: s.Version}, Reason: "Change of address"})
//
// The client keeps no state: every step names the session and its version, as the API asks.
// It retries nothing by itself: a step is retried safely only with an IdempotencyKey.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes bounds an answer the client reads: the largest the API sends (a session
// with 50 results, the OpenAPI document) is far below it.
const MaxResponseBytes = 4 << 20

// Client calls one idverify server with one API key. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	http *http.Client
}

// Option changes a Client.
type Option func(*Client)

// WithHTTPClient sends the requests through hc (its Transport, Timeout, …) instead of a client
// with a 30-second timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a client of the server at baseURL (scheme and host, optionally a path prefix in
// front of /v1) that sends key as its bearer token.
func New(baseURL, key string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoted back: a URL may carry a password (ftp://user:secret@host).
		return nil, errors.New("apiclient: the server URL must be http(s)://host[:port]")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("apiclient: the server URL takes no query, fragment or user")
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Problem is an RFC 9457 problem details answer: the error of every failed call that reached
// the server. Code is the API's stable name for it (the Code* constants).
type Problem struct {
	Type           string     `json:"type"`
	Title          string     `json:"title"`
	Status         int        `json:"status"`
	Detail         string     `json:"detail,omitempty"`
	Code           string     `json:"code"`
	Field          string     `json:"field,omitempty"`
	Step           string     `json:"step,omitempty"`
	State          string     `json:"state,omitempty"`
	CurrentVersion uint64     `json:"current_version,omitempty"`
	LockedUntil    *time.Time `json:"locked_until,omitempty"`
	// RetryAfter is the Retry-After header's wait, when the answer has one.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "idverify API: %d %s", p.Status, p.Code)
	if p.Field != "" {
		fmt.Fprintf(&b, " (%s)", p.Field)
	}
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	return b.String()
}

// Some of the API's problem codes (docs/openapi.yaml lists them all).
const (
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeStepOutOfOrder   = "step_out_of_order"
	CodeVersionConflict  = "version_conflict"
	CodeSessionFinished  = "session_finished"
	CodeSessionExpired   = "session_expired"
	CodeInvalidValue     = "invalid_value"
	CodeNotInResults     = "not_in_results"
	CodePersonLocked     = "person_locked"
	CodeRateLimited      = "rate_limited"
	CodeIdempotencyInUse = "idempotency_key_in_use"
	CodeUnavailable      = "unavailable"
)

// IsCode reports whether err is a *Problem with code.
func IsCode(err error, code string) bool {
	var p *Problem
	return errors.As(err, &p) && p.Code == code
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

// Healthz reports whether the process is up.
func (c *Client) Healthz(ctx context.Context) (*Health, error) {
	return call[Health](ctx, c, http.MethodGet, "/healthz", nil, "")
}

// Readyz reports whether the service can take requests.
func (c *Client) Readyz(ctx context.Context) (*Health, error) {
	return call[Health](ctx, c, http.MethodGet, "/readyz", nil, "")
}

// Start starts a session.
func (c *Client) Start(ctx context.Context, req StartRequest) (*Session, error) {
	return call[Session](ctx, c, http.MethodPost, "/v1/sessions", req, req.IdempotencyKey)
}

// Get reads a session.
func (c *Client) Get(ctx context.Context, id string) (*Session, error) {
	return call[Session](ctx, c, http.MethodGet, sessionPath(id, ""), nil, "")
}

// Reason chooses the reason for the call.
func (c *Client) Reason(ctx context.Context, id string, req ReasonRequest) (*Session, error) {
	return c.step(ctx, id, StepReason, req, req.IdempotencyKey)
}

// Subject says whom the call is about.
func (c *Client) Subject(ctx context.Context, id string, req SubjectRequest) (*Session, error) {
	return c.step(ctx, id, StepSubject, req, req.IdempotencyKey)
}

// Search searches for the person of the current level.
func (c *Client) Search(ctx context.Context, id string, req SearchRequest) (*Session, error) {
	return c.step(ctx, id, StepSearch, req, req.IdempotencyKey)
}

// Select picks one of the last search's results.
func (c *Client) Select(ctx context.Context, id string, req SelectRequest) (*Session, error) {
	return c.step(ctx, id, StepSelect, req, req.IdempotencyKey)
}

// Answers submits what the caller said to check-mode questions.
func (c *Client) Answers(ctx context.Context, id string, req AnswersRequest) (*Session, error) {
	return c.step(ctx, id, StepAnswers, req, req.IdempotencyKey)
}

// Attest records the agent's verdicts on attest-mode questions.
func (c *Client) Attest(ctx context.Context, id string, req AttestationsRequest) (*Session, error) {
	return c.step(ctx, id, StepAttestations, req, req.IdempotencyKey)
}

// NotIdentified says the person of the current level cannot be identified.
func (c *Client) NotIdentified(ctx context.Context, id string, req Step) (*Session, error) {
	return c.step(ctx, id, StepNotIdentified, req, req.IdempotencyKey)
}

// Cancel cancels a session that has no outcome yet.
func (c *Client) Cancel(ctx context.Context, id string, req Step) (*Session, error) {
	return c.step(ctx, id, StepCancel, req, req.IdempotencyKey)
}

func (c *Client) step(ctx context.Context, id, step string, body any, key string) (*Session, error) {
	return call[Session](ctx, c, http.MethodPost, sessionPath(id, step), body, key)
}

func sessionPath(id, step string) string {
	p := "/v1/sessions/" + url.PathEscape(id)
	if step != "" {
		p += "/" + step
	}
	return p
}

// EngagementStatus reads who was verified on an engagement: name it by its external id (the
// CTI call id) or, with byID, by its Salesforce id.
func (c *Client) EngagementStatus(ctx context.Context, engagement string, byID bool) (*EngagementStatus, error) {
	q := url.Values{"external_id": {engagement}}
	if byID {
		q = url.Values{"id": {engagement}}
	}
	return call[EngagementStatus](ctx, c, http.MethodGet, "/v1/engagements/status?"+q.Encode(), nil, "")
}

// ResetLockout forgets a person's failures (an admin key only); reason is for the audit.
func (c *Client) ResetLockout(ctx context.Context, person, reason, idempotencyKey string) (*Reset, error) {
	return call[Reset](ctx, c, http.MethodPost, "/v1/admin/lockouts/"+url.PathEscape(person)+"/reset",
		struct {
			Reason string `json:"reason"`
		}{reason}, idempotencyKey)
}

// ListOutbox lists the undelivered writes with an id above after, at most limit of them (0:
// the server's default).
func (c *Client) ListOutbox(ctx context.Context, after int64, limit int) (*Outbox, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/admin/outbox"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return call[Outbox](ctx, c, http.MethodGet, path, nil, "")
}

// RetryOutbox makes a parked write due again.
func (c *Client) RetryOutbox(ctx context.Context, id int64, idempotencyKey string) error {
	_, err := call[struct{}](ctx, c, http.MethodPost, "/v1/admin/outbox/"+strconv.FormatInt(id, 10)+"/retry", nil, idempotencyKey)
	return err
}

// DiscardOutbox deletes a parked write.
func (c *Client) DiscardOutbox(ctx context.Context, id int64, idempotencyKey string) error {
	_, err := call[struct{}](ctx, c, http.MethodPost, "/v1/admin/outbox/"+strconv.FormatInt(id, 10)+"/discard", nil, idempotencyKey)
	return err
}

// call sends one request and decodes its answer into a T, or its problem into a *Problem.
func call[T any](ctx context.Context, c *Client, method, path string, body any, idempotencyKey string) (*T, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		// The *url.Error quotes the URL, whose path may hold a session id (a handle that
		// drives the session) or a person's record id: name the route instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("apiclient: %s %s: %w", method, route(path), err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("apiclient: reading the answer: %w", err)
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("apiclient: the answer is longer than %d bytes", MaxResponseBytes)
	}
	if res.StatusCode >= 400 {
		return nil, problemOf(res, data)
	}
	out := new(T)
	if res.StatusCode == http.StatusNoContent || len(data) == 0 {
		return out, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("apiclient: the answer to %s is not the JSON expected: %w", method, err)
	}
	return out, nil
}

// route is path with its query cut and the ids it names replaced by their parameters' names.
func route(path string) string {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/") // "", "v1", "sessions", id, step
	switch {
	case len(segs) > 3 && segs[1] == "v1" && segs[2] == "sessions":
		segs[3] = "{id}"
	case len(segs) > 4 && segs[1] == "v1" && segs[2] == "admin" && (segs[3] == "lockouts" || segs[3] == "outbox"):
		segs[4] = map[string]string{"lockouts": "{person}", "outbox": "{id}"}[segs[3]]
	}
	return strings.Join(segs, "/")
}

// problemOf reads a failed answer: problem details when it is one, else a Problem made from
// the status alone (a proxy's error page is not quoted).
func problemOf(res *http.Response, data []byte) *Problem {
	p := &Problem{}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || json.Unmarshal(data, p) != nil || p.Code == "" {
		p = &Problem{Status: res.StatusCode, Title: http.StatusText(res.StatusCode), Code: "http_" + strconv.Itoa(res.StatusCode)}
	}
	if p.Status == 0 {
		p.Status = res.StatusCode
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
		p.RetryAfter = time.Duration(s) * time.Second
	}
	return p
}
