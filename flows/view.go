package flows

import (
	"slices"
	"time"
)

// View is what the agent may see of a session after a step. It holds expected values only as
// the verifiers' reveal settings allow, and only in attest mode; it is built for one response
// and never stored.
type View struct {
	Session string
	// Version is the session's version after the step; pass it back to detect concurrent steps.
	Version uint64
	State   State
	Outcome Outcome
	Cause   Cause
	Reason  string
	Subject Subject
	Level   Level
	// Engagement is the EngagementRef: the engagement's ExternalIdentifier (the CTI call id, or
	// the one idverify generated), or its Salesforce id when it has none. The engagement is
	// created by the write-back: until that is delivered it exists only under this name.
	Engagement string
	// Initiating is the initiating attendee, when known.
	Initiating Ref
	// PhoneMatch says how many records the phone lookup found, for a start by phone. With one
	// (trusted) it is the initiating attendee; with several (or one untrusted) the agent
	// searches and the results flag the matched records (Row.PhoneMatch).
	PhoneMatch PhoneMatch
	// SearchType is the current level's search type, once known.
	SearchType string
	// Results are the last search's results. Their Values are filled only in the response to
	// Search: a session remembers the ids only.
	Results []Row
	// MoreResults says the search found more rows than a session keeps (50): refine it.
	MoreResults bool
	// Record is the current level's selected person.
	Record Ref
	// Questions are the current level's questions, in order (required first), while they are
	// asked and once the session has ended, with their verdicts.
	Questions   []QuestionView
	OptionalMin int
	// RetriesLeft is how many more times a failed level may be retried in this session.
	RetriesLeft int
	// LockedUntil is when the lock lifts, for OutcomeLocked.
	LockedUntil time.Time
	// Open is the record to open once verified: the customer, or the caller about themself; for
	// OutcomeNewCustomer, the new Lead.
	Open Ref
	// Verified lists the people verified in this session: the caller, then the customer.
	Verified []Ref
	Updated  time.Time
	// Expires is when the session expires if no step comes first (zero once it has an outcome).
	Expires time.Time
}

// QuestionView is one question as the agent sees it.
type QuestionView struct {
	Field    string
	Label    string
	Required bool
	Mode     Mode
	// Verdict is VerdictAnswered while the verdict is withheld (see Policy.Verdicts).
	Verdict Verdict
	// Rule is the match rule that decided a check-mode verdict; empty for attest mode (the
	// agent decided), while pending and while withheld.
	Rule MatchRule
	// Expected is the expected value as the verifier's reveal setting allows it, for a pending
	// attest-mode question only: fetched from the CRM for each response, never stored.
	Expected string
}

// PhoneMatch is the outcome of the phone lookup of a start by phone.
type PhoneMatch uint8

// The phone lookup outcomes. The zero value: the session did not start by phone.
const (
	PhoneMatchNone PhoneMatch = iota + 1
	PhoneMatchOne
	PhoneMatchSeveral
)

var phoneMatchNames = [...]string{"", "none", "one", "several"}

func (m PhoneMatch) String() string {
	if int(m) < len(phoneMatchNames) {
		return phoneMatchNames[m]
	}
	return "invalid"
}

