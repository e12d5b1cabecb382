package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testHMACKey = "0123456789abcdef0123456789abcdef"

// valid returns a configuration that passes Validate: Salesforce's sample plus a
// representative search type linked to it.
func valid() *Config {
	return &Config{
		Reasons: []Reason{{Name: "Change of address", Confidential: true}, {Name: "Opening hours"}},
		SearchTypes: []SearchType{
			{
				Name: "customer", Object: "Account", Search: "text", Filter: "IsPersonAccount = true", SortBy: "Name",
				ResultFields: []string{"Name", "PersonMailingCity", "Phone"}, MaskedResultFields: []string{"Phone"},
				RequiredVerifiers: []Verifier{
					{Field: "PersonMailingPostalCode", Match: "postal_code", Mode: "check"},
					{Field: "PersonBirthdate", Match: "date", Mode: "check"},
				},
				OptionalVerifiers: []Verifier{
					{Field: "PersonMobilePhone", Match: "phone", Mode: "check", Digits: 4},
					{Field: "PersonEmail", Reveal: "masked"},
				},
				OptionalMin: 1,
			},
			{
				Name: "representative", Object: "Contact", Search: "object",
				SearchFields: []string{"LastName", "FirstName"}, ResultFields: []string{"Name", "Account.Name"},
				RequiredVerifiers: []Verifier{{Field: "Birthdate", Match: "date", Mode: "check"}},
				LinkedSearchType:  "customer",
			},
		},
		Representation: Representation{Enabled: true, Object: "AccountContactRelation",
			RepresentativeField: "ContactId", CustomerField: "AccountId", RequireActive: true},
		Lockout:     Lockout{MaxFailures: 5, Window: 30 * time.Minute},
		VerifiedTTL: time.Hour,
		Session:     Session{IdleTimeout: 15 * time.Minute, MaxRetries: 1},
		Matching:    Matching{DateOrder: "dmy", DefaultCountryCode: "44"},
		PhoneFields: []PhoneFields{{Object: "Contact", Fields: []string{"Phone", "MobilePhone"}}},
		Secrets:     Secrets{HMACKey: testHMACKey},
		Salesforce:  Salesforce{LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: 30 * time.Second},
		Store: Store{Driver: "sqlite", DSN: "idverify.db", SweepInterval: time.Hour,
			Retention: Retention{Sessions: 168 * time.Hour, Failures: 720 * time.Hour, Delivered: 168 * time.Hour}},
		Outbox: Outbox{Lease: 2 * time.Minute, Concurrency: 4, MinBackoff: 5 * time.Second, MaxBackoff: 15 * time.Minute},
		Server: Server{Addr: "127.0.0.1:8080", ShutdownTimeout: 10 * time.Second,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 2 * time.Minute, RequestTimeout: 20 * time.Second, MaxBodyBytes: 64 << 10,
			IdempotencyTTL: 24 * time.Hour,
			RateLimit:      RateLimit{KeyPerSecond: 100, KeyBurst: 200, PersonPerMinute: 10, PersonBurst: 5}},
		Log: Log{Level: "info", Format: "text"},
	}
}

func rsaPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestValidConfigHasNoProblems(t *testing.T) {
	require.NoError(t, valid().Validate())
}

