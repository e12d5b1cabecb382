package salesforce_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// TestAPICallBudget drives the engine end to end (flowstest's in-memory store, this adapter, the
// outbox delivered through it) against the fake org, and counts the API calls the org answered
// per scenario, logins and the once-per-process describes (Warm) excluded. Salesforce counts
// each against the org's daily limit. The same scenario written the naive way, one call per
// record read and per record written (simpleforce, as its users write it), is counted beside
// it. Counts are exact: the test fails when one exceeds its limit (issue 9: a CTI start with a
// registered number ≤ 2, a self verification ≤ 4, a representative's ≤ 6).
func TestAPICallBudget(t *testing.T) {
	type row struct {
		scenario          string
		ours, naive, want int64
	}
	var table []row
	for _, sc := range []struct {
		name  string
		limit int64
		tweak func(*salesforce.Options, *fakeorg.Options)
		run   func(d *drive, t testing.TB)
		naive func(n *naive, t testing.TB)
	}{
		{"CTI start, registered number", 2, nil, (*drive).ctiStart, (*naive).ctiStart},
		{"self verification, start to write-back", 4, nil, (*drive).self, (*naive).self},
		{"representative verification, start to write-back", 6, nil, (*drive).representative, (*naive).representative},
		{"representative verification, text search for the representative", 6, textRepresentativeSearch,
			(*drive).representativeByText, (*naive).representative},
		{"self verification, read-ahead off", 4, readAheadOff, (*drive).self, (*naive).self},
		{"representative verification, read-ahead off", 6, readAheadOff, (*drive).representative, (*naive).representative},
	} {
		t.Run(sc.name, func(t *testing.T) {
			var tweaks []func(*salesforce.Options, *fakeorg.Options)
			if sc.tweak != nil {
				tweaks = append(tweaks, sc.tweak)
			}
			d := newDrive(t, tweaks...)
			d.e.reset(t)
			sc.run(d, t)
			ours := cmpOr(d.calls, d.e.calls())

			n := newNaive(t, d.e)
			n.e.reset(t)
			sc.naive(n, t)
			naiveCalls := n.e.calls()

			t.Logf("%s: %d API calls (naive: %d)", sc.name, ours, naiveCalls)
			assert.LessOrEqual(t, ours, sc.limit, "over the budget")
			table = append(table, row{sc.name, ours, naiveCalls, sc.limit})
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| scenario | idverify | naive (simpleforce) | limit |\n|---|---|---|---|\n")
	for _, r := range table {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", r.scenario, r.ours, r.naive, r.want)
	}
	t.Log(b.String())
}

// The exact counts, so that a change that costs a call shows.
func TestAPICallCounts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tweak func(*salesforce.Options, *fakeorg.Options)
		run   func(d *drive, t testing.TB)
		want  int64
	}{
		{"CTI start", nil, (*drive).ctiStart, 1},
		{"self", nil, (*drive).self, 2},
		{"representative", nil, (*drive).representative, 4},
		{"representative, text search", textRepresentativeSearch, (*drive).representativeByText, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tweaks []func(*salesforce.Options, *fakeorg.Options)
			if tt.tweak != nil {
				tweaks = append(tweaks, tt.tweak)
			}
			d := newDrive(t, tweaks...)
			d.e.reset(t)
			tt.run(d, t)
			assert.Equal(t, tt.want, cmpOr(d.calls, d.e.calls()))
		})
	}
}

