package fakeorg

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Login hosts the JWT bearer flow accepts as audience, besides the org's own URL.
var jwtAudiences = []string{"https://login.salesforce.com", "https://test.salesforce.com"}

// sessions holds access and refresh tokens by their SHA-256, so that a token is never compared
// byte by byte and never kept in the clear. Both expire and are forgotten: access tokens after
// the session lifetime (swept once per lifetime, and whenever the map doubles, so the map holds
// at most the tokens issued in two lifetimes), refresh tokens when revoked, after the refresh
// token lifetime if one is set, and when a sixth replaces the oldest.
type sessions struct {
	mu        sync.Mutex
	access    map[[32]byte]accessSession
	refresh   []refreshSession // oldest first, at most maxApprovals
	sweepAt   int              // sweep expired access tokens when the map grows to this size
	sweepTime time.Time        // … or at this time
	logins    loginRate
	// userLogins are the other users' login rates on the authorize page's form, by lower-case
	// username (every demo agent's, and one shared by unknown usernames: at most
	// len(orgdb.Users)): Salesforce's limit is per user, so a storm of wrong passwords for one
	// agent neither locks out another nor the integration user's API logins.
	userLogins map[string]*loginRate
}

// loginRate is the org's login rate limit: a bucket of perHour attempts that
// refills continuously, so that no hour holds more than about perHour attempts.
type loginRate struct {
	perHour int // negative: no limit
	left    float64
	at      time.Time // when left was last brought up to date
}

// allow takes one login attempt and reports whether the rate allowed it.
func (l *loginRate) allow(now time.Time) bool {
	if l.perHour < 0 {
		return true
	}
	if l.at.IsZero() {
		l.left, l.at = float64(l.perHour), now
	}
	if d := now.Sub(l.at); d > 0 {
		l.left = min(float64(l.perHour), l.left+d.Hours()*float64(l.perHour))
		l.at = now
	}
	if l.left < 1 {
		return false
	}
	l.left--
	return true
}

// allowLogin takes one login attempt (any user's, any way of logging in).
func (o *Org) allowLogin() bool {
	s := &o.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins.allow(o.now())
}

// refreshSession is a live refresh token: its hash, its user's id and when it expires (zero:
// never).
type refreshSession struct {
	hash    [32]byte
	user    string
	expires time.Time
}

// maxApprovals is how many refresh tokens a user holds for the connected app:
// "Every connected app permits five unique approvals per user. After a sixth approval is
// created, the oldest approval is revoked." (Salesforce Help, "Manage OAuth Access for Your
// Connected Apps"). So the org keeps at most five per user, whatever the number of logins.
const maxApprovals = 5

// accessSession is a live access token: its user's id, when it expires, and the hash of the
// refresh token it came with or from (zero if none), which revokes it too.
type accessSession struct {
	user    string
	expires time.Time
	refresh [32]byte
}

func tokenHash(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }

// newToken returns a random token with the given prefix.
func newToken(prefix string, n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	return prefix + base64.RawURLEncoding.EncodeToString(buf)
}

// issueAccess creates an access token of the integration user that expires after the org's
// session lifetime, tied to the refresh token with hash refresh (zero: none).
func (o *Org) issueAccess(refresh [32]byte) string { return o.issueAccessAs(o.userID, refresh) }

// issueAccessAs is issueAccess for the user with id user.
func (o *Org) issueAccessAs(user string, refresh [32]byte) string {
	tok := newToken(o.orgID[:15]+"!", 64)
	s := &o.sessions
	s.mu.Lock()
	o.addAccess(tok, user, refresh)
	s.mu.Unlock()
	return tok
}

// refreshAccess is the refresh token flow: a new access token of the refresh token's user tied
// to the refresh token tok, and that user's id; or ok false if tok is not a live refresh token. The check and the issue are one step under the
// lock: a revoke between them would otherwise leave a live access token of a revoked refresh
// token.
func (o *Org) refreshAccess(tok string) (access, user string, ok bool) {
	if tok == "" {
		return "", "", false
	}
	access = newToken(o.orgID[:15]+"!", 64)
	h := tokenHash(tok)
	s := &o.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepRefresh(o.now())
	i := slices.IndexFunc(s.refresh, func(rs refreshSession) bool { return rs.hash == h })
	if i < 0 {
		return "", "", false
	}
	user = s.refresh[i].user
	o.addAccess(access, user, h)
	return access, user, true
}

