package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// minimal is the smallest useful file: one reason and one attest-mode search type, so no
// secret is needed. Everything else comes from the defaults.
const minimal = `
reasons:
  - {name: Billing, confidential: true}
search_types:
  - name: customer
    object: Account
    search: text
    result_fields: [Name]
    required_verifiers:
      - {field: PersonBirthdate, match: date}
`

// withKey sets the HMAC key through the environment, as a deployment would.
func withKey(t *testing.T) {
	t.Helper()
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey)
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idverify.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func problems(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	require.ErrorAs(t, err, &ps)
	return ps
}

func TestLoadDefaults(t *testing.T) {
	withKey(t)
	c, err := Load(Options{File: writeFile(t, minimal)})
	require.NoError(t, err)

	assert.Equal(t, Representation{Enabled: true, Object: "AccountContactRelation",
		RepresentativeField: "ContactId", CustomerField: "AccountId", RequireActive: true}, c.Representation)
	assert.Equal(t, Lockout{MaxFailures: 5, Window: 30 * time.Minute}, c.Lockout)
	assert.Equal(t, time.Hour, c.VerifiedTTL)
	assert.Equal(t, Session{IdleTimeout: 15 * time.Minute, MaxRetries: 0}, c.Session)
	assert.Equal(t, Matching{DateOrder: "dmy", Languages: []string{"en"}}, c.Matching)
	assert.Equal(t, []PhoneFields{
		{Object: "Account", Fields: []string{"Phone", "PersonMobilePhone", "PersonHomePhone"}},
		{Object: "Contact", Fields: []string{"Phone", "MobilePhone", "HomePhone"}},
	}, c.PhoneFields)
	assert.Equal(t, Salesforce{LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: 30 * time.Second,
		DefaultChannel: "Voice Call", ReadAheadTTL: 2 * time.Minute}, c.Salesforce)
	assert.True(t, c.Salesforce.Embedded())
	assert.Equal(t, Store{Driver: "sqlite", DSN: DefaultSQLiteDSN, SweepInterval: time.Hour,
		Retention: Retention{Sessions: 7 * 24 * time.Hour, Failures: 30 * 24 * time.Hour, Delivered: 7 * 24 * time.Hour}}, c.Store)
	assert.Equal(t, Outbox{Lease: 2 * time.Minute, Concurrency: 4, MinBackoff: 5 * time.Second, MaxBackoff: 15 * time.Minute, GiveUpAfter: 24 * time.Hour}, c.Outbox)
	assert.Equal(t, Server{Addr: "127.0.0.1:8080", ShutdownTimeout: 10 * time.Second,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, RequestTimeout: 20 * time.Second, MaxBodyBytes: 64 << 10,
		IdempotencyTTL: 24 * time.Hour,
		RateLimit:      RateLimit{KeyPerSecond: 100, KeyBurst: 200, PersonPerMinute: 10, PersonBurst: 5}}, c.Server)
	assert.Equal(t, PhoneLookup{}, c.PhoneLookup)
	assert.Equal(t, Log{Level: "info", Format: "auto"}, c.Log)
}

func TestLoadWithoutFileNeedsAPolicy(t *testing.T) {
	_, err := Load(Options{})
	ps := problems(t, err)
	require.Len(t, ps, 3)
	assert.Equal(t, "reasons", ps[0].Path)
	assert.Equal(t, "search_types", ps[1].Path)
	assert.Equal(t, Problem{Path: "secrets.hmac_key", Message: "is empty but the engine keys the check-mode values it stores with it and will not start without one: " +
		"set IDVERIFY_SECRETS_HMAC_KEY (or secrets.hmac_key_file) to at least 32 random bytes, e.g. from `openssl rand -base64 32`"}, ps[2])
}

func TestLoadFileFromEnvironment(t *testing.T) {
	withKey(t)
	t.Setenv(EnvFile, writeFile(t, minimal+"\nlog: {level: debug}\n"))
	c, err := Load(Options{})
	require.NoError(t, err)
	assert.Equal(t, "debug", c.Log.Level)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(Options{File: filepath.Join(t.TempDir(), "nope.yaml")})
	require.Error(t, err)
	assert.NotErrorAs(t, err, new(Problems))
	assert.Contains(t, err.Error(), "nope.yaml")
}

