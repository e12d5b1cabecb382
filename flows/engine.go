package flows

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Engine runs verification sessions: each step loads the session from the SessionStore,
// checks that the step is allowed, applies it and commits the result together with its side
// effects (the wrong answers counted against a person, the verified marks set, the step's
// audit event and, for the step that ends the session, its write-back to the CRM, queued in
// the store's outbox) in one SessionStore.Commit, conditional on the session's version and on
// the person's failures. An Engine is safe for concurrent use. It keeps the sessions it
// committed last (sessionCache) only to skip the read of a step that names the version it
// committed; the store's version check at Commit still decides, so any number of engines
// (replicas) may share one store. The engine never writes the outcome
// to the CRM itself: an outbox worker delivers the queued writes through the Recorder.
//
// A step that returns an error has changed nothing, with one exception: a step on a session
// that sat idle past its timeout records OutcomeExpired (and queues its write-back) and returns
// ErrExpired.
//
// The files of the package split the engine by reason to change: requests.go (what callers
// send), steps.go (each step), pipeline.go (load, run, commit), levels.go (the rules of a
// level: questions, verdicts, attempts, lockout), writeback.go (what reaches the CRM) and
// view.go (what the agent sees).
type Engine struct {
	policy Policy
	types  map[string]*SearchType
	// txns pools the state of a step run, whose session slices a step reuses.
	txns    sync.Pool
	crm     CRM
	rec     Recorder
	store   SessionStore
	cache   sessionCache
	clock   Clock
	key     *macKey
	idle    time.Duration
	ttl     time.Duration
	window  time.Duration
	maxFail int
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
	e.policy.Verdicts = orDefault(p.Verdicts, VerdictsOnDecision)
	// A deep copy: the caller may reuse p.
	e.policy.Reasons = slices.Clone(p.Reasons)
	e.policy.Representation.Roles = slices.Clone(p.Representation.Roles)
	e.policy.SearchTypes = slices.Clone(p.SearchTypes)
	e.policy.Events = slices.Clone(p.Events)
	for i := range e.policy.Events {
		e.policy.Events[i].Events = slices.Clone(p.Events[i].Events)
	}
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
