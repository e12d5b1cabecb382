package config

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ParseWebhookURL parses a webhook's URL (events.webhooks[].url) and refuses what idverify will
// not POST events to, with an error that says what to write instead (it reads after "the URL":
// "must be …"). Config validation and webhook.New both use it, so a URL that passes
// `config check` is one the Sender takes. It refuses:
//
//   - anything but an absolute http or https URL, and one with a user or password (the
//     signature authenticates idverify; a password would sit in the file and the logs) or a
//     #fragment (never sent: a sign of a mistyped URL);
//   - http unless allowPrivate: plain http sends the events in clear, so it is only for a
//     receiver inside your own network (which allow_private declares; webhook.New and its
//     dialer then keep it to non-public addresses). Stripe, whose signing scheme ours follows,
//     likewise requires https for live endpoints
//     (https://docs.stripe.com/webhooks: "a publicly accessible HTTPS URL");
//   - a host that is neither a DNS name nor an IP address in its one canonical form: an IPv4
//     address in decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1), short (127.1) or
//     zero-padded (127.000.0.1) form, an IPv6 address with a zone (fe80::1%eth0), a name
//     with characters a DNS name has not (an internationalised name is written in its xn--
//     form), or a port outside 1-65535. Browsers and C resolvers read the odd IPv4 forms as
//     addresses and Go does not, so such a URL would fail every delivery, or reach an
//     address nobody checked; refusing them keeps the literal-address check (webhook.Blocked)
//     looking at the address that is dialled.
func ParseWebhookURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, errors.New("is empty: give the https URL events are POSTed to")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		return nil, errors.New("must be an absolute http or https URL, e.g. https://hooks.example.com/idverify")
	case u.User != nil:
		return nil, errors.New("must not hold a user or password: the signature authenticates idverify")
	case strings.Contains(raw, "#"):
		return nil, errors.New("must not have a #fragment: it is never sent")
	}
	if err := checkWebhookHost(u); err != nil {
		return nil, err
	}
	if u.Scheme == "http" && !allowPrivate {
		return nil, errors.New("must be https: plain http sends events in clear, and is only for a receiver inside your network (set allow_private for one)")
	}
	return u, nil
}

// checkWebhookHost refuses a host that is not a DNS name or a canonical IP address, and a port
// outside 1-65535.
func checkWebhookHost(u *url.URL) error {
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return errors.New("has port " + p + ": use 1 to 65535")
		}
	}
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(host)
		switch {
		case err != nil || !ip.Is6():
			return errors.New("must have an IPv6 address between [ and ]")
		case ip.Zone() != "":
			return errors.New("must not name an IPv6 zone (%" + ip.Zone() + "): give a routable address or a host name")
		}
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	// A host whose last label is a number is an IPv4 address to a browser and to a C
	// resolver's inet_aton (the WHATWG URL Standard's "ends in a number",
	// https://url.spec.whatwg.org/#ends-in-a-number-checker), whatever its other labels.
	if last := labels[len(labels)-1]; isDecimal(last) || isHexNumber(last) {
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is4() {
			return errors.New("has host " + strconv.Quote(host) + ", not an IPv4 address in dotted-decimal form: write four numbers from 0 to 255 without leading zeros (127.0.0.1), or a host name")
		}
		return nil
	}
	if len(host) > 254 || host == "." {
		return errors.New("must have a host name of at most 253 characters")
	}
	for _, l := range labels {
		if !isHostLabel(l) {
			return errors.New("has host " + strconv.Quote(host) + ", not a DNS name: use letters, digits, - and _ in labels of 1 to 63 characters (an internationalised name in its xn-- form)")
		}
	}
	return nil
}

func isDecimal(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// isHexNumber reports whether s is 0x or 0X followed by hex digits (or nothing, which the URL
// Standard reads as 0).
func isHexNumber(s string) bool {
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range []byte(s[2:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isHostLabel reports whether l is one label of a host name: 1 to 63 ASCII letters, digits, -
// and _ (which Go's resolver takes, as hosts inside networks use it), not starting or ending
// with -.
func isHostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
