package sfdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// TestSessionAuth: a client on a session obtained elsewhere uses it as it is, and when Salesforce
// refuses it, asks Refresh (given the refused session) once, however many calls notice, and
// replays each call once.
func TestSessionAuth(t *testing.T) {
	org := sfdctest.NewOrg(t)
	first := org.Session(t)
	var refreshes atomic.Int64
	var mu sync.Mutex
	var refused []sfdc.Session
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthSession, Session: first,
		Refresh: func(ctx context.Context, expired sfdc.Session) (sfdc.Session, error) {
			refreshes.Add(1)
			mu.Lock()
			refused = append(refused, expired)
			mu.Unlock()
			return org.Session(t), nil
		}}})
	require.NoError(t, err)
	ctx := context.Background()
	id, _, err := c.Create(ctx, "Contact", map[string]any{"LastName": "Session"})
	require.NoError(t, err)
	assert.Zero(t, refreshes.Load(), "the given session is used as it is")
	assert.Equal(t, int64(1), org.Count(fakeorg.KindToken), "only sfdctest's own login")

	org.ExpireTokens()
	for _, err := range concurrently(500, func() error {
		_, _, err := c.Get(ctx, "Contact", id, "LastName")
		return err
	}) {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), refreshes.Load(), "one refresh for 500 callers")
	require.Len(t, refused, 1)
	assert.Equal(t, first, refused[0], "Refresh is told which session was refused")
	assert.Equal(t, int64(2), c.Stats().Logins, "the given session, then one refresh")
}

// TestSessionAuthWithoutRefresh: a refused session without Refresh ends the call with
// ErrSessionExpired, and a failing Refresh with its error as the cause.
func TestSessionAuthWithoutRefresh(t *testing.T) {
	org := sfdctest.NewOrg(t)
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthSession, Session: org.Session(t)}})
	require.NoError(t, err)
	_, _, err = c.Limits(context.Background())
	require.NoError(t, err)
	org.ExpireTokens()
	_, _, err = c.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrSessionExpired)

	errDown := errors.New("softphone gone")
	c, err = sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthSession,
		Refresh: func(context.Context, sfdc.Session) (sfdc.Session, error) { return sfdc.Session{}, errDown }}})
	require.NoError(t, err)
	_, _, err = c.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrAuth)
	require.ErrorIs(t, err, errDown)

	// A refresh that answers something unusable is refused.
	c, err = sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthSession,
		Refresh: func(context.Context, sfdc.Session) (sfdc.Session, error) {
			return sfdc.Session{AccessToken: "t", InstanceURL: "https://u:p@evil.example/path"}, nil
		}}})
	require.NoError(t, err)
	_, _, err = c.Limits(context.Background())
	require.ErrorIs(t, err, sfdc.ErrAuth)

	for _, a := range []sfdc.Auth{
		{Method: sfdc.AuthSession},
		{Method: sfdc.AuthSession, Session: sfdc.Session{AccessToken: "t"}},
		{Method: sfdc.AuthSession, Session: sfdc.Session{AccessToken: "t", InstanceURL: "https://acme.my.salesforce.com/x?sid=1"}},
	} {
		_, err := sfdc.New(sfdc.Config{Auth: a})
		require.ErrorContains(t, err, "auth", "%v", a)
	}
}

