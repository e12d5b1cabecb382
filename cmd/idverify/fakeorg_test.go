package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFakeOrgCommandServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	var out syncBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"fake-org", "--addr", "127.0.0.1:0", "--seed", "demo", "--log-requests"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`login URL:\s+(http://127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 30*time.Second, 10*time.Millisecond, "no login URL printed: %s", out.String())
	for _, want := range []string{"idverify-demo", "idverify-demo-secret", "integration@demo.idverify.dev", "demo-password"} {
		assert.Contains(t, out.String(), want)
	}

	// Log in with the printed credentials and query.
	resp, err := http.PostForm(base+"/services/oauth2/token", url.Values{"grant_type": {"password"},
		"client_id": {"idverify-demo"}, "client_secret": {"idverify-demo-secret"},
		"username": {"integration@demo.idverify.dev"}, "password": {"demo-password"}})
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, base, tok.InstanceURL)

	req, err := http.NewRequest(http.MethodGet, tok.InstanceURL+"/services/data/v62.0/query?q="+
		url.QueryEscape("SELECT Id, Username FROM User"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var qr struct {
		TotalSize int              `json:"totalSize"`
		Done      bool             `json:"done"`
		Records   []map[string]any `json:"records"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&qr))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, qr.Done)
	require.NotEmpty(t, qr.Records)

	// --log-requests: a line per request, without the query or the token.
	assert.Contains(t, out.String(), "method=GET path=/services/data/v62.0/query?q status=200 duration=")
	assert.Contains(t, out.String(), "method=POST path=/services/oauth2/token status=200")
	assert.NotContains(t, out.String(), tok.AccessToken)
	assert.NotContains(t, out.String(), "Username FROM")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("fake-org did not stop after its context was cancelled")
	}
	assert.Contains(t, out.String(), "fake org stopped")
}

func TestFakeOrgCommandRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"fake-org", "--seed", "lots"}, "--seed"},
		{[]string{"fake-org", "--records", "-3"}, "--records"},
		{[]string{"fake-org", "--jwt-cert", "/nonexistent/cert.pem"}, "--jwt-cert"},
		{[]string{"fake-org", "--addr", "not an address"}, "--addr"},
		{[]string{"fake-org", "--callback-url", "http://example.com:*/cb"}, "--callback-url"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRootCommand()
			root.SetOut(&bytes.Buffer{})
			root.SetErr(&bytes.Buffer{})
			root.SetArgs(tt.args)
			err := root.ExecuteContext(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
