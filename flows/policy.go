package flows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Policy is the admin configuration the engine runs: the reasons an agent may pick, the search
// types and their questions, the representation rule, attempt limits and lifetimes. It mirrors
// Salesforce's IdentityVerificationProc* setup. Package config builds one from the loaded
// configuration; the engine only reads it, so one Policy may be shared by many engines.
//
// Zero durations and counts mean the documented defaults (see the Default* constants), so a
// Policy needs only reasons and search types to be usable.
type Policy struct {
	// Reasons the agent picks from, in menu order. At least one must be confidential: a
	// non-confidential reason ends the flow with OutcomeNotRequired.
	Reasons []Reason
	// SearchTypes the agent picks from, in menu order. Names are unique.
	SearchTypes []SearchType
	// Representation is the rule that decides whether a verified representative may speak
	// for a customer. Its zero value checks nothing (the agent asserts it, as in Salesforce).
	Representation RepresentationRule
	// Lockout limits failed verifications per person (record id) across sessions and channels.
	Lockout Lockout
	// Session limits one session: how long it may sit idle and how often a failed level may be
	// retried inside it.
	Session SessionLimits
	// VerifiedTTL is how long a person's verified status lasts (so it survives a transfer).
	// Zero means DefaultVerifiedTTL.
	VerifiedTTL time.Duration
	// Matching configures the check-mode normalisers.
	Matching Matching
	// Verdicts says when the agent sees the verdict of each question; the zero value means
	// VerdictsOnDecision.
	Verdicts Verdicts
	// Events are the subscribers to events (webhooks): each step that causes an event queues
	// one outbox write per subscriber to its type, in its Commit.
	Events []Subscription
}

// Defaults used where a Policy leaves a duration or count at zero.
const (
	DefaultIdleTimeout        = 15 * time.Minute
	DefaultVerifiedTTL        = time.Hour
	DefaultLockoutMaxFailures = 5
	DefaultLockoutWindow      = 30 * time.Minute
)

// Reason is a reason for the call the agent can pick.
type Reason struct {
	// Name is shown to the agent, written to the engagement and its topic, and unique.
	Name string
	// Confidential reasons need verification; the others end the flow with OutcomeNotRequired.
	Confidential bool
}

// SearchType is one way to find a person: Salesforce's IdentityVerificationProcDtl with its
// IdentityVerificationProcFld rows.
type SearchType struct {
	// Name is the unique key the agent (or plugin) uses to pick this search type.
	Name string
	// Label is what the agent sees; empty means Name.
	Label string
	// Object is the sObject searched, e.g. "Account" or "Contact".
	Object string
	// Search says whether the agent types keywords (SearchText) or fills fields (SearchObject).
	Search SearchKind
	// Filter is an admin-written SOQL condition ANDed to every search, e.g.
	// "IsPersonAccount = true". It is trusted configuration, never user input.
	Filter string
	// SortBy is the field results are sorted by, e.g. "Name"; empty leaves the order to the CRM.
	SortBy string
	// SearchFields are the fields searched (text) or filled in by the agent (object).
	SearchFields []string
	// ResultFields are shown in the result list so the agent can pick the right record.
	ResultFields []string
	// MaskedResultFields are result fields whose values the agent sees masked as RevealMasked
	// masks an expected value (a phone number keeps its last two digits): enough to tell two
	// people apart, not enough to answer a question with. Each is one of ResultFields.
	MaskedResultFields []string
	// Required questions must all be answered correctly.
	Required []Verifier
	// Optional questions: at least OptionalMin of them must be answered correctly.
	Optional []Verifier
	// OptionalMin is how many optional questions must be answered correctly
	// (Salesforce's OptionalVerifiersMinVerfCount). 0 <= OptionalMin <= len(Optional).
	OptionalMin int
	// Linked names the customer-level search type (Salesforce's LinkedIdVerfProcessDetId). It
	// is set on a representative's search type; empty means there is no customer level.
	Linked string
}

