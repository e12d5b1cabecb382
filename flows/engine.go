package flows

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Engine runs verification sessions: each step loads the session from the SessionStore,
// checks that the step is allowed, applies it and stores the result under optimistic
// versioning. An Engine is safe for concurrent use; it keeps no session in memory, so any
// number of engines (replicas) may share one store.
//
// A step that returns an error has changed nothing in the session, with two exceptions: a step
// on a session that sat idle past its timeout records OutcomeExpired and returns ErrExpired;
// and when the Recorder fails to take a finished session's write-back, the step returns the
// stored outcome's View with an error saying so (Writeback rebuilds the write to send again).
// Failures and verified status are recorded during a step, before its session is stored: a
// step that then fails to store (a version conflict, say) may have counted a failure, which
// errs on the side of locking.
type Engine struct {
	policy Policy
	types  map[string]*SearchType
	// sessions pools decoded sessions, whose slices a step reuses.
	sessions sync.Pool
	crm      CRM
	rec      Recorder
	store    SessionStore
	clock    Clock
	key      *macKey
	idle     time.Duration
	ttl      time.Duration
	window   time.Duration
	maxFail  int
}

// Ports are the adapters an Engine runs on. CRM, Recorder and Store are required; a nil Clock
// means the system clock.
type Ports struct {
	CRM      CRM
	Recorder Recorder
	Store    SessionStore
	Clock    Clock
}

// MinSecretLen is the shortest secret New accepts.
const MinSecretLen = 32

// New returns an engine that runs policy p on ports. secret keys the HMAC-SHA256 of check-mode
// values in stored sessions; it must be at least MinSecretLen bytes, and every replica sharing a
// store must use the same one. New copies what it needs from p and secret.
func New(p Policy, ports Ports, secret []byte) (*Engine, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("flows: invalid policy: %w", err)
	}
	if ports.CRM == nil || ports.Recorder == nil || ports.Store == nil {
		return nil, errors.New("flows: the CRM, Recorder and Store ports are required")
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("flows: the secret must be at least %d bytes", MinSecretLen)
	}
	e := &Engine{
		policy: p,
		types:  make(map[string]*SearchType, len(p.SearchTypes)),
		crm:    ports.CRM, rec: ports.Recorder, store: ports.Store, clock: ports.Clock,
		key:     newMACKey(secret),
		idle:    orDefault(p.Session.IdleTimeout, DefaultIdleTimeout),
		ttl:     orDefault(p.VerifiedTTL, DefaultVerifiedTTL),
		window:  orDefault(p.Lockout.Window, DefaultLockoutWindow),
		maxFail: orDefault(p.Lockout.MaxFailures, DefaultLockoutMaxFailures),
	}
	if e.clock == nil {
		e.clock = systemClock{}
	}
	// A deep copy: the caller may reuse p.
	e.policy.Reasons = slices.Clone(p.Reasons)
	e.policy.Representation.Roles = slices.Clone(p.Representation.Roles)
	e.policy.SearchTypes = slices.Clone(p.SearchTypes)
	for i := range e.policy.SearchTypes {
		st := &e.policy.SearchTypes[i]
		st.SearchFields, st.ResultFields = slices.Clone(st.SearchFields), slices.Clone(st.ResultFields)
		st.Required, st.Optional = slices.Clone(st.Required), slices.Clone(st.Optional)
		e.types[st.Name] = st
	}
	return e, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Policy returns the policy the engine runs. The caller must not modify it.
func (e *Engine) Policy() Policy { return e.policy }

// StartRequest starts a session. Exactly one of Phone, Attendee, Lead or Engagement says how.
type StartRequest struct {
	// Phone is the caller's number from a CTI event: it is looked up, and exactly one match
	// makes that record the initiating attendee.
	Phone string
	// Attendee is the initiating attendee the agent named (in person).
	Attendee Ref
	// Lead creates a Lead for a new customer, who becomes the initiating attendee.
	Lead *Lead
	// Engagement attaches the session to an engagement that exists (e.g. after a transfer).
	Engagement string
	// ExternalID is the engagement's upsert key (e.g. the CTI call id); empty means the
	// session id. Ignored when attaching.
	ExternalID string
	// Channel is the engagement's CommunicationChannel, e.g. "Voice Call".
	Channel string
}

// ReasonRequest picks the reason for the call.
type ReasonRequest struct {
	Session string
	// Version, when not zero, must be the session's current version.
	Version uint64
	Reason  string
}