// TestSimpleforceAuth: sfdc works on the session of a logged-in simpleforce client and, when
// Salesforce refuses it, has simpleforce log in again (once) and takes its new session.
func TestSimpleforceAuth(t *testing.T) {
	org := sfdctest.NewOrg(t)
	sf := simpleforce.NewClient(org.URL(), fakeorg.DemoClientID, "62.0")
	// The fake org has no SOAP login (simpleforce's LoginPassword): a session from OAuth stands
	// in for it, set the way an application that stores simpleforce's session sets it.
	s := org.Session(t)
	sf.SetSidLoc(s.AccessToken, s.InstanceURL)
	var relogins atomic.Int64
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.SimpleforceAuth(sf, func(ctx context.Context, sf *simpleforce.Client) error {
		relogins.Add(1)
		s := org.Session(t)
		sf.SetSidLoc(s.AccessToken, s.InstanceURL)
		return nil
	})})
	require.NoError(t, err)
	ctx := context.Background()
	id, _, err := c.Create(ctx, "Contact", map[string]any{"LastName": "Shared"})
	require.NoError(t, err)
	org.ExpireTokens()
	rec, _, err := c.Get(ctx, "Contact", id, "LastName")
	require.NoError(t, err)
	last, _ := rec.String("LastName")
	assert.Equal(t, "Shared", last)
	assert.Equal(t, int64(1), relogins.Load())

	// And simpleforce goes on working on the session sfdc had it renew.
	res, err := sf.Query("SELECT Id FROM Contact")
	require.NoError(t, err)
	assert.Len(t, res.Records, 1)
}

// TestContextEndsWhileWaitingForLogin: a call whose context ends while it waits for a login
// returns *sfdc.Error like any other, naming the call, with the context's error as its cause;
// the login goes on for the others.
func TestContextEndsWhileWaitingForLogin(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	// Longer than the call's deadline, short enough not to hold the server's close.
	e.fault(t, fakeorg.Fault{Path: "/services/oauth2/token", Latency: 2 * time.Second, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := e.c.Get(ctx, "Contact", sfdc.MustParseID("003000000000001"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "get Contact", se.Op)
	assert.Zero(t, e.org.Count(fakeorg.KindRead), "nothing was sent")

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, _, err = e.c.Get(cancelled, "Contact", sfdc.MustParseID("003000000000001"))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorAs(t, err, &se)
}

// TestConfigJSONHidesSecrets: json.Marshal of Auth, Session and Config (and slog's JSON handler,
// which uses it) shows which secrets are set, never their values; a Config with functions set
// still encodes.
func TestConfigJSONHidesSecrets(t *testing.T) {
	secrets := []string{"s3cr3t", "pw-123", "tok-456", "rt-789", "PRIVATE KEY", "00Dsession!token"}
	a := sfdc.Auth{Method: sfdc.AuthPassword, ClientID: "cid", ClientSecret: "s3cr3t", Username: "u@x", Password: "pw-123",
		SecurityToken: "tok-456", RefreshToken: "rt-789", PrivateKeyPEM: []byte("-----BEGIN RSA PRIVATE KEY-----"),
		Session: sfdc.Session{AccessToken: "00Dsession!token", InstanceURL: "https://acme.my.salesforce.com"},
		Refresh: func(context.Context, sfdc.Session) (sfdc.Session, error) { return sfdc.Session{}, nil }}
	cfg := sfdc.Config{Auth: a, HTTPClient: http.DefaultClient, OnRetry: func(sfdc.RetryEvent) {}, Timeout: time.Second}
	var out []string
	for _, v := range []any{a, &a, a.Session, cfg, &cfg} {
		b, err := json.Marshal(v)
		require.NoError(t, err, "%T", v)
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg, "auth", a, "session", a.Session)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", cfg, "auth", a, "session", a.Session)
	out = append(out, buf.String(), fmt.Sprintf("%v %+v %#v %v %+v", a, a, a.Session, cfg, cfg))
	for _, s := range out {
		for _, secret := range secrets {
			assert.NotContains(t, s, secret)
		}
	}
	var got struct {
		Auth struct {
			ClientID    string            `json:"client_id"`
			InstanceURL string            `json:"instance_url"`
			Secrets     map[string]string `json:"secrets"`
		} `json:"auth"`
		Timeout string `json:"timeout"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[3]), &got))
	assert.Equal(t, "cid", got.Auth.ClientID)
	assert.Equal(t, "https://acme.my.salesforce.com", got.Auth.InstanceURL)
	assert.Equal(t, "[redacted]", got.Auth.Secrets["password"])
	assert.Equal(t, "[redacted]", got.Auth.Secrets["access_token"])
	assert.Equal(t, "1s", got.Timeout)
}
