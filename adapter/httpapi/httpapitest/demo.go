package httpapitest

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// The demo people of the API's tests: person accounts for customers, a contact for a
// representative of Jane, and two accounts that share a phone number.
const (
	JaneID   = "001000000000001AAA"
	AhmedID  = "001000000000002AAA"
	SamID    = "001000000000003AAA"
	KimID    = "001000000000004AAA"
	RobertID = "003000000000001AAA"

	JanePhone   = "+44 20 7946 0001"
	RobertPhone = "07700 900123"
	SharedPhone = "+44 20 7946 0005"
	NobodyPhone = "+44 20 7946 0999"
)

// PersonalData are the demo people's values (and forms of them), which no log line, kept
// answer or printed output beyond what a question reveals may hold. Numbers are given whole:
// a prefix such as "07700" turns up in a log line's elapsed nanoseconds by chance.
var PersonalData = []string{"Jane", "Smith", "1980-03-14", "14/03/1980", "March 14", "+44 20 7946", "SW1A", "sw1a",
	"London", "Ahmed", "Khan", "Robert", "Brown", "1962-07-21", "21 July 1962", "07700 900123", "07700900123", "M1 1AE", "Manchester", "Sam Lee",
	"Kim Lee", "Smith Ltd", "jane@example.com"}

// The API keys the demo server takes.
const (
	SoftphoneKey = "sk_test_softphone_0123456789abcdef0123456789"
	OpsKey       = "sk_test_ops_0123456789abcdef0123456789abcdef"
)

// DemoPeople returns the demo people and Robert's power of attorney for Jane.
func DemoPeople() ([]flowstest.Person, []flowstest.Relation) {
	account := func(id, name, birth, phone, postcode string) flowstest.Person {
		return flowstest.Person{Ref: flows.Ref{Object: "Account", ID: id}, Fields: map[string]string{"Name": name,
			"PersonBirthdate": birth, "Phone": phone, "PersonMailingPostalCode": postcode, "PersonMailingCity": "London"}}
	}
	return []flowstest.Person{
			account(JaneID, "Jane Smith", "1980-03-14", JanePhone, "SW1A 1AA"),
			account(AhmedID, "Ahmed Khan", "1975-11-02", "+44 20 7946 0002", "E1 6AN"),
			account(SamID, "Sam Lee", "1990-01-01", SharedPhone, "N1 9GU"),
			account(KimID, "Kim Lee", "1991-02-02", SharedPhone, "N1 9GU"),
			{Ref: flows.Ref{Object: "Contact", ID: RobertID}, Fields: map[string]string{"Name": "Robert Brown", "LastName": "Brown",
				"Birthdate": "1962-07-21", "MobilePhone": RobertPhone, "MailingPostalCode": "M1 1AE", "MailingCity": "Manchester"}},
		}, []flowstest.Relation{
			{Representative: RobertID, Customer: JaneID, Roles: []string{"Power of Attorney"}, Active: true},
		}
}

// DemoPolicy is a person-account text search in check mode ("person"), the same in attest mode
// with expected values revealed ("branch": the birth date masked, the postcode in full), a
// representative's object search on Contact linked to a customer search; three wrong answers
// lock a person for 30 minutes.
func DemoPolicy() flows.Policy {
	check := func(field string, rule flows.MatchRule) flows.Verifier {
		return flows.Verifier{Field: field, Label: "What is your " + field + "?", Match: rule, Mode: flows.ModeCheck}
	}
	return flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}, {Name: "Opening hours"}},
		SearchTypes: []flows.SearchType{
			{Name: "person", Label: "Person account", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name", "PersonMailingCity"},
				Required:     []flows.Verifier{check("PersonBirthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("PersonMailingPostalCode", flows.MatchPostalCode), check("Phone", flows.MatchPhone)},
				OptionalMin:  1},
			{Name: "branch", Label: "In the branch", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name"},
				Required: []flows.Verifier{
					{Field: "PersonBirthdate", Label: "Date of birth", Mode: flows.ModeAttest, Reveal: flows.RevealMasked},
					{Field: "PersonMailingPostalCode", Label: "Postcode", Mode: flows.ModeAttest, Reveal: flows.RevealFull}}},
			{Name: "representative", Object: "Contact", Search: flows.SearchObject, SearchFields: []string{"LastName", "MailingCity"},
				ResultFields: []string{"Name"},
				Required:     []flows.Verifier{check("Birthdate", flows.MatchDate)},
				Optional:     []flows.Verifier{check("MobilePhone", flows.MatchPhone)},
				OptionalMin:  1, Linked: "customer"},
			{Name: "customer", Object: "Account", Search: flows.SearchText, SearchFields: []string{"Name"},
				ResultFields: []string{"Name"},
				Required:     []flows.Verifier{check("PersonBirthdate", flows.MatchDate)},
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

// Demo is the API on an engine over in-memory ports holding the demo people and policy,
// served by httptest: what a client of the API (the e2e tests, `idverify verify`) is tested
// against without Salesforce.
type Demo struct {
	// URL is the server's base URL; it takes SoftphoneKey and, for admin endpoints, OpsKey.
	URL    string
	Engine *flows.Engine
	CRM    *flowstest.CRM
	Store  *flowstest.Store
	Clock  *flowstest.Clock
}

// NewDemo starts a Demo whose clock stands at now, logging to logs (nil discards the logs);
// it stops when t ends.
func NewDemo(t testing.TB, now time.Time, logs io.Writer) *Demo {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	people, relations := DemoPeople()
	d := &Demo{CRM: flowstest.NewCRM(people, relations), Store: &flowstest.Store{}, Clock: flowstest.NewClock(now)}
	var err error
	d.Engine, err = flows.New(DemoPolicy(), flows.Ports{CRM: d.CRM, Recorder: d.CRM, Store: d.Store, Clock: d.Clock},
		[]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	api, err := httpapi.New(httpapi.Config{Engine: d.Engine, Store: d.Store, Idempotency: &Idempotency{}, Engagements: d.CRM,
		Clock: d.Clock, Keys: []httpapi.APIKey{{Name: "softphone", SHA256: httpapi.HashKey(SoftphoneKey)},
			{Name: "ops", SHA256: httpapi.HashKey(OpsKey), Admin: true}},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	d.URL = srv.URL
	return d
}
