package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/mocks/fakeorg"
)

// Two `idverify serve` processes on one PostgreSQL database (a schema of their own) and one
// fake org in a third process, as two replicas behind a load balancer: every scenario's steps
// alternate between them, so each session is started on one and continued on the other; each
// write reaches the org once although both run an outbox worker; a lockout set through one
// holds on the other, and an admin's reset through the other lifts it on the first.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := os.Getenv("IDVERIFY_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("IDVERIFY_TEST_POSTGRES_DSN is not set: two serve processes on PostgreSQL are not tested " +
			"(e.g. IDVERIFY_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	if testing.Short() {
		t.Skip("-short: builds the binary and runs three processes")
	}
	ctx := context.Background()
	schemaDSN := postgresSchema(t)

	bin := buildBinary(t)
	org := startProcess(t, bin, nil, "fake-org", "--addr", "127.0.0.1:0")
	var orgURL string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(org.stdout.String())
		if m != nil {
			orgURL = m[1]
		}
		return m != nil
	}, time.Minute, 50*time.Millisecond, "the fake org starts: %s", org.stderr)

	key, adminKey := "idv_replica_"+randomHex(16), "idv_replica_admin_"+randomHex(16)
	_, file, _, _ := runtime.Caller(0)
	env := []string{
		"IDVERIFY_CONFIG=" + filepath.Join(filepath.Dir(file), "..", "..", "examples", "idverify.yaml"),
		"IDVERIFY_SECRETS_HMAC_KEY=" + randomHex(32), // the same on every replica
		"IDVERIFY_SALESFORCE_AUTH=password", "IDVERIFY_SALESFORCE_LOGIN_URL=" + orgURL,
		"IDVERIFY_SALESFORCE_CLIENT_ID=idverify-demo", "IDVERIFY_SALESFORCE_CLIENT_SECRET=idverify-demo-secret",
		"IDVERIFY_SALESFORCE_USERNAME=integration@demo.idverify.dev", "IDVERIFY_SALESFORCE_PASSWORD=demo-password",
		"IDVERIFY_STORE_DRIVER=postgres", "IDVERIFY_STORE_DSN=" + schemaDSN,
		"IDVERIFY_SERVER_ADDR=127.0.0.1:0", "IDVERIFY_LOG_FORMAT=json",
		`IDVERIFY_SERVER_API_KEYS=[{name: softphone, sha256: ` + httpapi.HashKey(key) + `}, {name: ops, sha256: ` +
			httpapi.HashKey(adminKey) + `, admin: true}]`,
		"IDVERIFY_SERVER_RATE_LIMIT_PERSON_BURST=100", // the lockout answers about one person often
	}
	var urls []string
	for range 2 {
		p := startProcess(t, bin, env, "serve")
		var base string
		require.Eventually(t, func() bool {
			m := regexp.MustCompile(`"msg":"idverify serving".*?"url":"(http://[^"]+)"`).FindStringSubmatch(p.stderr.String())
			if m != nil {
				base = m[1]
			}
			return m != nil
		}, time.Minute, 50*time.Millisecond, "serve starts: %s", p.stderr)
		p.waitReady(t, base)
		urls = append(urls, base)
	}

	to := apiTarget{urls: urls, key: key, adminKey: adminKey}
	ended := 0
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) { ended += runScenario(t, to, sc) })
	}
	// Steps alternate: in the lockout scenario every wrong answer goes to the second replica,
	// the step its lock refuses (423) to the first; the reset goes to the second and the
	// verification after it passes its lock check on the first.
	require.Greater(t, ended, 10)
	t.Logf("%d sessions ended across two replicas", ended)

	cfg, err := pgxpool.ParseConfig(schemaDSN)
	require.NoError(t, err)
	st, err := postgres.OpenConfig(ctx, cfg)
	require.NoError(t, err)
	defer st.Close()
	require.Eventually(t, func() bool {
		list, err := st.ListOutbox(ctx, 0, 10)
		return err == nil && len(list) == 0
	}, time.Minute, 100*time.Millisecond, "the replicas' workers deliver every write")

	// Each write reached the org once: one composite request per write (the write-back is one
	// composite), one topic per ended session.
	resp, err := http.Get(orgURL + "/_fakeorg/counts")
	require.NoError(t, err)
	var counts fakeorg.Counts
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	resp.Body.Close()
	assert.Equal(t, int64(ended), counts.ByKind[fakeorg.KindComposite]["POST"], "one delivery per write")
}

// postgresSchema creates a schema of its own in the database IDVERIFY_TEST_POSTGRES_DSN names,
// dropped when the test ends, and returns a DSN whose sessions use it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("IDVERIFY_TEST_POSTGRES_DSN")
	ctx := context.Background()
	schema := "idv_serve_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	// pgx takes an unknown URL parameter as a run-time parameter of the session.
	return dsn + map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + "search_path=" + schema
}
