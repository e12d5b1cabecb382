package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// agent drives one session through the engine as an agent's client does.
type agent struct {
	t testing.TB
	r *rig
	v flows.View
	// attach is the Salesforce id of an engagement the next session attaches to.
	attach string
	// retries is how often a step that failed with ErrUnavailable (the org down, its rows
	// locked) is sent again, as an agent's client would; 0: a step must succeed.
	retries int
}

// run runs a step that must succeed, sending it again (with the same version: a failed step
// changed nothing) while it fails with ErrUnavailable and retries are left.
func (g *agent) run(step func() (flows.View, error)) {
	g.t.Helper()
	v, err := step()
	for i := 0; i < g.retries && errors.Is(err, flows.ErrUnavailable); i++ {
		time.Sleep(time.Duration(1+rand.IntN(5)) * time.Millisecond) // as a client backs off, out of step with the others
		v, err = step()
	}
	require.NoError(g.t, err)
	g.v = v
}

// call starts a session for a call from phone, with call id ext.
func (g *agent) call(phone, ext string) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.Start(context.Background(), flows.StartRequest{Actor: "e2e", Phone: phone, Key: ext, ExternalID: ext, Channel: "Voice Call"})
	})
}

func (g *agent) reason(name string) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.SetReason(context.Background(), flows.ReasonRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version, Reason: name})
	})
}

func (g *agent) subject(s flows.Subject) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.SetSubject(context.Background(), flows.SubjectRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version, Subject: s})
	})
}

func (g *agent) search(searchType string, q flows.Query) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.Search(context.Background(), flows.SearchRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version,
			SearchType: searchType, Query: q})
	})
}

func (g *agent) pick(r flows.Ref) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.Select(context.Background(), flows.SelectRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version, Record: r.ID})
	})
}

func (g *agent) answer(answers ...flows.Answer) {
	g.t.Helper()
	g.run(func() (flows.View, error) {
		return g.r.engine.Answer(context.Background(), flows.AnswerRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version, Answers: answers})
	})
}

// The demo's people and what they answer.
const (
	alicePhone = "+14155550101"
	juliaPhone = "+14155550202"
)

var (
	aliceRight = []flows.Answer{{Field: "PersonBirthdate", Value: "12/04/1985"}, {Field: "PersonMobilePhone", Value: "+1 415 555 0101"}}
	aliceWrong = []flows.Answer{{Field: "PersonBirthdate", Value: "01/01/1990"}}
	juliaRight = []flows.Answer{{Field: "Birthdate", Value: "19 August 1983"}, {Field: "MobilePhone", Value: "+1 415-555-0202"}}
)

// selfVerified: Alice calls from her mobile about herself and answers right.
func selfVerified(g *agent, ext string) {
	g.call(alicePhone, ext)
	g.reason("Change of address")
	g.subject(flows.SubjectSelf)
	g.answer(aliceRight...)
}

// selfFailed: Alice calls and gets her birth date wrong.
func selfFailed(g *agent, ext string) {
	g.call(alicePhone, ext)
	g.reason("Change of address")
	g.subject(flows.SubjectSelf)
	g.answer(aliceWrong...)
}

// representativeVerified: Julia calls from her mobile about Alice, whom she represents.
func representativeVerified(g *agent, ext string) {
	g.call(juliaPhone, ext)
	g.reason("Change of address")
	g.subject(flows.SubjectOther)
	g.search("representative", flows.Query{Fields: map[string]string{"LastName": "Chen"}})
	g.pick(g.r.person(g.t, "julia"))
	g.answer(juliaRight...)
	g.search("", flows.Query{Keywords: "Alice Martin"})
	g.pick(g.r.person(g.t, "alice"))
	g.answer(aliceRight...)
}

// notIdentified: Alice calls about someone the agent cannot find.
func notIdentified(g *agent, ext string) {
	g.call(alicePhone, ext)
	g.reason("Change of address")
	g.subject(flows.SubjectOther)
	g.run(func() (flows.View, error) {
		return g.r.engine.NotIdentified(context.Background(), flows.NotIdentifiedRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version})
	})
}

// notRequired: Alice asks about opening hours, which needs no verification.
func notRequired(g *agent, ext string) {
	g.call(alicePhone, ext)
	g.reason("Opening hours and branches")
}

// cancelled: Alice hangs up at the questions.
func cancelled(g *agent, ext string) {
	g.call(alicePhone, ext)
	g.reason("Change of address")
	g.subject(flows.SubjectSelf)
	g.run(func() (flows.View, error) {
		return g.r.engine.Cancel(context.Background(), flows.CancelRequest{Actor: "e2e", Session: g.v.Session, Version: g.v.Version})
	})
}

