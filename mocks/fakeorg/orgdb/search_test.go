package orgdb

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soslEscape is Salesforce's escaping of a FIND term (salesforce.md §5).
func soslEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`?&|!{}[]()^~*:\"'+-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func demoDB(t *testing.T) (*DB, *DemoDataset) {
	db := newTestDB(t)
	require.NoError(t, SeedDemo(db))
	return db, Demo()
}

func search(t *testing.T, db *DB, sosl string) ([]*Record, *Error) {
	t.Helper()
	tx := db.Begin(false)
	defer tx.Commit()
	return tx.Search(sosl)
}

func names2(recs []*Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Type+":"+field(r, "Name").(string))
	}
	return out
}

func TestSearch(t *testing.T) {
	db, d := demoDB(t)
	alice, _ := d.Person("alice")
	tests := []struct {
		name, sosl string
		want       []string
	}{
		{"a word, case-insensitive", "FIND {alice} RETURNING Account(Name)", []string{"Account:Alice Martin"}},
		{"several objects in order", "FIND {Alice} IN NAME FIELDS RETURNING Contact(Name), Account(Name)", []string{"Contact:Alice Martin", "Account:Alice Martin"}},
		{"words are ANDed", "FIND {George Brown} RETURNING Account(Name)", []string{"Account:George Brown"}},
		{"OR", "FIND {George OR Hannah} RETURNING Account(Name)", []string{"Account:George Brown", "Account:Hannah Brown"}},
		{"AND NOT", "FIND {Brown AND NOT Hannah} RETURNING Account(Name)", []string{"Account:George Brown"}},
		{"phrase", `FIND {"Julia Chen"} RETURNING Contact(Name)`, []string{"Contact:Julia Chen"}},
		{"phrase in order only", `FIND {"Chen Julia"} RETURNING Contact(Name)`, []string{}},
		{"trailing wildcard", "FIND {Brow*} RETURNING Account(Name)", []string{"Account:George Brown", "Account:Hannah Brown"}},
		{"single-character wildcard", "FIND {Ch?n} RETURNING Contact(Name)", []string{"Contact:Julia Chen"}},
		{"no partial words without a wildcard", "FIND {Brow} RETURNING Account(Name)", []string{}},
		{"unicode", "FIND {chloé} RETURNING Account(Name)", []string{"Account:Chloé Dubois"}},
		{"email scope", "FIND {alice.martin@example.com} IN EMAIL FIELDS RETURNING Account(Name)", []string{"Account:Alice Martin"}},
		{"name scope ignores e-mail", "FIND {example} IN NAME FIELDS RETURNING Account(Name)", []string{}},
		{"phone, E.164 against national format", "FIND {+14155550101} IN PHONE FIELDS RETURNING Account(Name)", []string{"Account:Alice Martin"}},
		{"phone, national against E.164", "FIND {\\(415\\) 555\\-0202} IN PHONE FIELDS RETURNING Contact(Name)", []string{"Contact:Julia Chen"}},
		{"phone without country code", "FIND {4155550104} RETURNING Account(Name)", []string{"Account:Dmitri Ivanov"}},
		{"shared phone", "FIND {+14155550107} IN PHONE FIELDS RETURNING Account(Name ORDER BY Name)", []string{"Account:George Brown", "Account:Hannah Brown"}},
		// Bruno's Phone is stored nationally, 020 7946 0958: its international digits are not a
		// suffix of it (the trunk 0), its national significant number is.
		{"phone, international digits against a national number with a trunk 0", "FIND {442079460958} IN PHONE FIELDS RETURNING Account(Name)", []string{}},
		{"phone, an OR of a number's forms", "FIND {442079460958 OR 2079460958} IN PHONE FIELDS RETURNING Account(Name)", []string{"Account:Bruno Silva"}},
		{"phone, an OR of two people's numbers", "FIND {14155550101 OR 4155550104} IN PHONE FIELDS RETURNING Account(Name ORDER BY Name)", []string{"Account:Alice Martin", "Account:Dmitri Ivanov"}},
		{"an OR with a word is no phone search", "FIND {2079460958 OR Bruno} IN PHONE FIELDS RETURNING Account(Name)", []string{}},
		{"where, order, limit", "FIND {example.com} RETURNING Account(Name WHERE PersonBirthdate < 1980-01-01 ORDER BY PersonBirthdate DESC LIMIT 2)", []string{"Account:Bruno Silva", "Account:Dmitri Ivanov"}},
		{"overall limit", "FIND {example.com} RETURNING Account(Name ORDER BY Name), Contact(Name) LIMIT 1", []string{"Account:Alice Martin"}},
		{"escaped reserved characters are text", "FIND {Fischer \\& Söhne} RETURNING Lead(Name)", []string{"Lead:Noah Fischer"}},
		{"an escaped * is no wildcard", "FIND {Brow\\*} RETURNING Account(Name)", []string{}},
		{"escaped injection stays a term", "FIND {" + soslEscape("x} RETURNING User(Username") + "} RETURNING Account(Name)", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, e := search(t, db, tc.sosl)
			require.Nil(t, e, "%v", e)
			assert.Equal(t, tc.want, names2(recs))
		})
	}
	// Without RETURNING every searchable object answers, with Id only.
	recs, e := search(t, db, "FIND {Alice}")
	require.Nil(t, e)
	require.NotEmpty(t, recs)
	assert.Equal(t, []Field{{"Id", alice.ID}}, recs[0].Fields)
}

func TestSearchErrors(t *testing.T) {
	db, _ := demoDB(t)
	for _, tc := range []struct{ sosl, code, detail string }{
		{"FIND {a}", "MALFORMED_SEARCH", "search term must be longer than one character"},
		{"FIND {a*}", "MALFORMED_SEARCH", "search term must be longer than one character"},
		{"FIND {ab} RETURNING Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported"},
		{"FIND {ab} RETURNING Account(Naem)", "INVALID_FIELD", "No such column 'Naem' on entity 'Account'"},
		{"FIND {ab} RETURNING AccountContactRelation", "INVALID_TYPE", "does not support search"},
	} {
		_, e := search(t, db, tc.sosl)
		require.NotNil(t, e, tc.sosl)
		assert.Equal(t, tc.code, e.Code, tc.sosl)
		assert.Contains(t, e.Message, tc.detail, tc.sosl)
	}
}

// TestSearchInjectionStaysLiteral: hostile text, escaped, finds the record holding it and
// changes nothing about what the statement returns.
func TestSearchInjectionStaysLiteral(t *testing.T) {
	db := newTestDB(t)
	// Escaping covers reserved characters only: the words AND, OR and NOT stay operators, as in
	// Salesforce (a client that must not let them act quotes the term as a phrase).
	corpus := []string{`Zed} RETURNING User(Username`, `Zed*`, `"Zed"`, `Zed) (y`, `Zed\`, `Zed?`}
	target := mustCreate(t, db, "Contact", map[string]any{"LastName": "Zed"})
	mustCreate(t, db, "Contact", map[string]any{"LastName": "Smith"})
	mustCreate(t, db, "Contact", map[string]any{"LastName": "Zedd"})
	for _, s := range corpus {
		recs, e := search(t, db, "FIND {"+soslEscape(s)+"} IN NAME FIELDS RETURNING Contact(Id)")
		require.Nil(t, e, s)
		for _, r := range recs {
			assert.Equal(t, target, r.ID, "%q: only records holding all the words come back", s)
		}
	}
}

func TestParameterizedSearch(t *testing.T) {
	db, d := demoDB(t)
	julia, _ := d.Person("julia")
	tx := db.Begin(false)
	defer tx.Commit()
	recs, e := tx.ParameterizedSearch(SearchParams{Q: "+1 415 555 0202", In: "phone",
		Objects: []SearchObject{{Name: "Contact", Fields: []string{"Name", "Phone"}, Where: "IsPersonAccount = false", Limit: 5}}})
	require.Nil(t, e)
	require.Len(t, recs, 1)
	assert.Equal(t, julia.ID, recs[0].ID)
	assert.Equal(t, []string{"Id", "Name", "Phone"}, names(recs[0].Fields))

	recs, e = tx.ParameterizedSearch(SearchParams{Q: "Brown", Fields: []string{"Name"}, Limit: 1})
	require.Nil(t, e)
	assert.Len(t, recs, 1)

	_, e = tx.ParameterizedSearch(SearchParams{Q: "x"})
	require.NotNil(t, e)
	assert.Equal(t, "MALFORMED_SEARCH", e.Code)
	_, e = tx.ParameterizedSearch(SearchParams{Q: "Brown", In: "everything"})
	require.NotNil(t, e)
	_, e = tx.ParameterizedSearch(SearchParams{Q: "Brown", Objects: []SearchObject{{Name: "Contact", Where: "Naem = 'x'"}}})
	require.NotNil(t, e)
	assert.Equal(t, "INVALID_FIELD", e.Code)
}
