package flows

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Start begins a session in StateReason: it resolves the initiating attendee (looking the
// phone up, taking the named attendee, creating the Lead or reading the engagement attached
// to). A new engagement is not written here: the session keeps its upsert key and creation
// fields, and the write-back creates it.
func (e *Engine) Start(ctx context.Context, req StartRequest) (View, error) {
	const step = "start"
	ways := 0
	for _, set := range []bool{req.Phone != "", !req.Attendee.IsZero(), req.Lead != nil, req.Engagement != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways != 1:
		return View{}, fieldErr(step, 0, ErrInvalidInput, "phone", "give exactly one of phone, attendee, lead or engagement")
	case !validActor(req.Actor):
		return View{}, fieldErr(step, 0, ErrInvalidInput, "actor", actorRule)
	case !validExternalID(req.ExternalID):
		return View{}, fieldErr(step, 0, ErrInvalidInput, "external_id", externalIDRule)
	case len(req.Channel) > 255:
		return View{}, fieldErr(step, 0, ErrInvalidInput, "channel", "the channel takes at most 255 characters")
	case len(req.Key) > 255:
		return View{}, fieldErr(step, 0, ErrInvalidInput, "key", "the key takes at most 255 characters")
	}
	now := e.clock.Now()
	start := now
	if !req.StartTime.IsZero() {
		if req.Engagement != "" {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "start_time", "an engagement that exists has its start time: give none when attaching")
		}
		if req.StartTime.After(now.Add(MaxStartSkew)) || req.StartTime.Before(now.Add(-MaxStartAge)) {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "start_time", fmt.Sprintf(
				"the start time must lie within the last %v and not in the future (up to %v of clock skew allowed)", MaxStartAge, MaxStartSkew))
		}
		start = req.StartTime
	}
	t := e.newTxn(ctx, step, req.Actor, now)
	defer e.release(t)
	s := &t.s
	s.reset()
	s.id, s.state, s.started, s.updated = rand.Text(), StateReason, start.UnixNano(), now.UnixNano()
	key := req.Key
	if key == "" {
		// Not the session id itself: it is a handle on the session, and the key becomes the
		// engagement's ExternalIdentifier, which anyone who reads the engagement sees.
		var b [48]byte
		key = string(append(appendSessionKey(b[:0], s.id), "/start"...))
	}
	s.externalID, s.channel, s.authenticated = req.ExternalID, req.Channel, req.Authenticated
	if req.Agent != "" {
		id, ok := CaseSafeID(req.Agent)
		if !ok || !strings.HasPrefix(id, userKeyPrefix) {
			return View{}, stepErr(step, 0, ErrInvalidInput, "the agent is a User's 15- or 18-character id (it starts with 005)")
		}
		s.agent = id
	}
	if s.externalID == "" {
		s.externalID = string(appendSessionKey([]byte("idv-"), key))
	}
	switch {
	case req.Phone != "":
		if len(req.Phone) > 40 || countDigits(req.Phone) < 3 {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "phone", "the phone number needs 3 to 40 characters with at least 3 digits")
		}
		refs, err := e.crm.FindByPhone(ctx, req.Phone)
		if err != nil {
			return View{}, portErr(step, 0, "phone lookup", err)
		}
		switch {
		case len(refs) == 0:
			s.phoneMatch = PhoneMatchNone
		case len(refs) == 1 && !req.PhoneUntrusted:
			s.phoneMatch, s.initiating, s.preselected = PhoneMatchOne, refs[0], true
		default: // the agent searches; the matches are flagged in the results
			s.phoneMatch = PhoneMatchOne
			if len(refs) > 1 {
				s.phoneMatch = PhoneMatchSeveral
			}
			for _, r := range refs[:min(len(refs), maxResults)] {
				s.candidates = append(s.candidates, r.ID)
			}
		}
	case !req.Attendee.IsZero():
		id, ok := CaseSafeID(req.Attendee.ID)
		if !ok || !validObjectName(req.Attendee.Object) {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "attendee", "the attendee needs an object name and a 15- or 18-character record id")
		}
		s.initiating, s.preselected = Ref{Object: req.Attendee.Object, ID: id}, true
	case req.Lead != nil:
		if err := validateLead(req.Lead); err != "" {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "lead", err)
		}
		ref, err := e.rec.CreateLead(ctx, key, *req.Lead)
		if err != nil {
			return View{}, portErr(step, 0, "create the lead", err)
		}
		s.initiating, s.preselected, s.newLead = ref, true, true
	default:
		id, ok := CaseSafeID(req.Engagement)
		if !ok {
			return View{}, fieldErr(step, 0, ErrInvalidInput, "engagement", "the engagement needs a 15- or 18-character record id")
		}
		opened, err := e.rec.OpenEngagement(ctx, id)
		if err != nil {
			return View{}, portErr(step, 0, "read the engagement", err)
		}
		s.engagement, s.externalID, s.channel, s.authenticated = opened.ID, opened.ExternalID, "", false
		if s.engagement == "" {
			s.engagement = id
		}
		if !opened.Initiating.IsZero() {
			s.initiating, s.preselected = opened.Initiating, true
		}
	}
	version, err := e.commit(t, 0)
	if err != nil {
		return View{}, err
	}
	return e.view(s, version, stepOut{}), nil
}

