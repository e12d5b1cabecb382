package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/console"
	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
	"github.com/idverify/idverify/sfdc/sfdctest"
)

// demoPolicy is examples/idverify.yaml's policy, with a lower lockout for the locked scenario
// and a reason that needs no verification.
func demoPolicy() flows.Policy {
	return flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}, {Name: "Opening hours and branches"}},
		SearchTypes: []flows.SearchType{
			{Name: "customer", Label: "Customer", Object: "Account", Search: flows.SearchText, Filter: "IsPersonAccount = true",
				SortBy: "Name", SearchFields: []string{"Name", "PersonEmail"}, ResultFields: []string{"Name", "PersonMailingCity", "Phone"},
				MaskedResultFields: []string{"Phone"},
				Required:           []flows.Verifier{{Field: "PersonBirthdate", Label: "Date of birth", Match: flows.MatchDate, Mode: flows.ModeCheck}},
				Optional: []flows.Verifier{
					{Field: "PersonMobilePhone", Label: "Mobile number", Match: flows.MatchPhone, Mode: flows.ModeCheck},
					{Field: "PersonMailingPostalCode", Label: "Postal code", Match: flows.MatchPostalCode, Mode: flows.ModeAttest,
						Reveal: flows.RevealMasked}},
				OptionalMin: 1},
			{Name: "representative", Label: "Someone calling for a customer", Object: "Contact", Search: flows.SearchObject,
				Filter: "IsPersonAccount = false", SortBy: "LastName", SearchFields: []string{"LastName", "FirstName"},
				ResultFields: []string{"Name", "MailingCity", "Phone"}, MaskedResultFields: []string{"Phone"},
				Required: []flows.Verifier{{Field: "Birthdate", Label: "Date of birth", Match: flows.MatchDate, Mode: flows.ModeCheck}},
				Optional: []flows.Verifier{
					{Field: "MobilePhone", Label: "Mobile number", Match: flows.MatchPhone, Mode: flows.ModeCheck},
					{Field: "MailingPostalCode", Label: "Postal code", Match: flows.MatchPostalCode, Mode: flows.ModeCheck}},
				OptionalMin: 1, Linked: "customer"},
		},
		Representation: flows.RepresentationRule{Object: "AccountContactRelation", RepresentativeField: "ContactId",
			CustomerField: "AccountId", RequireActive: true},
		Lockout:  flows.Lockout{MaxFailures: 3, Window: 30 * time.Minute},
		Matching: flows.Matching{DateOrder: flows.DMY, DefaultCountryCode: "1"},
	}
}

var phoneFields = []salesforce.PhoneFields{
	{Object: "Account", Fields: []string{"Phone", "PersonMobilePhone", "PersonHomePhone"}},
	{Object: "Contact", Fields: []string{"Phone", "MobilePhone", "HomePhone"}},
}

// The demo agents (the test seam signs them in). Anna is the fake org's integration user, a
// User every fake org has, so that her sessions' write-backs name a User that exists.
var (
	agentAnna = console.Agent{UserID: "0055g0000000001AAA", Name: "Anna Agent", TimeZone: "Europe/London"}
	agentBen  = console.Agent{UserID: "005000000000011AAA", Name: "Ben Agent", TimeZone: "America/New_York"}
)

var testKey = []byte("console-test-key-0123456789abcdef0123456789")

// env is the console on an engine over the demo fake org (through adapter/salesforce), on
// an httptest server that also serves the org.
type env struct {
	t       *testing.T
	org     *sfdctest.Org
	crm     *salesforce.Adapter
	store   *flowstest.Store
	engine  *flows.Engine
	console *console.Console
	srv     *httptest.Server
}

func newEnv(t *testing.T, change ...func(*console.Config)) *env {
	t.Helper()
	org := sfdctest.NewOrg(t, sfdctest.WithOrg(fakeorg.Options{Seed: fakeorg.SeedDemo}))
	p := demoPolicy()
	crm, err := salesforce.New(org.Client, salesforce.Options{Policy: p, PhoneFields: phoneFields})
	require.NoError(t, err)
	e := &env{t: t, org: org, crm: crm, store: &flowstest.Store{}}
	e.engine, err = flows.New(p, flows.Ports{CRM: crm, Recorder: crm, Store: e.store}, testKey)
	require.NoError(t, err)
	// The server starts first: the sign-in's callback URL names it.
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.console.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg := console.Config{Engine: e.engine, Engagements: crm, Key: testKey,
		FrameAncestors: []string{"https://example.lightning.force.com"}, InstanceURL: org.URL(),
		SignIn: console.SignIn{LoginURL: org.URL(), ClientID: fakeorg.DemoClientID, ClientSecret: fakeorg.DemoClientSecret,
			RedirectURL: e.srv.URL + fakeorg.ConsoleCallbackPath, OrgID: org.OrgID()}}
	for _, f := range change {
		f(&cfg)
	}
	e.console, err = console.New(cfg)
	require.NoError(t, err)
	return e
}