// SubjectRequest says whom the call is about.
type SubjectRequest struct {
	Session string
	Version uint64
	Subject Subject
	// SearchType optionally picks the question set for a caller who is about themself and
	// already known; empty means the first search type on the caller's object.
	SearchType string
}

// SearchRequest searches for the person of the current level.
type SearchRequest struct {
	Session string
	Version uint64
	// SearchType is a configured search type; at the customer level it may be empty (the
	// representative's linked search type) and must otherwise be that one.
	SearchType string
	Query      Query
}

// SelectRequest picks one of the last search's results.
type SelectRequest struct {
	Session string
	Version uint64
	Record  string
}

// AnswerRequest submits what the caller said, for check-mode questions.
type AnswerRequest struct {
	Session string
	Version uint64
	Answers []Answer
}

// Answer is what the caller said to the question on Field.
type Answer struct {
	Field string
	Value string
}

// AttestRequest records the agent's verdicts, for attest-mode questions.
type AttestRequest struct {
	Session      string
	Version      uint64
	Attestations []Attestation
}

// Attestation is the agent's verdict on the question on Field.
type Attestation struct {
	Field   string
	Correct bool
}

// Start begins a session in StateReason: it resolves the initiating attendee (looking the
// phone up, taking the named attendee, creating the Lead or reading the engagement) and opens
// the engagement.
func (e *Engine) Start(ctx context.Context, req StartRequest) (View, error) {
	const step = "start"
	ways := 0
	for _, set := range []bool{req.Phone != "", !req.Attendee.IsZero(), req.Lead != nil, req.Engagement != ""} {
		if set {
			ways++
		}
	}
	if ways != 1 {
		return View{}, stepErr(step, 0, ErrInvalidInput, "give exactly one of phone, attendee, lead or engagement")
	}
	if len(req.ExternalID) > 255 || len(req.Channel) > 255 {
		return View{}, stepErr(step, 0, ErrInvalidInput, "the external id and the channel take at most 255 characters")
	}
	now := e.clock.Now()
	s := &session{id: rand.Text(), state: StateReason, started: now.UnixNano(), updated: now.UnixNano()}
	eng := Engagement{ExternalID: req.ExternalID, Channel: req.Channel, Phone: req.Phone, Start: now}
	if eng.ExternalID == "" {
		eng.ExternalID = s.id
	}
	switch {
	case req.Phone != "":
		if n := len(digitsOnly(req.Phone)); n < 3 || len(req.Phone) > 40 {
			return View{}, stepErr(step, 0, ErrInvalidInput, "the phone number needs 3 to 40 characters with at least 3 digits")
		}
		refs, err := e.crm.FindByPhone(ctx, req.Phone)
		if err != nil {
			return View{}, fmt.Errorf("%s: phone lookup: %w", step, err)
		}
		if len(refs) == 1 {
			s.initiating, s.preselected = refs[0], true
		}
	case !req.Attendee.IsZero():
		if !objectName.MatchString(req.Attendee.Object) || !recordID.MatchString(req.Attendee.ID) {
			return View{}, stepErr(step, 0, ErrInvalidInput, "the attendee needs an object name and a 15- or 18-character record id")
		}
		s.initiating, s.preselected = req.Attendee, true
	case req.Lead != nil:
		if strings.TrimSpace(req.Lead.LastName) == "" || strings.TrimSpace(req.Lead.Company) == "" {
			return View{}, stepErr(step, 0, ErrInvalidInput, "a lead needs a last name and a company")
		}
		ref, err := e.rec.CreateLead(ctx, *req.Lead)
		if err != nil {
			return View{}, fmt.Errorf("%s: create lead: %w", step, err)
		}
		s.initiating = ref
	default:
		if !recordID.MatchString(req.Engagement) {
			return View{}, stepErr(step, 0, ErrInvalidInput, "the engagement needs a 15- or 18-character record id")
		}
		eng = Engagement{ID: req.Engagement}
	}
	eng.Initiating = s.initiating
	opened, err := e.rec.OpenEngagement(ctx, eng)
	if err != nil {
		return View{}, fmt.Errorf("%s: open engagement: %w", step, err)
	}
	s.engagement = opened.ID
	if req.Engagement != "" && !opened.Initiating.IsZero() {
		s.initiating, s.preselected = opened.Initiating, true
	}
	version, err := e.store.Put(ctx, s.id, s.encode(make([]byte, 0, s.encodedSize())), 0)
	if err != nil {
		return View{}, fmt.Errorf("%s: store session: %w", step, err)
	}
	return e.view(s, version, stepOut{}), nil
}

