package config

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config is idverify's whole configuration. Load builds one from defaults, a YAML file,
// IDVERIFY_* environment variables and flags, and validates it; Policy converts its
// verification part into the engine's flows.Policy. Keys are snake_case as written in the
// file; docs/CONFIGURATION.md documents every one.
//
// Lists whose elements have field names (reasons, search types, verifiers, phone fields) are
// lists of structs, never maps: viper lower-cases map keys, and Salesforce field names are
// case-sensitive in meaning if not in SOQL.
type Config struct {
	// Reasons the agent picks from, in menu order.
	Reasons []Reason `mapstructure:"reasons"`
	// SearchTypes the agent picks from, in menu order.
	SearchTypes []SearchType `mapstructure:"search_types"`
	// Representation is the rule for who may represent whom.
	Representation Representation `mapstructure:"representation"`
	// Lockout limits failed verifications per person across sessions and channels.
	Lockout Lockout `mapstructure:"lockout"`
	// VerifiedTTL is how long a verified status lasts (so it survives a transfer).
	VerifiedTTL time.Duration `mapstructure:"verified_ttl"`
	// Verdicts is "on_decision" (the agent sees each question's verdict once its level is
	// decided) or "immediate" (as soon as it is answered).
	Verdicts string `mapstructure:"verdicts"`
	// Session bounds one verification session.
	Session Session `mapstructure:"session"`
	// Matching configures how check-mode answers are normalised.
	Matching Matching `mapstructure:"matching"`
	// PhoneFields are the fields the phone lookup at the start of a call searches.
	PhoneFields []PhoneFields `mapstructure:"phone_fields"`
	// PhoneLookup says when the caller id the lookup starts from is trusted.
	PhoneLookup PhoneLookup `mapstructure:"phone_lookup"`
	// Secrets holds deployment secrets.
	Secrets Secrets `mapstructure:"secrets"`
	// Salesforce says how to reach the org; an empty Auth means the embedded fake org.
	Salesforce Salesforce `mapstructure:"salesforce"`
	// Store is where sessions, counters, the outbox and the audit live.
	Store Store `mapstructure:"store"`
	// Outbox configures the delivery of writes to Salesforce.
	Outbox Outbox `mapstructure:"outbox"`
	// Server configures the HTTP API.
	Server Server `mapstructure:"server"`
	// Events configures the events sent to other systems (webhooks).
	Events Events `mapstructure:"events"`
	// Console configures the agents' web console at /console.
	Console Console `mapstructure:"console"`
	// Log configures logging.
	Log Log `mapstructure:"log"`
}

// Reason is a reason for the call the agent can pick.
type Reason struct {
	// Name is shown to the agent and written to the engagement; unique, at most 255 characters.
	Name string `mapstructure:"name"`
	// Confidential reasons need verification; the others end the flow as not required.
	Confidential bool `mapstructure:"confidential"`
}

// SearchType is one way to find a person (Salesforce's IdentityVerificationProcDtl).
type SearchType struct {
	// Name is the unique key the agent or plugin picks the search type by.
	Name string `mapstructure:"name"`
	// Label is what the agent sees; empty means Name.
	Label string `mapstructure:"label"`
	// Object is the sObject searched, e.g. Account.
	Object string `mapstructure:"object"`
	// Search is "text" (keywords, SOSL) or "object" (the agent fills search_fields).
	Search string `mapstructure:"search"`
	// Filter is a trusted, admin-written SOQL condition ANDed to every search.
	Filter string `mapstructure:"filter"`
	// SortBy is the field results are sorted by; empty leaves the order to Salesforce.
	SortBy string `mapstructure:"sort_by"`
	// SearchFields are searched (text) or filled in by the agent (object).
	SearchFields []string `mapstructure:"search_fields"`
	// ResultFields are shown in the result list.
	ResultFields []string `mapstructure:"result_fields"`
	// MaskedResultFields are result fields shown masked (all but the last two letters or
	// digits hidden), e.g. a phone number.
	MaskedResultFields []string `mapstructure:"masked_result_fields"`
	// RequiredVerifiers must all be answered correctly.
	RequiredVerifiers []Verifier `mapstructure:"required_verifiers"`
	// OptionalVerifiers: at least OptionalMin of them must be answered correctly.
	OptionalVerifiers []Verifier `mapstructure:"optional_verifiers"`
	OptionalMin       int        `mapstructure:"optional_min"`
	// LinkedSearchType names the customer-level search type of a representative's search type.
	LinkedSearchType string `mapstructure:"linked_search_type"`
}

