package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// markerPrefix starts the ProcessName of a topic idverify writes without a key field: the
// process that wrote it and the write's key, which makes a delivered write-back recognisable.
const markerPrefix = "idverify:"

// WriteOutcome implements flows.Recorder: the whole write-back is one composite request (one
// API call), all or none, so a crash between Salesforce's commit and the outbox's never leaves
// half a write behind:
//
//  1. the engagement: PATCH sobjects/EngagementInteraction/ExternalIdentifier/{key} (an upsert,
//     creating it with Type, CommunicationChannel, StartDateTime, IsAttendeeAuthenticated on
//     first delivery), or PATCH sobjects/EngagementInteraction/{id} for an engagement the
//     session attached to; with Reason, Status, IsAttendeeVerified, AttendeeVerificationTime
//     and InitiatingAttendeeId;
//  2. the rows, each referring to the engagement: the EngagementTopic (Name: the reason,
//     RelatedPersonId, ProcessStatus) and the EngagementAttendee rows (ExternalAttendeeId,
//     Role, IsVerified, VerificationTime, StartDateTime; for the agent, an internal attendee:
//     InternalAttendeeId and StartDateTime).
//
// The rows are idempotent either way Options.WritebackKeyField allows:
//
//   - with it, each row is upserted by its key (PATCH sobjects/EngagementTopic/{field}/{key});
//   - without it, step 2 is guarded: a query in the same request,
//     SELECT Id FROM EngagementInteraction WHERE <the engagement> AND Id NOT IN (SELECT
//     EngagementId FROM EngagementTopic WHERE ProcessName = 'idverify:<key>'), names the
//     engagement only while this write's topic is not there, and the rows refer to the
//     engagement through it (@{guard.records[0].Id}). A write delivered before finds no row,
//     its rows' reference fails and the request is rolled back whole.
//
// When Salesforce refuses the request, one more call (a composite of two queries) asks whether
// the write's rows are there, delivered before (then WriteOutcome succeeds), and whether several
// engagements hold the external id: ExternalIdentifier is an idLookup field, not a unique one,
// and an upsert matching several answers 300. That is a rejection (ErrRejected, code
// MULTIPLE_CHOICES) the outbox parks for an operator, as it parks validation errors. A failure
// that may pass (the org unreachable or over a limit, a locked row, no answer) is
// flows.ErrUnavailable: the outbox tries again.
func (a *Adapter) WriteOutcome(ctx context.Context, w flows.Writeback) error {
	const op = "write-back"
	wb, err := a.writeback(w)
	if err != nil {
		return &Error{Op: op, Kind: ErrRejected, Err: err}
	}
	res, _, err := a.c.Composite(ctx, true, wb.subs...)
	if err == nil || res == nil {
		return fail(op, err) // done, or no answer: nothing says what happened, try again
	}
	// Salesforce answered and refused. Was it delivered before, or does the engagement's key
	// match several? One more call says.
	delivered, several, cerr := a.diagnose(ctx, wb)
	switch {
	case cerr != nil:
		return fail(op+": look for an earlier delivery", cerr)
	case delivered:
		return nil
	case several || errors.Is(err, sfdc.ErrMultipleMatches):
		return &Error{Op: op + ": several engagements hold the external id", Kind: ErrRejected,
			Err: &sfdc.Error{Op: "upsert EngagementInteraction", StatusCode: 300, Code: "MULTIPLE_CHOICES"}}
	}
	return fail(op, err)
}

// diagnose asks, in one composite call, whether the write's rows are there (it was delivered
// before) and whether several engagements hold its external id (Salesforce may report that
// 300 only as the rolled-back request it caused).
func (a *Adapter) diagnose(ctx context.Context, wb *writebackRequest) (delivered, several bool, err error) {
	var subs []sfdc.Subrequest
	if wb.delivered != nil {
		subs = append(subs, sfdc.CompositeQuery("delivered", wb.delivered))
	}
	if wb.holders != nil {
		subs = append(subs, sfdc.CompositeQuery("holders", wb.holders))
	}
	if len(subs) == 0 {
		return false, false, nil
	}
	res, _, err := a.c.Composite(ctx, false, subs...)
	if err != nil {
		return false, false, err
	}
	count := func(ref string) int {
		r, ok := res.Result(ref)
		var page struct {
			TotalSize int `json:"totalSize"`
		}
		if !ok || json.Unmarshal(r.Body, &page) != nil {
			return 0
		}
		return page.TotalSize
	}
	return count("delivered") > 0, count("holders") > 1, nil
}

