package salesforce

import (
	"context"

	"github.com/idverify/idverify/flows"
)

// OpenEngagement implements flows.Recorder: one read of the EngagementInteraction a session
// attaches to, GET sobjects/EngagementInteraction/{id}?fields=Id,ExternalIdentifier,
// InitiatingAttendeeId. The initiating attendee's object is read from its id's key prefix,
// which Salesforce fixes for Account (001), Contact (003) and Lead (00Q); another attendee
// (none of these) is reported as none. An id that names no engagement is
// flows.ErrRecordNotFound.
func (a *Adapter) OpenEngagement(ctx context.Context, id string) (flows.OpenedEngagement, error) {
	const op = "open the engagement"
	parsed, err := checkRef(op, flows.Ref{Object: "EngagementInteraction", ID: id})
	if err != nil {
		return flows.OpenedEngagement{}, err
	}
	rec, _, err := a.c.Get(ctx, "EngagementInteraction", parsed, "Id", "ExternalIdentifier", "InitiatingAttendeeId")
	if err != nil {
		return flows.OpenedEngagement{}, fail(op, err)
	}
	return flows.OpenedEngagement{ID: string(rec.ID()), ExternalID: text(rec, "ExternalIdentifier"),
		Initiating: refOf(text(rec, "InitiatingAttendeeId"))}, nil
}
