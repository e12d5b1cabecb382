package sfdc_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
	"github.com/idverify/idverify/sfdc"
)

// The fuzz targets parse what the builders produce with the fake org's parser (an independent
// implementation of Salesforce's grammar) and check that the structure is exactly the one built:
// whatever the input, it stays one literal.

func FuzzSOQLString(f *testing.F) {
	for _, s := range []string{"", "O'Brien", `x' OR Name LIKE '`, `\'`, `\`, "a\nb\tc\rd\be\ff", `%_`, `" OR "1"="1`,
		"ü 漢字 🙂", "') OR (Id != '", "\\\\'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := sfdc.Select("Id", "Name").From("Contact").Where(sfdc.Eq("LastName", s)).Limit(5)
		text, err := q.SOQL()
		if !utf8.ValidString(s) {
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			return
		}
		require.NoError(t, err)
		ast, err := soql.Parse(text)
		require.NoError(t, err, "built query must parse")
		require.Len(t, ast.Select, 2)
		require.Equal(t, "Contact", ast.From.Name)
		require.NotNil(t, ast.Limit)
		require.Equal(t, 5, ast.Limit.Value)
		cmp, ok := ast.Where.(*soql.Comparison)
		require.True(t, ok, "WHERE is one comparison, got %T", ast.Where)
		require.Equal(t, "LastName", cmp.Field.String())
		require.Equal(t, "=", cmp.Op)
		require.Equal(t, soql.String, cmp.Value.Kind)
		require.Equal(t, s, cmp.Value.Value)
	})
}

func FuzzSOQLIn(f *testing.F) {
	f.Add("a", "b'", `c\`)
	f.Add("", ",", "')")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		vals := []string{a, b, c}
		text, err := sfdc.Select("Id").From("Account").Where(sfdc.In("Phone", vals)).SOQL()
		if !utf8.ValidString(a) || !utf8.ValidString(b) || !utf8.ValidString(c) {
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			return
		}
		require.NoError(t, err)
		ast, err := soql.Parse(text)
		require.NoError(t, err)
		set, ok := ast.Where.(*soql.SetComparison)
		require.True(t, ok, "WHERE is one IN, got %T", ast.Where)
		require.Equal(t, "IN", set.Op)
		require.Len(t, set.Values, 3)
		for i, v := range set.Values {
			require.Equal(t, soql.String, v.Kind)
			require.Equal(t, vals[i], v.Value)
		}
	})
}

func FuzzSOQLLike(f *testing.F) {
	for _, s := range []string{"", "50%", "a_b", `\%`, `x' OR Name LIKE '`, "%'--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := sfdc.Select("Id").From("Account").Where(sfdc.Like("Name", sfdc.Contains(s))).SOQL()
		if !utf8.ValidString(s) {
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			return
		}
		require.NoError(t, err)
		ast, err := soql.Parse(text)
		require.NoError(t, err)
		cmp, ok := ast.Where.(*soql.Comparison)
		require.True(t, ok, "WHERE is one comparison, got %T", ast.Where)
		require.Equal(t, "LIKE", cmp.Op)
		require.Equal(t, soql.String, cmp.Value.Kind)
		require.Equal(t, "%"+s+"%", cmp.Value.Value)
		// In the pattern itself only the outer '%' are wildcards: every '%' and '_' of s is escaped.
		require.Equal(t, "%"+sfdc.EscapeLike(s)+"%", cmp.Value.Raw)
		inner := cmp.Value.Raw[1 : len(cmp.Value.Raw)-1]
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\\' {
				i++
				continue
			}
			require.NotContains(t, "%_", string(inner[i]), "unescaped wildcard in %q", inner)
		}
	})
}

func FuzzSOSL(f *testing.F) {
	for _, s := range []string{"john smith", "x} IN ALL FIELDS RETURNING User(Id)", `"quoted" OR x`, `a\`, "AND NOT or",
		"*?", "+44 (20) 7946-0000", "ab\ncd", "ü漢字", "Smith J. 1980", `ab" OR "cd`, "(ab OR cd) AND NOT ef", "ab\u00a0cd\u2003ef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := sfdc.Find(s).In(sfdc.NameFields).Returning(sfdc.Returning{Object: "Contact", Fields: []string{"Id"}}).Limit(3).SOSL()
		want := searchWords(s)
		if !utf8.ValidString(s) || len(want) == 0 {
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			return
		}
		if utf8.RuneCountInString(s) > 4000 || quotedLen(want) > 4000 {
			require.ErrorIs(t, err, sfdc.ErrBadQuery, "past 4,000 characters Salesforce drops the operators")
			return
		}
		require.NoError(t, err)
		ast, err := soql.ParseSearch(text)
		require.NoError(t, err, "built search must parse")
		// The term is the words ANDed, in order: (((w1 AND w2) AND w3) …), each a quoted phrase
		// holding exactly the word, with no wildcard.
		words := andedPhrases(t, ast.Expr)
		require.Len(t, words, len(want))
		for i, w := range words {
			require.True(t, w.Phrase)
			require.Equal(t, want[i], w.Text)
			require.Empty(t, unescapedWildcards(w.Pattern))
		}
		require.LessOrEqual(t, len(ast.Term), 4000, "past 4,000 characters Salesforce drops the operators")
		require.Equal(t, "NAME", ast.In)
		require.Len(t, ast.Returning, 1)
		require.Equal(t, "Contact", ast.Returning[0].Object.Name)
		require.NotNil(t, ast.Limit)
		require.Equal(t, 3, ast.Limit.Value)
	})
}

// searchWords is Find's contract, written independently: the text split at white space and
// control characters, keeping words with at least two letters or digits.
func searchWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		n := 0
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			}
		}
		if n >= 2 {
			out = append(out, w)
		}
	}
	return out
}

// quotedLen is the length in bytes of the words quoted, escaped and joined with " AND ".
func quotedLen(words []string) int {
	n := 0
	for i, w := range words {
		if i > 0 {
			n += len(" AND ")
		}
		n += len(w) + 2
		for _, r := range w {
			if strings.ContainsRune(`?&|!{}[]()^~*:\"'+-`, r) {
				n++
			}
		}
	}
	return n
}

// andedPhrases returns the leaves of a left-deep chain of ANDs, failing on any other node.
func andedPhrases(t *testing.T, e soql.SearchExpr) []*soql.SearchWord {
	switch x := e.(type) {
	case *soql.SearchWord:
		return []*soql.SearchWord{x}
	case *soql.SearchLogical:
		require.Equal(t, "AND", x.Op)
		y, ok := x.Y.(*soql.SearchWord)
		require.True(t, ok, "right of AND is one word, got %T", x.Y)
		return append(andedPhrases(t, x.X), y)
	}
	require.Failf(t, "unexpected search node", "%T", e)
	return nil
}

func FuzzSOSLPrefix(f *testing.F) {
	for _, s := range []string{"smi", "OR", "NOT", "a*b", `x\`, "(ab)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := sfdc.FindPrefix(s).SOSL()
		if err != nil {
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			return
		}
		ast, err := soql.ParseSearch(text)
		require.NoError(t, err, "built search must parse")
		word, ok := ast.Expr.(*soql.SearchWord)
		require.True(t, ok, "the term is one word, got %T", ast.Expr)
		require.False(t, word.Phrase)
		require.Equal(t, s+"*", word.Text)
		require.Equal(t, "*", unescapedWildcards(word.Pattern), "only the trailing wildcard")
	})
}

// unescapedWildcards returns the '*' and '?' of a pattern that are not escaped.
func unescapedWildcards(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?':
			b.WriteByte(p[i])
		}
	}
	return b.String()
}
