package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the name of every environment variable Load reads: the key path in upper
// case with dots as underscores, e.g. IDVERIFY_SERVER_ADDR for server.addr.
const EnvPrefix = "IDVERIFY_"

// EnvFile names the environment variable that holds the path of the YAML file when neither
// Options.File nor the --config flag gives one.
const EnvFile = "IDVERIFY_CONFIG"

// FileFlag is the flag AddFlags registers for the path of the YAML file.
const FileFlag = "config"

// Options says where Load reads from besides the defaults and the environment.
type Options struct {
	// File is the YAML file. Empty means the --config flag in Flags, then IDVERIFY_CONFIG;
	// when all three are empty no file is read (defaults, environment and flags only).
	File string
	// Flags is a flag set AddFlags registered on, usually a cobra command's. Flags the user
	// set override every other source; nil means no flags.
	Flags *pflag.FlagSet
	// Defaults replace the documented defaults of the keys they name, beneath every other
	// source: nested maps are sections ({"secrets": {"hmac_key": "…"}} sets secrets.hmac_key),
	// anything else a key's value. `idverify serve` without Salesforce credentials gives the
	// demo's this way (the example policy, a generated key), so a file, the environment or a
	// flag still overrides each.
	Defaults map[string]any
}

// flagKeys are the keys a command-line user sets most, with the flag that sets each.
var flagKeys = []struct{ flag, key, usage string }{
	{"addr", "server.addr", "address the HTTP API listens on (server.addr)"},
	{"log-level", "log.level", "debug, info, warn or error (log.level)"},
	{"log-format", "log.format", "auto (text on a terminal, JSON otherwise), text or json (log.format)"},
	{"store-driver", "store.driver", "sqlite or postgres (store.driver)"},
}

// AddFlags registers --config and the flags that override single keys (--addr, --log-level,
// --log-format, --store-driver) on fs. Their defaults are empty: an unset flag never hides
// the file, the environment or the documented default.
func AddFlags(fs *pflag.FlagSet) {
	fs.String(FileFlag, "", "YAML configuration file (default $"+EnvFile+")")
	for _, f := range flagKeys {
		fs.String(f.flag, "", f.usage)
	}
}

// defaults are the documented defaults (docs/CONFIGURATION.md), by key path.
var defaults = map[string]any{
	"representation.enabled":              true,
	"representation.object":               "AccountContactRelation",
	"representation.representative_field": "ContactId",
	"representation.customer_field":       "AccountId",
	"representation.require_active":       true,
	"lockout.max_failures":                5,
	"lockout.window":                      30 * time.Minute,
	"verified_ttl":                        time.Hour,
	"verdicts":                            "on_decision",
	"session.idle_timeout":                15 * time.Minute,
	"session.max_retries":                 0,
	"matching.date_order":                 "dmy",
	"matching.languages":                  []any{"en"},
	"phone_fields": []any{
		map[string]any{"object": "Account", "fields": []any{"Phone", "PersonMobilePhone", "PersonHomePhone"}},
		map[string]any{"object": "Contact", "fields": []any{"Phone", "MobilePhone", "HomePhone"}},
	},
	"salesforce.login_url":       "https://login.salesforce.com",
	"salesforce.api_version":     "62.0",
	"salesforce.timeout":         30 * time.Second,
	"salesforce.default_channel": "Voice Call",
	"salesforce.read_ahead_ttl":  2 * time.Minute,
	"store.driver":               DriverSQLite,
	"store.sweep_interval":       time.Hour,
	"store.retention.sessions":   7 * 24 * time.Hour,
	"store.retention.failures":   30 * 24 * time.Hour,
	"store.retention.delivered":  7 * 24 * time.Hour,
	"store.retention.audit":      time.Duration(0),
	"outbox.lease":               2 * time.Minute,
	"outbox.concurrency":         4,
	"outbox.min_backoff":         5 * time.Second,
	"outbox.max_backoff":         15 * time.Minute,
	"outbox.give_up_after":       24 * time.Hour,
	"server.addr":                "127.0.0.1:8080",
	"server.shutdown_timeout":    10 * time.Second,
	"events.timeout":             10 * time.Second,
	"console.session_ttl":        10 * time.Hour,
	"log.level":                  "info",
	"log.format":                 "auto",

	// The HTTP API's bounds (adapter/httpapi) and the caller id's trust.
	"phone_lookup.min_attestation":        "",
	"server.read_header_timeout":          5 * time.Second,
	"server.read_timeout":                 10 * time.Second,
	"server.write_timeout":                30 * time.Second,
	"server.idle_timeout":                 2 * time.Minute,
	"server.request_timeout":              20 * time.Second,
	"server.max_body_bytes":               64 << 10,
	"server.idempotency_ttl":              24 * time.Hour,
	"server.rate_limit.key_per_second":    100,
	"server.rate_limit.key_burst":         200,
	"server.rate_limit.person_per_minute": 10,
	"server.rate_limit.person_burst":      5,
}

