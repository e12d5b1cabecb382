// Package docs holds docs/openapi.yaml, the JSON API's OpenAPI 3.1 description, for the binary
// to serve (adapter/httpapi answers it at /v1/openapi.json). The rest of docs/ is prose.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
