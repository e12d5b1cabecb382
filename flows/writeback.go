package flows

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// writeback builds the CRM write for a finished session from its ids and verdicts. The write
// and each of its rows carry an idempotency key derived from the session id, so the write can
// be sent again as it is.
func (e *Engine) writeback(s *session) Writeback {
	caller, customer := &s.levels[LevelCaller], &s.levels[LevelCustomer]
	var keyBuf [96]byte
	key := appendSessionKey(keyBuf[:0], s.id)
	w := Writeback{
		Key:        string(append(key, "/writeback"...)),
		Outcome:    s.outcome,
		Engagement: EngagementUpdate{Reason: s.reason, Verified: caller.passed, Status: EngagementStatusProgress},
		Topic:      Topic{Key: string(append(key, "/topic"...)), Name: s.reason},
	}
	if s.engagement != "" {
		w.Engagement.ID = s.engagement // attached: updated by id, its creation fields left alone
		if caller.passed && s.initiating != caller.record {
			w.Engagement.Initiating = caller.record // the verified caller, when it was unknown or another
		}
	} else {
		w.Engagement.ExternalID, w.Engagement.Type = s.externalID, EngagementTypeInbound
		w.Engagement.Channel, w.Engagement.Authenticated = s.channel, s.authenticated
		w.Engagement.Start = time.Unix(0, s.started).UTC()
		w.Engagement.Initiating = s.initiating // the caller known at the start ...
		if caller.passed {
			w.Engagement.Initiating = caller.record // ... unless another was verified
		}
	}
	if caller.passed {
		w.Engagement.VerifiedAt = time.Unix(0, caller.verifiedAt).UTC()
	}
	if !caller.record.IsZero() {
		a := Attendee{Key: string(append(append(key, "/attendee/"...), caller.record.ID...)), Person: caller.record, Role: RoleSelf,
			Verified: caller.passed, Start: time.Unix(0, s.started).UTC()}
		if s.subject == SubjectOther {
			a.Role = RoleOnBehalf
		}
		if caller.passed {
			a.VerifiedAt = time.Unix(0, caller.verifiedAt).UTC()
		}
		w.Attendees = []Attendee{a}
	}
	if s.agent != "" {
		w.Attendees = append(w.Attendees, Attendee{Key: string(append(append(key, "/agent/"...), s.agent...)),
			Person: Ref{Object: "User", ID: s.agent}, Internal: true, Start: time.Unix(0, s.started).UTC()})
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
	case OutcomeVerified, OutcomeNotRequired, OutcomeNewCustomer:
		w.Topic.ProcessStatus = ProcessCompleted
	case OutcomeFailed, OutcomeLocked, OutcomeNotIdentified:
		w.Topic.ProcessStatus = ProcessFailed
	default:
		w.Topic.ProcessStatus = ProcessCancelled
	}
	return w
}

// engagementRef is the engagement's name inside idverify (View.Engagement, VerifiedKey,
// OutboxWrite.Engagement): its ExternalIdentifier when it has one, else its Salesforce id.
func (s *session) engagementRef() string {
	if s.externalID != "" {
		return s.externalID
	}
	return s.engagement
}

// appendSessionKey appends what the idempotency keys of a session's writes (its write-back rows, the
// failures it counts) start with: a digest of the session id, so that the id, a handle that
// lets its holder drive the session, does not travel into the outbox, the CRM or the store's
// failure records with a key; unkeyed, so that a write rebuilt after the secret changed keeps
// its key.
func appendSessionKey(dst []byte, id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.AppendEncode(dst, sum[:18])
}
