// Package terminal runs a verification in a terminal: it drives a session of idverify's /v1
// API (through apiclient, as any other client does) step by step, asking the agent each choice
// through a Prompter. Two prompters share the one flow, so a script answers the very prompts
// an agent sees: TUI (huh forms, for a terminal) and Script (one answer a line, for pipes and
// tests).
//
// It never writes what the caller answered: check-mode answers are typed masked and sent, and
// only the verdicts the API gives are shown. Expected values are shown as the API reveals them
// (attest-mode questions, as their reveal allows), search results as the search type's result
// fields.
package terminal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/idverify/adapter/httpapi/apiclient"
)

// Prompter asks the agent one thing at a time, and shows what the agent needs to know.
type Prompter interface {
	// Choose asks the agent to pick one of c.Options and returns its Value.
	Choose(ctx context.Context, c Choice) (string, error)
	// Ask asks the agent to type a value.
	Ask(ctx context.Context, q Question) (string, error)
	// Say shows a line of information: a heading, a result, an outcome.
	Say(kind SayKind, text string)
}

// Choice is a question with a fixed set of answers.
type Choice struct {
	Title, Note string
	Options     []Option
}

// Option is one answer of a Choice: Label is shown, Value returned. A script names an option
// by its Value, its Label or its number.
type Option struct{ Label, Value string }

// Question asks for typed text.
type Question struct {
	Title, Note string
	// Secret masks the input (check-mode answers).
	Secret bool
	// Optional lets the agent leave it empty (Default is then the answer).
	Optional bool
	Default  string
	// Validate, when set, checks a typed value (not an empty optional one): the TUI refuses
	// it as typed, a script stops at its line.
	Validate func(string) error
}

// SayKind tells a Prompter how to show a line.
type SayKind int

const (
	SayInfo    SayKind = iota // plain information
	SayHeading                // a new step or level
	SayGood                   // verified
	SayBad                    // failed, locked, an error the agent can act on
)

// ErrAborted is what a Prompter returns when the agent stops (Ctrl+C) or a script ends before
// the session does: the session is cancelled.
var ErrAborted = errors.New("stopped before the session ended")

// DontKnow is what the agent types for a check-mode question the caller cannot answer.
const DontKnow = "?"

// The values of the options every prompt may offer besides its own.
const (
	optCancel        = "cancel"
	optNotIdentified = "not-identified"
	optSearchAgain   = "search-again"
	optCorrect       = "correct"
	optIncorrect     = "incorrect"
	optDontKnow      = "dont-know"
	optSkip          = "skip"
)

// Result is how the session ended.
type Result struct {
	Session *apiclient.Session
	// Status is the engagement's verified status, read when the session ended verified.
	Status *apiclient.EngagementStatus
	// LockedUntil is set when the person was locked: the outcome locked, or a person the API
	// refused as locked at the subject or the select (the session then ended otherwise).
	LockedUntil *time.Time
}

// Exit statuses of `idverify verify`.
const (
	ExitVerified    = 0
	ExitNotVerified = 1 // failed, not identified, cancelled, expired, not required, new customer
	ExitLocked      = 2
	ExitError       = 3
)

// ExitCode is the exit status for r: ExitVerified, ExitLocked, or ExitNotVerified.
func (r Result) ExitCode() int {
	switch {
	case r.Session != nil && r.Session.Outcome == apiclient.OutcomeVerified:
		return ExitVerified
	case r.LockedUntil != nil:
		return ExitLocked
	}
	return ExitNotVerified
}

// Verify runs one session from start to its outcome, asking p for every choice.
func Verify(ctx context.Context, api *apiclient.Client, p Prompter, start Start) (Result, error) {
	v := &verifier{api: api, p: p}
	s, err := v.start(ctx, start)
	if err != nil {
		return Result{}, err
	}
	for s.State != apiclient.StateDone {
		next, err := v.step(ctx, s)
		switch {
		case apiclient.IsCode(err, apiclient.CodeVersionConflict), apiclient.IsCode(err, apiclient.CodeSessionExpired),
			apiclient.IsCode(err, apiclient.CodeSessionFinished):
			// Another agent or a retry moved the session, or it ended (idle too long): go on
			// from where it is.
			if next, err = api.Get(ctx, s.Session); err != nil {
				return v.result, err
			}
		case apiclient.IsCode(err, apiclient.CodePersonLocked):
			var pr *apiclient.Problem
			errors.As(err, &pr)
			v.result.LockedUntil = pr.LockedUntil
			p.Say(SayBad, "This person is locked after too many wrong answers"+until(pr.LockedUntil)+".")
			next = s // nothing changed: choose again
		case apiclient.IsCode(err, apiclient.CodeInvalidValue):
			var pr *apiclient.Problem
			errors.As(err, &pr)
			p.Say(SayBad, "Not accepted: "+strings.TrimSuffix(pr.Detail, ".")+". Nothing was counted; try again.")
			next = s
		case err != nil:
			// The agent stopped, the script went wrong or the server refused: the session
			// is not left open for someone else to take up.
			if c, cerr := api.Cancel(context.WithoutCancel(ctx), s.Session, apiclient.Step{Version: s.Version}); cerr == nil {
				v.show(ctx, c)
			}
			return v.result, err
		}
		s = next
	}
	v.show(ctx, s)
	return v.result, nil
}

