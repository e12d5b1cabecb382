package flows

import (
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	dmy := Matching{DateOrder: DMY, DefaultCountryCode: "44"}
	mdy := Matching{DateOrder: MDY, DefaultCountryCode: "1"}
	tests := []struct {
		name   string
		m      Matching
		rule   MatchRule
		digits int
		in     string
		want   string
	}{
		{"exact trims", dmy, MatchExact, 0, "  AB-12 ", "AB-12"},
		{"exact is the zero rule", dmy, "", 0, " x ", "x"},
		{"text folds case and accents", dmy, MatchText, 0, "  Zoë  BRONTË-Smith ", "zoe brontesmith"},
		{"text drops punctuation", dmy, MatchText, 0, "O'Brien, Jr.", "obrien jr"},
		{"text folds ß", dmy, MatchText, 0, "Straße", "strasse"},
		{"text only punctuation is empty", dmy, MatchText, 0, " .,;- ", ""},
		{"name ignores order", dmy, MatchName, 0, "Smith,  Jane", "jane smith"},
		{"name same as given family", dmy, MatchName, 0, "jane SMITH", "jane smith"},
		{"date iso", dmy, MatchDate, 0, "1980-03-14", "1980-03-14"},
		{"date iso datetime", dmy, MatchDate, 0, "1980-03-14T00:00:00.000+0000", "1980-03-14"},
		{"date compact", dmy, MatchDate, 0, "19800314", "1980-03-14"},
		{"date dmy slash", dmy, MatchDate, 0, "14/03/1980", "1980-03-14"},
		{"date dmy ambiguous", dmy, MatchDate, 0, "03/04/1980", "1980-04-03"},
		{"date mdy ambiguous", mdy, MatchDate, 0, "03/04/1980", "1980-03-04"},
		{"date unambiguous ignores order", mdy, MatchDate, 0, "14.3.1980", "1980-03-14"},
		{"date month name first", dmy, MatchDate, 0, "March 14 1980", "1980-03-14"},
		{"date month name comma", dmy, MatchDate, 0, "Mar 14, 1980", "1980-03-14"},
		{"date day month name", dmy, MatchDate, 0, "14 Mar 1980", "1980-03-14"},
		{"date ordinal", dmy, MatchDate, 0, "14th of March, 1980", "1980-03-14"},
		{"date year first with name", dmy, MatchDate, 0, "1980 March 14", "1980-03-14"},
		{"date two-digit year refused", dmy, MatchDate, 0, "14/03/80", ""},
		{"date impossible day", dmy, MatchDate, 0, "31/04/1980", ""},
		{"date garbage", dmy, MatchDate, 0, "yesterday", ""},
		{"phone international", dmy, MatchPhone, 0, "+44 20 7946 0001", "+442079460001"},
		{"phone 00 prefix", dmy, MatchPhone, 0, "0044 20 7946 0001", "+442079460001"},
		{"phone national trunk", dmy, MatchPhone, 0, "020 7946 0001", "+442079460001"},
		{"phone country code without plus", dmy, MatchPhone, 0, "44 20 7946 0001", "+442079460001"},
		{"phone us national", mdy, MatchPhone, 0, "(415) 555-0100", "+14155550100"},
		{"phone us with 1", mdy, MatchPhone, 0, "1-415-555-0100", "+14155550100"},
		{"phone no country code keeps digits", Matching{}, MatchPhone, 0, "020 7946 0001", "02079460001"},
		{"phone last digits", dmy, MatchPhone, 6, "+44 20 7946 0001", "460001"},
		{"phone too short", dmy, MatchPhone, 0, "12", ""},
		{"postal code", dmy, MatchPostalCode, 0, " sw1a 1aa ", "SW1A1AA"},
		{"postal code us", dmy, MatchPostalCode, 0, "94105-1234", "941051234"},
		{"number grouping", dmy, MatchNumber, 0, "1,000.50", "1000.5"},
		{"number leading zeros", dmy, MatchNumber, 0, "000123", "123"},
		{"number negative zero", dmy, MatchNumber, 0, "-0.00", "0"},
		{"number negative", dmy, MatchNumber, 0, "-12.30", "-12.3"},
		{"number garbage", dmy, MatchNumber, 0, "12a", ""},
		{"last4", dmy, MatchLast4, 0, "4111 1111 1111 1234", "1234"},
		{"last4 too short", dmy, MatchLast4, 0, "123", ""},
		{"unknown rule", dmy, MatchRule("soundex"), 0, "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.m.Normalize(tt.rule, tt.digits, tt.in))
		})
	}
}

