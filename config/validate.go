package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
)

var (
	// objectName is an sObject API name, e.g. Account or ns__Thing__c.
	objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// fieldName is a field API name, or a relationship path such as Account.Name.
	fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)
	// apiVersion is a REST API version such as 62.0.
	apiVersion = regexp.MustCompile(`^[0-9]{2,3}\.0$`)
	// callingCode is an international calling code without the plus.
	callingCode = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
)

// minAPIVersion is the first API version with the engagement objects (salesforce.md §1).
const minAPIVersion = 55

// maxReasonLen is the length of EngagementTopic.Name, where a reason is written.
const maxReasonLen = 255

// Validate reports every problem of c, each with its key path and what to do, as Problems;
// nil means c is valid. It reads no file: Load has already read the *_file secrets.
func (c *Config) Validate() error { return c.problems().err() }

func (c *Config) problems() Problems {
	var ps Problems
	c.validateReasons(&ps)
	c.validateSearchTypes(&ps)
	c.validateRepresentation(&ps)
	positive(&ps, "lockout.window", c.Lockout.Window)
	if c.Lockout.MaxFailures < 1 {
		ps.add("lockout.max_failures", "must be at least 1 (failures that lock a person), not %d", c.Lockout.MaxFailures)
	}
	positive(&ps, "verified_ttl", c.VerifiedTTL)
	if c.Verdicts != "" { // empty in a Config built in Go means the default, as in flows.Policy
		oneOf(&ps, "verdicts", c.Verdicts, string(flows.VerdictsOnDecision), string(flows.VerdictsImmediate))
	}
	positive(&ps, "session.idle_timeout", c.Session.IdleTimeout)
	if c.Session.MaxRetries < 0 {
		ps.add("session.max_retries", "must not be negative; 0 means a failed level ends the session")
	}
	oneOf(&ps, "matching.date_order", c.Matching.DateOrder, "dmy", "mdy")
	switch cc := c.Matching.DefaultCountryCode; {
	case cc == "":
	case !callingCode.MatchString(cc):
		ps.add("matching.default_country_code", "must be a calling code in digits without + or leading zeros, e.g. 44 or 1")
	default:
		if err := flows.ValidateCallingCode(cc); err != nil {
			ps.add("matching.default_country_code", "%v: use the calling code of the country whose national numbers callers give, e.g. 44 or 1", err)
		}
	}
	for i, l := range c.Matching.Languages {
		if _, err := flows.ParseLanguage(l); err != nil {
			ps.add(fmt.Sprintf("matching.languages[%d]", i), "%v", err)
		}
	}
	c.validatePhoneFields(&ps)
	if a := c.PhoneLookup.MinAttestation; a != "" {
		oneOf(&ps, "phone_lookup.min_attestation", a, "A", "B", "C")
	}
	c.validateSecrets(&ps)
	c.validateSalesforce(&ps)
	c.validateStore(&ps)
	c.validateOutbox(&ps)
	c.validateServer(&ps)
	c.validateEvents(&ps)
	c.validateConsole(&ps)
	oneOf(&ps, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&ps, "log.format", c.Log.Format, "auto", "text", "json")
	return ps
}

func (c *Config) validateReasons(ps *Problems) {
	if len(c.Reasons) == 0 {
		ps.add("reasons", "no reasons: add at least one, e.g. {name: Billing, confidential: true}")
		return
	}
	seen := map[string]int{}
	confidential := false
	for i, r := range c.Reasons {
		at := fmt.Sprintf("reasons[%d].name", i)
		name := strings.TrimSpace(r.Name)
		switch {
		case name == "":
			ps.add(at, "is empty: give the reason the agent picks a name")
		case len(name) > maxReasonLen:
			ps.add(at, "is %d bytes long: shorten it to at most %d (EngagementTopic.Name)", len(name), maxReasonLen)
		}
		if name != "" {
			if j, dup := seen[strings.ToLower(name)]; dup {
				ps.add(at, "duplicates reasons[%d].name: give every reason its own name", j)
			} else {
				seen[strings.ToLower(name)] = i
			}
		}
		confidential = confidential || r.Confidential
	}
	if !confidential {
		ps.add("reasons", "no reason is confidential, so nobody would ever be verified: set confidential: true on the reasons that need verification")
	}
}