// SetReason records the reason. A reason that is not confidential ends the session with
// OutcomeNotRequired; a confidential one moves it to StateSubject.
func (e *Engine) SetReason(ctx context.Context, req ReasonRequest) (View, error) {
	return e.step(ctx, "reason", req.Session, req.Version, StateReason, func(s *session, now time.Time) (stepOut, error) {
		r, ok := e.policy.Reason(req.Reason)
		if !ok {
			return stepOut{}, stepErr("reason", s.state, ErrUnknownReason, "pick one of the configured reasons")
		}
		s.reason = r.Name
		if !r.Confidential {
			e.finish(s, OutcomeNotRequired, CauseNone)
			return stepOut{}, nil
		}
		s.state = StateSubject
		return stepOut{}, nil
	})
}

// SetSubject records whom the call is about. For the caller themself, when the initiating
// attendee is known, their questions start at once; otherwise (and always for someone else)
// the caller must be searched for.
func (e *Engine) SetSubject(ctx context.Context, req SubjectRequest) (View, error) {
	const step = "subject"
	return e.step(ctx, step, req.Session, req.Version, StateSubject, func(s *session, now time.Time) (stepOut, error) {
		if req.Subject != SubjectSelf && req.Subject != SubjectOther {
			return stepOut{}, stepErr(step, s.state, ErrInvalidInput, "the subject is self or other")
		}
		if req.SearchType != "" && (req.Subject != SubjectSelf || !s.preselected) {
			return stepOut{}, stepErr(step, s.state, ErrInvalidInput, "a search type is picked here only for a known caller about themself")
		}
		s.subject = req.Subject
		s.state = StateSearch
		if req.Subject != SubjectSelf || !s.preselected {
			return stepOut{}, nil
		}
		var st *SearchType
		if req.SearchType != "" {
			st = e.types[req.SearchType]
			if st == nil {
				return stepOut{}, stepErr(step, s.state, ErrUnknownSearchType, "pick one of the configured search types")
			}
			if st.Object != s.initiating.Object {
				return stepOut{}, stepErr(step, s.state, ErrInvalidInput, "the search type is for another object than the caller's")
			}
		} else {
			for i := range e.policy.SearchTypes {
				if e.policy.SearchTypes[i].Object == s.initiating.Object {
					st = &e.policy.SearchTypes[i]
					break
				}
			}
		}
		if st == nil {
			return stepOut{}, nil // no questions for the caller's object: search with a search type
		}
		s.levels[LevelCaller].searchType = st.Name
		return e.beginLevel(ctx, step, s, st, s.initiating, now)
	})
}

// Search runs the current level's search and moves to StateSelect. It may be repeated from
// StateSelect to refine the search.
func (e *Engine) Search(ctx context.Context, req SearchRequest) (View, error) {
	const step = "search"
	return e.step(ctx, step, req.Session, req.Version, StateSearch, func(s *session, now time.Time) (stepOut, error) {
		st, err := e.levelSearchType(step, s, req.SearchType)
		if err != nil {
			return stepOut{}, err
		}
		q := req.Query
		switch st.Search {
		case SearchText, "":
			kw := strings.TrimSpace(q.Keywords)
			if utf8.RuneCountInString(kw) < 2 || len(kw) > 200 || len(q.Fields) > 0 {
				return stepOut{}, stepErr(step, s.state, ErrInvalidInput, "a text search needs keywords of 2 to 200 characters and no fields")
			}
			q = Query{Keywords: kw}
		case SearchObject:
			if len(q.Fields) == 0 || q.Keywords != "" {
				return stepOut{}, stepErr(step, s.state, ErrInvalidInput, "an object search needs field values and no keywords")
			}
			for f, v := range q.Fields {
				if !slices.Contains(st.SearchFields, f) { // f is input: it is not echoed
					return stepOut{}, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("search type %q searches only %s",
						st.Name, strings.Join(st.SearchFields, ", ")))
				}
				if strings.TrimSpace(v) == "" || len(v) > 200 {
					return stepOut{}, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("field %q needs a value of 1 to 200 characters", f))
				}
			}
		}
		rows, err := e.crm.Search(ctx, *st, q)
		if err != nil {
			return stepOut{}, fmt.Errorf("%s: %w", step, err)
		}
		truncated := len(rows) > maxResults
		if truncated {
			rows = rows[:maxResults]
		}
		l := &s.levels[s.level]
		l.searchType = st.Name
		l.results = slices.Grow(l.results[:0], len(rows))[:len(rows)]
		for i, r := range rows {
			l.results[i] = r.ID
		}
		s.state = StateSelect
		return stepOut{rows: rows, truncated: truncated}, nil
	}, StateSelect)
}