// addAccess keeps a new access token of user; s.mu is held.
func (o *Org) addAccess(tok, user string, refresh [32]byte) {
	s := &o.sessions
	if s.access == nil {
		s.access = make(map[[32]byte]accessSession)
	}
	now := o.now()
	if len(s.access) >= max(s.sweepAt, 10000) || !now.Before(s.sweepTime) {
		o.sweepAccess(now)
	}
	s.access[tokenHash(tok)] = accessSession{user: user, expires: now.Add(o.lifetime), refresh: refresh}
}

// issueRefresh creates a refresh token of the integration user.
func (o *Org) issueRefresh() string { return o.issueRefreshAs(o.userID) }

// issueRefreshAs creates a refresh token of the user with id user. The oldest of the user's
// approvals is revoked when this is a sixth; its access tokens stay valid until they expire.
func (o *Org) issueRefreshAs(user string) string {
	tok := newToken("5Aep861", 64)
	s := &o.sessions
	s.mu.Lock()
	s.sweepRefresh(o.now())
	mine := func(rs refreshSession) bool { return rs.user == user }
	n := 0
	for _, rs := range s.refresh {
		if mine(rs) {
			n++
		}
	}
	for ; n >= maxApprovals; n-- { // the user's oldest go (s.refresh is oldest first)
		i := slices.IndexFunc(s.refresh, mine)
		s.refresh = slices.Delete(s.refresh, i, i+1)
	}
	rs := refreshSession{hash: tokenHash(tok), user: user}
	if o.refreshLifetime > 0 {
		rs.expires = o.now().Add(o.refreshLifetime)
	}
	s.refresh = append(s.refresh, rs)
	s.mu.Unlock()
	return tok
}

// sweepRefresh forgets expired refresh tokens; s.mu is held.
func (s *sessions) sweepRefresh(now time.Time) {
	s.refresh = slices.DeleteFunc(s.refresh, func(rs refreshSession) bool {
		return !rs.expires.IsZero() && !now.Before(rs.expires)
	})
}

// sweepAccess forgets expired access tokens; s.mu is held. It is amortised: it runs again when
// the map has doubled (at least 10,000), or a session lifetime later.
func (o *Org) sweepAccess(now time.Time) {
	s := &o.sessions
	for h, a := range s.access {
		if !now.Before(a.expires) {
			delete(s.access, h)
		}
	}
	s.sweepAt, s.sweepTime = 2*len(s.access), now.Add(o.lifetime)
}

// validAccess reports whether tok is a live access token.
func (o *Org) validAccess(tok string) bool {
	_, ok := o.accessUser(tok)
	return ok
}

// accessUser returns the id of the user of the live access token tok, or ok false.
func (o *Org) accessUser(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	h := tokenHash(tok)
	now := o.now()
	s := &o.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.sweepTime) {
		o.sweepAccess(now)
	}
	a, ok := s.access[h]
	if !ok || !now.Before(a.expires) {
		return "", false
	}
	return a.user, true
}

// ExpireTokens ends every access session now: the next data call with any token issued so far
// gets 401 INVALID_SESSION_ID. Refresh tokens stay valid, as they do in Salesforce.
func (o *Org) ExpireTokens() {
	s := &o.sessions
	s.mu.Lock()
	clear(s.access)
	s.mu.Unlock()
}

// revoke removes an access or refresh token (and the access tokens that came with or from a
// refresh token) and reports whether it existed.
func (o *Org) revoke(tok string) bool {
	h := tokenHash(tok)
	s := &o.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.access[h]; ok {
		delete(s.access, h)
		return true
	}
	if i := slices.IndexFunc(s.refresh, func(rs refreshSession) bool { return rs.hash == h }); i >= 0 {
		s.refresh = slices.Delete(s.refresh, i, i+1)
		for ah, a := range s.access {
			if a.refresh == h {
				delete(s.access, ah)
			}
		}
		return true
	}
	return false
}

// bearer extracts the token of an "Authorization: Bearer …" (or "OAuth …") header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
			return strings.TrimSpace(h[len(p):])
		}
	}
	return ""
}

