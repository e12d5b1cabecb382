package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// Options configure an Adapter. Only Policy is needed for the CRM side; the zero value of the
// other fields means their documented default.
type Options struct {
	// Policy is the engine's policy: its search types say which verifier fields to read ahead
	// for each object, its Matching reads phone numbers (default country) and dates (object
	// search) as the engine does.
	Policy flows.Policy
	// PhoneFields are the objects the phone lookup searches and, for each, the phone fields a
	// match must be in (config phone_fields).
	PhoneFields []PhoneFields
	// LeadKeyField is a custom External ID text field on Lead (e.g. IdvKey__c) that holds the
	// caller's idempotency key of a Lead idverify created: CreateLead then upserts by it. Empty:
	// CreateLead looks for an open Lead with the same name, company and phone or e-mail first.
	LeadKeyField string
	// WritebackKeyField is a custom External ID text field on both EngagementAttendee and
	// EngagementTopic (e.g. IdvKey__c): the write-back then upserts its rows by their keys.
	// Empty: the rows are created behind a guard on the topic's ProcessName (see WriteOutcome).
	WritebackKeyField string
	// DefaultChannel is the CommunicationChannel of an engagement whose session named none
	// (DefaultChannel when empty).
	DefaultChannel string
	// ReadAheadTTL is how long values a phone lookup or a search reads ahead of the step that
	// needs them are kept in memory (DefaultReadAheadTTL when 0); negative reads nothing ahead
	// (the representation check still hands the customer's values to the questions of its
	// own step). See readahead.go.
	ReadAheadTTL time.Duration
	// Now tells the time for read-ahead expiry; nil means time.Now.
	Now func() time.Time
}

// PhoneFields names the phone fields of one object the phone lookup searches.
type PhoneFields struct {
	Object string
	Fields []string
}

// Defaults of Options.
const (
	DefaultChannel      = "Voice Call"
	DefaultReadAheadTTL = 2 * time.Minute
)

// Adapter implements flows.CRM and flows.Recorder over an sfdc.Client. It is safe for
// concurrent use; create one with New.
type Adapter struct {
	c         *sfdc.Client
	opts      Options
	ahead     *readAhead
	aheadBy   map[string][]string // object → verifier fields of its search types, read ahead
	phoneBy   map[string][]string // object → phone fields
	leadFlies flights             // CreateLead calls in flight, by key
}

var (
	_ flows.CRM      = (*Adapter)(nil)
	_ flows.Recorder = (*Adapter)(nil)
)

var (
	objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	fieldName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)
)