// Load reads the configuration with this precedence: flags the user set > IDVERIFY_*
// environment variables > the YAML file > defaults. Every key has its environment variable,
// whether or not the file mentions it. Lists come from the file, or from the environment as
// YAML or JSON text (lists of plain values also as comma-separated text).
//
// It returns the validated Config, or a nil Config and an error: Problems (unknown keys, then
// values of the wrong type, then everything Validate finds, each with its key path), or a
// plain error when the file cannot be read or is not YAML. Unknown IDVERIFY_* variables are
// not detected (other tools share the prefix); unknown keys in the file and in list values
// are.
func Load(opts Options) (*Config, error) {
	c, ps, err := read(opts)
	if err != nil {
		return nil, err
	}
	c.resolve(&ps, opts.Defaults)
	// A key that could not be decoded holds its zero value: do not also report that.
	reported := slices.Clone(ps)
	for _, p := range c.problems() {
		if !slices.ContainsFunc(reported, func(r Problem) bool { return within(p.Path, r.Path) }) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// LoadSalesforce reads the configuration as Load does but keeps only the problems of its
// salesforce section (unknown keys elsewhere included): for commands that only talk to the org,
// such as `idverify config import`, which runs before the rest of the file exists.
func LoadSalesforce(opts Options) (Salesforce, error) {
	c, ps, err := read(opts)
	if err != nil {
		return Salesforce{}, err
	}
	c.resolve(&ps, opts.Defaults)
	c.validateSalesforce(&ps)
	var mine Problems
	for _, p := range ps {
		if within(p.Path, "salesforce") {
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		return Salesforce{}, mine
	}
	return c.Salesforce, nil
}

// read merges the sources and decodes them, reporting unknown keys and values of the wrong
// type; it neither resolves nor validates.
func read(opts Options) (*Config, Problems, error) {
	v := viper.New()
	for key, value := range defaults {
		v.SetDefault(key, value)
	}
	setDefaults(v, "", opts.Defaults)
	for _, key := range Keys() {
		if err := v.BindEnv(key, EnvName(key)); err != nil {
			return nil, nil, fmt.Errorf("config: binding %s: %w", key, err)
		}
	}
	if opts.Flags != nil {
		for _, f := range flagKeys {
			if fl := opts.Flags.Lookup(f.flag); fl != nil {
				if err := v.BindPFlag(f.key, fl); err != nil {
					return nil, nil, fmt.Errorf("config: binding --%s: %w", f.flag, err)
				}
			}
		}
	}
	if file := fileName(opts); file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, nil, fmt.Errorf("config: reading %s: %w", file, err)
		}
	}

	var c Config
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(durationHook, sliceHook)
	})
	var ps Problems
	unknownKeys(&ps, "", v.AllSettings(), reflect.TypeFor[Config]())
	ps = append(ps, decodeProblems(err)...)
	return &c, ps, nil
}

// setDefaults sets the leaves of m (a section's keys under prefix) as defaults of v.
func setDefaults(v *viper.Viper, prefix string, m map[string]any) {
	for key, value := range m {
		if section, ok := value.(map[string]any); ok {
			setDefaults(v, prefix+key+".", section)
			continue
		}
		v.SetDefault(prefix+key, value)
	}
}

// within reports whether path is key or lies under it (key.x, key[0]).
func within(path, key string) bool {
	rest, ok := strings.CutPrefix(path, key)
	return key != "" && ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

func fileName(opts Options) string {
	if opts.File != "" {
		return opts.File
	}
	if opts.Flags != nil {
		if f := opts.Flags.Lookup(FileFlag); f != nil && f.Value.String() != "" {
			return f.Value.String()
		}
	}
	return os.Getenv(EnvFile)
}

// resolve reads the *_file secrets and fills defaults that depend on other keys. A secret that
// is still the caller's default (Options.Defaults: the demo's generated keys) gives way to its
// *_file set anywhere; one set by the file, the environment or a flag meeting its *_file is an
// error.
func (c *Config) resolve(ps *Problems, defaults map[string]any) {
	readSecret := func(path, file string, into *Secret, inline string, trim bool) {
		if file == "" {
			return
		}
		if *into != "" && !isDefault(defaults, inline, into.Value()) {
			ps.add(path, "set either %s or %s, not both", inline, path)
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			ps.add(path, "cannot read the file: %v", errors.Unwrap(err))
			return
		}
		s := string(b)
		if trim {
			s = strings.TrimSpace(s)
		}
		*into = Secret(s)
	}
	readSecret("secrets.hmac_key_file", c.Secrets.HMACKeyFile, &c.Secrets.HMACKey, "secrets.hmac_key", true)
	readSecret("salesforce.private_key_file", c.Salesforce.PrivateKeyFile, &c.Salesforce.PrivateKey, "salesforce.private_key", false)
	for i := range c.Events.Webhooks {
		h := &c.Events.Webhooks[i]
		at := fmt.Sprintf("events.webhooks[%d].", i)
		readSecret(at+"secret_file", h.SecretFile, &h.Secret, at+"secret", true)
	}
	readSecret("console.key_file", c.Console.KeyFile, &c.Console.Key, "console.key", true)
	readSecret("console.client_secret_file", c.Console.ClientSecretFile, &c.Console.ClientSecret, "console.client_secret", true)
	if c.Store.Driver == DriverSQLite && c.Store.DSN == "" {
		c.Store.DSN = DefaultSQLiteDSN
	}
}

// isDefault reports whether value is what defaults (Options.Defaults) gives the key at path.
func isDefault(defaults map[string]any, path, value string) bool {
	section, key, nested := strings.Cut(path, ".")
	v, ok := defaults[section]
	if !nested {
		return ok && fmt.Sprint(v) == value
	}
	m, ok := v.(map[string]any)
	return ok && isDefault(m, key, value)
}

// Keys returns every key path of Config, e.g. "server.addr", in struct order. Lists are one
// key each ("reasons"), never their elements.
func Keys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for f := range t.Fields() {
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(f.Type, key+".")
				continue
			}
			keys = append(keys, key)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

// EnvName returns the environment variable of a key path: "server.addr" → IDVERIFY_SERVER_ADDR.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// hookError is a decode failure whose message is written for the user.
type hookError string

func (e hookError) Error() string { return string(e) }

var durationType = reflect.TypeFor[time.Duration]()

// durationHook parses durations from text ("15m", "1h30m") and refuses bare numbers, which
// would silently mean nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	if from.Kind() != reflect.String {
		return nil, hookError(`want a duration with a unit, such as "90s", "15m" or "1h"`)
	}
	d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
	if err != nil {
		return nil, hookError(`want a duration with a unit, such as "90s", "15m" or "1h"`)
	}
	return d, nil
}

