package flows

import (
	"bytes"
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
	var buf [64]byte
	return string(m.appendNormalized(buf[:0], rule, digits, value))
}

// appendNormalized appends Normalize(rule, digits, value) to dst and returns the extended
// slice; it appends nothing when value has no normalised form. The engine hashes normalised
// values straight from a buffer, so normalising allocates nothing on its path.
func (m Matching) appendNormalized(dst []byte, rule MatchRule, digits int, value string) []byte {
	switch rule {
	case MatchExact, "":
		return append(dst, strings.TrimSpace(value)...)
	case MatchText:
		return appendText(dst, value, false)
	case MatchName:
		return appendText(dst, value, true)
	case MatchDate:
		return appendDate(dst, value, m.DateOrder)
	case MatchPhone:
		return appendPhone(dst, value, m.DefaultCountryCode, digits)
	case MatchPostalCode:
		return appendPostalCode(dst, value)
	case MatchNumber:
		return append(dst, normalizeNumber(value)...)
	case MatchLast4:
		return appendLastDigits(dst, value, 4)
	}
	return dst
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

// appendText appends s case-folded, without accents or punctuation and with its whitespace
// collapsed; with sortWords it sorts the words too, so "Smith, Jane" matches "jane smith".
func appendText(dst []byte, s string, sortWords bool) []byte {
	if !isASCII(s) {
		s = foldUnicode(s)
	}
	start := len(dst)
	space := false
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			dst = append(dst, byte(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			// Lower-case after folding too: folding maps some scripts (Cherokee) to upper case
			// and back, which would make normalisation flip-flop.
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		case unicode.IsSpace(r):
			space = true
		}
	}
	if sortWords {
		dst = sortWordsFrom(dst, start)
	}
	return dst
}

// sortWordsFrom sorts the single-space-separated words of dst[start:] in place.
func sortWordsFrom(dst []byte, start int) []byte {
	text := dst[start:]
	if bytes.IndexByte(text, ' ') < 0 {
		return dst
	}
	// The words as offsets into text (offsets, not slices, keep dst off the heap).
	type span struct{ lo, hi int }
	var arr [8]span
	words := arr[:0]
	for lo := 0; ; {
		i := bytes.IndexByte(text[lo:], ' ')
		if i < 0 {
			words = append(words, span{lo, len(text)})
			break
		}
		words, lo = append(words, span{lo, lo + i}), lo+i+1
	}
	cmp := func(a, b span) int { return bytes.Compare(text[a.lo:a.hi], text[b.lo:b.hi]) }
	if slices.IsSortedFunc(words, cmp) {
		return dst
	}
	slices.SortFunc(words, cmp)
	// Join the sorted words after the text, then move the result over the text.
	end := len(dst)
	for i, w := range words {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, text[w.lo:w.hi]...)
	}
	n := copy(dst[start:], dst[end:])
	return dst[:start+n]
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

// appendDate reads a calendar date in the common written forms (1980-03-14,
// 1980-03-14T00:00:00Z, 19800314, 14/03/1980 or 03/14/1980 per order when ambiguous,
// 14.3.1980, March 14 1980, 14 Mar 1980, 14th of March, 1980, ...) and returns it as
// YYYY-MM-DD, appended to dst. Years must have four digits: a two-digit year is too ambiguous
// to compare.
func appendDate(dst []byte, s string, order DateOrder) []byte {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') {
		s = s[:10] // an ISO date-time: the date part
	}
	var numsArr [3]string
	nums := numsArr[:0]
	var month time.Month
	for len(s) > 0 {
		// The next token: a run of letters and digits.
		i := indexAlnum(s, true)
		if i < 0 {
			break
		}
		s = s[i:]
		j := indexAlnum(s, false)
		if j < 0 {
			j = len(s)
		}
		tok := s[:j]
		s = s[j:]
		digits := strings.TrimRightFunc(tok, unicode.IsLetter)
		switch {
		case digits != "" && allDigits(digits):
			if suffix := tok[len(digits):]; suffix != "" && !anyFold(suffix, "st", "nd", "rd", "th") {
				return dst
			}
			if len(nums) == len(numsArr) {
				return dst
			}
			nums = append(nums, digits)
		case month == 0 && monthOf(tok) != 0:
			month = monthOf(tok)
		case anyFold(tok, "of", "the"):
		default:
			return dst
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
			return dst
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
			return dst
		}
	default:
		return dst
	}
	if y < 1000 || mo < 1 || mo > 12 || d < 1 {
		return dst
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return dst // e.g. 31 April
	}
	// YYYY-MM-DD: y has four digits, mo and d at most two (checked above).
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10))
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// indexAlnum returns the index of the first rune of s that is (or, with want false, is not) a
// letter or digit, or -1: strings.IndexFunc(s, isAlnum) without a call per ASCII byte.
func indexAlnum(s string, want bool) int {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') == want {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isAlnum(r) == want {
			return i
		}
		i += n
	}
	return -1
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

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

// atoi reads a short run of ASCII digits (the caller checked them).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func digitsOnly(s string) string {
	var buf [40]byte
	return string(appendDigits(buf[:0], s))
}

// appendDigits appends the ASCII digits of s to dst.
func appendDigits(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			dst = append(dst, s[i])
		}
	}
	return dst
}

// appendLastDigits appends the last n digits of s, or nothing when s has fewer.
func appendLastDigits(dst []byte, s string, n int) []byte {
	start := len(dst)
	dst = appendDigits(dst, s)
	if len(dst)-start < n {
		return dst[:start]
	}
	m := copy(dst[start:], dst[len(dst)-n:])
	return dst[:start+m]
}

// appendPhone appends a phone number's digits. With last > 0 it appends just the last
// digits. Otherwise an international number (written with + or 00, or starting with the
// country code and at least 11 digits long) becomes "+" and its digits, and a national number
// becomes "+", the default country code and its digits without the trunk 0, so national and
// international forms of one number agree. With no default country code, national numbers
// keep their digits as written.
func appendPhone(dst []byte, s, cc string, last int) []byte {
	if last > 0 {
		return appendLastDigits(dst, s, last)
	}
	var buf [40]byte
	d := appendDigits(buf[:0], s)
	if len(d) < 3 {
		return dst // no phone number is this short
	}
	start := len(dst)
	switch t := strings.TrimSpace(s); {
	case strings.HasPrefix(t, "+"):
		dst = append(append(dst, '+'), d...)
	case bytes.HasPrefix(d, []byte("00")):
		dst = append(append(dst, '+'), d[2:]...)
	case cc == "":
		dst = append(dst, d...)
	case d[0] == '0':
		dst = append(append(append(dst, '+'), cc...), d[1:]...)
	case bytes.HasPrefix(d, []byte(cc)) && len(d) >= 11:
		dst = append(append(dst, '+'), d...)
	default:
		dst = append(append(append(dst, '+'), cc...), d...)
	}
	if out := dst[start:]; len(bytes.TrimPrefix(out, []byte("+"))) < 3 {
		return dst[:start] // no phone number is this short
	}
	return dst
}

// appendPostalCode appends s upper-cased, letters and digits only ("sw1a 1aa" = "SW1A1AA").
func appendPostalCode(dst []byte, s string) []byte {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			dst = utf8.AppendRune(dst, unicode.ToUpper(r))
		}
	}
	return dst
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
