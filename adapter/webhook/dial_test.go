package webhook

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Which addresses a webhook's connections reach, after DNS: a name's address cannot be chosen
// in a test without a resolver of our own, so the rule is checked here.
func TestDialAllowed(t *testing.T) {
	public, loopback, private := netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.1.2.3")
	for _, tt := range []struct {
		name                      string
		allowPrivate, plainHTTP   bool
		public, loopback, private bool
	}{
		{"https", false, false, true, false, false},
		{"https, allow_private", true, false, true, true, true},
		{"plain http, allow_private: inside the network only", true, true, false, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			allowed := dialAllowed(tt.allowPrivate, tt.plainHTTP)
			got := func(ip netip.Addr) bool { return allowed == nil || allowed(ip) }
			assert.Equal(t, tt.public, got(public), "public")
			assert.Equal(t, tt.loopback, got(loopback), "loopback")
			assert.Equal(t, tt.private, got(private), "private")
		})
	}
}
