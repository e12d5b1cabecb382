package webhook_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/webhook"
	"github.com/idverify/idverify/flows"
)

var (
	t0     = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	secret = []byte("0123456789abcdef0123456789abcdef")
)

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"id":"e1","type":"verified"}`)
	header := webhook.Sign(secret, t0, body)
	assert.Regexp(t, `^t=\d+,v1=[0-9a-f]{64}$`, header)
	// The value Stripe's recipe gives, HMAC-SHA256(secret, "<t>.<body>"), computed apart with
	// printf '%s' '1795597200.{"id":"e1","type":"verified"}' | openssl dgst -sha256 -hmac "$secret"
	assert.Equal(t, "t=1795597200,v1=c5992a6f8d65d76d090e757f8405c13fb42680c679b1fdc3de19ad8f43eb9bff", header)
	require.NoError(t, webhook.Verify(secret, header, body, t0, 0))

	other := webhook.Sign([]byte("another secret of thirty-two bytes"), t0, body)
	for _, tt := range []struct {
		name, header string
		body         []byte
		now          time.Time
		want         error
	}{
		{"no header", "", body, t0, webhook.ErrNoSignature},
		{"garbage", "garbage", body, t0, webhook.ErrNoSignature},
		{"no v1", "t=1795597200", body, t0, webhook.ErrNoSignature},
		{"no t", header[strings.Index(header, "v1="):], body, t0, webhook.ErrNoSignature},
		{"a v1 that is not hex", "t=1795597200,v1=zz", body, t0, webhook.ErrNoSignature},
		{"another body", header, []byte(`{"id":"e1","type":"failed"}`), t0, webhook.ErrSignatureMismatch},
		{"another secret", other, body, t0, webhook.ErrSignatureMismatch},
		{"another time", strings.Replace(header, "t=1795597200", "t=1795597201", 1), body, t0, webhook.ErrSignatureMismatch},
		{"too old", header, body, t0.Add(webhook.DefaultTolerance + time.Second), webhook.ErrTimestamp},
		{"from the future", header, body, t0.Add(-webhook.DefaultTolerance - time.Second), webhook.ErrTimestamp},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, webhook.Verify(secret, tt.header, tt.body, tt.now, 0), tt.want)
		})
	}
	// A rotated secret: the header holds both signatures; either verifies.
	both := header + "," + other[strings.Index(other, "v1="):]
	require.NoError(t, webhook.Verify(secret, both, body, t0, 0))
	require.NoError(t, webhook.Verify([]byte("another secret of thirty-two bytes"), both, body, t0, 0))
	require.NoError(t, webhook.Verify(secret, header, body, t0.Add(time.Hour), 2*time.Hour), "a longer tolerance")
}

func TestBlocked(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "127.1.2.3", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
		"fe80::1", "fc00::1", "fd12::1", "0.0.0.0", "::", "100.64.0.1", "224.0.0.1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:169.254.169.254", "198.18.0.1", "240.0.0.1", "64:ff9b::a9fe:a9fe",
		"::7f00:1", "::a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::", "fec0::1", "100::1"} {
		assert.True(t, webhook.Blocked(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"93.184.215.14", "1.1.1.1", "2606:4700::1111", "172.32.0.1", "100.128.0.1"} {
		assert.False(t, webhook.Blocked(netip.MustParseAddr(a)), a)
	}
}

func TestNewRefuses(t *testing.T) {
	for name, h := range map[string]webhook.Hook{
		"no name":             {URL: "https://h.example/x", Secret: secret},
		"no secret":           {Name: "a", URL: "https://h.example/x"},
		"a file URL":          {Name: "a", URL: "file:///etc/passwd", Secret: secret},
		"a relative URL":      {Name: "a", URL: "/x", Secret: secret},
		"a user":              {Name: "a", URL: "https://u:p@h.example/x", Secret: secret},
		"loopback":            {Name: "a", URL: "http://127.0.0.1:8080/x", Secret: secret},
		"the metadata server": {Name: "a", URL: "http://169.254.169.254/latest/meta-data/", Secret: secret},
		"a mapped address":    {Name: "a", URL: "https://[::ffff:10.0.0.1]/x", Secret: secret},
		// Forms of 127.0.0.1 that a browser or a C resolver reads as an address and Go does
		// not: each would fail every delivery, or reach an address nobody checked.
		"a decimal address":        {Name: "a", URL: "https://2130706433/x", Secret: secret, AllowPrivate: true},
		"an octal address":         {Name: "a", URL: "https://0177.0.0.1/x", Secret: secret, AllowPrivate: true},
		"a hex address":            {Name: "a", URL: "https://0x7f.1/x", Secret: secret, AllowPrivate: true},
		"a short address":          {Name: "a", URL: "https://127.1/x", Secret: secret, AllowPrivate: true},
		"leading zeros":            {Name: "a", URL: "https://127.000.000.001/x", Secret: secret, AllowPrivate: true},
		"a public address, padded": {Name: "a", URL: "https://093.184.215.014/x", Secret: secret},
		"a numeric last label":     {Name: "a", URL: "https://h.example.1/x", Secret: secret},
		"an IPv6 zone":             {Name: "a", URL: "https://[fe80::1%25eth0]/x", Secret: secret, AllowPrivate: true},
		"a fullwidth address":      {Name: "a", URL: "https://１２７.０.０.１/x", Secret: secret, AllowPrivate: true},
		"port 0":                   {Name: "a", URL: "https://h.example:0/x", Secret: secret},
		"port 65536":               {Name: "a", URL: "https://h.example:65536/x", Secret: secret},
		"an empty fragment":        {Name: "a", URL: "https://h.example/x#", Secret: secret},
		"http to a public name":    {Name: "a", URL: "http://h.example/x", Secret: secret},
		"http to a public address": {Name: "a", URL: "http://93.184.215.14/x", Secret: secret, AllowPrivate: true},
	} {
		_, err := webhook.New([]webhook.Hook{h}, webhook.Options{})
		assert.Error(t, err, name)
	}
	for name, h := range map[string]webhook.Hook{
		"a name":                    {Name: "a", URL: "https://hooks.example.com:8443/x?q=1", Secret: secret},
		"a name with a final dot":   {Name: "a", URL: "https://hooks.example.com./x", Secret: secret},
		"a public address":          {Name: "a", URL: "https://93.184.215.14/x", Secret: secret},
		"a public IPv6 address":     {Name: "a", URL: "https://[2606:4700::1111]/x", Secret: secret},
		"a name starting in digits": {Name: "a", URL: "https://1password.example/x", Secret: secret},
		"http inside the network":   {Name: "a", URL: "http://receiver.internal:8080/x", Secret: secret, AllowPrivate: true},
		"http to loopback":          {Name: "a", URL: "http://127.0.0.1:8080/x", Secret: secret, AllowPrivate: true},
	} {
		_, err := webhook.New([]webhook.Hook{h}, webhook.Options{})
		assert.NoError(t, err, name)
	}
	_, err := webhook.New([]webhook.Hook{{Name: "a", URL: "https://h.example/x", Secret: secret},
		{Name: "a", URL: "https://h.example/y", Secret: secret}}, webhook.Options{})
	assert.Error(t, err, "a name twice")
	_, err = webhook.New([]webhook.Hook{{Name: "a", URL: "http://127.0.0.1:8080/x", Secret: secret, AllowPrivate: true}}, webhook.Options{})
	assert.NoError(t, err, "allowed")
}

// receiver is an httptest server that verifies and records what it is sent.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	errs   []error
	status atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(http.StatusNoContent)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.errs = append(r.errs, webhook.Verify(secret, req.Header.Get(webhook.SignatureHeader), body, t0, 0))
		r.mu.Unlock()
		assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
		assert.Equal(t, http.MethodPost, req.Method)
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() ([][]byte, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]error(nil), r.errs...)
}

func newSender(t *testing.T, url string, allowPrivate bool, opts webhook.Options) *webhook.Sender {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	s, err := webhook.New([]webhook.Hook{{Name: "crm", URL: url, Secret: secret, AllowPrivate: allowPrivate}}, opts)
	require.NoError(t, err)
	return s
}

var lockedEvent = flows.Event{Type: flows.EventLocked, Subscriber: "crm", ID: "abc/event/crm", At: t0, Session: "abc",
	Engagement: "call-1", Outcome: flows.OutcomeLocked,
	People:      []flows.EventPerson{{Record: flows.Ref{Object: "Account", ID: "001000000000001AAA"}, Role: flows.VerifiedSelf}},
	LockedUntil: t0.Add(30 * time.Minute)}

func TestNotifyDeliversASignedPayload(t *testing.T) {
	r := newReceiver(t)
	s := newSender(t, r.srv.URL+"/hooks/idverify", true, webhook.Options{})
	require.NoError(t, s.Notify(t.Context(), lockedEvent))
	bodies, errs := r.received()
	require.Len(t, bodies, 1)
	require.NoError(t, errs[0], "the receiver's Verify accepts it")
	assert.JSONEq(t, `{"id":"abc/event/crm","type":"locked","created":"2026-11-25T09:00:00Z","session":"abc",
		"engagement":"call-1","outcome":"locked","locked_until":"2026-11-25T09:30:00Z",
		"people":[{"record":"001000000000001AAA","object":"Account","role":"self","level":"caller","verified":false}]}`, string(bodies[0]))

	unlocked := flows.Event{Type: flows.EventUnlocked, Subscriber: "crm", ID: "reset/1", At: t0, Actor: "ops",
		People: []flows.EventPerson{{Record: flows.Ref{ID: "001000000000001AAA"}}}}
	require.NoError(t, s.Notify(t.Context(), unlocked))
	bodies, _ = r.received()
	assert.JSONEq(t, `{"id":"reset/1","type":"unlocked","created":"2026-11-25T09:00:00Z","actor":"ops",
		"people":[{"record":"001000000000001AAA","verified":false}]}`, string(bodies[1]))
}

func TestNotifyFailures(t *testing.T) {
	code := func(err error) string {
		var we *webhook.Error
		require.ErrorAs(t, err, &we)
		return we.ErrorCode()
	}
	for _, tt := range []struct {
		status    int
		transient bool
	}{
		{http.StatusInternalServerError, true}, {http.StatusServiceUnavailable, true}, {http.StatusTooManyRequests, true},
		{http.StatusRequestTimeout, true}, {http.StatusBadRequest, false}, {http.StatusUnauthorized, false}, {http.StatusGone, false},
	} {
		r := newReceiver(t)
		r.status.Store(int32(tt.status))
		err := newSender(t, r.srv.URL, true, webhook.Options{}).Notify(t.Context(), lockedEvent)
		require.Error(t, err)
		assert.Equal(t, tt.transient, errors.Is(err, flows.ErrUnavailable), "%d", tt.status)
		assert.Equal(t, "http_"+strconv.Itoa(tt.status), code(err))
	}

	t.Run("an event for no configured webhook", func(t *testing.T) {
		r := newReceiver(t)
		e := lockedEvent
		e.Subscriber = "gone"
		err := newSender(t, r.srv.URL, true, webhook.Options{}).Notify(t.Context(), e)
		assert.Equal(t, "unknown_webhook", code(err))
		assert.False(t, errors.Is(err, flows.ErrUnavailable))
	})

	t.Run("unreachable", func(t *testing.T) {
		r := newReceiver(t)
		url := r.srv.URL
		r.srv.Close()
		err := newSender(t, url, true, webhook.Options{}).Notify(t.Context(), lockedEvent)
		assert.ErrorIs(t, err, flows.ErrUnavailable)
		assert.NotContains(t, err.Error(), url, "no URL in the error")
	})

	t.Run("a receiver slower than the timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { <-release }))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		err := newSender(t, srv.URL, true, webhook.Options{Timeout: 50 * time.Millisecond}).Notify(t.Context(), lockedEvent)
		assert.ErrorIs(t, err, flows.ErrUnavailable)
		assert.Equal(t, "timeout", code(err))
	})
}

// A name that resolves to loopback is refused when it is dialled, unless allowed: the check is on
// the address connected to, after DNS.
func TestNotifyRefusesInwardAddressesAfterResolution(t *testing.T) {
	r := newReceiver(t)
	url := strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1)
	// https, as a URL must be without allow_private: the address is refused before any handshake.
	err := newSender(t, strings.Replace(url, "http:", "https:", 1), false, webhook.Options{}).Notify(t.Context(), lockedEvent)
	var we *webhook.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "address_refused", we.ErrorCode())
	assert.False(t, errors.Is(err, flows.ErrUnavailable), "parked, not retried")
	bodies, _ := r.received()
	assert.Empty(t, bodies, "nothing reached the receiver")

	require.NoError(t, newSender(t, url, true, webhook.Options{}).Notify(t.Context(), lockedEvent), "allowed")
}

// A redirect is not followed: the event is parked with the redirect's status, and the target
// is never asked.
func TestNotifyFollowsNoRedirect(t *testing.T) {
	target := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	err := newSender(t, redirect.URL, true, webhook.Options{}).Notify(t.Context(), lockedEvent)
	var we *webhook.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "http_307", we.ErrorCode())
	bodies, _ := target.received()
	assert.Empty(t, bodies)
}

// A receiver's answer is read up to a bound, whatever it sends.
func TestNotifyReadsABoundedAnswer(t *testing.T) {
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 32<<10)
		for range 4096 { // 128 MiB, if anyone read it
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	require.NoError(t, newSender(t, srv.URL, true, webhook.Options{}).Notify(t.Context(), lockedEvent))
	srv.Close() // waits for the handler
	assert.Less(t, written.Load(), int64(64<<20), "the client stopped reading")
}
