package flows

import "time"

// writeback builds the CRM write for a finished session from its ids and verdicts. Each row
// carries an idempotency key made from the session id, so the write can be sent again as it is.
func (e *Engine) writeback(s *session) Writeback {
	caller, customer := &s.levels[LevelCaller], &s.levels[LevelCustomer]
	w := Writeback{
		Session: s.id,
		Outcome: s.outcome,
		Engagement: EngagementUpdate{ID: s.engagement, Reason: s.reason, Verified: caller.passed,
			Status: EngagementStatusProgress},
		Topic: Topic{Key: s.id + "/topic", Name: s.reason},
	}
	if caller.passed {
		w.Engagement.VerifiedAt = time.Unix(0, caller.verifiedAt).UTC()
		if s.initiating != caller.record {
			w.Engagement.Initiating = caller.record // the verified caller, when it was unknown or another
		}
	}
	if !caller.record.IsZero() {
		a := Attendee{Key: s.id + "/attendee/" + caller.record.ID, Person: caller.record, Role: RoleSelf,
			Verified: caller.passed, Start: time.Unix(0, s.started).UTC()}
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
	case OutcomeVerified, OutcomeNotRequired, OutcomeNewCustomer:
		w.Topic.ProcessStatus = ProcessCompleted
	case OutcomeFailed, OutcomeLocked, OutcomeNotIdentified:
		w.Topic.ProcessStatus = ProcessFailed
	default:
		w.Topic.ProcessStatus = ProcessCancelled
	}
	return w
}