// SetReason records the reason. A reason that is not confidential ends the session with
// OutcomeNotRequired; a confidential one moves it to StateSubject.
func (e *Engine) SetReason(ctx context.Context, req ReasonRequest) (View, error) {
	return e.step(ctx, "reason", req.Actor, req.Session, req.Version, oneOf(StateReason), func(t *txn) (stepOut, error) {
		s := &t.s
		r, ok := e.policy.Reason(req.Reason)
		if !ok {
			return stepOut{}, fieldErr(t.step, s.state, ErrUnknownReason, "reason", "pick one of the configured reasons")
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
// the caller must be searched for. A new customer (the Lead Start created) about themself
// with no search type for Leads ends the session OutcomeNewCustomer: there is nothing on
// record to verify or protect.
func (e *Engine) SetSubject(ctx context.Context, req SubjectRequest) (View, error) {
	return e.step(ctx, "subject", req.Actor, req.Session, req.Version, oneOf(StateSubject), func(t *txn) (stepOut, error) {
		s := &t.s
		if req.Subject != SubjectSelf && req.Subject != SubjectOther {
			return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "subject", "the subject is self or other")
		}
		if req.SearchType != "" && (req.Subject != SubjectSelf || !s.preselected) {
			return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "search_type", "a search type is picked here only for a known caller about themself")
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
				return stepOut{}, fieldErr(t.step, s.state, ErrUnknownSearchType, "search_type", "pick one of the configured search types")
			}
			if st.Object != s.initiating.Object {
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "search_type", "the search type is for another object than the caller's")
			}
		} else {
			for i := range e.policy.SearchTypes {
				if e.policy.SearchTypes[i].Object == s.initiating.Object {
					st = &e.policy.SearchTypes[i]
					break
				}
			}
		}
		switch {
		case st == nil && s.newLead:
			e.finish(s, OutcomeNewCustomer, CauseNone)
			return stepOut{}, nil
		case st == nil:
			return stepOut{}, nil // no questions for the caller's object: search with a search type
		}
		s.levels[LevelCaller].searchType = st.Name
		return e.beginLevel(t, st, s.initiating)
	})
}

// Search runs the current level's search and moves to StateSelect. It may be repeated from
// StateSelect to refine the search.
func (e *Engine) Search(ctx context.Context, req SearchRequest) (View, error) {
	return e.step(ctx, "search", req.Actor, req.Session, req.Version, oneOf(StateSearch, StateSelect), func(t *txn) (stepOut, error) {
		s := &t.s
		st, err := e.levelSearchType(t.step, s, req.SearchType)
		if err != nil {
			return stepOut{}, err
		}
		q := req.Query
		switch st.Search {
		case SearchText, "":
			kw := strings.TrimSpace(q.Keywords)
			if len(q.Fields) > 0 {
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "fields", "a text search needs keywords of 2 to 200 characters and no fields")
			}
			if utf8.RuneCountInString(kw) < 2 || len(kw) > 200 {
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "keywords", "a text search needs keywords of 2 to 200 characters and no fields")
			}
			q = Query{Keywords: kw}
		case SearchObject:
			if len(q.Fields) == 0 || q.Keywords != "" {
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "fields", "an object search needs field values and no keywords")
			}
			for f, v := range q.Fields {
				if !slices.Contains(st.SearchFields, f) { // f is input: it is not echoed
					return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "fields", fmt.Sprintf("search type %q searches only %s",
						st.Name, strings.Join(st.SearchFields, ", ")))
				}
				if strings.TrimSpace(v) == "" || len(v) > 200 {
					return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, "fields", fmt.Sprintf("field %q needs a value of 1 to 200 characters", f))
				}
			}
		}
		rows, err := e.crm.Search(t.ctx, *st, q)
		if err != nil {
			return stepOut{}, portErr(t.step, s.state, "search", err)
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
	})
}

