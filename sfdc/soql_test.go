package sfdc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
	"github.com/idverify/idverify/sfdc"
)

func TestQueryBuilder(t *testing.T) {
	when := time.Date(2024, 3, 5, 14, 30, 0, 0, time.FixedZone("X", 3600))
	id := sfdc.MustParseID("0019000001AWn2o")
	tests := []struct {
		name  string
		q     *sfdc.Query
		want  string
		shape string
	}{
		{"plain", sfdc.Select("Id", "Name").From("Account"),
			"SELECT Id, Name FROM Account", "SELECT Id, Name FROM Account"},
		{"string escapes", sfdc.Select("Id").From("Contact").Where(sfdc.Eq("LastName", `O'Brien \ "x"`+"\n\t")),
			`SELECT Id FROM Contact WHERE LastName = 'O\'Brien \\ \"x\"\n\t'`, "SELECT Id FROM Contact WHERE LastName = ?"},
		{"injection stays a literal", sfdc.Select("Id").From("Account").Where(sfdc.Eq("Name", "x' OR Name LIKE '")),
			`SELECT Id FROM Account WHERE Name = 'x\' OR Name LIKE \''`, "SELECT Id FROM Account WHERE Name = ?"},
		{"typed values", sfdc.Select("Id").From("Contact").Where(
			sfdc.Eq("IsPersonAccount", true), sfdc.Ge("NumberOfEmployees", 10), sfdc.Lt("AnnualRevenue", 2.5),
			sfdc.Gt("CreatedDate", when), sfdc.Eq("Birthdate", sfdc.Date{Year: 1980, Month: 2, Day: 29}),
			sfdc.Eq("AccountId", id), sfdc.IsNull("Email")),
			"SELECT Id FROM Contact WHERE (IsPersonAccount = true AND NumberOfEmployees >= 10 AND AnnualRevenue < 2.5 AND " +
				"CreatedDate > 2024-03-05T13:30:00.000Z AND Birthdate = 1980-02-29 AND AccountId = '0019000001AWn2oAAD' AND Email = null)",
			"SELECT Id FROM Contact WHERE (IsPersonAccount = ? AND NumberOfEmployees >= ? AND AnnualRevenue < ? AND " +
				"CreatedDate > ? AND Birthdate = ? AND AccountId = ? AND Email = null)"},
		{"in and or", sfdc.Select("Id", "Account.Name").From("Contact").Where(
			sfdc.Or(sfdc.In("Phone", []string{"1", "2'"}), sfdc.Not(sfdc.NotIn("Id", []sfdc.ID{id})))).
			OrderBy("LastName", false).OrderBy("CreatedDate", true).Limit(10).Offset(5),
			`SELECT Id, Account.Name FROM Contact WHERE (Phone IN ('1', '2\'') OR (NOT Id NOT IN ('0019000001AWn2oAAD'))) ` +
				"ORDER BY LastName ASC, CreatedDate DESC LIMIT 10 OFFSET 5",
			"SELECT Id, Account.Name FROM Contact WHERE (Phone IN (?, ?) OR (NOT Id NOT IN (?))) ORDER BY LastName ASC, CreatedDate DESC LIMIT 10 OFFSET 5"},
		{"like escapes wildcards", sfdc.Select("Id").From("Account").Where(sfdc.Like("Name", sfdc.Contains(`50%_off'`))),
			`SELECT Id FROM Account WHERE Name LIKE '%50\%\_off\'%'`, "SELECT Id FROM Account WHERE Name LIKE ?"},
		{"like prefix", sfdc.Select("Id").From("Account").Where(sfdc.Like("Name", sfdc.HasPrefix("Ac"))),
			`SELECT Id FROM Account WHERE Name LIKE 'Ac%'`, "SELECT Id FROM Account WHERE Name LIKE ?"},
		{"multi-select", sfdc.Select("Id").From("AccountContactRelation").Where(sfdc.Includes("Roles", []string{"Agent", "Power of Attorney'"}), sfdc.Excludes("Roles", []string{"Former"})),
			`SELECT Id FROM AccountContactRelation WHERE (Roles INCLUDES ('Agent', 'Power of Attorney\'') AND Roles EXCLUDES ('Former'))`,
			"SELECT Id FROM AccountContactRelation WHERE (Roles INCLUDES (?, ?) AND Roles EXCLUDES (?))"},
		{"count", sfdc.SelectCount().From("Lead").Where(sfdc.Ne("Status", "Closed")),
			"SELECT COUNT() FROM Lead WHERE Status != 'Closed'", "SELECT COUNT() FROM Lead WHERE Status != ?"},
		{"custom and namespaced names", sfdc.Select("ns__Field__c", "Parent__r.Name").From("ns__Thing__c"),
			"SELECT ns__Field__c, Parent__r.Name FROM ns__Thing__c", "SELECT ns__Field__c, Parent__r.Name FROM ns__Thing__c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.SOQL()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.shape, tt.q.Shape())
			assert.Equal(t, tt.shape, tt.q.String())
		})
	}
}