type verifier struct {
	api    *apiclient.Client
	p      Prompter
	result Result
	// skipped are the optional questions of the current level the agent passed over, by
	// field; they are asked again once every other one has been.
	skipped map[string]bool
}

// step asks for and takes the next step of s.
func (v *verifier) step(ctx context.Context, s *apiclient.Session) (*apiclient.Session, error) {
	at := apiclient.Step{Version: s.Version, IdempotencyKey: newKey()}
	if s.State != apiclient.StateQuestions {
		v.skipped = nil // the next level's questions, or a retry's, start afresh
	}
	switch s.State {
	case apiclient.StateReason:
		c := Choice{Title: "Reason for the call"}
		for _, r := range s.Next.Reasons {
			label := r.Name
			if r.Confidential {
				label += " (needs verification)"
			}
			c.Options = append(c.Options, Option{label, r.Name})
		}
		reason, err := v.choose(ctx, s, c)
		if err != nil || reason == optCancel {
			return v.cancel(ctx, s, err)
		}
		return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) {
			return v.api.Reason(ctx, s.Session, apiclient.ReasonRequest{Step: at, Reason: reason})
		})
	case apiclient.StateSubject:
		subject, err := v.choose(ctx, s, Choice{Title: "Who is the call about?", Options: []Option{
			{"The caller themself", apiclient.SubjectSelf}, {"Someone else: the caller represents them", apiclient.SubjectOther}}})
		if err != nil || subject == optCancel {
			return v.cancel(ctx, s, err)
		}
		req := apiclient.SubjectRequest{Step: at, Subject: subject}
		if subject == apiclient.SubjectSelf && len(s.Next.SearchTypes) > 1 {
			c := Choice{Title: "Which questions?", Note: "the search type whose questions the caller is asked"}
			for _, st := range s.Next.SearchTypes {
				c.Options = append(c.Options, Option{st.Label, st.Name})
			}
			if req.SearchType, err = v.p.Choose(ctx, c); err != nil {
				return nil, err
			}
		}
		return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Subject(ctx, s.Session, req) })
	case apiclient.StateSearch, apiclient.StateSelect:
		return v.searchOrSelect(ctx, s)
	case apiclient.StateQuestions:
		return v.question(ctx, s)
	}
	return nil, fmt.Errorf("the session is in a state this client does not know: %q", s.State)
}

// choose asks c with the Cancel option added when the session takes it.
func (v *verifier) choose(ctx context.Context, s *apiclient.Session, c Choice) (string, error) {
	if s.Takes(apiclient.StepCancel) {
		c.Options = append(c.Options, Option{"Cancel the verification", optCancel})
	}
	return v.p.Choose(ctx, c)
}

// cancel cancels s, unless err says otherwise.
func (v *verifier) cancel(ctx context.Context, s *apiclient.Session, err error) (*apiclient.Session, error) {
	if err != nil {
		return nil, err
	}
	at := apiclient.Step{Version: s.Version, IdempotencyKey: newKey()}
	return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Cancel(ctx, s.Session, at) })
}

// sendTries is how many times a step is sent when its answer is lost on the way or the
// server asks to wait; maxWait bounds a wait the server asks for (Retry-After).
const (
	sendTries = 3
	maxWait   = time.Minute
)

