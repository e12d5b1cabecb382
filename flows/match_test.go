package flows

import (
	"crypto/hmac"
	"crypto/sha256"
	"maps"
	mathrand "math/rand"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/quick"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	dmy := Matching{DateOrder: DMY, DefaultCountryCode: "44"}
	mdy := Matching{DateOrder: MDY, DefaultCountryCode: "1"}
	all := Matching{DateOrder: DMY, Languages: Languages()}
	de := Matching{DateOrder: DMY, Languages: []Language{German}}
	it := Matching{DefaultCountryCode: "39"}
	ru := Matching{DefaultCountryCode: "7"}
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
		{"text folds case and accents", dmy, MatchText, 0, "  Zoë  BRONTË-Smith ", "zoe bronte smith"},
		{"text drops punctuation", dmy, MatchText, 0, "O'Brien, Jr.", "obrien jr"},
		{"text folds ß", dmy, MatchText, 0, "Straße", "strasse"},
		{"text only punctuation is empty", dmy, MatchText, 0, " .,;- ", ""},
		{"text hyphen separates words", dmy, MatchText, 0, "Smith-Jones", "smith jones"},
		{"text apostrophe separates words", dmy, MatchText, 0, "Dell'Acqua", "dell acqua"},
		{"text one-letter word joins the next", dmy, MatchText, 0, "O'Neil", "oneil"},
		{"text one-letter word joins the next spaced", dmy, MatchText, 0, "O Neil", "oneil"},
		{"text last one-letter word joins the one before", dmy, MatchText, 0, "Flat 3 B", "flat 3b"},
		{"text initials join", dmy, MatchText, 0, "J. R. R. Tolkien", "jrrtolkien"},
		{"text accent inside a word splits nothing", dmy, MatchText, 0, "MÜLLER", "muller"},
		{"text composed after a mark is dropped", dmy, MatchText, 0, "가\u0301\u11a8", "\uac01"},
		{"text unassigned code point separates", dmy, MatchText, 0, "가\u0378\u11a8", "가 \u11a8"},
		{"text single letter alone", dmy, MatchText, 0, " x ", "x"},
		{"name ignores order", dmy, MatchName, 0, "Smith,  Jane", "jane smith"},
		{"name same as given family", dmy, MatchName, 0, "jane SMITH", "jane smith"},
		{"name hyphen and apostrophe", dmy, MatchName, 0, "Mary-Jane O'Neil", "jane mary oneil"},
		{"name comma without space", dmy, MatchName, 0, "Smith,Jane", "jane smith"},
		{"name one-letter words of other scripts stay words", dmy, MatchName, 0, "李 明", "明 李"},
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
		{"date english is the default", dmy, MatchDate, 0, "14 März 1980", ""},
		{"date german", all, MatchDate, 0, "14. März 1980", "1980-03-14"},
		{"date german without umlaut", all, MatchDate, 0, "am 14. Maerz 1980", "1980-03-14"},
		{"date german abbreviation", all, MatchDate, 0, "3. Okt. 1990", "1990-10-03"},
		{"date french", all, MatchDate, 0, "le 1er août 1980", "1980-08-01"},
		{"date french abbreviation", all, MatchDate, 0, "14 févr. 1980", "1980-02-14"},
		{"date spanish", all, MatchDate, 0, "14 de diciembre de 1980", "1980-12-14"},
		{"date spanish ordinal", all, MatchDate, 0, "1.º de enero del 1980", "1980-01-01"},
		{"date italian", all, MatchDate, 0, "il 14 giugno 1980", "1980-06-14"},
		{"date italian ordinal", all, MatchDate, 0, "1º maggio 1980", "1980-05-01"},
		{"date english still read with others", all, MatchDate, 0, "March 14th, 1980", "1980-03-14"},
		{"date only the listed languages", de, MatchDate, 0, "14 mars 1980", ""},
		{"date english not listed", de, MatchDate, 0, "14 of March 1980", ""},
		{"date listed german", de, MatchDate, 0, "14 Dezember 1980", "1980-12-14"},
		{"phone international", dmy, MatchPhone, 0, "+44 20 7946 0001", "+442079460001"},
		{"phone 00 prefix", dmy, MatchPhone, 0, "0044 20 7946 0001", "+442079460001"},
		{"phone national trunk", dmy, MatchPhone, 0, "020 7946 0001", "+442079460001"},
		{"phone country code without plus", dmy, MatchPhone, 0, "44 20 7946 0001", "+442079460001"},
		{"phone us national", mdy, MatchPhone, 0, "(415) 555-0100", "+14155550100"},
		{"phone us with 1", mdy, MatchPhone, 0, "1-415-555-0100", "+14155550100"},
		{"phone no country code keeps digits", Matching{}, MatchPhone, 0, "020 7946 0001", "02079460001"},
		{"phone no country code reads +", Matching{}, MatchPhone, 0, "+44 (0)20 7946 0001", "+442079460001"},
		{"phone unknown country code keeps + and digits", Matching{}, MatchPhone, 0, "+999 123 456", "+999123456"},
		{"phone (0) after the country code", dmy, MatchPhone, 0, "+44 (0)20 7946 0111", "+442079460111"},
		{"phone trunk 0 after the country code", dmy, MatchPhone, 0, "+44 0 7700 900123", "+447700900123"},
		{"phone italian keeps its 0", it, MatchPhone, 0, "06 1234 5678", "+390612345678"},
		{"phone italian from another region", dmy, MatchPhone, 0, "+39 06 1234 5678", "+390612345678"},
		{"phone italian with 00", dmy, MatchPhone, 0, "0039 06 1234 5678", "+390612345678"},
		{"phone us international prefix", mdy, MatchPhone, 0, "011 44 20 7946 0111", "+442079460111"},
		{"phone extension dropped", dmy, MatchPhone, 0, "020 7946 0111 ext. 12", "+442079460111"},
		{"phone russian trunk 8", ru, MatchPhone, 0, "8 (495) 123-45-67", "+74951234567"},
		// The country code rule: digits that start with the country code are an international
		// number from 11 digits on, a national one below (Kazakhstan's +7 7xx numbers).
		{"phone 10 digits starting with the country code are national", ru, MatchPhone, 0, "701 234 5678", "+77012345678"},
		{"phone 11 digits starting with the country code are international", ru, MatchPhone, 0, "7 701 234 5678", "+77012345678"},
		{"phone garbage that reads back as another number", dmy, MatchPhone, 0, "0007946 7946 12", "+447946794612"},
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
		{MatchPhone, "+44 20 7946 0111", "+44 (0)20 7946 0111", true},
		{MatchPhone, "+44 20 7946 0111", "0044 20 7946 0111", true},
		{MatchPhone, "+447700900123", "07700 900123", true},
		{MatchName, "Mary Jane O'Neil", "Mary-Jane O'Neil", true},
		{MatchName, "Smith Jones", "Smith-Jones", true},
		{MatchName, "O'Neil", "ONeil", true},
		{MatchName, "O'Neil", "O Neil", true},
		{MatchName, "O'Neil", "Neil", false},
		{MatchText, "O'Neil", "o neil", true},
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

// matchings are the configurations the property tests run every rule under: both date
// orders, no default calling code, and regions whose phone numbers read back in different
// ways (trunk prefixes 0, 1 and 8, Italian leading zeros, Brazilian carrier codes).
var matchings = []Matching{
	{DateOrder: DMY, DefaultCountryCode: "44"},
	{DateOrder: MDY, DefaultCountryCode: "1"},
	{DateOrder: DMY},
	{DateOrder: DMY, DefaultCountryCode: "39", Languages: Languages()},
	{DateOrder: DMY, DefaultCountryCode: "7", Languages: []Language{German, French}},
	{DateOrder: MDY, DefaultCountryCode: "55", Languages: []Language{Spanish, Italian}},
	{DateOrder: DMY, DefaultCountryCode: "61"},
}

// answerish generates strings that look like answers: letters with accents, digits, spaces,
// punctuation, month names in several languages, phone prefixes and marks, so the normalisers
// see their interesting inputs.
func answerish(r *rand.Rand) string {
	parts := []string{"Jane", "SMITH", "zoë", "İstanbul", "ß", "O'Brien", " ", "  ", "-", "/", ".", ",",
		"+", "00", "0", "44", "1980", "03", "14", "31", "12", "March", "mar", "th", "of", "\t", "ǅ", "ﬁ",
		"é", "\u0301", "Σ", "ς", "١٢", "7946", "1,000", ".5", "sw1a", "1AA", "'", "’", "O", "Neil", "a",
		"가", "\u0378", "\u11a8", "März", "août", "de", "1er", "º", "(0)", "+39", "06", "8", "ext", "#",
		"Müller", "李", "9", "90", "Ⅻ", "\u0903"}
	n := r.IntN(8)
	var b strings.Builder
	for range n {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// checkNormalized fails t unless Normalize is idempotent on s, appending to a buffer that
// holds text keeps that text, and s matches itself exactly when it has a normalised form and
// never matches an empty value.
func checkNormalized(t testing.TB, m Matching, rule MatchRule, digits int, s string) {
	t.Helper()
	once := m.Normalize(rule, digits, s)
	require.Equal(t, once, m.Normalize(rule, digits, once), "idempotence: rule %s %+v digits %d input %q", rule, m, digits, s)
	require.Equal(t, "prefix "+once, string(m.appendNormalized([]byte("prefix "), rule, digits, s)),
		"prefix kept: rule %s %+v digits %d input %q", rule, m, digits, s)
	require.Equal(t, once != "", m.Match(rule, digits, s, s).Correct, "matches itself: rule %s %+v input %q", rule, m, s)
	for _, empty := range []string{"", " ", "\t\n", "\u00a0"} {
		require.False(t, m.Match(rule, digits, s, empty).Correct, "empty answer: rule %s %+v expected %q", rule, m, s)
		require.False(t, m.Match(rule, digits, empty, s).Correct, "empty expected: rule %s %+v answer %q", rule, m, s)
	}
}

// The property tests draw from fixed seeds, so a failure repeats; cases they or the fuzzer
// found are kept in testdata/fuzz/FuzzNormalize and run by every go test.
func TestNormalizeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range matchings {
		for _, rule := range matchRules {
			for _, d := range []int{0, 4} {
				for range 400 {
					checkNormalized(t, m, rule, d, answerish(r))
				}
			}
		}
	}
	// And over arbitrary strings.
	for i, m := range matchings {
		for _, rule := range matchRules {
			f := func(s string) bool { checkNormalized(t, m, rule, 0, s); return true }
			cfg := &quick.Config{MaxCount: 300, Rand: mathrand.New(mathrand.NewSource(int64(i)))}
			require.NoError(t, quick.Check(f, cfg), "rule %s", rule)
		}
	}
}

// FuzzNormalize checks the same properties on inputs the fuzzer finds:
// go test -run '^$' -fuzz FuzzNormalize ./flows. Its corpus holds the cases found so far.
func FuzzNormalize(f *testing.F) {
	f.Add(uint8(1), uint8(0), "가\u0378\u11a8")
	f.Add(uint8(4), uint8(0), "+44 (0)20 7946 0111")
	f.Add(uint8(3), uint8(3), "1.º de enero del 1980")
	f.Fuzz(func(t *testing.T, rule, config uint8, s string) {
		checkNormalized(t, matchings[int(config)%len(matchings)], matchRules[int(rule)%len(matchRules)], 0, s)
	})
}

// appendE164Once must write what phonenumbers.Format writes.
func TestAppendE164IsFormatE164(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	checked := 0
	for _, region := range []string{"GB", "US", "IT", "RU", "BR", "AU", "CI", "ZZ"} {
		for range 2000 {
			var n phonenumbers.PhoneNumber
			if !parsePhone(answerish(r)+answerish(r), region, &n) {
				continue
			}
			got, _ := appendE164Once(nil, &n)
			require.Equal(t, phonenumbers.Format(&n, phonenumbers.E164), string(got))
			checked++
		}
	}
	require.Greater(t, checked, 1000, "too few inputs parsed to test anything")
}

// Normalising is safe for concurrent use: libphonenumber's regular expression cache and the
// national prefix table are shared.
func TestNormalizeConcurrently(t *testing.T) {
	inputs := []string{"+44 (0)20 7946 0111", "06 1234 5678", "8 (495) 123-45-67", "0007946 7946 12", "1-415-555-0100"}
	want := make(map[string]string)
	for _, m := range matchings {
		for _, in := range inputs {
			want[m.DefaultCountryCode+"|"+in] = m.Normalize(MatchPhone, 0, in)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m, in := matchings[(g+i)%len(matchings)], inputs[i%len(inputs)]
				assert.Equal(t, want[m.DefaultCountryCode+"|"+in], m.Normalize(MatchPhone, 0, in))
			}
		})
	}
	wg.Wait()
}

// No word of one language's dates means something else in another, so any languages may be
// listed together.
func TestDateWordsAgreeAcrossLanguages(t *testing.T) {
	months := map[string]time.Month{}
	for _, l := range Languages() {
		w := languageWords[l]
		require.NotNil(t, w, "language %s has no date words", l)
		require.Len(t, slices.Compact(slices.Sorted(maps.Values(w.months))), 12, "language %s names every month", l)
		for name, m := range w.months {
			if prev, ok := months[name]; ok {
				assert.Equal(t, prev, m, "%q", name)
			}
			months[name] = m
			key, _ := foldWord(make([]byte, 0, 16), name)
			assert.Equal(t, name, string(key), "month names are stored folded")
		}
	}
	for _, l := range Languages() {
		for _, f := range slices.Concat(languageWords[l].fillers, languageWords[l].ordinals) {
			assert.Zero(t, months[f], "%s's %q is a month in another language", l, f)
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
