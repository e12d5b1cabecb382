package flows

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
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
// values straight from a buffer, so normalising allocates nothing on its path beyond what
// case folding (text that is not ASCII) and libphonenumber (phone numbers) allocate.
func (m Matching) appendNormalized(dst []byte, rule MatchRule, digits int, value string) []byte {
	switch rule {
	case MatchExact, "":
		return append(dst, strings.TrimSpace(value)...)
	case MatchText:
		return appendText(dst, value, false)
	case MatchName:
		return appendText(dst, value, true)
	case MatchDate:
		return appendDate(dst, value, m.DateOrder, m.Languages)
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

// appendText appends s as words: case-folded, without accents, each a run of letters and
// digits, single-space separated. Every other character (spaces, hyphens, apostrophes, any
// punctuation) separates words, so "Smith-Jones" is "smith jones". A word of one Latin letter
// is joined to the word after it (to the word before it when it is the last), so the elided
// O' of "O'Neil", a spaced "O Neil" and "ONeil" are all "oneil" (see joinLetters). With
// sortWords it sorts the words too, so "Smith, Jane" matches "jane smith".
func appendText(dst []byte, s string, sortWords bool) []byte {
	start := len(dst)
	if isASCII(s) {
		space := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			default:
				space = true
				continue
			}
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			dst = append(dst, c)
		}
	} else {
		dst = appendUnicodeWords(dst, s)
	}
	dst = joinLetters(dst, start)
	if sortWords {
		dst = sortWordsFrom(dst, start)
	}
	return dst
}

// appendUnicodeWords is appendText's first part for text that is not all ASCII: the words of s
// case-folded, lower-cased, without accents and composed (NFC), single-space separated.
func appendUnicodeWords(dst []byte, s string) []byte {
	var scratch [128]byte
	folded := foldUnicode(scratch[:0], s)
	start := len(dst)
	space := false
	for len(folded) > 0 {
		r, n := utf8.DecodeRune(folded)
		folded = folded[n:]
		switch {
		case unicode.Is(unicode.M, r):
			continue // a mark (an accent, a vowel sign) is part of its word: drop it, split nothing
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		// Lower-case after folding too: folding maps some scripts (Cherokee) to upper case and
		// back, which would make normalisation flip-flop.
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	// Compose only now: a character dropped above (an unassigned code point, a mark) may have
	// kept two letters apart that compose once it is gone (Hangul "가\u0378\u11a8"), and an
	// uncomposed result would compose on the next pass.
	if text := dst[start:]; !norm.NFC.IsNormal(text) {
		composed := norm.NFC.Append(scratch[:0], text...)
		dst = append(dst[:start], composed...)
	}
	return dst
}

// joinLetters joins, in the words of dst[start:], every word of one Latin letter to the word
// after it, or to the word before it when it is the last. Elided articles and initials then
// belong to their word ("O Neil" = "ONeil", "J Smith" = "JSmith"), and no one-letter word is
// left to move when names are sorted, which keeps normalisation idempotent. The cost: an
// initial matches only where it was written ("John F Kennedy" does not match "Kennedy John F").
func joinLetters(dst []byte, start int) []byte {
	text := dst[start:]
	if bytes.IndexByte(text, ' ') < 0 {
		return dst
	}
	oneLetter := func(w []byte) bool { return len(w) == 1 && 'a' <= w[0] && w[0] <= 'z' }
	// Words only move left (spaces are removed), so the word read next is never overwritten.
	out, lo := 0, 0
	for lo < len(text) {
		hi := lo + bytes.IndexByte(text[lo:], ' ')
		if hi < lo {
			hi = len(text)
		}
		word := text[lo:hi]
		out += copy(text[out:], word)
		if hi == len(text) {
			break
		}
		next := text[hi+1:]
		last := bytes.IndexByte(next, ' ') < 0
		if !oneLetter(text[out-len(word):out]) && !(last && oneLetter(next)) {
			text[out] = ' '
			out++
		}
		lo = hi + 1
	}
	return dst[:start+out]
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

// foldUnicode appends s case-folded and canonically decomposed (NFD) to dst, so that accents
// are separate marks the caller drops. Folding comes first so that marks it produces (e.g.
// from "İ") are dropped too, which keeps normalisation idempotent.
func foldUnicode(dst []byte, s string) []byte {
	var scratch [128]byte
	folded, _, err := transform.Append(cases.Fold(), scratch[:0], []byte(s))
	if err != nil {
		return dst
	}
	return norm.NFD.Append(dst, folded...)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
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
