package orgdb

import "strings"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const checksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// podID is the two "pod" characters of every id this org issues.
const podID = "5g"

// ID18 returns the 18-character form of a 15- or 18-character id: the 15 case-sensitive
// characters followed by Salesforce's three checksum characters. ok is false when id is not a
// syntactically valid id (15 or 18 base-62 characters, and for 18 a matching checksum; the
// checksum is compared case-insensitively, as Salesforce does).
func ID18(id string) (string, bool) {
	if len(id) != 15 && len(id) != 18 {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return "", false
		}
	}
	var b [18]byte
	copy(b[:], id[:15])
	for g := 0; g < 3; g++ {
		v := 0
		for j := 0; j < 5; j++ {
			if c := id[g*5+j]; c >= 'A' && c <= 'Z' {
				v |= 1 << j
			}
		}
		b[15+g] = checksumAlphabet[v]
	}
	out := string(b[:])
	if len(id) == 18 && !strings.EqualFold(out[15:], id[15:]) {
		return "", false
	}
	return out, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// makeID builds the 18-character id of the n-th record with the given key prefix.
func makeID(prefix string, n uint64) string {
	var b [15]byte
	copy(b[:3], prefix)
	copy(b[3:5], podID)
	b[5] = '0'
	for i := 14; i >= 6; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	id, _ := ID18(string(b[:]))
	return id
}
