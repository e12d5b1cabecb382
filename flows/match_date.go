package flows

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// dateWords are the words one language writes dates with: month names and their usual
// abbreviations, words that may stand between the numbers ("14th of March", "14 de marzo de
// 1980") and the ordinal suffixes of day numbers ("14th", "1er", "1º"). Keys are lower case
// without accents: a token is folded the same way before it is looked up ("März" → "marz").
type dateWords struct {
	months   map[string]time.Month
	fillers  []string
	ordinals []string
}

// languageWords holds each supported language's date words. Read only after init.
var languageWords = map[Language]*dateWords{
	English: {
		months: map[string]time.Month{
			"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
			"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
			"sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
			"dec": 12, "december": 12,
		},
		fillers:  []string{"of", "the"},
		ordinals: []string{"st", "nd", "rd", "th"},
	},
	German: {
		months: map[string]time.Month{
			"jan": 1, "januar": 1, "janner": 1, "feb": 2, "februar": 2, "mar": 3, "marz": 3, "maerz": 3,
			"mrz": 3, "apr": 4, "april": 4, "mai": 5, "jun": 6, "juni": 6, "jul": 7, "juli": 7,
			"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10,
			"nov": 11, "november": 11, "dez": 12, "dezember": 12,
		},
		fillers: []string{"den", "am"}, // "am 14. März 1980"; "14." needs nothing: "." separates
	},
	French: {
		months: map[string]time.Month{
			"janv": 1, "janvier": 1, "fev": 2, "fevr": 2, "fevrier": 2, "mars": 3, "avr": 4, "avril": 4,
			"mai": 5, "juin": 6, "juil": 7, "juillet": 7, "aout": 8, "sept": 9, "septembre": 9,
			"oct": 10, "octobre": 10, "nov": 11, "novembre": 11, "dec": 12, "decembre": 12,
		},
		fillers:  []string{"le"},
		ordinals: []string{"er", "re", "e", "eme"}, // 1er, 1re, 2e, 2ème
	},
	Spanish: {
		months: map[string]time.Month{
			"ene": 1, "enero": 1, "feb": 2, "febrero": 2, "mar": 3, "marzo": 3, "abr": 4, "abril": 4,
			"may": 5, "mayo": 5, "jun": 6, "junio": 6, "jul": 7, "julio": 7, "ago": 8, "agosto": 8,
			"sep": 9, "sept": 9, "set": 9, "septiembre": 9, "setiembre": 9, "oct": 10, "octubre": 10,
			"nov": 11, "noviembre": 11, "dic": 12, "diciembre": 12,
		},
		fillers:  []string{"de", "del", "º", "ª"}, // "1.º de enero de 1980": "." splits "1" from "º"
		ordinals: []string{"º", "ª"},
	},
	Italian: {
		months: map[string]time.Month{
			"gen": 1, "gennaio": 1, "feb": 2, "febbraio": 2, "mar": 3, "marzo": 3, "apr": 4, "aprile": 4,
			"mag": 5, "maggio": 5, "giu": 6, "giugno": 6, "lug": 7, "luglio": 7, "ago": 8, "agosto": 8,
			"set": 9, "sett": 9, "settembre": 9, "ott": 10, "ottobre": 10, "nov": 11, "novembre": 11,
			"dic": 12, "dicembre": 12,
		},
		fillers:  []string{"il", "del", "º"},
		ordinals: []string{"º"},
	},
}

// languagesOr returns langs, or English when there are none.
func languagesOr(langs []Language) []Language {
	if len(langs) == 0 {
		return defaultLanguages
	}
	return langs
}

var defaultLanguages = []Language{English}

// appendDate reads a calendar date in the common written forms (1980-03-14,
// 1980-03-14T00:00:00Z, 19800314, 14/03/1980 or 03/14/1980 per order when ambiguous,
// 14.3.1980, March 14 1980, 14 Mar 1980, 14th of March, 1980, 14 de marzo de 1980, ..., with
// month names in langs) and returns it as YYYY-MM-DD, appended to dst. Years must have four
// digits: a two-digit year is too ambiguous to compare.
func appendDate(dst []byte, s string, order DateOrder, langs []Language) []byte {
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
			if suffix := tok[len(digits):]; suffix != "" && !isDateWord(suffix, langs, ordinalWord) {
				return dst
			}
			if len(nums) == len(numsArr) {
				return dst
			}
			nums = append(nums, digits)
		case month == 0 && monthOf(tok, langs) != 0:
			month = monthOf(tok, langs)
		case isDateWord(tok, langs, fillerWord):
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

// The kinds of date word isDateWord looks for.
const (
	fillerWord = iota
	ordinalWord
)

// isDateWord reports whether tok is a filler word (kind fillerWord) or an ordinal suffix
// (ordinalWord) in one of langs.
func isDateWord(tok string, langs []Language, kind int) bool {
	var buf [16]byte
	key, ok := foldWord(buf[:0], tok)
	if !ok {
		return false
	}
	for _, l := range languagesOr(langs) {
		w := languageWords[l]
		if w == nil {
			continue
		}
		list := w.fillers
		if kind == ordinalWord {
			list = w.ordinals
		}
		for _, f := range list {
			if string(key) == f {
				return true
			}
		}
	}
	return false
}

// monthOf returns the month a month name or abbreviation of one of langs names, or 0.
func monthOf(tok string, langs []Language) time.Month {
	var buf [16]byte
	key, ok := foldWord(buf[:0], tok)
	if !ok || len(key) < 3 {
		return 0
	}
	for _, l := range languagesOr(langs) {
		if w := languageWords[l]; w != nil && w.months[string(key)] != 0 {
			return w.months[string(key)]
		}
	}
	return 0
}

// foldWord appends tok lower-cased and without accents to dst, the form date words are
// looked up in; ok is false when tok is too long to be one.
func foldWord(dst []byte, tok string) (_ []byte, ok bool) {
	if len(tok) > cap(dst)-len(dst) {
		return dst, false
	}
	if isASCII(tok) {
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst, true
	}
	var scratch [64]byte
	for _, r := range string(foldUnicode(scratch[:0], tok)) {
		if !unicode.Is(unicode.Mn, r) {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, true
}

// atoi reads a short run of ASCII digits (the caller checked them).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
