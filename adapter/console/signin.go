package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Agents sign in with Salesforce's OAuth 2.0 web server flow with PKCE
// (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm):
// the console sends the browser to the org's authorize page with a random state and the S256
// challenge of a random verifier, both kept in a short-lived sealed cookie; the org sends the
// browser back with a code, which the console exchanges (with the verifier) for a token; the
// token reads the agent's userinfo (user id, name, time zone) once and is then revoked. So the
// console keeps no Salesforce token anywhere.

const (
	flowCookie = "idv_signin"
	flowTTL    = 10 * time.Minute
)

// signInFlow is what the sign-in's cookie holds, sealed.
type signInFlow struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Next     string `json:"n"`
	Expires  int64  `json:"e"`
	// Bind is the binding of the frame that opened this sign-in's pop-up (frame.go); empty
	// for a top-level sign-in.
	Bind string `json:"b,omitempty"`
}

// sealNext returns the sign-in page's `next` for the page at uri. A page with a query is sealed:
// a screen pop's query carries the caller's phone number, which must not reach the sign-in
// URL (browser history, proxies' logs, Referer) in clear.
func (c *Console) sealNext(uri string) string {
	if !strings.Contains(uri, "?") {
		return uri
	}
	return c.nexts.seal([]byte(uri))
}

// openNext returns the page sealNext sealed into next, or next as it is when it is a path.
func (c *Console) openNext(next string) string {
	if strings.HasPrefix(next, "/") {
		return next
	}
	plain, err := c.nexts.open(next)
	if err != nil {
		return ""
	}
	return string(plain)
}

// nextPage returns the console's page a sign-in request's `next` names, sealed or as a path:
// a value this console did not seal, or a page elsewhere, is the console's home.
func (c *Console) nextPage(r *http.Request) string {
	return localNext(c.openNext(r.URL.Query().Get("next")))
}

// localNext returns next when it is a page of the console, else the console's home: a sign-in
// never sends the browser elsewhere.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		len(next) > 2048 || strings.HasPrefix(next, "/console/signin") || strings.HasPrefix(next, "/console/oauth/") {
		return "/console/"
	}
	return next
}

// signInStart: GET /console/signin?next=…: to Salesforce's authorize page.
func (c *Console) signInStart(w http.ResponseWriter, r *http.Request) {
	if c.oauth == nil {
		c.fail(w, r, http.StatusServiceUnavailable, "Sign-in with Salesforce is not configured for this console.")
		return
	}
	if c.framed && inFrame(r) {
		c.frameSignIn(w, r) // Salesforce's login page refuses to be framed: a pop-up
		return
	}
	f := signInFlow{State: rand.Text(), Verifier: oauth2.GenerateVerifier(), Next: c.nextPage(r),
		Expires: c.clock.Now().Add(flowTTL).Unix()}
	if bind := r.URL.Query().Get("popup"); c.framed && bind != "" && len(bind) <= 64 {
		f.Bind = bind
	}
	http.SetCookie(w, c.cookie(flowCookie, c.flows.sealJSON(f), flowTTL))
	http.Redirect(w, r, c.oauth.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier)), http.StatusSeeOther)
}

