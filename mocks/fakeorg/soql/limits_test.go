package soql

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallStack lowers the goroutine stack limit for the rest of the test, so that recursion whose
// depth grows with the input fails here (fatal: stack overflow) instead of passing on a
// gigabyte of stack. Parsing within MaxDepth needs a few tens of kilobytes.
func smallStack(t *testing.T) {
	old := debug.SetMaxStack(512 << 10)
	t.Cleanup(func() { debug.SetMaxStack(old) })
}

func soqlErr(t *testing.T, err error) *Error {
	t.Helper()
	var se *Error
	require.True(t, errors.As(err, &se), "error %v (%T)", err, err)
	return se
}

// nested wraps cond in n pairs of parentheses.
func nested(cond string, n int) string {
	return strings.Repeat("(", n) + cond + strings.Repeat(")", n)
}

func TestStatementLength(t *testing.T) {
	head := "SELECT Id FROM Contact WHERE LastName = '"
	fill := func(n int, unit string) string { return head + strings.Repeat(unit, n) + "'" }
	tests := []struct {
		name string
		src  string
		ok   bool
	}{
		{"100,000 characters", fill(100_000-len(head)-1, "a"), true},
		{"100,001 characters", fill(100_000-len(head), "a"), false},
		// Three bytes of UTF-8, one character: 100,000 characters in 300,000 bytes pass.
		{"100,000 characters of CJK", fill(100_000-len(head)-1, "漢"), true},
		// Outside the BMP a character is two UTF-16 units, as Salesforce (Java) counts them.
		{"50,001 emoji", fill(50_001, "😀"), false},
		{"the issue's 33 MB flat OR chain", "SELECT Id FROM Contact WHERE " + strings.Repeat("Name = 'x' OR ", 3_000_000) + "Name = 'x'", false},
		{"the issue's 2.5 million parentheses", "SELECT Id FROM Contact WHERE " + nested("Name = 'x'", 2_500_000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.src)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			se := soqlErr(t, err)
			assert.Equal(t, "MALFORMED_QUERY", se.Code)
			assert.Equal(t, "SOQL statements can not be longer than 100000 characters.", se.Error())
		})
	}
	t.Run("SOSL", func(t *testing.T) {
		_, err := ParseSearch("FIND {" + strings.Repeat("ab ", 40_000) + "}")
		se := soqlErr(t, err)
		assert.Equal(t, "MALFORMED_SEARCH", se.Code)
		assert.Equal(t, "SOSL statements can not be longer than 100000 characters.", se.Error())
		_, err = ParseSearchTerm(strings.Repeat("ab ", 40_000))
		assert.Equal(t, "MALFORMED_SEARCH", soqlErr(t, err).Code)
	})
}

func TestNestingDepth(t *testing.T) {
	smallStack(t)
	semi := func(n int) string { // n semi-joins, each in the previous one's WHERE clause
		q := "Id != null"
		for range n {
			q = "Id IN (SELECT ContactId FROM AccountContactRelation WHERE " + q + ")"
		}
		return q
	}
	tests := []struct {
		name  string
		where string
		ok    bool
	}{
		{"parentheses at the limit", nested("Name = 'x'", MaxDepth), true},
		{"parentheses past it", nested("Name = 'x'", MaxDepth+1), false},
		{"NOT at the limit", strings.Repeat("NOT ", MaxDepth) + "Name = 'x'", true},
		{"NOT past it", strings.Repeat("NOT ", MaxDepth+1) + "Name = 'x'", false},
		{"NOT and parentheses", strings.Repeat("NOT (", MaxDepth/2) + "Name = 'x'" + strings.Repeat(")", MaxDepth/2) + " AND " + nested("Name = 'y'", MaxDepth), true},
		{"NOT and parentheses past it", strings.Repeat("NOT (", MaxDepth/2+1) + "Name = 'x'" + strings.Repeat(")", MaxDepth/2+1), false},
		{"semi-joins past it", semi(MaxDepth + 1), false},
		{"40,000 characters of parentheses", nested("Name = 'x'", 20_000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("SELECT Id FROM Contact WHERE " + tc.where)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			se := soqlErr(t, err)
			assert.Equal(t, "QUERY_TOO_COMPLICATED", se.Code)
			assert.Equal(t, "Query is either selecting too many fields or the filter conditions are too complicated.", se.Error())
		})
	}
	t.Run("SOSL term", func(t *testing.T) {
		_, err := ParseSearch("FIND {" + nested("ab", MaxDepth) + "}")
		require.NoError(t, err)
		_, err = ParseSearch("FIND {" + nested("ab", MaxDepth+1) + "}")
		assert.Equal(t, "QUERY_TOO_COMPLICATED", soqlErr(t, err).Code)
		_, err = ParseSearchTerm(nested("ab", 1999))
		assert.Equal(t, "QUERY_TOO_COMPLICATED", soqlErr(t, err).Code)
	})
	t.Run("SOSL RETURNING WHERE", func(t *testing.T) {
		_, err := ParseSearch("FIND {ab} RETURNING Contact(Id WHERE " + nested("Name = 'x'", MaxDepth+1) + ")")
		assert.Equal(t, "QUERY_TOO_COMPLICATED", soqlErr(t, err).Code)
	})
}

