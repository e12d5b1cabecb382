package fakeorg

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the demo users' time zones, on machines without a zoneinfo database

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// The OAuth 2.0 web server flow with PKCE, as Salesforce documents it:
//
//   - "OAuth 2.0 Web Server Flow for Web App Integration",
//     https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
//   - "Proof Key for Code Exchange (PKCE) Extension",
//     https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_pkce.htm
//   - "OAuth 2.0 Authorization Errors",
//     https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm
//
// GET /services/oauth2/authorize checks the request and shows a login page; the page's form
// POSTs back to the same URL; a right username and password redirect to the callback URL with a
// code and the state; POST /services/oauth2/token with grant_type=authorization_code trades the
// code and its code_verifier for tokens of the user who signed in.
//
// What the fake chooses where Salesforce leaves a choice to the connected app:
//   - PKCE is required ("Require Proof Key for Code Exchange (PKCE) Extension for Supported
//     Authorization Flows" is on): an authorization request without code_challenge is refused.
//     The challenge is S256 (Salesforce hashes with SHA-256 and takes no other method).
//   - The demo users are pre-authorized ("Admin approved users are pre-authorized"), so there
//     is no consent screen; prompt=consent changes nothing and prompt=login is what always
//     happens (the fake keeps no login session between authorizations).
//   - A code lives 15 minutes, Salesforce's expiry for authorization codes, and is spent by the
//     first token request that names it, whether that request succeeds or not.
//   - No id_token is issued for the openid scope; the identity URL and userinfo answer instead.

// CodeLifetime is how long an authorization code may wait for its token request: Salesforce's
// codes "are valid for 15 minutes" (the web server flow page).
const CodeLifetime = 15 * time.Minute

// maxPendingCodes bounds the authorization codes waiting for their token request. The login
// rate limit (3,600 an hour per user, five users) keeps a code lifetime below 4,500 of them;
// this holds if it is lifted.
const maxPendingCodes = 10_000

// DemoAgentPassword is the password of every demo agent (orgdb.Users but the integration user).
// The login page shows it: the demo users are for demos, not for keeping anything safe.
const DemoAgentPassword = "demo-agent"

// ConsoleCallbackPath is the path of idverify's console callback, which DefaultCallbackURLs
// registers on every loopback port.
const ConsoleCallbackPath = "/console/oauth/callback"

// DefaultCallbackURLs are the demo connected app's callback URLs when Options.CallbackURLs is
// nil: the console's callback on any loopback port. Salesforce matches a redirect_uri exactly
// against the app's callback URLs (several may be registered); a port of "*" is the fake's own
// convenience, allowed for loopback hosts only, so that a console on a free port can sign in
// without registering it. Everything else (scheme, host, path, no query) must match exactly.
var DefaultCallbackURLs = []string{
	"http://127.0.0.1:*" + ConsoleCallbackPath,
	"http://localhost:*" + ConsoleCallbackPath,
	"http://[::1]:*" + ConsoleCallbackPath,
}

// connectedAppScopes are the demo connected app's selected OAuth scopes: what a request without
// a scope parameter gets, and all a request may ask for (Salesforce refuses a scope the app was
// not given).
var connectedAppScopes = []string{"api", "id", "openid", "profile", "email", "address", "phone",
	"web", "refresh_token", "offline_access", "full"}

// defaultScope is what an authorization request without a scope parameter is granted.
const defaultScope = "api id refresh_token"

// authState is the web server flow's state: the registered callbacks, the codes waiting for
// their token request, and the key of the login form's CSRF tokens.
type authState struct {
	mu        sync.Mutex
	callbacks []string
	codes     map[[32]byte]authGrant
	csrfKey   []byte
}

// authGrant is what an authorization code stands for.
type authGrant struct {
	user, scope, redirectURI, challenge string
	expires                             time.Time
}

