package sfdctest_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

func TestNewOrg(t *testing.T) {
	var seen atomic.Int64
	var retries atomic.Int64
	org := sfdctest.NewOrg(t,
		sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo}),
		sfdctest.WithClient(func(c *sfdc.Config) { c.OnRetry = func(sfdc.RetryEvent) { retries.Add(1) } }),
		sfdctest.WithMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen.Add(1); next.ServeHTTP(w, r) })
		}))
	ctx := context.Background()

	n, _, err := org.Client.Count(ctx, sfdc.SelectCount().From("Contact"))
	require.NoError(t, err)
	assert.Positive(t, n, "the demo data is there")

	_, err = org.AddFault(fakeorg.Fault{Path: "*/sobjects/Contact", Method: "POST", Failure: fakeorg.FailUnableToLockRow, Times: 1})
	require.NoError(t, err)
	_, _, err = org.Client.Create(ctx, "Contact", map[string]any{"LastName": "Lee"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), org.Count(fakeorg.KindCreate))
	assert.Equal(t, int64(1), retries.Load(), "the client's options apply, and retries are fast")
	assert.Equal(t, int64(1+1+2), seen.Load(), "the middleware sees the login, the count and both attempts")

	other := org.NewClient(t)
	_, _, err = other.Limits(ctx)
	require.NoError(t, err)
	s := org.Session(t)
	assert.NotEmpty(t, s.AccessToken)
	assert.Equal(t, org.URL(), s.InstanceURL)
	assert.Equal(t, int64(3), org.Count(fakeorg.KindToken), "each client logs in once; Session is a login")
}