func TestLoadNotYAML(t *testing.T) {
	_, err := Load(Options{File: writeFile(t, "reasons: [\n")})
	require.Error(t, err)
	assert.NotErrorAs(t, err, new(Problems))
}

// Every key is read from its environment variable even when the file does not mention it
// (viper's trap: Unmarshal ignores the environment for keys it does not know).
func TestEnvironmentOverridesKeysAbsentFromTheFile(t *testing.T) {
	withKey(t)
	tests := []struct {
		env, value string
		check      func(t *testing.T, c *Config)
	}{
		{"IDVERIFY_SERVER_ADDR", ":9999", func(t *testing.T, c *Config) { assert.Equal(t, ":9999", c.Server.Addr) }},
		{"IDVERIFY_LOCKOUT_MAX_FAILURES", "7", func(t *testing.T, c *Config) { assert.Equal(t, 7, c.Lockout.MaxFailures) }},
		{"IDVERIFY_LOCKOUT_WINDOW", "2h", func(t *testing.T, c *Config) { assert.Equal(t, 2*time.Hour, c.Lockout.Window) }},
		{"IDVERIFY_VERIFIED_TTL", "5m", func(t *testing.T, c *Config) { assert.Equal(t, 5*time.Minute, c.VerifiedTTL) }},
		// Spaces around a duration, as a shell or an env file may leave them, are not an error.
		{"IDVERIFY_SESSION_IDLE_TIMEOUT", " 20m\t", func(t *testing.T, c *Config) { assert.Equal(t, 20*time.Minute, c.Session.IdleTimeout) }},
		{"IDVERIFY_MATCHING_LANGUAGES", "de, fr", func(t *testing.T, c *Config) { assert.Equal(t, []string{"de", "fr"}, c.Matching.Languages) }},
		{"IDVERIFY_REPRESENTATION_ENABLED", "false", func(t *testing.T, c *Config) { assert.False(t, c.Representation.Enabled) }},
		{"IDVERIFY_REPRESENTATION_ROLES", "Guardian, Power of Attorney", func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"Guardian", "Power of Attorney"}, c.Representation.Roles)
		}},
		{"IDVERIFY_SERVER_CORS_ORIGINS", `["https://a.example", "https://b.example"]`, func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"https://a.example", "https://b.example"}, c.Server.CORSOrigins)
		}},
		{"IDVERIFY_MATCHING_DEFAULT_COUNTRY_CODE", "44", func(t *testing.T, c *Config) { assert.Equal(t, "44", c.Matching.DefaultCountryCode) }},
		{"IDVERIFY_SECRETS_HMAC_KEY", testHMACKey, func(t *testing.T, c *Config) { assert.Equal(t, testHMACKey, c.Secrets.HMACKey.Value()) }},
		{"IDVERIFY_STORE_DSN", "postgres://u:pw@db/idverify", func(t *testing.T, c *Config) {
			assert.Equal(t, "postgres://u:pw@db/idverify", c.Store.DSN.Value())
		}},
		{"IDVERIFY_REASONS", `[{name: Billing, confidential: true}, {"name": "Hours"}]`, func(t *testing.T, c *Config) {
			assert.Equal(t, []Reason{{Name: "Billing", Confidential: true}, {Name: "Hours"}}, c.Reasons)
		}},
		{"IDVERIFY_PHONE_FIELDS", `[{object: Lead, fields: [Phone, MobilePhone]}]`, func(t *testing.T, c *Config) {
			assert.Equal(t, []PhoneFields{{Object: "Lead", Fields: []string{"Phone", "MobilePhone"}}}, c.PhoneFields)
		}},
	}
	file := writeFile(t, minimal)
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			c, err := Load(Options{File: file})
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	t.Setenv("IDVERIFY_LOG_LEVEL", "warn")
	t.Setenv("IDVERIFY_SEARCH_TYPES", `[{name: contact, object: Contact, search: object, search_fields: [LastName],
	  result_fields: [Name], required_verifiers: [{field: Birthdate, match: date, mode: check}]}]`)
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey)
	c, err := Load(Options{File: writeFile(t, minimal+"\nlog: {level: error}\n")})
	require.NoError(t, err)
	assert.Equal(t, "warn", c.Log.Level)
	require.Len(t, c.SearchTypes, 1)
	assert.Equal(t, "contact", c.SearchTypes[0].Name)
	assert.Equal(t, []Verifier{{Field: "Birthdate", Match: "date", Mode: "check"}}, c.SearchTypes[0].RequiredVerifiers)
}