// levelSearchType returns the search type the current level searches with.
func (e *Engine) levelSearchType(step string, s *session, name string) (*SearchType, error) {
	if s.level == LevelCustomer {
		linked := s.levels[LevelCustomer].searchType
		if name != "" && name != linked {
			if e.types[name] == nil {
				return nil, fieldErr(step, s.state, ErrUnknownSearchType, "search_type", "pick one of the configured search types")
			}
			return nil, fieldErr(step, s.state, ErrInvalidInput, "search_type", fmt.Sprintf("the customer level searches with %q", linked))
		}
		if st := e.types[linked]; st != nil {
			return st, nil
		}
		return nil, fieldErr(step, s.state, ErrUnknownSearchType, "search_type", "the customer search type is no longer configured")
	}
	st := e.types[name]
	if st == nil {
		return nil, fieldErr(step, s.state, ErrUnknownSearchType, "search_type", "pick one of the configured search types")
	}
	if s.subject == SubjectOther && st.Linked == "" {
		return nil, fieldErr(step, s.state, ErrInvalidInput, "search_type", "a caller who speaks for someone else is searched with a search type linked to a customer search type")
	}
	return st, nil
}

// Select picks one of the last search's results as the current level's person and asks their
// questions. At the customer level it first checks that the representative may speak for
// the customer.
func (e *Engine) Select(ctx context.Context, req SelectRequest) (View, error) {
	return e.step(ctx, "select", req.Actor, req.Session, req.Version, oneOf(StateSelect), func(t *txn) (stepOut, error) {
		s := &t.s
		l := &s.levels[s.level]
		id, ok := CaseSafeID(req.Record)
		if !ok || !slices.Contains(l.results, id) {
			return stepOut{}, fieldErr(t.step, s.state, ErrNotInResults, "record", "pick a record from the last search's results")
		}
		st := e.types[l.searchType]
		if st == nil {
			return stepOut{}, stepErr(t.step, s.state, ErrUnknownSearchType, "the search type is no longer configured; search again")
		}
		return e.beginLevel(t, st, Ref{Object: st.Object, ID: id})
	})
}

// NotIdentified ends the session OutcomeNotIdentified: the agent cannot find the current
// level's person (the caller, a representative, or the customer they speak for), whether the
// search found nobody or not the right one. The engagement is updated to say so; nobody
// further is verified and nothing is counted against anyone.
func (e *Engine) NotIdentified(ctx context.Context, req NotIdentifiedRequest) (View, error) {
	return e.step(ctx, "not_identified", req.Actor, req.Session, req.Version, oneOf(StateSearch, StateSelect), func(t *txn) (stepOut, error) {
		l := &t.s.levels[t.s.level]
		l.results = l.results[:0]
		e.finish(&t.s, OutcomeNotIdentified, CauseNone)
		return stepOut{}, nil
	})
}

