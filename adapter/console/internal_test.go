package console

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