// sliceHook reads a list given as text (an environment variable or flag): YAML or JSON
// ("[a, b]", "[{name: x}]"), or, for lists of plain values, comma-separated ("a,b").
func sliceHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	text := strings.TrimSpace(data.(string))
	if text == "" {
		return []any{}, nil
	}
	if to.Elem().Kind() != reflect.Struct && !strings.HasPrefix(text, "[") {
		parts := strings.Split(text, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	var list []any
	if err := yaml.Unmarshal([]byte(text), &list); err != nil {
		return nil, hookError("want a list written as YAML or JSON, e.g. [{name: Billing, confidential: true}]")
	}
	return list, nil
}

// decodeProblems turns mapstructure's errors into problems, without echoing any value.
func decodeProblems(err error) Problems {
	if err == nil {
		return nil
	}
	var ps Problems
	var walk func(err error)
	walk = func(err error) {
		switch e := err.(type) {
		case *mapstructure.DecodeError:
			ps.add(e.Name(), "%s", describe(e.Unwrap()))
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		default:
			ps.add("", "%s", describe(err))
		}
	}
	walk(err)
	return ps
}

func describe(err error) string {
	var he hookError
	var ue *mapstructure.UnconvertibleTypeError
	var pe *mapstructure.ParseError
	switch {
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &ue):
		return "want " + kindName(ue.Expected.Type()) + ", not " + kindName(reflect.TypeOf(ue.Value))
	case errors.As(err, &pe):
		return "want " + kindName(pe.Expected.Type())
	}
	if strings.HasPrefix(err.Error(), "expected a map or struct") {
		return "want a section of keys"
	}
	return "has the wrong type: check it in docs/CONFIGURATION.md"
}

// unknownKeys reports every key of settings (viper's merged, lower-cased view of all sources)
// that t has no field for, with its full path, descending into sections and list elements.
func unknownKeys(ps *Problems, prefix string, settings map[string]any, t reflect.Type) {
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		path := prefix + key
		f, ok := fieldByTag(t, strings.ToLower(key))
		if !ok {
			ps.add(path, "unknown key%s; remove it or check its spelling (docs/CONFIGURATION.md lists every key)", suggest(path))
			continue
		}
		value := settings[key]
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			if m, ok := value.(map[string]any); ok {
				unknownKeys(ps, path+".", m, f.Type)
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			list, ok := value.([]any)
			if text, isText := value.(string); isText {
				_ = yaml.Unmarshal([]byte(text), &list) // a parse error is reported by the decoder
				ok = true
			}
			if !ok {
				continue
			}
			for i, elem := range list {
				if m, ok := elem.(map[string]any); ok {
					unknownKeys(ps, fmt.Sprintf("%s[%d].", path, i), m, f.Type.Elem())
				}
			}
		}
	}
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	if t == durationType {
		return `a duration such as "15m"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a section of keys"
	}
	return t.Kind().String()
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// suggest returns ` (did you mean "x"?)` for an unknown key path close to a known key.
func suggest(path string) string {
	parts := strings.Split(path, ".")
	t := reflect.TypeFor[Config]()
	for _, part := range parts[:len(parts)-1] {
		name := indexSuffix.ReplaceAllString(part, "")
		f, ok := fieldByTag(t, name)
		if !ok {
			return ""
		}
		t = f.Type
		for t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
	}
	last := parts[len(parts)-1]
	best, bestDist := "", 3
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if d := distance(last, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if f.Tag.Get("mapstructure") == tag {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// distance is the Levenshtein distance between a and b (ASCII key names).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
