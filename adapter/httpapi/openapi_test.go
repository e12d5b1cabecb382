package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/docs"
)

// docs/openapi.yaml is a valid OpenAPI 3.1 document (kin-openapi validates 3.1 documents, with
// JSON Schema 2020-12 for their schemas), and it describes exactly the routes the API has.
func TestSpecDescribesEveryRoute(t *testing.T) {
	doc, _ := loadSpec(t)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	e := newEnv(t, backends[0])
	routes := httpapi.Routes(e.api)
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(described)
	assert.Equal(t, routes, described, "a route the spec does not describe, or an operation no route serves")
}

// Each operation says what the route asks of its caller: no key (security: []) exactly for the
// routes that need none, the 401 and 429 answers where a key is needed, the admin tag and the
// 403 answer exactly for the admin routes, and the Idempotency-Key header on every POST.
// TestSpecDescribesEveryRoute compares methods and paths only: a spec that dropped /healthz's
// `security: []`, or tagged a session route admin, passed it and every other test.
func TestSpecSaysWhatEachRouteNeeds(t *testing.T) {
	doc, _ := loadSpec(t)
	e := newEnv(t, backends[0])
	for route, need := range httpapi.RouteAccess(e.api) {
		method, path, _ := strings.Cut(route, " ")
		item := doc.Paths.Value(path)
		require.NotNil(t, item, route)
		op := item.GetOperation(method)
		require.NotNil(t, op, route)
		open := op.Security != nil && len(*op.Security) == 0
		assert.Equal(t, need == "none", open, "%s: security: [] in the spec exactly when the route needs no key", route)
		assert.Equal(t, need != "none", op.Responses.Value("401") != nil, "%s: a 401 answer exactly when a key is needed", route)
		assert.Equal(t, need != "none", op.Responses.Value("429") != nil, "%s: a 429 answer exactly when a key (and its rate limit) is needed", route)
		assert.Equal(t, need == "admin", slices.Contains(op.Tags, "admin"), "%s: the admin tag exactly on admin routes", route)
		assert.Equal(t, need == "admin", op.Responses.Value("403") != nil, "%s: a 403 answer exactly on admin routes", route)
		if method == http.MethodPost {
			var idem bool
			for _, p := range append(slices.Clone(op.Parameters), item.Parameters...) {
				idem = idem || (p.Value != nil && p.Value.In == "header" && p.Value.Name == "Idempotency-Key")
			}
			assert.True(t, idem, "%s: every POST honours Idempotency-Key", route)
		}
	}
}

// The codes the API answers with are the ones the spec lists in Problem.code.
func TestSpecListsEveryProblemCode(t *testing.T) {
	doc, _ := loadSpec(t)
	schema := doc.Components.Schemas["Problem"].Value.Properties["code"].Value
	var listed []string
	for _, v := range schema.Enum {
		listed = append(listed, v.(string))
	}
	codes := slices.Compact(slices.Sorted(slices.Values(httpapi.Codes())))
	slices.Sort(listed)
	assert.Equal(t, codes, listed)
	for _, code := range codes {
		assert.True(t, strings.Contains(doc.Info.Description, "`"+code+"`"), "the description's table lacks %s", code)
	}
}

// /v1/openapi.json is docs/openapi.yaml as JSON.
func TestServedSpec(t *testing.T) {
	e := newEnv(t, backends[0])
	r := e.client.do(http.MethodGet, "/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	var served, file any
	require.NoError(t, json.Unmarshal(r.body, &served))
	require.NoError(t, yaml.Unmarshal(docs.OpenAPI, &file))
	fileJSON, err := json.Marshal(normalise(file))
	require.NoError(t, err)
	assert.JSONEq(t, string(fileJSON), string(r.body))
}

// normalise turns what YAML decodes into what JSON encodes (mappings with keys that are not
// text, which this spec does not have, would fail the comparison loudly).
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalise(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalise(x)
		}
	}
	return v
}
