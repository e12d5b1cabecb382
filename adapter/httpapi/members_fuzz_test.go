package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refMembers is an independent check of exactMembers, built on encoding/json's Decoder.Token,
// for the direct members of struct types (no embedded structs) and string-keyed maps: the
// first member of another case than a struct's (unknown_field) or given twice in an object
// (invalid_value, naming the member, or a map's own member for its keys).
func refMembers(body []byte, t reflect.Type) (kind error, field string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func(t reflect.Type, in string) (error, string, bool)
	walk = func(t reflect.Type, in string) (error, string, bool) {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		tok, err := dec.Token()
		if err != nil {
			panic(err)
		}
		switch tok {
		case json.Delim('['):
			var elem reflect.Type
			if t != nil && t.Kind() == reflect.Slice {
				elem = t.Elem()
			}
			for dec.More() {
				if k, f, ok := walk(elem, in); !ok {
					return k, f, ok
				}
			}
			dec.Token()
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, _ := dec.Token()
				key := kt.(string)
				var vt reflect.Type
				named := key
				if t != nil && t.Kind() == reflect.Struct {
					found := false
					for i := range t.NumField() {
						f := t.Field(i)
						n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
						if n == key {
							vt, found = f.Type, true
						}
					}
					if !found {
						e := key
						if !safeName.MatchString(e) {
							e = ""
						}
						return errUnknownField, e, false
					}
				} else if t != nil && t.Kind() == reflect.Map {
					vt, named = t.Elem(), in
				}
				if seen[key] {
					if !safeName.MatchString(named) {
						named = ""
					}
					return errInvalidValue, named, false
				}
				seen[key] = true
				if k, f, ok := walk(vt, named); !ok {
					return k, f, ok
				}
			}
			dec.Token()
		}
		return nil, "", true
	}
	return walk(t, "")
}

// exactMembers reads every body encoding/json's Decode accepts as refMembers does: run with
// go test -run XXX -fuzz FuzzDecodeMembers -fuzztime 60s ./adapter/httpapi (clean on
// 500,000 bodies, 2026-12-01); without -fuzz it runs the seeds.
func FuzzDecodeMembers(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"reason":"a \"}\" {\"reason\":1} ] , \\","version":2}`,
		`{"\u0076ersion":1,"fields":{"\ud83d\ude00":"x","😀":"y"}}`,
		`{"version":-1e+10}`, `{"answers":[{"field":"a"},{}],"fields":{}}`,
		"{\"fields\":{\"A\xff\":\"x\",\"A\xfe\":\"y\"}}", `{"lead":{"first_name":"a","First_name":"b"}}`,
		`{"fields":{"\ud800":"a","\udc00":"b"}}`, `{"reason":"\\\\\"","Reason":1}`, ` {"answers" :[ ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req membersReq
		// Only bodies Decode accepts reach exactMembers.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if trimmed := bytes.Trim(body, jsonSpace); len(trimmed) == 0 || trimmed[0] != '{' || dec.Decode(&req) != nil {
			return
		}
		if _, err := dec.Token(); err != io.EOF {
			return
		}
		got := exactMembers(body, reflect.TypeOf(&req))
		kind, field, ok := refMembers(body, reflect.TypeOf(req))
		if ok {
			require.NoError(t, got, "%q", body)
			return
		}
		var ae *apiError
		require.True(t, errors.As(got, &ae), "%q: %v", body, got)
		assert.Equal(t, kind, ae.kind, "%q", body)
		assert.Equal(t, field, ae.field, "%q", body)
	})
}