// want is what one engagement must hold in the org after delivery.
type want struct {
	engagement map[string]string // field → value
	attendees  []string          // "person role verified", oldest first
	topics     []string          // "related status", oldest first
}

func (w want) check(t *testing.T, r *rig, l landed) {
	t.Helper()
	require.Len(t, l.engs, 1, "one engagement")
	for f, v := range w.engagement {
		assert.Equal(t, v, field(l.engs[0], f), f)
	}
	var attendees, topics []string
	for _, a := range l.attendees {
		attendees = append(attendees, fmt.Sprint(field(a, "ExternalAttendeeId"), " ", field(a, "Role"), " ", field(a, "IsVerified")))
	}
	for _, tp := range l.topics {
		topics = append(topics, field(tp, "RelatedPersonId")+" "+field(tp, "ProcessStatus"))
	}
	assert.Equal(t, w.attendees, attendees, "EngagementAttendee rows")
	assert.Equal(t, w.topics, topics, "EngagementTopic rows")
}

// TestScenarios runs every way a session ends through the engine, the Salesforce adapter, a
// real store and the worker, on each store, and checks what lands in the org and how many API
// calls the session and its delivery took (logins and the adapter's start-up describes aside).
func TestScenarios(t *testing.T) {
	for _, drv := range storetest.Drivers {
		t.Run(drv.Name, func(t *testing.T) { testScenarios(t, drv) })
	}
}

func testScenarios(t *testing.T, drv storetest.Driver) {
	type scenario struct {
		name    string
		ext     string         // the call id whose engagement is checked; "" for the session's own
		before  func(g *agent) // sessions that set the scene, delivered before the count starts
		run     func(g *agent, ext string)
		outcome flows.Outcome
		calls   int64
		want    func(r *rig, g *agent) want
	}
	scenarios := []scenario{
		{name: "self verified", run: selfVerified, outcome: flows.OutcomeVerified, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "true", "InitiatingAttendeeId": alice, "Reason": "Change of address",
					"CommunicationChannel": "Voice Call", "Type": "Inbound", "Status": "In Progress", "PhoneNumber": ""},
				attendees: []string{alice + " Self true"},
				topics:    []string{alice + " Completed"},
			}
		}},
		{name: "representative verified", run: representativeVerified, outcome: flows.OutcomeVerified, calls: 4, want: func(r *rig, _ *agent) want {
			alice, julia := r.person(t, "alice").ID, r.person(t, "julia").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "true", "InitiatingAttendeeId": julia},
				attendees:  []string{julia + " OnBehalf true"},
				topics:     []string{alice + " Completed"},
			}
		}},
		{name: "failed", run: selfFailed, outcome: flows.OutcomeFailed, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice, "AttendeeVerificationTime": ""},
				attendees:  []string{alice + " Self false"},
				topics:     []string{alice + " Failed"},
			}
		}},
		{name: "locked", before: func(g *agent) {
			// lockout.max_failures is 5: four failed calls, and the fifth wrong answer locks.
			for i := range 4 {
				selfFailed(g, fmt.Sprint("call-before-", i))
				require.Equal(t, flows.OutcomeFailed, g.v.Outcome)
			}
		}, run: selfFailed, outcome: flows.OutcomeLocked, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice},
				attendees:  []string{alice + " Self false"},
				topics:     []string{alice + " Failed"},
			}
		}},
		{name: "not identified", run: notIdentified, outcome: flows.OutcomeNotIdentified, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice, "Reason": "Change of address"},
				topics:     []string{alice + " Failed"},
			}
		}},
		{name: "non-confidential reason", run: notRequired, outcome: flows.OutcomeNotRequired, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice, "Reason": "Opening hours and branches"},
				topics:     []string{alice + " Completed"},
			}
		}},
		{name: "cancelled", run: cancelled, outcome: flows.OutcomeCancelled, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice},
				attendees:  []string{alice + " Self false"},
				topics:     []string{alice + " Cancelled"},
			}
		}},
		{name: "transfer", ext: "call-transfer", before: func(g *agent) {
			selfVerified(g, "call-transfer")
			g.r.drain(g.t)
			engs := written(g.t, g.r.org.NewClient(g.t), "call-transfer").engs
			require.Len(g.t, engs, 1)
			g.attach = string(engs[0].ID())
		}, run: func(g *agent, _ string) {
			// The second agent's session attaches to the engagement by its Salesforce id (one
			// read) and finds Alice's verified status on it: no questions.
			g.run(func() (flows.View, error) {
				return g.r.engine.Start(context.Background(), flows.StartRequest{Actor: "e2e", Engagement: g.attach})
			})
			require.Equal(g.t, "call-transfer", g.v.Engagement, "known by its ExternalIdentifier")
			g.reason("Account balance")
			g.subject(flows.SubjectSelf)
		}, outcome: flows.OutcomeVerified, calls: 2, want: func(r *rig, _ *agent) want {
			alice := r.person(t, "alice").ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "true", "InitiatingAttendeeId": alice, "Reason": "Account balance"},
				attendees:  []string{alice + " Self true", alice + " Self true"},
				topics:     []string{alice + " Completed", alice + " Completed"},
			}
		}},
		{name: "new customer", run: func(g *agent, ext string) {
			g.run(func() (flows.View, error) {
				return g.r.engine.Start(context.Background(), flows.StartRequest{Actor: "e2e", Key: ext, ExternalID: ext, Channel: "Voice Call",
					Lead: &flows.Lead{FirstName: "Ada", LastName: "Quinn", Company: "Quinn Labs", Email: "ada@quinn.example"}})
			})
			require.Equal(g.t, "Lead", g.v.Initiating.Object)
			g.reason("Change of address")
			g.subject(flows.SubjectSelf)
		}, outcome: flows.OutcomeNewCustomer, calls: 3 /* a look for the Lead, its create, the write-back */, want: func(r *rig, g *agent) want {
			lead := g.v.Initiating.ID
			return want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": lead},
				topics:     []string{lead + " Completed"},
			}
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newRig(t, drv.Open(t))
			g := &agent{t: t, r: r}
			if sc.before != nil {
				sc.before(g)
				require.Empty(t, r.drain(t), "nothing parked")
			}
			r.resetCalls(t)
			ext := "call-" + drv.Name
			sc.run(g, ext)
			require.Equal(t, sc.outcome, g.v.Outcome)
			require.Empty(t, r.drain(t), "nothing parked")
			assert.Equal(t, sc.calls, r.calls(), "API calls, the write-back's included")
			if sc.ext != "" {
				ext = sc.ext
			}
			reader := r.org.NewClient(t)
			sc.want(r, g).check(t, r, written(t, reader, ext))
			if sc.name == "new customer" {
				leads := rows(t, reader, sfdc.Select("Id").From("Lead").Where(sfdc.Eq("LastName", "Quinn")))
				assert.Len(t, leads, 1, "one Lead")
			}
		})
	}
}