// New returns an Adapter that reads and writes through c. It checks opts (names only: whether
// the objects and fields exist is `idverify config check --online`'s job) and makes no call.
func New(c *sfdc.Client, opts Options) (*Adapter, error) {
	if c == nil {
		return nil, errors.New("salesforce: nil client")
	}
	if opts.DefaultChannel == "" {
		opts.DefaultChannel = DefaultChannel
	}
	if opts.ReadAheadTTL == 0 {
		opts.ReadAheadTTL = DefaultReadAheadTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var errs []error
	for _, f := range []struct{ name, value string }{{"lead key field", opts.LeadKeyField}, {"write-back key field", opts.WritebackKeyField}} {
		if f.value != "" && !objectName.MatchString(f.value) {
			errs = append(errs, fmt.Errorf("the %s %q is not a field API name", f.name, f.value))
		}
	}
	a := &Adapter{c: c, opts: opts, aheadBy: map[string][]string{}, phoneBy: map[string][]string{}}
	for _, p := range opts.PhoneFields {
		if !objectName.MatchString(p.Object) || len(p.Fields) == 0 {
			errs = append(errs, fmt.Errorf("phone fields: %q needs an sObject name and at least one field", p.Object))
			continue
		}
		for _, f := range p.Fields {
			if !fieldName.MatchString(f) {
				errs = append(errs, fmt.Errorf("phone fields of %s: %q is not a field name", p.Object, f))
			}
		}
		a.phoneBy[p.Object] = appendNew(a.phoneBy[p.Object], p.Fields...)
	}
	for _, st := range opts.Policy.SearchTypes {
		for _, v := range slices.Concat(st.Required, st.Optional) {
			a.aheadBy[st.Object] = appendNew(a.aheadBy[st.Object], v.Field)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("salesforce: %w", err)
	}
	a.ahead = newReadAhead(opts.Now)
	return a, nil
}

// readsAhead reports whether phone lookups and searches read values ahead.
func (a *Adapter) readsAhead() bool { return a.opts.ReadAheadTTL > 0 }

// Client returns the sfdc client the adapter uses.
func (a *Adapter) Client() *sfdc.Client { return a.c }

// Warm reads, once for the client's life, the describe of every object whose field types or
// relationships the adapter needs (phone lookup objects, object searches, representatives and
// customers), so that no verification step pays for one. It returns the first failure. Without
// it, the first step that needs an object's describe reads it.
func (a *Adapter) Warm(ctx context.Context) error {
	var objects []string
	for _, p := range a.opts.PhoneFields {
		objects = appendNew(objects, p.Object)
	}
	for _, st := range a.opts.Policy.SearchTypes {
		if st.Search == flows.SearchObject || st.Linked != "" {
			objects = appendNew(objects, st.Object)
		}
	}
	if r := a.opts.Policy.Representation; r.Enabled() {
		objects = appendNew(objects, r.Object)
		for _, st := range a.opts.Policy.SearchTypes {
			if st.Linked != "" {
				if linked, ok := a.opts.Policy.SearchType(st.Linked); ok {
					objects = appendNew(objects, linked.Object)
				}
			}
		}
	}
	for _, o := range objects {
		if _, _, err := a.c.Describe(ctx, o); err != nil {
			return fail("describe "+o, err)
		}
	}
	return nil
}

// hasField reports whether object has field, from its describe (cached for the client's life);
// false when describe fails.
func (a *Adapter) hasField(ctx context.Context, object, field string) bool {
	d, _, err := a.c.Describe(ctx, object)
	if err != nil {
		return false
	}
	_, ok := d.Field(field)
	return ok
}

// appendNew appends the values list does not hold yet.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// text returns a field's value as the engine reads it: text as it is, numbers as Salesforce
// wrote them, booleans as true or false, dates and times in Salesforce's formats; "" for null
// or a value that is not a single one (a parent record, a child list).
func text(rec sfdc.Record, field string) string {
	v, _ := rec.Get(field)
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return x.String()
	}
	return ""
}

// prefixObjects maps the key prefixes Salesforce fixes for the person objects to their names
// ("Object Reference: ID Field Type": 001 Account, 003 Contact, 00Q Lead), for polymorphic
// references such as InitiatingAttendeeId.
var prefixObjects = map[string]string{"001": "Account", "003": "Contact", "00Q": "Lead"}

// refOf returns the Ref of a person record id, or the zero Ref when id is empty or not of a
// person object.
func refOf(id string) flows.Ref {
	parsed, err := sfdc.ParseID(id)
	if err != nil {
		return flows.Ref{}
	}
	if o, ok := prefixObjects[parsed.Prefix()]; ok {
		return flows.Ref{Object: o, ID: string(parsed)}
	}
	return flows.Ref{}
}

// checkRef refuses a Ref whose object or id could not be a record's: nothing is sent.
func checkRef(op string, r flows.Ref) (sfdc.ID, error) {
	id, err := sfdc.ParseID(r.ID)
	if err != nil || !objectName.MatchString(r.Object) {
		return "", &Error{Op: op, Kind: flows.ErrRecordNotFound,
			Err: errors.New("the record reference needs an object name and a 15- or 18-character id")}
	}
	return id, nil
}

// relationshipName is the relationship a reference field is read through in SOQL: ContactId's
// is Contact, Rep__c's Rep__r (Salesforce's naming of standard and custom lookups).
func relationshipName(field string) string {
	if s, ok := strings.CutSuffix(field, "__c"); ok {
		return s + "__r"
	}
	s, _ := strings.CutSuffix(field, "Id")
	return s
}
