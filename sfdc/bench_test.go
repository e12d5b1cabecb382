package sfdc_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// handlerTransport serves requests straight from an http.Handler, in process: the benchmarks
// then measure the client, not the loopback network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// BenchmarkCallOverhead compares one Get through the client with the bare HTTP round trip it
// makes (same request, same in-process fake org, body read but not decoded). The difference is
// the client's own cost: auth, retry policy, simpleforce, error mapping, decoding.
func BenchmarkCallOverhead(b *testing.B) {
	org, err := fakeorg.New(fakeorg.Options{BaseURL: "http://fake.test", DailyAPILimit: math.MaxInt32})
	require.NoError(b, err)
	// Both sides use the same transport and the same per-attempt timeout (which costs allocations
	// in net/http).
	hc := &http.Client{Transport: handlerTransport{org.Handler()}, Timeout: sfdc.DefaultTimeout}
	auth := sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: "http://fake.test", ClientID: fakeorg.DemoClientID,
		ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername, Password: fakeorg.DemoPassword}
	c, err := sfdc.New(sfdc.Config{Auth: auth, HTTPClient: hc})
	require.NoError(b, err)
	ctx := context.Background()
	id, _, err := c.Create(ctx, "Contact", map[string]any{"FirstName": "Bench", "LastName": "Mark", "Phone": "+1 555 0100"})
	require.NoError(b, err)
	token := bearerToken(b, hc)
	url := "http://fake.test/services/data/v62.0/sobjects/Contact/" + id.String() + "?fields=FirstName,LastName,Phone"

	b.Run("raw-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
	b.Run("client-get-into", func(b *testing.B) {
		b.ReportAllocs()
		var dst struct{ FirstName, LastName, Phone string }
		for b.Loop() {
			if _, err := c.GetInto(ctx, "Contact", id, &dst, "FirstName", "LastName", "Phone"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client-get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.Get(ctx, "Contact", id, "FirstName", "LastName", "Phone"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func bearerToken(b *testing.B, hc *http.Client) string {
	resp, err := hc.PostForm("http://fake.test/services/oauth2/token", map[string][]string{"grant_type": {"password"},
		"client_id": {fakeorg.DemoClientID}, "client_secret": {fakeorg.DemoClientSecret},
		"username": {fakeorg.DemoUsername}, "password": {fakeorg.DemoPassword}})
	require.NoError(b, err)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(b, decodeJSON(resp.Body, &body))
	return body.AccessToken
}

// BenchmarkExpiry500 runs 500 goroutines that call while the token expires; it reports the
// logins each round needed (TestConcurrentExpiryOneLogin asserts it is exactly one).
func BenchmarkExpiry500(b *testing.B) {
	e := newEnv(b, fakeorg.Options{})
	id := e.createContact(b, "Shared")
	b.ReportAllocs()
	var logins int64
	for b.Loop() {
		before := e.org.Count(fakeorg.KindToken)
		e.org.ExpireTokens()
		var wg sync.WaitGroup
		for range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := e.c.Get(context.Background(), "Contact", id, "LastName"); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		logins += e.org.Count(fakeorg.KindToken) - before
	}
	b.ReportMetric(float64(logins)/float64(b.N), "logins/op")
}
