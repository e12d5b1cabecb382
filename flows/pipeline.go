package flows

import (
	"context"
	"errors"
	"strings"
	"time"
)

// stateSet is a set of states: those a step is allowed in.
type stateSet uint8

func oneOf(states ...State) stateSet {
	var set stateSet
	for _, s := range states {
		set |= 1 << s
	}
	return set
}

func (set stateSet) has(s State) bool { return set&(1<<s) != 0 }

// open is every state of a session that has no outcome yet.
var open = oneOf(StateReason, StateSubject, StateSearch, StateSelect, StateQuestions)

// txn is one run of a step: the session it changes, the time it runs at, and the side effects
// committed with the session. txns are pooled, so a step reuses the session's and the effects'
// arrays of an earlier one.
type txn struct {
	ctx   context.Context
	step  string
	actor string
	now   time.Time
	s     session
	from  State // the session's state when loaded (0 for a start)
	// guard, failures and marks go into the Commit with the session, and with the write-back
	// and the audit event.
	guard    Guard
	failures []Failure
	marks    []VerifiedMark
	// rule collects what decided, for the audit event (see AuditEvent.Rule).
	rule []byte
	// keyOf and key cache the digest of the session id keyOf.
	keyOf, key string
	// outbox holds the write-back and the events of the step that ends a session; most steps
	// queue one write, which outboxArr holds without an allocation.
	outbox    []OutboxWrite
	outboxArr [1]OutboxWrite
	audit     [1]AuditEvent
}

// fail counts a wrong answer against person.
func (t *txn) fail(person, key string) {
	t.failures = append(t.failures, Failure{Person: person, Key: key, At: t.now})
}

// note adds words to what decided, for the audit event.
func (t *txn) note(words ...string) {
	if len(t.rule) > 0 {
		t.rule = append(t.rule, ' ')
	}
	for _, w := range words {
		t.rule = append(t.rule, w...)
	}
}

// sessionKey returns the digest of the session id (appendSessionKey).
func (t *txn) sessionKey() string {
	if t.keyOf != t.s.id || t.key == "" {
		var b [32]byte
		t.keyOf, t.key = t.s.id, string(appendSessionKey(b[:0], t.s.id))
	}
	return t.key
}

// newTxn returns a pooled txn for step, at now, with no effects yet. Its session holds
// whatever it held before: load decodes over it, Start resets it.
func (e *Engine) newTxn(ctx context.Context, step, actor string, now time.Time) *txn {
	t, _ := e.txns.Get().(*txn)
	if t == nil {
		t = &txn{}
	}
	t.ctx, t.step, t.actor, t.now, t.guard, t.from = ctx, step, actor, now, Guard{}, 0
	t.failures, t.marks, t.rule = t.failures[:0], t.marks[:0], t.rule[:0]
	return t
}

// release returns a txn to the pool once nothing refers to it.
func (e *Engine) release(t *txn) {
	clear(t.failures)
	clear(t.marks)
	clear(t.outbox)
	t.outbox, t.outboxArr, t.audit = nil, [1]OutboxWrite{}, [1]AuditEvent{}
	t.ctx = nil
	e.txns.Put(t)
}

// stepOut is what a step hands back besides the session: values that live only for this call.
type stepOut struct {
	rows      []Row             // search results, with their values
	truncated bool              // the search found more than maxResults rows
	values    map[string]string // the current person's verifier values, for revealing
}

// maxRuns bounds how often one step runs because the failures of the person it judged changed
// before it committed. Each rerun means another session counted a wrong answer against that
// person (or an admin reset them): other sessions count at most lockout.max_failures before
// the person is locked, and the run after that sees the lock and ends the session without
// judging. So honest traffic never reaches max_failures + 2 runs (one spare for a reset); the
// bound only stops a step that resets keep sending round.
func (e *Engine) maxRuns() int { return e.maxFail + 2 }

