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
