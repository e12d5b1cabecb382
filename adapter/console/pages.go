package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
)

// page is what every template gets.
type page struct {
	Title   string
	Agent   *Agent
	CSRF    string
	Message string // a notice after a redirect (a fixed text, never a value)
	Alert   bool   // the notice is a problem
	Screen  string
	Start   *startPage
	S       *sessionPage
	Status  *statusPage
	Popup   string // the framed sign-in's pop-up URL
	Ticket  string // the pop-up's sign-in ticket for the frame
	// Framed: the page is a frame's, where browsers refuse a cross-origin frame's autofocus
	// (it would take the focus from the page around it): no autofocus then.
	Framed bool
}

func (c *Console) newPage(r *http.Request, title, screen string) *page {
	p := &page{Title: title, Screen: screen, Framed: inFrame(r)}
	if s := sessionOf(r.Context()); s != nil {
		p.Agent, p.CSRF = &s.Agent, s.CSRF
	}
	q := r.URL.Query()
	if m, ok := notices[q.Get("m")]; ok {
		p.Message, p.Alert = m.text, m.alert
		if until, err := strconv.ParseInt(q.Get("until"), 10, 64); err == nil && q.Get("m") == "locked" && p.Agent != nil {
			p.Message += " Locked until " + when(time.Unix(until, 0), p.Agent.location()) + "."
		}
	}
	return p
}

// notices are the messages a redirect names by code (?m=): fixed texts, so no value ever
// travels in a URL.
var notices = map[string]struct {
	text  string
	alert bool
}{
	"stale":        {"This session changed in another tab or window since you loaded it: here is where it is now. Check it, then continue.", true},
	"order":        {"That step no longer applies: the session has moved on. Here is where it is now.", true},
	"invalid":      {"Check what you entered: it could not be used.", true},
	"unknown":      {"Pick one of the choices offered.", true},
	"notinresults": {"Pick one of the results shown.", true},
	"noanswer":     {"Answer at least one question, or mark it as not known.", true},
	"notfound":     {"The record could not be found in Salesforce: it may have been deleted. Search again.", true},
	"unavailable":  {"Salesforce or the session store did not answer. Nothing was changed: try again.", true},
	"locked":       {"This person is locked after too many wrong answers: pick someone else, or stop processing the request.", true},
	"lost":         {"The results are no longer shown here (they are kept only for a few minutes). Search again.", true},
}

// startPage is the new engagement form, filled from a screen pop.
type startPage struct {
	Phone, Channel, CallID string
	Channels               []string
	Lead                   bool
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, c.newPage(r, "New engagement", "start"), &startPage{Channels: c.channels, Channel: c.channels[0]})
}

// startForm: GET /console/start?phone=…&channel=…&call_id=…, the screen pop of a softphone. It
// shows the new engagement form filled in; the agent starts it (a GET changes nothing).
func (c *Console) startForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp := &startPage{Phone: clip(q.Get("phone"), 40), Channel: clip(q.Get("channel"), 255), CallID: clip(q.Get("call_id"), 255),
		Channels: c.channels}
	if sp.Channel == "" {
		sp.Channel = c.channels[0]
	}
	c.render(w, r, http.StatusOK, c.newPage(r, "New engagement", "start"), sp)
}

// clip cuts s to n bytes, for a value shown back in a form (the engine refuses what is too long).
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// start: POST /console/start.
func (c *Console) start(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r.Context())
	f := r.PostForm
	req := flows.StartRequest{Actor: s.UserID, Agent: s.UserID, Phone: strings.TrimSpace(f.Get("phone")),
		ExternalID: strings.TrimSpace(f.Get("call_id")), Channel: f.Get("channel")}
	if f.Get("new_customer") != "" {
		req.Lead = &flows.Lead{FirstName: strings.TrimSpace(f.Get("first_name")), LastName: strings.TrimSpace(f.Get("last_name")),
			Company: strings.TrimSpace(f.Get("company")), Phone: req.Phone, Email: strings.TrimSpace(f.Get("email"))}
		if req.Lead.Company == "" {
			// Salesforce requires a Lead's Company; a private customer's is their name.
			req.Lead.Company = strings.TrimSpace(req.Lead.FirstName + " " + req.Lead.LastName)
		}
		req.Phone = ""
	}
	if st := f.Get("start_time"); st != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", st, s.location())
		if err != nil {
			c.startAgain(w, r, "invalid")
			return
		}
		req.StartTime = t
	}
	if req.Phone == "" && req.Lead == nil {
		c.startAgain(w, r, "invalid")
		return
	}
	v, err := c.engine.Start(r.Context(), req)
	if err != nil {
		c.startAgain(w, r, code(err))
		return
	}
	http.Redirect(w, r, c.sessionPath(v.Session, s.UserID), http.StatusSeeOther)
}

