package sfdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// handlerTransport serves requests straight from an http.Handler, in process: the benchmarks
// then measure the clients, not the loopback network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// benchContact is the typed row of the typed benchmarks.
type benchContact struct {
	ID        string `json:"Id"`
	FirstName string `json:"FirstName"`
	LastName  string `json:"LastName"`
	Phone     string `json:"Phone"`
	Birthdate string `json:"Birthdate"`
}

const (
	benchFields = "Id,FirstName,LastName,Phone,Birthdate"
	benchPhone  = "+44 20 7946 0100"
)

var benchFieldList = strings.Split(benchFields, ",")

// benchOrg is one fake org and what the three clients need to talk to it.
type benchOrg struct {
	base  string // login and instance URL
	hc    *http.Client
	token string
	id    sfdc.ID // a contact to read
	sfdc  *sfdc.Client
	sf    *simpleforce.Client
}

// newBenchOrg starts a fake org (in process, or over loopback TCP) with 2,000 generated person
// contacts and 5 contacts sharing benchPhone (an indexed field), and logs all three clients in.
func newBenchOrg(b *testing.B, loopback bool) *benchOrg {
	b.Helper()
	opts := fakeorg.Options{DailyAPILimit: math.MaxInt32, Records: 2000, RecordSeed: 1}
	o := &benchOrg{}
	if loopback {
		org, err := fakeorg.New(opts)
		require.NoError(b, err)
		srv := httptest.NewServer(org.Handler())
		b.Cleanup(srv.Close)
		o.base, o.hc = srv.URL, &http.Client{Transport: srv.Client().Transport}
	} else {
		opts.BaseURL = "http://fake.test"
		org, err := fakeorg.New(opts)
		require.NoError(b, err)
		o.base, o.hc = opts.BaseURL, &http.Client{Transport: handlerTransport{org.Handler()}}
	}
	o.token, _ = passwordLogin(b, o.hc, o.base)
	var err error
	o.sfdc, err = sfdc.New(sfdc.Config{HTTPClient: o.hc, Auth: sfdc.Auth{Method: sfdc.AuthPassword, LoginURL: o.base,
		ClientID: fakeorg.DemoClientID, ClientSecret: fakeorg.DemoClientSecret, Username: fakeorg.DemoUsername,
		Password: fakeorg.DemoPassword}})
	require.NoError(b, err)
	ctx := context.Background()
	for i := range 5 {
		id, _, err := o.sfdc.Create(ctx, "Contact", map[string]any{"FirstName": fmt.Sprint("Bench", i), "LastName": "Mark",
			"Phone": benchPhone, "Birthdate": "1980-02-29"})
		require.NoError(b, err)
		o.id = id
	}
	o.sf = simpleforce.NewClient(o.base, fakeorg.DemoClientID, "62.0")
	o.sf.SetHttpClient(o.hc)
	o.sf.SetSidLoc(o.token, o.base)
	return o
}

// floor is the least a hand-written client does with net/http and encoding/json: build the
// request with the caller's context, set the bearer header (and the body's type), one
// http.Client.Do, check the status, read the body, json.Unmarshal it. No retries, no error
// mapping, no limit header.
func (o *benchOrg) floor(ctx context.Context, method, path string, body []byte, dst any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.Unmarshal(b, dst)
}

// soqlQuote escapes a value for a SOQL string literal, as a careful hand-written client would.
var soqlQuote = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// floorPage is a query page as the floor decodes it.
type floorPage[T any] struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        []T    `json:"records"`
}

// BenchmarkClients runs the same calls against the same fake org through three clients, side
// by side in one run: the floor (net/http + encoding/json by hand), sfdc, and simpleforce.
// Each call of every client gets a context with a 10-second deadline, made in the loop, as a
// request handler's would be (simpleforce takes no context); "sfdc-nodeadline" is sfdc with
// context.Background(), which makes it set its own (Config.Timeout).
//
//   - get: one record by id with 5 fields, decoded generically (floor: map[string]any; sfdc:
//     Record; simpleforce: SObject, through ApexREST since its Get cannot select fields).
//   - get-typed: the same into a struct (sfdc: GetInto).
//   - query: a SOQL query on an indexed field answering 5 rows (floor: maps; sfdc: Query's
//     Records; simpleforce: Query).
//   - query-typed: the same into structs (sfdc: QueryInto).
//   - query-2000: one full page of 2,000 rows, generic.
//   - create: one Contact with 3 fields from a map.
//
// "inproc" serves the org's handler in process (no sockets: the clients' own cost stands out;
// "org" is that handler and transport alone, to subtract); "loopback" goes through
// httptest.NewServer and a real *http.Transport.
func BenchmarkClients(b *testing.B) {
	for _, mode := range []string{"inproc", "loopback"} {
		b.Run(mode, func(b *testing.B) {
			o := newBenchOrg(b, mode == "loopback")
			benchClients(b, o)
		})
	}
}

