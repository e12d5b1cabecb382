package flows

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// appendPhone appends a phone number in E.164 form ("+442079460111") as libphonenumber reads
// it (through its Go port, github.com/nyaruka/phonenumbers) in the main region of the default
// calling code cc: a national number gets the country code and loses its trunk prefix ("020
// …" in the United Kingdom, "8 …" in Russia), "(0)" after a country code is dropped, Italian
// numbers keep their leading 0, international prefixes (00, 011, …) and extensions are
// understood. With last > 0 it appends just the last digits instead.
//
// A number that cannot be parsed (no default calling code and no +, an unknown country code,
// too long) is tried again reduced to its digits (and its leading +); when that fails too,
// those digits are its normalised form. The second try keeps normalisation idempotent: the
// digits written are never a number the parser reads.
func appendPhone(dst []byte, s, cc string, last int) []byte {
	if last > 0 {
		return appendLastDigits(dst, s, last)
	}
	if countDigits(s) < 3 {
		return dst // no phone number is this short
	}
	region := "ZZ" // libphonenumber's unknown region: only numbers written with + parse
	if cc != "" {
		if n, err := strconv.Atoi(cc); err == nil {
			region = phonenumbers.GetRegionCodeForCountryCode(n)
		}
	}
	var n phonenumbers.PhoneNumber
	if parsePhone(s, region, &n) {
		return appendE164(dst, &n, region)
	}
	start := len(dst)
	if strings.HasPrefix(strings.TrimSpace(s), "+") {
		dst = append(dst, '+')
	}
	digits := len(dst)
	if dst = appendDigits(dst, s); len(dst)-digits < 3 {
		return dst[:start]
	}
	if parsePhone(string(dst[start:]), region, &n) {
		return appendE164(dst[:start], &n, region)
	}
	return dst
}

// appendE164 appends n in E.164 form and makes sure that the result reads back as itself:
// libphonenumber reads a few numbers (garbage, mostly: an Italian-style leading 0 parsed in a
// region whose trunk prefix is 0) back as another one. Such a number is read again until it
// is stable; one that does not settle has no normalised form, and nothing is appended.
func appendE164(dst []byte, n *phonenumbers.PhoneNumber, region string) []byte {
	start := len(dst)
	dst, nsn := appendE164Once(dst, n)
	for range 3 {
		if !mayStripNationalPrefix(n.GetCountryCode(), dst[nsn:]) {
			return dst
		}
		written := string(dst[start:])
		if !parsePhone(written, region, n) {
			break
		}
		if dst, nsn = appendE164Once(dst[:start], n); string(dst[start:]) == written {
			return dst
		}
	}
	return dst[:start]
}

// parsePhone parses s into n and reports whether it could. ParseToNumber leaves fields of n
// that this number does not set (its Italian leading zeros) as they were, so n starts empty.
func parsePhone(s, region string, n *phonenumbers.PhoneNumber) bool {
	n.Reset()
	return phonenumbers.ParseToNumber(s, region, n) == nil
}

// appendE164Once appends n as phonenumbers.Format(n, phonenumbers.E164) writes it ("+", the
// country code, the Italian leading zeros, the national number) without its allocations, and
// returns where the national significant number starts in dst.
func appendE164Once(dst []byte, n *phonenumbers.PhoneNumber) (_ []byte, nsn int) {
	dst = append(dst, '+')
	dst = strconv.AppendInt(dst, int64(n.GetCountryCode()), 10)
	nsn = len(dst)
	if n.GetItalianLeadingZero() {
		for range min(max(n.GetNumberOfLeadingZeros(), 0), phonenumbers.MAX_LENGTH_FOR_NSN) {
			dst = append(dst, '0')
		}
	}
	return strconv.AppendUint(dst, n.GetNationalNumber(), 10), nsn
}

// mayStripNationalPrefix reports whether libphonenumber, reading "+cc" and the national
// significant number nsn, might take a national prefix off nsn (its only way of reading an
// E.164 number as another one): whether nsn starts with a match of the national prefix
// pattern (nationalPrefixForParsing) of cc's main region.
func mayStripNationalPrefix(cc int32, nsn []byte) bool {
	prefixes := nationalPrefixes()
	if prefixes == nil {
		return true // no metadata table: check every number by reading it back
	}
	re := prefixes[cc]
	return re != nil && re.Match(nsn)
}

// nationalPrefixes maps each calling code to the national prefix pattern of its main region,
// anchored at the start; codes whose region has none are absent. Built once, read only.
var nationalPrefixes = sync.OnceValue(func() map[int32]*regexp.Regexp {
	all, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	out := map[int32]*regexp.Regexp{}
	for _, md := range all.GetMetadata() {
		cc := md.GetCountryCode()
		if md.GetId() != phonenumbers.GetRegionCodeForCountryCode(int(cc)) || md.GetNationalPrefixForParsing() == "" {
			continue
		}
		re, err := regexp.Compile("^(?:" + md.GetNationalPrefixForParsing() + ")")
		if err != nil {
			return nil
		}
		out[cc] = re
	}
	return out
})

// countDigits counts the decimal digits of s, in any script (libphonenumber reads them all).
func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if '0' <= r && r <= '9' || r >= 0x80 && unicode.IsDigit(r) {
			n++
		}
	}
	return n
}
