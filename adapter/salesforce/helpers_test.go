package salesforce_test

import (
	"context"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// env is one test's fake org (the demo seed), an adapter on it and the demo's people.
type env struct {
	org   *sfdctest.Org
	a     *salesforce.Adapter
	demo  *orgdb.DemoDataset
	opts  salesforce.Options
	clock *clock
}

// example is the configuration of examples/idverify.yaml: the setup the adapter is tested with.
var example = sync.OnceValues(func() (*config.Config, error) {
	_, file, _, _ := runtime.Caller(0)
	return loadExample(filepath.Join(filepath.Dir(file), "..", "..", "examples", "idverify.yaml"))
})

func loadExample(path string) (*config.Config, error) {
	return config.Load(config.Options{File: path})
}

// newEnv starts a demo org and an adapter configured as examples/idverify.yaml configures it,
// then changed by tweaks.
func newEnv(t testing.TB, tweaks ...func(*salesforce.Options, *fakeorg.Options)) *env {
	t.Helper()
	return newEnvBehind(t, nil, tweaks...)
}

// newEnvBehind is newEnv with the org behind middleware m (nil: none).
func newEnvBehind(t testing.TB, m func(http.Handler) http.Handler, tweaks ...func(*salesforce.Options, *fakeorg.Options)) *env {
	t.Helper()
	t.Setenv(config.EnvName("secrets.hmac_key"), "0123456789abcdef0123456789abcdef")
	cfg, err := loadExample(examplePath(t))
	require.NoError(t, err)
	opts, err := salesforce.OptionsFrom(cfg)
	require.NoError(t, err)
	c := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	opts.Now = c.Now
	orgOpts := fakeorg.Options{Seed: fakeorg.SeedDemo}
	for _, f := range tweaks {
		f(&opts, &orgOpts)
	}
	orgSettings := []sfdctest.Option{sfdctest.WithOrg(orgOpts)}
	if m != nil {
		orgSettings = append(orgSettings, sfdctest.WithMiddleware(m))
	}
	org := sfdctest.NewOrg(t, orgSettings...)
	a, err := salesforce.New(org.Client, opts)
	require.NoError(t, err)
	require.NoError(t, a.Warm(context.Background()))
	return &env{org: org, a: a, demo: orgdb.Demo(), opts: opts, clock: c}
}

func examplePath(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "idverify.yaml")
}

// person returns a demo person's Ref.
func (e *env) person(t testing.TB, key string) flows.Ref {
	t.Helper()
	p, ok := e.demo.Person(key)
	require.True(t, ok, key)
	return flows.Ref{Object: p.Object, ID: p.ID}
}

// calls is how many API calls the org answered since the last reset, logins excluded.
func (e *env) calls() int64 { return e.org.APICalls() }

// reset logs the client in (so that the login is not counted) and forgets the calls made.
func (e *env) reset(t testing.TB) {
	t.Helper()
	e.org.ResetAPICalls(t)
}

// searchType returns the policy's search type name.
func (e *env) searchType(t testing.TB, name string) flows.SearchType {
	t.Helper()
	st, ok := e.opts.Policy.SearchType(name)
	require.True(t, ok, name)
	return st
}

// failAll makes every request to path answer failure, beyond the client's retries.
func (e *env) failAll(t testing.TB, path string, failure fakeorg.Failure) {
	t.Helper()
	id, err := e.org.AddFault(fakeorg.Fault{Path: path, Failure: failure})
	require.NoError(t, err)
	t.Cleanup(func() { e.org.RemoveFault(id) })
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

var ctx = context.Background()

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

var errCanceled = context.Canceled

var salesforceUnavailable = flows.ErrUnavailable