func TestValidateReportsEachProblem(t *testing.T) {
	rsaKey := rsaPEM(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))

	tests := []struct {
		name    string
		change  func(c *Config)
		path    string
		message string // a part of the message
	}{
		// reasons
		{"no reasons", func(c *Config) { c.Reasons = nil }, "reasons", "add at least one"},
		{"no confidential reason", func(c *Config) { c.Reasons[0].Confidential = false }, "reasons", "no reason is confidential"},
		{"empty reason name", func(c *Config) { c.Reasons[1].Name = "  " }, "reasons[1].name", "is empty"},
		{"duplicate reason", func(c *Config) { c.Reasons[1].Name = "change of ADDRESS" }, "reasons[1].name", "duplicates reasons[0].name"},
		{"reason too long", func(c *Config) { c.Reasons[1].Name = strings.Repeat("x", 256) }, "reasons[1].name", "at most 255"},

		// search types
		{"no search types", func(c *Config) { c.SearchTypes = nil }, "search_types", "add at least one"},
		{"empty search type name", func(c *Config) { c.SearchTypes[0].Name = ""; c.SearchTypes[1].LinkedSearchType = "" }, "search_types[0].name", "is empty"},
		{"duplicate search type", func(c *Config) { c.SearchTypes[1].Name = "customer"; c.SearchTypes[1].LinkedSearchType = "" }, "search_types[1].name", `duplicates search_types[0].name "customer"`},
		{"empty object", func(c *Config) { c.SearchTypes[0].Object = "" }, "search_types[0].object", "is empty"},
		{"bad object", func(c *Config) { c.SearchTypes[0].Object = "Account; DELETE" }, "search_types[0].object", "not an sObject API name"},
		{"empty search", func(c *Config) { c.SearchTypes[0].Search = "" }, "search_types[0].search", "use text"},
		{"bad search", func(c *Config) { c.SearchTypes[0].Search = "Text-Based" }, "search_types[0].search", `unknown search kind "Text-Based": use one of text, object`},
		{"bad sort_by", func(c *Config) { c.SearchTypes[0].SortBy = "Name DESC" }, "search_types[0].sort_by", "not a field API name"},
		{"object search without fields", func(c *Config) { c.SearchTypes[1].SearchFields = nil }, "search_types[1].search_fields", "needs the fields the agent fills"},
		{"bad search field", func(c *Config) { c.SearchTypes[1].SearchFields[1] = "Birth date" }, "search_types[1].search_fields[1]", "not a field API name"},
		{"no result fields", func(c *Config) { c.SearchTypes[0].ResultFields, c.SearchTypes[0].MaskedResultFields = nil, nil },
			"search_types[0].result_fields", "is empty"},
		{"bad result field", func(c *Config) { c.SearchTypes[1].ResultFields[1] = "Account..Name" }, "search_types[1].result_fields[1]", "not a field API name"},
		{"optional_min too large", func(c *Config) { c.SearchTypes[0].OptionalMin = 3 }, "search_types[0].optional_min", "only 2 optional verifiers"},
		{"optional_min negative", func(c *Config) { c.SearchTypes[0].OptionalMin = -1 }, "search_types[0].optional_min", "between 0 and 2"},
		{"no question must be answered", func(c *Config) { c.SearchTypes[1].RequiredVerifiers = nil }, "search_types[1]", "anyone would be verified"},

		// verifiers
		{"empty verifier field", func(c *Config) { c.SearchTypes[0].RequiredVerifiers[1].Field = "" }, "search_types[0].required_verifiers[1].field", "is empty"},
		{"bad verifier field", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[0].Field = "Phone'" }, "search_types[0].optional_verifiers[0].field", "not a field API name"},
		{"field asked twice", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[0].Field = "PersonMailingPostalCode" }, "search_types[0].optional_verifiers[0].field", "already asked at search_types[0].required_verifiers[0]"},
		{"check-mode field shown in the results", func(c *Config) {
			c.SearchTypes[0].ResultFields = append(c.SearchTypes[0].ResultFields, "PersonBirthdate")
		},
			"search_types[0].required_verifiers[1].field", "PersonBirthdate is asked in check mode, which hides the answer from the agent, but search_types[0].result_fields[3] shows it in the search results"},
		{"check-mode field shown in the results in another case", func(c *Config) { c.SearchTypes[0].ResultFields[1] = "personbirthdate" },
			"search_types[0].required_verifiers[1].field", "search_types[0].result_fields[1] shows it"},
		{"check-mode field shown masked in the results", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[0].Field = "Phone" },
			"search_types[0].optional_verifiers[0].field", "search_types[0].result_fields[2] shows it"},
		{"check-mode field searched by", func(c *Config) { c.SearchTypes[1].SearchFields[1] = "Birthdate" },
			"search_types[1].required_verifiers[0].field", "Birthdate is asked in check mode, which hides the answer from the agent, but search_types[1].search_fields[1] lets the agent search by it"},
		{"check-mode field first in the results", func(c *Config) { c.SearchTypes[0].ResultFields[0] = "PersonBirthdate" },
			"search_types[0].required_verifiers[1].field", "search_types[0].result_fields[0] shows it"},
		{"check-mode field first among the search fields", func(c *Config) { c.SearchTypes[1].SearchFields[0] = "Birthdate" },
			"search_types[1].required_verifiers[0].field", "search_types[1].search_fields[0] lets the agent search by it"},
		// The agent picks the search type: one on the same object that shows the field, or
		// searches by it, gives away another's check-mode answer.
		{"check-mode field shown by another search type on the object", func(c *Config) {
			c.SearchTypes = append(c.SearchTypes, SearchType{Name: "by number", Object: "account", Search: "text",
				SearchFields: []string{"Phone"}, ResultFields: []string{"Name", "PersonBirthdate"},
				RequiredVerifiers: []Verifier{{Field: "Name"}}})
		},
			"search_types[0].required_verifiers[1].field", "search_types[2].result_fields[1] shows it in the search results"},
		{"check-mode field searched by another search type on the object", func(c *Config) {
			c.SearchTypes = append(c.SearchTypes, SearchType{Name: "by postcode", Object: "Account", Search: "object",
				SearchFields: []string{"PersonMailingPostalCode"}, ResultFields: []string{"Name"},
				RequiredVerifiers: []Verifier{{Field: "Name"}}})
		},
			"search_types[0].required_verifiers[0].field", "search_types[2].search_fields[0] lets the agent search by it"},
		{"masked field not shown", func(c *Config) { c.SearchTypes[0].MaskedResultFields = []string{"Phone", "PersonHomePhone"} },
			"search_types[0].masked_result_fields[1]", `"PersonHomePhone" is not in result_fields`},
		{"unknown match rule", func(c *Config) { c.SearchTypes[0].RequiredVerifiers[0].Match = "fuzzy" },
			"search_types[0].required_verifiers[0].match", `unknown match rule "fuzzy": use one of exact, text, name, date, phone, postal_code, number, last4`},
		{"check without match", func(c *Config) { c.SearchTypes[0].RequiredVerifiers[0].Match = "" },
			"search_types[0].required_verifiers[0].match", "check mode needs a match rule, one of exact, text, name"},
		{"bad mode", func(c *Config) { c.SearchTypes[0].RequiredVerifiers[0].Mode = "ask" }, "search_types[0].required_verifiers[0].mode", `unknown mode "ask": use one of attest, check`},
		{"bad reveal", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[1].Reveal = "partial" }, "search_types[0].optional_verifiers[1].reveal", `unknown reveal "partial"`},
		{"attest with reveal none", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[1].Reveal = "none" }, "search_types[0].optional_verifiers[1].reveal", "an attesting agent must see the value"},
		{"negative digits", func(c *Config) { c.SearchTypes[0].OptionalVerifiers[0].Digits = -4 }, "search_types[0].optional_verifiers[0].digits", "is -4"},
		{"digits without phone", func(c *Config) { c.SearchTypes[0].RequiredVerifiers[1].Digits = 4 }, "search_types[0].required_verifiers[1].digits", "only applies to match phone"},

		// links
		{"unknown linked search type", func(c *Config) { c.SearchTypes[1].LinkedSearchType = "customers" },
			"search_types[1].linked_search_type", `"customers" is not the name of any search type: use one of customer, representative`},
		{"self link", func(c *Config) { c.SearchTypes[0].LinkedSearchType = "customer" }, "search_types[0].linked_search_type", "cycle (customer → customer)"},
		{"two-type cycle", func(c *Config) { c.SearchTypes[0].LinkedSearchType = "representative" },
			"search_types[0].linked_search_type", "cycle (customer → representative → customer)"},
		{"three-type cycle", func(c *Config) {
			c.SearchTypes = append(c.SearchTypes, c.SearchTypes[0])
			c.SearchTypes[2].Name = "guardian"
			c.SearchTypes[2].LinkedSearchType = "representative"
			c.SearchTypes[0].LinkedSearchType = "guardian"
		}, "search_types[0].linked_search_type", "cycle (customer → guardian → representative → customer)"},
		{"link into a cycle reports the cycle once", func(c *Config) {
			c.SearchTypes = append(c.SearchTypes, c.SearchTypes[0])
			c.SearchTypes[2].Name = "guardian"
			c.SearchTypes[2].LinkedSearchType = "guardian"
			c.SearchTypes[0].LinkedSearchType = "guardian"
			c.SearchTypes[1].LinkedSearchType = "guardian"
		}, "search_types[2].linked_search_type", "cycle (guardian → guardian)"},
		{"chain deeper than one level", func(c *Config) {
			c.SearchTypes = append(c.SearchTypes, c.SearchTypes[0])
			c.SearchTypes[2].Name = "guardian"
			c.SearchTypes[2].LinkedSearchType = "representative"
		}, "search_types[2].linked_search_type", `"representative" is itself linked to "customer": only one customer level is supported`},

		// representation
		{"representation without object", func(c *Config) { c.Representation.Object = "" }, "representation.object", "or set representation.enabled: false"},
		{"representation bad field", func(c *Config) { c.Representation.CustomerField = "Account Id" }, "representation.customer_field", "not a field API name"},
		{"representation empty role", func(c *Config) { c.Representation.Roles = []string{"Guardian", ""} }, "representation.roles[1]", "is empty"},

		// limits and lifetimes
		{"lockout max_failures zero", func(c *Config) { c.Lockout.MaxFailures = 0 }, "lockout.max_failures", "at least 1"},
		{"lockout window zero", func(c *Config) { c.Lockout.Window = 0 }, "lockout.window", "positive duration"},
		{"verified_ttl negative", func(c *Config) { c.VerifiedTTL = -time.Minute }, "verified_ttl", "positive duration"},
		{"idle_timeout zero", func(c *Config) { c.Session.IdleTimeout = 0 }, "session.idle_timeout", "positive duration"},
		{"max_retries negative", func(c *Config) { c.Session.MaxRetries = -1 }, "session.max_retries", "must not be negative"},

		// matching and phone lookup
		{"bad date order", func(c *Config) { c.Matching.DateOrder = "ymd" }, "matching.date_order", `unknown value "ymd": use one of dmy, mdy`},
		{"bad country code", func(c *Config) { c.Matching.DefaultCountryCode = "+44" }, "matching.default_country_code", "without +"},
		{"unassigned country code", func(c *Config) { c.Matching.DefaultCountryCode = "999" }, "matching.default_country_code", "999 is not the calling code of a country"},
		{"unknown language", func(c *Config) { c.Matching.Languages = []string{"en", "nl"} }, "matching.languages[1]", `unknown language "nl": use one of en, de, fr, es, it`},
		{"phone fields without object", func(c *Config) { c.PhoneFields[0].Object = "" }, "phone_fields[0].object", "is empty"},
		{"phone fields duplicate object", func(c *Config) {
			c.PhoneFields = append(c.PhoneFields, PhoneFields{Object: "Contact", Fields: []string{"HomePhone"}})
		},
			"phone_fields[1].object", "already listed at phone_fields[0]"},
		{"phone fields empty", func(c *Config) { c.PhoneFields[0].Fields = nil }, "phone_fields[0].fields", "is empty"},
		{"phone field bad", func(c *Config) { c.PhoneFields[0].Fields[1] = "Mobile-Phone" }, "phone_fields[0].fields[1]", "not a field API name"},

		// secrets
		{"check mode without hmac key", func(c *Config) { c.Secrets.HMACKey = "" }, "secrets.hmac_key", "search_types[0].required_verifiers[0] uses check mode"},
		{"attest only without hmac key", func(c *Config) {
			c.Secrets.HMACKey = ""
			for i := range c.SearchTypes {
				for j := range c.SearchTypes[i].RequiredVerifiers {
					c.SearchTypes[i].RequiredVerifiers[j] = Verifier{Field: c.SearchTypes[i].RequiredVerifiers[j].Field}
				}
				c.SearchTypes[i].OptionalVerifiers = nil
				c.SearchTypes[i].OptionalMin = 0
			}
		}, "secrets.hmac_key", "the engine keys the check-mode values it stores with it"},
		{"short hmac key", func(c *Config) { c.Secrets.HMACKey = "short" }, "secrets.hmac_key", "is 5 bytes: use at least 32"},

		// salesforce
		{"credentials without auth", func(c *Config) { c.Salesforce.Username = "u@example.com" }, "salesforce.auth", "salesforce.username is set"},
		{"security token without auth", func(c *Config) { c.Salesforce.SecurityToken = "tok" }, "salesforce.auth", "salesforce.security_token is set"},
		{"a sandbox's login URL without auth", func(c *Config) { c.Salesforce.LoginURL = "https://test.salesforce.com" }, "salesforce.auth", "salesforce.login_url is set"},
		{"a My Domain without auth", func(c *Config) { c.Salesforce.LoginURL = "https://acme.my.salesforce.com" }, "salesforce.auth", "salesforce.login_url is set"},
		{"bad auth", func(c *Config) { c.Salesforce.Auth = "oauth" }, "salesforce.auth", `unknown value "oauth": use one of jwt, client_credentials, refresh_token, password`},
		{"jwt without username", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "jwt", ClientID: "id", PrivateKey: Secret(rsaKey), LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.username", "is empty but salesforce.auth is jwt"},
		{"jwt without key", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "jwt", ClientID: "id", Username: "u", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.private_key", "set salesforce.private_key_file"},
		{"jwt key not PEM", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "jwt", ClientID: "id", Username: "u", PrivateKey: "secret-not-pem", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.private_key", "is not PEM text"},
		{"jwt key not RSA", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "jwt", ClientID: "id", Username: "u", PrivateKey: Secret(ecPEM), LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.private_key", "RS256 only"},
		{"client credentials without secret", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "client_credentials", ClientID: "id", LoginURL: "https://acme.my.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.client_secret", "IDVERIFY_SALESFORCE_CLIENT_SECRET"},
		{"client credentials on login host", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "client_credentials", ClientID: "id", ClientSecret: "s", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.login_url", "only works on your My Domain"},
		{"refresh token missing", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "refresh_token", ClientID: "id", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.refresh_token", "is empty but salesforce.auth is refresh_token"},
		{"password missing", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "password", ClientID: "id", ClientSecret: "s", Username: "u", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.password", "is empty but salesforce.auth is password"},
		{"client id missing", func(c *Config) {
			c.Salesforce = Salesforce{Auth: "refresh_token", RefreshToken: "r", LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
		}, "salesforce.client_id", "consumer key"},
		{"login url http", func(c *Config) { c.Salesforce.LoginURL = "http://login.salesforce.com" }, "salesforce.login_url", "must be an https URL"},
		{"login url with path", func(c *Config) { c.Salesforce.LoginURL = "https://login.salesforce.com/services/oauth2/token" }, "salesforce.login_url", "no path"},
		{"login url with password", func(c *Config) { c.Salesforce.LoginURL = "https://u:hunter2@login.salesforce.com" }, "salesforce.login_url", "no user, password"},
		{"login url with query", func(c *Config) { c.Salesforce.LoginURL = "https://login.salesforce.com?token=x" }, "salesforce.login_url", "no user, password, query"},
		{"login url with fragment", func(c *Config) { c.Salesforce.LoginURL = "https://login.salesforce.com/#x" }, "salesforce.login_url", "no user, password, query or fragment"},
		{"bad api version", func(c *Config) { c.Salesforce.APIVersion = "v62" }, "salesforce.api_version", `"v62" is not an API version`},
		{"old api version", func(c *Config) { c.Salesforce.APIVersion = "54.0" }, "salesforce.api_version", "need 55.0 or later"},
		{"timeout zero", func(c *Config) { c.Salesforce.Timeout = 0 }, "salesforce.timeout", "positive duration"},

		// store, server, log
		{"bad driver", func(c *Config) { c.Store.Driver = "mysql" }, "store.driver", `unknown value "mysql": use one of sqlite, postgres`},
		{"postgres without dsn", func(c *Config) { c.Store.Driver, c.Store.DSN = "postgres", "" }, "store.dsn", "IDVERIFY_STORE_DSN"},
		{"failures kept shorter than the lockout window", func(c *Config) { c.Store.Retention.Failures = 10 * time.Minute },
			"store.retention.failures", "lockout.window"},
		{"sessions kept shorter than the idle timeout", func(c *Config) { c.Store.Retention.Sessions = time.Minute },
			"store.retention.sessions", "idle_timeout"},
		{"a negative audit retention", func(c *Config) { c.Store.Retention.Audit = -time.Hour }, "store.retention.audit", "for ever"},
		{"no outbox workers", func(c *Config) { c.Outbox.Concurrency = 0 }, "outbox.concurrency", "1 to 64"},
		{"backoff bounds upside down", func(c *Config) { c.Outbox.MaxBackoff = time.Second }, "outbox.max_backoff", "min_backoff"},
		{"a negative give-up age", func(c *Config) { c.Outbox.GiveUpAfter = -time.Hour }, "outbox.give_up_after", "never gives up"},
		{"bad addr", func(c *Config) { c.Server.Addr = "8080" }, "server.addr", "host:port"},
		{"bad cors origin", func(c *Config) { c.Server.CORSOrigins = []string{"https://ok.example", "https://x.example/path"} }, "server.cors_origins[1]", "must be an origin"},
		{"shutdown timeout zero", func(c *Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout", "positive duration"},
		{"api key name with a space", func(c *Config) {
			c.Server.APIKeys = []APIKey{{Name: "soft phone", SHA256: strings.Repeat("ab", 32)}}
		}, "server.api_keys[0].name", "1 to 64 letters"},
		{"api key names twice", func(c *Config) {
			c.Server.APIKeys = []APIKey{{Name: "a", SHA256: strings.Repeat("ab", 32)}, {Name: "a", SHA256: strings.Repeat("cd", 32)}}
		}, "server.api_keys[1].name", "duplicates server.api_keys[0].name"},
		{"api key hash not hex", func(c *Config) {
			c.Server.APIKeys = []APIKey{{Name: "a", SHA256: "the key itself"}}
		}, "server.api_keys[0].sha256", "64 hex digits"},
		{"api key hash twice", func(c *Config) {
			c.Server.APIKeys = []APIKey{{Name: "a", SHA256: strings.Repeat("ab", 32)}, {Name: "b", SHA256: strings.Repeat("AB", 32)}}
		}, "server.api_keys[1].sha256", "server.api_keys[0] too"},
		{"request timeout not below write timeout", func(c *Config) { c.Server.RequestTimeout = c.Server.WriteTimeout }, "server.request_timeout", "shorter than server.write_timeout"},
		{"read header timeout above read timeout", func(c *Config) { c.Server.ReadHeaderTimeout = time.Minute }, "server.read_header_timeout", "longer than server.read_timeout"},
		{"idle timeout zero", func(c *Config) { c.Server.IdleTimeout = 0 }, "server.idle_timeout", "positive duration"},
		{"body limit too small", func(c *Config) { c.Server.MaxBodyBytes = 10 }, "server.max_body_bytes", "use 1024 to"},
		{"key rate zero", func(c *Config) { c.Server.RateLimit.KeyPerSecond = 0 }, "server.rate_limit", "key_per_second must be above 0"},
		{"person burst zero", func(c *Config) { c.Server.RateLimit.PersonBurst = 0 }, "server.rate_limit", "person_burst at least 1"},
		{"bad attestation", func(c *Config) { c.PhoneLookup.MinAttestation = "a" }, "phone_lookup.min_attestation", "use one of A, B, C"},
		{"webhook without a secret", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://h.example/x", Events: []string{"verified"}}}
		}, "events.webhooks[0].secret", "at least 32 random bytes"},
		{"webhook with a short secret", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://h.example/x", Secret: "short", Events: []string{"verified"}}}
		}, "events.webhooks[0].secret", "is 5 bytes"},
		{"webhook to a file", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "file:///etc/passwd", Secret: Secret(strings.Repeat("s", 32)), Events: []string{"verified"}}}
		}, "events.webhooks[0].url", "http or https"},
		{"webhook with a password", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://u:p@h.example/x", Secret: Secret(strings.Repeat("s", 32)), Events: []string{"verified"}}}
		}, "events.webhooks[0].url", "user or password"},
		{"webhook event unknown", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://h.example/x", Secret: Secret(strings.Repeat("s", 32)), Events: []string{"expired"}}}
		}, "events.webhooks[0].events[0]", "use one of verified, failed, locked, unlocked"},
		{"webhook names twice", func(c *Config) {
			h := Webhook{Name: "crm", URL: "https://h.example/x", Secret: Secret(strings.Repeat("s", 32)), Events: []string{"verified"}}
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{h, h}
		}, "events.webhooks[1].name", "duplicates events.webhooks[0].name"},
		{"webhook timeout zero", func(c *Config) {
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: "https://h.example/x", Secret: Secret(strings.Repeat("s", 32)), Events: []string{"verified"}}}
			c.Events.Timeout = 0
		}, "events.timeout", "positive duration"},
		{"bad log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "use one of debug, info, warn, error"},
		{"empty log format", func(c *Config) { c.Log.Format = "" }, "log.format", "is empty: use one of auto, text, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(c)
			err := c.Validate()
			var ps Problems
			require.ErrorAs(t, err, &ps)
			require.Len(t, ps, 1, "want exactly one problem, got:\n%v", err)
			assert.Equal(t, tt.path, ps[0].Path)
			assert.Contains(t, ps[0].Message, tt.message)
		})
	}
}

