package fakeorg

import (
	cryptorand "crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// Demo credentials: the connected app and the integration user every org has unless Options
// says otherwise.
const (
	DemoClientID     = "idverify-demo"
	DemoClientSecret = "idverify-demo-secret"
	DemoUsername     = "integration@demo.idverify.dev"
	DemoPassword     = "demo-password"
)

// Seed names the data an org starts with.
type Seed string

const (
	SeedNone Seed = "none" // no records but the integration user; the zero value means the same
	SeedDemo Seed = "demo" // the deterministic demo dataset (orgdb.SeedDemo)
)

// Defaults of Options.
const (
	DefaultSessionLifetime = 2 * time.Hour // Salesforce's default session timeout
	DefaultDailyAPILimit   = 1_000_000     // high, so that benchmarks never hit it by accident
	// DefaultLoginRateLimit is Salesforce's: "Login requests exceeding 3,600 requests per hour
	// per user will be blocked" (Salesforce Help 000381578, "Sign In Error 'Login Rate
	// Exceeded'"). It also bounds the access tokens a session lifetime can hold.
	DefaultLoginRateLimit = 3600
	// DefaultCursorLifetime is how long an unread query cursor (nextRecordsUrl) lives.
	DefaultCursorLifetime = 15 * time.Minute
	// DefaultMaxCursors is how many query cursors stay open at once.
	DefaultMaxCursors = 1000
)

// Options configures a new Org. The zero value is an empty org with the demo credentials.
type Options struct {
	// BaseURL is the org's own URL (instance_url, the identity URL, the JWT audience), e.g.
	// "https://acme.my.salesforce.com".
	// Empty: learned from each request's Host.
	BaseURL string

	Seed       Seed  // SeedNone (default) or SeedDemo
	Records    int   // further generated person accounts and contacts (orgdb.SeedGenerated)
	RecordSeed int64 // seed of the generator

	// Credentials; empty fields take the demo values. Username only changes what the login
	// flows accept: the User record stays the data layer's integration user.
	ClientID, ClientSecret string
	Username, Password     string
	// SecurityToken, if set, may be appended to the password in the password flow (the plain
	// password is accepted too).
	SecurityToken string

	// CallbackURLs are the connected app's callback URLs for the web server flow (authorize.go):
	// a redirect_uri must equal one of them, except that a loopback http URL with the port "*"
	// matches any port. nil means DefaultCallbackURLs (the console's callback on loopback).
	CallbackURLs []string

	// JWTCertificates are the connected app's certificates for the JWT bearer flow, each a PEM
	// "CERTIFICATE" or "PUBLIC KEY" (or "RSA PUBLIC KEY") block. None: the JWT flow is refused.
	JWTCertificates [][]byte

	// SessionLifetime is how long an access token lives from its issue (activity does not
	// extend it); 0 means DefaultSessionLifetime.
	SessionLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token lives from its issue; 0 means until it is
	// revoked, Salesforce's default refresh token policy. Either way the org keeps at most five
	// (the oldest goes when a sixth is issued), as Salesforce keeps five approvals per user.
	RefreshTokenLifetime time.Duration
	// DailyAPILimit is DailyApiRequests Max; 0 means DefaultDailyAPILimit.
	DailyAPILimit int64
	// LoginRateLimit is how many login attempts (token requests of any grant, SOAP login()
	// calls and login page posts) the org takes per hour, whoever makes them (Salesforce counts
	// per user; one bucket is the stricter bound); 0 means DefaultLoginRateLimit, negative means
	// no limit.
	LoginRateLimit int
	// CursorLifetime is how long an unread query cursor lives; 0 means DefaultCursorLifetime.
	CursorLifetime time.Duration
	// MaxCursors is how many query cursors (nextRecordsUrl) stay open; beyond it the one
	// closest to expiry is dropped. 0 means DefaultMaxCursors. Salesforce keeps 10 per user.
	MaxCursors int
	// BodyTimeout is how long a request may take to send its body once its headers are in;
	// 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// RequestLog, when set, receives one line per request: method, path (ids and values
	// replaced, query parameter names only), status and duration; never a token or a value.
	RequestLog *slog.Logger

	CustomFields []orgdb.CustomField // declared on top of the standard schema
	// CustomIndexes are fields indexed beyond Salesforce's defaults, "Object.Field"
	// (orgdb.Options.CustomIndexes): faster equality filters, the same answers.
	CustomIndexes []string
	// PicklistValues are values added to standard picklists, on top of the demo org's own
	// (orgdb.DemoPicklistValues) when Seed is SeedDemo.
	PicklistValues []orgdb.PicklistValues

	// Now is the org's clock; nil means time.Now.
	Now func() time.Time
	// FaultSeed seeds the random choices of rate-based faults, for deterministic tests.
	// 0 means a random seed.
	FaultSeed uint64

	// Bulk API 2.0 ingest jobs (bulk.go).
	//
	// IngestUploadLimit bounds one job's data, in bytes of CSV; 0 means
	// DefaultIngestUploadLimit (Salesforce's 150 MB of base64).
	IngestUploadLimit int64
	// IngestStorageLimit bounds the job data held at once over every job, uploads being read
	// included; 0 means DefaultIngestStorageLimit.
	IngestStorageLimit int64
	// MaxIngestJobs bounds the jobs kept; 0 means DefaultMaxIngestJobs.
	MaxIngestJobs int
	// DailyBulkBatches is DailyBulkApiBatches Max; 0 means DefaultDailyBulkBatches.
	DailyBulkBatches int
	// HoldIngestJobs keeps closed jobs in UploadComplete until Org.HoldIngestJobs(false).
	HoldIngestJobs bool
	// BulkAPIHardDelete gives the integration user the "Bulk API Hard Delete" permission;
	// without it (Salesforce's default) a hardDelete job is refused.
	BulkAPIHardDelete bool
}

// Org is a fake Salesforce org, made by New. Its methods are safe for concurrent use.
type Org struct {
	db              *orgdb.DB
	now             func() time.Time
	baseURL         string
	clientID        string
	secret          string
	username        string
	password        string
	sectok          string
	keys            []*rsa.PublicKey
	lifetime        time.Duration
	refreshLifetime time.Duration
	cursorTTL       time.Duration
	bodyTimeout     time.Duration
	reqLog          *slog.Logger

	orgID  string
	userID string

	sessions sessions
	auth     authState
	cursors  cursors
	faults   faults
	counters counters
	usage    apiUsage
	ingest   ingest
}

// New creates an org: its database with the standard schema and the integration user, and the
// seed data Options asks for.
func New(opts Options) (*Org, error) {
	o := &Org{
		now:             opts.Now,
		baseURL:         strings.TrimRight(opts.BaseURL, "/"),
		clientID:        or(opts.ClientID, DemoClientID),
		secret:          or(opts.ClientSecret, DemoClientSecret),
		username:        or(opts.Username, DemoUsername),
		password:        or(opts.Password, DemoPassword),
		sectok:          opts.SecurityToken,
		lifetime:        opts.SessionLifetime,
		refreshLifetime: opts.RefreshTokenLifetime,
		cursorTTL:       opts.CursorLifetime,
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.lifetime <= 0 {
		o.lifetime = DefaultSessionLifetime
	}
	if o.cursorTTL <= 0 {
		o.cursorTTL = DefaultCursorLifetime
	}
	o.reqLog = opts.RequestLog
	o.bodyTimeout = opts.BodyTimeout
	if o.bodyTimeout <= 0 {
		o.bodyTimeout = DefaultBodyTimeout
	}
	o.cursors.max = opts.MaxCursors
	if o.cursors.max <= 0 {
		o.cursors.max = DefaultMaxCursors
	}
	o.sessions.logins.perHour = opts.LoginRateLimit
	if o.sessions.logins.perHour == 0 {
		o.sessions.logins.perHour = DefaultLoginRateLimit
	}
	o.usage.max = opts.DailyAPILimit
	if o.usage.max <= 0 {
		o.usage.max = DefaultDailyAPILimit
	}
	if opts.Records < 0 {
		return nil, errors.New("fakeorg: Records must not be negative")
	}
	if opts.Seed != "" && opts.Seed != SeedNone && opts.Seed != SeedDemo {
		return nil, fmt.Errorf("fakeorg: unknown seed %q (want %q or %q)", opts.Seed, SeedDemo, SeedNone)
	}
	for i, pemBytes := range opts.JWTCertificates {
		k, err := ParsePublicKey(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("fakeorg: JWT certificate %d: %w", i+1, err)
		}
		o.keys = append(o.keys, k)
	}
	callbacks := opts.CallbackURLs
	if callbacks == nil {
		callbacks = DefaultCallbackURLs
	}
	for _, u := range callbacks {
		if err := CheckCallbackURL(u); err != nil {
			return nil, fmt.Errorf("fakeorg: callback URL %q: %w", u, err)
		}
	}
	o.auth.callbacks = slices.Clone(callbacks)
	o.auth.csrfKey = make([]byte, 32)
	_, _ = cryptorand.Read(o.auth.csrfKey) // crypto/rand.Read never fails
	seed := opts.FaultSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	o.faults.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	o.initIngest(opts)

	picklists := opts.PicklistValues
	if opts.Seed == SeedDemo {
		picklists = append(orgdb.DemoPicklistValues(), picklists...)
	}
	db, err := orgdb.New(orgdb.Options{CustomFields: opts.CustomFields, PicklistValues: picklists, CustomIndexes: opts.CustomIndexes, Now: o.now})
	if err != nil {
		return nil, fmt.Errorf("fakeorg: %w", err)
	}
	o.db = db
	// The data layer creates the integration User record itself (User is not createable
	// through the API); the credentials log in as that user.
	o.orgID, o.userID = db.OrgID(), db.UserID()
	if opts.Seed == SeedDemo {
		if err := orgdb.SeedDemo(db); err != nil {
			return nil, fmt.Errorf("fakeorg: demo seed: %w", err)
		}
	}
	if opts.Records > 0 {
		if err := orgdb.SeedGenerated(db, opts.Records, opts.RecordSeed); err != nil {
			return nil, fmt.Errorf("fakeorg: generated seed: %w", err)
		}
		// Loading leaves as much garbage as data: give it back to the system now, rather than
		// keep it resident until the runtime's scavenger gets round to it.
		debug.FreeOSMemory()
	}
	return o, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// DB is the org's database, for seeding and checking from Go. Changes made through it are
// visible to the API at once.
func (o *Org) DB() *orgdb.DB { return o.db }

// OrgID is the org's 18-character Organization id.
func (o *Org) OrgID() string { return o.orgID }

// UserID is the 18-character id of the integration user.
func (o *Org) UserID() string { return o.userID }

// ClientID is the connected app's client id (consumer key) the org accepts.
func (o *Org) ClientID() string { return o.clientID }

// ClientSecret is the connected app's client secret.
func (o *Org) ClientSecret() string { return o.secret }

// Username is the integration user's login name.
func (o *Org) Username() string { return o.username }

// Password is the integration user's password.
func (o *Org) Password() string { return o.password }

// base returns the org's base URL: Options.BaseURL, or the scheme and Host of r.
func (o *Org) base(r *http.Request) string {
	if o.baseURL != "" {
		return o.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
