package httpapi

import (
	"slices"
	"time"

	"github.com/idverify/idverify/flows"
)

// What the JSON of a session holds: flows.View in snake_case, with what the agent may do next.

type refJSON struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

func refOf(r flows.Ref) *refJSON {
	if r.IsZero() {
		return nil
	}
	return &refJSON{Object: r.Object, ID: r.ID}
}

// sessionJSON is a session as the agent may see it after a step.
type sessionJSON struct {
	Session     string         `json:"session"`
	Version     uint64         `json:"version"`
	State       string         `json:"state"`
	Outcome     string         `json:"outcome,omitempty"`
	Cause       string         `json:"cause,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	Subject     string         `json:"subject,omitempty"`
	Level       string         `json:"level"`
	Engagement  string         `json:"engagement"`
	Initiating  *refJSON       `json:"initiating,omitempty"`
	PhoneMatch  string         `json:"phone_match,omitempty"`
	SearchType  string         `json:"search_type,omitempty"`
	Results     []resultJSON   `json:"results,omitempty"`
	MoreResults bool           `json:"more_results,omitempty"`
	Record      *refJSON       `json:"record,omitempty"`
	Questions   []questionJSON `json:"questions,omitempty"`
	OptionalMin int            `json:"optional_min"`
	RetriesLeft int            `json:"retries_left"`
	LockedUntil *time.Time     `json:"locked_until,omitempty"`
	Open        *refJSON       `json:"open,omitempty"`
	Verified    []refJSON      `json:"verified,omitempty"`
	Updated     time.Time      `json:"updated"`
	Expires     *time.Time     `json:"expires,omitempty"`
	Next        nextJSON       `json:"next"`
}

type resultJSON struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	// Values are the search type's result fields, in order; only in the answer to a search.
	Values     []string `json:"values,omitempty"`
	PhoneMatch bool     `json:"phone_match,omitempty"`
}

type questionJSON struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	Mode     string `json:"mode"`
	Verdict  string `json:"verdict"`
	Rule     string `json:"rule,omitempty"`
	Expected string `json:"expected,omitempty"`
}

// nextJSON is what the agent may do next: the steps the session takes, and the choices of the
// step it expects.
type nextJSON struct {
	Steps       []string         `json:"steps"`
	Reasons     []reasonJSON     `json:"reasons,omitempty"`
	Subjects    []string         `json:"subjects,omitempty"`
	SearchTypes []searchTypeJSON `json:"search_types,omitempty"`
}

type reasonJSON struct {
	Name         string `json:"name"`
	Confidential bool   `json:"confidential"`
}

type searchTypeJSON struct {
	Name         string   `json:"name"`
	Label        string   `json:"label"`
	Object       string   `json:"object"`
	Search       string   `json:"search"`
	SearchFields []string `json:"search_fields"`
	ResultFields []string `json:"result_fields"`
}

// The names of the steps, as the paths under /v1/sessions/{id}/ name them.
const (
	stepReason        = "reason"
	stepSubject       = "subject"
	stepSearch        = "search"
	stepSelect        = "select"
	stepAnswers       = "answers"
	stepAttestations  = "attestations"
	stepNotIdentified = "not-identified"
	stepCancel        = "cancel"
)

func (a *API) sessionJSON(v flows.View) sessionJSON {
	s := sessionJSON{
		Session: v.Session, Version: v.Version, State: v.State.String(), Reason: v.Reason,
		Level: v.Level.String(), Engagement: v.Engagement, Initiating: refOf(v.Initiating),
		SearchType: v.SearchType, MoreResults: v.MoreResults, Record: refOf(v.Record),
		OptionalMin: v.OptionalMin, RetriesLeft: v.RetriesLeft, Open: refOf(v.Open), Updated: v.Updated.UTC(),
		Next: a.next(v),
	}
	if v.Outcome != flows.OutcomeNone {
		s.Outcome = v.Outcome.String()
	}
	if v.Cause != flows.CauseNone {
		s.Cause = v.Cause.String()
	}
	if v.Subject != flows.SubjectNone {
		s.Subject = v.Subject.String()
	}
	if v.PhoneMatch != 0 {
		s.PhoneMatch = v.PhoneMatch.String()
	}
	for _, r := range v.Results {
		s.Results = append(s.Results, resultJSON{Object: r.Object, ID: r.ID, Values: r.Values, PhoneMatch: r.PhoneMatch})
	}
	for _, q := range v.Questions {
		qj := questionJSON{Field: q.Field, Label: q.Label, Required: q.Required, Mode: string(q.Mode),
			Verdict: q.Verdict.String(), Rule: string(q.Rule), Expected: q.Expected}
		if qj.Mode == "" {
			qj.Mode = string(flows.ModeAttest)
		}
		s.Questions = append(s.Questions, qj)
	}
	if !v.LockedUntil.IsZero() {
		t := v.LockedUntil.UTC()
		s.LockedUntil = &t
	}
	for _, r := range v.Verified {
		s.Verified = append(s.Verified, refJSON{Object: r.Object, ID: r.ID})
	}
	if !v.Expires.IsZero() {
		t := v.Expires.UTC()
		s.Expires = &t
	}
	return s
}

// stripPersonal removes from s what is personal data the agent may see but idverify does not
// keep: the values of search results and the expected values revealed for attestation. It
// reports whether it removed anything. s's slices are copied first: the answer shares them.
func stripPersonal(s *sessionJSON) bool {
	s.Results, s.Questions = slices.Clone(s.Results), slices.Clone(s.Questions)
	stripped := false
	for i := range s.Results {
		if s.Results[i].Values != nil {
			s.Results[i].Values, stripped = nil, true
		}
	}
	for i := range s.Questions {
		if s.Questions[i].Expected != "" {
			s.Questions[i].Expected, stripped = "", true
		}
	}
	return stripped
}

// next is what the agent may do in v's state, with the choices of the step it expects: the
// engine decides each step again, this only tells.
func (a *API) next(v flows.View) nextJSON {
	n := nextJSON{Steps: []string{}}
	p := &a.policy
	switch v.State {
	case flows.StateReason:
		n.Steps = []string{stepReason, stepCancel}
		for _, r := range p.Reasons {
			n.Reasons = append(n.Reasons, reasonJSON{Name: r.Name, Confidential: r.Confidential})
		}
	case flows.StateSubject:
		n.Steps = []string{stepSubject, stepCancel}
		n.Subjects = []string{flows.SubjectSelf.String(), flows.SubjectOther.String()}
		for _, st := range SearchTypesFor(p, v) {
			n.SearchTypes = append(n.SearchTypes, searchTypeOf(st))
		}
	case flows.StateSearch, flows.StateSelect:
		n.Steps = []string{stepSearch, stepNotIdentified, stepCancel}
		if v.State == flows.StateSelect {
			n.Steps = []string{stepSelect, stepSearch, stepNotIdentified, stepCancel}
		}
		for _, st := range SearchTypesFor(p, v) {
			n.SearchTypes = append(n.SearchTypes, searchTypeOf(st))
		}
	case flows.StateQuestions:
		check, attest := false, false
		for _, q := range v.Questions {
			if q.Verdict == flows.VerdictPending {
				check = check || q.Mode == flows.ModeCheck
				attest = attest || q.Mode != flows.ModeCheck
			}
		}
		if check {
			n.Steps = append(n.Steps, stepAnswers)
		}
		if attest {
			n.Steps = append(n.Steps, stepAttestations)
		}
		n.Steps = append(n.Steps, stepCancel)
	}
	return n
}

// SearchTypesFor returns the search types of p the agent may pick in v's state: at the subject,
// those of a known caller's object (the questions of a caller about themself); at a search,
// every one for the caller about themself, the representatives' (those with a linked customer
// search type) for someone calling for another, and the linked one at the customer level.
// None in other states. The engine decides each step again; this only tells.
func SearchTypesFor(p *flows.Policy, v flows.View) []*flows.SearchType {
	var out []*flows.SearchType
	for i := range p.SearchTypes {
		st := &p.SearchTypes[i]
		switch v.State {
		case flows.StateSubject:
			if !v.Initiating.IsZero() && st.Object == v.Initiating.Object {
				out = append(out, st)
			}
		case flows.StateSearch, flows.StateSelect:
			switch {
			case v.Level == flows.LevelCustomer && st.Name != v.SearchType:
			case v.Level == flows.LevelCaller && v.Subject == flows.SubjectOther && st.Linked == "":
			default:
				out = append(out, st)
			}
		}
	}
	return out
}

func searchTypeOf(st *flows.SearchType) searchTypeJSON {
	search := string(st.Search)
	if search == "" {
		search = string(flows.SearchText)
	}
	return searchTypeJSON{Name: st.Name, Label: st.DisplayLabel(), Object: st.Object, Search: search,
		SearchFields: nonNil(st.SearchFields), ResultFields: nonNil(st.ResultFields)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