// Attest mode shows the agent the expected value anyway, so an attest-mode question may be on a
// field the results show or the search uses.
func TestValidateAllowsAttestModeOnShownFields(t *testing.T) {
	c := valid()
	c.SearchTypes[0].OptionalVerifiers[1] = Verifier{Field: "Phone", Reveal: "masked"}
	c.SearchTypes[1].OptionalVerifiers = []Verifier{{Field: "LastName"}}
	require.NoError(t, c.Validate())
}

// A field of the same name on another object is another field.
func TestValidateAllowsAFieldOfTheSameNameOnAnotherObject(t *testing.T) {
	c := valid()
	c.SearchTypes = append(c.SearchTypes, SearchType{Name: "leads", Object: "Lead", Search: "text",
		SearchFields: []string{"PersonBirthdate"}, ResultFields: []string{"Name", "Birthdate"},
		RequiredVerifiers: []Verifier{{Field: "Company"}}})
	require.NoError(t, c.Validate())
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := valid()
	c.Reasons[0].Confidential = false
	c.SearchTypes[0].OptionalMin = 5
	c.SearchTypes[1].LinkedSearchType = "nobody"
	c.Lockout.Window = 0
	c.Store.Driver = "mysql"

	var ps Problems
	require.ErrorAs(t, c.Validate(), &ps)
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	assert.Equal(t, []string{"reasons", "search_types[0].optional_min", "search_types[1].linked_search_type", "lockout.window", "store.driver"}, paths)
}

