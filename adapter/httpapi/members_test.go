package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type membersReq struct {
	Version uint64            `json:"version"`
	Reason  string            `json:"reason"`
	Answers []answerJSON      `json:"answers"`
	Fields  map[string]string `json:"fields"`
	Lead    *leadJSON         `json:"lead"`
}

// decode refuses what encoding/json lets through: a member in another case, one given twice
// (also through an escape), a map's key given twice, a body of spaces JSON does not allow;
// and takes what it reads the same way.
func TestDecodeMatchesMembersExactly(t *testing.T) {
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString(`{"version":1,"fields":{`)
		for i := range 20 {
			fmt.Fprintf(&b, `"F%d":"v",`, i)
		}
		if dup {
			b.WriteString(`"F3":"again",`)
		}
		b.WriteString(`"Last":"v"}}`)
		return b.String()
	}
	for _, tc := range []struct {
		name, body string
		kind       error // nil: decoded
		field      string
	}{
		{"exact", `{"version":1,"reason":"Account balance"}`, nil, ""},
		{"spaces everywhere", " { \"version\" : 1 ,\n\t\"answers\" : [ { \"field\" : \"a\" , \"value\" : \"b\" } , {\"field\":\"c\",\"value\":\"d\"} ] } ", nil, ""},
		{"strings holding what a scanner might stop at", `{"reason":"a \"}\" {\"reason\":1} ] , \\","version":2}`, nil, ""},
		{"an escaped name, as encoding/json reads it", `{"\u0076ersion":1}`, nil, ""},
		{"twenty map keys", many(false), nil, ""},
		{"another case", `{"Version":1}`, errUnknownField, "Version"},
		{"another case, inside", `{"version":1,"answers":[{"field":"a","Value":"b"}]}`, errUnknownField, "Value"},
		{"another case, not a plain name", `{"version":1,"Reas on":"x"}`, errUnknownField, ""},
		{"another case, of the wrong type", `{"version":1,"VERSION":"x"}`, errUnknownField, "VERSION"},
		{"twice, the first of the wrong type", `{"version":"x","version":1}`, errInvalidValue, "version"},
		{"twice", `{"version":1,"reason":"a","reason":"b"}`, errInvalidValue, "reason"},
		{"twice, once escaped", `{"version":1,"\u0076ersion":2}`, errInvalidValue, "version"},
		{"twice, inside an array's object", `{"version":1,"answers":[{"field":"a","value":"b"},{"field":"a","field":"c"}]}`, errInvalidValue, "field"},
		{"a map's key twice", `{"version":1,"fields":{"LastName":"Doe","LastName":"x"}}`, errInvalidValue, "fields"},
		{"a map's key twice, past the first sixteen", many(true), errInvalidValue, "fields"},
		{"a map's key twice, as encoding/json reads invalid UTF-8", "{\"version\":1,\"fields\":{\"A\xff\":\"x\",\"A\xfe\":\"y\"}}", errInvalidValue, "fields"},
		{"two keys of invalid UTF-8 that differ", "{\"version\":1,\"fields\":{\"A\xff\":\"x\",\"B\xfe\":\"y\"}}", nil, ""},
		{"twice, in a nested object", `{"version":1,"lead":{"first_name":"a","first_name":"b"}}`, errInvalidValue, "first_name"},
		// A body of JSON's whitespace alone is an empty one; a body of other spaces (which
		// bytes.TrimSpace takes and encoding/json refuses) is not JSON.
		{"empty", "", nil, ""},
		{"JSON's whitespace", " \t\r\n", nil, ""},
		{"no-break space", "\u00a0", errMalformedJSON, ""},
		{"next line", "\u0085", errMalformedJSON, ""},
		{"vertical tab and form feed", "\v\f", errMalformedJSON, ""},
		{"no-break space before an object", "\u00a0{}", errMalformedJSON, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req membersReq
			err := decode([]byte(tc.body), &req)
			if tc.kind == nil {
				require.NoError(t, err)
				return
			}
			var ae *apiError
			require.True(t, errors.As(err, &ae), "%v", err)
			assert.Equal(t, tc.kind, ae.kind)
			assert.Equal(t, tc.field, ae.field)
		})
	}
}

// BenchmarkDecode decodes an answers step's body, as every POST does.
func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"version":5,"answers":[{"field":"PersonBirthdate","value":"19 August 1983"},{"field":"PersonMailingPostalCode","value":"94110"}]}`)
	for b.Loop() {
		var req membersReq
		if err := decode(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}
