package flows

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The rules of a level: who may be asked (lockout, representation, a verified mark to reuse),
// which questions, how each answer is judged and counted, and when the level is decided.

// beginLevel makes p the current level's person: it checks the lockout, the representation
// rule and the verified mark, then fetches the expected values, keeps keyed hashes of the
// check-mode ones and asks the questions.
func (e *Engine) beginLevel(t *txn, st *SearchType, p Ref) (stepOut, error) {
	s := &t.s
	lk, err := e.readLockout(t, p.ID)
	if err != nil {
		return stepOut{}, err
	}
	if lk.locked() {
		return stepOut{}, &LockedError{StepError: StepError{Step: t.step, State: s.state, Kind: ErrLocked,
			Detail: "too many wrong answers for this person"}, Until: lk.until()}
	}
	l := &s.levels[s.level]
	if s.level == LevelCustomer && e.policy.Representation.Enabled() {
		ok, err := e.crm.MayRepresent(t.ctx, e.policy.Representation, s.levels[LevelCaller].record, p)
		if err != nil {
			return stepOut{}, portErr(t.step, s.state, "representation check", err)
		}
		if !ok {
			l.record = p
			t.note(CauseNotAuthorised.String())
			e.failLevel(s, CauseNotAuthorised) // no knowledge was tested: nothing is counted
			return stepOut{}, nil
		}
	}
	mark, verified, err := e.store.Verified(t.ctx, VerifiedKey{Engagement: s.engagementRef(), Person: p.ID, Role: role(s)}, t.now)
	if err != nil {
		return stepOut{}, storeErr(t.step, s.state, "read the verified mark", err)
	}
	l.record = p
	l.results = l.results[:0] // chosen: the other results are of no further use
	l.optionalMin = st.OptionalMin
	if verified {
		// Passing is a decision: it commits only if the person is still not locked.
		t.guard = lk.guard()
		e.passLevel(t, mark.At, false)
		return stepOut{}, nil
	}
	fields := make([]string, 0, len(st.Required)+len(st.Optional))
	for _, v := range st.Required {
		fields = append(fields, v.Field)
	}
	for _, v := range st.Optional {
		fields = append(fields, v.Field)
	}
	values, err := e.crm.Values(t.ctx, p, fields)
	if err != nil {
		return stepOut{}, portErr(t.step, s.state, "fetch the expected values", err)
	}
	l.questions = slices.Grow(l.questions[:0], len(fields))
	// Expected values are normalised into norm, which is cleared before returning.
	var normArr [128]byte
	norm := normArr[:0]
	defer func() { clear(normArr[:]); clear(norm[:cap(norm)]) }()
	for i := range fields {
		v, required := verifier(st, i)
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

// role is the role the current level verifies its person in.
func role(s *session) VerifiedRole {
	switch {
	case s.level == LevelCustomer:
		return VerifiedCustomer
	case s.subject == SubjectOther:
		return VerifiedRepresentative
	}
	return VerifiedSelf
}

// verifier returns st's i-th question: the required ones first, then the optional ones.
func verifier(st *SearchType, i int) (*Verifier, bool) {
	if i < len(st.Required) {
		return &st.Required[i], true
	}
	return &st.Optional[i-len(st.Required)], false
}

// revealValues returns the current person's verifier values when a pending attest-mode
// question reveals its expected value: values when the step fetched them already, else fresh
// from the CRM. It returns nil when nothing is revealed.
func (e *Engine) revealValues(t *txn, values map[string]string) (map[string]string, error) {
	s := &t.s
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
	values, err := e.crm.Values(t.ctx, l.record, fields)
	if err != nil {
		return nil, portErr(t.step, s.state, "fetch the values to reveal", err)
	}
	return values, nil
}

// pending checks that the n fields named by field(i) are distinct, pending questions of the
// current level in mode, and returns their indexes, appended to idx[:0].
func pending(step string, s *session, idx []int, n int, field func(int) string, mode Mode) ([]int, error) {
	l := &s.levels[s.level]
	list := "answers"
	if mode == ModeAttest {
		list = "attestations"
	}
	if n == 0 || n > len(l.questions) {
		return nil, fieldErr(step, s.state, ErrInvalidInput, list, fmt.Sprintf("give 1 to %d answers, one per question", len(l.questions)))
	}
	idx = slices.Grow(idx[:0], n)[:n]
	for i := range n {
		f := field(i)
		j := slices.IndexFunc(l.questions, func(q question) bool { return q.field == f })
		switch {
		case j < 0: // f is input: it is not echoed
			return nil, fieldErr(step, s.state, ErrNotAsked, member(list, i, "field"), fmt.Sprintf("answer %d is to no question of this level", i+1))
		case l.questions[j].verdict != VerdictPending || slices.Contains(idx[:i], j):
			return nil, fieldErr(step, s.state, ErrAlreadyAnswered, member(list, i, "field"), fmt.Sprintf("%q has an answer already", f))
		case l.questions[j].mode() != mode:
			return nil, fieldErr(step, s.state, ErrInvalidInput, member(list, i, "field"), fmt.Sprintf("%q is answered in %s mode", f, l.questions[j].mode()))
		}
		idx[i] = j
	}
	return idx, nil
}

// member names the member of item i of a request's list, as StepError.Field does:
// member("answers", 0, "value") is "answers[0].value".
func member(list string, i int, name string) string {
	return list + "[" + strconv.Itoa(i) + "]." + name
}

// lockout is what the store holds against a person: the times of their failures within the
// window when the step read them, then the wrong answers the step adds.
type lockout struct {
	person string
	since  time.Time
	times  []time.Time
	read   int // how many failures the store held
	max    int
	window time.Duration
}

// readLockout reads person's failures within the window ending now.
func (e *Engine) readLockout(t *txn, person string) (lockout, error) {
	since := t.now.Add(-e.window)
	times, err := e.store.Failures(t.ctx, person, since)
	if err != nil {
		return lockout{}, storeErr(t.step, t.s.state, "read the failures", err)
	}
	return lockout{person: person, since: since, times: times, read: len(times), max: e.maxFail, window: e.window}, nil
}

// locked reports whether the person has max failures or more within the window.
func (l *lockout) locked() bool { return len(l.times) >= l.max }

// until is when a lock lifts: when the failure that leaves the window brings the count below
// max, i.e. the max-th most recent one.
func (l *lockout) until() time.Time {
	slices.SortFunc(l.times, time.Time.Compare)
	return l.times[len(l.times)-l.max].Add(l.window)
}

// add records a wrong answer at at.
func (l *lockout) add(at time.Time) { l.times = append(l.times, at) }

// guard makes a commit conditional on the failures the step read.
func (l *lockout) guard() Guard { return Guard{Person: l.person, Since: l.since, Failures: l.read} }

// startJudging reads the current person's lockout before any answer of the step is judged. A
// locked person's session ends OutcomeLocked, and done is true: nothing is judged. Otherwise
// the commit is guarded by what was read, so that no other session's failures can slip in
// between and let more than max wrong answers through.
func (e *Engine) startJudging(t *txn) (lk lockout, done bool, err error) {
	s := &t.s
	lk, err = e.readLockout(t, s.levels[s.level].record.ID)
	if err != nil {
		return lockout{}, false, err
	}
	t.guard = lk.guard()
	if lk.locked() {
		t.note("locked")
		e.lock(s, &lk, CauseNone)
		return lk, true, nil
	}
	return lk, false, nil
}

// judge records the verdict on q, counts a wrong answer against the person at once, and
// decides the level as soon as its outcome is certain, or ends the session when the wrong
// answer locked the person. It reports whether the level is over, so that later answers of
// the step are ignored.
func (e *Engine) judge(t *txn, lk *lockout, q *question, correct bool) bool {
	s := &t.s
	rule := string(q.match())
	if q.mode() == ModeAttest {
		rule = string(ModeAttest)
	}
	if correct {
		q.verdict = VerdictCorrect
	} else {
		q.verdict = VerdictIncorrect
		t.fail(lk.person, failureKey(s, q.field))
		lk.add(t.now)
	}
	t.note(q.field, ":", rule, "=", q.verdict.String())
	passed, cause := decide(&s.levels[s.level])
	switch {
	case passed:
		e.passLevel(t, t.now, true)
	case cause != CauseNone && lk.locked():
		t.note(cause.String(), " locked")
		e.lock(s, lk, cause)
	case cause != CauseNone:
		t.note(cause.String())
		e.failLevel(s, cause)
	case lk.locked():
		t.note("locked")
		e.lock(s, lk, CauseNone) // not decided, but no answer would be judged any more
	default:
		return false
	}
	return true
}

// failureKey identifies a wrong answer: the session, the level's attempt (the level and the
// retries so far make it unique within the session) and the question.
func failureKey(s *session, field string) string {
	var b [128]byte
	k := append(appendSessionKey(b[:0], s.id), "/failure/"...)
	k = append(k, '0'+byte(s.level), '/')
	k = strconv.AppendInt(k, int64(s.retries), 10)
	k = append(k, '/')
	k = append(k, field...)
	return string(k)
}

// decide reports whether the level is passed (every required answer right and optional_min
// optional ones right) or failed, and why (a wrong required answer, or too few optional
// questions left that could be right); neither while its outcome is uncertain.
func decide(l *level) (passed bool, failed Cause) {
	requiredOK := true
	optCorrect, optPending := 0, 0
	for i := range l.questions {
		q := &l.questions[i]
		switch {
		case q.required && q.verdict == VerdictIncorrect:
			return false, CauseRequiredIncorrect
		case q.required && q.verdict == VerdictPending:
			requiredOK = false
		case !q.required && q.verdict == VerdictCorrect:
			optCorrect++
		case !q.required && q.verdict == VerdictPending:
			optPending++
		}
	}
	if optCorrect+optPending < l.optionalMin {
		return false, CauseTooFewOptional
	}
	return requiredOK && optCorrect >= l.optionalMin, CauseNone
}

// lock ends the session because the person is locked.
func (e *Engine) lock(s *session, lk *lockout, c Cause) {
	s.lockedUntil = lk.until().UnixNano()
	e.finish(s, OutcomeLocked, c)
}

// failLevel ends the current level unsuccessfully: it retries the level or fails the session.
// Its wrong answers were counted when they were given.
func (e *Engine) failLevel(s *session, c Cause) {
	l := &s.levels[s.level]
	if s.retries < e.policy.Session.MaxRetries {
		s.retries++
		searchType := l.searchType
		*l = level{results: l.results[:0], questions: l.questions[:0]} // keep the arrays, for reuse
		if s.level == LevelCustomer {
			l.searchType = searchType // the customer level always searches with the linked type
		}
		s.cause = c
		s.state = StateSearch
		return
	}
	e.finish(s, OutcomeFailed, c)
}

// passLevel ends the current level successfully, verified at at: it sets the verified mark
// (when mark is set: a mark reused after a transfer is not extended) and moves to the customer
// level (for a representative) or ends the session verified.
func (e *Engine) passLevel(t *txn, at time.Time, mark bool) {
	s := &t.s
	l := &s.levels[s.level]
	l.passed, l.verifiedAt = true, at.UnixNano()
	if mark {
		t.note("passed")
		t.marks = append(t.marks, VerifiedMark{
			VerifiedKey: VerifiedKey{Engagement: s.engagementRef(), Person: l.record.ID, Role: role(s)},
			At:          at, Until: at.Add(e.ttl)})
	} else {
		t.note("mark_reused")
	}
	if s.level == LevelCaller && s.subject == SubjectOther {
		// The linked search type, as the policy says now; none when the representative's
		// search type was removed since (the customer level then says so when searching).
		linked := ""
		if st := e.types[l.searchType]; st != nil {
			linked = st.Linked
		}
		s.level = LevelCustomer
		c := &s.levels[LevelCustomer]
		*c = level{searchType: linked, results: c.results[:0], questions: c.questions[:0]}
		s.state = StateSearch
		s.cause = CauseNone
		return
	}
	e.finish(s, OutcomeVerified, CauseNone)
}