// TestFlatChainIsOneNode: a chain of OR (or AND) terms is one node holding every term, however
// long, so that nothing walking it recurses per term; parsing it fits in a small stack.
func TestFlatChainIsOneNode(t *testing.T) {
	smallStack(t)
	n := 7000 // "Name = 'x' OR " is 14 characters: about as many terms as 100,000 characters hold
	q, err := Parse("SELECT Id FROM Contact WHERE " + strings.Repeat("Name = 'x' OR ", n-1) + "Name = 'x'")
	require.NoError(t, err)
	chain, ok := q.Where.(*Logical)
	require.True(t, ok)
	assert.Equal(t, "OR", chain.Op)
	assert.Len(t, chain.Terms, n)
	assert.Len(t, comparisons(q.Where), n)

	q, err = Parse("SELECT Id FROM Contact WHERE (A = 1 OR B = 2) AND C = 3 AND NOT (D = 4 AND E = 5)")
	require.NoError(t, err)
	top := q.Where.(*Logical)
	assert.Equal(t, "AND", top.Op)
	require.Len(t, top.Terms, 3)
	assert.Equal(t, "OR", top.Terms[0].(*Logical).Op)
	assert.Len(t, top.Terms[2].(*Not).X.(*Logical).Terms, 2)
}

// TestErrorsEchoABoundedPrefix: an error about a long token or line quotes a bounded part of it.
func TestErrorsEchoABoundedPrefix(t *testing.T) {
	long := strings.Repeat("x", 90_000)
	for _, src := range []string{
		"SELECT Id FROM Contact WHERE " + long + " ! 1",
		"SELECT Id FROM Contact " + long,
		"SELECT Id FROM Contact WHERE Name = '" + long + "\\q'",
		"SELECT Id FROM Contact WHERE Name = 1" + long,
	} {
		_, err := Parse(src)
		msg := soqlErr(t, err).Error()
		assert.Less(t, len(msg), 3*maxEchoedLine+4*MaxEcho+200, "message of %d bytes", len(msg))
		assert.Contains(t, msg, "^\nERROR at Row:1:Column:")
	}
	_, err := ParseSearch("FIND {ab} " + long)
	assert.Less(t, len(soqlErr(t, err).Error()), 3*maxEchoedLine+4*MaxEcho+200)
}

func TestErrorDiagramWindow(t *testing.T) {
	src := "SELECT Id FROM Contact WHERE Name = 'a' AND " + strings.Repeat("Name = 'a' AND ", 100) + "Name == 'b'"
	_, err := Parse(src)
	se := soqlErr(t, err)
	lines := strings.Split(se.Error(), "\n")
	require.Len(t, lines, 5)
	assert.LessOrEqual(t, len([]rune(lines[1])), maxEchoedLine)
	caret := strings.Index(lines[2], "^")
	assert.Equal(t, "=", string([]rune(lines[1])[caret]), "the caret still points at the offending token")
	assert.Equal(t, fmt.Sprintf("ERROR at Row:1:Column:%d", strings.Index(src, "==")+2), lines[3])
}

func TestClip(t *testing.T) {
	assert.Equal(t, "short", Clip("short"))
	long := strings.Repeat("é", 3*MaxEcho)
	assert.Equal(t, strings.Repeat("é", MaxEcho)+"…", Clip(long))
	assert.Equal(t, strings.Repeat("a", MaxEcho), Clip(strings.Repeat("a", MaxEcho)))
}