func TestEveryKeyHasAnEnvironmentVariable(t *testing.T) {
	keys := Keys()
	assert.Contains(t, keys, "server.addr")
	assert.Contains(t, keys, "salesforce.private_key")
	assert.Contains(t, keys, "search_types")
	assert.NotContains(t, keys, "search_types.name", "list elements have no variables of their own")
	assert.Equal(t, "IDVERIFY_SALESFORCE_PRIVATE_KEY_FILE", EnvName("salesforce.private_key_file"))

	// Set every key to a value of its type through the environment alone, and check that the
	// decoded field holds it (an unbound key would keep its default or zero value).
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			field := fieldAt(t, reflect.ValueOf(&Config{}).Elem(), key)
			var text string
			var want any
			switch {
			case field.Type() == durationType:
				text, want = "7m", 7*time.Minute
			case field.Kind() == reflect.Int:
				text, want = "3", 3
			case field.Kind() == reflect.Int64:
				text, want = "3", int64(3)
			case field.Kind() == reflect.Float64:
				text, want = "2.5", 2.5
			case field.Kind() == reflect.Bool:
				text, want = "false", false
				if d, ok := defaults[key]; ok && d == false {
					text, want = "true", true
				}
			case field.Kind() == reflect.String:
				text = "value-of-" + key
				want = reflect.ValueOf(text).Convert(field.Type()).Interface()
			case field.Type() == reflect.TypeFor[[]string]():
				text, want = "A, B", []string{"A", "B"}
			case field.Type() == reflect.TypeFor[[]Reason]():
				text, want = "[{name: R, confidential: true}]", []Reason{{Name: "R", Confidential: true}}
			case field.Type() == reflect.TypeFor[[]SearchType]():
				text, want = `[{"name": "S", "optional_min": 2}]`, []SearchType{{Name: "S", OptionalMin: 2}}
			case field.Type() == reflect.TypeFor[[]APIKey]():
				text, want = "[{name: k, sha256: ab, admin: true}]", []APIKey{{Name: "k", SHA256: "ab", Admin: true}}
			case field.Type() == reflect.TypeFor[[]Webhook]():
				text, want = "[{name: crm, url: 'https://h.example/x', secret: s, events: [verified], allow_private: true}]",
					[]Webhook{{Name: "crm", URL: "https://h.example/x", Secret: "s", Events: []string{"verified"}, AllowPrivate: true}}
			case field.Type() == reflect.TypeFor[[]PhoneFields]():
				text, want = "[{object: Lead, fields: [Phone]}]", []PhoneFields{{Object: "Lead", Fields: []string{"Phone"}}}
			default:
				t.Fatalf("no test value for %s of type %s", key, field.Type())
			}
			t.Setenv(EnvName(key), text)
			c, ps, err := read(Options{})
			require.NoError(t, err)
			require.Empty(t, ps)
			assert.Equal(t, want, fieldAt(t, reflect.ValueOf(c).Elem(), key).Interface())
		})
	}
}

// fieldAt returns the field of a Config value at a key path such as "server.addr".
func fieldAt(t *testing.T, v reflect.Value, key string) reflect.Value {
	t.Helper()
	for _, name := range strings.Split(key, ".") {
		f, ok := fieldByTag(v.Type(), name)
		require.True(t, ok, "no field for %s", key)
		v = v.FieldByIndex(f.Index)
	}
	return v
}

func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	return fs
}

