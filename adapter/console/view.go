package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
)

// sessionPage is a session's screen: the engine's View, with the choices of its step and
// what the agent reads, in their time zone.
type sessionPage struct {
	Title   string
	Handle  string
	Version uint64
	V       flows.View
	// Progress is the source process's steps, the current one marked.
	Progress []progressStep
	// Customer says the current level is the customer's (a verified representative's
	// customer).
	Customer    bool
	Reasons     []flows.Reason
	SubjectSTs  []*flows.SearchType // the question sets a known caller about themself may pick
	Searches    []searchForm
	ResultCols  []string
	Results     []resultRow
	MoreResults bool
	ResultsLost bool
	Questions   []questionRow
	Pending     bool // some question waits for an answer
	// NotIdentified is the label of the button that ends the session "not identified".
	NotIdentified string
	Expires       string
	LockedUntil   string
	Outcome       string // the result's heading
	RecordURL     string // the verified record (or the new Lead) in Salesforce
	InitiatingURL string
	Verified      []statusPerson
}

type progressStep struct {
	Label   string
	Current bool
	Done    bool
}

type searchForm struct {
	Name, Label string
	Text        bool
	Fields      []string
}

type resultRow struct {
	ID, Object string
	Values     []string
	PhoneMatch bool
	Label      string // for the radio button: the first value, or the id
}

type questionRow struct {
	Field, Label string
	Required     bool
	Check        bool
	Pending      bool
	Verdict      string // what the agent sees of an answered one
	Expected     string
	Rule         string
}

var progressLabels = []string{"Reason", "About whom", "Search", "Questions", "Result"}

func (c *Console) sessionPage(r *http.Request, v flows.View) *sessionPage {
	s := sessionOf(r.Context())
	loc := s.location()
	sp := &sessionPage{Handle: r.PathValue("handle"), Version: v.Version, V: v, Customer: v.Level == flows.LevelCustomer,
		Expires: when(v.Expires, loc), LockedUntil: when(v.LockedUntil, loc), InitiatingURL: c.recordURL(r, v.Initiating.ID)}
	current := map[flows.State]int{flows.StateReason: 0, flows.StateSubject: 1, flows.StateSearch: 2, flows.StateSelect: 2,
		flows.StateQuestions: 3, flows.StateDone: 4}[v.State]
	for i, l := range progressLabels {
		sp.Progress = append(sp.Progress, progressStep{Label: l, Current: i == current, Done: i < current})
	}
	who := "the caller"
	switch {
	case sp.Customer:
		who = "the customer"
	case v.Subject == flows.SubjectOther:
		who = "the representative"
	}
	sp.NotIdentified = strings.ToUpper(who[4:5]) + who[5:] + " not identified"
	switch v.State {
	case flows.StateReason:
		sp.Title, sp.Reasons = "Reason for the call", c.policy.Reasons
	case flows.StateSubject:
		sp.Title, sp.SubjectSTs = "Whom is the call about?", httpapi.SearchTypesFor(&c.policy, v)
	case flows.StateSearch, flows.StateSelect:
		sp.Title = "Find " + who
		for _, st := range httpapi.SearchTypesFor(&c.policy, v) {
			sp.Searches = append(sp.Searches, searchForm{Name: st.Name, Label: st.DisplayLabel(),
				Text: st.Search != flows.SearchObject, Fields: st.SearchFields})
		}
		if st := c.searchType(v.SearchType); st != nil {
			sp.ResultCols = st.ResultFields
		}
	case flows.StateQuestions:
		sp.Title = "Questions for " + who
	case flows.StateDone:
		sp.Title, sp.Outcome = "Result", outcomeTitle(v)
		if !v.Open.IsZero() {
			sp.RecordURL = c.recordURL(r, v.Open.ID)
		}
	}
	for _, q := range v.Questions {
		qr := questionRow{Field: q.Field, Label: q.Label, Required: q.Required, Check: q.Mode == flows.ModeCheck,
			Pending: q.Verdict == flows.VerdictPending, Expected: q.Expected, Rule: string(q.Rule)}
		switch q.Verdict {
		case flows.VerdictAnswered:
			qr.Verdict = "Answered"
		case flows.VerdictCorrect:
			qr.Verdict = "✓ Correct"
		case flows.VerdictIncorrect:
			qr.Verdict = "✗ Incorrect"
		}
		sp.Pending = sp.Pending || qr.Pending
		sp.Questions = append(sp.Questions, qr)
	}
	for i, ref := range v.Verified {
		role := "The caller"
		switch {
		case i > 0:
			role = "The customer"
		case v.Subject == flows.SubjectOther:
			role = "The representative"
		}
		sp.Verified = append(sp.Verified, statusPerson{Record: ref.ID, Role: role + " (" + ref.Object + ")", URL: c.recordURL(r, ref.ID)})
	}
	return sp
}

// setResults shows the rows of the session's last search.
func (sp *sessionPage) setResults(rows []flows.Row, more bool) {
	sp.MoreResults = more
	for _, row := range rows {
		rr := resultRow{ID: row.ID, Object: row.Object, Values: row.Values, PhoneMatch: row.PhoneMatch, Label: row.ID}
		if len(row.Values) > 0 && row.Values[0] != "" {
			rr.Label = row.Values[0]
		}
		sp.Results = append(sp.Results, rr)
	}
}

func outcomeTitle(v flows.View) string {
	switch v.Outcome {
	case flows.OutcomeVerified:
		return "Verified"
	case flows.OutcomeFailed:
		return "Verification failed"
	case flows.OutcomeLocked:
		return "Locked"
	case flows.OutcomeNotRequired:
		return "Verification not required"
	case flows.OutcomeCancelled:
		return "Cancelled"
	case flows.OutcomeExpired:
		return "Expired"
	case flows.OutcomeNotIdentified:
		if v.Level == flows.LevelCustomer {
			return "Customer not identified"
		}
		if v.Subject == flows.SubjectOther {
			return "Representative not identified"
		}
		return "Caller not identified"
	case flows.OutcomeNewCustomer:
		return "New customer"
	}
	return v.Outcome.String()
}

var funcs = template.FuncMap{
	"u64":  func(v uint64) string { return strconv.FormatUint(v, 10) },
	"path": url.PathEscape,
}
