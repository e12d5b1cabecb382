package sfdc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzRecordIndex checks the Record's index against encoding/json: any input that decodes as a
// JSON object into a map parses as a Record, and each name finds exactly the value the map holds
// (the last of duplicates, escapes in names resolved); anything else is refused.
func FuzzRecordIndex(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : 1 , "b":"x,}]\"" } `, `{"a":1,"a":2}`, `{"\u0041":true,"A\"":null}`,
		`{"p":{"q":[1,{"r":"}"}],"s":{}},"t":[]}`, `{"n":-1.5e+3,"z":"\\"}`, `null`, `[1]`, `"x"`, `{"a":}`, `{"a":1}x`,
		"{\"\xff\":1}", `{"Name":"a","name":"b"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]json.RawMessage
		mapErr := json.Unmarshal([]byte(s), &m)
		r, err := parseRecord([]byte(s))
		if mapErr != nil || m == nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		for k, want := range m {
			got, ok := r.field(k)
			require.True(t, ok, "field %q", k)
			require.Equal(t, string(want), string(got), "field %q", k)
		}
		names := r.Names()
		for _, n := range names {
			_, ok := m[n]
			require.True(t, ok, "name %q", n)
		}
		delete(m, "attributes")
		require.Len(t, names, len(m))
	})
}

func TestRecordIndex(t *testing.T) {
	tests := []struct {
		name, json, field string
		want              string
		ok                bool
	}{
		{"exact before folded", `{"name":"b","Name":"a"}`, "Name", `"a"`, true},
		{"folded", `{"NAME":"a"}`, "Name", `"a"`, true},
		{"last duplicate", `{"a":1,"a":2}`, "a", "2", true},
		{"escaped name", `{"\u0041b":1}`, "Ab", "1", true},
		{"value with delimiters", `{"a":"},]\"","b":2}`, "b", "2", true},
		{"nested", `{"a":{"b":[{"c":"}"}]},"d":3}`, "d", "3", true},
		{"missing", `{"a":1}`, "b", "", false},
		{"empty", `{ }`, "a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRecord([]byte(tt.json))
			require.NoError(t, err)
			got, ok := r.field(tt.field)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, string(got))
		})
	}
	for _, bad := range []string{``, `null`, `[]`, `1`, `{"a"}`, `{"a":1,}`, `{"a":1} {}`} {
		_, err := parseRecord([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestRecordPaths(t *testing.T) {
	r, err := parseRecord([]byte(`{"attributes":{"type":"Contact"},"Account":{"Owner":{"Name":"y","NAME":"x"},"Parent":null},"Id":"0035g0000000002AAA"}`))
	require.NoError(t, err)
	assert.Equal(t, "Contact", r.Type())
	v, ok := r.String("Account.Owner.Name")
	assert.True(t, ok)
	assert.Equal(t, "y", v, "an exact name wins over an earlier folded one")
	v, ok = r.String("account.owner.name")
	assert.True(t, ok)
	assert.Equal(t, "x", v, "folded: the last name that matches")
	_, ok = r.String("Account.Parent.Name")
	assert.False(t, ok)
	assert.True(t, r.IsNull("Account.Parent.Name"))
	assert.Equal(t, []string{"Account", "Id"}, r.Names(), "in the order sent")
	var zero Record
	assert.Empty(t, zero.Names())
	_, ok = zero.Get("Id")
	assert.False(t, ok)
	b, err := zero.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, "null", string(b))
}

// FuzzParsePage checks the page walker against encoding/json: any input is either refused or
// gives records that are each a valid JSON object whose index finds exactly what a map decoded
// from it holds; a page encoding/json reads gives the same rows.
func FuzzParsePage(f *testing.F) {
	for _, s := range []string{string(pageJSON(3)), `{"records":[]}`, `{"totalSize":1,"done":true,"records":[{"a":1}]}`,
		`{"searchRecords":[{"attributes":{"type":"Contact"},"Id":"x"},{}]}`, `{"records":[1]}`, `{"records":{}}`,
		`{"records":[{"a":"]"}],"records":[{"b":2},{"c":[{}]}]}`, ` {"done":false,"nextRecordsUrl":"/x","records":[ {} , {"x":null} ]} `,
		`{"records":[{"a":1}`, `[]`, `{"totalSize":"2","records":[{"a":{"b":"}"}}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePage([]byte(s))
		if !json.Valid([]byte(s)) {
			require.Error(t, err)
			return
		}
		if err != nil {
			return
		}
		for _, r := range p.records {
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(r.raw, &m), "record %q", r.raw)
			for k, want := range m {
				got, ok := r.field(k)
				require.True(t, ok, "field %q", k)
				require.Equal(t, string(want), string(got), "field %q", k)
			}
		}
		// The same rows as encoding/json, when its case-insensitive matching cannot pick a
		// key the walker (exact names, as Salesforce sends them) does not.
		var ref struct {
			Records []map[string]json.RawMessage `json:"records"`
		}
		var keys map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &ref) == nil && json.Unmarshal([]byte(s), &keys) == nil && onlyExact(keys, "records") {
			require.Len(t, p.records, len(ref.Records))
		}
	})
}

// onlyExact reports whether the only key of m that matches name or searchRecords, ignoring case,
// is name itself.
func onlyExact(m map[string]json.RawMessage, name string) bool {
	for k := range m {
		if (strings.EqualFold(k, name) && k != name) || strings.EqualFold(k, "searchRecords") {
			return false
		}
	}
	return true
}
