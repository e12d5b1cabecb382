package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Agent is a signed-in agent as the console knows them: from Salesforce's userinfo at
// sign-in. The console keeps no token: Salesforce's access token is used once, to read who
// signed in, and then revoked.
type Agent struct {
	// UserID is the agent's Salesforce User id: the actor of every step in the audit and the
	// internal EngagementAttendee of the sessions they start.
	UserID string `json:"u"`
	// Name is shown in the console's header.
	Name string `json:"n"`
	// TimeZone is the agent's IANA time zone (Salesforce's zoneinfo): every time the console
	// shows is in it.
	TimeZone string `json:"z"`
	// Instance is the org's instance URL, which links to records open in.
	Instance string `json:"i,omitempty"`
}

// agentSession is what the agent's cookie holds, sealed: the agent, the secret their forms'
// CSRF tokens are checked against, and when it expires.
type agentSession struct {
	Agent
	CSRF    string `json:"c"`
	Expires int64  `json:"e"`
}

const agentCookie = "idv_agent"

var (
	userID = regexp.MustCompile(`^005[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`)
	orgID  = regexp.MustCompile(`^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`)
)

// location is the agent's time zone; UTC when it is unknown here.
func (a *Agent) location() *time.Location {
	if a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// signIn sets the cookie of a new console session for a, with a fresh CSRF secret.
func (c *Console) signIn(w http.ResponseWriter, a Agent) {
	http.SetCookie(w, c.cookie(agentCookie, c.sealAgent(a), c.signInTTL))
}

// sealAgent returns the cookie value of a new console session for a.
func (c *Console) sealAgent(a Agent) string {
	s := agentSession{Agent: a, CSRF: rand.Text(), Expires: c.clock.Now().Add(c.signInTTL).Unix()}
	return c.agents.sealJSON(s)
}

// cookie returns a cookie of the console: HttpOnly, Path=/console/. Not framed by another
// site, it is SameSite=Lax (sent on the top-level GET of a screen pop, never on another
// site's POST) and Secure unless the console's callback is plain HTTP on a loopback host (the
// demo). The request's Host does not decide it: behind a reverse proxy that forwards to
// 127.0.0.1, every request names a loopback host.
//
// When Config.FrameAncestors lists origins, the console is a third party in their frames,
// where a browser sends no SameSite=Lax cookie and, when it blocks third-party cookies, no
// unpartitioned one either: the cookie is then SameSite=None; Secure; Partitioned (CHIPS,
// https://developer.chrome.com/docs/privacy-sandbox/chips), kept in a jar of the frame's
// top-level site. Secure even on http://127.0.0.1 or localhost, which browsers count as
// secure contexts for it; SameSite=None and Partitioned require it. Forged cross-site POSTs
// are still refused: by the CSRF token of every form and by crossOrigin's Sec-Fetch-Site
// check.
func (c *Console) cookie(name, value string, ttl time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: !c.plainHTTP, MaxAge: int(ttl / time.Second)}
	if c.framed {
		ck.SameSite, ck.Secure, ck.Partitioned = http.SameSiteNoneMode, true, true
	}
	if ttl < 0 {
		ck.MaxAge, ck.Value = -1, ""
	}
	return ck
}

// plainLoopback reports whether u is an http URL of a loopback host: the only place the
// console runs without TLS.
func plainLoopback(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "http" {
		return false
	}
	host := pu.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// session returns the request's console session, if it has a valid one.
func (c *Console) session(r *http.Request) (*agentSession, bool) {
	var s agentSession
	if c.agents.openCookie(r, agentCookie, &s) != nil || !userID.MatchString(s.UserID) || c.clock.Now().Unix() >= s.Expires {
		return nil, false
	}
	return &s, true
}

// validCSRF reports whether the form's token is the session's, in constant time.
func (s *agentSession) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

type sessionKey struct{}

func sessionOf(ctx context.Context) *agentSession {
	s, _ := ctx.Value(sessionKey{}).(*agentSession)
	return s
}