// Select picks one of the last search's results as the current level's person and asks their
// questions. At the customer level it first checks that the representative may speak for
// the customer.
func (e *Engine) Select(ctx context.Context, req SelectRequest) (View, error) {
	const step = "select"
	return e.step(ctx, step, req.Session, req.Version, StateSelect, func(s *session, now time.Time) (stepOut, error) {
		l := &s.levels[s.level]
		if req.Record == "" || !slices.Contains(l.results, req.Record) {
			return stepOut{}, stepErr(step, s.state, ErrNotInResults, "pick a record from the last search's results")
		}
		st := e.types[l.searchType]
		if st == nil {
			return stepOut{}, stepErr(step, s.state, ErrUnknownSearchType, "the search type is no longer configured; search again")
		}
		return e.beginLevel(ctx, step, s, st, Ref{Object: st.Object, ID: req.Record}, now)
	})
}

// Answer evaluates what the caller said to check-mode questions of the current level, in
// order, and stops as soon as the outcome of the level is certain (later answers are then
// ignored). Every answer is validated first: one bad answer rejects the whole request.
func (e *Engine) Answer(ctx context.Context, req AnswerRequest) (View, error) {
	const step = "answer"
	return e.step(ctx, step, req.Session, req.Version, StateQuestions, func(s *session, now time.Time) (stepOut, error) {
		l := &s.levels[s.level]
		var idxArr [8]int
		idx, err := e.pending(step, s, idxArr[:0], len(req.Answers), func(i int) string { return req.Answers[i].Field }, ModeCheck)
		if err != nil {
			return stepOut{}, err
		}
		m := e.policy.Matching
		// The normalised answers, one after the other in buf, each ending at ends[i]. buf is
		// cleared before the step returns: no copy of an answer outlives it.
		var (
			bufArr  [256]byte
			endsArr [8]int
		)
		buf, ends := bufArr[:0], endsArr[:0]
		defer func() { clear(bufArr[:]); clear(buf) }()
		for i, a := range req.Answers {
			q := &l.questions[idx[i]]
			if len(a.Value) > maxAnswerLen {
				return stepOut{}, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("the answer to %q is longer than %d bytes", q.field, maxAnswerLen))
			}
			n := len(buf)
			buf = m.appendNormalized(buf, q.match(), int(q.digits), a.Value)
			if len(buf) == n {
				return stepOut{}, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("the answer to %q is empty or not a valid %s", q.field, q.match()))
			}
			ends = append(ends, len(buf))
		}
		for i := range req.Answers {
			q := &l.questions[idx[i]]
			begin := 0
			if i > 0 {
				begin = ends[i-1]
			}
			mac := e.key.sum(s.id, q.field, buf[begin:ends[i]])
			if hmac.Equal(mac[:], q.mac[:]) && q.hasMAC {
				q.verdict = VerdictCorrect
			} else {
				q.verdict = VerdictIncorrect
			}
			if out, decided, err := e.evaluate(ctx, step, s, now); decided || err != nil {
				return out, err
			}
		}
		return stepOut{}, nil
	})
}

// Attest records the agent's verdicts on attest-mode questions of the current level, in order,
// and stops as soon as the outcome of the level is certain.
func (e *Engine) Attest(ctx context.Context, req AttestRequest) (View, error) {
	const step = "attest"
	return e.step(ctx, step, req.Session, req.Version, StateQuestions, func(s *session, now time.Time) (stepOut, error) {
		l := &s.levels[s.level]
		var idxArr [8]int
		idx, err := e.pending(step, s, idxArr[:0], len(req.Attestations), func(i int) string { return req.Attestations[i].Field }, ModeAttest)
		if err != nil {
			return stepOut{}, err
		}
		for i, a := range req.Attestations {
			q := &l.questions[idx[i]]
			q.verdict = VerdictIncorrect
			if a.Correct {
				q.verdict = VerdictCorrect
			}
			if out, decided, err := e.evaluate(ctx, step, s, now); decided || err != nil {
				return out, err
			}
		}
		return stepOut{}, nil
	})
}

