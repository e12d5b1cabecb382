package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AuthMethod names an OAuth flow.
type AuthMethod string

// The OAuth flows the client can log in with.
const (
	AuthJWT               AuthMethod = "jwt"                // JWT bearer: client id, username, private key
	AuthClientCredentials AuthMethod = "client_credentials" // client id and secret, against My Domain
	AuthRefreshToken      AuthMethod = "refresh_token"      // client id (+ secret), refresh token
	AuthPassword          AuthMethod = "password"           // username-password over OAuth (not SOAP)
	AuthSession           AuthMethod = "session"            // a session obtained elsewhere: Auth.Session, Auth.Refresh
)

// Login hosts. A My Domain URL (https://<domain>.my.salesforce.com) works too, and is required
// for client credentials.
const (
	LoginProduction = "https://login.salesforce.com"
	LoginSandbox    = "https://test.salesforce.com"
)

// DefaultAPIVersion is the REST API version used when Config.APIVersion is empty.
const DefaultAPIVersion = "62.0"

// Defaults of Config's durations and retry limit.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 3
	DefaultRetryWaitMin = 200 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
	// DefaultRetryAfterMax is the longest Retry-After the client waits out before a retry.
	DefaultRetryAfterMax = 10 * time.Second
)

// Auth says how the client logs in. Fields a method does not use are ignored. Its String and
// LogValue hide every secret.
type Auth struct {
	Method   AuthMethod
	LoginURL string // LoginProduction (default), LoginSandbox or a My Domain URL

	ClientID     string // the connected app's consumer key (every method)
	ClientSecret string // client_credentials, password; optional for refresh_token

	Username      string // jwt (the sub claim), password
	Password      string // password
	SecurityToken string // password: appended to Password when set

	RefreshToken string // refresh_token

	// jwt: the RSA private key, as PEM bytes (e.g. from an environment variable) or a file path.
	PrivateKeyPEM  []byte
	PrivateKeyFile string
	// Audience is the JWT aud claim. Empty means the login host Salesforce wants for LoginURL:
	// LoginSandbox for test.salesforce.com and sandbox My Domains, LoginProduction for
	// login.salesforce.com and other My Domains, else LoginURL itself (set it to the site URL
	// for an Experience Cloud site).
	Audience string

	// session: Session is the session to start with (optional when Refresh is set); Refresh is
	// called for a new one when Salesforce refuses the current one (401 INVALID_SESSION_ID), once
	// however many calls notice, and the call is replayed once. Without Refresh a refused
	// session ends every call with ErrSessionExpired.
	Session Session
	Refresh SessionFunc

	// SessionLifetime, when set, makes the client log in again once a token is that old. Salesforce
	// sends no expires_in: with 0 a token is used until Salesforce answers 401.
	SessionLifetime time.Duration
}

// Session is an access token and the instance URL it is valid on: what a softphone's Open CTI
// session or a logged-in *simpleforce.Client (GetSid, GetLoc) holds. Printing, logging or
// encoding it as JSON hides the token.
type Session struct {
	AccessToken string
	InstanceURL string // e.g. https://acme.my.salesforce.com
}

// SessionFunc returns a new session for AuthSession. expired is the session Salesforce refused
// (zero when the client has none yet); return a different one. The client calls it from one
// goroutine at a time, on a context of its own bounded by Config.Timeout.
type SessionFunc func(ctx context.Context, expired Session) (Session, error)

// String shows the instance URL and whether there is a token, never the token.
func (s Session) String() string {
	return "sfdc.Session{InstanceURL:" + s.InstanceURL + " AccessToken:" + redact(s.AccessToken != "") + "}"
}

// GoString is String, so that %#v hides the token too.
func (s Session) GoString() string { return s.String() }

// LogValue logs the instance URL only.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance_url", s.InstanceURL))
}

// MarshalJSON encodes the instance URL and "[redacted]" for a token.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		InstanceURL string `json:"instance_url,omitempty"`
		AccessToken string `json:"access_token,omitempty"`
	}{s.InstanceURL, redactOrEmpty(s.AccessToken != "")})
}

func redact(set bool) string {
	if set {
		return "[redacted]"
	}
	return "none"
}

func redactOrEmpty(set bool) string {
	if set {
		return "[redacted]"
	}
	return ""
}