func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// tokenResponse is Salesforce's OAuth success body. There is no expires_in.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Signature    string `json:"signature"`
	Scope        string `json:"scope"`
	InstanceURL  string `json:"instance_url"`
	ID           string `json:"id"`
	TokenType    string `json:"token_type"`
	IssuedAt     string `json:"issued_at"`
}

type oauthError struct {
	code, desc string
}

var (
	errUnsupportedGrant = &oauthError{"unsupported_grant_type", "grant type not supported"}
	errClientID         = &oauthError{"invalid_client_id", "client identifier invalid"}
	errClientSecret     = &oauthError{"invalid_client", "invalid client credentials"}
	errAuthFailure      = &oauthError{"invalid_grant", "authentication failure"}
	errBadRefresh       = &oauthError{"invalid_grant", "expired access/refresh token"}
	errBadAssertion     = &oauthError{"invalid_grant", "invalid assertion"}
	errAudience         = &oauthError{"invalid_grant", "audience is invalid"}
	errAssertionExpired = &oauthError{"invalid_grant", "expired authorization code"}
	errNotApproved      = &oauthError{"invalid_grant", "user hasn't approved this consumer"}
	// errLoginRate: Salesforce documents the limit and LOGIN_RATE_EXCEEDED in the login
	// history, not the token endpoint's body; an invalid_grant as for other refused logins.
	errLoginRate = &oauthError{"invalid_grant", "login rate exceeded"}
)