// CheckCallbackURL reports why u cannot be registered as a callback URL of the connected app,
// or nil.
func CheckCallbackURL(u string) error {
	pu, err := url.Parse(strings.Replace(u, ":*/", ":1/", 1))
	if err != nil || !pu.IsAbs() || pu.Host == "" || pu.Fragment != "" {
		return errors.New("a callback URL must be an absolute URL without a fragment")
	}
	if strings.Contains(strings.Replace(u, ":*/", "", 1), "*") {
		return errors.New(`a callback URL has no wildcard but a loopback port "*"`)
	}
	if strings.Contains(u, ":*/") && (pu.Scheme != "http" || !isLoopbackHost(pu.Host) || pu.RawQuery != "") {
		return errors.New(`a port "*" is allowed only in an http URL of a loopback host (127.0.0.1, localhost, [::1]) without a query`)
	}
	return nil
}

// callbackMatches reports whether redirect_uri got is the registered callback URL reg: equal
// to it, or, for a loopback entry with port "*", equal to it but for a numeric port.
func callbackMatches(reg, got string) bool {
	if reg == got {
		return true
	}
	prefix, path, ok := strings.Cut(reg, ":*/")
	if !ok {
		return false
	}
	rest, ok := strings.CutPrefix(got, prefix+":")
	if !ok {
		return false
	}
	port, gotPath, ok := strings.Cut(rest, "/")
	n, err := strconv.Atoi(port)
	return ok && err == nil && n > 0 && n < 65536 && port[0] != '0' && gotPath == path
}

// AddCallbackURL registers another callback URL of the connected app.
func (o *Org) AddCallbackURL(u string) error {
	if err := CheckCallbackURL(u); err != nil {
		return err
	}
	a := &o.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.callbacks, u) {
		a.callbacks = append(a.callbacks, u)
	}
	return nil
}

// CallbackURLs lists the connected app's callback URLs.
func (o *Org) CallbackURLs() []string {
	a := &o.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.callbacks)
}

func (o *Org) callbackRegistered(u string) bool {
	a := &o.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.callbacks, func(reg string) bool { return callbackMatches(reg, u) })
}

// authRequest is an authorization request's parameters, from the query (GET) or the login
// form's hidden fields (POST).
type authRequest struct {
	ResponseType, ClientID, RedirectURI, State, Challenge, ChallengeMethod, Scope, Prompt string
}

func readAuthRequest(v url.Values) authRequest {
	return authRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		State: v.Get("state"), Challenge: v.Get("code_challenge"), ChallengeMethod: v.Get("code_challenge_method"),
		Scope: v.Get("scope"), Prompt: v.Get("prompt"),
	}
}

// grantedScope is the scope an authorization request gets.
func (ar authRequest) grantedScope() string {
	if strings.TrimSpace(ar.Scope) == "" {
		return defaultScope
	}
	return strings.Join(strings.Fields(ar.Scope), " ")
}

func hasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// authError is a refused authorization request: shown on a page when the callback cannot be
// trusted (page), redirected to the callback otherwise.
type authError struct {
	page       bool
	code, desc string
}