func TestQueryBuilderRejects(t *testing.T) {
	secret := "Sécret-Value-42"
	tests := []struct {
		name string
		q    *sfdc.Query
	}{
		{"field with space", sfdc.Select("Id, Name").From("Account")},
		{"field injection", sfdc.Select("Id FROM User WHERE Name != ''").From("Account")},
		{"reserved word", sfdc.Select("Id").From("Account").Where(sfdc.Eq("FROM", secret))},
		{"reserved word in lower case", sfdc.Select("Id").From("Account").Where(sfdc.Eq("returning", secret))},
		{"reserved word in mixed case in a path", sfdc.Select("Account.sElEcT").From("Contact")},
		{"object with dot", sfdc.Select("Id").From("Account.Name")},
		{"no from", sfdc.Select("Id")},
		{"no fields", sfdc.Select().From("Account")},
		{"triple underscore", sfdc.Select("A___c").From("Account")},
		{"trailing underscore", sfdc.Select("A_").From("Account")},
		{"leading digit", sfdc.Select("1A").From("Account")},
		{"too deep", sfdc.Select("A.B.C.D.E.F.G").From("Account")},
		{"order by injection", sfdc.Select("Id").From("Account").OrderBy("Name; DELETE", false)},
		{"unsupported type", sfdc.Select("Id").From("Account").Where(sfdc.Eq("Name", struct{ S string }{secret}))},
		{"unvalidated id", sfdc.Select("Id").From("Account").Where(sfdc.Eq("Id", sfdc.ID(secret)))},
		{"empty in", sfdc.Select("Id").From("Account").Where(sfdc.In("Id", []string{}))},
		{"in not a slice", sfdc.Select("Id").From("Account").Where(sfdc.In("Id", secret))},
		{"nan", sfdc.Select("Id").From("Account").Where(sfdc.Eq("X", nanValue()))},
		{"bad date", sfdc.Select("Id").From("Account").Where(sfdc.Eq("X", sfdc.Date{Year: 2023, Month: 2, Day: 29}))},
		{"zero time", sfdc.Select("Id").From("Account").Where(sfdc.Eq("X", time.Time{}))},
		{"empty and", sfdc.Select("Id").From("Account").Where(sfdc.And())},
		{"nil cond", sfdc.Select("Id").From("Account").Where(sfdc.Or(nil))},
		{"bad utf8", sfdc.Select("Id").From("Account").Where(sfdc.Eq("Name", "\xff"+secret))},
		{"bad utf8 like", sfdc.Select("Id").From("Account").Where(sfdc.Like("Name", sfdc.Contains("\xff"+secret)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.SOQL()
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			assert.Empty(t, got)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func nanValue() float64 { z := 0.0; return z / z }

func TestQueryImmutable(t *testing.T) {
	base := sfdc.Select("Id").From("Account")
	a := base.Where(sfdc.Eq("Name", "a")).Limit(1)
	b := base.OrderBy("Name", false)
	sa, _ := a.SOQL()
	sb, _ := b.SOQL()
	s0, _ := base.SOQL()
	assert.Equal(t, "SELECT Id FROM Account WHERE Name = 'a' LIMIT 1", sa)
	assert.Equal(t, "SELECT Id FROM Account ORDER BY Name ASC", sb)
	assert.Equal(t, "SELECT Id FROM Account", s0)
}

func TestEscapeSOQL(t *testing.T) {
	tests := []struct{ in, soql, like string }{
		{`plain`, `plain`, `plain`},
		{`a\b`, `a\\b`, `a\\b`},
		{`it's`, `it\'s`, `it\'s`},
		{`"q"`, `\"q\"`, `\"q\"`},
		{"l1\nl2\rx\ty\bz\f", `l1\nl2\rx\ty\bz\f`, `l1\nl2\rx\ty\bz\f`},
		{`100%_`, `100%_`, `100\%\_`},
		{`\'`, `\\\'`, `\\\'`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.soql, sfdc.EscapeSOQL(tt.in), tt.in)
		assert.Equal(t, tt.like, sfdc.EscapeLike(tt.in), tt.in)
	}
}

func TestRawSOQL(t *testing.T) {
	s, err := sfdc.RawSOQL("SELECT Id FROM Account").SOQL()
	require.NoError(t, err)
	assert.Equal(t, "SELECT Id FROM Account", s)
	assert.Empty(t, sfdc.RawSOQL("SELECT Id FROM Account WHERE Name = 'x'").Shape())
}

func TestSearchBuilder(t *testing.T) {
	tests := []struct {
		name  string
		s     *sfdc.Search
		want  string
		shape string
	}{
		{"every reserved character", sfdc.Find(`a?&|!{}[]()^~*:\"'+-b`),
			`FIND {"a\?\&\|\!\{\}\[\]\(\)\^\~\*\:\\\"\'\+\-b"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"injection", sfdc.Find("x} IN ALL FIELDS RETURNING User(Id) //").In(sfdc.PhoneFields),
			`FIND {"IN" AND "ALL" AND "FIELDS" AND "RETURNING" AND "User\(Id\)"} IN PHONE FIELDS`, "FIND {?} IN PHONE FIELDS"},
		{"words in any order", sfdc.Find("  Smith\tJane 1980 "),
			`FIND {"Smith" AND "Jane" AND "1980"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"operators are words", sfdc.Find("john OR smith AND NOT xy"),
			`FIND {"john" AND "OR" AND "smith" AND "AND" AND "NOT" AND "xy"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"short words dropped", sfdc.Find("Smith J. - O'Brien a1"),
			`FIND {"Smith" AND "O\'Brien" AND "a1"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"unicode", sfdc.Find("Müller\u00a0漢字"), `FIND {"Müller" AND "漢字"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"returning", sfdc.FindPrefix("Smi").In(sfdc.NameFields).Returning(
			sfdc.Returning{Object: "Account", Fields: []string{"Id", "Name"}, Where: sfdc.Eq("IsPersonAccount", true), OrderBy: "Name", Limit: 5},
			sfdc.Returning{Object: "Contact"}).Limit(20),
			"FIND {Smi*} IN NAME FIELDS RETURNING Account(Id, Name WHERE IsPersonAccount = true ORDER BY Name LIMIT 5), Contact LIMIT 20",
			"FIND {?} IN NAME FIELDS RETURNING Account(Id, Name WHERE IsPersonAccount = ? ORDER BY Name LIMIT 5), Contact LIMIT 20"},
		{"control characters separate words", sfdc.Find("ab\ncd\x00ef"), `FIND {"ab" AND "cd" AND "ef"} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
		{"prefix of an operator word", sfdc.FindPrefix("OR"), `FIND {OR*} IN ALL FIELDS`, "FIND {?} IN ALL FIELDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.SOSL()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.shape, tt.s.Shape())
		})
	}
}

func TestSearchBuilderRejects(t *testing.T) {
	tests := []struct {
		name string
		s    *sfdc.Search
	}{
		{"one character", sfdc.Find("a")},
		{"only single characters", sfdc.Find("a b c d")},
		{"only punctuation", sfdc.Find("*?- ** --")},
		{"only space", sfdc.Find(" \t\n")},
		{"too long", sfdc.Find(strings.Repeat("ab", 2001))},
		{"too long once quoted", sfdc.Find(strings.Repeat("ab ", 1300))},
		{"too long once escaped", sfdc.Find(strings.Repeat("a-", 1500))},
		{"prefix of one character", sfdc.FindPrefix("a*")},
		{"bad utf8", sfdc.Find("ab\xff")},
		{"prefix of two words", sfdc.FindPrefix("ab cd")},
		{"bad scope", sfdc.Find("abc").In("EVERYTHING")},
		{"bad object", sfdc.Find("abc").Returning(sfdc.Returning{Object: "User(Id)"})},
		{"bad field", sfdc.Find("abc").Returning(sfdc.Returning{Object: "User", Fields: []string{"Id, Name"}})},
		{"bad where", sfdc.Find("abc").Returning(sfdc.Returning{Object: "User", Where: sfdc.Eq("x y", 1)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.SOSL()
			require.ErrorIs(t, err, sfdc.ErrBadQuery)
			assert.Empty(t, got)
		})
	}
}

func TestNilBuilders(t *testing.T) {
	var q *sfdc.Query
	_, err := q.SOQL()
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	assert.Empty(t, q.Shape())
	var s *sfdc.Search
	_, err = s.SOSL()
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
	assert.Empty(t, s.Shape())
}

func TestFindDigits(t *testing.T) {
	s := sfdc.FindDigits("442079460958", "2079460958", "442079460958").In(sfdc.PhoneFields).
		Returning(sfdc.Returning{Object: "Account", Fields: []string{"Id"}})
	got, err := s.SOSL()
	require.NoError(t, err)
	assert.Equal(t, "FIND {442079460958 OR 2079460958} IN PHONE FIELDS RETURNING Account(Id)", got, "bare digits, repeats once")
	assert.Equal(t, "FIND {?} IN PHONE FIELDS RETURNING Account(Id)", s.Shape())
	ast, err := soql.ParseSearch(got)
	require.NoError(t, err, "the fake org's independent parser reads it")
	or, ok := ast.Expr.(*soql.SearchLogical)
	require.True(t, ok, "two numbers are one OR, got %T", ast.Expr)
	assert.Equal(t, "OR", or.Op)

	for _, bad := range [][]string{nil, {""}, {"1"}, {"+4420"}, {"020 7946"}, {"12", "1x"}, {"٣٣٣"},
		{strings.Repeat("1", 41)}, {"1 OR 2"}, {"12} IN ALL FIELDS RETURNING User(Id"}} {
		got, err := sfdc.FindDigits(bad...).SOSL()
		require.ErrorIs(t, err, sfdc.ErrBadQuery, "%q", bad)
		assert.Empty(t, got)
	}
}

func TestTrustedCondition(t *testing.T) {
	q := sfdc.Select("Id").From("Account").Where(sfdc.Trusted("IsPersonAccount = true OR Type = 'Partner'"), sfdc.Eq("Name", "O'Neil"))
	got, err := q.SOQL()
	require.NoError(t, err)
	assert.Equal(t, `SELECT Id FROM Account WHERE ((IsPersonAccount = true OR Type = 'Partner') AND Name = 'O\'Neil')`, got,
		"parenthesised, so an OR in it cannot escape the AND")
	assert.Equal(t, "SELECT Id FROM Account WHERE ((?) AND Name = ?)", q.Shape(), "the shape never shows its text")
	_, err = sfdc.Select("Id").From("Account").Where(sfdc.Trusted(" ")).SOQL()
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
}

func TestChildSubquery(t *testing.T) {
	id := sfdc.MustParseID("0039000001AWn2o")
	q := sfdc.Select("Id", "Name").Children(sfdc.Select("AccountId").From("AccountContactRelations").
		Where(sfdc.Eq("IsActive", true), sfdc.Includes("Roles", []string{"Power of Attorney", "O'Neil"}))).
		From("Contact").Where(sfdc.Eq("Id", id))
	got, err := q.SOQL()
	require.NoError(t, err)
	assert.Equal(t, `SELECT Id, Name, (SELECT AccountId FROM AccountContactRelations WHERE (IsActive = true AND Roles INCLUDES ('Power of Attorney', 'O\'Neil'))) FROM Contact WHERE Id = '0039000001AWn2oAAD'`, got)
	assert.Equal(t, "SELECT Id, Name, (SELECT AccountId FROM AccountContactRelations WHERE (IsActive = ? AND Roles INCLUDES (?, ?))) FROM Contact WHERE Id = ?", q.Shape())
	ast, err := soql.Parse(got)
	require.NoError(t, err, "the fake org's parser reads it")
	assert.Len(t, ast.Select, 3)

	for _, bad := range []*sfdc.Query{
		sfdc.Select("Id").Children(nil).From("Contact"),
		sfdc.Select("Id").Children(sfdc.Select("Id")).From("Contact"),
		sfdc.Select("Id").Children(sfdc.Select("Id x").From("Cases")).From("Contact"),
		sfdc.Select("Id").Children(sfdc.Select("Id").From("Cases").Children(sfdc.Select("Id").From("Tasks"))).From("Contact"),
	} {
		_, err := bad.SOQL()
		require.ErrorIs(t, err, sfdc.ErrBadQuery)
	}
}

func TestSemiJoin(t *testing.T) {
	q := sfdc.Select("Id").From("EngagementInteraction").Where(sfdc.Eq("ExternalIdentifier", "call-1"),
		sfdc.NotInQuery("Id", sfdc.Select("EngagementId").From("EngagementTopic").Where(sfdc.Eq("ProcessName", "idverify:k'1")))).Limit(1)
	got, err := q.SOQL()
	require.NoError(t, err)
	assert.Equal(t, `SELECT Id FROM EngagementInteraction WHERE (ExternalIdentifier = 'call-1' AND Id NOT IN (SELECT EngagementId FROM EngagementTopic WHERE ProcessName = 'idverify:k\'1')) LIMIT 1`, got)
	assert.Equal(t, "SELECT Id FROM EngagementInteraction WHERE (ExternalIdentifier = ? AND Id NOT IN (SELECT EngagementId FROM EngagementTopic WHERE ProcessName = ?)) LIMIT 1", q.Shape())
	_, err = soql.Parse(got)
	require.NoError(t, err, "the fake org's parser reads it")

	in, err := sfdc.Select("Id").From("Account").Where(sfdc.InQuery("Id", sfdc.Select("AccountId").From("Contact"))).SOQL()
	require.NoError(t, err)
	assert.Equal(t, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", in)

	for _, bad := range []sfdc.Cond{sfdc.InQuery("Id", nil), sfdc.InQuery("Id", sfdc.Select("Id", "Name").From("Contact")),
		sfdc.InQuery("Id", sfdc.Select("Id")), sfdc.InQuery("Id x", sfdc.Select("Id").From("Contact")), sfdc.InQuery("Id", sfdc.SelectCount().From("Contact"))} {
		_, err := sfdc.Select("Id").From("Account").Where(bad).SOQL()
		require.ErrorIs(t, err, sfdc.ErrBadQuery)
	}
}
