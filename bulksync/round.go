package bulksync

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/idverify/idverify/sfdc"
)

// item is one row's progress through a round.
type item struct {
	row     *Row
	eng     sfdc.ID
	created bool
	rej     *Rejection
}

func (it *item) reject(record string, e *sfdc.Error) {
	if it.rej != nil {
		return // the first refusal is the row's
	}
	it.rej = &Rejection{Line: it.row.Line, Record: record, Code: e.Code, Fields: e.Fields, ID: string(it.eng)}
	if it.rej.Code == "" {
		it.rej.Code = "UNKNOWN_ERROR"
	}
}

// roundResult is what a round did.
type roundResult struct {
	items            []item
	created, updated int64
}

// sendRound writes rows: the engagements (upsert by ExternalIdentifier, an idLookup field:
// "Upserting Records" in the Apex guide: a key matched several times is an error, and "Upsert
// Records Using sObject Rows by External ID": a 300, nothing created or updated), then, for every
// engagement that was not just created (or every one, with force), the attendees and topics it
// already has, then each attendee and topic: updated when the engagement has one with the same
// person (attendees) or Name (topics), created otherwise. That natural-key check is what keeps a
// re-run, a resumed run or a retried round from creating a second attendee or topic: a record
// whose create was sent but whose answer was lost is found and updated. An engagement the
// upsert created has no children yet, so a first run pays for no check.
//
// The error is a whole call's failure, or errRetry when records met transient failures: either
// way the round is sent again, with force.
func (s *syncer) sendRound(ctx context.Context, rows []*Row, force bool) (*roundResult, error) {
	rr := &roundResult{items: make([]item, len(rows))}
	recs := make([]rec, len(rows))
	for i, r := range rows {
		rr.items[i].row = r
		recs[i] = rec{fields: r.engagement}
	}
	s.stage("engagements")
	res, err := s.save(ctx, stEngagements, recs)
	if err != nil {
		return nil, err
	}
	retry := false
	var check []*item
	for i, r := range res {
		it := &rr.items[i]
		switch {
		case r.err != nil && transient(r.err):
			retry = true
		case r.err != nil:
			it.reject("Engagement", r.err)
		default:
			it.eng, it.created = r.id, r.created
			if r.created {
				rr.created++
			} else {
				rr.updated++
			}
			if force || !r.created {
				check = append(check, it)
			}
		}
	}
	if retry {
		return nil, errRetry
	}
	s.stage("existing attendees and topics")
	existing, err := s.existing(ctx, check)
	if err != nil {
		return nil, err
	}

	// The children, each with the item and the record name it belongs to.
	type owner struct {
		it     *item
		record string
	}
	var newAtt, oldAtt, newTop, oldTop []rec
	var newAttOf, oldAttOf, newTopOf, oldTopOf []owner
	for i := range rr.items {
		it := &rr.items[i]
		if it.rej != nil || it.eng == "" {
			continue
		}
		have := existing[it.eng]
		for j, a := range it.row.attendees {
			o := owner{it, "Attendee" + strconv.Itoa(j+1)}
			if id, ok := have.attendees[a.person]; ok {
				oldAtt = append(oldAtt, rec{fields: withField(a.fields, "Id", string(id))})
				oldAttOf = append(oldAttOf, o)
			} else {
				newAtt = append(newAtt, rec{fields: withField(a.fields, "EngagementId", string(it.eng))})
				newAttOf = append(newAttOf, o)
			}
		}
		if t := it.row.topic; t != nil {
			o := owner{it, "Topic"}
			if id, ok := have.topics[t.name]; ok {
				oldTop = append(oldTop, rec{fields: withField(t.fields, "Id", string(id))})
				oldTopOf = append(oldTopOf, o)
			} else {
				newTop = append(newTop, rec{fields: withField(t.fields, "EngagementId", string(it.eng))})
				newTopOf = append(newTopOf, o)
			}
		}
	}
	for _, batch := range []struct {
		st   stage
		recs []rec
		of   []owner
	}{{stNewAttendees, newAtt, newAttOf}, {stNewTopics, newTop, newTopOf},
		{stAttendeeUpdate, oldAtt, oldAttOf}, {stTopicUpdate, oldTop, oldTopOf}} {
		if len(batch.recs) == 0 {
			continue
		}
		s.stage(batch.st.name)
		res, err := s.save(ctx, batch.st, batch.recs)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			switch {
			case r.err != nil && transient(r.err):
				retry = true
			case r.err != nil:
				batch.of[i].it.reject(batch.of[i].record, r.err)
			case batch.st.op == opCreate:
				rr.created++
			default:
				rr.updated++
			}
		}
	}
	if retry {
		return nil, errRetry
	}
	return rr, nil
}

