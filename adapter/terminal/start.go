package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idverify/idverify/adapter/httpapi/apiclient"
	"github.com/idverify/idverify/flows"
)

// The ways a session starts: the values of the first choice, "How did the caller reach you?".
const (
	WayPhone       = "phone"        // a call: the caller's number is looked up
	WayInPerson    = "in-person"    // a visit: channel In Person, the time it began entered
	WayNewCustomer = "new-customer" // someone with no record yet: a Lead is created
	WayRecord      = "record"       // the agent names the caller's record (object and id)
	WayTransfer    = "transfer"     // a transferred call: its verified status, then the call goes on
)

// InPerson is the channel of an in-person engagement.
const InPerson = "In Person"

// Start is how the session starts. Way is one of the Way* values; empty means it is asked,
// unless Phone is given (a phone call). What a way needs and is not given is asked, in this
// order: Way; for in person the StartTime, then who it is (by phone number, a record or a new
// customer); then the Phone, the Record or the Lead; the Channel (except in person); and the
// CallID of a phone call (or of a transfer, first).
type Start struct {
	Way string
	// Who is how an in-person visitor is found: WayPhone, WayRecord or WayNewCustomer; empty
	// is asked, unless Phone or Record says.
	Who                    string
	Phone, Channel, CallID string
	// Attestation is the call's STIR/SHAKEN attestation (A, B or C), if known.
	Attestation string
	// StartTime is when an in-person engagement began; zero is asked (empty: now).
	StartTime time.Time
	// Record is the caller's record, named by the agent (WayRecord).
	Record *apiclient.Ref
	// Lead is a new customer (WayNewCustomer); nil is asked.
	Lead *apiclient.Lead
}

var wayChoice = Choice{Title: "How did the caller reach you?", Options: []Option{
	{"A phone call", WayPhone},
	{"In person", WayInPerson},
	{"A new customer (no record yet)", WayNewCustomer},
	{"A record you have open (object and id)", WayRecord},
	{"A call transferred to you", WayTransfer},
}}

// start asks for what st lacks and starts the session. A start the API refuses as a bad value
// is shown and asked again, when anything was asked.
func (v *verifier) start(ctx context.Context, st Start) (*apiclient.Session, error) {
	for {
		req, asked, err := v.startRequest(ctx, st)
		if err != nil {
			return nil, err
		}
		s, err := v.send(ctx, func(ctx context.Context) (*apiclient.Session, error) { return v.api.Start(ctx, req) })
		var pr *apiclient.Problem
		if asked && errors.As(err, &pr) && pr.Code == apiclient.CodeInvalidValue {
			v.p.Say(SayBad, "Not accepted: "+strings.TrimSuffix(pr.Detail, ".")+". Nothing was started; try again.")
			continue
		}
		if err != nil {
			return nil, err
		}
		v.sayStarted(s, req)
		return s, nil
	}
}

// startRequest asks for what st lacks; asked says whether anything was.
func (v *verifier) startRequest(ctx context.Context, st Start) (apiclient.StartRequest, bool, error) {
	a := asker{p: v.p}
	req := apiclient.StartRequest{Phone: st.Phone, Channel: st.Channel, ExternalID: st.CallID, Attestation: st.Attestation,
		Attendee: st.Record, Lead: st.Lead, IdempotencyKey: newKey()}
	way := st.Way
	if way == "" && st.Phone != "" {
		way = WayPhone
	}
	if way == "" {
		way = a.choose(ctx, wayChoice)
	}
	who := way
	switch way {
	case WayInPerson:
		req.Channel = InPerson
		if !st.StartTime.IsZero() {
			req.StartTime = &st.StartTime
		} else if t := a.ask(ctx, Question{Title: "When did the visit begin?",
			Note: "HH:MM (the latest past), or RFC 3339 (2026-11-25T09:00:00Z); empty for now", Optional: true, Validate: validStartTime}); t != "" {
			at, _ := parseStartTime(t, time.Now())
			req.StartTime = &at
		}
		who = WayPhone
		switch {
		case st.Who != "":
			who = st.Who
		case st.Phone != "":
		case st.Record != nil:
			who = WayRecord
		case st.Lead != nil:
			who = WayNewCustomer
		default:
			who = a.choose(ctx, Choice{Title: "Who is it?", Options: []Option{
				{"Find them by their phone number", WayPhone},
				{"A record you have open (object and id)", WayRecord},
				{"A new customer (no record yet)", WayNewCustomer}}})
		}
	case WayTransfer:
		if req.ExternalID == "" {
			req.ExternalID = a.ask(ctx, Question{Title: "Call id", Note: "the CTI's id of the transferred call"})
		}
		if a.err == nil {
			a.err = v.sayStatus(ctx, req.ExternalID)
		}
		who = WayPhone
	case WayPhone, WayNewCustomer, WayRecord:
	default:
		if a.err != nil {
			return req, a.asked, a.err
		}
		return req, a.asked, fmt.Errorf("no way to start %q: one of %s, %s, %s, %s or %s", way,
			WayPhone, WayInPerson, WayNewCustomer, WayRecord, WayTransfer)
	}
	switch who {
	case WayPhone:
		if req.Phone == "" {
			req.Phone = a.ask(ctx, Question{Title: "Caller's phone number", Note: "as the telephony platform shows it"})
		}
	case WayRecord:
		if req.Attendee == nil {
			req.Attendee = &apiclient.Ref{
				Object: a.ask(ctx, Question{Title: "Record's object", Note: "e.g. Account, Contact or Lead; empty for Account", Optional: true, Default: "Account"}),
				ID:     a.ask(ctx, Question{Title: "Record id", Note: "its 15- or 18-character Salesforce id"}),
			}
		}
	case WayNewCustomer:
		if req.Lead == nil {
			req.Lead = &apiclient.Lead{
				FirstName: a.ask(ctx, Question{Title: "First name", Note: "empty for none", Optional: true}),
				LastName:  a.ask(ctx, Question{Title: "Last name"}),
				Company:   a.ask(ctx, Question{Title: "Company", Note: "the Lead's company: their own name for a private person"}),
				Phone:     a.ask(ctx, Question{Title: "Phone", Note: "empty for none", Optional: true}),
				Email:     a.ask(ctx, Question{Title: "Email", Note: "empty for none", Optional: true}),
			}
		}
	}
	if req.Channel == "" {
		req.Channel = a.ask(ctx, Question{Title: "Channel", Note: "the engagement's channel; empty for Voice Call", Optional: true, Default: "Voice Call"})
	}
	if req.Phone == "" {
		req.Attestation = "" // the caller id's: nothing to attest without a number
	}
	if way == WayPhone && st.Phone == "" && st.CallID == "" {
		req.ExternalID = a.ask(ctx, Question{Title: "Call id", Note: "the CTI's id of the call, which a transfer shares; empty for none", Optional: true})
	}
	return req, a.asked, a.err
}

