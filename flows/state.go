package flows

// State is where a session is in the flow.
type State uint8

// The states, in flow order. See docs/ARCHITECTURE.md for the diagram.
const (
	// StateReason: the session started; the agent picks a reason.
	StateReason State = iota + 1
	// StateSubject: the reason is confidential; the agent says whom the call is about.
	StateSubject
	// StateSearch: the agent searches for the person of the current level.
	StateSearch
	// StateSelect: the agent picks one of the results.
	StateSelect
	// StateQuestions: the caller answers the current level's questions.
	StateQuestions
	// StateDone: the session has its outcome.
	StateDone
)

var stateNames = [...]string{"none", "reason", "subject", "search", "select", "questions", "done"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// Outcome is how a session ended. The zero value means it has not ended.
type Outcome uint8

// The outcomes.
const (
	OutcomeNone Outcome = iota
	// OutcomeVerified: every level passed; the request may be processed.
	OutcomeVerified
	// OutcomeFailed: a level failed and no retry was left (or the representative may not
	// speak for the customer).
	OutcomeFailed
	// OutcomeNotRequired: the reason is not confidential.
	OutcomeNotRequired
	// OutcomeLocked: the person is locked: a wrong answer in this session reached the limit,
	// or other sessions' wrong answers did while this one was at the questions.
	OutcomeLocked
	// OutcomeCancelled: the agent cancelled.
	OutcomeCancelled
	// OutcomeExpired: the session sat idle too long.
	OutcomeExpired
	// OutcomeNotIdentified: the agent could not find the caller (or, at the customer level,
	// the customer): nobody was verified.
	OutcomeNotIdentified
	// OutcomeNewCustomer: the caller is a new customer, created as a Lead at the start, and no
	// search type asks a Lead's questions: there is no record to protect.
	OutcomeNewCustomer
)

var outcomeNames = [...]string{"", "verified", "failed", "not_required", "locked", "cancelled", "expired",
	"not_identified", "new_customer"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "invalid"
}

// Subject is whom the call is about.
type Subject uint8

// The subjects. The zero value means not chosen yet.
const (
	SubjectNone Subject = iota
	// SubjectSelf: the caller themself.
	SubjectSelf
	// SubjectOther: someone the caller represents.
	SubjectOther
)

var subjectNames = [...]string{"", "self", "other"}

func (s Subject) String() string {
	if int(s) < len(subjectNames) {
		return subjectNames[s]
	}
	return "invalid"
}

// Level is whose identity the current questions establish.
type Level uint8

// The levels.
const (
	// LevelCaller: the caller (themself, or the representative).
	LevelCaller Level = iota
	// LevelCustomer: the customer a verified representative speaks for.
	LevelCustomer
)

func (l Level) String() string {
	if l == LevelCustomer {
		return "customer"
	}
	return "caller"
}

// Cause says why a session failed; it never holds personal data.
type Cause uint8

// The causes.
const (
	CauseNone Cause = iota
	// CauseRequiredIncorrect: a required question was answered incorrectly.
	CauseRequiredIncorrect
	// CauseTooFewOptional: too few optional questions could still be answered correctly.
	CauseTooFewOptional
	// CauseNotAuthorised: the representative may not speak for the customer.
	CauseNotAuthorised
)

var causeNames = [...]string{"", "required_incorrect", "too_few_optional", "not_authorised"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "invalid"
}

// Verdict is the state of one question.
type Verdict uint8

// The verdicts.
const (
	VerdictPending Verdict = iota
	VerdictCorrect
	VerdictIncorrect
	// VerdictAnswered is what a View shows for an answered question while its verdict is
	// withheld (Policy.Verdicts on_decision, level not decided yet). A session never holds it.
	VerdictAnswered
)

var verdictNames = [...]string{"pending", "correct", "incorrect", "answered"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "invalid"
}