func writeOAuthError(w http.ResponseWriter, status int, e *oauthError) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(status)
	b := append([]byte(`{"error":`), appendString(nil, e.code)...)
	b = append(b, `,"error_description":`...)
	b = appendString(b, e.desc)
	_, _ = w.Write(append(b, '}'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveToken is POST /services/oauth2/token. Parameters come form encoded, or in the query
// string as Salesforce also accepts.
func (o *Org) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeDataError(w, http.StatusMethodNotAllowed, methodNotAllowed(r.Method, "POST"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, errUnsupportedGrant)
		return
	}
	f := r.Form
	// An authorization code's login was counted, for the user who signed in, on the authorize
	// page's form; every other grant is the integration user's login.
	if f.Get("grant_type") != "authorization_code" && !o.allowLogin() {
		writeOAuthError(w, http.StatusBadRequest, errLoginRate)
		return
	}
	var e *oauthError
	issueRefresh := false
	var accessToken string // issued by the grant itself (refresh_token), or below
	user, scope := o.userID, ""
	switch f.Get("grant_type") {
	case "authorization_code":
		e = o.checkClient(f.Get("client_id"), f.Get("client_secret"), false)
		if e == nil {
			var grant authGrant
			grant, e = o.redeemCode(f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
			user, scope = grant.user, grant.scope
			issueRefresh = hasScope(scope, "refresh_token") || hasScope(scope, "offline_access") || hasScope(scope, "full")
		}
	case "password":
		e = o.checkClient(f.Get("client_id"), f.Get("client_secret"), true)
		if e == nil {
			e = o.checkPassword(f.Get("username"), f.Get("password"))
		}
		issueRefresh = true
	case "client_credentials":
		id, secret := f.Get("client_id"), f.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok {
			id, secret = u, p
		}
		e = o.checkClient(id, secret, true)
	case "refresh_token":
		e = o.checkClient(f.Get("client_id"), f.Get("client_secret"), false)
		if e == nil {
			var ok bool
			if accessToken, user, ok = o.refreshAccess(f.Get("refresh_token")); !ok {
				e = errBadRefresh
			}
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		e = o.checkAssertion(f.Get("assertion"), o.base(r))
	default:
		e = errUnsupportedGrant
	}
	if e != nil {
		writeOAuthError(w, http.StatusBadRequest, e)
		return
	}
	base := o.base(r)
	var refreshToken string
	switch {
	case issueRefresh:
		refreshToken = o.issueRefreshAs(user)
		accessToken = o.issueAccessAs(user, tokenHash(refreshToken))
	case accessToken == "":
		accessToken = o.issueAccessAs(user, [32]byte{})
	}
	resp := tokenResponse{
		AccessToken:  accessToken,
		RefreshToken: refreshToken,
		Scope:        "api id",
		InstanceURL:  base,
		ID:           base + "/id/" + o.orgID + "/" + user,
		TokenType:    "Bearer",
		IssuedAt:     strconv.FormatInt(o.now().UnixMilli(), 10),
	}
	switch {
	case scope != "":
		resp.Scope = scope
	case issueRefresh:
		resp.Scope = "api id refresh_token"
	}
	mac := hmac.New(sha256.New, []byte(o.secret))
	mac.Write([]byte(resp.ID + resp.IssuedAt))
	resp.Signature = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, http.StatusOK, resp)
}

// checkClient checks the connected app's credentials; needSecret says the grant requires the
// secret (for refresh_token it is optional but, when given, must be right).
func (o *Org) checkClient(id, secret string, needSecret bool) *oauthError {
	if !equalSecret(id, o.clientID) {
		return errClientID
	}
	if (needSecret || secret != "") && !equalSecret(secret, o.secret) {
		return errClientSecret
	}
	return nil
}

func (o *Org) checkPassword(user, password string) *oauthError {
	userOK := equalSecret(strings.ToLower(user), strings.ToLower(o.username))
	pwOK := equalSecret(password, o.password)
	if o.sectok != "" && equalSecret(password, o.password+o.sectok) {
		pwOK = true
	}
	if !userOK || !pwOK {
		return errAuthFailure
	}
	return nil
}

// checkAssertion checks a JWT bearer assertion as Salesforce does: RS256 signed by a registered
// certificate, iss the client id, sub the username, aud a login host or the org's URL, exp ahead.
func (o *Org) checkAssertion(assertion, base string) *oauthError {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &claims); err != nil {
		return errBadAssertion
	}
	if !equalSecret(claims.Issuer, o.clientID) {
		return errClientID
	}
	verified := false
	for _, k := range o.keys {
		p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
		if _, err := p.Parse(assertion, func(*jwt.Token) (any, error) { return k, nil }); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return errBadAssertion
	}
	audOK := false
	for _, a := range claims.Audience {
		a = strings.TrimRight(a, "/")
		if a == base {
			audOK = true
		}
		for _, want := range jwtAudiences {
			if a == want {
				audOK = true
			}
		}
	}
	if !audOK {
		return errAudience
	}
	if claims.ExpiresAt == nil || !o.now().Before(claims.ExpiresAt.Time) {
		return errAssertionExpired
	}
	if !strings.EqualFold(claims.Subject, o.username) {
		return errNotApproved
	}
	return nil
}

// ParsePublicKey reads an RSA public key from a PEM "CERTIFICATE", "PUBLIC KEY" or
// "RSA PUBLIC KEY" block.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM certificate or public key found")
		}
		var pub any
		var err error
		switch blk.Type {
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				pub = c.PublicKey
			}
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key (the JWT bearer flow needs RS256)")
		}
		return k, nil
	}
}