// Answer judges what the caller said to check-mode questions of the current level, in order,
// and stops as soon as the outcome of the level is certain (later answers are then ignored).
// Every answer is validated first: one bad answer rejects the whole request. Each wrong answer
// (and each "doesn't know") counts against the person at once; a locked person's session ends
// OutcomeLocked without judging anything.
func (e *Engine) Answer(ctx context.Context, req AnswerRequest) (View, error) {
	return e.step(ctx, "answer", req.Actor, req.Session, req.Version, oneOf(StateQuestions), func(t *txn) (stepOut, error) {
		s := &t.s
		l := &s.levels[s.level]
		var idxArr [8]int
		idx, err := pending(t.step, s, idxArr[:0], len(req.Answers), func(i int) string { return req.Answers[i].Field }, ModeCheck)
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
			switch {
			case a.DontKnow && a.Value != "":
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, member("answers", i, "dont_know"), fmt.Sprintf("the answer to %q is a value or doesn't know, not both", q.field))
			case len(a.Value) > maxAnswerLen:
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, member("answers", i, "value"), fmt.Sprintf("the answer to %q is longer than %d bytes", q.field, maxAnswerLen))
			}
			n := len(buf)
			if !a.DontKnow {
				buf = m.appendNormalized(buf, q.match(), int(q.digits), a.Value)
				if len(buf) == n {
					return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, member("answers", i, "value"), fmt.Sprintf("the answer to %q is empty or not a valid %s", q.field, q.match()))
				}
			}
			ends = append(ends, len(buf))
		}
		lk, done, err := e.startJudging(t)
		if err != nil || done {
			return stepOut{}, err
		}
		for i, a := range req.Answers {
			q := &l.questions[idx[i]]
			begin := 0
			if i > 0 {
				begin = ends[i-1]
			}
			correct := false
			if !a.DontKnow {
				mac := e.key.sum(s.id, q.field, buf[begin:ends[i]])
				correct = hmac.Equal(mac[:], q.mac[:]) && q.hasMAC
			}
			if e.judge(t, &lk, q, correct) {
				break
			}
		}
		return stepOut{}, nil
	})
}

// Attest records the agent's verdicts on attest-mode questions of the current level, in order,
// and stops as soon as the outcome of the level is certain. Wrong answers count as in Answer.
func (e *Engine) Attest(ctx context.Context, req AttestRequest) (View, error) {
	return e.step(ctx, "attest", req.Actor, req.Session, req.Version, oneOf(StateQuestions), func(t *txn) (stepOut, error) {
		s := &t.s
		l := &s.levels[s.level]
		var idxArr [8]int
		idx, err := pending(t.step, s, idxArr[:0], len(req.Attestations), func(i int) string { return req.Attestations[i].Field }, ModeAttest)
		if err != nil {
			return stepOut{}, err
		}
		for i, a := range req.Attestations {
			if a.DontKnow && a.Correct {
				return stepOut{}, fieldErr(t.step, s.state, ErrInvalidInput, member("attestations", i, "dont_know"),
					fmt.Sprintf("the answer to %q is correct or doesn't know, not both", l.questions[idx[i]].field))
			}
		}
		lk, done, err := e.startJudging(t)
		if err != nil || done {
			return stepOut{}, err
		}
		for i, a := range req.Attestations {
			if e.judge(t, &lk, &l.questions[idx[i]], a.Correct && !a.DontKnow) {
				break
			}
		}
		return stepOut{}, nil
	})
}

// Cancel ends a session that has no outcome yet with OutcomeCancelled. The wrong answers given
// in it stay counted.
func (e *Engine) Cancel(ctx context.Context, req CancelRequest) (View, error) {
	return e.step(ctx, "cancel", req.Actor, req.Session, req.Version, open, func(t *txn) (stepOut, error) {
		e.finish(&t.s, OutcomeCancelled, CauseNone)
		return stepOut{}, nil
	})
}

// Get returns the session's view. A session idle past its timeout is expired first (and its
// outcome recorded), so Get then shows OutcomeExpired.
func (e *Engine) Get(ctx context.Context, id string) (View, error) {
	t, version, _, err := e.load(ctx, "get", "", id, 0)
	if err != nil {
		return View{}, err
	}
	defer e.release(t)
	if t.s.state != StateDone && e.idleExpired(&t.s, t.now) {
		return e.expire(t, version)
	}
	values, err := e.revealValues(t, nil)
	if err != nil {
		return View{}, err
	}
	return e.view(&t.s, version, stepOut{values: values}), nil
}

