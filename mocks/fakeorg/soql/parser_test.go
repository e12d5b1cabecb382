package soql

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// escape is Salesforce's escaping of a SOQL string literal (salesforce.md §5); like also
// escapes the LIKE wildcards. Tests use it to build queries from arbitrary text.
func escape(s string, like bool) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`)
	s = r.Replace(s)
	if like {
		s = strings.NewReplacer(`%`, `\%`, `_`, `\_`).Replace(s)
	}
	return s
}

// comparisons returns every Comparison of a WHERE clause.
func comparisons(e Expr) []*Comparison {
	var out []*Comparison
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Comparison); ok {
			out = append(out, c)
		}
		return true
	})
	return out
}

func TestParseSelect(t *testing.T) {
	q, err := Parse("select Id, Account.Name, COUNT(Id) n, (SELECT LastName FROM Contacts WHERE Email != null ORDER BY LastName LIMIT 5) FROM Account WHERE (Name LIKE 'A%' OR Phone IN ('1', '2')) AND NOT IsDeleted = TRUE AND Roles INCLUDES ('a;b', 'c') ORDER BY Name DESC NULLS LAST, CreatedDate LIMIT 10 OFFSET 5 FOR VIEW")
	require.NoError(t, err)
	require.Len(t, q.Select, 4)
	assert.Equal(t, []string{"Account", "Name"}, q.Select[1].(*FieldRef).Path)
	agg := q.Select[2].(*Aggregate)
	assert.Equal(t, "COUNT", agg.Func)
	assert.Equal(t, "n", agg.Alias)
	sub := q.Select[3].(*Subquery).Query
	assert.Equal(t, "Contacts", sub.From.Name)
	assert.Equal(t, 5, sub.Limit.Value)
	assert.Equal(t, "Account", q.From.Name)
	src := q.From.Pos.Offset
	assert.Equal(t, Pos{Row: 1, Column: src + 1, Offset: src}, q.From.Pos)
	assert.Equal(t, 121, src)
	top := q.Where.(*Logical)
	assert.Equal(t, "AND", top.Op)
	require.Len(t, q.OrderBy, 2)
	assert.True(t, q.OrderBy[0].Desc)
	assert.True(t, q.OrderBy[0].NullsLast)
	assert.False(t, q.OrderBy[1].NullsLast, "ASC puts nulls first by default")
	assert.Equal(t, 10, q.Limit.Value)
	assert.Equal(t, 5, q.Offset.Value)
	assert.Equal(t, "VIEW", q.For)
	var sets []*SetComparison
	Walk(q.Where, func(x Expr) bool {
		if s, ok := x.(*SetComparison); ok {
			sets = append(sets, s)
		}
		return true
	})
	require.Len(t, sets, 2)
	assert.Equal(t, "IN", sets[0].Op)
	assert.Equal(t, "INCLUDES", sets[1].Op)
	assert.Equal(t, "a;b", sets[1].Values[0].Value)
}

func TestParseLiterals(t *testing.T) {
	tests := []struct {
		lit   string
		kind  LiteralKind
		value string
		n     int
	}{
		{"'x'", String, "x", 0},
		{"''", String, "", 0},
		{"42", Number, "42", 0},
		{"-1.5", Number, "-1.5", 0},
		{".5", Number, ".5", 0},
		{"TRUE", Boolean, "true", 0},
		{"false", Boolean, "false", 0},
		{"null", Null, "", 0},
		{"2024-01-02", Date, "2024-01-02", 0},
		{"2024-01-02T10:00:00Z", DateTime, "2024-01-02T10:00:00Z", 0},
		{"2024-01-02T10:00:00.123+02:00", DateTime, "2024-01-02T10:00:00.123+02:00", 0},
		{"2024-01-02T10:00:00-0500", DateTime, "2024-01-02T10:00:00-0500", 0},
		{"TODAY", DateLiteral, "TODAY", 0},
		{"yesterday", DateLiteral, "YESTERDAY", 0},
		{"LAST_N_DAYS:30", DateLiteral, "LAST_N_DAYS", 30},
		{"next_n_days : 7", DateLiteral, "NEXT_N_DAYS", 7},
	}
	for _, tc := range tests {
		t.Run(tc.lit, func(t *testing.T) {
			q, err := Parse("SELECT Id FROM Account WHERE X = " + tc.lit)
			require.NoError(t, err)
			c := q.Where.(*Comparison)
			assert.Equal(t, tc.kind, c.Value.Kind)
			assert.Equal(t, tc.value, c.Value.Value)
			assert.Equal(t, tc.n, c.Value.N)
		})
	}
}

func TestStringEscapes(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`a\\b`, `a\b`},
		{`O\'Brien`, `O'Brien`},
		{`say \"hi\"`, `say "hi"`},
		{`a\nb`, "a\nb"},
		{`a\rb`, "a\rb"},
		{`a\tb`, "a\tb"},
		{`a\bb`, "a\bb"},
		{`a\fb`, "a\fb"},
		{`100\%`, `100%`},
		{`a\_b`, `a_b`},
		{`unicode: Zoë ’ “ 日本`, `unicode: Zoë ’ “ 日本`},
	}
	for _, tc := range tests {
		q, err := Parse(`SELECT Id FROM Contact WHERE LastName = '` + tc.raw + `'`)
		require.NoError(t, err, tc.raw)
		c := q.Where.(*Comparison)
		assert.Equal(t, tc.want, c.Value.Value, tc.raw)
		assert.Equal(t, tc.raw, c.Value.Raw, tc.raw)
	}
	for _, bad := range []string{`\x`, `\u0041`, `\`, `\0`, `a\ b`} {
		_, err := Parse(`SELECT Id FROM Contact WHERE LastName = '` + bad + `'`)
		var se *Error
		require.True(t, errors.As(err, &se), bad)
		assert.Equal(t, "MALFORMED_QUERY", se.Code)
	}
}

// TestInjectionStaysLiteral: any text, escaped as Salesforce says, parses back to exactly one
// comparison whose value is that text, whatever it contains.
func TestInjectionStaysLiteral(t *testing.T) {
	corpus := []string{
		`x' OR Name LIKE '`,
		`\' OR 1=1 --`,
		`%`, `_`, `%_%`, `\`, `\\`, `'`, `''`, `"`, `\'`,
		`' OR Id != null OR Name = '`,
		`') OR (Name = 'x`,
		`x' AND Phone IN ('1`,
		"line\nbreak' OR Name = 'x",
		"tab\tand\rreturn\b\f",
		`’ OR Name LIKE ’%`, `‘x’`, `“quoted”`, `ʼ OR 1=1`,
		`SELECT Id FROM User`, `) FROM User WHERE (Id != null`,
		`{!x}`, `:bind`, `LAST_N_DAYS:1`, `null`, `TRUE`,
		"\u0000", "日本語' OR '", strings.Repeat(`\'`, 50),
	}
	for _, s := range corpus {
		for _, like := range []bool{false, true} {
			op := "="
			if like {
				op = "LIKE"
			}
			src := "SELECT Id FROM Contact WHERE LastName " + op + " '" + escape(s, like) + "' AND IsDeleted = false"
			q, err := Parse(src)
			require.NoError(t, err, s)
			cs := comparisons(q.Where)
			require.Len(t, cs, 2, s)
			assert.Equal(t, op, cs[0].Op)
			assert.Equal(t, String, cs[0].Value.Kind)
			assert.Equal(t, s, cs[0].Value.Value, "the text stays literal")
			assert.Equal(t, []string{"IsDeleted"}, cs[1].Field.Path)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src    string
		row    int
		col    int
		detail string
	}{
		{"SELECT FROM Account", 1, 8, "unexpected token: 'FROM'"},
		{"SELECT Id FROM", 1, 15, "unexpected token: '<EOF>'"},
		{"SELECT Id FROM Account WHERE", 1, 29, "unexpected token: '<EOF>'"},
		{"SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", 1, 56, "unexpected token: 'OR'"},
		{"SELECT Id FROM Account WHERE Name = ", 1, 37, "unexpected token: '<EOF>'"},
		{"SELECT Id FROM Account WHERE Name == 'a'", 1, 36, "unexpected token: '='"},
		{"SELECT Id FROM Account LIMIT -1", 1, 30, "unexpected token: '-1'"},
		{"SELECT Id FROM Account LIMIT x", 1, 30, "unexpected token: 'x'"},
		{"SELECT Id,\nName\nFROM Account WHERE Name = 'x' garbage", 3, 31, "unexpected token: 'garbage'"},
		{"SELECT Id FROM Account WHERE Name = 'x", 1, 37, "mismatched character '<EOF>'"},
		{"SELECT Id FROM Account WHERE Name = 'a\\qb'", 1, 39, "Illegal character sequence '\\q'"},
		{"SELECT (SELECT (SELECT Id FROM A) FROM B) FROM C", 1, 16, "unexpected token: '('"},
		{"SELECT Id FROM Account WHERE Name IN ()", 1, 39, "unexpected token: ')'"},
		{"SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", 1, 55, "unexpected token: '<EOF>'"},
		{"SELECT Id FROM Account WHERE Name = BOGUS", 1, 37, "unexpected token: 'BOGUS'"},
		{"SELECT Id FROM Account #", 1, 24, "unexpected token: '#'"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Parse(tc.src)
			var se *Error
			require.True(t, errors.As(err, &se))
			assert.Equal(t, "MALFORMED_QUERY", se.Code)
			assert.Equal(t, tc.row, se.Row)
			assert.Equal(t, tc.col, se.Column)
			assert.Contains(t, se.Detail, tc.detail)
			msg := se.Error()
			assert.Contains(t, msg, "ERROR at Row:")
			lines := strings.Split(msg, "\n")
			require.GreaterOrEqual(t, len(lines), 5)
			assert.Equal(t, strings.Repeat(" ", tc.col-1)+"^", lines[2], "the caret points at the column")
		})
	}
}