// check validates an authorization request in Salesforce's order: the client and the callback
// first (their errors are shown on a page: redirecting to an unverified URL would make the org
// an open redirector, RFC 6749 §4.1.2.1), then the rest (redirected to the callback).
func (o *Org) checkAuthRequest(ar authRequest) *authError {
	if !equalSecret(ar.ClientID, o.clientID) {
		return &authError{page: true, code: "invalid_client_id", desc: "client identifier invalid"}
	}
	if ar.RedirectURI == "" || !o.callbackRegistered(ar.RedirectURI) {
		return &authError{page: true, code: "redirect_uri_mismatch", desc: "redirect_uri must match configuration"}
	}
	if ar.ResponseType != "code" {
		return &authError{code: "unsupported_response_type", desc: "response type not supported"}
	}
	// The PKCE page: an invalid code_challenge fails with invalid_request.
	if ar.Challenge == "" {
		return &authError{code: "invalid_request", desc: "missing required code challenge"}
	}
	if b, err := base64.RawURLEncoding.DecodeString(ar.Challenge); err != nil || len(b) != sha256.Size {
		return &authError{code: "invalid_request", desc: "invalid code challenge"}
	}
	if ar.ChallengeMethod != "" && ar.ChallengeMethod != "S256" {
		return &authError{code: "invalid_request", desc: "unsupported code challenge method"}
	}
	for _, s := range strings.Fields(ar.Scope) {
		if !slices.Contains(connectedAppScopes, s) {
			return &authError{code: "invalid_scope", desc: "the requested scope is not allowed"}
		}
	}
	for _, p := range strings.Fields(ar.Prompt) {
		if p != "login" && p != "consent" && p != "select_account" {
			return &authError{code: "invalid_request", desc: "invalid prompt parameter"}
		}
	}
	return nil
}

// redirectTo is the callback URL with params added to its query.
func redirectTo(callback string, params url.Values) string {
	u, err := url.Parse(callback)
	if err != nil { // registered URLs parse; checked before
		return callback
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// loginCookie holds the browser's half of the login form's CSRF protection: the form's token
// is an HMAC of the cookie's random value, so a form posted without the cookie that came with
// it (a cross-site post, or a token copied from another browser: login CSRF) is refused.
const loginCookie = "fakeorg_login"

func (o *Org) csrfToken(cookie string) string {
	mac := hmac.New(sha256.New, o.auth.csrfKey)
	mac.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// loginCSRF returns the browser's login cookie value, setting a new one if it has none.
func (o *Org) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := newToken("", 32) // 43 characters
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: "/services/oauth2/authorize",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return v
}

// serveAuthorize is /services/oauth2/authorize: GET shows the login page, POST is its form.
func (o *Org) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		ar := readAuthRequest(r.URL.Query())
		if e := o.checkAuthRequest(ar); e != nil {
			o.refuseAuth(w, r, ar, e)
			return
		}
		o.renderLogin(w, r, ar, o.loginCSRF(w, r), "", "", http.StatusOK)
	case http.MethodPost:
		o.serveLogin(w, r)
	default:
		writeDataError(w, http.StatusMethodNotAllowed, methodNotAllowed(r.Method, "GET,HEAD,POST"))
	}
}

// serveLogin is the login form's POST.
func (o *Org) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		o.renderError(w, http.StatusBadRequest, "invalid_request", "the login form could not be read")
		return
	}
	f := r.PostForm
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !equalSecret(f.Get("csrf_token"), o.csrfToken(c.Value)) {
		o.renderError(w, http.StatusForbidden, "invalid_request",
			"The login form has expired or did not come from this page. Go back to the application and sign in again.")
		return
	}
	ar := readAuthRequest(f)
	if e := o.checkAuthRequest(ar); e != nil {
		o.refuseAuth(w, r, ar, e)
		return
	}
	username := strings.TrimSpace(f.Get("username"))
	if !o.allowLoginAs(username) {
		o.renderLogin(w, r, ar, c.Value, username, "Login rate exceeded. Wait a while and try again.", http.StatusTooManyRequests)
		return
	}
	user, ok := o.checkUserPassword(username, f.Get("password"))
	if !ok {
		// Salesforce's message on its login page; the page answers 200 and redirects nowhere.
		o.renderLogin(w, r, ar, c.Value, username,
			"Please check your username and password. If you still can't log in, contact your Salesforce administrator.", http.StatusOK)
		return
	}
	code, ok := o.issueCode(authGrant{user: user, scope: ar.grantedScope(), redirectURI: ar.RedirectURI,
		challenge: ar.Challenge, expires: o.now().Add(CodeLifetime)})
	if !ok {
		o.refuseAuth(w, r, ar, &authError{code: "server_error", desc: "too many pending authorizations"})
		return
	}
	params := url.Values{"code": {code}}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, redirectTo(ar.RedirectURI, params), http.StatusFound)
}

