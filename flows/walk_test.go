package flows_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// attempt is what the walk's oracle knows about one level's questions: the first verdict of
// every question answered, judged independently of the engine.
type attempt struct {
	level      flows.Level
	record     flows.Ref
	searchType string
	verdicts   map[string]bool
}

// satisfied reports whether the attempt's answers verify its person under p: every required
// question right and at least optional_min optional ones.
func (a *attempt) satisfied(p flows.Policy) bool {
	st, ok := p.SearchType(a.searchType)
	if !ok {
		return false
	}
	for _, v := range st.Required {
		if !a.verdicts[v.Field] {
			return false
		}
	}
	n := 0
	for _, v := range st.Optional {
		if a.verdicts[v.Field] {
			n++
		}
	}
	return n >= st.OptionalMin
}

// rightAnswers lists, for each demo person's question field, every answer the walk may give
// that is right, written out by hand: the walk's oracle judges answers with this table, not
// with the engine's normaliser, so a normaliser that accepts too much cannot agree with itself.
var rightAnswers = map[string][]string{
	janeID + "/Name":                     {"Jane Smith", "smith jane"},
	janeID + "/PersonBirthdate":          {"1980-03-14", "14/03/1980"},
	janeID + "/Phone":                    {"+44 20 7946 0001", "020 7946 0001"},
	janeID + "/PersonMailingPostalCode":  {"SW1A 1AA", "sw1a1aa"},
	ahmedID + "/Name":                    {"Ahmed Khan", "Khan Ahmed"},
	ahmedID + "/PersonBirthdate":         {"1975-11-02", "2 November 1975"},
	ahmedID + "/Phone":                   {"+44 20 7946 0002", "0044 20 7946 0002"},
	ahmedID + "/PersonMailingPostalCode": {"E1 6AN", "e1 6an"},
	robertID + "/Name":                   {"Robert Brown", "BROWN, Robert"},
	robertID + "/Birthdate":              {"1962-07-21", "July 21, 1962"},
	robertID + "/MobilePhone":            {"07700 900123", "+44 7700 900123"},
	robertID + "/MailingPostalCode":      {"M1 1AE", "m1 1ae"},
}