func TestPrecedenceFlagsEnvironmentFileDefaults(t *testing.T) {
	withKey(t)
	file := writeFile(t, minimal+"\nserver: {addr: 'file:1'}\nlog: {level: error}\n")
	tests := []struct {
		name     string
		file     string
		env      string
		flags    []string
		wantAddr string
	}{
		{"default", writeFile(t, minimal), "", nil, "127.0.0.1:8080"},
		{"file over default", file, "", nil, "file:1"},
		{"environment over file", file, "env:2", nil, "env:2"},
		{"flag over environment", file, "env:2", []string{"--addr", "flag:3"}, "flag:3"},
		{"flag over file", file, "", []string{"--addr=flag:3"}, "flag:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("IDVERIFY_SERVER_ADDR", tt.env)
			}
			fs := newFlags(t, append([]string{"--config", tt.file}, tt.flags...)...)
			c, err := Load(Options{Flags: fs})
			require.NoError(t, err)
			assert.Equal(t, tt.wantAddr, c.Server.Addr)
		})
	}
}

func TestFlagsOverrideTheirKeys(t *testing.T) {
	withKey(t)
	fs := newFlags(t, "--config", writeFile(t, minimal), "--log-level", "debug", "--log-format", "json", "--store-driver", "postgres")
	t.Setenv("IDVERIFY_STORE_DSN", "postgres://db/idverify")
	c, err := Load(Options{Flags: fs})
	require.NoError(t, err)
	assert.Equal(t, Log{Level: "debug", Format: "json"}, c.Log)
	assert.Equal(t, "postgres", c.Store.Driver)
}

func TestUnsetFlagsDoNotHideOtherSources(t *testing.T) {
	withKey(t)
	fs := newFlags(t) // every flag registered, none set
	t.Setenv(EnvFile, writeFile(t, minimal+"\nlog: {format: json}\n"))
	c, err := Load(Options{Flags: fs})
	require.NoError(t, err)
	assert.Equal(t, "json", c.Log.Format)
	assert.Equal(t, "info", c.Log.Level)
	assert.Equal(t, "127.0.0.1:8080", c.Server.Addr)
}

func TestUnknownKeysAreProblems(t *testing.T) {
	withKey(t)
	tests := []struct {
		name, yaml, env, path, message string
	}{
		{"top level", "verified_tll: 1h", "", "verified_tll", `unknown key (did you mean "verified_ttl"?)`},
		{"section", "server: {adr: ':80'}", "", "server.adr", `(did you mean "addr"?)`},
		{"list element", "phone_fields: [{object: Lead, fields: [Phone], feilds: [x]}]", "", "phone_fields[0].feilds", `(did you mean "fields"?)`},
		{"nested list element", strings.Replace(minimal, "match: date}", "match: date, lable: Birth date}", 1), "",
			"search_types[0].required_verifiers[0].lable", `(did you mean "label"?)`},
		{"far from any key", "colour: red", "", "colour", "unknown key; remove it"},
		{"list from the environment", "", `[{name: Billing, confidential: true, secret: true}]`, "reasons[0].secret", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("IDVERIFY_REASONS", tt.env)
			}
			yaml := minimal + "\n" + tt.yaml + "\n"
			if strings.HasPrefix(tt.yaml, minimal[:20]) {
				yaml = tt.yaml // the case rewrites the whole file
			}
			_, err := Load(Options{File: writeFile(t, yaml)})
			ps := problems(t, err)
			require.NotEmpty(t, ps)
			assert.Equal(t, tt.path, ps[0].Path, "%v", err)
			assert.Contains(t, ps[0].Message, tt.message)
		})
	}
}