// refuseAuth answers a refused authorization request: a page, or a redirect to the callback
// with error, error_description and the state.
func (o *Org) refuseAuth(w http.ResponseWriter, r *http.Request, ar authRequest, e *authError) {
	if e.page {
		o.renderError(w, http.StatusBadRequest, e.code, e.desc)
		return
	}
	params := url.Values{"error": {e.code}, "error_description": {e.desc}}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	http.Redirect(w, r, redirectTo(ar.RedirectURI, params), http.StatusFound)
}

// allowLoginAs takes one login attempt of the user username names on the authorize page.
func (o *Org) allowLoginAs(username string) bool {
	if strings.EqualFold(username, o.username) {
		return o.allowLogin()
	}
	key := "" // an unknown username
	for _, u := range orgdb.Users[1:] {
		if strings.EqualFold(username, u.Username) {
			key = strings.ToLower(u.Username)
		}
	}
	s := &o.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userLogins == nil {
		s.userLogins = map[string]*loginRate{}
	}
	l := s.userLogins[key]
	if l == nil {
		l = &loginRate{perHour: s.logins.perHour}
		s.userLogins[key] = l
	}
	return l.allow(o.now())
}

// checkUserPassword finds the user a username and password sign in as: the integration user
// with its password (and security token), or a demo agent with DemoAgentPassword.
func (o *Org) checkUserPassword(username, password string) (string, bool) {
	if o.checkPassword(username, password) == nil {
		return o.userID, true
	}
	pwOK := equalSecret(password, DemoAgentPassword)
	for _, u := range orgdb.Users[1:] {
		if strings.EqualFold(username, u.Username) && pwOK {
			tx := o.db.Begin(false)
			ids, e := tx.LookupIDs("User", "Username", u.Username)
			tx.Rollback()
			if e == nil && len(ids) == 1 {
				if info, ok := o.user(ids[0]); ok && info.active {
					return ids[0], true
				}
			}
		}
	}
	return "", false
}

// issueCode keeps a grant and returns its code, or ok false when maxPendingCodes are pending.
func (o *Org) issueCode(g authGrant) (string, bool) {
	code := newToken("aPrx", 48)
	a := &o.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.codes == nil {
		a.codes = make(map[[32]byte]authGrant)
	}
	if len(a.codes) >= maxPendingCodes {
		now := o.now()
		for h, c := range a.codes {
			if !now.Before(c.expires) {
				delete(a.codes, h)
			}
		}
		if len(a.codes) >= maxPendingCodes {
			return "", false
		}
	}
	a.codes[tokenHash(code)] = g
	return code, true
}

// redeemCode spends an authorization code: it is forgotten whatever follows, so a code is
// good for one token request. Errors are the token endpoint's as Salesforce words them.
func (o *Org) redeemCode(code, redirectURI, verifier string) (authGrant, *oauthError) {
	a := &o.auth
	h := tokenHash(code)
	a.mu.Lock()
	g, ok := a.codes[h]
	delete(a.codes, h)
	a.mu.Unlock()
	switch {
	case code == "" || !ok:
		return authGrant{}, &oauthError{"invalid_grant", "invalid authorization code"}
	case !o.now().Before(g.expires):
		return authGrant{}, &oauthError{"invalid_grant", "expired authorization code"}
	case redirectURI != g.redirectURI:
		return authGrant{}, &oauthError{"redirect_uri_mismatch", "redirect_uri must match configuration"}
	}
	// The PKCE page: a code_challenge in the authorization request and no code_verifier (or a
	// wrong one) in the token request fails with invalid_grant. RFC 7636 §4.6: BASE64URL(SHA256(
	// verifier)) must equal the challenge; compared in constant time.
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || !equalSecret(base64.RawURLEncoding.EncodeToString(sum[:]), g.challenge) {
		return authGrant{}, &oauthError{"invalid_grant", "invalid code verifier"}
	}
	return g, nil
}