func (c *Config) validateSearchTypes(ps *Problems) {
	if len(c.SearchTypes) == 0 {
		ps.add("search_types", "no search types: add at least one (see examples/idverify.yaml)")
		return
	}
	index := map[string]int{}
	for i, s := range c.SearchTypes {
		at := fmt.Sprintf("search_types[%d]", i)
		switch {
		case strings.TrimSpace(s.Name) == "":
			ps.add(at+".name", "is empty: give the search type a name the agent or plugin picks it by")
		default:
			if j, dup := index[s.Name]; dup {
				ps.add(at+".name", "duplicates search_types[%d].name %q: give every search type its own name", j, s.Name)
			} else {
				index[s.Name] = i
			}
		}
		switch {
		case s.Object == "":
			ps.add(at+".object", "is empty: name the sObject searched, e.g. Account or Contact")
		case !objectName.MatchString(s.Object):
			ps.add(at+".object", "%q is not an sObject API name (letters, digits and _, e.g. Account)", s.Object)
		}
		if s.Search == "" {
			ps.add(at+".search", "is empty: use text (the agent types keywords) or object (the agent fills search_fields)")
		} else if _, err := flows.ParseSearchKind(s.Search); err != nil {
			ps.add(at+".search", "%v", err)
		}
		if s.SortBy != "" {
			field(ps, at+".sort_by", s.SortBy)
		}
		if s.Search == string(flows.SearchObject) && len(s.SearchFields) == 0 {
			ps.add(at+".search_fields", "is empty: an object search needs the fields the agent fills, e.g. [LastName, Birthdate]")
		}
		for j, f := range s.SearchFields {
			field(ps, fmt.Sprintf("%s.search_fields[%d]", at, j), f)
		}
		if len(s.ResultFields) == 0 {
			ps.add(at+".result_fields", "is empty: list the fields shown in the results so the agent can pick the right record, e.g. [Name, PersonMailingCity, Phone]")
		}
		for j, f := range s.ResultFields {
			field(ps, fmt.Sprintf("%s.result_fields[%d]", at, j), f)
		}
		for j, f := range s.MaskedResultFields {
			if !slices.Contains(s.ResultFields, f) {
				ps.add(fmt.Sprintf("%s.masked_result_fields[%d]", at, j), "%q is not in result_fields: masking applies to a shown field; add it to result_fields or remove it here", f)
			}
		}
		fields := map[string]string{}
		for j, v := range s.RequiredVerifiers {
			vat := fmt.Sprintf("%s.required_verifiers[%d]", at, j)
			validateVerifier(ps, vat, v, fields)
			c.checkNotShown(ps, vat, s, v)
		}
		for j, v := range s.OptionalVerifiers {
			vat := fmt.Sprintf("%s.optional_verifiers[%d]", at, j)
			validateVerifier(ps, vat, v, fields)
			c.checkNotShown(ps, vat, s, v)
		}
		switch n := len(s.OptionalVerifiers); {
		case s.OptionalMin < 0:
			ps.add(at+".optional_min", "is %d: it must be between 0 and %d (the number of optional verifiers)", s.OptionalMin, n)
		case s.OptionalMin > n:
			ps.add(at+".optional_min", "is %d but there are only %d optional verifiers: lower it or add optional verifiers", s.OptionalMin, n)
		case len(s.RequiredVerifiers) == 0 && s.OptionalMin == 0:
			ps.add(at, "asks no question that must be answered, so anyone would be verified: add required_verifiers or set optional_min to at least 1")
		}
	}
	c.validateLinks(ps, index)
}

