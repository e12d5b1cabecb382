package fakeorg

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loginEnvelope(user, password string) string {
	return `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>` +
		`<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>` + user + `</n1:username><n1:password>` + password + `</n1:password></n1:login>` +
		`</env:Body></env:Envelope>`
}

func TestSOAPLogin(t *testing.T) {
	to := newTestOrg(t, Options{})
	post := func(path, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, to.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", "login")
		resp, b := to.send(req)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"partner", "/services/Soap/u/64.0", loginEnvelope(to.Username(), to.Password()), 200, "<serverUrl>" + to.srv.URL + "/services/Soap/u/64.0/" + to.OrgID()[:15] + "</serverUrl>"},
		{"enterprise", "/services/Soap/c/31.0", loginEnvelope(to.Username(), to.Password()), 200, "<serverUrl>" + to.srv.URL + "/services/Soap/c/31.0/"},
		{"username case-insensitive", "/services/Soap/u/62.0", loginEnvelope(strings.ToUpper(to.Username()), to.Password()), 200, "<userName>" + to.Username() + "</userName>"},
		{"wrong password", "/services/Soap/u/62.0", loginEnvelope(to.Username(), "x"), 500, "<faultcode>sf:INVALID_LOGIN</faultcode>"},
		{"retired version", "/services/Soap/u/30.0", loginEnvelope(to.Username(), to.Password()), 500, "<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>"},
		{"login() gone from 65.0", "/services/Soap/u/66.0", loginEnvelope(to.Username(), to.Password()), 500, "login() is not available in API version 66.0"},
		{"other operations", "/services/Soap/u/62.0", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><query xmlns="urn:partner.soap.sforce.com"/></e:Body></e:Envelope>`, 500, "No operation available for request {urn:partner.soap.sforce.com}query"},
		{"not XML", "/services/Soap/u/62.0", "<<<", 500, "Unable to parse the request envelope"},
		{"unknown SOAP API", "/services/Soap/m/62.0", loginEnvelope(to.Username(), to.Password()), 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.path, tc.body)
			assert.Equal(t, tc.status, status, body)
			assert.Contains(t, body, tc.want)
			assert.NotContains(t, body, to.Password(), "the password is never echoed")
		})
	}

	// The session id is a REST access token.
	_, body := post("/services/Soap/u/62.0", loginEnvelope(to.Username(), to.Password()))
	sid := body[strings.Index(body, "<sessionId>")+len("<sessionId>") : strings.Index(body, "</sessionId>")]
	to.token = sid
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)

	resp, _ := to.do(http.MethodGet, "/services/Soap/u/62.0", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.EqualValues(t, 11, to.Counts().Kind(KindSOAP))

	// A password with XML's special characters arrives escaped, as simpleforce sends it.
	odd := newTestOrg(t, Options{Password: `a&b<c"d`})
	req, err := http.NewRequest(http.MethodPost, odd.srv.URL+"/services/Soap/u/62.0",
		strings.NewReader(loginEnvelope(odd.Username(), "a&amp;b&lt;c&quot;d")))
	require.NoError(t, err)
	resp, b := odd.send(req)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
}

// TestSOAPFaultsQuoteABoundedPrefix: the fault for an operation other than login() names it
// clipped, as every error of the org quotes a value; it echoed a 1 MB element name whole.
func TestSOAPFaultsQuoteABoundedPrefix(t *testing.T) {
	to := newTestOrg(t, Options{})
	long := strings.Repeat("x", 500_000)
	for _, op := range []string{"<" + long + "/>", `<query xmlns="urn:` + long + `"/>`} {
		req, err := http.NewRequest(http.MethodPost, to.srv.URL+"/services/Soap/u/62.0", strings.NewReader(
			`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>`+op+`</e:Body></e:Envelope>`))
		require.NoError(t, err)
		resp, body := to.send(req)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		assert.Contains(t, string(body), "No operation available for request {")
		assert.Less(t, len(body), 2000)
	}
}