// Verifier is one question: a field of the found record the caller must know.
type Verifier struct {
	// Field is the API name of the field holding the expected answer.
	Field string `mapstructure:"field"`
	// Label is the question the agent sees; empty means Field.
	Label string `mapstructure:"label"`
	// Match is the flows match rule used in check mode (required there).
	Match string `mapstructure:"match"`
	// Mode is "attest" (default) or "check".
	Mode string `mapstructure:"mode"`
	// Reveal is "none", "masked" or "full"; empty means full for attest and none for check.
	Reveal string `mapstructure:"reveal"`
	// Digits, with match phone only, compares just the last Digits digits.
	Digits int `mapstructure:"digits"`
}

// Representation is the rule for who may represent whom: a row of Object must link the
// representative (RepresentativeField) and the customer (CustomerField).
type Representation struct {
	// Enabled turns the check on; when off, the agent asserts the relationship, as in Salesforce.
	Enabled             bool   `mapstructure:"enabled"`
	Object              string `mapstructure:"object"`
	RepresentativeField string `mapstructure:"representative_field"`
	CustomerField       string `mapstructure:"customer_field"`
	// Roles, when not empty, requires the row's Roles picklist to include one of them.
	Roles []string `mapstructure:"roles"`
	// RequireActive requires the row's IsActive to be true.
	RequireActive bool `mapstructure:"require_active"`
}

// Lockout locks a person after MaxFailures failed verifications within Window.
type Lockout struct {
	MaxFailures int           `mapstructure:"max_failures"`
	Window      time.Duration `mapstructure:"window"`
}

// Session bounds one verification session.
type Session struct {
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	MaxRetries  int           `mapstructure:"max_retries"`
}

// Matching configures the check-mode normalisers.
type Matching struct {
	// DateOrder is "dmy" or "mdy", for ambiguous numeric dates.
	DateOrder string `mapstructure:"date_order"`
	// DefaultCountryCode is the calling code (digits, e.g. "44") of national phone numbers.
	DefaultCountryCode string `mapstructure:"default_country_code"`
	// Languages are the languages (en, de, fr, es, it) whose month names dates are read in.
	Languages []string `mapstructure:"languages"`
}

// PhoneFields names phone fields of one object that the phone lookup searches.
type PhoneFields struct {
	Object string   `mapstructure:"object"`
	Fields []string `mapstructure:"fields"`
}

// PhoneLookup says when a phone match may fill in the initiating attendee.
type PhoneLookup struct {
	// MinAttestation is the weakest STIR/SHAKEN attestation ("A", "B" or "C") whose caller id
	// is trusted: a match on a call attested below it, or not attested at all, is offered as a
	// suggestion, never filled in. Empty trusts every caller id, as Salesforce does.
	MinAttestation string `mapstructure:"min_attestation"`
}

// Events configures the events idverify sends to other systems.
type Events struct {
	// Webhooks receive events by HTTP POST, signed (adapter/webhook).
	Webhooks []Webhook `mapstructure:"webhooks"`
	// Timeout bounds one delivery (connecting, sending, the answer).
	Timeout time.Duration `mapstructure:"timeout"`
}

// Webhook is one receiver of events. Load reads SecretFile into Secret.
type Webhook struct {
	// Name names the webhook in the outbox and the logs: 1 to 64 lower-case letters, digits,
	// - and _. Renaming a webhook leaves its undelivered events parked under the old name.
	Name string `mapstructure:"name"`
	// URL is where events are POSTed: http or https, no user info.
	URL string `mapstructure:"url"`
	// Secret keys the HMAC-SHA256 signature of every event; at least 32 bytes, shared with
	// the receiver.
	Secret     Secret `mapstructure:"secret"`
	SecretFile string `mapstructure:"secret_file"`
	// Events are the event types sent: verified, failed, locked, unlocked.
	Events []string `mapstructure:"events"`
	// AllowPrivate allows a URL whose host resolves to a loopback, private, link-local or
	// otherwise non-public address (refused by default: see adapter/webhook).
	AllowPrivate bool `mapstructure:"allow_private"`
}

