package outbox_test

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// The tests in this package's integration_test.go, scenarios_test.go, storm_test.go and
// crash_test.go run the product end to end: the engine, the real Salesforce adapter (over
// sfdc) against the fake org, a real store (SQLite always, PostgreSQL when
// IDVERIFY_TEST_POSTGRES_DSN is set) and this package's worker delivering the outbox. What
// they check is what lands in the org, and how many API calls it took.

// secret keys the engine's HMACs in these tests.
var secret = []byte("0123456789abcdef0123456789abcdef")

// rig is an engine on a store, with the Salesforce adapter on a demo fake org.
type rig struct {
	org    *sfdctest.Org
	a      *salesforce.Adapter
	opts   salesforce.Options
	st     store.Store
	engine *flows.Engine
	clock  *clock
	demo   *orgdb.DemoDataset
}

// exampleOptions is the adapter's configuration from examples/idverify.yaml.
func exampleOptions(t testing.TB) salesforce.Options {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	t.Setenv(config.EnvName("secrets.hmac_key"), string(secret))
	cfg, err := config.Load(config.Options{File: filepath.Join(filepath.Dir(file), "..", "..", "examples", "idverify.yaml")})
	require.NoError(t, err)
	opts, err := salesforce.OptionsFrom(cfg)
	require.NoError(t, err)
	return opts
}

// newRig starts a demo org (with settings) and an engine on st, configured as
// examples/idverify.yaml configures it. The engine's clock is the real time, moved on by
// clock.Add.
func newRig(t testing.TB, st store.Store, settings ...sfdctest.Option) *rig {
	t.Helper()
	org := sfdctest.NewOrg(t, append([]sfdctest.Option{sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo})}, settings...)...)
	r := newRigOn(t, st, org.Client)
	r.org = org
	return r
}

// newRigOn is newRig on an org the client reaches (the rig's org is nil).
func newRigOn(t testing.TB, st store.Store, c *sfdc.Client) *rig {
	t.Helper()
	opts := exampleOptions(t)
	clk := &clock{}
	opts.Now = clk.Now
	a, err := salesforce.New(c, opts)
	require.NoError(t, err)
	require.NoError(t, a.Warm(context.Background()))
	e, err := flows.New(opts.Policy, flows.Ports{CRM: a, Recorder: a, Store: st, Clock: clk}, secret)
	require.NoError(t, err)
	return &rig{a: a, opts: opts, st: st, engine: e, clock: clk, demo: orgdb.Demo()}
}

// person returns a demo person's Ref.
func (r *rig) person(t testing.TB, key string) flows.Ref {
	t.Helper()
	p, ok := r.demo.Person(key)
	require.True(t, ok, key)
	return flows.Ref{Object: p.Object, ID: p.ID}
}

// calls is how many API calls the org answered since the last reset, logins excluded.
func (r *rig) calls() int64 { return r.org.APICalls() }

// resetCalls logs the client in (so that the login is not counted) and forgets the calls made.
func (r *rig) resetCalls(t testing.TB) {
	t.Helper()
	r.org.ResetAPICalls(t)
}

// worker is a worker on the rig's store and adapter that tries a failed write again soon.
func (r *rig) worker() *outbox.Worker {
	return &outbox.Worker{Outbox: r.st, Recorder: r.a, Lease: 30 * time.Second, MinBackoff: time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, Poll: 2 * time.Millisecond, Now: r.clock.Now}
}

// drain runs the worker until no write is pending or claimed, and returns the parked ones. It
// fails the test if that takes a minute.
func (r *rig) drain(t testing.TB) []flows.OutboxEntry {
	t.Helper()
	w := r.worker()
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := w.RunOnce(context.Background())
		require.NoError(t, err)
		list, err := r.st.ListOutbox(context.Background(), 0, 0)
		require.NoError(t, err)
		var parked []flows.OutboxEntry
		for _, e := range list {
			if e.Status == flows.OutboxParked {
				parked = append(parked, e)
			}
		}
		if len(parked) == len(list) {
			return parked
		}
		require.True(t, time.Now().Before(deadline), "the outbox did not drain: %+v", list)
		time.Sleep(time.Millisecond)
	}
}

// landed is what the org holds of one engagement.
type landed struct {
	engs, topics, attendees []sfdc.Record
}

// written reads the engagements with ExternalIdentifier ext, and the topics and attendees of
// the first, through a client of its own (so that the rig's counts stay the rig's).
func written(t testing.TB, c *sfdc.Client, ext string) landed {
	t.Helper()
	var l landed
	l.engs = rows(t, c, sfdc.Select("Id", "Type", "CommunicationChannel", "Reason", "Status", "IsAttendeeVerified",
		"AttendeeVerificationTime", "InitiatingAttendeeId", "PhoneNumber").
		From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", ext)))
	if len(l.engs) == 0 {
		return l
	}
	id := string(l.engs[0].ID())
	l.topics = rows(t, c, sfdc.Select("Id", "Name", "RelatedPersonId", "ProcessStatus").From("EngagementTopic").
		Where(sfdc.Eq("EngagementId", id)).OrderBy("CreatedDate", false))
	l.attendees = rows(t, c, sfdc.Select("Id", "ExternalAttendeeId", "Role", "IsVerified").From("EngagementAttendee").
		Where(sfdc.Eq("EngagementId", id)).OrderBy("CreatedDate", false))
	return l
}

func rows(t testing.TB, c *sfdc.Client, q *sfdc.Query) []sfdc.Record {
	t.Helper()
	var out []sfdc.Record
	for rec, err := range c.Query(context.Background(), q) {
		require.NoError(t, err)
		out = append(out, rec)
	}
	return out
}

// field is a record's field as text: "" for null, "true"/"false" for a checkbox.
func field(rec sfdc.Record, name string) string {
	v, _ := rec.Get(name)
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	return "?"
}

// clock is the real time plus an offset a test moves on.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.offset) }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.offset += d; c.mu.Unlock() }
