package fakeorg

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCSVScanner(t *testing.T) {
	tests := []struct {
		name string
		data string
		f    csvFormat
		want [][]string
		err  string
	}{
		{"plain", "a,b\nc,d\n", csvFormat{delim: ','}, [][]string{{"a", "b"}, {"c", "d"}}, ""},
		{"no final line ending", "a,b\nc,d", csvFormat{delim: ','}, [][]string{{"a", "b"}, {"c", "d"}}, ""},
		{"empty values", ",\n,x,\n", csvFormat{delim: ','}, [][]string{{"", ""}, {"", "x", ""}}, ""},
		{"blank lines skipped", "\n\na\n\n\nb\n\n", csvFormat{delim: ','}, [][]string{{"a"}, {"b"}}, ""},
		{"quotes", `"a,b","c""d","",e` + "\n", csvFormat{delim: ','}, [][]string{{"a,b", `c"d`, "", "e"}}, ""},
		{"newlines in quotes", "\"a\nb\",\"c\r\nd\"\n", csvFormat{delim: ','}, [][]string{{"a\nb", "c\r\nd"}}, ""},
		{"CRLF", "a,b\r\nc,d\r\n", csvFormat{delim: ',', crlf: true}, [][]string{{"a", "b"}, {"c", "d"}}, ""},
		{"bare CR and LF in CRLF data", "a\rb,c\nd\r\n", csvFormat{delim: ',', crlf: true}, [][]string{{"a\rb", "c\nd"}}, ""},
		{"CR in LF data", "a,b\r\n", csvFormat{delim: ','}, [][]string{{"a", "b\r"}}, ""},
		{"tab", "a\tb c\n", csvFormat{delim: '\t'}, [][]string{{"a", "b c"}}, ""},
		{"backquote", "a`\"b`c\"\n", csvFormat{delim: '`'}, [][]string{{"a", "b`c"}}, ""},
		{"spaces kept", " a , b \n", csvFormat{delim: ','}, [][]string{{" a ", " b "}}, ""},
		{"unclosed", "a,\"b\n", csvFormat{delim: ','}, nil, "row 1: a quoted value is never closed"},
		{"after closing quote", "\"a\"b\n", csvFormat{delim: ','}, nil, "row 1: text follows the closing quote of a value (values are not trimmed: no space may stand between a quote and the delimiter)"},
		{"bare quote", "a\"b\n", csvFormat{delim: ','}, nil, "row 1: found an unescaped quote: a value holding a quote must be quoted, with the quote doubled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &csvScanner{data: []byte(tt.data), f: tt.f}
			var got [][]string
			for {
				rec, ok, err := sc.next(nil, true)
				if tt.err != "" && err != nil {
					assert.EqualError(t, err, tt.err)
					return
				}
				require.NoError(t, err)
				if !ok {
					break
				}
				got = append(got, rec.values)
			}
			require.Empty(t, tt.err, "expected an error")
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzCSVScanner checks the scanner on any data: no panic, records in order within the data,
// a scan without decoding agrees with one that decodes, and values written back with
// appendCSVValue read the same.
func FuzzCSVScanner(f *testing.F) {
	for _, s := range []string{"a,b\nc,d\n", "\"a\"\"b\",c\r\n", "\"x\n", "a\"b", "\n\n,\n", "\ufeffId\n001\n"} {
		f.Add([]byte(s), byte(','), false)
		f.Add([]byte(s), byte('|'), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, delim byte, crlf bool) {
		if delim == '"' || delim == '\r' || delim == '\n' {
			return
		}
		fm := csvFormat{delim: delim, crlf: crlf}
		decoding := &csvScanner{data: data, f: fm}
		scanning := &csvScanner{data: data, f: fm}
		last := 0
		for {
			rec, ok, err := decoding.next(nil, true)
			rec2, ok2, err2 := scanning.next(nil, false)
			require.Equal(t, ok, ok2)
			require.Equal(t, err == nil, err2 == nil)
			if err != nil || !ok {
				return
			}
			require.Equal(t, rec.start, rec2.start)
			require.Equal(t, rec.end, rec2.end)
			require.Equal(t, rec.n, rec2.n)
			require.Len(t, rec.values, rec.n)
			require.LessOrEqual(t, last, rec.start)
			require.LessOrEqual(t, rec.start, rec.end)
			require.LessOrEqual(t, rec.end, len(data))
			last = rec.end
			var b []byte
			for i, v := range rec.values {
				if i > 0 {
					b = append(b, delim)
				}
				b = appendCSVValue(b, v)
			}
			again, ok, err := (&csvScanner{data: b, f: fm}).next(nil, true)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, rec.values, again.values)
		}
	})
}
