package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// Demo people, as in Salesforce's sample setup: person accounts for customers, contacts for
// representatives.
const (
	janeID   = "001000000000001AAA" // a customer (person account)
	ahmedID  = "001000000000002AAA" // a customer Robert may not represent
	robertID = "003000000000001AAA" // a representative (contact)
	noPhone  = "+44 20 7946 0999"   // a number nobody has
)

var (
	jane   = flows.Ref{Object: "Account", ID: janeID}
	ahmed  = flows.Ref{Object: "Account", ID: ahmedID}
	robert = flows.Ref{Object: "Contact", ID: robertID}
)

// Plaintext personal data of the demo people, which must never reach the store.
var personalData = []string{"Jane", "Smith", "1980-03-14", "7946", "SW1A", "Ahmed", "Khan",
	"1975-11-02", "Robert", "Brown", "1962-07-21", "900123", "M1 1AE", "jane", "smith", "14/03/1980"}

func demoPeople() ([]flowstest.Person, []flowstest.Relation) {
	return []flowstest.Person{
			{Ref: jane, Fields: map[string]string{"Name": "Jane Smith", "PersonBirthdate": "1980-03-14",
				"Phone": "+44 20 7946 0001", "PersonMailingPostalCode": "SW1A 1AA", "AccountNumber": "ACC-00012345"}},
			{Ref: ahmed, Fields: map[string]string{"Name": "Ahmed Khan", "PersonBirthdate": "1975-11-02",
				"Phone": "+44 20 7946 0002", "PersonMailingPostalCode": "E1 6AN"}},
			{Ref: robert, Fields: map[string]string{"Name": "Robert Brown", "LastName": "Brown",
				"Birthdate": "1962-07-21", "MobilePhone": "07700 900123", "MailingPostalCode": "M1 1AE"}},
		}, []flowstest.Relation{
			{Representative: robertID, Customer: janeID, Roles: []string{"Power of Attorney"}, Active: true},
			{Representative: robertID, Customer: ahmedID, Roles: []string{"Friend"}, Active: true},
		}
}

