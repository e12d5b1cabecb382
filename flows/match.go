package flows

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the canonical form of value under rule, the form check-mode answers and
// expected values are compared in. It returns "" when value has no such form (it is empty,
// or not a date, a number, ...): nothing matches "". Normalize is idempotent. digits is
// Verifier.Digits (used by MatchPhone only).
func (m Matching) Normalize(rule MatchRule, digits int, value string) string {
	switch rule {
	case MatchExact, "":
		return strings.TrimSpace(value)
	case MatchText:
		return normalizeText(value, false)
	case MatchName:
		return normalizeText(value, true)
	case MatchDate:
		return normalizeDate(value, m.DateOrder)
	case MatchPhone:
		return normalizePhone(value, m.DefaultCountryCode, digits)
	case MatchPostalCode:
		return normalizePostalCode(value)
	case MatchNumber:
		return normalizeNumber(value)
	case MatchLast4:
		return lastDigits(value, 4)
	}
	return ""
}

// MatchResult is the verdict of one comparison. It names the rule that decided it, for the
// audit, and never holds the values compared.
type MatchResult struct {
	Correct bool
	Rule    MatchRule
}

// Match reports whether answer matches expected under rule, comparing the normalised values in
// constant time (through their SHA-256 digests). An answer or expected value that normalises to
// "" never matches. The engine itself compares keyed hashes instead, so that it need not keep
// expected values; Match is the same decision for callers that hold both values.
func (m Matching) Match(rule MatchRule, digits int, expected, answer string) MatchResult {
	if rule == "" {
		rule = MatchExact
	}
	e, a := m.Normalize(rule, digits, expected), m.Normalize(rule, digits, answer)
	ed, ad := sha256.Sum256([]byte(e)), sha256.Sum256([]byte(a))
	same := subtle.ConstantTimeCompare(ed[:], ad[:]) == 1
	return MatchResult{Correct: same && e != "" && a != "", Rule: rule}
}

// normalizeText case-folds, strips accents, drops punctuation and collapses whitespace; with
// sortWords it also sorts the words, so "Smith, Jane" matches "jane smith".
func normalizeText(s string, sortWords bool) string {
	if !isASCII(s) {
		s = foldUnicode(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			// Lower-case after folding too: folding maps some scripts (Cherokee) to upper case
			// and back, which would make normalisation flip-flop.
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsSpace(r):
			space = true
		}
	}
	out := b.String()
	if sortWords && strings.IndexByte(out, ' ') >= 0 {
		var arr [8]string
		words := arr[:0]
		for w := range strings.SplitSeq(out, " ") {
			words = append(words, w)
		}
		if !slices.IsSorted(words) {
			slices.Sort(words)
			out = strings.Join(words, " ")
		}
	}
	return out
}