// send sends a step, and sends it again with the same Idempotency-Key when its answer was lost
// on the way (the connection failed: not an answer of the server's; the server runs the step
// once and answers the repeat with the first answer, so a lost answer neither loses the step
// nor counts a wrong answer twice), when the first is still running, or when the server's rate
// limit asks to wait (a refused step ran nothing).
func (v *verifier) send(ctx context.Context, call func(context.Context) (*apiclient.Session, error)) (*apiclient.Session, error) {
	for try := 1; ; try++ {
		s, err := call(ctx)
		if err == nil || try == sendTries || ctx.Err() != nil {
			return s, err
		}
		wait := time.Duration(try) * 500 * time.Millisecond
		var p *apiclient.Problem
		switch {
		case !errors.As(err, &p):
			v.p.Say(SayBad, "No answer from the server; sending the step again.")
		case p.Code == apiclient.CodeIdempotencyInUse:
		case p.Code == apiclient.CodeRateLimited && p.RetryAfter <= maxWait:
			wait = p.RetryAfter
			v.p.Say(SayBad, fmt.Sprintf("Too many requests: waiting %s before sending the step again.", wait))
		default:
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// newKey returns a new Idempotency-Key.
func newKey() string { return "idv-term-" + rand.Text() }

// whom names the person the level is about.
func whom(s *apiclient.Session) string {
	switch {
	case s.Level == "customer":
		return "the customer"
	case s.Subject == apiclient.SubjectOther:
		return "the caller (as a representative)"
	}
	return "the caller"
}

func (v *verifier) searchOrSelect(ctx context.Context, s *apiclient.Session) (*apiclient.Session, error) {
	at := apiclient.Step{Version: s.Version, IdempotencyKey: newKey()}
	c := Choice{Title: "Find " + whom(s)}
	if s.State == apiclient.StateSelect {
		c.Title = "Pick " + whom(s)
		switch {
		case len(s.Results) == 0:
			c.Note = "The search found nobody."
		case s.MoreResults:
			c.Note = "More were found than shown: search again with more detail."
		}
		for _, r := range s.Results {
			var shown []string
			for _, val := range r.Values {
				if val != "" {
					shown = append(shown, val)
				}
			}
			label := strings.Join(shown, " · ")
			if label == "" {
				label = r.Object + " " + r.ID
			}
			if r.PhoneMatch {
				label += "  (the caller's number)"
			}
			c.Options = append(c.Options, Option{label, r.ID})
		}
		c.Options = append(c.Options, Option{"Search again", optSearchAgain})
	} else {
		for _, st := range s.Next.SearchTypes {
			c.Options = append(c.Options, Option{"Search: " + st.Label, st.Name})
		}
	}
	c.Options = append(c.Options, Option{"Not identified: cannot find them", optNotIdentified})
	picked, err := v.choose(ctx, s, c)
	switch {
	case err != nil || picked == optCancel:
		return v.cancel(ctx, s, err)
	case picked == optNotIdentified:
		return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.NotIdentified(ctx, s.Session, at) })
	case s.State == apiclient.StateSelect && picked != optSearchAgain:
		req := apiclient.SelectRequest{Step: at, Record: picked}
		return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Select(ctx, s.Session, req) })
	case picked == optSearchAgain:
		if picked, err = v.pickSearchType(ctx, s); err != nil {
			return nil, err
		}
	}
	var st *apiclient.SearchType
	for i := range s.Next.SearchTypes {
		if s.Next.SearchTypes[i].Name == picked {
			st = &s.Next.SearchTypes[i]
		}
	}
	if st == nil {
		return nil, fmt.Errorf("the session offers no search type %q", picked)
	}
	req := apiclient.SearchRequest{Step: at, SearchType: st.Name}
	if st.Search == apiclient.SearchObject {
		req.Fields = map[string]string{}
		for _, f := range st.SearchFields {
			val, err := v.p.Ask(ctx, Question{Title: f, Note: "empty to leave it out", Optional: true})
			if err != nil {
				return nil, err
			}
			if val = strings.TrimSpace(val); val != "" {
				req.Fields[f] = val
			}
		}
	} else {
		req.Keywords, err = v.p.Ask(ctx, Question{Title: "Search " + st.Label, Note: "keywords in " + strings.Join(st.SearchFields, ", ")})
		if err != nil {
			return nil, err
		}
	}
	return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Search(ctx, s.Session, req) })
}

// pickSearchType asks which search type to search again with, when there is a choice.
func (v *verifier) pickSearchType(ctx context.Context, s *apiclient.Session) (string, error) {
	if len(s.Next.SearchTypes) == 1 {
		return s.Next.SearchTypes[0].Name, nil
	}
	c := Choice{Title: "Search with"}
	for _, st := range s.Next.SearchTypes {
		c.Options = append(c.Options, Option{st.Label, st.Name})
	}
	return v.p.Choose(ctx, c)
}