func TestValidateAcceptsEveryAuthMethodWhenComplete(t *testing.T) {
	key := rsaPEM(t)
	base := Salesforce{LoginURL: "https://acme.my.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
	tests := map[string]func(s *Salesforce){
		"embedded":           func(s *Salesforce) { s.LoginURL = "https://login.salesforce.com" },
		"jwt":                func(s *Salesforce) { s.Auth, s.ClientID, s.Username, s.PrivateKey = "jwt", "id", "u", Secret(key) },
		"client_credentials": func(s *Salesforce) { s.Auth, s.ClientID, s.ClientSecret = "client_credentials", "id", "s" },
		"refresh_token":      func(s *Salesforce) { s.Auth, s.ClientID, s.RefreshToken = "refresh_token", "id", "r" },
		"password": func(s *Salesforce) {
			s.Auth, s.ClientID, s.ClientSecret, s.Username, s.Password = "password", "id", "s", "u", "p"
		},
		"fake org over http": func(s *Salesforce) {
			s.Auth, s.ClientID, s.RefreshToken, s.LoginURL = "refresh_token", "id", "r", "http://127.0.0.1:8089"
		},
	}
	for name, set := range tests {
		t.Run(name, func(t *testing.T) {
			c := valid()
			c.Salesforce = base
			set(&c.Salesforce)
			require.NoError(t, c.Validate())
		})
	}
}

func TestProblemsNeverQuoteSecrets(t *testing.T) {
	const secret = "hunter2-hunter2"
	c := valid()
	c.Secrets.HMACKey = secret
	c.Salesforce = Salesforce{Auth: "jwt", ClientID: "id", Username: "u", PrivateKey: secret,
		Password: secret, ClientSecret: secret, LoginURL: "https://login.salesforce.com", APIVersion: "62.0", Timeout: time.Second}
	err := c.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

func TestProblemsError(t *testing.T) {
	one := Problems{{Path: "a.b", Message: "is wrong"}}
	assert.Equal(t, "1 problem in the configuration:\n  a.b: is wrong", one.Error())
	two := Problems{{Path: "a", Message: "x"}, {Message: "y"}}
	assert.Equal(t, "2 problems in the configuration:\n  a: x\n  y", two.Error())
	assert.NoError(t, Problems(nil).err())
	var ps Problems
	assert.True(t, errors.As(error(two), &ps))
}

// The console's keys are checked only when it is enabled; on a real org its sign-in needs a
// connected app, the org id and a callback; on the embedded org an empty client_id means the
// fake org's demo client.
func TestValidateConsole(t *testing.T) {
	signIn := func(c *Config) {
		c.Console = Console{Enabled: true, Key: Secret(strings.Repeat("k", 32)), SessionTTL: time.Hour,
			ClientID: "3MVG9", OrgID: "00D5e000000AbCdEAF", CallbackURL: "https://idverify.example.com/console/oauth/callback"}
		c.Salesforce.Auth, c.Salesforce.ClientID, c.Salesforce.RefreshToken = "refresh_token", "id", "r"
	}
	for name, change := range map[string]func(c *Config){
		"disabled, nothing set": func(c *Config) { c.Console = Console{} },
		"real org, complete":    signIn,
		"embedded, fake org's sign-in": func(c *Config) {
			c.Console = Console{Enabled: true, Key: Secret(strings.Repeat("k", 32)), SessionTTL: time.Hour}
		},
		"loopback http callback":      func(c *Config) { signIn(c); c.Console.CallbackURL = "http://127.0.0.1:8080/console/oauth/callback" },
		"15-character org id":         func(c *Config) { signIn(c); c.Console.OrgID = "00D5e000000AbCd" },
		"frame ancestors with a port": func(c *Config) { signIn(c); c.Console.FrameAncestors = []string{"https://a.example:8443"} },
		"login url of its own":        func(c *Config) { signIn(c); c.Console.LoginURL = "https://acme.my.salesforce.com" },
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			change(c)
			require.NoError(t, c.Validate())
		})
	}

	for _, tt := range []struct {
		name, path, message string
		change              func(c *Config)
	}{
		{"no key", "console.key", "IDVERIFY_CONSOLE_KEY", func(c *Config) { c.Console.Key = "" }},
		{"short key", "console.key", "is 5 bytes", func(c *Config) { c.Console.Key = "short" }},
		{"no ttl", "console.session_ttl", "positive", func(c *Config) { c.Console.SessionTTL = 0 }},
		{"no client id on a real org", "console.client_id", "consumer key", func(c *Config) { c.Console.ClientID = "" }},
		{"bad org id", "console.org_id", "Organization id", func(c *Config) { c.Console.OrgID = "005000000000001" }},
		{"no callback", "console.callback_url", "is empty", func(c *Config) { c.Console.CallbackURL = "" }},
		{"relative callback", "console.callback_url", "absolute https URL", func(c *Config) { c.Console.CallbackURL = "/console/oauth/callback" }},
		{"callback elsewhere", "console.callback_url", "must end in /console/oauth/callback", func(c *Config) {
			c.Console.CallbackURL = "https://idverify.example.com/oauth"
		}},
		{"http callback off loopback", "console.callback_url", "must be https", func(c *Config) {
			c.Console.CallbackURL = "http://idverify.example.com/console/oauth/callback"
		}},
		{"frame ancestor with a path", "console.frame_ancestors[0]", "scheme://host[:port]", func(c *Config) {
			c.Console.FrameAncestors = []string{"https://a.example/x"}
		}},
		{"frame ancestor wildcard", "console.frame_ancestors[0]", "scheme://host[:port]", func(c *Config) { c.Console.FrameAncestors = []string{"*"} }},
		{"frame ancestor with a fragment", "console.frame_ancestors[0]", "scheme://host[:port]", func(c *Config) {
			c.Console.FrameAncestors = []string{"https://a.example#x"}
		}},
		{"frame ancestor with an empty query", "console.frame_ancestors[0]", "scheme://host[:port]", func(c *Config) {
			c.Console.FrameAncestors = []string{"https://a.example?"}
		}},
		{"bad instance url", "console.instance_url", "absolute http(s) URL", func(c *Config) { c.Console.InstanceURL = "javascript:alert(1)" }},
		{"bad login url", "console.login_url", "absolute http(s) URL", func(c *Config) { c.Console.LoginURL = "login.salesforce.com" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			signIn(c)
			tt.change(c)
			var ps Problems
			require.ErrorAs(t, c.Validate(), &ps)
			require.Len(t, ps, 1, "want exactly one problem, got:\n%v", ps)
			assert.Equal(t, tt.path, ps[0].Path)
			assert.Contains(t, ps[0].Message, tt.message)
		})
	}
}

