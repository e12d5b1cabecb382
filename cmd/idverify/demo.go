package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/examples"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// demo is what `idverify serve` adds when no Salesforce credentials are configured: the
// example policy (examples/idverify.yaml, written for the fake org's demo data), a generated
// HMAC key, an API key and an admin key, the agents' console with a generated key (signed in
// to at the embedded fake org), and a temporary SQLite file. Each is a default: a file, the
// environment or a flag still overrides it.
type demo struct {
	key, adminKey string
	// db is the SQLite file the demo defaults to; tempDir, when set, holds it and is deleted
	// when the service stops.
	db, tempDir string
}

// demoPolicyKeys are the sections of examples/idverify.yaml the demo takes: the policy, not
// the deployment (store, server, log, salesforce).
var demoPolicyKeys = []string{"reasons", "search_types", "representation", "lockout", "verified_ttl", "verdicts",
	"session", "matching", "phone_fields", "phone_lookup"}

// newDemo generates the demo's secrets; db is the SQLite file to use ("" for a temporary one).
func newDemo(db string) (*demo, error) {
	d := &demo{key: "idv_demo_" + randomHex(16), adminKey: "idv_demo_admin_" + randomHex(16), db: db}
	if d.db == "" {
		dir, err := os.MkdirTemp("", "idverify-demo-")
		if err != nil {
			return nil, err
		}
		d.tempDir, d.db = dir, filepath.Join(dir, "idverify.db")
	}
	return d, nil
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// defaults returns the demo's values as config.Options.Defaults.
func (d *demo) defaults() (map[string]any, error) {
	var example map[string]any
	if err := yaml.Unmarshal(examples.Config, &example); err != nil {
		return nil, fmt.Errorf("examples/idverify.yaml: %w", err)
	}
	out := map[string]any{}
	for _, k := range demoPolicyKeys {
		if v, ok := example[k]; ok {
			out[k] = v
		}
	}
	// Generated keys: a key the operator gives, inline or in a file (secrets.hmac_key_file,
	// console.key_file) wherever it is set, replaces them (config.Load).
	out["secrets"] = map[string]any{"hmac_key": base64.StdEncoding.EncodeToString(randomBytes(32))}
	// The console, signed in to at the embedded fake org (newConsole), with a key of its own.
	out["console"] = map[string]any{"enabled": true, "key": base64.StdEncoding.EncodeToString(randomBytes(32))}
	out["server"] = map[string]any{"api_keys": []any{
		map[string]any{"name": "demo", "sha256": httpapi.HashKey(d.key)},
		map[string]any{"name": "demo-admin", "sha256": httpapi.HashKey(d.adminKey), "admin": true},
	}}
	out["store"] = map[string]any{"dsn": d.db}
	return out, nil
}

// close deletes the temporary store.
func (d *demo) close() {
	if d.tempDir != "" {
		_ = os.RemoveAll(d.tempDir)
	}
}

// demoStep is one request of a walk: a step the agent takes, sent with curl by the printed
// commands and by the tests that run them.
type demoStep struct {
	comment string
	method  string
	// path is under the API's URL; $S stands for the session the walk's start created.
	path string
	// body is the JSON sent ("" for a GET).
	body string
}

// demoWalk is a verification, start to outcome.
type demoWalk struct {
	title string
	steps []demoStep
}

// demoWalks are the walks the banner prints: a caller verified about themself, then a
// representative and the customer they call for. Everyone in them is in the fake org's demo
// data (mocks/fakeorg/orgdb), with the ids its seed gives.
func demoWalks() []demoWalk {
	d := orgdb.Demo()
	id := func(key string) string {
		p, ok := d.Person(key)
		if !ok {
			panic("demo person " + key + " missing") // the demo dataset is fixed
		}
		return p.ID
	}
	post := func(comment, path, body string) demoStep {
		return demoStep{comment: comment, method: "POST", path: path, body: body}
	}
	return []demoWalk{
		{title: "A caller verified about themself: Alice Martin calls from her mobile", steps: []demoStep{
			post("start: the phone lookup finds Alice (phone_match: one)", "/v1/sessions",
				`{"phone":"+14155550101","channel":"Voice Call","external_id":"demo-call-1"}`),
			post("the reason for the call; a confidential one needs verification", "/v1/sessions/$S/reason",
				`{"version":1,"reason":"Change of address"}`),
			post("she calls about herself: her questions are asked", "/v1/sessions/$S/subject",
				`{"version":2,"subject":"self"}`),
			post("her answers (date of birth, mobile number): verified", "/v1/sessions/$S/answers",
				`{"version":3,"answers":[{"field":"PersonBirthdate","value":"12/04/1985"},{"field":"PersonMobilePhone","value":"+1 415 555 0101"}]}`),
			{comment: "the agent the call is transferred to reads who was verified", method: "GET",
				path: "/v1/engagements/status?external_id=demo-call-1"},
		}},
		{title: "A representative: Julia Chen calls for Emma Jones", steps: []demoStep{
			post("start: the phone lookup finds Julia, a contact", "/v1/sessions",
				`{"phone":"(415) 555-0202","channel":"Voice Call","external_id":"demo-call-2"}`),
			post("the reason", "/v1/sessions/$S/reason", `{"version":1,"reason":"Account balance"}`),
			post("she calls for someone else: first she is verified as a representative", "/v1/sessions/$S/subject",
				`{"version":2,"subject":"other"}`),
			post("the agent searches representatives by last name", "/v1/sessions/$S/search",
				`{"version":3,"search_type":"representative","fields":{"LastName":"Chen"}}`),
			post("and selects Julia", "/v1/sessions/$S/select", fmt.Sprintf(`{"version":4,"record":%q}`, id("julia"))),
			post("her answers: she passes; now the customer", "/v1/sessions/$S/answers",
				`{"version":5,"answers":[{"field":"Birthdate","value":"19 August 1983"},{"field":"MailingPostalCode","value":"94110"}]}`),
			post("the agent searches the customer by name", "/v1/sessions/$S/search", `{"version":6,"search_type":"customer","keywords":"Emma Jones"}`),
			post("and selects Emma: Julia may represent her (an AccountContactRelation)", "/v1/sessions/$S/select",
				fmt.Sprintf(`{"version":7,"record":%q}`, id("emma"))),
			post("Emma's date of birth, as Julia gives it", "/v1/sessions/$S/answers",
				`{"version":8,"answers":[{"field":"PersonBirthdate","value":"24 December 2001"}]}`),
			post("the agent attests the postal code (shown masked): verified", "/v1/sessions/$S/attestations",
				`{"version":9,"attestations":[{"field":"PersonMailingPostalCode","correct":true}]}`),
			{comment: "who was verified on the engagement, in which role", method: "GET",
				path: "/v1/engagements/status?external_id=demo-call-2"},
		}},
	}
}

// sessionSed extracts the session id from a start's answer, with POSIX tools only.
const sessionSed = `sed -n 's/.*"session": *"\([^"]*\)".*/\1/p'`

// writeDemoScript writes the walks as shell commands for the API at apiURL with the demo's
// key; the commands are what the banner prints and what the tests run.
func writeDemoScript(w io.Writer, apiURL, key string) {
	fmt.Fprintf(w, "IDV=%s KEY=%s\n", apiURL, key)
	fmt.Fprintln(w, `idv() { curl -sS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; echo; }`)
	for _, walk := range demoWalks() {
		fmt.Fprintf(w, "\n# %s\n", walk.title)
		for _, s := range walk.steps {
			fmt.Fprintf(w, "# %s\n", s.comment)
			path := s.path
			switch {
			case s.path == "/v1/sessions":
				fmt.Fprintf(w, "S=$(idv -d '%s' \"$IDV%s\" | %s); echo \"session $S\"\n", s.body, path, sessionSed)
			case s.method == "GET":
				fmt.Fprintf(w, "idv \"$IDV%s\"\n", path)
			default:
				fmt.Fprintf(w, "idv -d '%s' \"$IDV%s\"\n", s.body, path)
			}
		}
	}
}

// fakeOrgQueries are what the banner shows of the fake org: the engagements, their attendees
// and topics the outbox wrote.
var fakeOrgQueries = []string{
	"SELECT Id, ExternalIdentifier, Status, Reason, IsAttendeeVerified, InitiatingAttendeeId FROM EngagementInteraction",
	"SELECT EngagementId, ExternalAttendeeId, Role, IsVerified FROM EngagementAttendee",
	"SELECT EngagementId, Name, ProcessStatus, RelatedPersonId FROM EngagementTopic",
}

// writeFakeOrgScript writes the commands that log in to the fake org at orgURL and read what
// the walks wrote there.
func writeFakeOrgScript(w io.Writer, orgURL, apiVersion string, creds url.Values) {
	fmt.Fprintf(w, "ORG=%s\n", orgURL)
	fmt.Fprintf(w, "T=$(curl -sS -d grant_type=password -d client_id=%s -d client_secret=%s -d username=%s -d password=%s \"$ORG/services/oauth2/token\" | sed -n 's/.*\"access_token\": *\"\\([^\"]*\\)\".*/\\1/p')\n",
		creds.Get("client_id"), creds.Get("client_secret"), creds.Get("username"), creds.Get("password"))
	for _, q := range fakeOrgQueries {
		fmt.Fprintf(w, "curl -sS -G -H \"Authorization: Bearer $T\" --data-urlencode '%s' \"$ORG/services/data/v%s/query\"; echo\n", "q="+q, apiVersion)
	}
}

// printBanner says that the service runs on demo settings, and how to walk a verification.
// Where the configuration overrode a demo value (its own API keys, its own store), it says so.
func printBanner(w io.Writer, m *Main, d *demo) {
	cfg := m.Config
	key, adminKey, scriptAdmin := d.key, d.adminKey, d.adminKey
	if !slices.ContainsFunc(cfg.Server.APIKeys, func(k config.APIKey) bool { return k.SHA256 == httpapi.HashKey(d.key) }) {
		key, adminKey, scriptAdmin = "YOUR_KEY", "(server.api_keys: the configured keys replace the demo's)", "YOUR_ADMIN_KEY"
	}
	storeLine := fmt.Sprintf("%s (store.dsn)", cfg.Store.Driver)
	if cfg.Store.Driver == config.DriverSQLite && cfg.Store.DSN.Value() == d.db {
		storeLine = "SQLite at " + d.db
		if d.tempDir != "" {
			storeLine += " (deleted at exit)"
		}
	}
	fmt.Fprintf(w, `
idverify is running on DEMO settings: no Salesforce credentials are configured (salesforce.auth).
  API:            %s   (OpenAPI: %s/v1/openapi.json, metrics: %s/metrics)
  API key:        %s
  admin API key:  %s
  Salesforce:     an embedded fake org with demo data at %s (in memory)
  store:          %s
  policy:         examples/idverify.yaml's reasons and search types, unless configured
Nothing here is real: set salesforce.auth and the rest (README.md, docs/CONFIGURATION.md)
to verify callers against your org.
`, m.URL, m.URL, m.URL, key, adminKey, m.FakeOrgURL, storeLine)
	writeConsoleBanner(w, m)
	fmt.Fprint(w, "\nOr paste these into a shell (they need curl) to walk two callers through verification:\n\n")
	writeDemoScript(w, m.URL, key)
	// Pasted at once, the queries would run before the outbox has written anything (it looks
	// every second): the script waits until the admin API lists nothing left to deliver, ten
	// seconds at most (a fixed sleep would be a guess that a loaded machine can outrun).
	fmt.Fprintf(w, "\n# What the outbox wrote to the fake org: the engagements, their attendees and topics, once it\n"+
		"# has delivered them (it looks every second; this waits until nothing is left, 10 s at most)\nADMIN=%s\n"+
		"for i in 1 2 3 4 5 6 7 8 9 10; do curl -sS -H \"Authorization: Bearer $ADMIN\" \"$IDV/v1/admin/outbox\" | grep -q '\"entries\":\\[\\]' && break; sleep 1; done\n", scriptAdmin)
	org := m.FakeOrg
	writeFakeOrgScript(w, m.FakeOrgURL, cfg.Salesforce.APIVersion, url.Values{"client_id": {org.ClientID()},
		"client_secret": {org.ClientSecret()}, "username": {org.Username()}, "password": {org.Password()}})
	fmt.Fprintln(w)
}

// writeConsoleBanner says where the console is, as whom agents sign in at the embedded fake org
// (its demo agents: config refuses a connected app there) and which demo callers to try.
func writeConsoleBanner(w io.Writer, m *Main) {
	if m.ConsoleURL == "" {
		return
	}
	fmt.Fprintf(w, "\nOpen the agents' console in a browser and sign in at the fake org as a demo agent:\n  console:        %s\n", m.ConsoleURL)
	for _, u := range orgdb.Users[1:] { // the first is the integration user
		fmt.Fprintf(w, "  agent:          %-30s password %s  (%s, %s)\n", u.Username, fakeorg.DemoAgentPassword, u.Name(), u.TimeZone)
	}
	fmt.Fprint(w, `Then verify a caller: start with the phone +1 415 555 0101 (Alice Martin, about herself:
date of birth 12/04/1985, mobile +1 415 555 0101), or a representative: (415) 555-0202 (Julia
Chen, calling for Emma Jones), as the walks below do.
`)
}
