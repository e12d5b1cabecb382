package sfdc

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// session is one access token and the instance it is valid for, with the request parts built
// from them once. Sessions are compared by pointer: invalidating one never clears a newer one.
type session struct {
	accessToken string
	instanceURL string
	scheme      string   // of instanceURL
	host        string   // of instanceURL
	bearer      []string // the Authorization header's value, shared read-only by every request
	issued      time.Time
}

// newSession checks an access token and instance URL and builds the session that uses them.
func newSession(op, token, instanceURL string) (*session, error) {
	scheme, host, ok := splitInstanceURL(instanceURL)
	if token == "" || !ok {
		return nil, &Error{Op: op, Code: "invalid_token_response", kind: ErrAuth}
	}
	return &session{accessToken: token, instanceURL: scheme + "://" + host, scheme: scheme, host: host,
		bearer: []string{"Bearer " + token}, issued: time.Now()}, nil
}

// loginFunc gets a new session. expired is the session Salesforce refused (or that outlived its
// lifetime), nil when there was none.
type loginFunc func(ctx context.Context, expired *session) (*session, error)

// tokenCache holds the one session all goroutines share. When it is empty, or the session has
// been invalidated, the first caller logs in and every concurrent caller waits for that login.
type tokenCache struct {
	login    loginFunc
	lifetime time.Duration // 0: until invalidated
	timeout  time.Duration // bound on one login
	logins   atomic.Int64

	mu      sync.Mutex
	cur     *session
	expired *session // the last session invalidated or outlived, for the next login
	flight  *loginFlight
}

type loginFlight struct {
	done chan struct{}
	s    *session
	err  error
}

// get returns the current session, logging in if there is none. A login runs on its own context
// (bounded by the cache's timeout), so one caller's cancellation does not fail the others; each
// caller stops waiting when its own context ends, with the context's error.
func (t *tokenCache) get(ctx context.Context) (*session, error) {
	t.mu.Lock()
	if s := t.cur; s != nil {
		if t.lifetime <= 0 || time.Since(s.issued) < t.lifetime {
			t.mu.Unlock()
			return s, nil
		}
		t.cur, t.expired = nil, s
	}
	f := t.flight
	if f == nil {
		f = &loginFlight{done: make(chan struct{})}
		t.flight = f
		go t.run(context.WithoutCancel(ctx), f, t.expired)
	}
	t.mu.Unlock()
	select {
	case <-f.done:
		return f.s, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *tokenCache) run(ctx context.Context, f *loginFlight, expired *session) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	t.logins.Add(1)
	f.s, f.err = t.login(ctx, expired)
	t.mu.Lock()
	if f.err == nil {
		t.cur = f.s
	}
	t.flight = nil
	t.mu.Unlock()
	close(f.done)
}

// invalidate forgets s if it is still the current session (compare-and-clear): a caller holding
// an old session cannot throw away the one another caller just got.
func (t *tokenCache) invalidate(s *session) {
	t.mu.Lock()
	if t.cur == s {
		t.cur, t.expired = nil, s
	}
	t.mu.Unlock()
}

// sessionLogin is the login of AuthSession: the configured session first, then Refresh.
func sessionLogin(a Auth) loginFunc {
	var mu sync.Mutex
	first := a.Session
	return func(ctx context.Context, expired *session) (*session, error) {
		mu.Lock()
		s := first
		first = Session{}
		mu.Unlock()
		if s.AccessToken == "" || s.InstanceURL == "" {
			if a.Refresh == nil {
				return nil, &Error{Op: "refresh session", kind: ErrSessionExpired,
					cause: errors.New("the session was refused and auth.refresh is not set")}
			}
			var old Session
			if expired != nil {
				old = Session{AccessToken: expired.accessToken, InstanceURL: expired.instanceURL}
			}
			var err error
			if s, err = a.Refresh(ctx, old); err != nil {
				if ctx.Err() != nil {
					return nil, &Error{Op: "refresh session", kind: ErrUnavailable, cause: ctx.Err()}
				}
				if e, ok := err.(*Error); ok {
					return nil, e
				}
				return nil, &Error{Op: "refresh session", kind: ErrAuth, cause: err}
			}
		}
		return newSession("refresh session", s.AccessToken, s.InstanceURL)
	}
}