// validateVerifier checks one question; fields maps the fields already asked in the search
// type to their paths, to catch a field asked twice.
func validateVerifier(ps *Problems, at string, v Verifier, fields map[string]string) {
	if v.Field == "" {
		ps.add(at+".field", "is empty: name the field holding the expected answer, e.g. PersonBirthdate")
	} else if field(ps, at+".field", v.Field) {
		if first, dup := fields[v.Field]; dup {
			ps.add(at+".field", "%s is already asked at %s: ask each field once", v.Field, first)
		} else {
			fields[v.Field] = at
		}
	}
	mode := flows.ModeAttest
	if v.Mode != "" {
		m, err := flows.ParseMode(v.Mode)
		if err != nil {
			ps.add(at+".mode", "%v", err)
		}
		mode = m
	}
	switch {
	case v.Match != "":
		if _, err := flows.ParseMatchRule(v.Match); err != nil {
			ps.add(at+".match", "%v", err)
		}
	case mode == flows.ModeCheck:
		ps.add(at+".match", "is empty: check mode needs a match rule, one of %s", matchRuleNames())
	}
	if v.Reveal != "" {
		r, err := flows.ParseReveal(v.Reveal)
		if err != nil {
			ps.add(at+".reveal", "%v", err)
		} else if r == flows.RevealNone && mode == flows.ModeAttest {
			ps.add(at+".reveal", "is none but the mode is attest: an attesting agent must see the value (masked or full), or use mode check")
		}
	}
	switch {
	case v.Digits < 0:
		ps.add(at+".digits", "is %d: use 0 (compare the whole number) or the count of trailing digits to compare", v.Digits)
	case v.Digits > 0 && v.Match != string(flows.MatchPhone):
		ps.add(at+".digits", "only applies to match phone: remove it or set match: phone")
	}
}

// checkNotShown refuses a check-mode question on a field that a search type on the same object
// shows the agent or lets the agent search by: check mode hides the expected answer from the
// agent, and a result column (even masked) or a search that finds the record only with the
// right value would show it. Any search type on the object counts, not only the question's
// own: the agent picks the search type, and can look the person up with one and answer another's
// questions. vat is the verifier's path. Object and field names compare as Salesforce does,
// ignoring case.
func (c *Config) checkNotShown(ps *Problems, vat string, s SearchType, v Verifier) {
	if v.Mode != string(flows.ModeCheck) || v.Field == "" {
		return
	}
	same := func(f string) bool { return strings.EqualFold(f, v.Field) }
	for k, other := range c.SearchTypes {
		if !strings.EqualFold(other.Object, s.Object) {
			continue
		}
		at := fmt.Sprintf("search_types[%d]", k)
		if j := slices.IndexFunc(other.ResultFields, same); j >= 0 {
			ps.add(vat+".field", "%s is asked in check mode, which hides the answer from the agent, but %s.result_fields[%d] shows it in the search results: remove it from one of the two",
				v.Field, at, j)
		}
		if j := slices.IndexFunc(other.SearchFields, same); j >= 0 {
			ps.add(vat+".field", "%s is asked in check mode, which hides the answer from the agent, but %s.search_fields[%d] lets the agent search by it, which would confirm an answer: remove it from one of the two",
				v.Field, at, j)
		}
	}
}

