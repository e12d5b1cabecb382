//go:build linux && !race

package fakeorg

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// worstCaseRequests are the most expensive requests a client can send the org's query paths,
// as issue 8 found them and as the limits leave them: the 1 MB GET of nested
// parentheses and 5 MB composite query, the longest statements the engine accepts (nested to the
// limit, OR chains as long as 100,000 characters allow), results as large as the org (every
// account, sorted, every field), a search matching every record, a distinct count and
// semi-joins over the whole org. Their texts are built once, so that the clients (in this
// process) cost little memory of their own.
func worstCaseRequests(to *testOrg) []func() {
	get := func(soql string) func() {
		path := "query?q=" + url.QueryEscape(soql)
		return func() { to.do(http.MethodGet, path, nil) }
	}
	post := func(path string, body any) func() {
		b, _ := json.Marshal(body)
		text := string(b)
		return func() { to.do(http.MethodPost, path, text) }
	}
	composite := func(path string) func() {
		return post("composite", map[string]any{"compositeRequest": []map[string]any{
			{"method": "GET", "url": "/services/data/v62.0/" + path, "referenceId": "q"}}})
	}
	var fields []string
	o, _ := to.DB().Schema().Lookup("Account")
	for _, f := range o.Fields() {
		fields = append(fields, f.Name)
	}
	all := "query?q=" + url.QueryEscape("SELECT "+strings.Join(fields, ", ")+" FROM Account")
	likes := "SELECT Id FROM Contact WHERE " + strings.Repeat("LastName LIKE '%ab%' OR ", 4000) + "LastName = 'x'"
	deep := "SELECT Id FROM Contact WHERE " + strings.Repeat("(", 100) + strings.Repeat("Email = 'a@b.c' OR ", 4500) +
		"Email = 'x'" + strings.Repeat(")", 100)
	// As the issue sent it: parentheses unescaped, so that the URL (1 MB) passes net/http's own
	// 1 MB limit on a request's head and reaches the org.
	attack := to.srv.URL + "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+" + strings.Repeat("(", 500_000) +
		"LastName+=+'x'" + strings.Repeat(")", 500_000)
	return []func(){
		func() { // the attack: 500,000 nested parentheses in a 1 MB GET
			req, _ := http.NewRequest(http.MethodGet, attack, nil)
			req.Header.Set("Authorization", "Bearer "+to.token)
			if resp, err := to.srv.Client().Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		},
		composite("query?q=" + url.QueryEscape("SELECT Id FROM Contact WHERE "+deepWhere(2_500_000))),
		composite("query?q=" + url.QueryEscape(likes)),
		composite("query?q=" + url.QueryEscape(deep)),
		func() { // every account, every field: the first page of 2,000, then the next one
			resp, body := to.do(http.MethodGet, all, nil)
			var page struct{ NextRecordsURL string }
			if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &page) == nil && page.NextRecordsURL != "" {
				to.do(http.MethodGet, page.NextRecordsURL, nil)
			}
		},
		get("SELECT Id, Name, PersonEmail FROM Account ORDER BY LastName DESC, FirstName, PersonBirthdate"),
		get("SELECT COUNT_DISTINCT(Name), MIN(PersonEmail), MAX(LastName) FROM Account"),
		get("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id NOT IN (SELECT AccountId FROM Contact WHERE LastName = 'x')"),
		func() {
			to.do(http.MethodGet, "search?q="+url.QueryEscape("FIND {example} RETURNING Account(Id, Name, PersonEmail), Contact(Id, Name, Email)"), nil)
		},
		post("parameterizedSearch", map[string]any{"q": "example com", "sobjects": []map[string]any{{"name": "Contact",
			"fields": []string{"Id", "Name"}, "where": "(" + strings.Repeat("Email != 'x' AND ", 4000) + "LastName != null)"}}}),
	}
}

// procStatus reads a value in kB from /proc/self/status and returns it in MiB.
func procStatus(t *testing.T, key string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			require.NoError(t, err)
			return float64(kb) / 1024
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// TestWorstCaseQueriesMemory runs the worst-case requests from 16 clients at once against an org
// of 100,000 generated people and checks the process's peak resident memory (VmHWM, reset before
// the run) stays under 1 GiB. Before the fix, 16 of the 1 MB GET queries alone took it
// to 4.9 GB. It measures memory, not time, and does not run with -short or -race.
func TestWorstCaseQueriesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 people")
	}
	to := newTestOrg(t, Options{Records: 100_000, RecordSeed: 1})
	if tr, ok := to.srv.Client().Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = 32
	}
	reqs := worstCaseRequests(to)
	runtime.GC()
	base := procStatus(t, "VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range reqs {
				reqs[(c+i)%len(reqs)]()
			}
		}()
	}
	wg.Wait()
	peak := procStatus(t, "VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("RSS before %.0f MiB, peak during 16 concurrent worst-case clients %.0f MiB; heap now %.0f MiB", base, peak, float64(ms.HeapAlloc)/(1<<20))
	assert.Less(t, peak, 1024.0, "peak RSS in MiB")
	to.doJSON(http.MethodGet, "limits", nil, http.StatusOK)
}
