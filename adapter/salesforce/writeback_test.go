package salesforce_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
)

var (
	started  = time.Date(2026, 12, 1, 9, 0, 0, 123_456_789, time.UTC)
	verified = started.Add(3 * time.Minute)
)

// outcome is a verified caller's write-back on a new engagement, as the engine builds it.
func outcome(e *env, t testing.TB, key, externalID string) flows.Writeback {
	alice := e.person(t, "alice")
	return flows.Writeback{
		Key: key + "/writeback", Outcome: flows.OutcomeVerified,
		Engagement: flows.EngagementUpdate{ExternalID: externalID, Type: flows.EngagementTypeInbound, Channel: "Voice Call",
			Start: started, Reason: "Change of address", Verified: true, VerifiedAt: verified, Initiating: alice,
			Status: flows.EngagementStatusProgress},
		Attendees: []flows.Attendee{{Key: key + "/attendee/" + alice.ID, Person: alice, Role: flows.RoleSelf, Verified: true,
			VerifiedAt: verified, Start: started}},
		Topic: flows.Topic{Key: key + "/topic", Name: "Change of address", RelatedPerson: alice, ProcessStatus: flows.ProcessCompleted},
	}
}

func rows(t testing.TB, e *env, q *sfdc.Query) []sfdc.Record {
	t.Helper()
	var out []sfdc.Record
	for rec, err := range e.org.Client.Query(ctx, q) {
		require.NoError(t, err)
		out = append(out, rec)
	}
	return out
}

// written returns the engagements with externalID, and the topics and attendees of the first.
func written(t testing.TB, e *env, externalID string) (engs, topics, attendees []sfdc.Record) {
	t.Helper()
	engs = rows(t, e, sfdc.Select("Id", "Type", "CommunicationChannel", "StartDateTime", "Reason", "Status", "IsAttendeeVerified",
		"AttendeeVerificationTime", "InitiatingAttendeeId", "IsAttendeeAuthenticated", "PhoneNumber").
		From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", externalID)))
	if len(engs) == 0 {
		return nil, nil, nil
	}
	id := engs[0].ID()
	topics = rows(t, e, sfdc.Select("Id", "Name", "RelatedPersonId", "ProcessStatus", "ProcessName").From("EngagementTopic").
		Where(sfdc.Eq("EngagementId", id)).OrderBy("CreatedDate", false))
	attendees = rows(t, e, sfdc.Select("Id", "ExternalAttendeeId", "Role", "IsVerified", "VerificationTime", "StartDateTime").
		From("EngagementAttendee").Where(sfdc.Eq("EngagementId", id)))
	return engs, topics, attendees
}

func field(rec sfdc.Record, name string) string {
	v, _ := rec.Get(name)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return "?"
}

func TestWriteOutcomeCreatesTheEngagement(t *testing.T) {
	e := newEnv(t)
	alice := e.person(t, "alice")
	e.reset(t)
	require.NoError(t, e.a.WriteOutcome(ctx, outcome(e, t, "k1", "call-1")))
	assert.Equal(t, int64(1), e.calls(), "one composite request")
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindComposite))

	engs, topics, attendees := written(t, e, "call-1")
	require.Len(t, engs, 1)
	eng := engs[0]
	for f, want := range map[string]string{"Type": "Inbound", "CommunicationChannel": "Voice Call", "Reason": "Change of address",
		"Status": "In Progress", "IsAttendeeVerified": "true", "InitiatingAttendeeId": alice.ID, "IsAttendeeAuthenticated": "false",
		"PhoneNumber": ""} {
		assert.Equal(t, want, field(eng, f), f)
	}
	st, _ := eng.Time("StartDateTime")
	assert.True(t, st.Equal(started.Truncate(time.Second)), "StartDateTime %v", st)
	vt, _ := eng.Time("AttendeeVerificationTime")
	assert.True(t, vt.Equal(verified.Truncate(time.Second)))

	require.Len(t, topics, 1)
	assert.Equal(t, "Change of address", field(topics[0], "Name"))
	assert.Equal(t, alice.ID, field(topics[0], "RelatedPersonId"))
	assert.Equal(t, "Completed", field(topics[0], "ProcessStatus"))
	assert.Equal(t, "idverify:k1/topic", field(topics[0], "ProcessName"))
	require.Len(t, attendees, 1)
	assert.Equal(t, alice.ID, field(attendees[0], "ExternalAttendeeId"))
	assert.Equal(t, "Self", field(attendees[0], "Role"))
	assert.Equal(t, "true", field(attendees[0], "IsVerified"))
}