// On the embedded fake org agents sign in at the fake org: a connected app's settings there
// name a real org, whose agents would sign in to a demo, so each is refused.
func TestValidateConsoleSignInOnTheEmbeddedOrg(t *testing.T) {
	for key, set := range map[string]func(k *Console){
		"client_id":     func(k *Console) { k.ClientID = "3MVG9" },
		"client_secret": func(k *Console) { k.ClientSecret = "s" },
		"org_id":        func(k *Console) { k.OrgID = "00D5e000000AbCdEAF" },
		"callback_url":  func(k *Console) { k.CallbackURL = "https://idverify.example.com/console/oauth/callback" },
		"login_url":     func(k *Console) { k.LoginURL = "https://acme.my.salesforce.com" },
	} {
		t.Run(key, func(t *testing.T) {
			c := valid()
			require.True(t, c.Salesforce.Embedded())
			c.Console = Console{Enabled: true, Key: Secret(strings.Repeat("k", 32)), SessionTTL: time.Hour}
			set(&c.Console)
			var ps Problems
			require.ErrorAs(t, c.Validate(), &ps)
			require.Len(t, ps, 1, "want exactly one problem, got:\n%v", ps)
			assert.Equal(t, "console."+key, ps[0].Path)
			assert.Contains(t, ps[0].Message, "salesforce.auth is empty")
		})
	}
}

