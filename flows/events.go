package flows

import (
	"regexp"
	"slices"
	"strconv"
	"time"
)

// EventType is what happened, for the systems that subscribe to events (webhooks).
type EventType uint8

// The event types.
const (
	// EventVerified: a session ended OutcomeVerified.
	EventVerified EventType = iota + 1
	// EventFailed: a session ended OutcomeFailed.
	EventFailed
	// EventLocked: a session ended OutcomeLocked (the person is locked).
	EventLocked
	// EventUnlocked: an admin reset a person's failures, which lifts any lock. A lock that
	// lapses as its failures leave the window is no event: nothing is committed then.
	EventUnlocked
)

var eventTypeNames = [...]string{"", "verified", "failed", "locked", "unlocked"}

func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && t != 0 {
		return eventTypeNames[t]
	}
	return "invalid"
}

// ParseEventType reads an event type's name.
func ParseEventType(name string) (EventType, bool) {
	i := slices.Index(eventTypeNames[1:], name)
	return EventType(i + 1), i >= 0
}

// Subscription is a subscriber to events (a webhook, by its name) and the types it takes.
type Subscription struct {
	// Name names the subscriber: 1 to 64 lower-case letters, digits, - and _.
	Name   string
	Events []EventType
}

var subscriptionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Event is one event for one subscriber, queued in the outbox by the Commit of the step that
// causes it (or with the reset), so it is delivered at least once if and only if the step was
// committed. It holds ids, roles, levels and outcomes: never a name, a value or a session id.
type Event struct {
	Type EventType
	// Subscriber is the Subscription.Name the event is for.
	Subscriber string
	// ID identifies the event, the same on every delivery (the outbox key): receivers use it
	// to drop a repeat.
	ID string
	At time.Time
	// Session is the session's digest (AuditEvent.SessionKey): the base64url (unpadded) form
	// of the first 18 bytes of the SHA-256 of the session id, which a client holding the id
	// can compute. Empty for EventUnlocked.
	Session string
	// Engagement is the EngagementRef. Empty for EventUnlocked.
	Engagement string
	Outcome    Outcome
	Cause      Cause
	// People are the session's people, the caller first, each with the role they were asked
	// in and whether they passed; for EventUnlocked, the person reset.
	People []EventPerson
	// LockedUntil is when the lock lifts, for EventLocked.
	LockedUntil time.Time
	// Actor is who reset the person, for EventUnlocked (an API key's or admin's name).
	Actor string
}

// EventPerson is one person of an event.
type EventPerson struct {
	Record   Ref
	Role     VerifiedRole
	Level    Level
	Verified bool
}

// eventQueue is the outbox queue of subscriber's events: one queue per subscriber, so that
// its events are delivered in the order they were committed, one at a time, and a receiver
// that is down holds up only its own events.
func eventQueue(subscriber string) string { return "event/" + subscriber }

// sessionEvents appends to dst the outbox writes of the events that the end of session s
// causes, one per subscriber to its type.
func (e *Engine) sessionEvents(dst []OutboxWrite, t *txn) []OutboxWrite {
	s := &t.s
	if len(e.policy.Events) == 0 {
		return dst
	}
	var typ EventType
	switch s.outcome {
	case OutcomeVerified:
		typ = EventVerified
	case OutcomeFailed:
		typ = EventFailed
	case OutcomeLocked:
		typ = EventLocked
	default:
		return dst
	}
	var people []EventPerson
	for lv := LevelCaller; lv <= s.level; lv++ {
		l := &s.levels[lv]
		if l.record.IsZero() {
			continue
		}
		r := VerifiedCustomer
		if lv == LevelCaller {
			r = VerifiedSelf
			if s.subject == SubjectOther {
				r = VerifiedRepresentative
			}
		}
		people = append(people, EventPerson{Record: l.record, Role: r, Level: lv, Verified: l.passed})
	}
	for _, sub := range e.policy.Events {
		if !slices.Contains(sub.Events, typ) {
			continue
		}
		ev := &Event{Type: typ, Subscriber: sub.Name, ID: t.sessionKey() + "/event/" + sub.Name, At: t.now,
			Session: t.sessionKey(), Engagement: s.engagementRef(), Outcome: s.outcome, Cause: s.cause, People: people}
		if s.lockedUntil != 0 {
			ev.LockedUntil = time.Unix(0, s.lockedUntil).UTC()
		}
		dst = append(dst, OutboxWrite{Key: ev.ID, Engagement: eventQueue(sub.Name), At: t.now, Event: ev})
	}
	return dst
}

// unlockEvents returns the outbox writes of the EventUnlocked that reset r causes.
func (e *Engine) unlockEvents(r Reset) []OutboxWrite {
	var out []OutboxWrite
	for _, sub := range e.policy.Events {
		if !slices.Contains(sub.Events, EventUnlocked) {
			continue
		}
		id := "reset/" + r.Person + "/" + strconv.FormatInt(r.At.UnixNano(), 10) + "/event/" + sub.Name
		ev := &Event{Type: EventUnlocked, Subscriber: sub.Name, ID: id, At: r.At, Actor: r.Actor,
			People: []EventPerson{{Record: Ref{ID: r.Person}}}}
		out = append(out, OutboxWrite{Key: id, Engagement: eventQueue(sub.Name), At: r.At, Event: ev})
	}
	return out
}