// startAgain answers the start form again, with a notice and what the agent entered. It
// renders rather than redirects: the phone number and call id the agent typed would otherwise
// travel in a URL, into browser history and access logs.
func (c *Console) startAgain(w http.ResponseWriter, r *http.Request, notice string) {
	f := r.PostForm
	sp := &startPage{Phone: clip(f.Get("phone"), 40), Channel: clip(f.Get("channel"), 255), CallID: clip(f.Get("call_id"), 255),
		Channels: c.channels}
	if sp.Channel == "" {
		sp.Channel = c.channels[0]
	}
	p := c.newPage(r, "New engagement", "start")
	p.Message, p.Alert = notices[notice].text, true
	status := http.StatusUnprocessableEntity
	if notice == "unavailable" {
		status = http.StatusServiceUnavailable
	}
	c.render(w, r, status, p, sp)
}

func (c *Console) sessionPath(session, user string) string {
	return "/console/s/" + c.sealHandle(session, user)
}

// code names the notice of a step's error.
func code(err error) string {
	switch {
	case errors.Is(err, flows.ErrVersionConflict):
		return "stale"
	case errors.Is(err, flows.ErrOutOfOrder), errors.Is(err, flows.ErrFinished), errors.Is(err, flows.ErrAlreadyAnswered),
		errors.Is(err, flows.ErrNotAsked), errors.Is(err, flows.ErrExpired):
		return "order"
	case errors.Is(err, flows.ErrUnknownReason), errors.Is(err, flows.ErrUnknownSearchType):
		return "unknown"
	case errors.Is(err, flows.ErrNotInResults):
		return "notinresults"
	case errors.Is(err, flows.ErrLocked):
		return "locked"
	case errors.Is(err, flows.ErrRecordNotFound):
		return "notfound"
	case errors.Is(err, flows.ErrInvalidInput):
		return "invalid"
	}
	return "unavailable"
}

// notice is the query of the redirect after err: its notice, and for a locked person when the
// lock lifts.
func notice(err error) string {
	q := url.Values{"m": {code(err)}}
	var le *flows.LockedError
	if errors.As(err, &le) && !le.Until.IsZero() {
		q.Set("until", strconv.FormatInt(le.Until.Unix(), 10))
	}
	return q.Encode()
}

// sessionFor returns the session id of the request's handle, answering 404 when it names none
// of the agent's.
func (c *Console) sessionFor(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := c.openHandle(r.PathValue("handle"), sessionOf(r.Context()).UserID)
	if !ok {
		c.fail(w, r, http.StatusNotFound, "There is no such session, or it is another agent's.")
	}
	return id, ok
}

// showSession: GET /console/s/{handle}, the screen of the session's current step.
func (c *Console) showSession(w http.ResponseWriter, r *http.Request) {
	id, ok := c.sessionFor(w, r)
	if !ok {
		return
	}
	v, err := c.engine.Get(r.Context(), id)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, "This session no longer exists. Start a new engagement.")
		return
	case errors.Is(err, flows.ErrExpired):
		v, err = c.engine.Get(r.Context(), id) // it now has its outcome
	}
	if err != nil {
		c.log.WarnContext(r.Context(), "session not read", "kind", kindOf(err))
		c.fail(w, r, http.StatusServiceUnavailable, "Salesforce or the session store did not answer. Reload the page to try again.")
		return
	}
	sp := c.sessionPage(r, v)
	if v.State == flows.StateSelect {
		rows, more, ok := c.results.get(c.clock.Now(), id, v.Version)
		if ok {
			sp.setResults(rows, more)
		} else {
			sp.ResultsLost = true
		}
	}
	p := c.newPage(r, sp.Title, "session")
	c.render(w, r, http.StatusOK, p, sp)
}

// maxAnswers bounds the questions a form answers: a level asks a handful.
const maxAnswers = 32