// asker asks the agent until one question fails, then asks nothing more.
type asker struct {
	p     Prompter
	asked bool
	err   error
}

func (a *asker) ask(ctx context.Context, q Question) string {
	if a.err != nil {
		return ""
	}
	a.asked = true
	var v string
	v, a.err = a.p.Ask(ctx, q)
	return strings.TrimSpace(v)
}

func (a *asker) choose(ctx context.Context, c Choice) string {
	if a.err != nil {
		return ""
	}
	a.asked = true
	var v string
	v, a.err = a.p.Choose(ctx, c)
	return v
}

// ParseStartTime reads an in-person engagement's start time as an agent types it: HH:MM (in
// now's time zone: the latest such time not in the future, so today's or, past midnight,
// yesterday's), or RFC 3339; and checks it as the API does: within the last
// flows.MaxStartAge and at most flows.MaxStartSkew ahead of now.
func ParseStartTime(s string, now time.Time) (time.Time, error) {
	t, err := parseStartTime(s, now)
	if err != nil {
		return t, err
	}
	if t.After(now.Add(flows.MaxStartSkew)) || t.Before(now.Add(-flows.MaxStartAge)) {
		return time.Time{}, fmt.Errorf("the start time must lie within the last %v and not in the future", flows.MaxStartAge)
	}
	return t, nil
}

func parseStartTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if hm, err := time.ParseInLocation("15:04", s, now.Location()); err == nil {
		y, m, d := now.Date()
		t := time.Date(y, m, d, hm.Hour(), hm.Minute(), 0, 0, now.Location())
		if t.After(now.Add(flows.MaxStartSkew)) { // 23:50 typed at 00:10 is yesterday's
			t = t.AddDate(0, 0, -1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("give the start time as HH:MM or RFC 3339, e.g. 2026-11-25T09:00:00Z")
	}
	return t, nil
}

// validStartTime checks a typed start time's form; its bounds are the server's to check, on
// its clock (the agent's may differ), and a refusal is asked again.
func validStartTime(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	_, err := parseStartTime(s, time.Now())
	return err
}

// sayStatus shows the verified status of the engagement of the call callID.
func (v *verifier) sayStatus(ctx context.Context, callID string) error {
	st, err := v.api.EngagementStatus(ctx, callID, false)
	switch {
	case apiclient.IsCode(err, apiclient.CodeNotFound):
		v.p.Say(SayInfo, "idverify knows no engagement with this call id: nobody was verified on it.")
		return nil
	case err != nil:
		return err
	case !st.Verified:
		v.p.Say(SayInfo, "Nobody's verification holds on this call.")
		return nil
	}
	v.p.Say(SayGood, "Verified on this call before the transfer:")
	for _, person := range st.People {
		v.p.Say(SayGood, fmt.Sprintf("  record %s as %s (level %s), valid until %s", person.Record, person.Role,
			person.Level, person.ValidUntil.Local().Format("15:04 on 2 Jan 2006")))
	}
	return nil
}

// sayStarted says how the session found the caller.
func (v *verifier) sayStarted(s *apiclient.Session, req apiclient.StartRequest) {
	switch {
	case req.Lead != nil && s.Initiating != nil:
		v.p.Say(SayInfo, fmt.Sprintf("A new customer: created %s %s.", s.Initiating.Object, s.Initiating.ID))
	case req.Phone == "" && s.Initiating != nil:
		v.p.Say(SayInfo, fmt.Sprintf("The caller is %s %s.", s.Initiating.Object, s.Initiating.ID))
	case s.Initiating != nil:
		v.p.Say(SayInfo, fmt.Sprintf("The number matches one record (%s %s).", s.Initiating.Object, s.Initiating.ID))
	case s.PhoneMatch == "several":
		v.p.Say(SayInfo, "The number matches several records: they are flagged in the search results.")
	case s.PhoneMatch == "one":
		v.p.Say(SayInfo, "The number matches one record, but the caller id is not trusted: it is flagged in the search results.")
	default:
		v.p.Say(SayInfo, "The number matches no record.")
	}
}