// Cancel ends a session that has no outcome yet with OutcomeCancelled.
func (e *Engine) Cancel(ctx context.Context, id string, version uint64) (View, error) {
	return e.step(ctx, "cancel", id, version, StateReason, func(s *session, now time.Time) (stepOut, error) {
		e.finish(s, OutcomeCancelled, CauseNone)
		return stepOut{}, nil
	}, StateSubject, StateSearch, StateSelect, StateQuestions)
}

// Get returns the session's view. A session idle past its timeout is expired first (and its
// outcome recorded), so Get then shows OutcomeExpired.
func (e *Engine) Get(ctx context.Context, id string) (View, error) {
	s, version, err := e.load(ctx, "get", id, 0)
	if err != nil {
		return View{}, err
	}
	defer e.release(s)
	if s.state != StateDone && e.idleExpired(s, e.clock.Now()) {
		if version, err = e.expire(ctx, s, version); err != nil {
			return View{}, err
		}
	}
	values, err := e.revealValues(ctx, s, nil)
	if err != nil {
		return View{}, fmt.Errorf("get: %w", err)
	}
	return e.view(s, version, stepOut{values: values}), nil
}

// Writeback returns what the finished session writes to the CRM, so that a write that failed
// after the outcome was stored can be sent again. It fails with ErrOutOfOrder when the session
// has no outcome yet.
func (e *Engine) Writeback(ctx context.Context, id string) (Writeback, error) {
	s, _, err := e.load(ctx, "writeback", id, 0)
	if err != nil {
		return Writeback{}, err
	}
	defer e.release(s)
	if s.state != StateDone {
		return Writeback{}, stepErr("writeback", s.state, ErrOutOfOrder, "the session has no outcome yet")
	}
	return e.writeback(s), nil
}

// stepOut is what a step hands back besides the session: values that live only for this call.
type stepOut struct {
	rows      []Row             // search results, with their values
	truncated bool              // the search found more than maxResults rows
	values    map[string]string // the current person's verifier values, for revealing
}

// step loads a session, checks it is in one of the allowed states and not idle, applies fn
// and stores the result. Nothing is stored when fn fails.
func (e *Engine) step(ctx context.Context, name, id string, version uint64, allowed State,
	fn func(s *session, now time.Time) (stepOut, error), more ...State) (View, error) {
	s, current, err := e.load(ctx, name, id, version)
	if err != nil {
		return View{}, err
	}
	defer e.release(s)
	now := e.clock.Now()
	if s.state == StateDone {
		return View{}, stepErr(name, s.state, ErrFinished, "the session ended "+s.outcome.String())
	}
	if e.idleExpired(s, now) {
		if _, err := e.expire(ctx, s, current); err != nil {
			return View{}, err
		}
		return View{}, stepErr(name, StateDone, ErrExpired, "start a new session")
	}
	if s.state != allowed && !slices.Contains(more, s.state) {
		return View{}, stepErr(name, s.state, ErrOutOfOrder, "the session expects step "+expectedStep(s.state))
	}
	out, err := fn(s, now)
	if err != nil {
		return View{}, err
	}
	if out.values, err = e.revealValues(ctx, s, out.values); err != nil {
		return View{}, fmt.Errorf("%s: %w", name, err)
	}
	s.updated = now.UnixNano()
	next, err := e.store.Put(ctx, s.id, s.encode(make([]byte, 0, s.encodedSize())), current)
	if err != nil {
		return View{}, fmt.Errorf("%s: store session: %w", name, err)
	}
	if s.state == StateDone {
		if err := e.rec.WriteOutcome(ctx, e.writeback(s)); err != nil {
			return e.view(s, next, out),
				fmt.Errorf("%s: the outcome is stored but its write-back failed (send Engine.Writeback again): %w", name, err)
		}
	}
	return e.view(s, next, out), nil
}

func expectedStep(s State) string {
	switch s {
	case StateReason:
		return "reason"
	case StateSubject:
		return "subject"
	case StateSearch:
		return "search"
	case StateSelect:
		return "select or search"
	case StateQuestions:
		return "answer or attest"
	}
	return "none"
}

func (e *Engine) load(ctx context.Context, step, id string, version uint64) (*session, uint64, error) {
	if id == "" || len(id) > 64 {
		return nil, 0, stepErr(step, 0, ErrNotFound, "give the session id Start returned")
	}
	data, current, err := e.store.Get(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, 0, stepErr(step, 0, ErrNotFound, "give the session id Start returned")
		}
		return nil, 0, fmt.Errorf("%s: load session: %w", step, err)
	}
	s, _ := e.sessions.Get().(*session)
	if s == nil {
		s = &session{}
	}
	if err := s.decode(data); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", step, err)
	}
	if version != 0 && version != current {
		err := stepErr(step, s.state, ErrVersionConflict, "reload the session and try again")
		e.release(s)
		return nil, 0, err
	}
	return s, current, nil
}