func TestMatch(t *testing.T) {
	m := Matching{DateOrder: DMY, DefaultCountryCode: "44"}
	tests := []struct {
		rule             MatchRule
		expected, answer string
		want             bool
	}{
		{MatchName, "Jane Smith", "smith jane", true},
		{MatchName, "Jane Smith", "Jane Smyth", false},
		{MatchText, "Zoë", "zoe", true},
		{MatchDate, "1980-03-14", "14 March 1980", true},
		{MatchDate, "1980-03-14", "03/14/1980", true},
		{MatchDate, "1980-03-14", "1980-03-15", false},
		{MatchPhone, "+44 20 7946 0001", "020 7946 0001", true},
		{MatchPhone, "+44 20 7946 0001", "020 7946 0002", false},
		{MatchPostalCode, "SW1A 1AA", "sw1a1aa", true},
		{MatchNumber, "1000", "1,000.00", true},
		{MatchLast4, "4111111111111234", "1234", true},
		{MatchExact, "AB12", "ab12", false},
		{MatchExact, "", "", false},
		{MatchText, "", " ", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule)+" "+tt.answer, func(t *testing.T) {
			r := m.Match(tt.rule, 0, tt.expected, tt.answer)
			assert.Equal(t, tt.want, r.Correct)
			assert.Equal(t, tt.rule, r.Rule)
		})
	}
}

// answerish generates strings that look like answers: letters with accents, digits, spaces,
// punctuation, month names and plus signs, so the normalisers see their interesting inputs.
func answerish(r *rand.Rand) string {
	parts := []string{"Jane", "SMITH", "zoë", "İstanbul", "ß", "O'Brien", " ", "  ", "-", "/", ".", ",",
		"+", "00", "0", "44", "1980", "03", "14", "31", "12", "March", "mar", "th", "of", "\t", "ǅ", "ﬁ",
		"é", "\u0301", "Σ", "ς", "١٢", "7946", "1,000", ".5", "sw1a", "1AA"}
	n := r.IntN(8)
	var b strings.Builder
	for range n {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

func TestNormalizeIdempotent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, order := range []DateOrder{DMY, MDY} {
		for _, cc := range []string{"", "44", "1"} {
			m := Matching{DateOrder: order, DefaultCountryCode: cc}
			for _, rule := range matchRules {
				for _, d := range []int{0, 4} {
					for range 2000 {
						s := answerish(r)
						once := m.Normalize(rule, d, s)
						require.Equal(t, once, m.Normalize(rule, d, once), "rule %s order %s cc %q digits %d input %q", rule, order, cc, d, s)
					}
				}
			}
		}
	}
	// And over arbitrary strings.
	m := Matching{DefaultCountryCode: "44"}
	for _, rule := range matchRules {
		f := func(s string) bool { once := m.Normalize(rule, 0, s); return m.Normalize(rule, 0, once) == once }
		require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 2000}), "rule %s", rule)
	}
}

// The engine normalises into a shared buffer: appending to one that already holds text must
// give that text followed by exactly what Normalize gives, and never touch the text.
func TestAppendNormalizedKeepsPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, cc := range []string{"", "44"} {
		m := Matching{DateOrder: DMY, DefaultCountryCode: cc}
		for _, rule := range matchRules {
			for _, d := range []int{0, 4} {
				for range 1000 {
					prefix, s := answerish(r), answerish(r)
					got := m.appendNormalized([]byte(prefix), rule, d, s)
					require.Equal(t, prefix+m.Normalize(rule, d, s), string(got), "rule %s digits %d input %q", rule, d, s)
				}
			}
		}
	}
}

func TestNoRuleMatchesEmpty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := Matching{DateOrder: DMY, DefaultCountryCode: "44"}
	empties := []string{"", " ", "\t\n", "\u00a0"}
	for _, rule := range matchRules {
		for _, d := range []int{0, 4} {
			for range 500 {
				expected := answerish(r)
				for _, empty := range empties {
					assert.False(t, m.Match(rule, d, expected, empty).Correct, "rule %s expected %q", rule, expected)
					assert.False(t, m.Match(rule, d, empty, expected).Correct, "rule %s answer %q", rule, expected)
				}
				// An answer that normalises to "" never matches either.
				if a := answerish(r); m.Normalize(rule, d, a) == "" {
					assert.False(t, m.Match(rule, d, a, a).Correct)
				}
			}
		}
	}
}

func TestMACMatchesCryptoHMAC(t *testing.T) {
	for _, secretLen := range []int{0, 1, 32, 64, 65, 200} {
		secret := make([]byte, secretLen)
		for i := range secret {
			secret[i] = byte(i * 7)
		}
		k := newMACKey(secret)
		f := func(a, b, c string) bool {
			h := hmac.New(sha256.New, secret)
			h.Write([]byte(a + "\x00" + b + "\x00" + c))
			got := k.sum(a, b, []byte(c))
			return hmac.Equal(h.Sum(nil), got[:])
		}
		require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 300}), "secret length %d", secretLen)
	}
}

func TestMask(t *testing.T) {
	assert.Equal(t, "J••• S••••", mask(MatchName, "Jane Smith"))
	assert.Equal(t, "••••-••-14", mask(MatchDate, "1980-03-14"))
	assert.Equal(t, "+•• •• •••• ••01", mask(MatchPhone, "+44 20 7946 0001"))
}

func TestParseMatchRule(t *testing.T) {
	for _, r := range MatchRules() {
		got, err := ParseMatchRule(string(r))
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	_, err := ParseMatchRule("soundex")
	require.ErrorContains(t, err, `unknown match rule "soundex": use one of exact, text, name, date, phone, postal_code, number, last4`)
}