func cmpOr(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

func readAheadOff(o *salesforce.Options, _ *fakeorg.Options) { o.ReadAheadTTL = -1 }

// textRepresentativeSearch makes the representative's search type a text search.
func textRepresentativeSearch(o *salesforce.Options, _ *fakeorg.Options) {
	for i := range o.Policy.SearchTypes {
		if st := &o.Policy.SearchTypes[i]; st.Name == "representative" {
			st.Search, st.SearchFields = flows.SearchText, []string{"Name"}
		}
	}
}

// drive runs verifications through the engine and the adapter.
type drive struct {
	t      testing.TB
	e      *env
	engine *flows.Engine
	store  *flowstest.Store
	v      flows.View
	calls  int64 // the API calls made, when the write-back was delivered
	quick  bool  // skip reading back what was written (benchmarks)
}

func newDrive(t testing.TB, tweaks ...func(*salesforce.Options, *fakeorg.Options)) *drive {
	t.Helper()
	e := newEnv(t, tweaks...)
	store := &flowstest.Store{}
	engine, err := flows.New(e.opts.Policy, flows.Ports{CRM: e.a, Recorder: e.a, Store: store},
		[]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return &drive{t: t, e: e, engine: engine, store: store}
}

// step keeps the view of an engine step that must succeed.
func (d *drive) step(v flows.View, err error) {
	d.t.Helper()
	require.NoError(d.t, err)
	d.v = v
}

func (d *drive) start(t testing.TB, phone string) {
	d.step(d.engine.Start(context.Background(), flows.StartRequest{Actor: "budget", Phone: phone, Channel: "Voice Call"}))
}

func (d *drive) ctiStart(t testing.TB) {
	d.start(t, "+14155550101") // Alice's mobile
	assert.Equal(t, flows.PhoneMatchOne, d.v.PhoneMatch)
	assert.Equal(t, d.e.person(t, "alice"), d.v.Initiating)
}

func (d *drive) reason(t testing.TB) {
	d.step(d.engine.SetReason(ctx, flows.ReasonRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version,
		Reason: "Change of address"}))
}

func (d *drive) answer(t testing.TB, answers ...flows.Answer) {
	d.step(d.engine.Answer(ctx, flows.AnswerRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version, Answers: answers}))
}

// deliver delivers the outbox through the adapter, and checks what reached the org.
func (d *drive) deliver(t testing.TB, caller flows.Ref, role string) {
	t.Helper()
	require.Equal(t, flows.OutcomeVerified, d.v.Outcome)
	n, err := flowstest.Deliver(ctx, d.store, d.e.a, time.Now().Add(time.Minute))
	d.calls = d.e.calls() // before the checks below read the org
	if n != 1 {
		list, _ := d.store.ListOutbox(ctx, 0, 10)
		t.Logf("outbox: %+v", list)
	}
	require.NoError(t, err)
	require.Equal(t, 1, n)
	if d.quick {
		return
	}
	engs, topics, attendees := written(t, d.e, d.v.Engagement)
	require.Len(t, engs, 1)
	require.Len(t, topics, 1)
	require.Len(t, attendees, 1)
	assert.Equal(t, caller.ID, field(attendees[0], "ExternalAttendeeId"))
	assert.Equal(t, role, field(attendees[0], "Role"))
	assert.Equal(t, "true", field(engs[0], "IsAttendeeVerified"))
}

func (d *drive) self(t testing.TB) {
	d.ctiStart(t)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version,
		Subject: flows.SubjectSelf}))
	require.Equal(t, flows.StateQuestions, d.v.State)
	d.answer(t, flows.Answer{Field: "PersonBirthdate", Value: "12/04/1985"}, flows.Answer{Field: "PersonMobilePhone", Value: "+1 415 555 0101"})
	d.deliver(t, d.e.person(t, "alice"), flows.RoleSelf)
}

func (d *drive) representative(t testing.TB) {
	d.representativeWith(t, flows.Query{Fields: map[string]string{"LastName": "Chen"}})
}

func (d *drive) representativeByText(t testing.TB) {
	d.representativeWith(t, flows.Query{Keywords: "Julia Chen"})
}

// representativeWith: Julia calls from her mobile about Alice, whom she represents.
func (d *drive) representativeWith(t testing.TB, repQuery flows.Query) {
	julia, alice := d.e.person(t, "julia"), d.e.person(t, "alice")
	d.start(t, "+14155550202")
	require.Equal(t, julia, d.v.Initiating)
	d.reason(t)
	d.step(d.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version,
		Subject: flows.SubjectOther}))
	d.step(d.engine.Search(ctx, flows.SearchRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version,
		SearchType: "representative", Query: repQuery}))
	require.Len(t, d.v.Results, 1)
	d.step(d.engine.Select(ctx, flows.SelectRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version, Record: julia.ID}))
	d.answer(t, flows.Answer{Field: "Birthdate", Value: "19 August 1983"}, flows.Answer{Field: "MobilePhone", Value: "+1 415-555-0202"})
	require.Equal(t, flows.LevelCustomer, d.v.Level)
	require.Equal(t, flows.StateSearch, d.v.State, "the representative is verified")
	d.step(d.engine.Search(ctx, flows.SearchRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version,
		Query: flows.Query{Keywords: "Alice Martin"}}))
	require.Len(t, d.v.Results, 1)
	d.step(d.engine.Select(ctx, flows.SelectRequest{Actor: "budget", Session: d.v.Session, Version: d.v.Version, Record: alice.ID}))
	d.answer(t, flows.Answer{Field: "PersonBirthdate", Value: "1985-04-12"}, flows.Answer{Field: "PersonMobilePhone", Value: "+14155550101"})
	d.deliver(t, julia, flows.RoleOnBehalf)
}

