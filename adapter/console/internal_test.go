package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/idverify/flows"
)

// After a sign-in the browser goes back only to a page of the console.
func TestLocalNext(t *testing.T) {
	for next, want := range map[string]string{
		"/console/s/abc?m=stale":                "/console/s/abc?m=stale",
		"/console/engagements/call-1":           "/console/engagements/call-1",
		"https://evil.example/console/":         "/console/",
		"//evil.example/console/":               "/console/",
		"/console/\\evil.example":               "/console/",
		"/console/\r\nSet-Cookie: x=y":          "/console/",
		"/other":                                "/console/",
		"/console/signin?next=/console/":        "/console/",
		"/console/oauth/callback?code=x":        "/console/",
		"/console/" + strings.Repeat("a", 3000): "/console/",
		"":                                      "/console/",
	} {
		assert.Equal(t, want, localNext(next), next)
	}
}

// A sign-in's next page is a page of this console: one it sealed (a screen pop's, whose query
// holds the caller's phone number), or a path; a value sealed under another deployment's key,
// or sealed for another purpose, opens to nothing, and one that opens to a page elsewhere is
// still refused.
func TestNextPage(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	c := &Console{nexts: newSealer(key, "next page"), agents: newSealer(key, "agent")}
	other := &Console{nexts: newSealer([]byte(strings.Repeat("o", 32)), "next page")}
	pop := "/console/start?phone=%2B14155550101&call_id=c-1"
	sealed := c.sealNext(pop)
	assert.NotContains(t, sealed, "4155550101")
	assert.Equal(t, "/console/s/abc", c.sealNext("/console/s/abc"), "a path without a query stays as it is")
	for name, tt := range map[string]struct{ next, want string }{
		"sealed here":                 {sealed, pop},
		"a path":                      {"/console/s/abc?m=stale", "/console/s/abc?m=stale"},
		"sealed under another key":    {other.sealNext(pop), "/console/"},
		"sealed for another purpose":  {c.agents.seal([]byte(pop)), "/console/"},
		"sealed, another site":        {c.nexts.seal([]byte("https://evil.example/console/")), "/console/"},
		"sealed, protocol-relative":   {c.nexts.seal([]byte("//evil.example/console/")), "/console/"},
		"sealed, the sign-in itself":  {c.nexts.seal([]byte("/console/signin?next=x")), "/console/"},
		"unsealed, another site":      {"https://evil.example/console/", "/console/"},
		"unsealed, protocol-relative": {"//evil.example/console/", "/console/"},
		"garbage":                     {"not-sealed", "/console/"},
		"none":                        {"", "/console/"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/console/signin?"+url.Values{"next": {tt.next}}.Encode(), nil)
		assert.Equal(t, tt.want, c.nextPage(r), name)
	}
}

func TestSealer(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	a, b := newSealer(key, "agent"), newSealer(key, "session")
	text := a.seal([]byte("hello"))
	got, err := a.open(text)
	assert.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	_, err = b.open(text)
	assert.ErrorIs(t, err, errUnsealed, "another purpose's key")
	tampered := []byte(text)
	tampered[len(tampered)-2] ^= 1
	_, err = a.open(string(tampered))
	assert.ErrorIs(t, err, errUnsealed)
	_, err = a.open(strings.Repeat("A", maxSealed+1))
	assert.ErrorIs(t, err, errUnsealed)
	assert.NotEqual(t, text, a.seal([]byte("hello")), "a fresh nonce each time")
}

// Search results (personal data) are forgotten once expired, at the next search or results
// page, not only when the cache is full.
func TestResultCacheForgetsExpired(t *testing.T) {
	rc := newResultCache(10, time.Minute)
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	rc.put(t0, "a", 1, []flows.Row{{Values: []string{"Alice"}}}, false)
	rc.put(t0.Add(30*time.Second), "b", 1, nil, false)
	rc.put(t0.Add(2*time.Minute), "c", 1, nil, false)
	assert.Len(t, rc.entries, 1, "a and b expired")
	assert.Equal(t, 1, rc.order.Len())
	_, _, ok := rc.get(t0.Add(3*time.Minute+time.Second), "x", 1)
	assert.False(t, ok)
	assert.Empty(t, rc.entries, "c expired, forgotten on a read of another session")
	// The bound still holds.
	for i := range 12 {
		rc.put(t0, string(rune('a'+i)), 1, nil, false)
	}
	assert.Len(t, rc.entries, 10)
}