// String describes the auth settings with every secret hidden.
func (a Auth) String() string {
	return fmt.Sprintf("sfdc.Auth{Method:%s LoginURL:%s ClientID:%s Username:%s InstanceURL:%s secrets:{%s}}",
		a.Method, a.LoginURL, a.ClientID, a.Username, a.Session.InstanceURL, strings.Join(a.secretsPresent(), " "))
}

// GoString is String, so that %#v hides secrets too.
func (a Auth) GoString() string { return a.String() }

// LogValue logs the auth settings without secrets.
func (a Auth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("method", string(a.Method)), slog.String("login_url", a.LoginURL),
		slog.String("client_id", a.ClientID), slog.String("username", a.Username))
}

// MarshalJSON encodes the settings with every secret as "[redacted]" (or absent when unset), so
// that a configuration dumped as JSON, or logged by a JSON handler, holds none.
func (a Auth) MarshalJSON() ([]byte, error) {
	type plain struct {
		Method          AuthMethod        `json:"method,omitempty"`
		LoginURL        string            `json:"login_url,omitempty"`
		ClientID        string            `json:"client_id,omitempty"`
		Username        string            `json:"username,omitempty"`
		Audience        string            `json:"audience,omitempty"`
		PrivateKeyFile  string            `json:"private_key_file,omitempty"`
		InstanceURL     string            `json:"instance_url,omitempty"`
		Refresh         bool              `json:"refresh,omitempty"`
		SessionLifetime string            `json:"session_lifetime,omitempty"`
		Secrets         map[string]string `json:"secrets,omitempty"`
	}
	p := plain{Method: a.Method, LoginURL: a.LoginURL, ClientID: a.ClientID, Username: a.Username, Audience: a.Audience,
		PrivateKeyFile: a.PrivateKeyFile, InstanceURL: a.Session.InstanceURL, Refresh: a.Refresh != nil}
	if a.SessionLifetime > 0 {
		p.SessionLifetime = a.SessionLifetime.String()
	}
	for _, name := range a.secretsPresent() {
		if p.Secrets == nil {
			p.Secrets = map[string]string{}
		}
		p.Secrets[strings.TrimSuffix(name, "=[redacted]")] = "[redacted]"
	}
	return json.Marshal(p)
}

// secretsPresent names the secrets that are set, each as "name=[redacted]".
func (a Auth) secretsPresent() []string {
	var set []string
	for _, s := range []struct {
		name string
		ok   bool
	}{{"client_secret", a.ClientSecret != ""}, {"password", a.Password != ""},
		{"security_token", a.SecurityToken != ""}, {"refresh_token", a.RefreshToken != ""},
		{"private_key", len(a.PrivateKeyPEM) > 0}, {"access_token", a.Session.AccessToken != ""}} {
		if s.ok {
			set = append(set, s.name+"=[redacted]")
		}
	}
	return set
}

// Config configures a Client. Only Auth is required; the zero value of every other field means
// its default.
type Config struct {
	Auth Auth

	// APIVersion is the REST API version, e.g. "62.0" (DefaultAPIVersion when empty).
	APIVersion string

	// HTTPClient sends the requests (logins included); nil means a pooled client of its own. Its
	// Timeout is ignored (Timeout below bounds calls) and redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each call, its retries included, and each login (DefaultTimeout when 0).
	// A call whose context ends sooner ends then; a context with no deadline, or a later one,
	// gets this one.
	Timeout time.Duration

	// MaxRetries is how many times a failed attempt may be retried (DefaultMaxRetries when 0;
	// negative: never).
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff between attempts.
	RetryWaitMin, RetryWaitMax time.Duration
	// RetryAfterMax is the longest wait a Retry-After header may ask for before a retry
	// (DefaultRetryAfterMax when 0). An answer asking for longer is not retried: its *Error
	// carries RetryAfter for the caller to schedule.
	RetryAfterMax time.Duration

	// OnRetry, when set, is called before every retry with its reason. It must be fast and safe
	// for concurrent use.
	OnRetry func(RetryEvent)
}