func benchClients(b *testing.B, o *benchOrg) {
	var ctx context.Context // each call's, set by run
	// Every client builds its request from the call's values (the id, the phone) on each call,
	// as real code must: the floor by concatenation with SOQL's quote escapes and
	// url.QueryEscape, sfdc with its builders, simpleforce with fmt.Sprintf inside.
	const version = "/services/data/v62.0/"
	id := o.id.String()
	getPath := func() string { return version + "sobjects/Contact/" + id + "?fields=" + benchFields }
	soql := func() string {
		return "SELECT Id, FirstName, LastName, Phone, Birthdate FROM Contact WHERE Phone = '" + soqlQuote.Replace(benchPhone) + "'"
	}
	queryPath := func(soql string) string { return version + "query?q=" + url.QueryEscape(soql) }
	query := func() *sfdc.Query {
		return sfdc.Select(benchFieldList...).From("Contact").Where(sfdc.Eq("Phone", benchPhone))
	}
	page := sfdc.Select("Id", "FirstName", "LastName", "Phone", "Birthdate", "Email", "MailingPostalCode").From("Contact").Limit(2000)
	pageSOQL, err := page.SOQL()
	require.NoError(b, err)
	// Created contacts differ: the fake org's indexes (name, phone) would otherwise grow one
	// bucket, making each create slower than the last and the clients that run later slower.
	created := 0
	newContact := func() map[string]any {
		created++
		n := strconv.Itoa(created)
		return map[string]any{"FirstName": "Ann", "LastName": "Lee" + n, "Phone": "+44 20 7946 " + n}
	}
	rows := func(b *testing.B, n, want int) {
		if n != want {
			b.Fatalf("%d rows, want %d", n, want)
		}
	}
	// run also reports the process's CPU time per call (cpu-ns/op: client and in-process server,
	// GC included), which other load on a shared machine disturbs much less than wall time.
	run := func(b *testing.B, name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			n, start := 0, cpuTime()
			for b.Loop() {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
				f(b)
				cancel()
				n++
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
		})
	}

	// org is the baseline: what the fake org and the in-process transport cost for the request
	// alone (the handler and its recorder), for the clients' own cost to be the difference.
	org := func(b *testing.B, method, path string, body func() []byte) {
		h, ok := o.hc.Transport.(handlerTransport)
		if !ok {
			return // over loopback the server's cost cannot be taken apart from the socket's
		}
		req := httptest.NewRequest(method, o.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+o.token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		run(b, "org", func(b *testing.B) {
			if body != nil {
				req.Body = io.NopCloser(bytes.NewReader(body()))
			}
			resp, _ := h.RoundTrip(req.WithContext(ctx))
			if resp.StatusCode/100 != 2 {
				b.Fatal(resp.Status)
			}
		})
	}

	b.Run("get", func(b *testing.B) {
		org(b, http.MethodGet, getPath(), nil)
		run(b, "floor", func(b *testing.B) {
			var m map[string]any
			if err := o.floor(ctx, http.MethodGet, getPath(), nil, &m); err != nil || m["LastName"] != "Mark" {
				b.Fatal(err)
			}
		})
		for _, name := range []string{"sfdc", "sfdc-nodeadline"} {
			run(b, name, func(b *testing.B) {
				c := ctx
				if name == "sfdc-nodeadline" {
					c = context.Background()
				}
				rec, _, err := o.sfdc.Get(c, "Contact", o.id, benchFieldList...)
				if err != nil {
					b.Fatal(err)
				}
				if s, _ := rec.String("LastName"); s != "Mark" {
					b.Fatal(s)
				}
			})
		}
		run(b, "simpleforce", func(b *testing.B) {
			data, err := o.sf.ApexREST(http.MethodGet, getPath()[1:], nil)
			if err != nil {
				b.Fatal(err)
			}
			var obj simpleforce.SObject
			if err := json.Unmarshal(data, &obj); err != nil || obj.StringField("LastName") != "Mark" {
				b.Fatal(err)
			}
		})
	})
	b.Run("get-typed", func(b *testing.B) {
		run(b, "floor", func(b *testing.B) {
			var c benchContact
			if err := o.floor(ctx, http.MethodGet, getPath(), nil, &c); err != nil || c.LastName != "Mark" {
				b.Fatal(err)
			}
		})
		run(b, "sfdc", func(b *testing.B) {
			var c benchContact
			if _, err := o.sfdc.GetInto(ctx, "Contact", o.id, &c, benchFieldList...); err != nil || c.LastName != "Mark" {
				b.Fatal(err)
			}
		})
	})
	b.Run("query", func(b *testing.B) {
		org(b, http.MethodGet, queryPath(soql()), nil)
		run(b, "floor", func(b *testing.B) {
			var p floorPage[map[string]any]
			if err := o.floor(ctx, http.MethodGet, queryPath(soql()), nil, &p); err != nil {
				b.Fatal(err)
			}
			rows(b, len(p.Records), 5)
		})
		run(b, "sfdc", func(b *testing.B) {
			n := 0
			for rec, err := range o.sfdc.Query(ctx, query()) {
				if err != nil {
					b.Fatal(err)
				}
				_ = rec
				n++
			}
			rows(b, n, 5)
		})
		run(b, "simpleforce", func(b *testing.B) {
			res, err := o.sf.Query(soql())
			if err != nil {
				b.Fatal(err)
			}
			rows(b, len(res.Records), 5)
		})
	})
	b.Run("query-typed", func(b *testing.B) {
		run(b, "floor", func(b *testing.B) {
			var p floorPage[benchContact]
			if err := o.floor(ctx, http.MethodGet, queryPath(soql()), nil, &p); err != nil {
				b.Fatal(err)
			}
			rows(b, len(p.Records), 5)
		})
		run(b, "sfdc", func(b *testing.B) {
			n := 0
			for _, err := range sfdc.QueryInto[benchContact](ctx, o.sfdc, query()) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows(b, n, 5)
		})
	})
	b.Run("query-2000", func(b *testing.B) {
		org(b, http.MethodGet, queryPath(pageSOQL), nil)
		run(b, "floor", func(b *testing.B) {
			var p floorPage[map[string]any]
			if err := o.floor(ctx, http.MethodGet, queryPath(pageSOQL), nil, &p); err != nil {
				b.Fatal(err)
			}
			rows(b, len(p.Records), 2000)
		})
		run(b, "sfdc", func(b *testing.B) {
			n := 0
			for _, err := range o.sfdc.Query(ctx, page) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows(b, n, 2000)
		})
		run(b, "simpleforce", func(b *testing.B) {
			res, err := o.sf.Query(pageSOQL)
			if err != nil {
				b.Fatal(err)
			}
			rows(b, len(res.Records), 2000)
		})
	})
	b.Run("create", func(b *testing.B) {
		org(b, http.MethodPost, version+"sobjects/Contact", func() []byte {
			body, _ := json.Marshal(newContact())
			return body
		})
		run(b, "floor", func(b *testing.B) {
			body, err := json.Marshal(newContact())
			if err != nil {
				b.Fatal(err)
			}
			var res struct {
				ID      string            `json:"id"`
				Success bool              `json:"success"`
				Errors  []json.RawMessage `json:"errors"`
			}
			object := "Contact"
			if err := o.floor(ctx, http.MethodPost, version+"sobjects/"+object, body, &res); err != nil || !res.Success {
				b.Fatal(err)
			}
		})
		run(b, "sfdc", func(b *testing.B) {
			if _, _, err := o.sfdc.Create(ctx, "Contact", newContact()); err != nil {
				b.Fatal(err)
			}
		})
		run(b, "simpleforce", func(b *testing.B) {
			obj := o.sf.SObject("Contact")
			for k, v := range newContact() {
				obj.Set(k, v)
			}
			if obj.Create() == nil {
				b.Fatal("create failed")
			}
		})
	})
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkExpiry500 runs 500 goroutines that call while the token expires; it reports the
// logins each round needed (TestConcurrentExpiryOneLogin asserts it is exactly one).
func BenchmarkExpiry500(b *testing.B) {
	e := newEnv(b, fakeorg.Options{})
	id := e.createContact(b, "Shared")
	b.ReportAllocs()
	var logins int64
	for b.Loop() {
		before := e.org.Count(fakeorg.KindToken)
		e.org.ExpireTokens()
		for _, err := range concurrently(500, func() error {
			_, _, err := e.c.Get(context.Background(), "Contact", id, "LastName")
			return err
		}) {
			if err != nil {
				b.Fatal(err)
			}
		}
		logins += e.org.Count(fakeorg.KindToken) - before
	}
	b.ReportMetric(float64(logins)/float64(b.N), "logins/op")
}