// step: POST /console/s/{handle}/{step}: one step of the engine, then back to the session's
// page (POST-redirect-GET). Every form names the version it was shown at.
func (c *Console) step(w http.ResponseWriter, r *http.Request) {
	id, ok := c.sessionFor(w, r)
	if !ok {
		return
	}
	s := sessionOf(r.Context())
	f := r.PostForm
	version, err := strconv.ParseUint(f.Get("version"), 10, 64)
	if err != nil || version == 0 {
		c.fail(w, r, http.StatusBadRequest, "The form does not say which version of the session it acts on. Reload the page.")
		return
	}
	ctx, actor := r.Context(), s.UserID
	var v flows.View
	switch r.PathValue("step") {
	case "reason":
		v, err = c.engine.SetReason(ctx, flows.ReasonRequest{Actor: actor, Session: id, Version: version, Reason: f.Get("reason")})
	case "subject":
		subj := map[string]flows.Subject{"self": flows.SubjectSelf, "other": flows.SubjectOther}[f.Get("subject")]
		v, err = c.engine.SetSubject(ctx, flows.SubjectRequest{Actor: actor, Session: id, Version: version, Subject: subj,
			SearchType: f.Get("search_type")})
	case "search":
		v, err = c.search(ctx, actor, id, version, f)
	case "select":
		v, err = c.engine.Select(ctx, flows.SelectRequest{Actor: actor, Session: id, Version: version, Record: f.Get("record")})
	case "answers":
		v, err = c.answer(ctx, actor, id, version, f)
	case "not-identified":
		v, err = c.engine.NotIdentified(ctx, flows.NotIdentifiedRequest{Actor: actor, Session: id, Version: version})
	case "cancel":
		v, err = c.engine.Cancel(ctx, flows.CancelRequest{Actor: actor, Session: id, Version: version})
	default:
		c.fail(w, r, http.StatusNotFound, "There is no such step.")
		return
	}
	if err != nil {
		if errors.Is(err, errNoAnswer) {
			http.Redirect(w, r, "/console/s/"+r.PathValue("handle")+"?m=noanswer", http.StatusSeeOther)
			return
		}
		if kind := code(err); kind == "unavailable" {
			c.log.WarnContext(ctx, "step failed", "step", r.PathValue("step"), "kind", kindOf(err))
		}
		http.Redirect(w, r, "/console/s/"+r.PathValue("handle")+"?"+notice(err), http.StatusSeeOther)
		return
	}
	if v.State != flows.StateSelect {
		c.results.drop(id)
	}
	http.Redirect(w, r, "/console/s/"+r.PathValue("handle"), http.StatusSeeOther)
}

// kindOf names an engine error's kind for a log line: never its text.
func kindOf(err error) string {
	var se *flows.StepError
	if errors.As(err, &se) && se.Kind != nil {
		return se.Kind.Error()
	}
	return "other"
}

func (c *Console) search(ctx context.Context, actor, id string, version uint64, f url.Values) (flows.View, error) {
	st := c.searchType(f.Get("search_type"))
	if st == nil {
		return flows.View{}, &flows.StepError{Step: "search", Kind: flows.ErrUnknownSearchType}
	}
	q := flows.Query{}
	if st.Search == flows.SearchObject {
		q.Fields = map[string]string{}
		for _, name := range st.SearchFields {
			if v := strings.TrimSpace(f.Get("field_" + name)); v != "" {
				q.Fields[name] = v
			}
		}
	} else {
		q.Keywords = strings.TrimSpace(f.Get("keywords"))
	}
	v, err := c.engine.Search(ctx, flows.SearchRequest{Actor: actor, Session: id, Version: version, SearchType: st.Name, Query: q})
	if err == nil {
		c.results.put(c.clock.Now(), id, v.Version, v.Results, v.MoreResults)
	}
	return v, err
}

func (c *Console) searchType(name string) *flows.SearchType {
	for i := range c.policy.SearchTypes {
		if c.policy.SearchTypes[i].Name == name {
			return &c.policy.SearchTypes[i]
		}
	}
	return nil
}

var errNoAnswer = errors.New("console: no answer given")

// answer sends the questions' form to the engine: the check-mode answers, then the attest-mode
// verdicts, each only when given. When the first decides the level, the second is not sent.
func (c *Console) answer(ctx context.Context, actor, id string, version uint64, f url.Values) (flows.View, error) {
	var answers []flows.Answer
	var atts []flows.Attestation
	fields := f["q"]
	if len(fields) > maxAnswers {
		fields = fields[:maxAnswers]
	}
	for _, field := range fields {
		switch mark := f.Get("a_" + field); {
		case f.Get("dk_"+field) != "": // check mode, "doesn't know" (the script disables the answer's input)
			answers = append(answers, flows.Answer{Field: field, DontKnow: true})
		case f.Has("v_" + field): // check mode: a value (none leaves the question for later)
			if value := strings.TrimSpace(f.Get("v_" + field)); value != "" {
				answers = append(answers, flows.Answer{Field: field, Value: value})
			}
		case mark == "correct", mark == "incorrect", mark == "dontknow":
			atts = append(atts, flows.Attestation{Field: field, Correct: mark == "correct", DontKnow: mark == "dontknow"})
		}
	}
	if len(answers) == 0 && len(atts) == 0 {
		return flows.View{}, errNoAnswer
	}
	var v flows.View
	var err error
	if len(answers) > 0 {
		v, err = c.engine.Answer(ctx, flows.AnswerRequest{Actor: actor, Session: id, Version: version, Answers: answers})
		if err != nil || len(atts) == 0 || v.State != flows.StateQuestions {
			return v, err
		}
		version = v.Version
	}
	return c.engine.Attest(ctx, flows.AttestRequest{Actor: actor, Session: id, Version: version, Attestations: atts})
}