// A write delivered again (the outbox lost Salesforce's answer, or crashed before recording it)
// creates no second row and changes nothing.
func TestWriteOutcomeTwiceWritesOnce(t *testing.T) {
	e := newEnv(t)
	w := outcome(e, t, "k2", "call-2")
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	e.reset(t)
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	assert.Equal(t, int64(2), e.calls(), "the refused composite, and the look for the earlier delivery")
	engs, topics, attendees := written(t, e, "call-2")
	assert.Len(t, engs, 1)
	assert.Len(t, topics, 1)
	assert.Len(t, attendees, 1)
}

// Salesforce commits the write but the answer never reaches idverify: the outbox tries again,
// and the second delivery finds the first.
func TestWriteOutcomeAnswerLost(t *testing.T) {
	var lose atomic.Bool
	e := newEnvBehind(t, loseCompositeAnswers(&lose))
	w := outcome(e, t, "k3", "call-3")
	lose.Store(true)
	err := e.a.WriteOutcome(ctx, w)
	require.ErrorIs(t, err, flows.ErrUnavailable, "the outbox will try again")
	engs, topics, attendees := written(t, e, "call-3")
	require.Len(t, engs, 1, "Salesforce committed it")
	require.Len(t, topics, 1)
	require.Len(t, attendees, 1)

	require.NoError(t, e.a.WriteOutcome(ctx, w), "the second delivery succeeds")
	engs, topics, attendees = written(t, e, "call-3")
	assert.Len(t, engs, 1)
	assert.Len(t, topics, 1, "and writes no second topic")
	assert.Len(t, attendees, 1, "nor attendee")
}

// Two sessions on one call (a transfer keeps the call id): one engagement, each session's rows.
func TestWriteOutcomeTwoSessionsOneEngagement(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.a.WriteOutcome(ctx, outcome(e, t, "first", "call-4")))
	second := outcome(e, t, "second", "call-4")
	second.Topic.ProcessStatus = flows.ProcessFailed
	require.NoError(t, e.a.WriteOutcome(ctx, second))
	engs, topics, attendees := written(t, e, "call-4")
	assert.Len(t, engs, 1)
	require.Len(t, topics, 2)
	assert.Equal(t, []string{"idverify:first/topic", "idverify:second/topic"}, []string{field(topics[0], "ProcessName"), field(topics[1], "ProcessName")})
	assert.Len(t, attendees, 2)
}

// An engagement the session attached to is updated by id: its creation fields stay.
func TestWriteOutcomeAttached(t *testing.T) {
	e := newEnv(t)
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	id, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Web Chat",
		"StartDateTime": sfdc.DateTime{Time: start}, "ExternalIdentifier": "chat-9", "Status": "New"})
	require.NoError(t, err)
	w := outcome(e, t, "k5", "")
	w.Engagement = flows.EngagementUpdate{ID: string(id), Reason: "Account balance", Verified: true, VerifiedAt: verified,
		Initiating: e.person(t, "alice"), Status: flows.EngagementStatusProgress}
	e.reset(t)
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w), "again: nothing new")
	assert.Equal(t, int64(3), e.calls())
	engs, topics, attendees := written(t, e, "chat-9")
	require.Len(t, engs, 1)
	assert.Equal(t, "Web Chat", field(engs[0], "CommunicationChannel"))
	st, _ := engs[0].Time("StartDateTime")
	assert.True(t, st.Equal(start))
	assert.Equal(t, "Account balance", field(engs[0], "Reason"))
	assert.Equal(t, "true", field(engs[0], "IsAttendeeVerified"))
	assert.Len(t, topics, 1)
	assert.Len(t, attendees, 1)
}

// With a key field on both row objects, each row is upserted by its key: one call however often.
func TestWriteOutcomeWithKeyField(t *testing.T) {
	e := newEnv(t, func(o *salesforce.Options, org *fakeorg.Options) {
		o.WritebackKeyField = "IdvKey__c"
		for _, obj := range []string{"EngagementAttendee", "EngagementTopic"} {
			org.CustomFields = append(org.CustomFields, orgdb.CustomField{Object: obj, Name: "IdvKey__c", Type: "string",
				Length: 255, ExternalID: true, Unique: true})
		}
	})
	w := outcome(e, t, "k6", "call-6")
	e.reset(t)
	for range 3 {
		require.NoError(t, e.a.WriteOutcome(ctx, w))
	}
	assert.Equal(t, int64(3), e.calls(), "one call a delivery")
	engs, topics, attendees := written(t, e, "call-6")
	assert.Len(t, engs, 1)
	require.Len(t, topics, 1)
	assert.Equal(t, "idverify", field(topics[0], "ProcessName"))
	assert.Len(t, attendees, 1)
}