func (c Config) withDefaults() Config {
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	c.APIVersion = strings.TrimPrefix(c.APIVersion, "v")
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = DefaultRetryWaitMin
	}
	if c.RetryWaitMax <= 0 {
		c.RetryWaitMax = DefaultRetryWaitMax
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		c.RetryWaitMax = c.RetryWaitMin
	}
	if c.RetryAfterMax <= 0 {
		c.RetryAfterMax = DefaultRetryAfterMax
	}
	if c.Auth.LoginURL == "" {
		c.Auth.LoginURL = LoginProduction
	}
	c.Auth.LoginURL = strings.TrimRight(c.Auth.LoginURL, "/")
	return c
}

// validate reports the first setting that is missing or wrong, naming the setting, never a
// secret's value.
func (c Config) validate() error {
	a := c.Auth
	u, err := url.Parse(a.LoginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("sfdc: config: auth.login_url must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// Auth prints and logs the login URL: it must hold no credentials.
		return errors.New("sfdc: config: auth.login_url must hold no user, password, query or fragment")
	}
	if !validVersion(c.APIVersion) {
		return errors.New(`sfdc: config: api_version must look like "62.0"`)
	}
	need := func(ok bool, field string) error {
		if !ok {
			return fmt.Errorf("sfdc: config: auth method %q needs auth.%s", a.Method, field)
		}
		return nil
	}
	var errs []error
	if a.Method != AuthSession {
		errs = append(errs, need(a.ClientID != "", "client_id"))
	}
	switch a.Method {
	case AuthJWT:
		errs = append(errs, need(a.Username != "", "username"),
			need(len(a.PrivateKeyPEM) > 0 || a.PrivateKeyFile != "", "private_key (PEM or file)"))
	case AuthClientCredentials:
		errs = append(errs, need(a.ClientSecret != "", "client_secret"))
	case AuthRefreshToken:
		errs = append(errs, need(a.RefreshToken != "", "refresh_token"))
	case AuthPassword:
		errs = append(errs, need(a.ClientSecret != "", "client_secret"), need(a.Username != "", "username"),
			need(a.Password != "", "password"))
	case AuthSession:
		if a.Refresh == nil {
			errs = append(errs, need(a.Session.AccessToken != "" && a.Session.InstanceURL != "",
				"session (access token and instance URL) or auth.refresh"))
		}
		if a.Session.InstanceURL != "" {
			if _, _, ok := splitInstanceURL(a.Session.InstanceURL); !ok {
				errs = append(errs, errors.New("sfdc: config: auth.session.instance_url must be an absolute http(s) URL "+
					"with no user, password, path, query or fragment"))
			}
		}
	case "":
		return errors.New("sfdc: config: auth.method is required (jwt, client_credentials, refresh_token, password or session)")
	default:
		return errors.New("sfdc: config: auth.method must be jwt, client_credentials, refresh_token, password or session")
	}
	return errors.Join(errs...)
}

func validVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major == "" || len(major) > 3 || minor != "0" {
		return false
	}
	for i := 0; i < len(major); i++ {
		if major[i] < '0' || major[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalJSON encodes the configuration with the auth's secrets hidden and the functions and
// HTTP client reduced to whether they are set (encoding/json cannot encode functions).
func (c Config) MarshalJSON() ([]byte, error) {
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return json.Marshal(struct {
		Auth          Auth   `json:"auth"`
		APIVersion    string `json:"api_version,omitempty"`
		HTTPClient    bool   `json:"http_client,omitempty"`
		Timeout       string `json:"timeout,omitempty"`
		MaxRetries    int    `json:"max_retries,omitempty"`
		RetryWaitMin  string `json:"retry_wait_min,omitempty"`
		RetryWaitMax  string `json:"retry_wait_max,omitempty"`
		RetryAfterMax string `json:"retry_after_max,omitempty"`
		OnRetry       bool   `json:"on_retry,omitempty"`
	}{c.Auth, c.APIVersion, c.HTTPClient != nil, dur(c.Timeout), c.MaxRetries, dur(c.RetryWaitMin),
		dur(c.RetryWaitMax), dur(c.RetryAfterMax), c.OnRetry != nil})
}

// splitInstanceURL returns the scheme and host of an instance URL ("https://acme.my.salesforce.com",
// a trailing slash allowed), refusing anything with credentials, a path, a query or a fragment:
// the bearer token goes to that host only.
func splitInstanceURL(s string) (scheme, host string, ok bool) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return "", "", false
	}
	return u.Scheme, u.Host, true
}