// signInCallback: GET /console/oauth/callback?code=…&state=…, where Salesforce sends the
// browser back.
func (c *Console) signInCallback(w http.ResponseWriter, r *http.Request) {
	if c.oauth == nil {
		c.fail(w, r, http.StatusServiceUnavailable, "Sign-in with Salesforce is not configured for this console.")
		return
	}
	var f signInFlow
	err := c.flows.openCookie(r, flowCookie, &f)
	q := r.URL.Query()
	state := q.Get("state")
	http.SetCookie(w, c.cookie(flowCookie, "", -1)) // one use
	switch {
	case err != nil || c.clock.Now().Unix() >= f.Expires:
		c.fail(w, r, http.StatusBadRequest, "The sign-in took too long or was started elsewhere. Sign in again.")
		return
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1:
		c.fail(w, r, http.StatusBadRequest, "The sign-in did not come back from the sign-in this console started. Sign in again.")
		return
	case q.Get("error") != "":
		// Salesforce's error codes are fixed words (access_denied, …); the description is not shown.
		c.fail(w, r, http.StatusForbidden, "Salesforce did not sign you in. Sign in again, or ask your administrator for access.")
		return
	case q.Get("code") == "":
		c.fail(w, r, http.StatusBadRequest, "Salesforce sent no authorisation code. Sign in again.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	tok, err := c.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		c.log.WarnContext(ctx, "sign-in: code not exchanged", "type", errType(err))
		c.fail(w, r, http.StatusBadGateway, "Salesforce did not confirm the sign-in. Sign in again.")
		return
	}
	instance, _ := tok.Extra("instance_url").(string)
	if !httpURL(instance) {
		instance = c.loginURL
	}
	agent, err := c.userinfo(ctx, instance, tok)
	c.revoke(ctx, tok) // the console needs the token no more
	switch {
	case errors.Is(err, errOtherOrg):
		c.log.WarnContext(ctx, "sign-in: a user of another org refused")
		c.fail(w, r, http.StatusForbidden, "You signed in to another Salesforce org than this console's. Sign in with your user of the console's org.")
		return
	case err != nil:
		c.log.WarnContext(ctx, "sign-in: userinfo not read", "type", errType(err))
		c.fail(w, r, http.StatusBadGateway, "Salesforce did not say who signed in. Sign in again.")
		return
	}
	agent.Instance = strings.TrimSuffix(instance, "/")
	if f.Bind != "" {
		c.handOff(w, r, agent, f.Bind)
		return
	}
	c.signIn(w, agent)
	http.Redirect(w, r, localNext(f.Next), http.StatusSeeOther)
}

// userinfo reads who signed in from Salesforce's OpenID Connect userinfo endpoint
// (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm).
func (c *Console) userinfo(ctx context.Context, instance string, tok *oauth2.Token) (Agent, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(instance, "/")+"/services/oauth2/userinfo", nil)
	if err != nil {
		return Agent{}, err
	}
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Agent{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Agent{}, &statusError{resp.StatusCode}
	}
	var info struct {
		UserID   string `json:"user_id"`
		OrgID    string `json:"organization_id"`
		Name     string `json:"name"`
		ZoneInfo string `json:"zoneinfo"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&info); err != nil {
		return Agent{}, err
	}
	if !userID.MatchString(info.UserID) {
		return Agent{}, &statusError{0}
	}
	if !orgID.MatchString(info.OrgID) || subtle.ConstantTimeCompare([]byte(info.OrgID[:15]), []byte(c.orgID)) != 1 {
		return Agent{}, errOtherOrg
	}
	if _, err := time.LoadLocation(info.ZoneInfo); err != nil || info.ZoneInfo == "" {
		info.ZoneInfo = "UTC"
	}
	return Agent{UserID: info.UserID, Name: clip(info.Name, 121), TimeZone: info.ZoneInfo}, nil
}

// revoke revokes the access token (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm);
// a failure leaves it to expire with its session.
func (c *Console) revoke(ctx context.Context, tok *oauth2.Token) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.loginURL+"/services/oauth2/revoke",
		strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// errOtherOrg is a sign-in by a user of another org than the console's.
var errOtherOrg = errors.New("console: the user is not of the console's org")

type statusError struct{ status int }

func (e *statusError) Error() string {
	return "console: unexpected answer " + http.StatusText(e.status)
}

// errType names an error for a log line without its text (an OAuth error's text can quote
// the request).
func errType(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return "oauth2 " + re.ErrorCode
	}
	return fmt.Sprintf("%T", err)
}

// signOut: POST /console/signout.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, c.cookie(agentCookie, "", -1))
	http.Redirect(w, r, "/console/signedout", http.StatusSeeOther)
}

func (c *Console) signedOut(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, c.newPage(r, "Signed out", "signedout"), nil)
}