// deliver delivers the outbox to the fake org, as the outbox worker would.
func (e *env) deliver() {
	e.t.Helper()
	_, err := flowstest.Deliver(context.Background(), e.store, e.crm, time.Now())
	require.NoError(e.t, err)
}

// query reads the fake org.
func (e *env) query(q *sfdc.Query) []sfdc.Record {
	e.t.Helper()
	var out []sfdc.Record
	for rec, err := range e.org.Client.Query(context.Background(), q) {
		require.NoError(e.t, err)
		out = append(out, rec)
	}
	return out
}

// browser is one agent's HTTP client: a cookie jar, redirects followed.
type browser struct {
	e      *env
	c      *http.Client
	page   string // the last page's HTML
	url    string // and its URL
	status int
}

func (e *env) browser(a *console.Agent) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	if a != nil {
		u, _ := url.Parse(e.srv.URL + "/console/")
		jar.SetCookies(u, []*http.Cookie{e.console.AgentCookie(*a)})
	}
	return b
}

func (b *browser) get(path string) *browser {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	require.NoError(b.e.t, err)
	b.read(resp)
	return b
}

func (b *browser) read(resp *http.Response) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.e.t, err)
	b.page, b.url, b.status = string(body), resp.Request.URL.RequestURI(), resp.StatusCode
}

// post submits the page's form whose action ends with action, with its hidden fields (csrf,
// version, …) and values.
func (b *browser) post(action string, values url.Values) *browser {
	b.e.t.Helper()
	form := b.form(action)
	for k, v := range values {
		form[k] = v
	}
	return b.postRaw(b.action(action), form)
}

func (b *browser) postRaw(path string, form url.Values) *browser {
	b.e.t.Helper()
	resp, err := b.c.PostForm(b.e.srv.URL+path, form)
	require.NoError(b.e.t, err)
	b.read(resp)
	return b
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// action returns the full action of the page's form whose action ends with suffix.
func (b *browser) action(suffix string) string {
	b.e.t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(b.page, -1) {
		if strings.HasSuffix(html.UnescapeString(m[1]), suffix) {
			return html.UnescapeString(m[1])
		}
	}
	require.FailNow(b.e.t, "no form", "no form posts to …%s on %s:\n%s", suffix, b.url, b.page)
	return ""
}

// form returns the hidden fields of the form whose action ends with suffix.
func (b *browser) form(suffix string) url.Values {
	b.e.t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(b.page, -1) {
		if strings.HasSuffix(html.UnescapeString(m[1]), suffix) {
			v := url.Values{}
			for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
				v.Add(h[1], html.UnescapeString(h[2]))
			}
			return v
		}
	}
	require.FailNow(b.e.t, "no form", "no form posts to …%s on %s", suffix, b.url)
	return nil
}

// has checks that the page holds each of texts.
func (b *browser) has(texts ...string) *browser {
	b.e.t.Helper()
	for _, s := range texts {
		require.Contains(b.e.t, html.UnescapeString(b.page), s, "on %s", b.url)
	}
	return b
}

// Alice, a demo customer, and Julia, who may represent her.
const (
	alicePhone = "+1 415 555 0101"
	aliceBirth = "12/04/1985"
	aliceMob   = "(415) 555-0101"
)

// toQuestions starts a session for Alice by her phone number, about herself, up to her
// questions.
func (b *browser) toQuestions(callID string) *browser {
	b.e.t.Helper()
	b.get("/console/start?phone=" + url.QueryEscape(alicePhone) + "&call_id=" + callID)
	b.post("/console/start", url.Values{"phone": {alicePhone}, "call_id": {callID}, "channel": {"Voice Call"}})
	b.has("Reason for the call")
	b.post("/reason", url.Values{"reason": {"Change of address"}}).has("Whom is the call about?")
	return b.post("/subject", url.Values{"subject": {"self"}}).has("Questions for the caller", "Date of birth")
}