// step runs fn on session id, if the session is in one of the allowed states and not idle,
// and commits the result with fn's side effects. Nothing is stored when fn fails. When the
// commit finds the person's failures changed, the step runs again on what the store holds.
func (e *Engine) step(ctx context.Context, name, actor, id string, version uint64, allowed stateSet,
	fn func(t *txn) (stepOut, error)) (View, error) {
	if !validActor(actor) {
		return View{}, fieldErr(name, 0, ErrInvalidInput, "actor", actorRule)
	}
	for run := 1; ; run++ {
		v, again, err := e.runStep(ctx, name, actor, id, version, allowed, fn)
		if !again {
			return v, err
		}
		if run >= e.maxRuns() {
			return View{}, conflict(name, 0, e.currentVersion(ctx, id),
				"the person's failures kept changing while the step ran; try again", nil)
		}
	}
}

// runStep is one run of step. again reports that the commit found the person's failures
// changed: nothing was stored, and the step should run again.
func (e *Engine) runStep(ctx context.Context, name, actor, id string, version uint64, allowed stateSet,
	fn func(t *txn) (stepOut, error)) (v View, again bool, err error) {
	t, current, cached, err := e.load(ctx, name, actor, id, version)
	if err != nil {
		return View{}, false, err
	}
	defer e.release(t)
	// fail returns a step's failure before its Commit. On a cached copy the store has not been
	// read: when it no longer holds that version, the step fails as load would have failed it
	// (a stale version, or no such session), not as it failed on a copy that is out of date.
	fail := func(err error) (View, bool, error) {
		if cached {
			if stale := e.staleVersion(ctx, name, id, current); stale != nil {
				return View{}, false, stale
			}
		}
		return View{}, false, err
	}
	s := &t.s
	if s.state == StateDone {
		return fail(stepErr(name, s.state, ErrFinished, "the session ended "+s.outcome.String()))
	}
	if e.idleExpired(s, t.now) {
		v, err := e.expire(t, current)
		if err == nil {
			err = stepErr(name, StateDone, ErrExpired, "start a new session")
		}
		return v, false, err
	}
	if !allowed.has(s.state) {
		return fail(stepErr(name, s.state, ErrOutOfOrder, "the session expects step "+expectedStep(s.state)))
	}
	// A step that fails stores nothing, so its error names the state the session is still in,
	// not the one fn had moved its copy to (SetSubject refusing a locked caller in StateSubject
	// had said StateSearch).
	state := s.state
	failStep := func(err error) (View, bool, error) {
		var se *StepError
		if errors.As(err, &se) && se.State != 0 {
			se.State = state
		}
		return fail(err)
	}
	out, err := fn(t)
	if err != nil {
		return failStep(err)
	}
	if out.values, err = e.revealValues(t, out.values); err != nil {
		return failStep(err)
	}
	s.updated = t.now.UnixNano()
	next, err := e.commit(t, current)
	if errors.Is(err, ErrFailuresChanged) {
		return View{}, true, nil
	}
	if err != nil {
		return View{}, false, err
	}
	return e.view(s, next, out), false, nil
}

func expectedStep(s State) string {
	switch s {
	case StateReason:
		return "reason"
	case StateSubject:
		return "subject"
	case StateSearch:
		return "search or not identified"
	case StateSelect:
		return "select, search or not identified"
	case StateQuestions:
		return "answer or attest"
	}
	return "none"
}

// load reads and decodes session id into a pooled txn, at the clock's time. A version that is
// not zero must be the session's current one; when the engine committed the session at that
// version itself, it runs on what it committed (sessionCache, cached true) and the store's
// Commit checks the version.
func (e *Engine) load(ctx context.Context, step, actor, id string, version uint64) (t *txn, current uint64, cached bool, err error) {
	if id == "" || len(id) > 64 {
		return nil, 0, false, stepErr(step, 0, ErrNotFound, "give the session id Start returned")
	}
	var data []byte
	if version != 0 {
		data, cached = e.cache.get(id, version)
	}
	current = version
	if !cached {
		if data, current, err = e.store.Get(ctx, id); err != nil {
			return nil, 0, false, storeErr(step, 0, "load the session", err)
		}
	}
	t = e.newTxn(ctx, step, actor, time.Time{})
	if err := t.s.decode(data); err != nil {
		e.release(t)
		return nil, 0, false, &StepError{Step: step, Kind: ErrUnavailable, Detail: "the stored session cannot be read", Err: err}
	}
	if version != 0 && version != current {
		err := conflict(step, t.s.state, current, "reload the session and try again", nil)
		e.release(t)
		return nil, 0, false, err
	}
	t.now, t.from = e.clock.Now(), t.s.state
	return t, current, cached, nil
}