// DisplayLabel is the label the agent sees: Label, or Name when Label is empty.
func (s SearchType) DisplayLabel() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Name
}

// Verifier is one question: a field of the found record the caller must know.
type Verifier struct {
	// Field is the API name of the field holding the expected value, e.g. "PersonBirthdate".
	Field string
	// Label is the question the agent sees; empty means Field.
	Label string
	// Match is the rule that compares an answer with the expected value in check mode.
	Match MatchRule
	// Mode is how the question is answered: the agent attests, or idverify checks.
	Mode Mode
	// Reveal is how much of the expected value an attesting agent sees. Check mode never
	// reveals anything, whatever this says.
	Reveal Reveal
	// Digits, for MatchPhone only, compares just the last Digits digits of both numbers; zero
	// compares the whole number.
	Digits int
}

// DisplayLabel is the label the agent sees: Label, or Field when Label is empty.
func (v Verifier) DisplayLabel() string {
	if v.Label != "" {
		return v.Label
	}
	return v.Field
}

// RepresentationRule decides whether a representative (a Contact, usually) may speak for a
// customer (an Account, usually): a row must exist in Object linking the two, e.g.
// AccountContactRelation with ContactId = representative and AccountId = customer. The zero
// value (no Object) checks nothing; the agent asserts the relationship, as in Salesforce.
type RepresentationRule struct {
	// Object holds the relationship rows, e.g. "AccountContactRelation". Empty disables the check.
	Object string
	// RepresentativeField references the representative, e.g. "ContactId".
	RepresentativeField string
	// CustomerField references the customer, e.g. "AccountId".
	CustomerField string
	// Roles, when not empty, requires the row's Roles (a multi-select picklist) to include at
	// least one of these values.
	Roles []string
	// RequireActive requires the row's IsActive to be true.
	RequireActive bool
}

// Enabled reports whether the rule checks anything.
func (r RepresentationRule) Enabled() bool { return r.Object != "" }

// Lockout locks a person (a record id) after MaxFailures failures within Window,
// until enough of them have left the window (fewer than MaxFailures remain) or an admin
// resets it.
//
// A failure is one wrong answer (check or attest mode, "doesn't know" included), counted against
// the person when it is given: so however many sessions run on one person, at most MaxFailures
// wrong answers are ever accepted within a Window (see docs/ARCHITECTURE.md).
type Lockout struct {
	// MaxFailures is the number of wrong answers that locks a record; zero means
	// DefaultLockoutMaxFailures.
	MaxFailures int
	// Window is how far back failures count; zero means DefaultLockoutWindow.
	Window time.Duration
}

// SessionLimits bound one verification session.
type SessionLimits struct {
	// IdleTimeout expires a session with no step for this long; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxRetries is how many times, within one session, the agent may start a level again
	// (search and questions) after it failed. Zero means a failed level ends the session.
	// Every wrong answer still counts against the person's lockout.
	MaxRetries int
}

// Matching configures how check-mode answers are normalised.
type Matching struct {
	// DateOrder resolves ambiguous numeric dates such as 03/04/1980; zero means DMY.
	DateOrder DateOrder
	// DefaultCountryCode is the calling code (digits, e.g. "44") whose main region national
	// phone numbers are read in, so 020 7946 0000 and +44 20 7946 0000 match. Empty reads
	// only numbers written with + and compares the others' digits as given.
	DefaultCountryCode string
	// Languages whose month names dates may be written with ("14 März 1980"); empty means
	// English only.
	Languages []Language
}

// Language is a language whose month names MatchDate reads: an ISO 639-1 code.
type Language string

// The languages MatchDate reads month names in.
const (
	English Language = "en"
	German  Language = "de"
	French  Language = "fr"
	Spanish Language = "es"
	Italian Language = "it"
)

var languages = []Language{English, German, French, Spanish, Italian}

// Languages returns every language MatchDate reads month names in.
func Languages() []Language { return slices.Clone(languages) }