func TestValuesOfTheWrongTypeAreProblems(t *testing.T) {
	withKey(t)
	tests := []struct {
		name, yaml, path, message string
	}{
		{"duration without unit", "lockout: {window: 30}", "lockout.window", `want a duration with a unit, such as "90s"`},
		{"duration text", "verified_ttl: soon", "verified_ttl", "want a duration with a unit"},
		{"number", "lockout: {max_failures: many}", "lockout.max_failures", "want a whole number"},
		{"bool", "representation: {enabled: maybe}", "representation.enabled", "want true or false"},
		{"section", "log: [debug]", "log", "want a section of keys"},
		{"list element", "phone_fields: [Phone]", "phone_fields[0]", "want a section of keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{File: writeFile(t, minimal+"\n"+tt.yaml+"\n")})
			ps := problems(t, err)
			require.Len(t, ps, 1, "%v", err) // no follow-on problem for the zero value left behind
			assert.Equal(t, tt.path, ps[0].Path)
			assert.Contains(t, ps[0].Message, tt.message)
		})
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "hmac")
	require.NoError(t, os.WriteFile(keyFile, []byte(testHMACKey+"\n"), 0o600))
	pemFile := filepath.Join(dir, "jwt.key")
	pemText := rsaPEM(t)
	require.NoError(t, os.WriteFile(pemFile, []byte(pemText), 0o600))

	t.Run("read", func(t *testing.T) {
		c, err := Load(Options{File: writeFile(t, minimal+`
secrets: {hmac_key_file: `+keyFile+`}
salesforce: {auth: jwt, client_id: id, username: u, private_key_file: `+pemFile+`}
`)})
		require.NoError(t, err)
		assert.Equal(t, testHMACKey, c.Secrets.HMACKey.Value(), "trailing newline trimmed")
		assert.Equal(t, pemText, c.Salesforce.PrivateKey.Value())
	})
	t.Run("both inline and file", func(t *testing.T) {
		t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey)
		_, err := Load(Options{File: writeFile(t, minimal+"\nsecrets: {hmac_key_file: "+keyFile+"}\n")})
		ps := problems(t, err)
		require.Len(t, ps, 1)
		assert.Equal(t, Problem{Path: "secrets.hmac_key_file", Message: "set either secrets.hmac_key or secrets.hmac_key_file, not both"}, ps[0])
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(Options{File: writeFile(t, minimal+"\nsalesforce: {private_key_file: /nonexistent/key.pem}\n")})
		ps := problems(t, err)
		assert.Equal(t, "salesforce.private_key_file", ps[0].Path)
		assert.Contains(t, ps[0].Message, "cannot read the file")
	})
}

func TestLoadSalesforceOnly(t *testing.T) {
	t.Setenv(EnvName("salesforce.auth"), "password")
	_, err := LoadSalesforce(Options{File: writeFile(t, "reasons: []\n")})
	ps := problems(t, err)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		assert.True(t, strings.HasPrefix(p.Path, "salesforce."), "only the salesforce section's problems: %v", p)
	}
	t.Setenv(EnvName("salesforce.auth"), "")
	s, err := LoadSalesforce(Options{File: writeFile(t, "reasons: []\n")})
	require.NoError(t, err, "no reasons or search types: not this section's business")
	assert.True(t, s.Embedded())
}

// Options.Defaults replace the documented defaults and lie beneath every other source.
func TestOptionsDefaultsLieBeneathEverySource(t *testing.T) {
	withKey(t)
	defaults := map[string]any{
		"server":    map[string]any{"addr": "defaults:1", "shutdown_timeout": "3s"},
		"log":       map[string]any{"level": "warn"},
		"lockout":   map[string]any{"max_failures": 9},
		"store.dsn": "from-defaults.db",
	}
	t.Setenv(EnvName("lockout.max_failures"), "7")
	c, err := Load(Options{File: writeFile(t, minimal+"\nserver: {addr: 'file:1'}\n"), Defaults: defaults})
	require.NoError(t, err)
	assert.Equal(t, "file:1", c.Server.Addr, "the file beats Defaults")
	assert.Equal(t, 7, c.Lockout.MaxFailures, "the environment beats Defaults")
	assert.Equal(t, 3*time.Second, c.Server.ShutdownTimeout, "Defaults beat the documented default")
	assert.Equal(t, "warn", c.Log.Level)
	assert.Equal(t, "auto", c.Log.Format, "a key Defaults do not name keeps its documented default")
	assert.Equal(t, "from-defaults.db", c.Store.DSN.Value(), "a dotted key works as a section does")
}

// A policy given as Defaults is enough without a file.
func TestOptionsDefaultsCanHoldThePolicy(t *testing.T) {
	withKey(t)
	var policy map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(minimal), &policy))
	c, err := Load(Options{Defaults: policy})
	require.NoError(t, err)
	assert.NotEmpty(t, c.Reasons)
	assert.NotEmpty(t, c.SearchTypes)
}