// staleVersion reads session id from the store and returns the error load gives a step
// naming version when the store no longer holds it: a VersionConflictError with the stored
// state and version, or ErrNotFound. It returns nil when the store holds that version.
func (e *Engine) staleVersion(ctx context.Context, step, id string, version uint64) error {
	state, current, err := e.stored(ctx, id)
	switch {
	case err != nil:
		return storeErr(step, 0, "load the session", err)
	case current == version:
		return nil
	}
	return conflict(step, state, current, "reload the session and try again", nil)
}

// stored reads the state and version session id has in the store.
func (e *Engine) stored(ctx context.Context, id string) (State, uint64, error) {
	data, version, err := e.store.Get(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	var s session
	if s.decode(data) != nil {
		return 0, version, nil // the version is what a conflict needs most
	}
	return s.state, version, nil
}

// commit stores t's session, its failures and marks in one Commit on the version read, with
// the step's audit event and, when the step ended the session, its write-back for the outbox.
// The store's ErrFailuresChanged is returned as it is, for step to run again.
func (e *Engine) commit(t *txn, version uint64) (uint64, error) {
	s := &t.s
	ref := s.engagementRef()
	c := Commit{Session: s.id, Data: s.encode(make([]byte, 0, s.encodedSize())),
		Version: version, Guard: t.guard, Failures: t.failures, Marks: t.marks}
	if s.state == StateDone { // only the step that ends a session commits it done
		w := e.writeback(s)
		t.outboxArr[0] = OutboxWrite{Key: w.Key, Engagement: ref, At: t.now, Writeback: w}
		t.outbox = t.outboxArr[:]
		t.outbox = e.sessionEvents(t.outbox, t)
		c.Outbox = t.outbox
	} else {
		c.Expires = time.Unix(0, s.updated).Add(e.idle)
	}
	person := t.guard.Person
	if person == "" {
		person = s.levels[s.level].record.ID
	}
	t.audit[0] = AuditEvent{At: t.now, SessionKey: t.sessionKey(), Engagement: ref, Actor: t.actor, Step: t.step,
		From: t.from, To: s.state, Outcome: s.outcome, Person: person, Failures: len(t.failures)}
	if len(t.rule) > 0 {
		t.audit[0].Rule = string(t.rule)
	}
	c.Audit = t.audit[:]
	next, err := e.store.Commit(t.ctx, c)
	switch {
	case err != nil:
		e.cache.drop(s.id)
	case s.state == StateDone:
		e.cache.drop(s.id)
	default:
		e.cache.put(s.id, next, c.Data)
	}
	switch {
	case errors.Is(err, ErrVersionConflict) && version != 0:
		// Another step committed since this one loaded the session (or, on a cached copy,
		// before): say at which version, and in which state, the store holds it.
		state, current, _ := e.stored(t.ctx, s.id)
		return 0, conflict(t.step, state, current, "reload the session and try again", err)
	case err != nil && !errors.Is(err, ErrFailuresChanged):
		return 0, storeErr(t.step, s.state, "store the session", err)
	}
	return next, err
}

// currentVersion reads session id's version for a VersionConflictError: 0 when it cannot be
// read (the conflict is reported all the same).
func (e *Engine) currentVersion(ctx context.Context, id string) uint64 {
	_, v, err := e.store.Get(ctx, id)
	if err != nil {
		return 0
	}
	return v
}

func (e *Engine) idleExpired(s *session, now time.Time) bool {
	return now.UnixNano()-s.updated > int64(e.idle)
}

// expire ends t's session with OutcomeExpired and stores it, with its write-back.
func (e *Engine) expire(t *txn, version uint64) (View, error) {
	s := &t.s
	e.finish(s, OutcomeExpired, CauseNone)
	t.guard, t.failures, t.marks, t.rule = Guard{}, t.failures[:0], t.marks[:0], t.rule[:0]
	t.note("idle_timeout")
	next, err := e.commit(t, version)
	if err != nil {
		return View{}, err
	}
	return e.view(s, next, stepOut{}), nil
}

// ExpireIdle ends up to max sessions left open past session.idle_timeout, as a step or Get on
// each would: OutcomeExpired, recorded with its write-back (queued in the outbox) and an audit
// event with no actor. So an engagement whose call was abandoned still gets its outcome. It
// returns how many it ended, and needs a store that implements IdleSessions. A session that
// a step changed meanwhile is left alone (it is no longer idle, or the next call ends it).
// A service calls it on a timer (adapter/store's Sweep does).
func (e *Engine) ExpireIdle(ctx context.Context, max int) (int, error) {
	idle, ok := e.store.(IdleSessions)
	if !ok {
		return 0, errors.New("flows: the session store cannot list idle sessions")
	}
	ids, err := idle.IdleSessions(ctx, e.clock.Now(), max)
	if err != nil {
		return 0, storeErr("expire", 0, "list the idle sessions", err)
	}
	n := 0
	var failed error
	for _, id := range ids {
		ended, err := e.expireIdle(ctx, id)
		switch {
		case errors.Is(err, ErrVersionConflict), errors.Is(err, ErrNotFound):
			// A step (or another replica's sweep) came first.
		case ctx.Err() != nil:
			return n, errors.Join(failed, err)
		case err != nil:
			// One session that cannot be ended (unreadable) must not stop the others: it is
			// listed first at every round, and would hold every later one open for ever.
			if failed == nil {
				failed = err
			}
		case ended:
			n++
		}
	}
	return n, failed
}

// expireIdle ends session id if it is open and idle past its timeout, and reports whether it
// did. It reads no CRM.
func (e *Engine) expireIdle(ctx context.Context, id string) (bool, error) {
	t, version, _, err := e.load(ctx, "expire", "", id, 0)
	if err != nil {
		return false, err
	}
	defer e.release(t)
	if t.s.state == StateDone || !e.idleExpired(&t.s, t.now) {
		return false, nil
	}
	_, err = e.expire(t, version)
	return err == nil, err
}

func (e *Engine) finish(s *session, o Outcome, c Cause) {
	s.state, s.outcome, s.cause = StateDone, o, c
}

// actorRule says what an actor may be.
const actorRule = "the actor takes at most 64 letters, digits and . _ - @ : characters"

const externalIDRule = "the external id (the CTI call id) takes at most 255 letters, digits and - _ . : @ ~ characters, " +
	"and ends in neither a full stop nor a full stop and letters only (such as .inc or .json)"

// validExternalID reports whether id may name an engagement idverify creates: the write-back
// upserts it by PATCH sobjects/EngagementInteraction/ExternalIdentifier/{id}, so id must be one
// path segment Salesforce reads back as it is. Characters a URL gives a meaning to (/ ? # %)
// or that a proxy may rewrite (spaces, \) are refused, and so are "." and "..", which resolve
// as path steps; and an ending of a full stop and letters, which Salesforce may take as a
// file format: "example@email.inc [...] returns a 404 not found error"
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm).
// Refused at the start, such an id never reaches a write-back that would only be parked.
func validExternalID(id string) bool {
	if len(id) > 255 || !lettersDigitsAnd(id, "-_.:@~") {
		return false
	}
	dot := strings.LastIndexByte(id, '.')
	// After the last full stop, a digit or a sign: no format's extension. "", ".", "..",
	// "x." and "x.inc" have none.
	return dot < 0 || strings.ContainsAny(id[dot+1:], "0123456789-_:@~")
}

// validActor reports whether actor is empty or a short token: a name or id, never free text.
func validActor(actor string) bool {
	return len(actor) <= 64 && lettersDigitsAnd(actor, "._-@:")
}

// lettersDigitsAnd reports whether s holds only ASCII letters, digits and bytes of extra.
func lettersDigitsAnd(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}
