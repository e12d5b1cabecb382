package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
)

// Hook is one receiver of events.
type Hook struct {
	// Name is the subscriber's name (flows.Subscription.Name, config's webhooks[].name).
	Name string
	// URL is where events are POSTed: https, or http to a receiver inside your network (with
	// AllowPrivate).
	URL string
	// Secret keys the signature.
	Secret []byte
	// AllowPrivate lets the URL reach loopback, private, link-local and other non-public
	// addresses (see Blocked), and lets it be plain http, to those addresses only.
	AllowPrivate bool
}

// Options tune a Sender; zero values mean the defaults.
type Options struct {
	// Timeout bounds one delivery: connecting, sending and reading the answer. 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Now is the clock the signatures are dated by; nil means time.Now.
	Now func() time.Time
	// Log gets one line per refused delivery (the webhook's name and the code, never a URL's
	// query or an answer's body); nil discards.
	Log *slog.Logger
}

// DefaultTimeout bounds a delivery when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxAnswer bounds how much of a receiver's answer is read: its status is all that matters.
const maxAnswer = 64 << 10

// Sender delivers events to their webhooks: it is the flows.Notifier the outbox worker calls.
// It is safe for concurrent use.
type Sender struct {
	hooks   map[string]hook
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
}

type hook struct {
	Hook
	client *http.Client
}

var _ flows.Notifier = (*Sender)(nil)

// New returns a Sender for hooks. It refuses a name given twice, a URL config.ParseWebhookURL
// refuses (not absolute http(s), a user, a fragment, a host that is not a DNS name or a
// canonical IP address, plain http without AllowPrivate), unless the hook allows it a host
// that is a literal address Blocked refuses, and plain http to a literal public address. A host
// name is checked when it is resolved, on every connection: to a public address without
// AllowPrivate, to a non-public one for plain http.
func New(hooks []Hook, opts Options) (*Sender, error) {
	s := &Sender{hooks: make(map[string]hook, len(hooks)), timeout: opts.Timeout, now: opts.Now, log: opts.Log}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for _, h := range hooks {
		if _, dup := s.hooks[h.Name]; dup || h.Name == "" {
			errs = append(errs, fmt.Errorf("webhook %q: the name is empty or given twice", h.Name))
			continue
		}
		if len(h.Secret) == 0 {
			errs = append(errs, fmt.Errorf("webhook %q: no secret", h.Name))
		}
		u, err := config.ParseWebhookURL(h.URL, h.AllowPrivate)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %q: the URL %w", h.Name, err))
			continue
		}
		plain := u.Scheme == "http"
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			switch {
			case !h.AllowPrivate && Blocked(ip):
				errs = append(errs, fmt.Errorf("webhook %q: %s is not a public address (allow_private allows it)", h.Name, ip))
				continue
			case plain && !Blocked(ip):
				errs = append(errs, fmt.Errorf("webhook %q: %s is a public address: use https (plain http goes only to a receiver inside your network)", h.Name, ip))
				continue
			}
		}
		s.hooks[h.Name] = hook{Hook: h, client: newClient(dialAllowed(h.AllowPrivate, plain), s.timeout)}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// FromConfig returns the hooks of c (config's events.webhooks) and the Options of its timeout.
func FromConfig(c config.Events) ([]Hook, Options) {
	hooks := make([]Hook, len(c.Webhooks))
	for i, h := range c.Webhooks {
		hooks[i] = Hook{Name: h.Name, URL: h.URL, Secret: []byte(h.Secret.Value()), AllowPrivate: h.AllowPrivate}
	}
	return hooks, Options{Timeout: c.Timeout}
}

// dialAllowed returns which addresses a webhook's connections may reach, nil for any: without
// allowPrivate only public ones (not Blocked); a plain http webhook (which needs allowPrivate)
// only non-public ones, so that its events never cross the internet in clear.
func dialAllowed(allowPrivate, plainHTTP bool) func(netip.Addr) bool {
	switch {
	case !allowPrivate:
		return func(ip netip.Addr) bool { return !Blocked(ip) }
	case plainHTTP:
		return Blocked
	}
	return nil
}

// newClient returns the HTTP client of one webhook: no proxy from the environment (the address
// check must see the receiver's address), every dialled address checked after DNS by allowed
// (unless it is nil), no redirect followed, and every phase bounded by timeout.
func newClient(allowed func(netip.Addr) bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if allowed != nil {
		// Control sees the address actually dialled, after resolution: a name that resolves
		// (or is rebound) to an inward address is refused at connection time.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allowed(ap.Addr()) {
				return errBlocked
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		// A redirect is answered as it is (and parked): following it could lead anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var errBlocked = errors.New("webhook: the address is not public")

// blockedPrefixes are the non-public ranges netip's predicates do not name: "this network",
// carrier-grade NAT (RFC 6598), IETF protocol assignments, benchmarking (RFC 2544), the
// documentation ranges and 240/4 (reserved), the IPv6 ranges that carry an IPv4 address,
// site-local and discard-only.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64: may translate to any IPv4 address
	netip.MustParsePrefix("::/96"),        // IPv4-compatible (deprecated, RFC 4291 2.5.5.1): ::7f00:1 is 127.0.0.1
	netip.MustParsePrefix("2002::/16"),    // 6to4 (RFC 3056): 2002:7f00:1:: embeds 127.0.0.1
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated, RFC 3879): IPv6's old private range
	netip.MustParsePrefix("100::/64"),  // discard-only (RFC 6666)
}