func TestErrorDiagram(t *testing.T) {
	err := NewError("INVALID_FIELD", "SELECT Naem FROM Account", Pos{Row: 1, Column: 8}, "No such column 'Naem' on entity 'Account'.")
	assert.Equal(t, "\nSELECT Naem FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Naem' on entity 'Account'.", err.Error())
}

func TestParseSearch(t *testing.T) {
	s, err := ParseSearch(`FIND {"Alice Martin" OR (Bob AND NOT Smith) jo*} IN NAME FIELDS RETURNING Account(Id, Name WHERE IsPersonAccount = true ORDER BY Name LIMIT 5), Contact, Lead(Name) LIMIT 20`)
	require.NoError(t, err)
	assert.Equal(t, "NAME", s.In)
	require.Len(t, s.Returning, 3)
	assert.Equal(t, "Account", s.Returning[0].Object.Name)
	assert.Len(t, s.Returning[0].Fields, 2)
	assert.NotNil(t, s.Returning[0].Where)
	assert.Equal(t, 5, s.Returning[0].Limit.Value)
	assert.Nil(t, s.Returning[1].Fields)
	assert.Equal(t, 20, s.Limit.Value)
	or := s.Expr.(*SearchLogical)
	assert.Equal(t, "OR", or.Op)
	assert.Equal(t, &SearchWord{Pos: Pos{Row: 1, Column: 7, Offset: 6}, Text: "Alice Martin", Pattern: "Alice Martin", Phrase: true}, or.X)
	and := or.Y.(*SearchLogical)
	assert.Equal(t, "AND", and.Op)
	assert.Equal(t, "jo*", and.Y.(*SearchWord).Pattern)
	inner := and.X.(*SearchLogical)
	assert.IsType(t, &SearchNot{}, inner.Y)
}

