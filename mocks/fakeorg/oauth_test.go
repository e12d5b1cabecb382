package fakeorg

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPasswordFlowSuccessShape(t *testing.T) {
	to := newTestOrg(t, Options{})
	resp, body := to.form("/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
		"username": {DemoUsername}, "password": {DemoPassword},
	})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tr map[string]string
	require.NoError(t, json.Unmarshal(body, &tr))
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"access_token", "refresh_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}, keys)
	assert.NotContains(t, tr, "expires_in")
	assert.Equal(t, to.srv.URL, tr["instance_url"])
	assert.Equal(t, to.srv.URL+"/id/"+to.OrgID()+"/"+to.UserID(), tr["id"])
	assert.Equal(t, "Bearer", tr["token_type"])
	ms, err := strconv.ParseInt(tr["issued_at"], 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().UnixMilli(), ms, float64(time.Hour.Milliseconds()))
	mac := hmac.New(sha256.New, []byte(DemoClientSecret))
	mac.Write([]byte(tr["id"] + tr["issued_at"]))
	assert.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), tr["signature"])
	assert.True(t, strings.HasPrefix(tr["access_token"], to.OrgID()[:15]+"!"))
	assert.Len(t, to.OrgID(), 18)
	assert.True(t, strings.HasPrefix(to.OrgID(), "00D"))
	assert.True(t, strings.HasPrefix(to.UserID(), "005"))

	// The token works for data calls.
	to.token = tr["access_token"]
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
}

func TestPasswordFlowInQueryString(t *testing.T) {
	to := newTestOrg(t, Options{})
	q := url.Values{"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
		"username": {DemoUsername}, "password": {DemoPassword}}
	req, err := http.NewRequest(http.MethodPost, to.srv.URL+"/services/oauth2/token?"+q.Encode(), nil)
	require.NoError(t, err)
	resp, body := to.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func requireOAuthError(t *testing.T, resp *http.Response, body []byte, code, desc string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	var e map[string]string
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	assert.Equal(t, map[string]string{"error": code, "error_description": desc}, e)
}

func TestTokenRejections(t *testing.T) {
	to := newTestOrg(t, Options{SecurityToken: "SECTOK"})
	good := url.Values{"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
		"username": {DemoUsername}, "password": {DemoPassword}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	tests := []struct {
		name       string
		form       url.Values
		code, desc string
	}{
		{"wrong client id", with("client_id", "nope"), "invalid_client_id", "client identifier invalid"},
		{"wrong secret", with("client_secret", "nope"), "invalid_client", "invalid client credentials"},
		{"missing secret", with("client_secret", ""), "invalid_client", "invalid client credentials"},
		{"wrong user", with("username", "someone@else"), "invalid_grant", "authentication failure"},
		{"wrong password", with("password", "demo-passwordX"), "invalid_grant", "authentication failure"},
		{"wrong security token", with("password", DemoPassword+"WRONG"), "invalid_grant", "authentication failure"},
		{"no grant type", with("grant_type", ""), "unsupported_grant_type", "grant type not supported"},
		{"unknown grant type", with("grant_type", "implicit"), "unsupported_grant_type", "grant type not supported"},
		{"bad refresh token", url.Values{"grant_type": {"refresh_token"}, "client_id": {DemoClientID}, "refresh_token": {"5Aep861xyz"}},
			"invalid_grant", "expired access/refresh token"},
		{"client credentials wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {"x"}},
			"invalid_client", "invalid client credentials"},
		{"jwt without certificate", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}},
			"invalid_grant", "invalid assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := to.form("/services/oauth2/token", tt.form)
			requireOAuthError(t, resp, body, tt.code, tt.desc)
		})
	}
	t.Run("password with security token appended", func(t *testing.T) {
		resp, body := to.form("/services/oauth2/token", with("password", DemoPassword+"SECTOK"))
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	})
	assert.Equal(t, int64(len(tests)+2), to.Count(KindToken), "every login attempt is counted")
}

