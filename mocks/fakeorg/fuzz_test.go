package fakeorg

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// FuzzJSONBody: decoding a request body never panics and never recurses past maxJSONDepth (the
// test runs in a small stack): a body nested deeper is refused with JSON_PARSER_ERROR before
// the decoder sees it, whatever the fuzzer nests it with.
func FuzzJSONBody(f *testing.F) {
	f.Add(`{"LastName":"x","Description":[[["a"]]]}`, uint16(3))
	f.Add(`{"compositeRequest":[{"method":"GET","url":"/services/data/v62.0/limits","referenceId":"a"}]}`, uint16(maxJSONDepth))
	f.Add(`"\"[[[["`, uint16(maxJSONDepth+1))
	f.Add(`{}`, uint16(60000))
	f.Fuzz(func(t *testing.T, inner string, depth uint16) {
		old := debug.SetMaxStack(8 << 20)
		defer debug.SetMaxStack(old)
		for _, body := range []string{inner, strings.Repeat(`{"a":[`, int(depth)/2) + inner + strings.Repeat(`]}`, int(depth)/2)} {
			var v any
			e := decodeJSON([]byte(body), &v)
			if e != nil && e.Code != "JSON_PARSER_ERROR" {
				t.Fatalf("code %s", e.Code)
			}
			if e == nil && !json.Valid([]byte(body)) {
				t.Fatalf("decoded invalid JSON %q", body)
			}
		}
		var v any
		deep := strings.Repeat("[", maxJSONDepth+1+int(depth)%100) + strings.Repeat("]", maxJSONDepth+1+int(depth)%100)
		if e := decodeJSON([]byte(deep), &v); e == nil {
			t.Fatalf("a body nested %d deep decoded", maxJSONDepth+1+int(depth)%100)
		}
	})
}