// withField returns fields with one more, leaving fields (shared by retries) as it is.
func withField(fields []field, name, value string) []field {
	out := make([]field, 0, len(fields)+1)
	out = append(out, field{name, value})
	return append(out, fields...)
}

// children is what an engagement already has: attendees by person, topics by folded Name.
type children struct {
	attendees map[sfdc.ID]sfdc.ID
	topics    map[string]sfdc.ID
}

// queryChunk is how many engagements one check covers: the ids of an IN list, 21 characters
// each in SOQL, stay far below the statement limit.
const queryChunk = 200

// existing reads the attendees and topics of the given engagements: one composite call (two
// queries) per queryChunk engagements. A query with more than a page of rows is read on with
// Query.
func (s *syncer) existing(ctx context.Context, items []*item) (map[sfdc.ID]children, error) {
	out := make(map[sfdc.ID]children, len(items))
	for lo := 0; lo < len(items); lo += queryChunk {
		chunk := items[lo:min(lo+queryChunk, len(items))]
		ids := make([]sfdc.ID, 0, len(chunk))
		needAtt, needTop := false, false
		for _, it := range chunk {
			ids = append(ids, it.eng)
			out[it.eng] = children{attendees: map[sfdc.ID]sfdc.ID{}, topics: map[string]sfdc.ID{}}
			needAtt = needAtt || len(it.row.attendees) > 0
			needTop = needTop || it.row.topic != nil
		}
		var stmts []sfdc.Statement
		var subs []sfdc.Subrequest
		if needAtt {
			q := sfdc.Select("Id", "EngagementId", "ExternalAttendeeId", "InternalAttendeeId").From(objAttendee).
				Where(sfdc.In("EngagementId", ids))
			stmts, subs = append(stmts, q), append(subs, sfdc.CompositeQuery("attendees", q))
		}
		if needTop {
			q := sfdc.Select("Id", "EngagementId", "Name").From(objTopic).Where(sfdc.In("EngagementId", ids))
			stmts, subs = append(stmts, q), append(subs, sfdc.CompositeQuery("topics", q))
		}
		if len(subs) == 0 {
			continue
		}
		res, _, err := s.c.Composite(ctx, false, subs...)
		if err != nil {
			return nil, err
		}
		for i, r := range res.Results {
			var page struct {
				Done    bool         `json:"done"`
				Records []childFound `json:"records"`
			}
			if err := json.Unmarshal(r.Body, &page); err != nil {
				return nil, errors.New("a check query answered something that is not a query result")
			}
			if !page.Done {
				page.Records = page.Records[:0]
				for rec, err := range s.c.Query(ctx, stmts[i]) {
					if err != nil {
						return nil, err
					}
					var f childFound
					f.ID, _ = rec.String("Id")
					f.EngagementID, _ = rec.String("EngagementId")
					f.External, _ = rec.String("ExternalAttendeeId")
					f.Internal, _ = rec.String("InternalAttendeeId")
					f.Name, _ = rec.String("Name")
					page.Records = append(page.Records, f)
				}
			}
			for _, f := range page.Records {
				c, ok := out[sfdc.ID(f.EngagementID)]
				if !ok {
					continue
				}
				id := sfdc.ID(f.ID)
				if r.ReferenceID == "topics" {
					if _, dup := c.topics[strings.ToLower(f.Name)]; !dup {
						c.topics[strings.ToLower(f.Name)] = id
					}
					continue
				}
				person := sfdc.ID(f.External)
				if person == "" {
					person = sfdc.ID(f.Internal)
				}
				if _, dup := c.attendees[person]; !dup && person != "" {
					c.attendees[person] = id
				}
			}
		}
	}
	return out, nil
}

// childFound is an attendee or topic row of a check query.
type childFound struct {
	ID           string `json:"Id"`
	EngagementID string `json:"EngagementId"`
	External     string `json:"ExternalAttendeeId"`
	Internal     string `json:"InternalAttendeeId"`
	Name         string `json:"Name"`
}