// Blocked reports whether ip is an address a webhook may not reach without allow_private:
// loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, where cloud metadata
// services answer, and fe80::/10), multicast, unspecified, and the reserved ranges above. An
// IPv4-mapped IPv6 address is judged as its IPv4 address.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// payload is an event as its webhook receives it: ids and outcomes only.
type payload struct {
	// ID is the event's id, the same on every delivery of it: drop a repeat.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Created is when the step (or the reset) that caused the event was committed.
	Created time.Time `json:"created"`
	// Session is the session's digest: base64url(SHA-256(session id)[:18]), unpadded.
	Session     string       `json:"session,omitempty"`
	Engagement  string       `json:"engagement,omitempty"`
	Outcome     string       `json:"outcome,omitempty"`
	Cause       string       `json:"cause,omitempty"`
	People      []personJSON `json:"people"`
	LockedUntil *time.Time   `json:"locked_until,omitempty"`
	Actor       string       `json:"actor,omitempty"`
}

type personJSON struct {
	Record   string `json:"record"`
	Object   string `json:"object,omitempty"`
	Role     string `json:"role,omitempty"`
	Level    string `json:"level,omitempty"`
	Verified bool   `json:"verified"`
}

// Payload returns the JSON body an event is delivered as.
func Payload(e flows.Event) ([]byte, error) {
	p := payload{ID: e.ID, Type: e.Type.String(), Created: e.At.UTC(), Session: e.Session, Engagement: e.Engagement,
		People: make([]personJSON, len(e.People)), Actor: e.Actor}
	if e.Outcome != flows.OutcomeNone {
		p.Outcome = e.Outcome.String()
	}
	if e.Cause != flows.CauseNone {
		p.Cause = e.Cause.String()
	}
	for i, x := range e.People {
		p.People[i] = personJSON{Record: x.Record.ID, Object: x.Record.Object, Verified: x.Verified}
		if e.Type != flows.EventUnlocked {
			p.People[i].Role, p.People[i].Level = x.Role.String(), x.Level.String()
		}
	}
	if !e.LockedUntil.IsZero() {
		t := e.LockedUntil.UTC()
		p.LockedUntil = &t
	}
	return json.Marshal(p)
}

// Error is a delivery that failed: Code says why (for the outbox's parked list), and
// errors.Is(err, flows.ErrUnavailable) says it is worth trying again.
type Error struct {
	Webhook string
	// Code is "http_<status>" for an answer, or unavailable, timeout, address_refused,
	// unknown_webhook.
	Code      string
	transient bool
	err       error
}

func (e *Error) Error() string {
	msg := "webhook " + e.Webhook + ": delivery failed: " + e.Code
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

// ErrorCode is the code the outbox keeps with a parked or rescheduled event.
func (e *Error) ErrorCode() string { return e.Code }

// Unwrap returns flows.ErrUnavailable for a transient failure, and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.transient {
		errs = append(errs, flows.ErrUnavailable)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// Notify delivers e to its webhook: a signed POST of its Payload. A 2xx answer delivers it.
// 408, 425, 429 and 5xx answers, network failures and timeouts are transient (the outbox tries
// again); any other answer, an event for no configured webhook and a refused address are not
// (the outbox parks the event).
func (s *Sender) Notify(ctx context.Context, e flows.Event) error {
	h, ok := s.hooks[e.Subscriber]
	if !ok {
		return &Error{Webhook: e.Subscriber, Code: "unknown_webhook"}
	}
	body, err := Payload(e)
	if err != nil {
		return &Error{Webhook: h.Name, Code: "payload", err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return &Error{Webhook: h.Name, Code: "bad_url"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idverify-webhook/1")
	req.Header.Set("Idverify-Webhook", h.Name)
	req.Header.Set("Idverify-Event-Id", e.ID)
	req.Header.Set(SignatureHeader, Sign(h.Secret, s.now(), body))
	resp, err := h.client.Do(req)
	if err != nil {
		// The error names the URL; only the kind is reported.
		de := &Error{Webhook: h.Name, Code: "unavailable", transient: true}
		switch {
		case errors.Is(err, errBlocked):
			de.Code, de.transient = "address_refused", false
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			de.Code = "timeout"
		}
		s.log.WarnContext(ctx, "webhook: delivery failed", "webhook", h.Name, "code", de.Code)
		return de
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // reuse the connection, read no more
	_ = resp.Body.Close()
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusRequestTimeout, st == http.StatusTooEarly, st == http.StatusTooManyRequests, st >= 500:
		return &Error{Webhook: h.Name, Code: "http_" + strconv.Itoa(st), transient: true}
	default:
		s.log.WarnContext(ctx, "webhook: delivery refused", "webhook", h.Name, "status", st)
		return &Error{Webhook: h.Name, Code: "http_" + strconv.Itoa(st)}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