// Key fields with an engagement the session attached to: the rows name it by its id.
func TestWriteOutcomeWithKeyFieldAttached(t *testing.T) {
	e := newEnv(t, func(o *salesforce.Options, org *fakeorg.Options) {
		o.WritebackKeyField = "IdvKey__c"
		for _, obj := range []string{"EngagementAttendee", "EngagementTopic"} {
			org.CustomFields = append(org.CustomFields, orgdb.CustomField{Object: obj, Name: "IdvKey__c", Type: "string",
				Length: 255, ExternalID: true, Unique: true})
		}
	})
	id, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Web Chat",
		"StartDateTime": sfdc.DateTime{Time: started}, "ExternalIdentifier": "chat-10"})
	require.NoError(t, err)
	w := outcome(e, t, "k10", "")
	w.Engagement = flows.EngagementUpdate{ID: string(id), Reason: "Account balance", Status: flows.EngagementStatusProgress}
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	_, topics, attendees := written(t, e, "chat-10")
	assert.Len(t, topics, 1)
	assert.Len(t, attendees, 1)
}

// A session cancelled before its reason writes the engagement alone.
func TestWriteOutcomeWithoutRows(t *testing.T) {
	e := newEnv(t)
	w := flows.Writeback{Key: "k7/writeback", Outcome: flows.OutcomeCancelled,
		Engagement: flows.EngagementUpdate{ExternalID: "call-7", Type: flows.EngagementTypeInbound, Start: started,
			Status: flows.EngagementStatusProgress}, Topic: flows.Topic{Key: "k7/topic", ProcessStatus: flows.ProcessCancelled}}
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	engs, topics, attendees := written(t, e, "call-7")
	require.Len(t, engs, 1)
	assert.Equal(t, "Voice Call", field(engs[0], "CommunicationChannel"), "the default channel")
	assert.Empty(t, topics)
	assert.Empty(t, attendees)
}

// A session that ends before its reason, with a known caller, writes an attendee row and no
// topic: the guard then finds the row by person, role and start. Salesforce keeps datetimes to
// the second, so a start with milliseconds must still find the row written before.
func TestWriteOutcomeAttendeeWithoutTopicTwice(t *testing.T) {
	e := newEnv(t)
	alice := e.person(t, "alice")
	w := flows.Writeback{Key: "k8/writeback", Outcome: flows.OutcomeCancelled,
		Engagement: flows.EngagementUpdate{ExternalID: "call-8", Type: flows.EngagementTypeInbound, Start: started,
			Status: flows.EngagementStatusProgress},
		Attendees: []flows.Attendee{{Key: "k8/attendee/" + alice.ID, Person: alice, Role: flows.RoleSelf, Start: started}},
		Topic:     flows.Topic{Key: "k8/topic", ProcessStatus: flows.ProcessCancelled}}
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w), "a second delivery is a success")
	_, topics, attendees := written(t, e, "call-8")
	assert.Empty(t, topics)
	assert.Len(t, attendees, 1, "the second delivery creates no second row")
}

func TestWriteOutcomeFailures(t *testing.T) {
	tests := []struct {
		name    string
		change  func(e *env, t *testing.T, w *flows.Writeback)
		kind    error
		code    string
		written bool // the engagement exists afterwards
	}{
		{"org unavailable", func(e *env, t *testing.T, _ *flows.Writeback) {
			e.failAll(t, "*/composite", fakeorg.FailServerUnavailable)
		}, flows.ErrUnavailable, "SERVER_UNAVAILABLE", false},
		{"daily limit spent", func(e *env, _ *testing.T, _ *flows.Writeback) { e.org.ExhaustDailyLimit() }, flows.ErrUnavailable, "REQUEST_LIMIT_EXCEEDED", false},
		{"rows locked", func(e *env, t *testing.T, _ *flows.Writeback) {
			e.failAll(t, "*/composite", fakeorg.FailUnableToLockRow)
		}, flows.ErrUnavailable, "UNABLE_TO_LOCK_ROW", false},
		{"a channel the org does not have: nothing is written", func(_ *env, _ *testing.T, w *flows.Writeback) {
			w.Engagement.Channel = "Carrier Pigeon"
		}, salesforce.ErrRejected, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", false},
		{"a row Salesforce refuses: nothing is written", func(_ *env, _ *testing.T, w *flows.Writeback) {
			w.Attendees[0].Start = time.Time{} // EngagementAttendee.StartDateTime is required
		}, salesforce.ErrRejected, "REQUIRED_FIELD_MISSING", false},
		{"several engagements hold the external id", func(e *env, t *testing.T, _ *flows.Writeback) {
			for range 2 {
				_, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call",
					"StartDateTime": sfdc.DateTime{Time: started}, "ExternalIdentifier": "call-8"})
				require.NoError(t, err)
			}
		}, salesforce.ErrRejected, "MULTIPLE_CHOICES", true},
		{"an attached engagement that does not exist", func(e *env, t *testing.T, w *flows.Writeback) {
			id, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call",
				"StartDateTime": sfdc.DateTime{Time: started}})
			require.NoError(t, err)
			_, err = e.org.Client.Delete(ctx, "EngagementInteraction", id)
			require.NoError(t, err)
			w.Engagement = flows.EngagementUpdate{ID: string(id), Status: "In Progress"}
		}, flows.ErrRecordNotFound, "ENTITY_IS_DELETED", false},
		{"an id that is none: nothing is sent", func(_ *env, _ *testing.T, w *flows.Writeback) {
			w.Attendees[0].Person.ID = "003' OR Id != '"
		}, salesforce.ErrRejected, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := outcome(e, t, "k8", "call-8")
			tt.change(e, t, &w)
			err := e.a.WriteOutcome(ctx, w)
			require.ErrorIs(t, err, tt.kind)
			var ae *salesforce.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
			for _, v := range []string{"Carrier", "call-8", "Change of address"} {
				assert.NotContains(t, err.Error(), v, "no value in the error")
			}
			e.org.ClearFaults()
			e.org.ResetDailyUsage()
			engs, topics, attendees := written(t, e, "call-8")
			assert.Equal(t, tt.written, len(engs) > 0)
			assert.Empty(t, topics, "all or none")
			assert.Empty(t, attendees)
		})
	}
}