// userInfo is what the identity URL and userinfo tell of a User.
type userInfo struct {
	id, username, alias, name, firstName, lastName, email string
	timeZone, locale, language, lastModified              string
	active                                                bool
}

// utcOffset is the user's time zone's offset from UTC at now, in milliseconds.
func (u userInfo) utcOffset(now time.Time) int {
	loc, err := time.LoadLocation(u.timeZone)
	if err != nil {
		return 0
	}
	_, off := now.In(loc).Zone()
	return off * 1000
}

// user reads a User record.
func (o *Org) user(id string) (userInfo, bool) {
	tx := o.db.Begin(false)
	defer tx.Rollback()
	rec, e := tx.Get("User", id, []string{"Username", "Alias", "Name", "FirstName", "LastName", "Email",
		"TimeZoneSidKey", "LocaleSidKey", "LanguageLocaleKey", "LastModifiedDate", "IsActive"})
	if e != nil {
		return userInfo{}, false
	}
	str := func(i int) string { s, _ := rec.Fields[i].Value.(string); return s }
	active, _ := rec.Fields[10].Value.(bool)
	u := userInfo{id: rec.ID, username: str(0), alias: str(1), name: str(2), firstName: str(3), lastName: str(4),
		email: str(5), timeZone: str(6), locale: str(7), language: str(8), lastModified: str(9), active: active}
	if id == o.userID { // Options.Username is what the integration user logs in as
		u.username, u.email = o.username, o.username
	}
	return u, true
}

//go:embed login.html
var loginFS embed.FS

var loginTemplates = template.Must(template.ParseFS(loginFS, "login.html"))

// loginStyleSource is the CSP source of the pages' one <style> element: its SHA-256, so the
// policy needs no 'unsafe-inline' (the element is template text, served as it is in the file).
var loginStyleSource = func() string {
	b, _ := loginFS.ReadFile("login.html")
	_, rest, _ := bytes.Cut(b, []byte("<style>"))
	css, _, _ := bytes.Cut(rest, []byte("</style>"))
	sum := sha256.Sum256(css)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// demoLogin is one row of the login page's demo hint.
type demoLogin struct{ Username, Name, Title, Profile, Password string }

// loginPage is the login page's data.
type loginPage struct {
	Request           authRequest
	CSRFToken         string
	Username, Message string
	Demo              []demoLogin
	ErrorCode         string // the error page's
}

func (o *Org) demoLogins() []demoLogin {
	var d []demoLogin
	for i, u := range orgdb.Users {
		l := demoLogin{Username: u.Username, Name: u.Name(), Title: u.Title, Profile: u.Profile, Password: DemoAgentPassword}
		if i == 0 {
			// The integration user's password is shown only when it is the demo one: a configured
			// password never reaches a page.
			if o.password != DemoPassword || o.username != orgdb.IntegrationUsername {
				continue
			}
			l.Password = DemoPassword
		}
		d = append(d, l)
	}
	return d
}

// pageHeaders are the login and error pages' headers: never cached, never framed (Salesforce's
// login page refuses framing too), no script, no outside resource.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+loginStyleSource+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (o *Org) renderLogin(w http.ResponseWriter, _ *http.Request, ar authRequest, cookie, username, message string, status int) {
	pageHeaders(w)
	w.WriteHeader(status)
	_ = loginTemplates.ExecuteTemplate(w, "login", loginPage{Request: ar, CSRFToken: o.csrfToken(cookie),
		Username: username, Message: message, Demo: o.demoLogins()})
}

func (o *Org) renderError(w http.ResponseWriter, status int, code, desc string) {
	pageHeaders(w)
	w.WriteHeader(status)
	_ = loginTemplates.ExecuteTemplate(w, "error", loginPage{ErrorCode: code, Message: desc})
}