// release returns a session that load returned, once nothing refers to it any more.
func (e *Engine) release(s *session) { e.sessions.Put(s) }

func (e *Engine) idleExpired(s *session, now time.Time) bool {
	return now.UnixNano()-s.updated > int64(e.idle)
}

func (e *Engine) expire(ctx context.Context, s *session, version uint64) (uint64, error) {
	e.finish(s, OutcomeExpired, CauseNone)
	next, err := e.store.Put(ctx, s.id, s.encode(make([]byte, 0, s.encodedSize())), version)
	if err != nil {
		return 0, fmt.Errorf("expire session: %w", err)
	}
	if err := e.rec.WriteOutcome(ctx, e.writeback(s)); err != nil {
		return 0, fmt.Errorf("expire session: the outcome is stored but its write-back failed: %w", err)
	}
	return next, nil
}

func (e *Engine) finish(s *session, o Outcome, c Cause) {
	s.state, s.outcome, s.cause = StateDone, o, c
}

// levelSearchType returns the search type the current level searches with.
func (e *Engine) levelSearchType(step string, s *session, name string) (*SearchType, error) {
	if s.level == LevelCustomer {
		linked := s.levels[LevelCustomer].searchType
		if name != "" && name != linked {
			if e.types[name] == nil {
				return nil, stepErr(step, s.state, ErrUnknownSearchType, "pick one of the configured search types")
			}
			return nil, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("the customer level searches with %q", linked))
		}
		if st := e.types[linked]; st != nil {
			return st, nil
		}
		return nil, stepErr(step, s.state, ErrUnknownSearchType, "the customer search type is no longer configured")
	}
	st := e.types[name]
	if st == nil {
		return nil, stepErr(step, s.state, ErrUnknownSearchType, "pick one of the configured search types")
	}
	if s.subject == SubjectOther && st.Linked == "" {
		return nil, stepErr(step, s.state, ErrInvalidInput, "a caller who speaks for someone else is searched with a search type linked to a customer search type")
	}
	return st, nil
}

// beginLevel makes p the current level's person: it checks the lockout, the representation
// rule and the verified status, then fetches the expected values, keeps keyed hashes of the
// check-mode ones and asks the questions.
func (e *Engine) beginLevel(ctx context.Context, step string, s *session, st *SearchType, p Ref, now time.Time) (stepOut, error) {
	if until, locked, err := e.locked(ctx, p.ID, now); err != nil {
		return stepOut{}, fmt.Errorf("%s: %w", step, err)
	} else if locked {
		return stepOut{}, &LockedError{StepError: StepError{Step: step, State: s.state, Kind: ErrLocked,
			Detail: "too many failed verifications of this person"}, Until: until}
	}
	l := &s.levels[s.level]
	if s.level == LevelCustomer && e.policy.Representation.Enabled() {
		ok, err := e.crm.MayRepresent(ctx, e.policy.Representation, s.levels[LevelCaller].record, p)
		if err != nil {
			return stepOut{}, fmt.Errorf("%s: representation check: %w", step, err)
		}
		if !ok {
			l.record = p
			return stepOut{}, e.failLevel(ctx, s, CauseNotAuthorised, false, now)
		}
	}
	verified, err := e.store.Verified(ctx, VerifiedKey{Engagement: s.engagement, Person: p.ID}, now)
	if err != nil {
		return stepOut{}, fmt.Errorf("%s: %w", step, err)
	}
	l.record = p
	l.results = l.results[:0] // chosen: the other results are of no further use
	l.optionalMin = st.OptionalMin
	if verified {
		return stepOut{}, e.passLevel(ctx, s, now)
	}
	fields := make([]string, 0, len(st.Required)+len(st.Optional))
	for _, v := range st.Required {
		fields = append(fields, v.Field)
	}
	for _, v := range st.Optional {
		fields = append(fields, v.Field)
	}
	values, err := e.crm.Values(ctx, p, fields)
	if err != nil {
		return stepOut{}, fmt.Errorf("%s: fetch the expected values: %w", step, err)
	}
	l.questions = slices.Grow(l.questions[:0], len(fields))
	// Expected values are normalised into norm, which is cleared before returning.
	var normArr [128]byte
	norm := normArr[:0]
	defer func() { clear(normArr[:]); clear(norm[:cap(norm)]) }()
	for i := range fields {
		v, required := e.verifier(st, i)
		q := question{field: v.Field, required: required, digits: uint16(min(v.Digits, 1<<16-1))}
		q.setMode(v.Mode)
		q.setMatch(v.Match)
		q.setReveal(v.Reveal)
		if q.mode() == ModeCheck {
			norm = e.policy.Matching.appendNormalized(norm[:0], q.match(), int(q.digits), values[v.Field])
			if len(norm) > 0 {
				q.hasMAC, q.mac = true, e.key.sum(s.id, q.field, norm)
			}
		}
		l.questions = append(l.questions, q)
	}
	s.state = StateQuestions
	return stepOut{values: values}, nil
}