// TestRandomWalks drives thousands of sessions with random steps and random (often right)
// answers, from a fixed seed so that a failure can be replayed, and asserts that no walk
// verifies anyone unless every required question of every level was answered right and
// optional_min optional ones were, that a representative's session is verified only with both
// levels passed, that no person ever has more than max_failures failures within the window,
// that no verdict shows before its level is decided, and that no stored session holds
// personal data, whatever was typed into it.
func TestRandomWalks(t *testing.T) {
	walks := 4000
	if testing.Short() {
		walks = 500
	}
	r := rand.New(rand.NewPCG(20261125, 4))
	var answerValue func(record, field string) string
	people, _ := demoPeople()
	fields := map[string]map[string]string{}
	for _, p := range people {
		fields[p.ID] = p.Fields
	}
	policy := demoPolicy()
	policy.Session.MaxRetries = 1
	policy.Lockout.MaxFailures = 2
	// Make one question of each search type attested, so both answer modes are walked.
	policy.SearchTypes[0].Optional[1].Mode = flows.ModeAttest
	policy.SearchTypes[1].Optional[0].Mode = flows.ModeAttest
	allFields := []string{"Name", "PersonBirthdate", "Phone", "PersonMailingPostalCode", "Birthdate", "MobilePhone",
		"MailingPostalCode", "LastName"}

	// answerFor picks an answer for field of record: right as stored, right in another form,
	// wrong, malformed, or "doesn't know".
	answerFor := func(record, field string) flows.Answer {
		if r.IntN(15) == 0 {
			return flows.Answer{Field: field, DontKnow: true}
		}
		return flows.Answer{Field: field, Value: answerValue(record, field)}
	}
	answerValue = func(record, field string) string {
		right := fields[record][field]
		variants := map[string][]string{
			"Name":                    {"smith jane", "BROWN, Robert", "Khan Ahmed"},
			"PersonBirthdate":         {"14/03/1980", "2 November 1975"},
			"Birthdate":               {"July 21, 1962"},
			"Phone":                   {"020 7946 0001", "0044 20 7946 0002"},
			"MobilePhone":             {"+44 7700 900123"},
			"PersonMailingPostalCode": {"sw1a1aa", "e1 6an"},
			"MailingPostalCode":       {"m1 1ae"},
		}
		switch r.IntN(6) {
		case 0, 1:
			return right
		case 2:
			if v := variants[field]; len(v) > 0 {
				return v[r.IntN(len(v))]
			}
			return right
		case 3:
			return []string{"Jane Smith", "1980-03-14", "020 7946 0001", "SW1A 1AA", "Robert Brown", "1962-07-21"}[r.IntN(6)]
		case 4:
			return []string{"", " ", "x", "31/02/1980"}[r.IntN(4)]
		default:
			return []string{"John Doe", "1/1/1990", "01632 960000", "ZZ1 1ZZ"}[r.IntN(4)]
		}
	}

	verifiedWalks := 0
	for walk := range walks {
		h := newHarness(t, policy)
		starts := []flows.StartRequest{{Phone: noPhone}, {Phone: "020 7946 0001"}, {Phone: "07700 900123"},
			{Attendee: jane}, {Attendee: robert}, {Attendee: ahmed}}
		v, err := h.e.Start(h.ctx, starts[r.IntN(len(starts))])
		require.NoError(t, err)
		var current *attempt
		var passed []*attempt
		for range 10 + r.IntN(40) {
			var next flows.View
			var stepErr error
			var submitted []flows.Answer
			var attested []flows.Attestation
			kind := r.IntN(12)
			if r.IntN(10) < 7 { // mostly the step the state expects, so walks get somewhere
				kind = map[flows.State]int{flows.StateReason: 0, flows.StateSubject: 1, flows.StateSearch: 2,
					flows.StateSelect: 4, flows.StateQuestions: 6 + 3*r.IntN(2), flows.StateDone: 11}[v.State]
			}
			switch kind {
			case 0:
				next, stepErr = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session,
					Reason: []string{"Change of address", "Change of address", "Opening hours", "Lottery"}[r.IntN(4)]})
			case 1:
				next, stepErr = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.Subject(r.IntN(4))})
			case 2, 3:
				req := flows.SearchRequest{Session: v.Session,
					SearchType: []string{"person", "representative", "customer", "", "pets"}[r.IntN(5)]}
				if r.IntN(2) == 0 {
					req.Query.Keywords = []string{"Jane", "Smith", "Ahmed", "Khan", "J", ""}[r.IntN(6)]
				} else {
					req.Query.Fields = map[string]string{[]string{"LastName", "MailingPostalCode", "Name"}[r.IntN(3)]: []string{"Brown", "M1 1AE", ""}[r.IntN(3)]}
				}
				next, stepErr = h.e.Search(h.ctx, req)
			case 4, 5:
				id := []string{janeID, ahmedID, robertID, "001000000000009AAA"}[r.IntN(4)]
				if len(v.Results) > 0 && r.IntN(2) == 0 {
					id = v.Results[r.IntN(len(v.Results))].ID
				}
				next, stepErr = h.e.Select(h.ctx, flows.SelectRequest{Session: v.Session, Record: id})
			case 6, 7, 8:
				for range 1 + r.IntN(3) {
					f := allFields[r.IntN(len(allFields))]
					if len(v.Questions) > 0 && r.IntN(4) > 0 {
						f = v.Questions[r.IntN(len(v.Questions))].Field
					}
					submitted = append(submitted, answerFor(v.Record.ID, f))
				}
				next, stepErr = h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: submitted})
			case 9:
				f := allFields[r.IntN(len(allFields))]
				if len(v.Questions) > 0 {
					f = v.Questions[r.IntN(len(v.Questions))].Field
				}
				attested = append(attested, flows.Attestation{Field: f, Correct: r.IntN(3) > 0})
				next, stepErr = h.e.Attest(h.ctx, flows.AttestRequest{Session: v.Session, Attestations: attested})
			case 10:
				if r.IntN(10) == 0 {
					next, stepErr = h.e.Cancel(h.ctx, flows.CancelRequest{Session: v.Session})
				} else {
					h.clock.Advance(time.Duration(r.IntN(4)) * time.Minute)
					next, stepErr = h.e.Get(h.ctx, v.Session)
				}
			default:
				next, stepErr = h.e.Get(h.ctx, v.Session)
			}
			if stepErr != nil {
				var se *flows.StepError
				require.True(t, errors.As(stepErr, &se), "walk %d: an untyped error: %v", walk, stepErr)
				continue
			}
			// The oracle judges what the engine accepted.
			if current != nil {
				for _, a := range submitted {
					if _, seen := current.verdicts[a.Field]; !seen {
						current.verdicts[a.Field] = !a.DontKnow && slices.Contains(rightAnswers[current.record.ID+"/"+a.Field], a.Value)
					}
				}
				for _, a := range attested {
					if _, seen := current.verdicts[a.Field]; !seen {
						current.verdicts[a.Field] = a.Correct
					}
				}
			}
			if next.State == flows.StateQuestions {
				for _, q := range next.Questions {
					require.Contains(t, []flows.Verdict{flows.VerdictPending, flows.VerdictAnswered}, q.Verdict,
						"walk %d: a verdict shown before the level is decided", walk)
				}
			}
			if len(next.Verified) > len(v.Verified) {
				require.NotNil(t, current, "walk %d: verified without questions", walk)
				require.Equal(t, current.record, next.Verified[len(next.Verified)-1], "walk %d", walk)
				require.True(t, current.satisfied(policy), "walk %d: verified %v with answers %v", walk, current.record, current.verdicts)
				passed = append(passed, current)
			}
			if next.State == flows.StateQuestions && (current == nil || v.State != flows.StateQuestions ||
				next.Level != current.level || next.Record != current.record) {
				current = &attempt{level: next.Level, record: next.Record, searchType: next.SearchType, verdicts: map[string]bool{}}
			}
			if next.State != flows.StateQuestions && len(next.Verified) == len(v.Verified) && next.Level == v.Level {
				if next.State != v.State {
					current = nil
				}
			}
			v = next
		}
		assertNoPersonalData(t, h.store.Raw(v.Session), v.Session, v.Engagement)
		// The outbox and the audit are persisted too.
		queued, err := h.store.ListOutbox(h.ctx, 0, 0)
		require.NoError(t, err)
		audit, err := h.store.AuditByEngagement(h.ctx, v.Engagement)
		require.NoError(t, err)
		persisted, err := json.Marshal([]any{queued, audit})
		require.NoError(t, err)
		assertNoPersonalData(t, persisted, v.Session, v.Engagement)
		for _, id := range []string{janeID, ahmedID, robertID} {
			f, err := h.store.Failures(h.ctx, id, h.clock.Now().Add(-policy.Lockout.Window))
			require.NoError(t, err)
			require.LessOrEqual(t, len(f), policy.Lockout.MaxFailures, "walk %d: failures of %s", walk, id)
		}
		if v.Outcome == flows.OutcomeVerified {
			verifiedWalks++
			want := 1
			if v.Subject == flows.SubjectOther {
				want = 2
			}
			require.Len(t, passed, want, "walk %d", walk)
			require.Len(t, v.Verified, want, "walk %d", walk)
			for i, a := range passed {
				require.Equal(t, flows.Level(i), a.level, "walk %d", walk)
				require.True(t, a.satisfied(policy), "walk %d", walk)
			}
		}
	}
	t.Logf("%d of %d walks ended verified", verifiedWalks, walks)
	require.Greater(t, verifiedWalks, walks/100, "the walks must reach verified often enough to mean something")
}