func (e *Engine) view(s *session, version uint64, out stepOut) View {
	rows, values := out.rows, out.values
	l := &s.levels[s.level]
	v := View{
		Session: s.id, Version: version, State: s.state, Outcome: s.outcome, Cause: s.cause,
		Reason: s.reason, Subject: s.subject, Level: s.level, Engagement: s.engagementRef(),
		Initiating: s.initiating, PhoneMatch: s.phoneMatch, SearchType: l.searchType, Record: l.record,
		OptionalMin: l.optionalMin, RetriesLeft: max(0, e.policy.Session.MaxRetries-s.retries),
		Updated: time.Unix(0, s.updated).UTC(),
	}
	if s.state != StateDone {
		v.Expires = v.Updated.Add(e.idle)
	}
	if s.lockedUntil != 0 {
		v.LockedUntil = time.Unix(0, s.lockedUntil).UTC()
	}
	if rows != nil {
		v.Results, v.MoreResults = maskResults(e.types[l.searchType], rows), out.truncated
	} else if len(l.results) > 0 && s.state == StateSelect {
		obj := ""
		if st := e.types[l.searchType]; st != nil {
			obj = st.Object
		}
		v.Results = make([]Row, len(l.results))
		for i, id := range l.results {
			v.Results[i] = Row{Ref: Ref{Object: obj, ID: id}}
		}
	}
	if s.level == LevelCaller && len(s.candidates) > 0 && len(v.Results) > 0 {
		if rows != nil {
			v.Results = slices.Clone(v.Results) // the rows may be the CRM's
		}
		for i := range v.Results {
			v.Results[i].PhoneMatch = slices.Contains(s.candidates, v.Results[i].ID)
		}
	}
	for i := range s.levels {
		if s.levels[i].passed {
			if v.Verified == nil {
				v.Verified = make([]Ref, 0, len(s.levels))
			}
			v.Verified = append(v.Verified, s.levels[i].record)
		}
	}
	switch {
	case s.outcome == OutcomeVerified && len(v.Verified) > 0:
		v.Open = v.Verified[len(v.Verified)-1]
	case s.outcome == OutcomeNewCustomer:
		v.Open = s.initiating
	}
	if len(l.questions) > 0 && (s.state == StateQuestions || s.state == StateDone) {
		st := e.types[l.searchType]
		shown := e.verdictsShown(s)
		v.Questions = make([]QuestionView, len(l.questions))
		for i := range l.questions {
			q := &l.questions[i]
			qv := QuestionView{Field: q.field, Label: q.field, Required: q.required, Mode: q.mode(), Verdict: q.verdict}
			if st != nil {
				qv.Label = label(st, i, q.field)
			}
			switch {
			case q.verdict == VerdictPending:
			case !shown:
				qv.Verdict = VerdictAnswered
			case q.mode() == ModeCheck:
				qv.Rule = q.match()
			}
			if q.mode() == ModeAttest && q.verdict == VerdictPending && values != nil {
				switch q.reveal() {
				case RevealFull:
					qv.Expected = values[q.field]
				case RevealMasked:
					qv.Expected = mask(q.match(), values[q.field])
				}
			}
			v.Questions[i] = qv
		}
	}
	return v
}

// verdictsShown reports whether the view shows the verdicts of the current level's answered
// questions: always with VerdictsImmediate; with VerdictsOnDecision only once the level was
// decided by its answers (passed, or failed by a wrong required answer or too few right
// optional ones). A level that ended otherwise (cancelled, expired, locked before it was
// decided) keeps them withheld, so that no verdict is learnt without the level being decided.
func (e *Engine) verdictsShown(s *session) bool {
	if e.policy.Verdicts == VerdictsImmediate {
		return true
	}
	if s.state != StateDone {
		return false
	}
	if s.levels[s.level].passed {
		return true
	}
	decided := s.cause == CauseRequiredIncorrect || s.cause == CauseTooFewOptional
	return decided && (s.outcome == OutcomeFailed || s.outcome == OutcomeLocked)
}

// label returns the display label of the question on field, which was st's i-th question when
// it was asked (the policy may have changed since); field itself when st no longer asks it.
func label(st *SearchType, i int, field string) string {
	if i < len(st.Required) && st.Required[i].Field == field {
		return st.Required[i].DisplayLabel()
	}
	if j := i - len(st.Required); j >= 0 && j < len(st.Optional) && st.Optional[j].Field == field {
		return st.Optional[j].DisplayLabel()
	}
	if j := slices.IndexFunc(st.Required, func(v Verifier) bool { return v.Field == field }); j >= 0 {
		return st.Required[j].DisplayLabel()
	}
	if j := slices.IndexFunc(st.Optional, func(v Verifier) bool { return v.Field == field }); j >= 0 {
		return st.Optional[j].DisplayLabel()
	}
	return field
}