// loseCompositeAnswers replaces the answer of the next composite request by a proxy's 502 while
// lose is set: the request ran, its answer is lost.
func loseCompositeAnswers(lose *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/composite") || !lose.CompareAndSwap(true, false) {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
		})
	}
}

// The agent who took the call is an internal attendee: InternalAttendeeId, no role, no
// verification (EngagementAttendee, Object Reference:
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_engagementattendee.htm).
func TestWriteOutcomeInternalAttendee(t *testing.T) {
	e := newEnv(t)
	users := rows(t, e, sfdc.Select("Id").From("User").Limit(1))
	require.Len(t, users, 1)
	agent := flows.Ref{Object: "User", ID: string(users[0].ID())}
	internal := func(key string) flows.Attendee {
		return flows.Attendee{Key: key + "/agent/" + agent.ID, Person: agent, Internal: true, Start: started}
	}
	attendeeRows := func(externalID string) []sfdc.Record {
		engs, _, _ := written(t, e, externalID)
		require.Len(t, engs, 1)
		return rows(t, e, sfdc.Select("ExternalAttendeeId", "InternalAttendeeId", "Role", "IsVerified").From("EngagementAttendee").
			Where(sfdc.Eq("EngagementId", engs[0].ID())))
	}

	w := outcome(e, t, "k20", "call-20")
	w.Attendees = append(w.Attendees, internal("k20"))
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w), "again: written once")
	got := attendeeRows("call-20")
	require.Len(t, got, 2)
	if field(got[0], "InternalAttendeeId") != "" {
		got[0], got[1] = got[1], got[0]
	}
	assert.Equal(t, agent.ID, field(got[1], "InternalAttendeeId"))
	assert.Empty(t, field(got[1], "ExternalAttendeeId"))
	assert.Empty(t, field(got[1], "Role"))
	assert.Equal(t, "false", field(got[1], "IsVerified"))
	assert.Empty(t, field(got[0], "InternalAttendeeId"), "the caller is external")

	// A session cancelled before its reason writes no topic: the agent's row is the guard.
	w = flows.Writeback{Key: "k21/writeback", Outcome: flows.OutcomeCancelled,
		Engagement: flows.EngagementUpdate{ExternalID: "call-21", Type: flows.EngagementTypeInbound, Start: started,
			Status: flows.EngagementStatusProgress}, Topic: flows.Topic{Key: "k21/topic", ProcessStatus: flows.ProcessCancelled},
		Attendees: []flows.Attendee{internal("k21")}}
	require.NoError(t, e.a.WriteOutcome(ctx, w))
	require.NoError(t, e.a.WriteOutcome(ctx, w), "again: written once")
	got = attendeeRows("call-21")
	require.Len(t, got, 1)
	assert.Equal(t, agent.ID, field(got[0], "InternalAttendeeId"))
}

// A proxy (or Salesforce in maintenance) answers 503 with a Retry-After longer than sfdc waits
// itself (sfdc.DefaultRetryAfterMax): the adapter's error carries the wait, for the outbox to
// reschedule the write no sooner (RFC 9110, section 10.2.3:
// https://www.rfc-editor.org/rfc/rfc9110#name-retry-after).
func TestWriteOutcomeRetryAfter(t *testing.T) {
	e := newEnvBehind(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/composite") {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Retry-After", "600")
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	})
	err := e.a.WriteOutcome(ctx, outcome(e, t, "k30", "call-30"))
	require.ErrorIs(t, err, flows.ErrUnavailable)
	var ae *salesforce.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 10*time.Minute, ae.RetryAfter())
}