func TestClientCredentialsAndRefresh(t *testing.T) {
	to := newTestOrg(t, Options{})
	// client_credentials with HTTP Basic.
	req, err := http.NewRequest(http.MethodPost, to.srv.URL+"/services/oauth2/token",
		strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DemoClientID, DemoClientSecret)
	resp, body := to.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tr map[string]string
	require.NoError(t, json.Unmarshal(body, &tr))
	assert.NotContains(t, tr, "refresh_token")

	// client_credentials in the form.
	resp, body = to.form("/services/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {DemoClientID}, "client_secret": {DemoClientSecret}})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	// The password flow issues a refresh token that the refresh flow accepts.
	resp, body = to.form("/services/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {DemoClientID},
		"client_secret": {DemoClientSecret}, "username": {DemoUsername}, "password": {DemoPassword}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.Unmarshal(body, &tr))
	rt := tr["refresh_token"]
	require.NotEmpty(t, rt)
	resp, body = to.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {DemoClientID},
		"client_secret": {DemoClientSecret}, "refresh_token": {rt}})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tr2 map[string]string
	require.NoError(t, json.Unmarshal(body, &tr2))
	assert.NotEmpty(t, tr2["access_token"])
	assert.NotContains(t, tr2, "refresh_token")

	// Revoking the refresh token revokes the access tokens that came with and from it.
	to.token = tr2["access_token"]
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	other := to.login() // a session of its own, with its own refresh token
	resp, _ = to.form("/services/oauth2/revoke", url.Values{"token": {rt}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, tok := range []string{tr["access_token"], tr2["access_token"]} {
		to.token = tok
		resp, body = to.do(http.MethodGet, "limits", nil)
		requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
	}
	to.token = other
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	resp, body = to.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {DemoClientID},
		"refresh_token": {rt}})
	requireOAuthError(t, resp, body, "invalid_grant", "expired access/refresh token")
}

// jwtKeys makes an RSA key and a self-signed certificate for it, PEM encoded.
func jwtKeys(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idverify test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestJWTBearerFlow(t *testing.T) {
	key, cert := jwtKeys(t)
	other, _ := jwtKeys(t)
	clock := newFakeClock()
	to := newTestOrg(t, Options{JWTCertificates: [][]byte{cert}, Now: clock.Now})

	sign := func(k *rsa.PrivateKey, method jwt.SigningMethod, claims jwt.MapClaims) string {
		var s string
		var err error
		if method == jwt.SigningMethodHS256 {
			s, err = jwt.NewWithClaims(method, claims).SignedString([]byte("secret"))
		} else {
			s, err = jwt.NewWithClaims(method, claims).SignedString(k)
		}
		require.NoError(t, err)
		return s
	}
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": DemoClientID, "sub": DemoUsername, "aud": "https://login.salesforce.com",
			"exp": clock.Now().Add(3 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name       string
		assertion  string
		code, desc string // empty: success
	}{
		{"login audience", sign(key, jwt.SigningMethodRS256, claims(nil)), "", ""},
		{"test audience", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["aud"] = "https://test.salesforce.com" })), "", ""},
		{"own URL audience", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["aud"] = to.srv.URL })), "", ""},
		{"audience list", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["aud"] = []string{"https://login.salesforce.com"} })), "", ""},
		{"wrong issuer", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["iss"] = "someone" })), "invalid_client_id", "client identifier invalid"},
		{"other key", sign(other, jwt.SigningMethodRS256, claims(nil)), "invalid_grant", "invalid assertion"},
		{"HS256", sign(nil, jwt.SigningMethodHS256, claims(nil)), "invalid_grant", "invalid assertion"},
		{"RS512", sign(key, jwt.SigningMethodRS512, claims(nil)), "invalid_grant", "invalid assertion"},
		{"alg none", unsigned(t, claims(nil)), "invalid_grant", "invalid assertion"},
		// Key confusion: an HMAC keyed with the public key, which anyone may hold.
		{"HS256 keyed with the certificate", hmacSigned(t, cert, claims(nil)), "invalid_grant", "invalid assertion"},
		{"HS256 keyed with the public key", hmacSigned(t, publicKeyPEM(t, &key.PublicKey), claims(nil)), "invalid_grant", "invalid assertion"},
		{"wrong audience", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["aud"] = "https://evil.example" })), "invalid_grant", "audience is invalid"},
		{"expired", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["exp"] = clock.Now().Add(-time.Second).Unix() })), "invalid_grant", "expired authorization code"},
		{"no exp", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "invalid_grant", "expired authorization code"},
		{"unknown user", sign(key, jwt.SigningMethodRS256, claims(func(c jwt.MapClaims) { c["sub"] = "nobody@example.com" })), "invalid_grant", "user hasn't approved this consumer"},
		{"malformed", "not-a-jwt", "invalid_grant", "invalid assertion"},
		{"tampered", sign(key, jwt.SigningMethodRS256, claims(nil)) + "x", "invalid_grant", "invalid assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := to.form("/services/oauth2/token", url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {tt.assertion}})
			if tt.code != "" {
				requireOAuthError(t, resp, body, tt.code, tt.desc)
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			var tr map[string]string
			require.NoError(t, json.Unmarshal(body, &tr))
			assert.NotContains(t, tr, "refresh_token")
			assert.NotEmpty(t, tr["access_token"])
		})
	}
}