// escapeSearch is Salesforce's escaping of a FIND term (salesforce.md §5).
func escapeSearch(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(searchReserved, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestSearchEscapesStayLiteral(t *testing.T) {
	for _, s := range []string{`O'Brien`, `x} RETURNING User(Id`, `a*b?c`, `"quoted"`, `AT&T`, `+1 (415) 555-0101`, `back\slash`, `a{}[]()^~:!|&-+b`, `Zoë`} {
		src := "FIND {" + escapeSearch(s) + "} RETURNING Contact(Id)"
		q, err := ParseSearch(src)
		require.NoError(t, err, s)
		require.Len(t, q.Returning, 1, s)
		assert.Equal(t, "Contact", q.Returning[0].Object.Name)
		var words []string
		var walk func(SearchExpr)
		walk = func(e SearchExpr) {
			switch x := e.(type) {
			case *SearchWord:
				words = append(words, x.Text)
				assert.NotContains(t, strings.ReplaceAll(x.Pattern, `\*`, ""), "*", "an escaped * is no wildcard")
				assert.NotContains(t, strings.ReplaceAll(x.Pattern, `\?`, ""), "?", "an escaped ? is no wildcard")
			case *SearchLogical:
				assert.Equal(t, "AND", x.Op, "no operator appears from escaped text")
				walk(x.X)
				walk(x.Y)
			default:
				t.Fatalf("unexpected %T in %q", e, s)
			}
		}
		walk(q.Expr)
		joined := strings.Join(words, " ")
		for _, w := range strings.Fields(s) {
			if hasWordChar(w) {
				assert.Contains(t, joined, w, s)
			}
		}
	}
}

func TestParseSearchErrors(t *testing.T) {
	tests := []struct{ src, detail string }{
		{"FIND {a}", "search term must be longer than one character"},
		{"FIND {}", "search term must be longer than one character"},
		{"FIND {-}", "search term must be longer than one character"},
		{"FIND {ab OR c}", "search term must be longer than one character"},
		{"FIND {*}", "search term must be longer than one character"},
		{"FIND {abc", "Missing '}'"},
		{"FIND abc", "unexpected token"},
		{`FIND {"abc}`, "unmatched quotes"},
		{"FIND {abc OR}", "unexpected token: '<EOF>'"},
		{"FIND {abc} IN FOO FIELDS", "unexpected token: 'FOO'"},
		{"FIND {abc} RETURNING Account(", "unexpected token: '<EOF>'"},
		{"FIND {abc} RETURNING Account(Id WHERE)", "unexpected token: ')'"},
	}
	for _, tc := range tests {
		_, err := ParseSearch(tc.src)
		var se *Error
		require.True(t, errors.As(err, &se), tc.src)
		assert.Equal(t, "MALFORMED_SEARCH", se.Code, tc.src)
		assert.Contains(t, se.Detail, tc.detail, tc.src)
	}
}

func TestLongSearchTermDropsOperators(t *testing.T) {
	long := strings.Repeat("word ", 801) + "OR (other)"
	require.Greater(t, len(long), 4000)
	s, err := ParseSearch("FIND {" + long + "}")
	require.NoError(t, err)
	var ops []string
	var walk func(SearchExpr)
	walk = func(e SearchExpr) {
		if l, ok := e.(*SearchLogical); ok {
			ops = append(ops, l.Op)
			walk(l.X)
			walk(l.Y)
		}
	}
	walk(s.Expr)
	assert.NotContains(t, ops, "OR")
}

func TestParseFieldsAndWith(t *testing.T) {
	q, err := Parse("SELECT fields(standard), Id FROM Account WITH SECURITY_ENFORCED ORDER BY Name LIMIT 200")
	require.NoError(t, err)
	assert.Equal(t, &FieldsFunc{Pos: Pos{Row: 1, Column: 8, Offset: 7}, Kind: "STANDARD"}, q.Select[0])
	assert.Equal(t, "SECURITY_ENFORCED", q.With)
	_, err = Parse("SELECT FIELDS(SOME) FROM Account")
	require.Error(t, err)
	_, err = Parse("SELECT Id FROM Account WITH NOTHING")
	require.Error(t, err)
}