// foldUnicode case-folds s and removes its combining marks (accents). Folding comes first so
// that marks it produces (e.g. from "İ") are removed too, which keeps normalisation idempotent.
func foldUnicode(s string) string {
	t := transform.Chain(cases.Fold(), norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return ""
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var months = map[string]time.Month{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
	"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
	"sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
	"dec": 12, "december": 12,
}

// normalizeDate reads a calendar date in the common written forms (1980-03-14,
// 1980-03-14T00:00:00Z, 19800314, 14/03/1980 or 03/14/1980 per order when ambiguous,
// 14.3.1980, March 14 1980, 14 Mar 1980, 14th of March, 1980, ...) and returns it as
// YYYY-MM-DD. Years must have four digits: a two-digit year is too ambiguous to compare.
func normalizeDate(s string, order DateOrder) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') {
		s = s[:10] // an ISO date-time: the date part
	}
	var numsArr [3]string
	nums := numsArr[:0]
	var month time.Month
	for len(s) > 0 {
		// The next token: a run of letters and digits.
		i := strings.IndexFunc(s, isAlnum)
		if i < 0 {
			break
		}
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !isAlnum(r) })
		if j < 0 {
			j = len(s)
		}
		tok := s[:j]
		s = s[j:]
		digits := strings.TrimRightFunc(tok, unicode.IsLetter)
		switch {
		case digits != "" && strings.TrimFunc(digits, isDigit) == "":
			if suffix := tok[len(digits):]; suffix != "" && !anyFold(suffix, "st", "nd", "rd", "th") {
				return ""
			}
			if len(nums) == len(numsArr) {
				return ""
			}
			nums = append(nums, digits)
		case month == 0 && monthOf(tok) != 0:
			month = monthOf(tok)
		case anyFold(tok, "of", "the"):
		default:
			return ""
		}
	}
	var y, mo, d int
	switch {
	case month != 0 && len(nums) == 2:
		mo = int(month)
		switch {
		case len(nums[0]) == 4 && len(nums[1]) <= 2:
			y, d = atoi(nums[0]), atoi(nums[1])
		case len(nums[1]) == 4 && len(nums[0]) <= 2:
			d, y = atoi(nums[0]), atoi(nums[1])
		default:
			return ""
		}
	case month == 0 && len(nums) == 1 && len(nums[0]) == 8:
		n := nums[0]
		y, mo, d = atoi(n[:4]), atoi(n[4:6]), atoi(n[6:])
	case month == 0 && len(nums) == 3:
		a, b, c := nums[0], nums[1], nums[2]
		switch {
		case len(a) == 4 && len(b) <= 2 && len(c) <= 2:
			y, mo, d = atoi(a), atoi(b), atoi(c)
		case len(c) == 4 && len(a) <= 2 && len(b) <= 2:
			y = atoi(c)
			x, z := atoi(a), atoi(b)
			switch {
			case x > 12 && z <= 12:
				d, mo = x, z
			case z > 12 && x <= 12:
				mo, d = x, z
			case order == MDY:
				mo, d = x, z
			default:
				d, mo = x, z
			}
		default:
			return ""
		}
	default:
		return ""
	}
	if y < 1000 || mo < 1 || mo > 12 || d < 1 {
		return ""
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return "" // e.g. 31 April
	}
	var out [10]byte
	return string(t.AppendFormat(out[:0], time.DateOnly))
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func anyFold(s string, words ...string) bool {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// monthOf returns the month an English month name or abbreviation names, or 0.
func monthOf(tok string) time.Month {
	var buf [9]byte
	if len(tok) < 3 || len(tok) > len(buf) {
		return 0
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return months[string(buf[:len(tok)])]
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// atoi reads a short run of ASCII digits (the caller checked them).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func digitsOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if b.Cap() == 0 {
				b.Grow(len(s) - i)
			}
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func lastDigits(s string, n int) string {
	d := digitsOnly(s)
	if len(d) < n {
		return ""
	}
	return d[len(d)-n:]
}

// normalizePhone returns a phone number's digits. With last > 0 it returns just the last
// digits. Otherwise an international number (written with + or 00, or starting with the
// country code and at least 11 digits long) becomes "+" and its digits, and a national number
// becomes "+", the default country code and its digits without the trunk 0, so national and
// international forms of one number agree. With no default country code, national numbers
// keep their digits as written.
func normalizePhone(s, cc string, last int) string {
	if last > 0 {
		return lastDigits(s, last)
	}
	d := digitsOnly(s)
	t := strings.TrimSpace(s)
	var out string
	switch {
	case strings.HasPrefix(t, "+"):
		out = "+" + d
	case strings.HasPrefix(d, "00"):
		out = "+" + d[2:]
	case cc == "":
		out = d
	case strings.HasPrefix(d, "0"):
		out = "+" + cc + d[1:]
	case strings.HasPrefix(d, cc) && len(d) >= 11:
		out = "+" + d
	default:
		out = "+" + cc + d
	}
	if len(strings.TrimPrefix(out, "+")) < 3 || len(d) < 3 {
		return "" // no phone number is this short
	}
	return out
}

// normalizePostalCode upper-cases and keeps letters and digits only ("sw1a 1aa" = "SW1A1AA").
func normalizePostalCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// normalizeNumber reads a decimal number with optional sign, grouping (",", "_", spaces) and
// fraction, and returns it canonically: no leading or trailing zeros, "-" only when not zero.
func normalizeNumber(s string) string {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var intPart, frac []byte
	seenDot, any := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			any = true
			if seenDot {
				frac = append(frac, c)
			} else {
				intPart = append(intPart, c)
			}
		case c == '.' && !seenDot:
			seenDot = true
		case (c == ',' || c == '_' || c == ' ') && !seenDot:
		default:
			return ""
		}
	}
	if !any {
		return ""
	}
	i := strings.TrimLeft(string(intPart), "0")
	f := strings.TrimRight(string(frac), "0")
	if i == "" {
		i = "0"
	}
	out := i
	if f != "" {
		out += "." + f
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// mask hides most of an expected value for RevealMasked: words keep their first letter for
// names and text, other values keep their last two letters or digits.
func mask(rule MatchRule, s string) string {
	const hidden = '•'
	var b strings.Builder
	if rule == MatchName || rule == MatchText {
		first := true
		for _, r := range s {
			switch {
			case unicode.IsSpace(r):
				first = true
				b.WriteRune(r)
			case first:
				first = false
				b.WriteRune(r)
			default:
				b.WriteRune(hidden)
			}
		}
		return b.String()
	}
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n--
			if n >= 2 {
				r = hidden
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