var recordID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

// statusPage is an engagement's verified status.
type statusPage struct {
	Name       string // as the agent gave it
	ID         string // the Salesforce id, when the agent gave one: the session may attach to it
	Status     httpapi.EngagementStatus
	People     []statusPerson
	NotFound   bool
	CanAttach  bool
	RecordBase string
}

type statusPerson struct {
	Record, Role, Level, VerifiedAt, ValidUntil, URL string
}

// engagement: GET /console/engagements/{id}: who was verified on an engagement (a transferred
// call), by its Salesforce id (15 or 18 letters and digits) or else its ExternalIdentifier
// (the CTI call id).
func (c *Console) engagement(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("id")
	sp := &statusPage{Name: name}
	var ext, id string
	if len(name) > 255 {
		c.fail(w, r, http.StatusNotFound, "That is no engagement's id or call id.")
		return
	}
	if recordID.MatchString(name) {
		id, sp.ID, sp.CanAttach = name, name, true
	} else {
		ext = name
	}
	st, err := httpapi.ReadEngagementStatus(r.Context(), c.engine, c.engagements, ext, id)
	switch {
	case errors.Is(err, flows.ErrRecordNotFound):
		sp.NotFound, sp.CanAttach = true, false
	case err != nil:
		c.log.WarnContext(r.Context(), "engagement status not read", "kind", kindOf(err))
		c.fail(w, r, http.StatusServiceUnavailable, "Salesforce or the session store did not answer. Reload the page to try again.")
		return
	}
	sp.Status = st
	loc := sessionOf(r.Context()).location()
	for _, p := range st.People {
		sp.People = append(sp.People, statusPerson{Record: p.Record, Role: p.Role, Level: p.Level,
			VerifiedAt: when(p.VerifiedAt, loc), ValidUntil: when(p.ValidUntil, loc), URL: c.recordURL(r, p.Record)})
	}
	c.render(w, r, http.StatusOK, c.newPage(r, "Engagement status", "status"), sp)
}

// findEngagement: GET /console/engagements/?id=…, the lookup form of the home page.
func (c *Console) findEngagement(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" || len(id) > 255 {
		http.Redirect(w, r, "/console/?m=invalid", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/engagements/"+url.PathEscape(id), http.StatusSeeOther)
}

// continueEngagement: POST /console/engagements/{id}/continue: a session attached to the
// engagement (a transfer), which reuses who was verified on it.
func (c *Console) continueEngagement(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r.Context())
	id := r.PathValue("id")
	if !recordID.MatchString(id) {
		c.fail(w, r, http.StatusNotFound, "That is no engagement's id.")
		return
	}
	v, err := c.engine.Start(r.Context(), flows.StartRequest{Actor: s.UserID, Agent: s.UserID, Engagement: id})
	if err != nil {
		http.Redirect(w, r, "/console/engagements/"+url.PathEscape(id)+"?m="+code(err), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.sessionPath(v.Session, s.UserID), http.StatusSeeOther)
}

// recordURL links to record in Salesforce: the configured instance, else the agent's.
func (c *Console) recordURL(r *http.Request, record string) string {
	base := c.instance
	if base == "" {
		if s := sessionOf(r.Context()); s != nil {
			base = s.Instance
		}
	}
	if base == "" || !recordID.MatchString(record) {
		return ""
	}
	return base + "/" + record
}

// when shows t in loc, with its zone.
func when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// fail answers a page that says what went wrong, with status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	p := c.newPage(r, "Something went wrong", "error")
	p.Message, p.Alert = message, true
	c.render(w, r, status, p, nil)
}

// render answers the page's screen.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, p *page, data any) {
	switch d := data.(type) {
	case *startPage:
		p.Start = d
	case *sessionPage:
		p.S = d
	case *statusPage:
		p.Status = d
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages.ExecuteTemplate(w, "layout.html", p); err != nil {
		// The error may quote a value of the page: its type only.
		c.log.ErrorContext(r.Context(), "page not rendered", "screen", p.Screen, "type", fmt.Sprintf("%T", err))
	}
}