// The console's key and client secret come from files or the environment like every secret,
// and its keys are bound to IDVERIFY_CONSOLE_*.
func TestConsoleFromTheEnvironmentAndFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "console-key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("c", 32)+"\n"), 0o600))
	secretFile := filepath.Join(dir, "console-secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey)
	t.Setenv("IDVERIFY_CONSOLE_ENABLED", "true")
	t.Setenv("IDVERIFY_CONSOLE_KEY_FILE", keyFile)
	t.Setenv("IDVERIFY_CONSOLE_CLIENT_SECRET_FILE", secretFile)
	t.Setenv("IDVERIFY_CONSOLE_FRAME_ANCESTORS", "https://a.example,https://b.example")
	t.Setenv("IDVERIFY_CONSOLE_SESSION_TTL", "2h")
	// A real org's sign-in: a connected app's settings are refused on the embedded fake org.
	t.Setenv("IDVERIFY_SALESFORCE_AUTH", "refresh_token")
	t.Setenv("IDVERIFY_SALESFORCE_CLIENT_ID", "id")
	t.Setenv("IDVERIFY_SALESFORCE_REFRESH_TOKEN", "r")
	t.Setenv("IDVERIFY_CONSOLE_CLIENT_ID", "3MVG9")
	t.Setenv("IDVERIFY_CONSOLE_ORG_ID", "00D5e000000AbCdEAF")
	t.Setenv("IDVERIFY_CONSOLE_CALLBACK_URL", "https://idverify.example.com/console/oauth/callback")
	c, err := Load(Options{File: writeFile(t, minimal)})
	require.NoError(t, err)
	assert.True(t, c.Console.Enabled)
	assert.Equal(t, strings.Repeat("c", 32), c.Console.Key.Value(), "trailing newline trimmed")
	assert.Equal(t, "s3cret", c.Console.ClientSecret.Value())
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, c.Console.FrameAncestors)
	assert.Equal(t, 2*time.Hour, c.Console.SessionTTL)

	t.Setenv("IDVERIFY_CONSOLE_KEY", strings.Repeat("d", 32))
	_, err = Load(Options{File: writeFile(t, minimal)})
	ps := problems(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, Problem{Path: "console.key_file", Message: "set either console.key or console.key_file, not both"}, ps[0])
}

// A secret given only as a caller's default (the demo's generated keys) gives way to its
// *_file wherever that is set (here the YAML file, which a demo cannot see when it generates
// them); one the file sets beside its *_file is still refused.
func TestDefaultSecretsGiveWayToFiles(t *testing.T) {
	dir := t.TempDir()
	hmacFile, consoleFile := filepath.Join(dir, "hmac"), filepath.Join(dir, "console")
	require.NoError(t, os.WriteFile(hmacFile, []byte(testHMACKey+"\n"), 0o600))
	require.NoError(t, os.WriteFile(consoleFile, []byte(strings.Repeat("c", 32)+"\n"), 0o600))
	generated := map[string]any{
		"secrets": map[string]any{"hmac_key": strings.Repeat("g", 32)},
		"console": map[string]any{"enabled": true, "key": strings.Repeat("h", 32)},
	}
	files := minimal + "\nsecrets:\n  hmac_key_file: " + hmacFile + "\nconsole:\n  key_file: " + consoleFile + "\n"
	c, err := Load(Options{File: writeFile(t, files), Defaults: generated})
	require.NoError(t, err)
	assert.Equal(t, testHMACKey, c.Secrets.HMACKey.Value())
	assert.Equal(t, strings.Repeat("c", 32), c.Console.Key.Value())

	_, err = Load(Options{File: writeFile(t, files+"  key: "+strings.Repeat("f", 32)+"\n"), Defaults: generated})
	ps := problems(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, Problem{Path: "console.key_file", Message: "set either console.key or console.key_file, not both"}, ps[0])
}

// The outbox worker takes a negative duration for "never"; the configuration's 0 is that.
func TestWorkerGiveUpAfter(t *testing.T) {
	assert.Equal(t, time.Duration(-1), Outbox{}.WorkerGiveUpAfter(), "0 never gives up")
	assert.Equal(t, time.Hour, Outbox{GiveUpAfter: time.Hour}.WorkerGiveUpAfter())
}