// naive is the same scenarios as a simpleforce user writes them: a query per object for the
// phone, the engagement created at the start, a read per record, a write per row.
type naive struct {
	e  *env
	sf *simpleforce.Client
	id string // the engagement
}

func newNaive(t testing.TB, e *env) *naive {
	t.Helper()
	s := e.org.Session(t)
	sf := simpleforce.NewClient(e.org.URL(), simpleforce.DefaultClientID, "62.0")
	sf.SetSidLoc(s.AccessToken, s.InstanceURL)
	out := log.Writer()
	log.SetOutput(io.Discard) // simpleforce logs every update's answer
	t.Cleanup(func() { log.SetOutput(out) })
	return &naive{e: e, sf: sf}
}

func (n *naive) query(t testing.TB, soql string) *simpleforce.QueryResult {
	t.Helper()
	r, err := n.sf.Query(soql)
	require.NoError(t, err)
	return r
}

func (n *naive) get(t testing.TB, object, id string) {
	t.Helper()
	require.NotNil(t, n.sf.SObject(object).Get(id))
}

func (n *naive) ctiStart(t testing.TB) {
	n.query(t, "SELECT Id FROM Account WHERE Phone = '+14155550101' OR PersonMobilePhone = '+14155550101' OR PersonHomePhone = '+14155550101'")
	n.query(t, "SELECT Id FROM Contact WHERE Phone = '+14155550101' OR MobilePhone = '+14155550101' OR HomePhone = '+14155550101'")
	eng := n.sf.SObject("EngagementInteraction").Set("CommunicationChannel", "Voice Call").
		Set("StartDateTime", time.Now().UTC().Format("2006-01-02T15:04:05.000Z")).Set("Type", "Inbound").Create()
	require.NotNil(t, eng)
	n.id = eng.ID()
}

// writeBack updates the engagement and creates its two rows, one call each.
func (n *naive) writeBack(t testing.TB, caller, related flows.Ref, role string) {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	require.NotNil(t, n.sf.SObject("EngagementInteraction").Set("Id", n.id).Set("IsAttendeeVerified", true).
		Set("Reason", "Change of address").Update())
	require.NotNil(t, n.sf.SObject("EngagementAttendee").Set("EngagementId", n.id).Set("ExternalAttendeeId", caller.ID).
		Set("Role", role).Set("IsVerified", true).Set("StartDateTime", now).Create())
	require.NotNil(t, n.sf.SObject("EngagementTopic").Set("EngagementId", n.id).Set("Name", "Change of address").
		Set("RelatedPersonId", related.ID).Set("ProcessStatus", "Completed").Create())
}

func (n *naive) self(t testing.TB) {
	n.ctiStart(t)
	alice := n.e.person(t, "alice")
	n.get(t, "Account", alice.ID) // the verifier values
	n.writeBack(t, alice, alice, flows.RoleSelf)
}

func (n *naive) representative(t testing.TB) {
	n.ctiStart(t)
	julia, alice := n.e.person(t, "julia"), n.e.person(t, "alice")
	n.query(t, "SELECT Id, Name, MailingCity, Phone FROM Contact WHERE LastName LIKE 'Chen%'")
	n.get(t, "Contact", julia.ID)
	n.query(t, "SELECT Id, Name, PersonMailingCity, Phone FROM Account WHERE IsPersonAccount = true AND Name LIKE '%Alice Martin%'")
	n.query(t, "SELECT Id FROM AccountContactRelation WHERE ContactId = '"+julia.ID+"' AND AccountId = '"+alice.ID+"' AND IsActive = true")
	n.get(t, "Account", alice.ID)
	n.writeBack(t, julia, alice, flows.RoleOnBehalf)
}