// ValidateCallingCode returns an error unless cc is the international calling code of a
// country, without "+" or leading zeros ("44", "1"), as Matching.DefaultCountryCode must be.
func ValidateCallingCode(cc string) error {
	n, err := strconv.Atoi(cc)
	if err != nil || len(cc) > 3 || cc[0] == '0' || strings.Trim(cc, "0123456789") != "" {
		return fmt.Errorf("%q is not a calling code: use its digits without + or leading zeros, e.g. 44 or 1", cc)
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(n); r == "ZZ" || r == "001" {
		return fmt.Errorf("%s is not the calling code of a country", cc)
	}
	return nil
}

// ParseLanguage returns the language with ISO 639-1 code name ("en", "de", "fr", "es", "it").
func ParseLanguage(name string) (Language, error) {
	return parseEnum(name, "language", languages)
}

// Verdicts says when a View shows the verdict of each answered question.
type Verdicts string

// The verdict settings. The zero value means VerdictsOnDecision.
const (
	// VerdictsOnDecision shows VerdictAnswered until the level is decided by its answers, then
	// every verdict: a caller (or an agent) cannot try answers one at a time and learn which
	// one was right without the level being decided, so the questions are not an oracle.
	VerdictsOnDecision Verdicts = "on_decision"
	// VerdictsImmediate shows each verdict as soon as the answer is judged.
	VerdictsImmediate Verdicts = "immediate"
)

// ParseVerdicts returns the verdict setting called name ("on_decision" or "immediate").
func ParseVerdicts(name string) (Verdicts, error) {
	return parseEnum(name, "verdicts setting", []Verdicts{VerdictsOnDecision, VerdictsImmediate})
}

// SearchKind is how a search type finds records.
type SearchKind string

// The search kinds (Salesforce's Text-Based and Object-Based). The zero value means SearchText.
const (
	SearchText   SearchKind = "text"
	SearchObject SearchKind = "object"
)

// Mode is how a question is answered.
type Mode string

// The modes. The zero value means ModeAttest.
const (
	// ModeAttest: the agent sees the expected value (as Reveal allows) and marks the answer
	// correct or incorrect, as in Salesforce.
	ModeAttest Mode = "attest"
	// ModeCheck: the agent or IVR submits what the caller said; the engine normalises and
	// compares, and the agent never sees the expected value.
	ModeCheck Mode = "check"
)

// Reveal is how much of an expected value an attesting agent sees.
type Reveal string

// The reveal settings. The zero value means RevealNone.
const (
	RevealNone   Reveal = "none"
	RevealMasked Reveal = "masked"
	RevealFull   Reveal = "full"
)

// DateOrder is the day-month order of ambiguous numeric dates.
type DateOrder string

// The date orders. The zero value means DMY.
const (
	DMY DateOrder = "dmy"
	MDY DateOrder = "mdy"
)

// MatchRule names how a check-mode answer is compared with the expected value.
type MatchRule string

// The match rules. The zero value means MatchExact.
const (
	// MatchExact compares after trimming surrounding whitespace only.
	MatchExact MatchRule = "exact"
	// MatchText compares words, ignoring case and accents: any character other than a letter
	// or digit separates words ("Smith-Jones" = "Smith Jones"), and a one-letter word joins the
	// next ("O'Neil" = "O Neil" = "ONeil").
	MatchText MatchRule = "text"
	// MatchName is MatchText that also ignores word order (given and family names swapped).
	MatchName MatchRule = "name"
	// MatchDate compares calendar dates written in any common form, with month names in
	// Matching.Languages.
	MatchDate MatchRule = "date"
	// MatchPhone compares numbers in E.164 form as libphonenumber reads them in the default
	// country, national and international forms alike (see Verifier.Digits).
	MatchPhone MatchRule = "phone"
	// MatchPostalCode ignores case and spaces.
	MatchPostalCode MatchRule = "postal_code"
	// MatchNumber compares numeric values (1,000.50 = 1000.5).
	MatchNumber MatchRule = "number"
	// MatchLast4 compares the last four digits.
	MatchLast4 MatchRule = "last4"
)

var matchRules = []MatchRule{MatchExact, MatchText, MatchName, MatchDate, MatchPhone,
	MatchPostalCode, MatchNumber, MatchLast4}

// MatchRules returns every match rule, in documentation order.
func MatchRules() []MatchRule { return slices.Clone(matchRules) }

// ParseMatchRule returns the match rule called name, or an error listing the valid names.
func ParseMatchRule(name string) (MatchRule, error) {
	return parseEnum(name, "match rule", matchRules)
}

// ParseSearchKind returns the search kind called name ("text" or "object").
func ParseSearchKind(name string) (SearchKind, error) {
	return parseEnum(name, "search kind", []SearchKind{SearchText, SearchObject})
}

// ParseMode returns the mode called name ("attest" or "check").
func ParseMode(name string) (Mode, error) {
	return parseEnum(name, "mode", []Mode{ModeAttest, ModeCheck})
}

// ParseReveal returns the reveal setting called name ("none", "masked" or "full").
func ParseReveal(name string) (Reveal, error) {
	return parseEnum(name, "reveal", []Reveal{RevealNone, RevealMasked, RevealFull})
}

// ParseDateOrder returns the date order called name ("dmy" or "mdy").
func ParseDateOrder(name string) (DateOrder, error) {
	return parseEnum(name, "date order", []DateOrder{DMY, MDY})
}

func parseEnum[T ~string](name, what string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == name {
			return v, nil
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown %s %q: use one of %s", what, name, strings.Join(names, ", "))
}

// Reason returns the reason called name.
func (p Policy) Reason(name string) (Reason, bool) {
	for _, r := range p.Reasons {
		if r.Name == name {
			return r, true
		}
	}
	return Reason{}, false
}

// SearchType returns the search type called name.
func (p Policy) SearchType(name string) (SearchType, bool) {
	for _, s := range p.SearchTypes {
		if s.Name == name {
			return s, true
		}
	}
	return SearchType{}, false
}

var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

// Validate reports every problem that would make the engine misbehave, joined with
// errors.Join. It is a backstop: package config validates the user's file with key paths first.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	reasons := map[string]bool{}
	confidential := false
	for i, r := range p.Reasons {
		switch {
		case r.Name == "":
			bad("reasons[%d]: name is empty", i)
		case reasons[r.Name]:
			bad("reasons[%d]: duplicate name %q", i, r.Name)
		}
		reasons[r.Name] = true
		confidential = confidential || r.Confidential
	}
	if !confidential {
		bad("reasons: none is confidential, so nothing would ever be verified")
	}
	if len(p.SearchTypes) == 0 {
		bad("search_types: none configured")
	}
	subscribers := map[string]bool{}
	for i, sub := range p.Events {
		switch {
		case !subscriptionName.MatchString(sub.Name):
			bad("events[%d]: the name takes 1 to 64 lower-case letters, digits, - and _", i)
		case subscribers[sub.Name]:
			bad("events[%d]: duplicate name %q", i, sub.Name)
		case len(sub.Events) == 0:
			bad("events[%d]: no event types", i)
		}
		subscribers[sub.Name] = true
		for _, t := range sub.Events {
			if t.String() == "invalid" {
				bad("events[%d]: invalid event type %d", i, t)
			}
		}
	}
	types := map[string]SearchType{}
	for i, s := range p.SearchTypes {
		at := fmt.Sprintf("search_types[%d]", i)
		switch {
		case s.Name == "":
			bad("%s: name is empty", at)
		case types[s.Name].Name != "":
			bad("%s: duplicate name %q", at, s.Name)
		}
		types[s.Name] = s
		if !objectName.MatchString(s.Object) {
			bad("%s.object: %q is not an sObject name", at, s.Object)
		}
		if s.Search != "" && s.Search != SearchText && s.Search != SearchObject {
			bad("%s.search: unknown search kind %q", at, s.Search)
		}
		if s.SortBy != "" && !fieldName.MatchString(s.SortBy) {
			bad("%s.sort_by: %q is not a field name", at, s.SortBy)
		}
		for j, f := range slices.Concat(s.SearchFields, s.ResultFields) {
			if !fieldName.MatchString(f) {
				bad("%s: field %d %q is not a field name", at, j, f)
			}
		}
		for _, f := range s.MaskedResultFields {
			if !slices.Contains(s.ResultFields, f) {
				bad("%s.masked_result_fields: %q is not one of the result fields", at, f)
			}
		}
		if len(s.Required) == 0 && s.OptionalMin == 0 {
			bad("%s: no required verifiers and optional_min 0 would verify anyone", at)
		}
		if s.OptionalMin < 0 || s.OptionalMin > len(s.Optional) {
			bad("%s.optional_min: %d is outside 0..%d (the number of optional verifiers)", at, s.OptionalMin, len(s.Optional))
		}
		seen := map[string]bool{}
		for j, v := range slices.Concat(s.Required, s.Optional) {
			vat := fmt.Sprintf("%s.verifiers[%d]", at, j)
			if !fieldName.MatchString(v.Field) {
				bad("%s.field: %q is not a field name", vat, v.Field)
			}
			if seen[v.Field] {
				bad("%s.field: %q is asked twice", vat, v.Field)
			}
			seen[v.Field] = true
			if v.Match != "" && !slices.Contains(matchRules, v.Match) {
				bad("%s.match: unknown match rule %q", vat, v.Match)
			}
			if v.Mode != "" && v.Mode != ModeAttest && v.Mode != ModeCheck {
				bad("%s.mode: unknown mode %q", vat, v.Mode)
			}
			if v.Reveal != "" && v.Reveal != RevealNone && v.Reveal != RevealMasked && v.Reveal != RevealFull {
				bad("%s.reveal: unknown reveal %q", vat, v.Reveal)
			}
			if v.Digits < 0 {
				bad("%s.digits: %d is negative", vat, v.Digits)
			}
		}
	}
	for i, s := range p.SearchTypes {
		if s.Linked == "" {
			continue
		}
		if _, ok := types[s.Linked]; !ok {
			bad("search_types[%d].linked_search_type: %q does not exist", i, s.Linked)
			continue
		}
		// A customer level has no further level: the representative speaks for one customer.
		if next := types[s.Linked]; next.Linked != "" {
			bad("search_types[%d].linked_search_type: %q is itself linked to %q; only one customer level is supported", i, s.Linked, next.Linked)
		}
	}
	r := p.Representation
	if r.Enabled() {
		for _, f := range []string{r.Object, r.RepresentativeField, r.CustomerField} {
			if !fieldName.MatchString(f) {
				bad("representation: %q is not an sObject or field name", f)
			}
		}
	}
	if p.Lockout.MaxFailures < 0 || p.Lockout.Window < 0 {
		bad("lockout: max_failures and window must not be negative")
	}
	if p.Session.IdleTimeout < 0 || p.Session.MaxRetries < 0 || p.VerifiedTTL < 0 {
		bad("session: idle_timeout, max_retries and verified_ttl must not be negative")
	}
	if v := p.Verdicts; v != "" && v != VerdictsOnDecision && v != VerdictsImmediate {
		bad("verdicts: unknown setting %q", v)
	}
	if o := p.Matching.DateOrder; o != "" && o != DMY && o != MDY {
		bad("matching.date_order: unknown date order %q", o)
	}
	if c := p.Matching.DefaultCountryCode; c != "" {
		if err := ValidateCallingCode(c); err != nil {
			bad("matching.default_country_code: %v", err)
		}
	}
	for _, l := range p.Matching.Languages {
		if !slices.Contains(languages, l) {
			bad("matching.languages: unknown language %q", l)
		}
	}
	return errors.Join(errs...)
}
