package flows

// Salesforce names a record by a 15-character, case-sensitive id (what its UI shows) or by the
// same id with a 3-character suffix that encodes the case of the first 15, which makes the
// 18-character form case-safe (what its API returns); its API takes either. See Object
// Reference, Field Types, "ID Field Type":
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/field_types.htm
//
// Failures, verified marks and audits are kept by record id, so every id a caller hands the
// engine is first brought to the one form the CRM returns: otherwise "001…" and "001…AAA" (or
// "001…aaa") would be one person with two failure counters.

// caseSafeSuffix are the characters of the suffix: each encodes, in 5 bits, which of 5
// characters of the id are upper-case letters.
const caseSafeSuffix = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// CaseSafeID returns id, a record id in its 15- or 18-character form, in its 18-character
// case-safe form, as Salesforce's API returns it: a 15-character id gets its suffix; an
// 18-character one gets the case of its first 15 characters from its suffix (which is read
// ignoring case, as Salesforce does) and an upper-case suffix. ok is false when id is not a
// record id: not 15 or 18 letters and digits, or a suffix that is no suffix or marks a digit
// as upper case.
func CaseSafeID(id string) (_ string, ok bool) {
	if len(id) != 15 && len(id) != 18 {
		return "", false
	}
	var b [18]byte
	for i := range len(id) {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false
		}
		b[i] = c
	}
	if len(id) == 18 {
		for chunk := range 3 {
			bits := suffixBits(b[15+chunk])
			if bits < 0 {
				return "", false
			}
			for i := range 5 {
				c := &b[chunk*5+i]
				upper := bits>>i&1 == 1
				switch {
				case 'a' <= *c && *c <= 'z' && upper:
					*c -= 'a' - 'A'
				case 'A' <= *c && *c <= 'Z' && !upper:
					*c += 'a' - 'A'
				case '0' <= *c && *c <= '9' && upper:
					return "", false
				}
			}
		}
	}
	for chunk := range 3 {
		bits := 0
		for i := range 5 {
			if c := b[chunk*5+i]; 'A' <= c && c <= 'Z' {
				bits |= 1 << i
			}
		}
		b[15+chunk] = caseSafeSuffix[bits]
	}
	if string(b[:]) == id {
		return id, true // already case-safe, as ids from the CRM are: no copy
	}
	return string(b[:]), true
}

// suffixBits returns the 5 bits suffix character c encodes, ignoring case, or -1.
func suffixBits(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c - 'a')
	case '0' <= c && c <= '5':
		return 26 + int(c-'0')
	}
	return -1
}

// userKeyPrefix starts the id of every User record: the key prefix Salesforce gives the User
// object (Object Reference, "User"; the fake org's schema gives it too).
const userKeyPrefix = "005"