// demoPolicy: a person-account text search (name and birth date required; phone and postal
// code optional, one needed), a representative object search on Contact linked to a customer
// search on Account, all in check mode.
func demoPolicy() flows.Policy {
	check := func(field string, rule flows.MatchRule) flows.Verifier {
		return flows.Verifier{Field: field, Label: "What is your " + field + "?", Match: rule, Mode: flows.ModeCheck}
	}
	return flows.Policy{
		Reasons: []flows.Reason{
			{Name: "Change of address", Confidential: true},
			{Name: "Opening hours", Confidential: false},
		},
		SearchTypes: []flows.SearchType{
			{Name: "person", Label: "Person account", Object: "Account", Search: flows.SearchText,
				Filter: "IsPersonAccount = true", SortBy: "Name", SearchFields: []string{"Name"},
				ResultFields: []string{"Name", "PersonBirthdate", "Phone"},
				Required:     []flows.Verifier{check("Name", flows.MatchName), check("PersonBirthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("Phone", flows.MatchPhone), check("PersonMailingPostalCode", flows.MatchPostalCode)},
				OptionalMin:  1},
			{Name: "representative", Object: "Contact", Search: flows.SearchObject,
				SearchFields: []string{"LastName", "MailingPostalCode"}, ResultFields: []string{"Name"},
				Required:    []flows.Verifier{check("Name", flows.MatchName), check("Birthdate", flows.MatchDate)},
				Optional:    []flows.Verifier{check("MobilePhone", flows.MatchPhone), check("MailingPostalCode", flows.MatchPostalCode)},
				OptionalMin: 1, Linked: "customer"},
			{Name: "customer", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name"},
				Required:     []flows.Verifier{check("Name", flows.MatchName), check("PersonBirthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("PersonMailingPostalCode", flows.MatchPostalCode)},
				OptionalMin:  1},
		},
		Representation: flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
			CustomerField: "AccountId", Roles: []string{"Power of Attorney"}, RequireActive: true},
		Lockout:  flows.Lockout{MaxFailures: 3, Window: 30 * time.Minute},
		Session:  flows.SessionLimits{IdleTimeout: 10 * time.Minute},
		Matching: flows.Matching{DateOrder: flows.DMY, DefaultCountryCode: "44"},
	}
}

var secret = []byte("0123456789abcdef0123456789abcdef")

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

type harness struct {
	e     *flows.Engine
	store *flowstest.Store
	crm   *flowstest.CRM
	clock *flowstest.Clock
	ctx   context.Context
}

func newHarness(t testing.TB, p flows.Policy) *harness {
	t.Helper()
	return newHarnessWith(t, p, nil)
}

// newHarnessWith is newHarness with the engine's store wrapped by wrap (nil: not wrapped), so a
// test can get between the engine and the store.
func newHarnessWith(t testing.TB, p flows.Policy, wrap func(*flowstest.Store) flows.SessionStore) *harness {
	t.Helper()
	people, relations := demoPeople()
	h := &harness{store: &flowstest.Store{}, crm: flowstest.NewCRM(people, relations),
		clock: flowstest.NewClock(t0), ctx: context.Background()}
	var store flows.SessionStore = h.store
	if wrap != nil {
		store = wrap(h.store)
	}
	var err error
	h.e, err = flows.New(p, flows.Ports{CRM: h.crm, Recorder: h.crm, Store: store, Clock: h.clock}, secret)
	require.NoError(t, err)
	return h
}

// written delivers the outbox's due writes to the fake CRM, as the outbox worker would, and
// returns every write-back the CRM took so far.
func (h *harness) written(t testing.TB) []flows.Writeback {
	t.Helper()
	_, err := flowstest.Deliver(h.ctx, h.store, h.crm, h.clock.Now())
	require.NoError(t, err)
	return h.crm.Writebacks()
}

// engagementID returns the Salesforce id of the engagement ref, which the delivery of its
// write-back created.
func (h *harness) engagementID(t testing.TB, ref string) string {
	t.Helper()
	h.written(t)
	id, ok := h.crm.EngagementID(ref)
	require.True(t, ok, "no engagement %q in the CRM", ref)
	return id
}

// writebacks returns the write-backs the fake CRM took, with their idempotency keys checked
// (set, distinct; TestWritebackRowKeys checks they hold no session id) and then blanked, for
// comparing the rest.
func (h *harness) writebacks(t testing.TB) []flows.Writeback {
	t.Helper()
	ws := h.written(t)
	for i := range ws {
		w := &ws[i]
		keys := []string{w.Key, w.Topic.Key}
		w.Key, w.Topic.Key = "", ""
		for j := range w.Attendees {
			keys = append(keys, w.Attendees[j].Key)
			w.Attendees[j].Key = ""
		}
		for j, k := range keys {
			require.NotEmpty(t, k)
			require.NotContains(t, keys[:j], k)
		}
	}
	return ws
}

// failures returns the failures counted against person within the demo policy's window.
func (h *harness) failures(t testing.TB, person string) []time.Time {
	t.Helper()
	f, err := h.store.Failures(h.ctx, person, h.clock.Now().Add(-30*time.Minute))
	require.NoError(t, err)
	return f
}

// atQuestions starts a session for Jane (named in person) about herself, up to her questions.
func atQuestions(t *testing.T, h *harness) flows.View {
	t.Helper()
	v := run(t, h, flows.StartRequest{Attendee: jane}, reason("Change of address"), subject(flows.SubjectSelf))
	require.Equal(t, flows.StateQuestions, v.State)
	return v
}

// Answers that are right for the demo people.
var (
	janeAnswers = []flows.Answer{{Field: "Name", Value: "smith, jane"}, {Field: "PersonBirthdate", Value: "14/03/1980"},
		{Field: "Phone", Value: "020 7946 0001"}}
	robertAnswers = []flows.Answer{{Field: "Name", Value: "Robert Brown"}, {Field: "Birthdate", Value: "21 July 1962"},
		{Field: "MailingPostalCode", Value: "m11ae"}}
	janeAsCustomer = []flows.Answer{{Field: "Name", Value: "Jane Smith"}, {Field: "PersonBirthdate", Value: "March 14, 1980"},
		{Field: "PersonMailingPostalCode", Value: "sw1a 1aa"}}
)