// verifier returns st's i-th question: the required ones first, then the optional ones.
func (e *Engine) verifier(st *SearchType, i int) (*Verifier, bool) {
	if i < len(st.Required) {
		return &st.Required[i], true
	}
	return &st.Optional[i-len(st.Required)], false
}

// revealValues returns the current person's verifier values when a pending attest-mode
// question reveals its expected value: values when the step fetched them already, else fresh
// from the CRM. It returns nil when nothing is revealed.
func (e *Engine) revealValues(ctx context.Context, s *session, values map[string]string) (map[string]string, error) {
	if s.state != StateQuestions || values != nil {
		return values, nil
	}
	l := &s.levels[s.level]
	var fields []string
	for _, q := range l.questions {
		if q.mode() == ModeAttest && q.verdict == VerdictPending && q.reveal() != RevealNone {
			fields = append(fields, q.field)
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	values, err := e.crm.Values(ctx, l.record, fields)
	if err != nil {
		return nil, fmt.Errorf("fetch the values to reveal: %w", err)
	}
	return values, nil
}

// locked reports whether person has MaxFailures failures within the window, and until when.
func (e *Engine) locked(ctx context.Context, person string, now time.Time) (time.Time, bool, error) {
	fails, err := e.store.Failures(ctx, person, now.Add(-e.window))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read failures: %w", err)
	}
	if len(fails) < e.maxFail {
		return time.Time{}, false, nil
	}
	// The lock lifts when the failures in the window drop below the limit.
	return fails[len(fails)-e.maxFail].Add(e.window), true, nil
}

// pending checks that the n fields named by field(i) are distinct, pending questions of the
// current level in mode, and returns their indexes, appended to idx[:0].
func (e *Engine) pending(step string, s *session, idx []int, n int, field func(int) string, mode Mode) ([]int, error) {
	if n == 0 {
		return nil, stepErr(step, s.state, ErrInvalidInput, "give at least one answer")
	}
	l := &s.levels[s.level]
	idx = slices.Grow(idx[:0], n)[:n]
	for i := range n {
		f := field(i)
		j := slices.IndexFunc(l.questions, func(q question) bool { return q.field == f })
		switch {
		case j < 0: // f is input: it is not echoed
			return nil, stepErr(step, s.state, ErrNotAsked, fmt.Sprintf("answer %d is to no question of this level", i+1))
		case l.questions[j].verdict != VerdictPending || slices.Contains(idx[:i], j):
			return nil, stepErr(step, s.state, ErrAlreadyAnswered, fmt.Sprintf("%q has an answer already", f))
		case l.questions[j].mode() != mode:
			return nil, stepErr(step, s.state, ErrInvalidInput, fmt.Sprintf("%q is answered in %s mode", f, l.questions[j].mode()))
		}
		idx[i] = j
	}
	return idx, nil
}

// evaluate decides the current level as soon as its outcome is certain: a wrong required
// answer, or too few optional questions left, fails it; every required answer right and
// optional_min optional ones right passes it.
func (e *Engine) evaluate(ctx context.Context, step string, s *session, now time.Time) (stepOut, bool, error) {
	l := &s.levels[s.level]
	requiredOK := true
	optCorrect, optPending := 0, 0
	for i := range l.questions {
		q := &l.questions[i]
		switch {
		case q.required && q.verdict == VerdictIncorrect:
			return stepOut{}, true, e.wrap(step, e.failLevel(ctx, s, CauseRequiredIncorrect, true, now))
		case q.required && q.verdict == VerdictPending:
			requiredOK = false
		case !q.required && q.verdict == VerdictCorrect:
			optCorrect++
		case !q.required && q.verdict == VerdictPending:
			optPending++
		}
	}
	if optCorrect+optPending < l.optionalMin {
		return stepOut{}, true, e.wrap(step, e.failLevel(ctx, s, CauseTooFewOptional, true, now))
	}
	if requiredOK && optCorrect >= l.optionalMin {
		return stepOut{}, true, e.wrap(step, e.passLevel(ctx, s, now))
	}
	return stepOut{}, false, nil
}

func (e *Engine) wrap(step string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// failLevel ends the current level unsuccessfully: it counts the failure against the person
// (when counted), then locks, retries or fails the session.
func (e *Engine) failLevel(ctx context.Context, s *session, c Cause, counted bool, now time.Time) error {
	l := &s.levels[s.level]
	if counted {
		if err := e.store.AddFailure(ctx, l.record.ID, now); err != nil {
			return fmt.Errorf("record failure: %w", err)
		}
		until, locked, err := e.locked(ctx, l.record.ID, now)
		if err != nil {
			return err
		}
		if locked {
			s.lockedUntil = until.UnixNano()
			e.finish(s, OutcomeLocked, c)
			return nil
		}
	}
	if s.retries < e.policy.Session.MaxRetries {
		s.retries++
		searchType := l.searchType
		*l = level{results: l.results[:0], questions: l.questions[:0]} // keep the arrays, for reuse
		if s.level == LevelCustomer {
			l.searchType = searchType // the customer level always searches with the linked type
		}
		s.cause = c
		s.state = StateSearch
		return nil
	}
	e.finish(s, OutcomeFailed, c)
	return nil
}

// passLevel ends the current level successfully: it records the verified status and moves to
// the customer level (for a representative) or ends the session verified.
func (e *Engine) passLevel(ctx context.Context, s *session, now time.Time) error {
	l := &s.levels[s.level]
	l.passed, l.verifiedAt = true, now.UnixNano()
	if err := e.store.MarkVerified(ctx, VerifiedKey{Engagement: s.engagement, Person: l.record.ID}, now.Add(e.ttl)); err != nil {
		return fmt.Errorf("mark verified: %w", err)
	}
	if s.level == LevelCaller && s.subject == SubjectOther {
		s.level = LevelCustomer
		c := &s.levels[LevelCustomer]
		*c = level{searchType: e.types[l.searchType].Linked, results: c.results[:0], questions: c.questions[:0]}
		s.state = StateSearch
		s.cause = CauseNone
		return nil
	}
	e.finish(s, OutcomeVerified, CauseNone)
	return nil
}

// writeback builds the CRM write for a finished session from its ids and verdicts.
func (e *Engine) writeback(s *session) Writeback {
	caller, customer := &s.levels[LevelCaller], &s.levels[LevelCustomer]
	w := Writeback{
		Session: s.id,
		Outcome: s.outcome,
		Engagement: EngagementUpdate{ID: s.engagement, Reason: s.reason, Verified: caller.passed,
			Status: EngagementStatusProgress},
		Topic: Topic{Name: s.reason},
	}
	if caller.passed {
		w.Engagement.VerifiedAt = time.Unix(0, caller.verifiedAt).UTC()
		if s.initiating != caller.record {
			w.Engagement.Initiating = caller.record // the verified caller, when it was unknown or another
		}
	}
	if !caller.record.IsZero() {
		a := Attendee{Person: caller.record, Role: RoleSelf, Verified: caller.passed,
			Start: time.Unix(0, s.started).UTC()}
		if s.subject == SubjectOther {
			a.Role = RoleOnBehalf
		}
		if caller.passed {
			a.VerifiedAt = time.Unix(0, caller.verifiedAt).UTC()
		}
		w.Attendees = []Attendee{a}
	}
	switch {
	case s.subject == SubjectOther && !customer.record.IsZero():
		w.Topic.RelatedPerson = customer.record
	case !caller.record.IsZero():
		w.Topic.RelatedPerson = caller.record
	default:
		w.Topic.RelatedPerson = s.initiating
	}
	switch s.outcome {
	case OutcomeVerified, OutcomeNotRequired:
		w.Topic.ProcessStatus = ProcessCompleted
	case OutcomeFailed, OutcomeLocked:
		w.Topic.ProcessStatus = ProcessFailed
	default:
		w.Topic.ProcessStatus = ProcessCancelled
	}
	return w
}

// maxAnswerLen bounds an answer, so that normalising it stays cheap.
const maxAnswerLen = 500

var (
	recordID   = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
	objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

func stepErr(step string, s State, kind error, detail string) error {
	return &StepError{Step: step, State: s, Kind: kind, Detail: detail}
}