// dateTime is t as Salesforce keeps it: "Regular dateTime fields are full timestamps with a
// precision of one second" (Object Reference, Primitive Data Types:
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/primitive_data_types.htm).
// The guard finds an attendee row by its StartDateTime: a value with milliseconds would never
// equal the one stored, and a second delivery would create the row again.
func dateTime(t time.Time) sfdc.DateTime { return sfdc.DateTime{Time: t.Truncate(time.Second)} }

// writebackRequest is a Writeback as subrequests, and the query that finds it delivered.
type writebackRequest struct {
	subs      []sfdc.Subrequest
	delivered *sfdc.Query // finds the write's rows; nil with key fields (upserts need no check) or no rows
	holders   *sfdc.Query // finds (up to 2) engagements holding the external id; nil for an attached one
}

// writeback builds the composite request of w. It refuses (without sending anything) a write
// whose ids could not be Salesforce's.
func (a *Adapter) writeback(w flows.Writeback) (*writebackRequest, error) {
	e := w.Engagement
	eng := map[string]any{"IsAttendeeVerified": e.Verified}
	if e.Status != "" {
		eng["Status"] = e.Status
	}
	if e.Reason != "" {
		eng["Reason"] = e.Reason
	}
	if e.Verified && !e.VerifiedAt.IsZero() {
		eng["AttendeeVerificationTime"] = dateTime(e.VerifiedAt)
	}
	if !e.Initiating.IsZero() {
		id, err := sfdc.ParseID(e.Initiating.ID)
		if err != nil {
			return nil, errors.New("the initiating attendee's id is not a record id")
		}
		eng["InitiatingAttendeeId"] = id
	}
	r := &writebackRequest{}
	var match sfdc.Cond             // the engagement, in a query
	var through sfdc.Cond           // the engagement, through a row's Engagement relationship
	engRef := sfdc.Ref("eng", "id") // the engagement in a later subrequest (an update answers no id)
	switch {
	case e.ID != "" && e.ExternalID != "":
		return nil, errors.New("the engagement has both an id and an external id")
	case e.ID != "":
		id, err := sfdc.ParseID(e.ID)
		if err != nil {
			return nil, errors.New("the engagement's id is not a record id")
		}
		r.subs = append(r.subs, sfdc.CompositeUpdate("eng", "EngagementInteraction", string(id), eng))
		match, through, engRef = sfdc.Eq("Id", id), sfdc.Eq("EngagementId", id), string(id)
	case e.ExternalID != "":
		eng["Type"] = flows.EngagementTypeInbound
		if e.Type != "" {
			eng["Type"] = e.Type
		}
		eng["CommunicationChannel"] = a.opts.DefaultChannel
		if e.Channel != "" {
			eng["CommunicationChannel"] = e.Channel
		}
		if !e.Start.IsZero() {
			eng["StartDateTime"] = dateTime(e.Start)
		}
		if e.Authenticated {
			eng["IsAttendeeAuthenticated"] = true
		}
		r.subs = append(r.subs, sfdc.CompositeUpsert("eng", "EngagementInteraction", "ExternalIdentifier", e.ExternalID, eng))
		r.holders = sfdc.Select("Id").From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", e.ExternalID)).Limit(2)
		match, through = sfdc.Eq("ExternalIdentifier", e.ExternalID), sfdc.Eq("Engagement.ExternalIdentifier", e.ExternalID)
	default:
		return nil, errors.New("the engagement has neither an id nor an external id")
	}

	type row struct {
		object, key string
		fields      map[string]any
	}
	var rows []row
	if w.Topic.Name != "" {
		t := map[string]any{"Name": w.Topic.Name}
		if w.Topic.ProcessStatus != "" {
			t["ProcessStatus"] = w.Topic.ProcessStatus
		}
		if !w.Topic.RelatedPerson.IsZero() {
			id, err := sfdc.ParseID(w.Topic.RelatedPerson.ID)
			if err != nil {
				return nil, errors.New("the topic's related person's id is not a record id")
			}
			t["RelatedPersonId"] = id
		}
		rows = append(rows, row{"EngagementTopic", w.Topic.Key, t})
	}
	for i, at := range w.Attendees {
		id, err := sfdc.ParseID(at.Person.ID)
		if err != nil {
			return nil, fmt.Errorf("attendee %d's id is not a record id", i+1)
		}
		var f map[string]any
		if at.Internal {
			// The agent, a User: an internal attendee, with no role and no verification.
			f = map[string]any{"InternalAttendeeId": id}
		} else {
			f = map[string]any{"ExternalAttendeeId": id, "Role": at.Role, "IsVerified": at.Verified}
			if at.Verified && !at.VerifiedAt.IsZero() {
				f["VerificationTime"] = dateTime(at.VerifiedAt)
			}
		}
		if !at.Start.IsZero() {
			f["StartDateTime"] = dateTime(at.Start)
		}
		rows = append(rows, row{"EngagementAttendee", at.Key, f})
	}
	if len(rows) == 0 {
		return r, nil
	}
	for i, rw := range rows {
		if rw.key == "" {
			return nil, fmt.Errorf("%s row %d has no idempotency key", rw.object, i+1)
		}
	}

	if kf := a.opts.WritebackKeyField; kf != "" {
		for i, rw := range rows {
			rw.fields["EngagementId"] = engRef
			if rw.object == "EngagementTopic" {
				rw.fields["ProcessName"] = strings.TrimSuffix(markerPrefix, ":")
			}
			r.subs = append(r.subs, sfdc.CompositeUpsert(fmt.Sprintf("row%d", i), rw.object, kf, rw.key, rw.fields))
		}
		return r, nil
	}

	// The guard: the engagement, while this write's first row is not there. With a topic (every
	// write-back with a reason has one) that is the topic carrying the marker; without one, the
	// attendee row itself, by what makes it this session's: person, role and start.
	var mine *sfdc.Query
	if first := rows[0]; first.object == "EngagementTopic" {
		marker := markerPrefix + first.key
		first.fields["ProcessName"] = marker
		mine = sfdc.Select("EngagementId").From("EngagementTopic").Where(sfdc.Eq("ProcessName", marker))
		r.delivered = sfdc.Select("Id").From("EngagementTopic").Where(sfdc.Eq("ProcessName", marker), through).Limit(1)
	} else {
		var conds []sfdc.Cond
		if internal, ok := first.fields["InternalAttendeeId"]; ok {
			conds = []sfdc.Cond{sfdc.Eq("InternalAttendeeId", internal)}
		} else {
			conds = []sfdc.Cond{sfdc.Eq("ExternalAttendeeId", first.fields["ExternalAttendeeId"]), sfdc.Eq("Role", first.fields["Role"])}
		}
		if st, ok := first.fields["StartDateTime"].(sfdc.DateTime); ok {
			conds = append(conds, sfdc.Eq("StartDateTime", st.Time))
		}
		mine = sfdc.Select("EngagementId").From("EngagementAttendee").Where(conds...)
		r.delivered = sfdc.Select("Id").From("EngagementAttendee").Where(append(conds, through)...).Limit(1)
	}
	// The rows refer to the engagement through the guard, not through the upsert's result: so
	// that an upsert that wrote nothing (several engagements hold the key: 300) fails the request
	// whether or not Salesforce counts a 300 as a failure, read the upserted engagement first.
	if e.ID == "" {
		r.subs = append(r.subs, sfdc.CompositeGet("written", "EngagementInteraction", sfdc.Ref("eng", "id"), "Id"))
	}
	r.subs = append(r.subs, sfdc.CompositeQuery("guard", sfdc.Select("Id").From("EngagementInteraction").
		Where(match, sfdc.NotInQuery("Id", mine)).Limit(1)))
	for i, rw := range rows {
		rw.fields["EngagementId"] = sfdc.Ref("guard", "records[0].Id")
		r.subs = append(r.subs, sfdc.CompositeCreate(fmt.Sprintf("row%d", i), rw.object, rw.fields))
	}
	return r, nil
}