// Console configures the agents' web console at /console (adapter/console), which agents sign
// in to with Salesforce (OAuth 2.0 web server flow with PKCE). Load reads KeyFile into Key and
// ClientSecretFile into ClientSecret.
type Console struct {
	// Enabled mounts the console beside the API; on demo settings it is on by default.
	Enabled bool `mapstructure:"enabled"`
	// Key seals the console's cookies and the session handles in its URLs: at least 32 bytes,
	// the same on every replica (a replica with another key signs every agent out).
	Key     Secret `mapstructure:"key"`
	KeyFile string `mapstructure:"key_file"`
	// LoginURL is where agents sign in (a My Domain, or https://login.salesforce.com); empty
	// means salesforce.login_url.
	LoginURL string `mapstructure:"login_url"`
	// ClientID and ClientSecret are the connected app's consumer key and secret (the secret
	// only when the app requires one with PKCE). On the embedded fake org, an empty ClientID
	// signs agents in at the fake org with its demo client.
	ClientID         string `mapstructure:"client_id"`
	ClientSecret     Secret `mapstructure:"client_secret"`
	ClientSecretFile string `mapstructure:"client_secret_file"`
	// OrgID is the org's Organization id (00D…): only its users sign in.
	OrgID string `mapstructure:"org_id"`
	// CallbackURL is the absolute URL of /console/oauth/callback as browsers reach it, one of
	// the connected app's callback URLs; https (http only on a loopback host).
	CallbackURL string `mapstructure:"callback_url"`
	// FrameAncestors are the origins (scheme://host[:port]) that may frame the console.
	FrameAncestors []string `mapstructure:"frame_ancestors"`
	// InstanceURL is the org's URL records are linked to; empty uses the one Salesforce gives
	// at sign-in.
	InstanceURL string `mapstructure:"instance_url"`
	// SessionTTL is how long an agent's sign-in lasts.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
}

// Secrets holds deployment secrets. Load reads HMACKeyFile into HMACKey.
type Secrets struct {
	// HMACKey keys the hashes of check-mode answers; at least 32 bytes.
	HMACKey     Secret `mapstructure:"hmac_key"`
	HMACKeyFile string `mapstructure:"hmac_key_file"`
}

// The Salesforce authentication methods.
const (
	AuthJWT               = "jwt"
	AuthClientCredentials = "client_credentials"
	AuthRefreshToken      = "refresh_token"
	AuthPassword          = "password"
)

// Salesforce says how to reach and log in to the org. Load reads PrivateKeyFile into PrivateKey.
type Salesforce struct {
	// Auth is jwt, client_credentials, refresh_token or password; empty means the embedded
	// fake org with demo data.
	Auth           string        `mapstructure:"auth"`
	LoginURL       string        `mapstructure:"login_url"`
	ClientID       string        `mapstructure:"client_id"`
	ClientSecret   Secret        `mapstructure:"client_secret"`
	Username       string        `mapstructure:"username"`
	Password       Secret        `mapstructure:"password"`
	SecurityToken  Secret        `mapstructure:"security_token"`
	RefreshToken   Secret        `mapstructure:"refresh_token"`
	PrivateKeyFile string        `mapstructure:"private_key_file"`
	PrivateKey     Secret        `mapstructure:"private_key"`
	APIVersion     string        `mapstructure:"api_version"`
	Timeout        time.Duration `mapstructure:"timeout"`
	// LeadKeyField is a custom External ID text field on Lead holding the caller's idempotency
	// key of a Lead idverify creates; empty: look for an open Lead with the same details first.
	LeadKeyField string `mapstructure:"lead_key_field"`
	// WritebackKeyField is a custom External ID text field on EngagementAttendee and
	// EngagementTopic holding each row's idempotency key; empty: a guard on the topic.
	WritebackKeyField string `mapstructure:"writeback_key_field"`
	// DefaultChannel is the CommunicationChannel of an engagement whose session named none.
	DefaultChannel string `mapstructure:"default_channel"`
	// ReadAheadTTL is how long values read ahead of the step that asks them are kept in
	// memory; 0 reads nothing ahead.
	ReadAheadTTL time.Duration `mapstructure:"read_ahead_ttl"`
}

// Embedded reports whether idverify runs against the embedded fake org instead of Salesforce.
func (s Salesforce) Embedded() bool { return s.Auth == "" }

// The store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DefaultSQLiteDSN is the SQLite database used when store.dsn is empty.
const DefaultSQLiteDSN = "idverify.db"