// Person returns the record id of the person the session's current level is about (empty until
// one is known) and the session's version. Unlike Get it has no effect and asks the CRM
// nothing: an idle session is not expired, no value is fetched to reveal. It is for a limit
// per person in front of the answer steps.
func (e *Engine) Person(ctx context.Context, id string) (person string, version uint64, err error) {
	t, version, _, err := e.load(ctx, "person", "", id, 0)
	if err != nil {
		return "", 0, err
	}
	defer e.release(t)
	return t.s.levels[t.s.level].record.ID, version, nil
}

// EngagementStatus returns who is verified on an engagement (an EngagementRef: its
// ExternalIdentifier, or its Salesforce id when it has none) now: the verified marks whose
// validity has not ended, oldest first. It is for the agent a call is transferred to.
func (e *Engine) EngagementStatus(ctx context.Context, engagement string) ([]VerifiedMark, error) {
	const step = "engagement_status"
	if engagement == "" || len(engagement) > 255 {
		return nil, fieldErr(step, 0, ErrInvalidInput, "engagement", "give the engagement's external id (1 to 255 characters) or Salesforce id")
	}
	marks, err := e.store.VerifiedByEngagement(ctx, engagement, e.clock.Now())
	if err != nil {
		return nil, storeErr(step, 0, "read the verified marks", err)
	}
	return marks, nil
}

// Writeback rebuilds what the finished session writes to the CRM: the value its last step
// queued in the outbox, with the same keys (for an operator, or a test). It fails with
// ErrOutOfOrder when the session has no outcome yet.
func (e *Engine) Writeback(ctx context.Context, id string) (Writeback, error) {
	t, _, _, err := e.load(ctx, "writeback", "", id, 0)
	if err != nil {
		return Writeback{}, err
	}
	defer e.release(t)
	if t.s.state != StateDone {
		return Writeback{}, stepErr("writeback", t.s.state, ErrOutOfOrder, "the session has no outcome yet")
	}
	return e.writeback(&t.s), nil
}

// ResetFailures forgets every failure counted against a person, which lifts their lock at
// once, and keeps the reset in the store's audit. It returns the audit record.
func (e *Engine) ResetFailures(ctx context.Context, req ResetRequest) (Reset, error) {
	const step = "reset"
	person, ok := CaseSafeID(req.Person)
	switch {
	case !ok:
		return Reset{}, fieldErr(step, 0, ErrInvalidInput, "person", "the person needs a 15- or 18-character record id")
	case req.Actor == "" || !validActor(req.Actor):
		return Reset{}, fieldErr(step, 0, ErrInvalidInput, "actor", "an actor is required: "+actorRule)
	case strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 255:
		return Reset{}, fieldErr(step, 0, ErrInvalidInput, "reason", "the reason takes 1 to 255 characters")
	}
	r := Reset{Person: person, Actor: req.Actor, Reason: req.Reason, At: e.clock.Now()}
	r.Outbox = e.unlockEvents(r)
	r, err := e.store.ResetFailures(ctx, r)
	if err != nil {
		return Reset{}, storeErr(step, 0, "reset the failures", err)
	}
	r.Outbox = nil
	return r, nil
}

// maxAnswerLen bounds an answer, so that normalising it stays cheap.
const maxAnswerLen = 500

var objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// validObjectName reports whether s is an sObject API name: letters, digits and _, at most 60
// characters (40, "__c" and a namespace prefix of 15 with its "__": Salesforce Knowledge
// Article 000381913, https://help.salesforce.com/s/articleView?id=000381913).
func validObjectName(s string) bool { return len(s) <= 60 && objectName.MatchString(s) }

// validateLead says what is wrong with a new Lead, or "": a last name and a company are
// required, and no field may be longer than Salesforce takes (Lead field reference,
// https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html).
func validateLead(l *Lead) string {
	switch {
	case strings.TrimSpace(l.LastName) == "" || strings.TrimSpace(l.Company) == "":
		return "a lead needs a last name and a company"
	case utf8.RuneCountInString(l.FirstName) > 40 || utf8.RuneCountInString(l.LastName) > 80 ||
		utf8.RuneCountInString(l.Company) > 255 || utf8.RuneCountInString(l.Phone) > 40 ||
		utf8.RuneCountInString(l.Email) > 80:
		return "a lead's first name takes at most 40 characters, its last name 80, company 255, phone 40 and email 80"
	}
	return ""
}