// A webhook URL config refuses names events.webhooks[i].url and says what to write instead; one
// it takes is one webhook.New takes too (adapter/webhook's TestNewRefuses).
func TestValidateWebhookURL(t *testing.T) {
	for _, tt := range []struct {
		name, url    string
		allowPrivate bool
		message      string // a part of the message; "" for no problem
	}{
		{"https to a name", "https://hooks.example.com/idverify?x=1", false, ""},
		{"a name with a final dot and a port", "https://hooks.example.com.:8443/x", false, ""},
		{"a public address", "https://93.184.215.14/x", false, ""},
		{"an IPv6 address", "https://[2606:4700::1111]/x", false, ""},
		{"plain http inside the network", "http://receiver.internal/x", true, ""},
		{"plain http to loopback", "http://127.0.0.1:8080/x", true, ""},
		{"empty", "", false, "is empty"},
		{"a file", "file:///etc/passwd", false, "http or https"},
		{"opaque", "https:hooks.example.com", false, "http or https"},
		{"a user", "https://u@h.example/x", false, "user or password"},
		{"a fragment", "https://h.example/x#top", false, "#fragment"},
		{"an empty fragment", "https://h.example/x#", false, "#fragment"},
		{"plain http to a name", "http://hooks.example.com/x", false, "must be https"},
		{"plain http to an address", "http://93.184.215.14/x", false, "must be https"},
		{"decimal", "http://2130706433/", true, "not an IPv4 address in dotted-decimal form"},
		{"octal", "https://0177.0.0.1/", true, "not an IPv4 address in dotted-decimal form"},
		{"hex", "https://0x7f.1/", true, "not an IPv4 address in dotted-decimal form"},
		{"hex, upper case", "https://0X7F000001/", true, "not an IPv4 address in dotted-decimal form"},
		{"short", "https://127.1/", true, "not an IPv4 address in dotted-decimal form"},
		{"leading zeros", "https://010.0.0.1/", true, "not an IPv4 address in dotted-decimal form"},
		{"a final dot", "https://127.0.0.1./", true, "not an IPv4 address in dotted-decimal form"},
		{"five numbers", "https://1.2.3.4.5/", false, "not an IPv4 address in dotted-decimal form"},
		{"a name ending in a number", "https://hooks.example.42/", false, "not an IPv4 address in dotted-decimal form"},
		{"an IPv6 zone", "https://[fe80::1%25eth0]/", true, "must not name an IPv6 zone (%eth0)"},
		{"a non-ASCII name", "https://bücher.example/", false, "xn-- form"},
		{"fullwidth digits", "https://１２７.０.０.１/", true, "not a DNS name"},
		{"an empty label", "https://hooks..example/", false, "not a DNS name"},
		{"a label of 64", "https://" + strings.Repeat("a", 64) + ".example/", false, "not a DNS name"},
		{"port 0", "https://h.example:0/", false, "has port 0: use 1 to 65535"},
		{"port 65536", "https://h.example:65536/", false, "has port 65536"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Events.Timeout = time.Second
			c.Events.Webhooks = []Webhook{{Name: "crm", URL: tt.url, Secret: Secret(strings.Repeat("s", 32)),
				Events: []string{"verified"}, AllowPrivate: tt.allowPrivate}}
			err := c.Validate()
			if tt.message == "" {
				require.NoError(t, err)
				return
			}
			var ps Problems
			require.ErrorAs(t, err, &ps)
			require.Len(t, ps, 1, "want exactly one problem, got:\n%v", err)
			assert.Equal(t, "events.webhooks[0].url", ps[0].Path)
			assert.Contains(t, ps[0].Message, tt.message)
		})
	}
}
