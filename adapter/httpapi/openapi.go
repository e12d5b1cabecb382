package httpapi

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/idverify/idverify/docs"
)

// specJSON returns docs/openapi.yaml as JSON, as /v1/openapi.json serves it.
func specJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("httpapi: docs/openapi.yaml: %w", err)
	}
	b, err := json.Marshal(jsonValue(doc))
	if err != nil {
		return nil, fmt.Errorf("httpapi: docs/openapi.yaml as JSON: %w", err)
	}
	return b, nil
}

// jsonValue turns what YAML decodes into what JSON encodes: mappings with keys that are not
// strings (a status code such as 200) become objects with the keys as text.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonValue(x)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = jsonValue(x)
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = jsonValue(x)
		}
		return v
	}
	return v
}
