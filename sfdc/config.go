package sfdc

import (
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

	// SessionLifetime, when set, makes the client log in again once a token is that old. Salesforce
	// sends no expires_in: with 0 a token is used until Salesforce answers 401.
	SessionLifetime time.Duration
}

// String describes the auth settings with every secret hidden.
func (a Auth) String() string {
	return fmt.Sprintf("sfdc.Auth{Method:%s LoginURL:%s ClientID:%s Username:%s secrets:%s}",
		a.Method, a.LoginURL, a.ClientID, a.Username, a.secretsPresent())
}

// GoString is String, so that %#v hides secrets too.
func (a Auth) GoString() string { return a.String() }

// LogValue logs the auth settings without secrets.
func (a Auth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("method", string(a.Method)), slog.String("login_url", a.LoginURL),
		slog.String("client_id", a.ClientID), slog.String("username", a.Username))
}

func (a Auth) secretsPresent() string {
	var set []string
	for _, s := range []struct {
		name string
		ok   bool
	}{{"client_secret", a.ClientSecret != ""}, {"password", a.Password != ""},
		{"security_token", a.SecurityToken != ""}, {"refresh_token", a.RefreshToken != ""},
		{"private_key", len(a.PrivateKeyPEM) > 0 || a.PrivateKeyFile != ""}} {
		if s.ok {
			set = append(set, s.name+"=[redacted]")
		}
	}
	return "{" + strings.Join(set, " ") + "}"
}

// Config configures a Client. Only Auth is required; the zero value of every other field means
// its default.
type Config struct {
	Auth Auth

	// APIVersion is the REST API version, e.g. "62.0" (DefaultAPIVersion when empty).
	APIVersion string

	// HTTPClient sends the requests (logins included); nil means a pooled client of its own. Its
	// Timeout is replaced by Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt (DefaultTimeout when 0). The caller's context bounds the
	// whole call, retries included.
	Timeout time.Duration

	// MaxRetries is how many times a failed attempt may be retried (DefaultMaxRetries when 0;
	// negative: never).
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff between attempts.
	RetryWaitMin, RetryWaitMax time.Duration

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
	errs = append(errs, need(a.ClientID != "", "client_id"))
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
	case "":
		return errors.New("sfdc: config: auth.method is required (jwt, client_credentials, refresh_token or password)")
	default:
		return errors.New("sfdc: config: auth.method must be jwt, client_credentials, refresh_token or password")
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