// unsigned returns an assertion with alg "none" and no signature.
func unsigned(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return s
}

// hmacSigned returns an HS256 assertion keyed with secret.
func hmacSigned(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	require.NoError(t, err)
	return s
}

func publicKeyPEM(t *testing.T, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestParsePublicKey(t *testing.T) {
	key, cert := jwtKeys(t)
	k, err := ParsePublicKey(cert)
	require.NoError(t, err)
	assert.True(t, k.Equal(&key.PublicKey))
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	k, err = ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	require.NoError(t, err)
	assert.True(t, k.Equal(&key.PublicKey))
	_, err = ParsePublicKey([]byte("hello"))
	assert.Error(t, err)
	_, err = New(Options{JWTCertificates: [][]byte{[]byte("junk")}})
	assert.ErrorContains(t, err, "JWT certificate 1")
}

func TestSessionsExpireAndRevoke(t *testing.T) {
	clock := newFakeClock()
	to := newTestOrg(t, Options{Now: clock.Now, SessionLifetime: 30 * time.Minute})
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)

	clock.Add(29 * time.Minute)
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	clock.Add(time.Minute)
	resp, body := to.do(http.MethodGet, "limits", nil)
	e := requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
	assert.Equal(t, "Session expired or invalid", e["message"])

	// ExpireTokens ends every session now.
	to.token = to.login()
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
	to.ExpireTokens()
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")

	// Revoke.
	to.token = to.login()
	resp, _ = to.form("/services/oauth2/revoke", url.Values{"token": {to.token}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body = to.do(http.MethodGet, "limits", nil)
	requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
	resp, body = to.form("/services/oauth2/revoke", url.Values{"token": {to.token}})
	requireOAuthError(t, resp, body, "invalid_token", "invalid token")

	// No token, a garbage token.
	to.token = ""
	resp, body = to.do(http.MethodGet, "sobjects", nil)
	requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
	to.token = "00D000000000000!garbage"
	resp, body = to.do(http.MethodGet, "sobjects", nil)
	requireAPIError(t, resp, body, http.StatusUnauthorized, "INVALID_SESSION_ID")
}

func TestIdentityAndUserinfo(t *testing.T) {
	to := newTestOrg(t, Options{})
	idURL := "/id/" + to.OrgID() + "/" + to.UserID()
	v := to.doJSON(http.MethodGet, idURL, nil, http.StatusOK).(map[string]any)
	assert.Equal(t, to.srv.URL+idURL, v["id"])
	assert.Equal(t, to.UserID(), v["user_id"])
	assert.Equal(t, to.OrgID(), v["organization_id"])
	assert.Equal(t, DemoUsername, v["username"])
	urls := v["urls"].(map[string]any)
	assert.Equal(t, to.srv.URL+"/services/data/v{version}/", urls["rest"])

	// 15-character ids work too.
	to.doJSON(http.MethodGet, "/id/"+to.OrgID()[:15]+"/"+to.UserID()[:15], nil, http.StatusOK)

	u := to.doJSON(http.MethodGet, "/services/oauth2/userinfo", nil, http.StatusOK).(map[string]any)
	assert.Equal(t, to.srv.URL+idURL, u["sub"])
	assert.Equal(t, DemoUsername, u["preferred_username"])

	to.token = "bad"
	for _, p := range []string{idURL, "/services/oauth2/userinfo"} {
		resp, body := to.do(http.MethodGet, p, nil)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, "Bad_OAuth_Token", string(body))
	}
	assert.Equal(t, int64(3), to.Count(KindIdentity))
	assert.Equal(t, int64(2), to.Count(KindUserinfo))
}

func TestBaseURLOption(t *testing.T) {
	key, cert := jwtKeys(t)
	to := newTestOrg(t, Options{BaseURL: "https://acme.my.salesforce.com/", JWTCertificates: [][]byte{cert}})
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": DemoClientID, "sub": DemoUsername,
		"aud": "https://acme.my.salesforce.com", "exp": time.Now().Add(time.Minute).Unix()}).SignedString(key)
	require.NoError(t, err)
	resp, body := to.form("/services/oauth2/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tr map[string]string
	require.NoError(t, json.Unmarshal(body, &tr))
	assert.Equal(t, "https://acme.my.salesforce.com", tr["instance_url"])
	assert.Equal(t, "https://acme.my.salesforce.com/id/"+to.OrgID()+"/"+to.UserID(), tr["id"])
}