// newLogin builds the login for the configured OAuth flow on top of golang.org/x/oauth2.
// hc sends the token requests.
func newLogin(a Auth, hc *http.Client) (loginFunc, error) {
	tokenURL := a.LoginURL + "/services/oauth2/token"
	conf := &oauth2.Config{
		ClientID:     a.ClientID,
		ClientSecret: a.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	withClient := func(ctx context.Context) context.Context {
		return context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	var fetch func(ctx context.Context) (*oauth2.Token, error)
	switch a.Method {
	case AuthJWT:
		key := a.PrivateKeyPEM
		if len(key) == 0 {
			b, err := os.ReadFile(a.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("sfdc: config: reading auth.private_key_file: %w", errors.Unwrap(err))
			}
			key = b
		}
		aud := a.Audience
		if aud == "" {
			aud = defaultAudience(a.LoginURL)
		}
		jc := &jwt.Config{
			Email:      a.ClientID, // iss: the consumer key
			Subject:    a.Username,
			PrivateKey: key,
			TokenURL:   tokenURL,
			Audience:   aud,
			Expires:    3 * time.Minute,
		}
		if err := checkPrivateKey(jc); err != nil {
			return nil, err
		}
		fetch = func(ctx context.Context) (*oauth2.Token, error) { return jc.TokenSource(withClient(ctx)).Token() }
	case AuthClientCredentials:
		cc := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: tokenURL,
			AuthStyle: oauth2.AuthStyleInParams}
		fetch = func(ctx context.Context) (*oauth2.Token, error) { return cc.Token(withClient(ctx)) }
	case AuthRefreshToken:
		var mu sync.Mutex
		refresh := a.RefreshToken
		fetch = func(ctx context.Context) (*oauth2.Token, error) {
			mu.Lock()
			rt := refresh
			mu.Unlock()
			tok, err := conf.TokenSource(withClient(ctx), &oauth2.Token{RefreshToken: rt}).Token()
			if err == nil && tok.RefreshToken != "" && tok.RefreshToken != rt {
				mu.Lock() // Salesforce may rotate refresh tokens
				refresh = tok.RefreshToken
				mu.Unlock()
			}
			return tok, err
		}
	case AuthPassword:
		fetch = func(ctx context.Context) (*oauth2.Token, error) {
			return conf.PasswordCredentialsToken(withClient(ctx), a.Username, a.Password+a.SecurityToken)
		}
	case AuthSession:
		return sessionLogin(a), nil
	default:
		return nil, errors.New("sfdc: config: unknown auth method")
	}
	return func(ctx context.Context, _ *session) (*session, error) {
		tok, err := fetch(ctx)
		if err != nil {
			return nil, loginError(ctx, err)
		}
		inst, _ := tok.Extra("instance_url").(string)
		return newSession("login", tok.AccessToken, inst)
	}, nil
}

// defaultAudience is the JWT aud claim for a login URL. Salesforce wants the login host, not the
// My Domain the token request goes to: https://test.salesforce.com for sandboxes (and their My
// Domains, <name>--<sandbox>.sandbox.my.salesforce.com), https://login.salesforce.com for other
// Salesforce hosts. Any other URL (an Experience Cloud site, a test server) is its own audience.
func defaultAudience(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	switch host := strings.ToLower(u.Hostname()); {
	case host == "test.salesforce.com" || strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return LoginSandbox
	case host == "login.salesforce.com" || strings.HasSuffix(host, ".my.salesforce.com"):
		return LoginProduction
	}
	return loginURL
}

// checkPrivateKey proves the key parses as an RSA private key (PKCS#1 or PKCS#8), so that a bad
// key fails at New, not at the first call. The error never quotes the key.
func checkPrivateKey(jc *jwt.Config) error {
	blk, _ := pem.Decode(jc.PrivateKey)
	if blk == nil {
		return errors.New("sfdc: config: auth private key is not PEM")
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return errors.New("sfdc: config: auth private key is not an RSA private key (PKCS#1 or PKCS#8)")
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return errors.New("sfdc: config: auth private key is not RSA (Salesforce signs with RS256)")
	}
	return nil
}

// loginError maps a token-endpoint failure to an *Error carrying Salesforce's error and
// error_description (a fixed vocabulary, no secrets).
func loginError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The login's own bound (Config.Timeout) ran out: the token endpoint did not answer.
		return &Error{Op: "login", kind: ErrUnavailable, cause: ctx.Err()}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Op: "login", Code: re.ErrorCode, Message: re.ErrorDescription, kind: ErrAuth}
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
			if e.StatusCode >= 500 {
				e.kind = ErrUnavailable
			}
		}
		if e.Code == "" { // the jwt package does not parse the body
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				e.Code, e.Message = body.Error, body.Description
			}
		}
		return e
	}
	return &Error{Op: "login", kind: ErrUnavailable, cause: errors.New(redactLoginError(err.Error()))}
}

// redactLoginError keeps a transport failure's text but drops what x/oauth2 quotes of the
// request. Token requests carry secrets only in their bodies, which no error quotes; the URL is the
// login host.
func redactLoginError(s string) string {
	return strings.TrimPrefix(s, "oauth2: ")
}