// question asks the first pending question of the level the agent did not skip, and sends the
// answer alone, so that the level is decided as soon as its outcome is certain. An optional
// question may be skipped (the caller is not asked it, or not yet): nothing is sent for it.
func (v *verifier) question(ctx context.Context, s *apiclient.Session) (*apiclient.Session, error) {
	at := apiclient.Step{Version: s.Version, IdempotencyKey: newKey()}
	var q, first *apiclient.Question
	optional, pending := 0, 0
	for i := range s.Questions {
		if s.Questions[i].Verdict == apiclient.VerdictPending {
			pending++
			if first == nil {
				first = &s.Questions[i]
			}
			if q == nil && !v.skipped[s.Questions[i].Field] {
				q = &s.Questions[i]
			}
		}
		if !s.Questions[i].Required {
			optional++
		}
	}
	if first == nil {
		return nil, errors.New("the session asks questions but none is pending")
	}
	if q == nil { // every pending one was skipped: round again
		v.skipped, q = nil, first
	}
	if v.skipped == nil {
		v.skipped = map[string]bool{}
	}
	if pending == len(s.Questions) && len(v.skipped) == 0 { // a level's first question
		note := fmt.Sprintf("Questions for %s: every required one", whom(s))
		if optional > 0 {
			note += fmt.Sprintf(", and %d of the %d optional ones", s.OptionalMin, optional)
		}
		v.p.Say(SayHeading, note+".")
	}
	title := q.Label
	if !q.Required {
		title += " (optional)"
	}
	if q.Mode == apiclient.ModeCheck {
		note := "what the caller says (not shown); " + DontKnow + " if they don't know"
		if !q.Required {
			note += "; empty to skip"
		}
		answer, err := v.p.Ask(ctx, Question{Title: title, Secret: true, Optional: !q.Required, Note: note})
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(answer) == "" {
			v.skipped[q.Field] = true
			return s, nil
		}
		a := apiclient.Answer{Field: q.Field, Value: answer}
		if strings.TrimSpace(answer) == DontKnow {
			a = apiclient.Answer{Field: q.Field, DontKnow: true}
		}
		req := apiclient.AnswersRequest{Step: at, Answers: []apiclient.Answer{a}}
		return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Answers(ctx, s.Session, req) })
	}
	c := Choice{Title: title, Options: []Option{{"✓ Correct", optCorrect}, {"✗ Incorrect", optIncorrect}, {"Doesn't know", optDontKnow}}}
	if !q.Required {
		c.Options = append(c.Options, Option{"Skip: not asked", optSkip})
	}
	c.Note = "Judge what the caller says."
	if q.Expected != "" {
		c.Note = "Expected: " + q.Expected
	}
	verdict, err := v.choose(ctx, s, c)
	if err != nil || verdict == optCancel {
		return v.cancel(ctx, s, err)
	}
	if verdict == optSkip {
		v.skipped[q.Field] = true
		return s, nil
	}
	req := apiclient.AttestationsRequest{Step: at, Attestations: []apiclient.Attestation{
		{Field: q.Field, Correct: verdict == optCorrect, DontKnow: verdict == optDontKnow}}}
	return v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Attest(ctx, s.Session, req) })
}

func until(t *time.Time) string {
	if t == nil {
		return ""
	}
	return " until " + t.Local().Format("15:04 on 2 Jan 2006")
}

// show shows how s ended and keeps it in the result.
func (v *verifier) show(ctx context.Context, s *apiclient.Session) {
	v.result.Session = s
	p := v.p
	switch s.Outcome {
	case apiclient.OutcomeVerified:
		p.Say(SayGood, "Verified.")
		if st, err := v.api.EngagementStatus(ctx, s.Engagement, false); err == nil {
			v.result.Status = st
			for _, person := range st.People {
				p.Say(SayGood, fmt.Sprintf("  %s %s as %s (level %s), valid until %s", "record", person.Record, person.Role,
					person.Level, person.ValidUntil.Local().Format("15:04 on 2 Jan 2006")))
			}
		}
	case apiclient.OutcomeFailed:
		p.Say(SayBad, "Failed: "+causeText(s.Cause)+".")
	case apiclient.OutcomeLocked:
		if s.LockedUntil != nil {
			v.result.LockedUntil = s.LockedUntil
		}
		p.Say(SayBad, "Locked: too many wrong answers"+until(s.LockedUntil)+".")
	case apiclient.OutcomeNotIdentified:
		p.Say(SayBad, "Not identified.")
	case apiclient.OutcomeNotRequired:
		p.Say(SayInfo, "No verification needed for this reason.")
	case apiclient.OutcomeNewCustomer:
		p.Say(SayInfo, "A new customer: nothing to verify.")
	case apiclient.OutcomeCancelled:
		p.Say(SayBad, "Cancelled.")
	case apiclient.OutcomeExpired:
		p.Say(SayBad, "Expired: the session sat idle too long.")
	}
	p.Say(SayInfo, "Engagement: "+s.Engagement)
}

func causeText(cause string) string {
	switch cause {
	case "required_incorrect":
		return "a required answer was wrong"
	case "too_few_optional":
		return "too few optional answers were right"
	case "not_authorised":
		return "the representative may not act for this customer"
	}
	return "not verified"
}

// maxShown bounds a text from the server as it is shown, in runes.
const maxShown = 500

// printable is s as it may reach the agent's terminal: without control characters (an escape
// sequence in a CRM value could rewrite the screen or the window title, or answer for the agent
// through the terminal's replies) and without bidirectional overrides (which could show one
// value as another), at most maxShown runes. Every text a Prompter shows passes through it.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean && utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxShown {
			b.WriteString("…")
			break
		}
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError:
			continue
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}