// Store is where sessions, attempt counters, verified status, the outbox and the audit live.
type Store struct {
	// Driver is sqlite or postgres.
	Driver string `mapstructure:"driver"`
	// DSN is the SQLite file or the PostgreSQL URL; Load sets DefaultSQLiteDSN for sqlite when
	// empty. It is a secret because a PostgreSQL DSN may hold a password.
	DSN Secret `mapstructure:"dsn"`
	// SweepInterval is how often the server deletes what Retention says is past keeping.
	SweepInterval time.Duration `mapstructure:"sweep_interval"`
	// Retention says how long the store keeps what it no longer needs.
	Retention Retention `mapstructure:"retention"`
}

// Retention says how long the store keeps sessions, failures, delivered writes and the audit.
type Retention struct {
	// Sessions: after a session's last step (at least session.idle_timeout).
	Sessions time.Duration `mapstructure:"sessions"`
	// Failures: after a failure was counted (at least lockout.window).
	Failures time.Duration `mapstructure:"failures"`
	// Delivered: after an outbox write was delivered.
	Delivered time.Duration `mapstructure:"delivered"`
	// Audit: after an audit event or a reset; 0 keeps them for ever.
	Audit time.Duration `mapstructure:"audit"`
}

// Outbox configures the worker that delivers the writes to Salesforce.
type Outbox struct {
	// Lease is how long a worker holds a write it claimed; each call gets half of it.
	Lease time.Duration `mapstructure:"lease"`
	// Concurrency is how many writes one worker delivers at once.
	Concurrency int `mapstructure:"concurrency"`
	// MinBackoff and MaxBackoff bound the wait before a write that failed for a transient
	// reason is tried again.
	MinBackoff time.Duration `mapstructure:"min_backoff"`
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// GiveUpAfter parks a write that still fails for a transient reason this long after it
	// was queued (after at least outbox.GiveUpAttempts attempts), so that it no longer holds
	// up its engagement; 0 never gives up.
	GiveUpAfter time.Duration `mapstructure:"give_up_after"`
}

// WorkerGiveUpAfter is GiveUpAfter as the outbox's Worker takes it, where 0 means its default
// and a negative duration never.
func (o Outbox) WorkerGiveUpAfter() time.Duration {
	if o.GiveUpAfter == 0 {
		return -1
	}
	return o.GiveUpAfter
}

// Server configures the HTTP API.
type Server struct {
	// Addr is the host:port the API listens on.
	Addr string `mapstructure:"addr"`
	// CORSOrigins are the browser origins allowed to call the API; empty allows none.
	CORSOrigins []string `mapstructure:"cors_origins"`
	// ShutdownTimeout is how long a stopping server waits for requests in flight.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// APIKeys are the keys clients authenticate with, by the SHA-256 of each key.
	APIKeys []APIKey `mapstructure:"api_keys"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound the phases of a
	// connection (http.Server's fields of the same names).
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
	// RequestTimeout bounds the work of one request (the engine's calls to Salesforce and the
	// store); shorter than WriteTimeout, so that the answer can still be written.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// IdempotencyTTL is how long the answer to a request with an Idempotency-Key is kept.
	IdempotencyTTL time.Duration `mapstructure:"idempotency_ttl"`
	// RateLimit bounds requests per API key and answer steps per person.
	RateLimit RateLimit `mapstructure:"rate_limit"`
}

// APIKey is one client's key: its name (the actor in the audit and the access log), the
// SHA-256 of the key in hex, and whether it may call the admin endpoints.
type APIKey struct {
	Name   string `mapstructure:"name"`
	SHA256 string `mapstructure:"sha256"`
	Admin  bool   `mapstructure:"admin"`
}

// RateLimit bounds the API's traffic in each replica (token buckets: a rate and a burst).
type RateLimit struct {
	// KeyPerSecond and KeyBurst bound the requests of one API key.
	KeyPerSecond float64 `mapstructure:"key_per_second"`
	KeyBurst     int     `mapstructure:"key_burst"`
	// PersonPerMinute and PersonBurst bound the answer steps (answers and attestations) on one
	// person record, whoever sends them.
	PersonPerMinute float64 `mapstructure:"person_per_minute"`
	PersonBurst     int     `mapstructure:"person_burst"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is text, json, or auto: text on a terminal, JSON otherwise.
	Format string `mapstructure:"format"`
}

// Secret is a string that never prints: every fmt verb, JSON, YAML, text and slog show
// "[redacted]" (or nothing when it is empty). Value returns the secret itself.
type Secret string

const redacted = "[redacted]"

// Value returns the secret in clear, for the code that uses it.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so %#v redacts too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Format redacts under every verb, including ones fmt would otherwise print raw.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalText redacts, so JSON and YAML encodings of a Config hold no secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
