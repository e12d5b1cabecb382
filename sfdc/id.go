package sfdc

import "errors"

// ID is a Salesforce record id in its 18-character, case-insensitive-safe form. The zero ID is
// empty and is never a valid record id. Build one with ParseID.
type ID string

// ErrBadID is returned for a string that is not a 15- or 18-character record id, or whose
// 18-character checksum does not match.
var ErrBadID = errors.New("sfdc: not a record id")

const idSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// ParseID validates s as a 15- or 18-character record id (base 62, ASCII letters and digits) and
// returns its 18-character form. An 18-character id must carry the checksum that matches its
// first 15 characters; ids stay case-sensitive. The error never contains s.
func ParseID(s string) (ID, error) { return parseID(s) }

// parseID is ParseID for text or bytes (an id read from an answer's JSON).
func parseID[S ~string | ~[]byte](s S) (ID, error) {
	if len(s) != 15 && len(s) != 18 {
		return "", ErrBadID
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return "", ErrBadID
		}
	}
	var buf [18]byte
	copy(buf[:15], s[:15])
	idSuffix(buf[:15], buf[15:])
	if len(s) == 18 && string(buf[15:]) != string(s[15:]) {
		// Salesforce compares the suffix case-insensitively; so do we, and return ours.
		for i := 15; i < 18; i++ {
			if upper(s[i]) != buf[i] {
				return "", ErrBadID
			}
		}
	}
	return ID(buf[:]), nil
}

// MustParseID is ParseID for constants in tests and examples; it panics on a bad id.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic("sfdc: MustParseID: not a record id")
	}
	return id
}

// String returns the 18-character id.
func (id ID) String() string { return string(id) }

// Short returns the 15-character, case-sensitive form.
func (id ID) Short() string {
	if len(id) < 15 {
		return string(id)
	}
	return string(id[:15])
}

// Prefix returns the key prefix: the 3 characters that name the object (001 Account, 003 Contact).
func (id ID) Prefix() string {
	if len(id) < 3 {
		return ""
	}
	return string(id[:3])
}

// valid reports whether id is a well-formed 18-character id with its checksum, as ParseID
// returns them. It does not allocate.
func (id ID) valid() bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 18; i++ {
		if !isAlnum(id[i]) {
			return false
		}
	}
	var id15 [15]byte
	var sum [3]byte
	copy(id15[:], id[:15])
	idSuffix(id15[:], sum[:])
	return string(sum[:]) == string(id[15:])
}

// idSuffix writes the 3 checksum characters for the 15-character id into dst.
func idSuffix(id15, dst []byte) {
	for g := 0; g < 3; g++ {
		var bits byte
		for j := 0; j < 5; j++ {
			if c := id15[g*5+j]; c >= 'A' && c <= 'Z' {
				bits |= 1 << j
			}
		}
		dst[g] = idSuffixAlphabet[bits]
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