// serveRevoke is POST (or GET) /services/oauth2/revoke with token=….
func (o *Org) serveRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	_ = r.ParseForm()
	if !o.revoke(r.Form.Get("token")) {
		writeOAuthError(w, http.StatusBadRequest, &oauthError{"invalid_token", "invalid token"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// identityToken finds the access token of an identity or userinfo request: the Authorization
// header, or the oauth_token / access_token parameter.
func identityToken(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	if t := r.URL.Query().Get("oauth_token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

func badOAuthToken(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("Bad_OAuth_Token"))
}

// sameID compares ids in their 15- or 18-character forms.
func sameID(got, want string) bool {
	if len(got) == 15 && len(want) == 18 {
		return got == want[:15]
	}
	return got == want
}

// serveIdentity is GET /id/<orgId>/<userId>: the identity of the access token's user. The path
// must name that user: an identity URL of another user is refused as a bad token, the strict
// reading (Salesforce lets an org's users read each other's identity URLs only with the "View
// All Users"-style visibility the fake does not model).
func (o *Org) serveIdentity(w http.ResponseWriter, r *http.Request, orgID, userID string) {
	id, ok := o.accessUser(identityToken(r))
	if !ok || !sameID(orgID, o.orgID) || !sameID(userID, id) {
		badOAuthToken(w)
		return
	}
	u, ok := o.user(id)
	if !ok {
		badOAuthToken(w)
		return
	}
	writeJSON(w, http.StatusOK, o.identity(o.base(r), u))
}

func (o *Org) urls(base, userID string) map[string]string {
	v := "{version}"
	return map[string]string{
		"enterprise":    base + "/services/Soap/c/" + v + "/" + o.orgID[:15],
		"metadata":      base + "/services/Soap/m/" + v + "/" + o.orgID[:15],
		"partner":       base + "/services/Soap/u/" + v + "/" + o.orgID[:15],
		"rest":          base + "/services/data/v" + v + "/",
		"sobjects":      base + "/services/data/v" + v + "/sobjects/",
		"search":        base + "/services/data/v" + v + "/search/",
		"query":         base + "/services/data/v" + v + "/query/",
		"recent":        base + "/services/data/v" + v + "/recent/",
		"tooling_soap":  base + "/services/Soap/T/" + v + "/" + o.orgID[:15],
		"tooling_rest":  base + "/services/data/v" + v + "/tooling/",
		"profile":       base + "/" + userID[:15],
		"feeds":         base + "/services/data/v" + v + "/chatter/feeds",
		"groups":        base + "/services/data/v" + v + "/chatter/groups",
		"users":         base + "/services/data/v" + v + "/chatter/users",
		"feed_items":    base + "/services/data/v" + v + "/chatter/feed-items",
		"feed_elements": base + "/services/data/v" + v + "/chatter/feed-elements",
		"custom_domain": base,
	}
}

func (o *Org) identity(base string, u userInfo) map[string]any {
	return map[string]any{
		"id":                      base + "/id/" + o.orgID + "/" + u.id,
		"asserted_user":           true,
		"user_id":                 u.id,
		"organization_id":         o.orgID,
		"username":                u.username,
		"nick_name":               u.alias,
		"display_name":            u.name,
		"email":                   u.email,
		"email_verified":          true,
		"first_name":              u.firstName,
		"last_name":               u.lastName,
		"timezone":                u.timeZone,
		"photos":                  map[string]string{"picture": base + "/profilephoto/005/F", "thumbnail": base + "/profilephoto/005/T"},
		"addr_street":             nil,
		"addr_city":               nil,
		"addr_state":              nil,
		"addr_country":            nil,
		"addr_zip":                nil,
		"mobile_phone":            nil,
		"mobile_phone_verified":   false,
		"is_lightning_login_user": false,
		"status":                  map[string]any{"created_date": nil, "body": nil},
		"urls":                    o.urls(base, u.id),
		"active":                  u.active,
		"user_type":               "STANDARD",
		"language":                u.language,
		"locale":                  u.locale,
		"utcOffset":               u.utcOffset(o.now()),
		"last_modified_date":      u.lastModified,
		"is_app_installed":        true,
	}
}

// serveUserinfo is /services/oauth2/userinfo (OpenID Connect): the access token's user.
func (o *Org) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	id, ok := o.accessUser(identityToken(r))
	if !ok {
		badOAuthToken(w)
		return
	}
	u, ok := o.user(id)
	if !ok {
		badOAuthToken(w)
		return
	}
	base := o.base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"sub":                base + "/id/" + o.orgID + "/" + u.id,
		"user_id":            u.id,
		"organization_id":    o.orgID,
		"preferred_username": u.username,
		"nickname":           u.alias,
		"name":               u.name,
		"email":              u.email,
		"email_verified":     true,
		"given_name":         u.firstName,
		"family_name":        u.lastName,
		"zoneinfo":           u.timeZone,
		"photos":             map[string]string{"picture": base + "/profilephoto/005/F", "thumbnail": base + "/profilephoto/005/T"},
		"profile":            base + "/" + u.id[:15],
		"picture":            base + "/profilephoto/005/F",
		"address":            map[string]any{},
		"urls":               o.urls(base, u.id),
		"active":             u.active,
		"user_type":          "STANDARD",
		"language":           u.language,
		"locale":             u.locale,
		"utcOffset":          u.utcOffset(o.now()),
		"updated_at":         u.lastModified,
		"is_app_installed":   true,
	})
}