func matchRuleNames() string {
	var names []string
	for _, r := range flows.MatchRules() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// validateLinks checks that every linked search type exists, that links form no cycle (named
// in the message) and that a customer level links no further (one customer level only).
func (c *Config) validateLinks(ps *Problems, index map[string]int) {
	inCycle := map[int]bool{}
	for i, s := range c.SearchTypes {
		at := fmt.Sprintf("search_types[%d].linked_search_type", i)
		if s.LinkedSearchType == "" {
			continue
		}
		j, ok := index[s.LinkedSearchType]
		if !ok {
			ps.add(at, "%q is not the name of any search type: use one of %s", s.LinkedSearchType, c.searchTypeNames())
			continue
		}
		if inCycle[i] {
			continue
		}
		// Follow the links from i; each type links to at most one, so a repeat is a cycle.
		path := []int{i}
		for k := j; !inCycle[k]; {
			if pos := slices.Index(path, k); pos >= 0 {
				cycle := path[pos:]
				names := make([]string, 0, len(cycle)+1)
				for _, n := range cycle {
					names = append(names, c.SearchTypes[n].Name)
					inCycle[n] = true
				}
				names = append(names, c.SearchTypes[k].Name)
				first := slices.Min(cycle)
				ps.add(fmt.Sprintf("search_types[%d].linked_search_type", first),
					"linked search types form a cycle (%s): a customer search type must not link further; remove linked_search_type from the customer's search type",
					strings.Join(names, " → "))
				break
			}
			next, ok := index[c.SearchTypes[k].LinkedSearchType]
			if c.SearchTypes[k].LinkedSearchType == "" || !ok {
				break
			}
			path = append(path, k)
			k = next
		}
		if inCycle[i] {
			continue
		}
		if next := c.SearchTypes[j].LinkedSearchType; next != "" && !inCycle[j] {
			ps.add(at, "%q is itself linked to %q: only one customer level is supported; remove linked_search_type from %q",
				s.LinkedSearchType, next, s.LinkedSearchType)
		}
	}
}

func (c *Config) searchTypeNames() string {
	var names []string
	for _, s := range c.SearchTypes {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

func (c *Config) validateRepresentation(ps *Problems) {
	r := c.Representation
	if !r.Enabled {
		return
	}
	for _, f := range []struct{ key, value, example string }{
		{"object", r.Object, "AccountContactRelation"},
		{"representative_field", r.RepresentativeField, "ContactId"},
		{"customer_field", r.CustomerField, "AccountId"},
	} {
		at := "representation." + f.key
		switch {
		case f.value == "":
			ps.add(at, "is empty: set it (e.g. %s) or set representation.enabled: false", f.example)
		case f.key == "object" && !objectName.MatchString(f.value):
			ps.add(at, "%q is not an sObject API name (e.g. %s)", f.value, f.example)
		case f.key != "object":
			field(ps, at, f.value)
		}
	}
	for i, role := range r.Roles {
		if strings.TrimSpace(role) == "" {
			ps.add(fmt.Sprintf("representation.roles[%d]", i), "is empty: give a picklist value of Roles, or remove it")
		}
	}
}

func (c *Config) validatePhoneFields(ps *Problems) {
	seen := map[string]int{}
	for i, pf := range c.PhoneFields {
		at := fmt.Sprintf("phone_fields[%d]", i)
		switch {
		case pf.Object == "":
			ps.add(at+".object", "is empty: name the sObject whose phone fields are searched, e.g. Contact")
		case !objectName.MatchString(pf.Object):
			ps.add(at+".object", "%q is not an sObject API name (e.g. Contact)", pf.Object)
		default:
			if j, dup := seen[pf.Object]; dup {
				ps.add(at+".object", "%s is already listed at phone_fields[%d]: merge the two", pf.Object, j)
			} else {
				seen[pf.Object] = i
			}
		}
		if len(pf.Fields) == 0 {
			ps.add(at+".fields", "is empty: list the phone fields to search, e.g. [Phone, MobilePhone]")
		}
		for j, f := range pf.Fields {
			field(ps, fmt.Sprintf("%s.fields[%d]", at, j), f)
		}
	}
}

// validateSecrets requires the HMAC key always, not only with check mode: flows.New refuses to
// start without one, and a configuration that passes here must start.
func (c *Config) validateSecrets(ps *Problems) {
	key := c.Secrets.HMACKey
	todo := fmt.Sprintf("set %s (or secrets.hmac_key_file) to at least %d random bytes, e.g. from `openssl rand -base64 32`",
		EnvName("secrets.hmac_key"), flows.MinSecretLen)
	switch {
	case key == "" && c.firstCheckVerifier() != "":
		ps.add("secrets.hmac_key", "is empty but %s uses check mode, which stores keyed hashes of answers: %s", c.firstCheckVerifier(), todo)
	case key == "":
		ps.add("secrets.hmac_key", "is empty but the engine keys the check-mode values it stores with it and will not start without one: %s", todo)
	case len(key) < flows.MinSecretLen:
		ps.add("secrets.hmac_key", "is %d bytes: use at least %d random bytes, e.g. from `openssl rand -base64 32`", len(key), flows.MinSecretLen)
	}
}

var webhookName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (c *Config) validateEvents(ps *Problems) {
	if len(c.Events.Webhooks) > 0 {
		positive(ps, "events.timeout", c.Events.Timeout)
	}
	names := map[string]int{}
	for i, h := range c.Events.Webhooks {
		at := fmt.Sprintf("events.webhooks[%d]", i)
		if !webhookName.MatchString(h.Name) {
			ps.add(at+".name", "takes 1 to 64 lower-case letters, digits, - and _")
		} else if j, dup := names[h.Name]; dup {
			ps.add(at+".name", "duplicates events.webhooks[%d].name: give every webhook its own name", j)
		} else {
			names[h.Name] = i
		}
		if _, err := ParseWebhookURL(h.URL, h.AllowPrivate); err != nil {
			ps.add(at+".url", "%s", err)
		}
		switch {
		case h.Secret == "":
			ps.add(at+".secret", "is empty: set it (or %s.secret_file) to at least %d random bytes shared with the receiver, e.g. from `openssl rand -base64 32`", at, flows.MinSecretLen)
		case len(h.Secret) < flows.MinSecretLen:
			ps.add(at+".secret", "is %d bytes: use at least %d random bytes, e.g. from `openssl rand -base64 32`", len(h.Secret), flows.MinSecretLen)
		}
		if len(h.Events) == 0 {
			ps.add(at+".events", "is empty: list the events to send (verified, failed, locked, unlocked)")
		}
		for j, e := range h.Events {
			if _, ok := flows.ParseEventType(e); !ok {
				oneOf(ps, fmt.Sprintf("%s.events[%d]", at, j), e, "verified", "failed", "locked", "unlocked")
			}
		}
	}
}

// consoleOrgID is an Organization id: 00D and 12 or 15 more characters.
var consoleOrgID = regexp.MustCompile(`^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)

// consoleCallbackPath is the console's OAuth callback, which console.callback_url must name.
const consoleCallbackPath = "/console/oauth/callback"

func (c *Config) validateConsole(ps *Problems) {
	k := c.Console
	if !k.Enabled {
		return
	}
	switch {
	case k.Key == "":
		ps.add("console.key", "is empty but the console seals its cookies with it: set %s (or console.key_file) to at least 32 random bytes, the same on every replica, e.g. from `openssl rand -base64 32`", EnvName("console.key"))
	case len(k.Key) < 32:
		ps.add("console.key", "is %d bytes: use at least 32 random bytes, e.g. from `openssl rand -base64 32`", len(k.Key))
	}
	positive(ps, "console.session_ttl", k.SessionTTL)
	// What console.New refuses, so that `config check` passes only what serve starts with.
	for i, o := range k.FrameAncestors {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Path != "" || u.RawQuery != "" || u.User != nil || strings.ContainsAny(o, " ;,'*?#@") {
			ps.add(fmt.Sprintf("console.frame_ancestors[%d]", i), "must be an origin, scheme://host[:port], e.g. https://example.lightning.force.com")
		}
	}
	if k.InstanceURL != "" && !absoluteHTTP(k.InstanceURL) {
		ps.add("console.instance_url", "must be an absolute http(s) URL, e.g. https://example.my.salesforce.com")
	}
	if k.LoginURL != "" && !absoluteHTTP(k.LoginURL) {
		ps.add("console.login_url", "must be an absolute http(s) URL, e.g. https://example.my.salesforce.com")
	}
	if c.Salesforce.Embedded() {
		// Agents sign in at the embedded fake org, with its demo client. A connected app's
		// settings name a real org: its users would sign in to a demo whose callers and keys
		// are made up, as salesforce.* credentials without salesforce.auth would (refused too).
		for _, f := range []struct {
			key string
			set bool
		}{
			{"client_id", k.ClientID != ""}, {"client_secret", k.ClientSecret != ""}, {"org_id", k.OrgID != ""},
			{"callback_url", k.CallbackURL != ""}, {"login_url", k.LoginURL != ""},
		} {
			if f.set {
				ps.add("console."+f.key, "is set but salesforce.auth is empty (the embedded fake org, where agents sign in with its demo client): set salesforce.auth and its credentials, or remove the console's sign-in settings")
				break
			}
		}
		return
	}
	if k.ClientID == "" {
		ps.add("console.client_id", "is empty: set it to the consumer key of the connected app agents sign in with (docs/CONFIGURATION.md, console)")
	}
	if !consoleOrgID.MatchString(k.OrgID) {
		ps.add("console.org_id", "must be the org's Organization id (00D…, 15 or 18 characters; Setup → Company Information): only its users sign in")
	}
	u, err := url.Parse(k.CallbackURL)
	switch {
	case k.CallbackURL == "":
		ps.add("console.callback_url", "is empty: set it to the URL browsers reach the console's callback at, e.g. https://idverify.example.com%s, and list it in the connected app", consoleCallbackPath)
	case err != nil || !absoluteHTTP(k.CallbackURL) || u.RawQuery != "" || u.Fragment != "":
		ps.add("console.callback_url", "must be an absolute https URL without a query, e.g. https://idverify.example.com%s", consoleCallbackPath)
	case u.Path != consoleCallbackPath:
		ps.add("console.callback_url", "must end in %s, the console's callback", consoleCallbackPath)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		ps.add("console.callback_url", "must be https (http only on a loopback host): the console's cookies are Secure")
	}
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// firstCheckVerifier returns the path of the first verifier in check mode, or "".
func (c *Config) firstCheckVerifier() string {
	for i, s := range c.SearchTypes {
		for j, v := range s.RequiredVerifiers {
			if v.Mode == string(flows.ModeCheck) {
				return fmt.Sprintf("search_types[%d].required_verifiers[%d]", i, j)
			}
		}
		for j, v := range s.OptionalVerifiers {
			if v.Mode == string(flows.ModeCheck) {
				return fmt.Sprintf("search_types[%d].optional_verifiers[%d]", i, j)
			}
		}
	}
	return ""
}

func (c *Config) validateSalesforce(ps *Problems) {
	sf := c.Salesforce
	if sf.Embedded() {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"client_id", sf.ClientID != ""}, {"client_secret", sf.ClientSecret != ""},
			{"username", sf.Username != ""}, {"password", sf.Password != ""},
			{"refresh_token", sf.RefreshToken != ""}, {"private_key", sf.PrivateKey != ""},
			{"security_token", sf.SecurityToken != ""},
			// Another login host than the default's names a real org (a sandbox, a My
			// Domain): a demo would hide that its credentials are missing.
			{"login_url", hostOf(sf.LoginURL) != "login.salesforce.com"},
		} {
			if f.set {
				ps.add("salesforce.auth", "is empty (the embedded fake org) but salesforce.%s is set: choose jwt, client_credentials, refresh_token or password, or remove the credentials", f.key)
				break
			}
		}
	} else if oneOf(ps, "salesforce.auth", sf.Auth, AuthJWT, AuthClientCredentials, AuthRefreshToken, AuthPassword) {
		need := func(key string, set bool, what string) {
			if !set {
				ps.add("salesforce."+key, "is empty but salesforce.auth is %s: set it (%s) or %s", sf.Auth, what, EnvName("salesforce."+key))
			}
		}
		need("client_id", sf.ClientID != "", "the connected app's consumer key")
		switch sf.Auth {
		case AuthJWT:
			need("username", sf.Username != "", "the user the JWT is issued for")
			if sf.PrivateKey == "" {
				ps.add("salesforce.private_key", "is empty but salesforce.auth is jwt: set salesforce.private_key_file, or the PEM text in %s", EnvName("salesforce.private_key"))
			} else if err := checkRSAKey(sf.PrivateKey.Value()); err != "" {
				ps.add("salesforce.private_key", "%s", err)
			}
		case AuthClientCredentials:
			need("client_secret", sf.ClientSecret != "", "the connected app's consumer secret")
			if host := hostOf(sf.LoginURL); host == "login.salesforce.com" || host == "test.salesforce.com" {
				ps.add("salesforce.login_url", "is %s but the client credentials flow only works on your My Domain: set it to https://<MyDomain>.my.salesforce.com", host)
			}
		case AuthRefreshToken:
			need("refresh_token", sf.RefreshToken != "", "a refresh token issued to the connected app")
		case AuthPassword:
			need("client_secret", sf.ClientSecret != "", "the connected app's consumer secret")
			need("username", sf.Username != "", "the integration user")
			need("password", sf.Password != "", "the user's password; add security_token if the org requires one")
		}
	}
	if u, err := url.Parse(sf.LoginURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || (u.Path != "" && u.Path != "/") {
		ps.add("salesforce.login_url", "must be an https URL with no path, e.g. https://login.salesforce.com, https://test.salesforce.com or your My Domain (http only for 127.0.0.1 or localhost)")
	} else if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// The URL is printed (config check) and logged: credentials in it would leak.
		ps.add("salesforce.login_url", "must hold no user, password, query or fragment: put credentials in salesforce.client_secret, salesforce.password and the like")
	}
	if !apiVersion.MatchString(sf.APIVersion) {
		ps.add("salesforce.api_version", "%q is not an API version such as 62.0", sf.APIVersion)
	} else if n, _ := strconv.Atoi(strings.TrimSuffix(sf.APIVersion, ".0")); n < minAPIVersion {
		ps.add("salesforce.api_version", "is %s but the engagement objects need %d.0 or later", sf.APIVersion, minAPIVersion)
	}
	positive(ps, "salesforce.timeout", sf.Timeout)
	for _, k := range []struct{ key, value, object string }{
		{"lead_key_field", sf.LeadKeyField, "Lead"},
		{"writeback_key_field", sf.WritebackKeyField, "EngagementAttendee and EngagementTopic"},
	} {
		if k.value != "" && (!objectName.MatchString(k.value) || !strings.HasSuffix(k.value, "__c")) {
			ps.add("salesforce."+k.key, "%q is not a custom field's API name: name the External ID text field you added to %s, e.g. IdvKey__c, or leave it empty", k.value, k.object)
		}
	}
	// Empty in a Config built in Go means the default, as in the adapter's Options.
	if ch := sf.DefaultChannel; ch != "" && (strings.TrimSpace(ch) != ch || len(ch) > 255) {
		ps.add("salesforce.default_channel", "must be a CommunicationChannel value of EngagementInteraction without surrounding spaces, at most 255 bytes, e.g. Voice Call")
	}
	if sf.ReadAheadTTL < 0 || sf.ReadAheadTTL > maxReadAhead {
		ps.add("salesforce.read_ahead_ttl", "must be between 0 (read nothing ahead) and %v: values read ahead are personal data, kept in memory only until the step that asks them", maxReadAhead)
	}
}

// maxReadAhead bounds salesforce.read_ahead_ttl: an agent picks a search result within
// minutes, and values read ahead are personal data.
const maxReadAhead = 15 * time.Minute

// checkRSAKey returns what is wrong with a PEM RSA private key, or "". It never quotes the key.
func checkRSAKey(text string) string {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return "is not PEM text (-----BEGIN PRIVATE KEY----- …): check the file or variable"
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil && k != nil {
		return ""
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "cannot be parsed as a PKCS#1 or PKCS#8 private key: check the file or variable"
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return "is not an RSA key: Salesforce's JWT flow signs with RS256 only"
	}
	return ""
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateStore(ps *Problems) {
	if !oneOf(ps, "store.driver", c.Store.Driver, DriverSQLite, DriverPostgres) {
		return
	}
	if c.Store.Driver == DriverPostgres && c.Store.DSN == "" {
		ps.add("store.dsn", "is empty but store.driver is postgres: set %s, e.g. postgres://user@host:5432/idverify", EnvName("store.dsn"))
	}
	positive(ps, "store.sweep_interval", c.Store.SweepInterval)
	r := c.Store.Retention
	if r.Sessions < c.Session.IdleTimeout || r.Sessions <= 0 {
		ps.add("store.retention.sessions", "must be at least session.idle_timeout (%v): a session is kept while it can still be used", c.Session.IdleTimeout)
	}
	if r.Failures < c.Lockout.Window || r.Failures <= 0 {
		ps.add("store.retention.failures", "must be at least lockout.window (%v), or a lock would lift early", c.Lockout.Window)
	}
	positive(ps, "store.retention.delivered", r.Delivered)
	if r.Audit < 0 {
		ps.add("store.retention.audit", "must be 0 (keep for ever) or a positive duration, e.g. \"8760h\"")
	}
}

func (c *Config) validateOutbox(ps *Problems) {
	o := c.Outbox
	positive(ps, "outbox.lease", o.Lease)
	if o.Concurrency < 1 || o.Concurrency > 64 {
		ps.add("outbox.concurrency", "must be 1 to 64")
	}
	positive(ps, "outbox.min_backoff", o.MinBackoff)
	if o.MaxBackoff < o.MinBackoff {
		ps.add("outbox.max_backoff", "must be at least outbox.min_backoff (%v)", o.MinBackoff)
	}
	if o.GiveUpAfter < 0 {
		ps.add("outbox.give_up_after", "must not be negative (0 never gives up)")
	}
}

func (c *Config) validateServer(ps *Problems) {
	if _, port, err := net.SplitHostPort(c.Server.Addr); err != nil || port == "" {
		ps.add("server.addr", "must be host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	for i, o := range c.Server.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			ps.add(fmt.Sprintf("server.cors_origins[%d]", i), "must be an origin: scheme and host with no path, e.g. https://softphone.example.com")
		}
	}
	positive(ps, "server.shutdown_timeout", c.Server.ShutdownTimeout)
	c.validateAPI(ps)
}

// apiKeyName is what an API key's name may be: the actor the engine records (flows: at most 64
// letters, digits and . _ - @ :).
var apiKeyName = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

// maxBodyLimit bounds server.max_body_bytes: a step's request is a few hundred bytes.
const maxBodyLimit = 16 << 20

// validateAPI checks the HTTP API's keys, timeouts and limits.
func (c *Config) validateAPI(ps *Problems) {
	s := c.Server
	names := map[string]int{}
	hashes := map[string]int{}
	for i, k := range s.APIKeys {
		at := fmt.Sprintf("server.api_keys[%d]", i)
		if !apiKeyName.MatchString(k.Name) {
			ps.add(at+".name", "must be 1 to 64 letters, digits or . _ - @ : (it is the actor in the audit), e.g. softphone-eu")
		} else if j, dup := names[k.Name]; dup {
			ps.add(at+".name", "duplicates server.api_keys[%d].name: give every key its own name", j)
		} else {
			names[k.Name] = i
		}
		h := strings.ToLower(k.SHA256)
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			ps.add(at+".sha256", "must be the SHA-256 of the key as 64 hex digits, e.g. from `printf %%s \"$KEY\" | sha256sum`")
		} else if j, dup := hashes[h]; dup {
			ps.add(at+".sha256", "is the hash of server.api_keys[%d] too: give every client its own key", j)
		} else {
			hashes[h] = i
		}
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{
		{"server.read_header_timeout", s.ReadHeaderTimeout}, {"server.read_timeout", s.ReadTimeout},
		{"server.write_timeout", s.WriteTimeout}, {"server.idle_timeout", s.IdleTimeout},
		{"server.request_timeout", s.RequestTimeout}, {"server.idempotency_ttl", s.IdempotencyTTL},
	} {
		positive(ps, d.key, d.d)
	}
	if s.ReadHeaderTimeout > s.ReadTimeout && s.ReadTimeout > 0 {
		ps.add("server.read_header_timeout", "is longer than server.read_timeout, which includes it: shorten it")
	}
	if s.RequestTimeout >= s.WriteTimeout && s.WriteTimeout > 0 {
		ps.add("server.request_timeout", "must be shorter than server.write_timeout, or a request that runs to its end cannot be answered")
	}
	if s.MaxBodyBytes < 1<<10 || s.MaxBodyBytes > maxBodyLimit {
		ps.add("server.max_body_bytes", "is %d: use 1024 to %d bytes (a step's request is a few hundred)", s.MaxBodyBytes, maxBodyLimit)
	}
	r := s.RateLimit
	if r.KeyPerSecond <= 0 || r.KeyBurst < 1 {
		ps.add("server.rate_limit", "key_per_second must be above 0 and key_burst at least 1")
	}
	if r.PersonPerMinute <= 0 || r.PersonBurst < 1 {
		ps.add("server.rate_limit", "person_per_minute must be above 0 and person_burst at least 1")
	}
}

// field checks a field API name at path and reports whether it is valid.
func field(ps *Problems, path, name string) bool {
	if !fieldName.MatchString(name) {
		ps.add(path, "%q is not a field API name (letters, digits and _, or a relationship path such as Account.Name)", name)
		return false
	}
	return true
}

// positive checks that a duration is above zero.
func positive(ps *Problems, path string, d time.Duration) {
	if d <= 0 {
		ps.add(path, "must be a positive duration, e.g. \"15m\"")
	}
}

// oneOf checks an enum value and reports whether it is valid.
func oneOf(ps *Problems, path, value string, valid ...string) bool {
	if slices.Contains(valid, value) {
		return true
	}
	if value == "" {
		ps.add(path, "is empty: use one of %s", strings.Join(valid, ", "))
	} else {
		ps.add(path, "unknown value %q: use one of %s", value, strings.Join(valid, ", "))
	}
	return false
}
