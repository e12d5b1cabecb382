package soql

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: the parser never panics, and bad input is a MALFORMED_QUERY *Error whose position
// lies inside the input, or a statement error without a position (QUERY_TOO_COMPLICATED for
// nesting past MaxDepth).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT Id FROM Account",
		"SELECT Id, Name, Account.Name FROM Contact WHERE LastName = 'O\\'Brien' AND Birthdate > 2000-01-01",
		"SELECT COUNT() FROM Contact WHERE CreatedDate = LAST_N_DAYS:30",
		"SELECT Id, (SELECT Id FROM Contacts ORDER BY Name DESC NULLS LAST LIMIT 5) FROM Account LIMIT 10 OFFSET 2",
		"SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM AccountContactRelation WHERE Roles INCLUDES ('a;b'))",
		"SELECT Id FROM Lead WHERE NOT (Status = 'x' OR Email LIKE '%\\_%')",
		"SELECT Id FROM Account WHERE Name = '",
		"SELECT Id FROM Account WHERE Name = '\\x'",
		"FIND {x}",
		"SELECT Id FROM Contact WHERE " + nested("Name = 'x'", MaxDepth),
		"SELECT Id FROM Contact WHERE " + nested("Name = 'x'", MaxDepth+1),
		"SELECT Id FROM Contact WHERE " + strings.Repeat("NOT ", MaxDepth+1) + "Name = 'x'",
		"SELECT Id FROM Contact WHERE " + strings.Repeat("A = 1 OR ", 500) + "A = 2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err == nil {
			if q == nil || q.From.Name == "" || len(q.Select) == 0 {
				t.Fatalf("Parse(%q) gave an incomplete query", src)
			}
			return
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q): error of type %T", src, err)
		}
		if se.Row == 0 && (se.Code == "QUERY_TOO_COMPLICATED" || se.Code == "MALFORMED_QUERY" && tooLong(src)) {
			return
		}
		if se.Code != "MALFORMED_QUERY" {
			t.Fatalf("Parse(%q): code %s", src, se.Code)
		}
		if se.Row < 1 || se.Column < 1 || se.Row > strings.Count(src, "\n")+1 {
			t.Fatalf("Parse(%q): position %d:%d outside the input", src, se.Row, se.Column)
		}
		_ = se.Error()
	})
}

// FuzzStringLiteral: any valid UTF-8 text, escaped as Salesforce says, comes back as exactly one
// comparison whose value is that text.
func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"x' OR Name LIKE '", `\' OR 1=1 --`, "%", "_", "’", "a\nb", ""} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, like bool) {
		if !utf8.ValidString(s) {
			return
		}
		op := "="
		if like {
			op = "LIKE"
		}
		q, err := Parse("SELECT Id FROM Contact WHERE LastName " + op + " '" + escape(s, like) + "'")
		if err != nil {
			t.Fatalf("escaped %q does not parse: %v", s, err)
		}
		c, ok := q.Where.(*Comparison)
		if !ok || c.Op != op || c.Value.Kind != String || c.Value.Value != s {
			t.Fatalf("escaped %q parsed as %#v", s, q.Where)
		}
	})
}

// FuzzParseSearch: the SOSL parser never panics; bad input is MALFORMED_SEARCH, or
// QUERY_TOO_COMPLICATED for nesting past MaxDepth.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		`FIND {Alice} IN NAME FIELDS RETURNING Account(Id, Name WHERE IsPersonAccount = true LIMIT 5), Contact LIMIT 10`,
		`FIND {"a b" OR (c* AND NOT d?)}`,
		`FIND {\{x\}}`,
		"FIND {" + nested("ab", MaxDepth+1) + "}",
		"FIND {ab} RETURNING Contact(Id WHERE " + nested("Name = 'x'", MaxDepth+1) + ")",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := ParseSearch(src)
		if err == nil {
			return
		}
		var se *Error
		if !errors.As(err, &se) || se.Code != "MALFORMED_SEARCH" && se.Code != "QUERY_TOO_COMPLICATED" {
			t.Fatalf("ParseSearch(%q): %v", src, err)
		}
	})
}

// FuzzNesting builds statements nested as deep as the fuzzer likes, from a mix of parentheses,
// NOT, semi-joins and SOSL groups: parsing never overflows the stack (the test runs with a small
// one), and fails with QUERY_TOO_COMPLICATED exactly when the nesting passes MaxDepth.
func FuzzNesting(f *testing.F) {
	f.Add(uint16(MaxDepth), []byte("(N"))
	f.Add(uint16(MaxDepth+1), []byte("(NS"))
	f.Add(uint16(5000), []byte("("))
	f.Add(uint16(3), []byte("S"))
	f.Fuzz(func(t *testing.T, depth uint16, kinds []byte) {
		if len(kinds) == 0 {
			return
		}
		smallStack(t)
		var open, close strings.Builder
		for i := range int(depth) {
			switch kinds[i%len(kinds)] % 3 {
			case 0:
				open.WriteString("(")
				close.WriteString(")")
			case 1:
				open.WriteString("NOT ")
			default:
				open.WriteString("Id IN (SELECT AccountId FROM Contact WHERE ")
				close.WriteString(")")
			}
		}
		src := "SELECT Id FROM Account WHERE " + open.String() + "Name = 'x'"
		src += reverse(close.String())
		_, err := Parse(src)
		switch {
		case tooLong(src):
			if err == nil {
				t.Fatalf("a statement of %d bytes parsed", len(src))
			}
		case int(depth) <= MaxDepth && err != nil:
			t.Fatalf("depth %d: %v", depth, err)
		case int(depth) > MaxDepth:
			var se *Error
			if !errors.As(err, &se) || se.Code != "QUERY_TOO_COMPLICATED" {
				t.Fatalf("depth %d: %v", depth, err)
			}
		}
		term := strings.Repeat("(", int(depth)) + "ab" + strings.Repeat(")", int(depth))
		_, err = ParseSearch("FIND {" + term + "}")
		if int(depth) <= MaxDepth && len(term) <= maxOperatorTerm && err != nil {
			t.Fatalf("SOSL depth %d: %v", depth, err)
		}
	})
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}