// TestAbandonedSessionExpires: a call dropped at the questions leaves its session open; once
// it is idle past session.idle_timeout, the store's sweep has the engine end it (expired) and
// queue its write-back, which the worker delivers: the engagement records the abandoned call.
func TestAbandonedSessionExpires(t *testing.T) {
	for _, drv := range storetest.Drivers {
		t.Run(drv.Name, func(t *testing.T) {
			r := newRig(t, drv.Open(t))
			g := &agent{t: t, r: r}
			g.call(alicePhone, "call-abandoned")
			g.reason("Change of address")
			g.subject(flows.SubjectSelf)
			require.Equal(t, flows.StateQuestions, g.v.State)
			r.clock.Add(r.opts.Policy.Session.IdleTimeout + time.Second)

			ctx, stop := context.WithCancel(context.Background())
			swept := make(chan error)
			go func() {
				swept <- store.Sweep(ctx, r.st, r.engine, time.Millisecond, store.DefaultRetention, slog.New(slog.DiscardHandler))
			}()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
				list, err := r.st.ListOutbox(context.Background(), 0, 0)
				require.NoError(t, err)
				if len(list) > 0 {
					break
				}
				require.True(t, time.Now().Before(deadline), "the sweep expired nothing")
			}
			stop()
			require.ErrorIs(t, <-swept, context.Canceled)
			require.Empty(t, r.drain(t), "nothing parked")

			got, err := r.engine.Get(context.Background(), g.v.Session)
			require.NoError(t, err)
			assert.Equal(t, flows.OutcomeExpired, got.Outcome)
			alice := r.person(t, "alice").ID
			want{
				engagement: map[string]string{"IsAttendeeVerified": "false", "InitiatingAttendeeId": alice, "Reason": "Change of address"},
				attendees:  []string{alice + " Self false"},
				topics:     []string{alice + " Cancelled"},
			}.check(t, r, written(t, r.org.NewClient(t), "call-abandoned"))
		})
	}
}