// TestRefreshRacingRevokeIssuesNoLiveToken: a refresh token revoked while a refresh flow uses
// it leaves no live access token behind, whichever comes first. The refresh flow checked the
// refresh token, then issued the access token under a second lock: a revoke between the two
// deleted the tokens tied to the refresh token before the new one existed, and the new one
// lived its full session. (A race: this test sends many pairs at once.)
func TestRefreshRacingRevokeIssuesNoLiveToken(t *testing.T) {
	o, err := New(Options{LoginRateLimit: -1}) // 10,000 token requests
	require.NoError(t, err)
	h := o.Handler()
	post := func(path string, v url.Values) (int, map[string]string) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var m map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	login := url.Values{"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
		"username": {DemoUsername}, "password": {DemoPassword}}
	leaked := 0
	for range 5000 {
		_, tr := post("/services/oauth2/token", login)
		rt := tr["refresh_token"]
		var wg sync.WaitGroup
		var refreshed map[string]string
		var refreshStatus, revokeStatus int
		wg.Add(2)
		go func() {
			defer wg.Done()
			refreshStatus, refreshed = post("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"},
				"client_id": {DemoClientID}, "refresh_token": {rt}})
		}()
		go func() {
			defer wg.Done()
			revokeStatus, _ = post("/services/oauth2/revoke", url.Values{"token": {rt}})
		}()
		wg.Wait()
		require.Equal(t, http.StatusOK, revokeStatus)
		if refreshStatus == http.StatusOK && o.validAccess(refreshed["access_token"]) {
			leaked++
		}
	}
	assert.Zero(t, leaked, "access tokens alive after their refresh token was revoked")
}

// TestLoginRateLimit: the integration user may attempt 3,600 logins an hour, as in Salesforce
// ("Login requests exceeding 3,600 requests per hour per user will be blocked", Salesforce Help
// 000381578); failed attempts count too, so a password cannot be guessed faster, and the access
// tokens one session lifetime holds are bounded. Without it, logins minted tokens without end.
func TestLoginRateLimit(t *testing.T) {
	clock := newFakeClock()
	o, err := New(Options{Now: clock.Now})
	require.NoError(t, err)
	h := o.Handler()
	token := func(password string) (int, string) {
		v := url.Values{"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
			"username": {DemoUsername}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, "/services/oauth2/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	soap := func() string {
		req := httptest.NewRequest(http.MethodPost, "/services/Soap/u/62.0", strings.NewReader(loginEnvelope(DemoUsername, DemoPassword)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Body.String()
	}
	for i := range DefaultLoginRateLimit {
		password := DemoPassword
		if i%2 == 0 {
			password = "guess" // failed attempts count
		}
		code, body := token(password)
		require.NotContains(t, body, "login rate exceeded", "attempt %d", i+1)
		require.Equal(t, i%2 == 1, code == http.StatusOK, body)
	}
	code, body := token(DemoPassword)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `{"error":"invalid_grant","error_description":"login rate exceeded"}`, body)
	assert.Contains(t, soap(), "<faultcode>sf:LOGIN_RATE_EXCEEDED</faultcode>")

	// The allowance comes back with time: one attempt a second, a full hour's after an hour.
	clock.Add(time.Second)
	code, _ = token(DemoPassword)
	assert.Equal(t, http.StatusOK, code)
	code, _ = token(DemoPassword)
	assert.Equal(t, http.StatusBadRequest, code)
	clock.Add(time.Hour)
	assert.Contains(t, soap(), "<sessionId>")
	for range DefaultLoginRateLimit - 1 {
		code, _ = token(DemoPassword)
		require.Equal(t, http.StatusOK, code)
	}
	code, _ = token(DemoPassword)
	assert.Equal(t, http.StatusBadRequest, code)
}
