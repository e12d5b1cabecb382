package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
)

const janeID = "001000000000001AAA"

// adminStore points the configuration at a new SQLite store (through the environment, as an
// operator would) and returns it open, with a delivered, a pending and a parked write, and two
// failures against Jane.
func adminStore(t *testing.T) *sqlite.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idverify.db")
	t.Setenv("IDVERIFY_STORE_DSN", path)
	t.Setenv("IDVERIFY_SECRETS_HMAC_KEY", "0123456789abcdef0123456789abcdef")
	t.Setenv("IDVERIFY_CONFIG", filepath.Join("..", "..", "examples", "idverify.yaml"))
	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	for i, ref := range []string{"call-1", "call-2", "call-3"} {
		key := ref + "/writeback"
		_, err := st.Commit(t.Context(), flows.Commit{Session: ref, Data: []byte("x"), Outbox: []flows.OutboxWrite{
			{Key: key, Engagement: ref, At: now.Add(time.Duration(i) * time.Second), Writeback: flows.Writeback{Key: key}}},
			Failures: []flows.Failure{{Person: janeID, Key: ref, At: now}}})
		require.NoError(t, err)
	}
	claimed, err := st.ClaimOutbox(t.Context(), now.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	require.NoError(t, st.Delivered(t.Context(), claimed[0].Claim(), now))
	require.NoError(t, st.Reschedule(t.Context(), claimed[1].Claim(), "REQUEST_LIMIT_EXCEEDED", now.Add(time.Hour)))
	require.NoError(t, st.Park(t.Context(), claimed[2].Claim(), "FIELD_CUSTOM_VALIDATION_EXCEPTION"))
	return st
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestOutboxListRetryDiscard(t *testing.T) {
	st := adminStore(t)
	// An event for the webhook crm, queued as the engine queues it: "event/crm" is its queue.
	ev := &flows.Event{Type: flows.EventVerified, Subscriber: "crm", ID: "call-4/event/crm", At: time.Now(),
		Session: "digest", Engagement: "call-4", Outcome: flows.OutcomeVerified}
	_, err := st.Commit(t.Context(), flows.Commit{Session: "call-4", Data: []byte("x"),
		Outbox: []flows.OutboxWrite{{Key: ev.ID, Engagement: "event/crm", At: ev.At, Event: ev}}})
	require.NoError(t, err)

	out, err := run(t, "outbox", "list")
	require.NoError(t, err)
	assert.Regexp(t, `ID\s+STATUS\s+KIND\s+TO\s+ENGAGEMENT\s+ATTEMPTS\s+CODE\s+NEXT ATTEMPT\s+QUEUED`, out)
	assert.Regexp(t, `2\s+pending\s+write-back\s+salesforce\s+call-2\s+1\s+REQUEST_LIMIT_EXCEEDED\s+\d{4}-`, out)
	assert.Regexp(t, `3\s+parked\s+write-back\s+salesforce\s+call-3\s+1\s+FIELD_CUSTOM_VALIDATION_EXCEPTION\s+-\s+\d{4}-`, out)
	assert.Regexp(t, `4\s+pending\s+verified\s+webhook:crm\s+call-4\s+0\s+-\s+\d{4}-`, out)
	assert.NotContains(t, out, "event/", "an event's queue is not its engagement")
	assert.NotContains(t, out, "call-1", "delivered writes are not listed")
	assert.Contains(t, out, "3 writes")

	out, err = run(t, "outbox", "list", "--parked")
	require.NoError(t, err)
	assert.NotContains(t, out, "call-2")
	assert.Contains(t, out, "1 writes")

	_, err = run(t, "outbox", "retry", "2")
	require.ErrorContains(t, err, "no parked write has id 2", "a pending write is not parked")
	_, err = run(t, "outbox", "retry", "x")
	require.ErrorContains(t, err, "the id is the number outbox list shows")
	out, err = run(t, "outbox", "retry", "3")
	require.NoError(t, err)
	assert.Contains(t, out, "write 3: pending, due now")
	out, err = run(t, "outbox", "list", "--parked")
	require.NoError(t, err)
	assert.Contains(t, out, "0 writes")
}

func TestOutboxDiscard(t *testing.T) {
	adminStore(t)
	out, err := run(t, "outbox", "discard", "3")
	require.NoError(t, err)
	assert.Contains(t, out, "write 3: discarded")
	_, err = run(t, "outbox", "discard", "3")
	require.ErrorContains(t, err, "no parked write has id 3")
}

func TestLockoutResetIsAudited(t *testing.T) {
	st := adminStore(t)
	_, err := run(t, "lockout", "reset", janeID, "--actor", "ops-anna", "--reason", "identified in branch")
	require.NoError(t, err)
	resets, err := st.Resets(t.Context(), janeID)
	require.NoError(t, err)
	require.Len(t, resets, 1)
	assert.Equal(t, 3, resets[0].Cleared)
	assert.Equal(t, "ops-anna", resets[0].Actor)
	assert.Equal(t, "identified in branch", resets[0].Reason)
	f, err := st.Failures(t.Context(), janeID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Empty(t, f)

	for _, args := range [][]string{
		{"lockout", "reset", "not-an-id", "--actor", "a", "--reason", "r"},
		{"lockout", "reset", janeID, "--reason", "r"},
		{"lockout", "reset", janeID, "--actor", "a"},
		{"lockout", "reset", janeID, "--actor", "Anna Smith", "--reason", "r"}, // a token, not free text
	} {
		_, err := run(t, args...)
		require.Error(t, err, "%v", args)
	}
	resets, err = st.Resets(t.Context(), janeID)
	require.NoError(t, err)
	assert.Len(t, resets, 1, "a refused reset is not kept")
}

func TestStoreSweep(t *testing.T) {
	st := adminStore(t)
	// A session started an hour ago and left at the reason: idle past session.idle_timeout (15m).
	cfg, err := config.Load(config.Options{})
	require.NoError(t, err)
	policy, err := cfg.Policy()
	require.NoError(t, err)
	e, err := flows.New(policy, flows.Ports{CRM: offline{}, Recorder: offline{}, Store: st, Clock: hourAgo{}}, []byte(cfg.Secrets.HMACKey.Value()))
	require.NoError(t, err)
	v, err := e.Start(t.Context(), flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: janeID}, ExternalID: "call-idle"})
	require.NoError(t, err)

	out, err := run(t, "store", "sweep")
	require.NoError(t, err)
	assert.Contains(t, out, "expired: 1 idle sessions")
	assert.Contains(t, out, "deleted: 0 sessions, 0 failures, 0 verified marks, 0 delivered writes, 0 audit records")
	e, err = flows.New(policy, flows.Ports{CRM: offline{}, Recorder: offline{}, Store: st}, []byte(cfg.Secrets.HMACKey.Value()))
	require.NoError(t, err)
	got, err := e.Get(t.Context(), v.Session)
	require.NoError(t, err)
	assert.Equal(t, flows.OutcomeExpired, got.Outcome)
	list, err := st.ListOutbox(t.Context(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, "call-idle", list[len(list)-1].Engagement, "its outcome is queued")

	out, err = run(t, "store", "sweep")
	require.NoError(t, err)
	assert.Contains(t, out, "expired: 0 idle sessions")
}

type hourAgo struct{}

func (hourAgo) Now() time.Time { return time.Now().Add(-time.Hour) }

// A session the sweep cannot end (unreadable: damaged, or stored by an incompatible version)
// is reported, but the idle sessions after it are still ended and the store still swept.
func TestStoreSweepPastAnUnreadableSession(t *testing.T) {
	st := adminStore(t)
	cfg, err := config.Load(config.Options{})
	require.NoError(t, err)
	policy, err := cfg.Policy()
	require.NoError(t, err)
	_, err = st.Commit(t.Context(), flows.Commit{Session: "damaged", Data: []byte("not a session"), Expires: time.Now().Add(-2 * time.Hour),
		Marks: []flows.VerifiedMark{{VerifiedKey: flows.VerifiedKey{Engagement: "call-old", Person: janeID, Role: flows.VerifiedSelf},
			At: time.Now().Add(-3 * time.Hour), Until: time.Now().Add(-2 * time.Hour)}}})
	require.NoError(t, err)
	e, err := flows.New(policy, flows.Ports{CRM: offline{}, Recorder: offline{}, Store: st, Clock: hourAgo{}}, []byte(cfg.Secrets.HMACKey.Value()))
	require.NoError(t, err)
	_, err = e.Start(t.Context(), flows.StartRequest{Attendee: flows.Ref{Object: "Account", ID: janeID}, ExternalID: "call-idle"})
	require.NoError(t, err)

	out, err := run(t, "store", "sweep")
	require.ErrorIs(t, err, flows.ErrUnavailable, "the unreadable session is reported")
	assert.Contains(t, out, "expired: 1 idle sessions")
	assert.Contains(t, out, "1 verified marks")
}
