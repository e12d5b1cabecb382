package soql

import "strconv"

// MaxLength is the longest SOQL statement Salesforce accepts, in characters: "By default,
// 100,000 characters" ("SOQL and SOSL Limits for Search Queries", Salesforce Developer Limits and
// Allocations Quick Reference). Longer statements are refused with MALFORMED_QUERY "SOQL
// statements can not be longer than 100000 characters." before they are parsed. SOSL "has the
// same limits that SOQL imposes" (SOQL and SOSL Reference, "SOSL Limits on Objects"), so a SOSL
// statement, and a parameterized search's term, is held to the same length (MALFORMED_SEARCH).
// Characters are counted as Java counts them, in UTF-16 code units.
const MaxLength = 100_000

// MaxDepth bounds how deeply a statement may nest: parentheses, NOT and subqueries each add a
// level. Salesforce documents no nesting limit; it refuses conditions it finds too complex with
// QUERY_TOO_COMPLICATED ("Query is either selecting too many fields or the filter conditions are
// too complicated."), and so does this parser past MaxDepth levels, which no query a client
// builds comes near. The bound is what keeps the parser's recursion, and every walk over the
// syntax tree, from growing with the input.
const MaxDepth = 100

// TooComplicated is Salesforce's QUERY_TOO_COMPLICATED error.
func TooComplicated() *Error {
	return statementError("QUERY_TOO_COMPLICATED", "Query is either selecting too many fields or the filter conditions are too complicated.")
}

// tooLong reports whether s is longer than MaxLength UTF-16 code units.
func tooLong(s string) bool {
	if len(s) <= MaxLength { // a UTF-8 string has at least as many bytes as UTF-16 units
		return false
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++ // a surrogate pair
		}
		if n > MaxLength {
			return true
		}
	}
	return false
}

// lengthError is the error for a statement longer than MaxLength; what names the language
// ("SOQL" or "SOSL").
func lengthError(code, what string) *Error {
	return statementError(code, what+" statements can not be longer than "+strconv.Itoa(MaxLength)+" characters.")
}
