package orgdb

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// smallStack lowers the goroutine stack limit for the rest of the test, so that recursion whose
// depth grows with the input fails here (fatal: stack overflow) instead of passing on a
// gigabyte of stack.
func smallStack(t *testing.T) {
	old := debug.SetMaxStack(512 << 10)
	t.Cleanup(func() { debug.SetMaxStack(old) })
}

func (f *fixture) queryErr(t *testing.T, q string) *Error {
	t.Helper()
	_, e := f.query(t, q, false)
	require.NotNil(t, e, q)
	return e
}

// TestFlatChainOfTerms: a WHERE clause of thousands of OR (or AND) terms, as long as
// Salesforce allows, runs in a small stack (compiling, choosing an index and evaluating loop
// over the terms) and gives the right rows. Today's code recursed once per term in
// (*qctx).seekable and compileExpr: 3 million terms overflowed a 1 GB stack.
func TestFlatChainOfTerms(t *testing.T) {
	smallStack(t)
	f := newFixture(t)
	// as many terms as fit in 99,000 characters
	chain := func(term, last string) string { return strings.Repeat(term, (99_000-len(last))/len(term)) + last }
	ors := chain("LastName = 'nobody' OR ", "LastName = 'Able'")
	res, e := f.query(t, "SELECT Id FROM Contact WHERE "+ors, false)
	require.Nil(t, e, "%v", e)
	assert.Equal(t, []string{f.ann}, recordIDs(res))

	indexed := chain("MobilePhone = '+10000000000' OR ", "MobilePhone = '+14155550001'")
	res, e = f.query(t, "SELECT Id FROM Contact WHERE "+indexed, false)
	require.Nil(t, e, "%v", e)
	assert.Equal(t, []string{f.ann}, recordIDs(res))

	ands := chain("LastName != 'nobody' AND ", "FirstName = 'Bob'")
	res, e = f.query(t, "SELECT Id FROM Contact WHERE "+ands, false)
	require.Nil(t, e, "%v", e)
	assert.Equal(t, []string{f.bob}, recordIDs(res))

	e = f.queryErr(t, "SELECT Id FROM Contact WHERE "+strings.Repeat("LastName = 'x' OR ", 3_000_000)+"LastName = 'y'")
	assert.Equal(t, "MALFORMED_QUERY", e.Code)
	assert.Equal(t, "SOQL statements can not be longer than 100000 characters.", e.Message)
}

// TestFilterWorkIsBounded: a filter whose evaluation would read too many rows times too many
// terms stops with QUERY_TOO_COMPLICATED, counted without timing, in the query, its semi-joins
// and its child subqueries.
func TestFilterWorkIsBounded(t *testing.T) {
	f := newFixture(t)
	old := maxFilterWork
	maxFilterWork = 40 // the fixture has 5 contacts and 3 accounts
	t.Cleanup(func() { maxFilterWork = old })

	eightTerms := strings.Repeat("LastName LIKE '%x%' OR ", 7) + "LastName = 'Able'"
	res, e := f.query(t, "SELECT Id FROM Contact WHERE "+eightTerms, false)
	require.Nil(t, e, "5 rows × 8 terms is within 40: %v", e)
	assert.Equal(t, []string{f.ann}, recordIDs(res))

	tests := []string{
		"SELECT Id FROM Contact WHERE " + eightTerms + " OR LastName = 'Baker'",
		"SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE " + eightTerms + " OR LastName = 'Baker')",
		"SELECT Id, (SELECT Id FROM Contacts WHERE " + strings.Repeat("LastName LIKE '%x%' OR ", 20) + "LastName = 'x') FROM Account",
	}
	for _, q := range tests {
		e := f.queryErr(t, q)
		assert.Equal(t, "QUERY_TOO_COMPLICATED", e.Code, q)
		assert.Equal(t, "Query is either selecting too many fields or the filter conditions are too complicated.", e.Message)
	}
}

// TestSearchWorkIsBoundedOverItsObjects: the filter work bound holds for a SOSL statement as a
// whole, not for each object of its RETURNING clause: a 100,000-character statement of 33
// RETURNING objects, each with 150 terms, cost 33 times the bound (2.8 s at 100,000 people).
func TestSearchWorkIsBoundedOverItsObjects(t *testing.T) {
	f := newFixture(t)
	old := maxFilterWork
	maxFilterWork = 40 // one row holds the word "Able"; each object below costs 1 row × 9 terms
	t.Cleanup(func() { maxFilterWork = old })
	spec := "Contact(Id WHERE " + strings.Repeat("LastName LIKE '%x%' OR ", 7) + "LastName = 'Able')"
	search := func(n int) ([]*Record, *Error) {
		tx := f.db.Begin(false)
		defer tx.Commit()
		return tx.Search("FIND {Able} RETURNING " + strings.TrimSuffix(strings.Repeat(spec+", ", n), ", "))
	}
	recs, e := search(4)
	require.Nil(t, e, "4 objects × 9 is within 40: %v", e)
	assert.Len(t, recs, 4)
	_, e = search(5)
	require.NotNil(t, e, "5 objects × 9 pass 40")
	assert.Equal(t, "QUERY_TOO_COMPLICATED", e.Code)
}

// TestSemiJoinLimits: Salesforce's rules on semi-joins and anti-joins (SOQL and SOSL Reference,
// "Semi-Join and Anti-Join Limitations"); today's code ran nested semi-joins to any depth.
func TestSemiJoinLimits(t *testing.T) {
	f := newFixture(t)
	acr := func(where string) string {
		return "Id IN (SELECT ContactId FROM AccountContactRelation WHERE " + where + ")"
	}
	tests := []struct {
		name, where, message string
	}{
		{"nested", acr("AccountId IN (SELECT Id FROM Account WHERE Name = 'x')"), "Nesting of semi join sub-selects is not supported"},
		{"nested anti-join", acr("AccountId NOT IN (SELECT Id FROM Account)"), "Nesting of semi join sub-selects is not supported"},
		{"with OR", "LastName = 'x' OR " + acr("IsActive = true"), "Semi join sub-selects are not allowed with the 'OR' operator"},
		{"in a nested OR", "LastName = 'x' AND (FirstName = 'y' OR " + acr("IsActive = true") + ")", "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions."},
		{"under NOT", "NOT " + acr("IsActive = true"), "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions."},
		{"three", acr("IsActive = true") + " AND " + acr("IsActive = false") + " AND Id NOT IN (SELECT ContactId FROM AccountContactRelation)", "Maximum 2 semi join sub-selects are allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := f.queryErr(t, "SELECT Id FROM Contact WHERE "+tc.where)
			assert.Equal(t, "MALFORMED_QUERY", e.Code)
			assert.Contains(t, e.Message, "\nERROR at Row:1:Column:")
			assert.True(t, strings.HasSuffix(e.Message, "\n"+tc.message), e.Message)
		})
	}
	res, e := f.query(t, "SELECT Id FROM Contact WHERE "+acr("IsActive = true")+" AND "+acr("AccountId = '"+f.person+"'"), false)
	require.Nil(t, e, "two semi-joins joined by AND are allowed: %v", e)
	assert.Equal(t, []string{f.bob, f.cy}, recordIDs(res), "every contact's direct relation is active")
}

// TestDateLiteralRange: a date literal whose span leaves Salesforce's valid dates (1700-01-01 to
// 4000-12-31, "Date Formats and Date Literals in WHERE") is refused; today's code computed
// LAST_N_DAYS:999999999999 into a meaningless range.
func TestDateLiteralRange(t *testing.T) {
	f := newFixture(t)
	for _, lit := range []string{"LAST_N_DAYS:999999999999", "LAST_N_DAYS:1000000", "NEXT_N_YEARS:2000", "LAST_N_YEARS:400", "N_DAYS_AGO:200000", "LAST_N_MONTHS:4000", "NEXT_N_WEEKS:110000"} {
		for _, field := range []string{"Birthdate", "CreatedDate"} {
			e := f.queryErr(t, "SELECT Id FROM Contact WHERE "+field+" = "+lit)
			assert.Equal(t, "MALFORMED_QUERY", e.Code, lit)
			assert.Contains(t, e.Message, "date literal "+lit+" is out of range")
		}
	}
	for _, lit := range []string{"LAST_N_DAYS:36500", "LAST_N_YEARS:300", "NEXT_N_YEARS:1900", "NEXT_N_DAYS:0"} {
		_, e := f.query(t, "SELECT Id FROM Contact WHERE Birthdate = "+lit, false)
		assert.Nil(t, e, "%s: %v", lit, e)
	}
}

// TestParentRelationshipDepth: a field path follows at most five child-to-parent relationships
// (SOQL and SOSL Reference, "Relationship Query Limitations"); today's code followed a
// client-chosen number, each one a level of recursion when the record was built and encoded.
func TestParentRelationshipDepth(t *testing.T) {
	f := newFixture(t)
	_, e := f.query(t, "SELECT ReportsTo.ReportsTo.ReportsTo.ReportsTo.ReportsTo.Name FROM Contact", false)
	require.Nil(t, e, "five levels: %v", e)
	path := strings.Repeat("ReportsTo.", 6) + "Name"
	for _, q := range []string{"SELECT " + path + " FROM Contact", "SELECT Id FROM Contact WHERE " + path + " = 'x'", "SELECT Id FROM Contact ORDER BY " + path} {
		e = f.queryErr(t, q)
		assert.Equal(t, "MALFORMED_QUERY", e.Code)
		assert.Contains(t, e.Message, "Cannot query foreign key relationships more than 5 levels away from the root SObject")
	}
	e = f.queryErr(t, "SELECT "+strings.Repeat("ReportsTo.", 9000)+"Name FROM Contact")
	assert.Equal(t, "MALFORMED_QUERY", e.Code)
}

// TestErrorsQuoteABoundedPrefix: an error quoting a value quotes at most soql.MaxEcho characters
// of it; today's STRING_TOO_LONG repeated the whole value (31 MB in the issue).
func TestErrorsQuoteABoundedPrefix(t *testing.T) {
	f := newFixture(t)
	huge := strings.Repeat("x", 1<<20)
	bound := 400 + 4*soql.MaxEcho
	check := func(e *Error, code string) {
		t.Helper()
		require.NotNil(t, e)
		assert.Equal(t, code, e.Code)
		assert.Less(t, len(e.Message), bound, "%s message of %d bytes", e.Code, len(e.Message))
		for _, name := range e.Fields {
			assert.LessOrEqual(t, len(name), len(soql.Clip(huge)))
		}
	}
	writes := []struct {
		code   string
		fields map[string]any
	}{
		{"STRING_TOO_LONG", map[string]any{"LastName": huge}},
		{"INVALID_EMAIL_ADDRESS", map[string]any{"LastName": "x", "Email": huge}},
		{"INVALID_FIELD", map[string]any{"LastName": "x", huge: "x"}},
		{"MALFORMED_ID", map[string]any{"LastName": "x", "AccountId": huge}},
		{"JSON_PARSER_ERROR", map[string]any{"LastName": "x", "Birthdate": []any{huge}}},
	}
	for _, w := range writes {
		_, e := write(t, f.db, func(tx *Tx) (string, *Error) { return tx.Create("Contact", w.fields) })
		check(e, w.code)
	}
	_, e := write(t, f.db, func(tx *Tx) (string, *Error) {
		return tx.Create("User", map[string]any{"LastName": "x", "IsActive": huge})
	})
	check(e, "JSON_PARSER_ERROR")
	_, e = write(t, f.db, func(tx *Tx) (UpsertResult, *Error) { return tx.Upsert("Contact", huge, "x", nil) })
	check(e, "NOT_FOUND")
	tx := f.db.Begin(false)
	_, e = tx.Get("Contact", huge, nil)
	check(e, "MALFORMED_ID")
	tx.Commit()

	long := strings.Repeat("x", 90_000)
	for code, q := range map[string]string{
		"INVALID_FIELD":                 "SELECT " + long + " FROM Contact",
		"INVALID_TYPE":                  "SELECT Id FROM " + long,
		"INVALID_QUERY_FILTER_OPERATOR": "SELECT Id FROM Contact WHERE Id = '" + long + "'",
	} {
		check(f.queryErr(t, q), code)
	}
}

// TestLimitOffset: LIMIT and OFFSET select the same rows with and without ORDER BY, on a full
// scan, on an index and on a child subquery: row offset..offset+limit of the unlimited result.
func TestLimitOffset(t *testing.T) {
	f := newFixture(t)
	for i := range 6 {
		mustCreate(t, f.db, "Contact", map[string]any{"LastName": fmt.Sprintf("Zed%d", 5-i), "AccountId": f.globex, "MobilePhone": "+14155550999"})
	}
	wheres := []string{"", " WHERE LastName != null", " WHERE MobilePhone = '+14155550999'", " WHERE AccountId = '" + f.globex + "'"}
	orders := []string{"", " ORDER BY LastName", " ORDER BY LastName DESC NULLS LAST, Id"}
	for _, w := range wheres {
		for _, o := range orders {
			full, e := f.query(t, "SELECT Id FROM Contact"+w+o, false)
			require.Nil(t, e)
			all := recordIDs(full)
			for limit := range 5 {
				for offset := range 5 {
					q := fmt.Sprintf("SELECT Id FROM Contact%s%s LIMIT %d OFFSET %d", w, o, limit, offset)
					res, e := f.query(t, q, false)
					require.Nil(t, e, q)
					want := all[min(offset, len(all)):]
					assert.Equal(t, want[:min(limit, len(want))], recordIDs(res), q)
				}
			}
		}
	}
	res, e := f.query(t, "SELECT Id, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 2 OFFSET 2) FROM Account WHERE Id = '"+f.globex+"'", false)
	require.Nil(t, e)
	kids := field(res.Records[0], "Contacts").(*QueryResult)
	var names []any
	for _, r := range kids.Records {
		names = append(names, field(r, "LastName"))
	}
	assert.Equal(t, []any{"Zed1", "Zed2"}, names)
}

// TestLimitOffsetOnEveryPath: issue 8 reported that without ORDER BY, LIMIT 2 OFFSET 2 stopped
// the scan after LIMIT rows and returned nothing. It does not, on this engine or the one the
// issue was filed against (checked with this test at 2e72ec8); this holds every path a query's
// rows can take to the answer: a scan, each kind of index (email, phone, reference, OR and IN of
// keys, a name prefix), a semi-join, queryAll with a deleted row, a child subquery and SOSL.
// Each LIMIT/OFFSET pair selects rows offset..offset+limit of the unlimited result.
func TestLimitOffsetOnEveryPath(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		fields := map[string]any{"LastName": fmt.Sprintf("Kowal%d", 6-i), "FirstName": "Sven", "AccountId": f.globex, "MobilePhone": "+14155550999", "Email": "dup@example.com"}
		if i%2 == 0 {
			fields["Phone"] = "+14155550999"
		}
		mustCreate(t, f.db, "Contact", fields)
	}
	// a deleted one in the middle
	del := mustCreate(t, f.db, "Contact", map[string]any{"LastName": "KowalX", "FirstName": "Sven", "AccountId": f.globex, "MobilePhone": "+14155550999", "Email": "dup@example.com"})
	mustCreate(t, f.db, "Contact", map[string]any{"LastName": "KowalY", "FirstName": "Sven", "AccountId": f.globex, "MobilePhone": "+14155550999", "Email": "dup@example.com"})
	_, e := write(t, f.db, func(tx *Tx) (string, *Error) { return "", tx.Delete("Contact", del) })
	require.Nil(t, e)
	wheres := []string{"", " WHERE LastName != null",
		" WHERE MobilePhone = '+14155550999'",
		" WHERE Email = 'dup@example.com'",
		" WHERE Email = 'dup@example.com' AND LastName != 'Kowal3'",
		" WHERE Email = 'dup@example.com' OR MobilePhone = '+14155550999'",
		" WHERE Email IN ('dup@example.com', 'ann@example.com')",
		" WHERE Phone = '+14155550999' OR MobilePhone = '+14155550999'",
		" WHERE AccountId = '" + f.globex + "'",
		" WHERE LastName LIKE 'Kowal%'",
		" WHERE Name LIKE 'Sven%'",
		" WHERE Id IN (SELECT ContactId FROM AccountContactRelation)",
		" WHERE AccountId IN (SELECT Id FROM Account WHERE Name = 'Globex')",
	}
	orders := []string{"", " ORDER BY LastName"}
	for _, all := range []bool{false, true} {
		for _, w := range wheres {
			for _, o := range orders {
				full, e := f.query(t, "SELECT Id FROM Contact"+w+o, all)
				require.Nil(t, e, w)
				want0 := recordIDs(full)
				for limit := range 5 {
					for offset := range 5 {
						q := fmt.Sprintf("SELECT Id FROM Contact%s%s LIMIT %d OFFSET %d", w, o, limit, offset)
						res, e := f.query(t, q, all)
						require.Nil(t, e, q)
						want := want0[min(offset, len(want0)):]
						assert.Equal(t, want[:min(limit, len(want))], recordIDs(res), "%s all=%v", q, all)
					}
				}
			}
		}
	}
	// child subqueries
	for _, o := range orders {
		full, e := f.query(t, "SELECT Id, (SELECT Id FROM Contacts"+o+") FROM Account WHERE Id = '"+f.globex+"'", false)
		require.Nil(t, e)
		kids := searchIDs(field(full.Records[0], "Contacts").(*QueryResult).Records)
		for limit := 1; limit < 5; limit++ {
			for offset := range 5 {
				q := fmt.Sprintf("SELECT Id, (SELECT Id FROM Contacts%s LIMIT %d OFFSET %d) FROM Account WHERE Id = '%s'", o, limit, offset, f.globex)
				res, e := f.query(t, q, false)
				require.Nil(t, e, q)
				var got []string
				if qr, ok := field(res.Records[0], "Contacts").(*QueryResult); ok && qr != nil {
					got = searchIDs(qr.Records)
				}
				want := kids[min(offset, len(kids)):]
				want = want[:min(limit, len(want))]
				if len(want) == 0 {
					want = nil
				}
				assert.Equal(t, want, got, q)
			}
		}
	}
	// SOSL
	for _, term := range []string{"Sven", "dup@example.com", "4155550999", "Kowal*"} {
		for _, o := range orders {
			for _, wh := range []string{"", " WHERE LastName != 'Kowal2'", " WHERE Email = 'dup@example.com'", " WHERE MobilePhone = '+14155550999'"} {
				tx := f.db.Begin(false)
				full, e := tx.Search("FIND {" + term + "} RETURNING Contact(Id" + wh + o + ")")
				tx.Commit()
				require.Nil(t, e)
				all := searchIDs(full)
				for limit := 1; limit < 5; limit++ {
					for offset := range 5 {
						q := fmt.Sprintf("FIND {%s} RETURNING Contact(Id%s%s LIMIT %d OFFSET %d)", term, wh, o, limit, offset)
						tx := f.db.Begin(false)
						res, e := tx.Search(q)
						tx.Commit()
						require.Nil(t, e, q)
						want := all[min(offset, len(all)):]
						assert.Equal(t, want[:min(limit, len(want))], searchIDs(res), q)
					}
				}
			}
		}
	}
}

func searchIDs(recs []*Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// TestAggregatesAndLimit: LIMIT counts COUNT() up to its value, but an aggregate function with
// LIMIT and no GROUP BY is refused, as Salesforce documents ("LIMIT": "You can't use a LIMIT
// clause in a query that uses an aggregate function, but does not use a GROUP BY clause"); the
// engine stopped its scan after LIMIT rows and answered COUNT(Id) = 1 and the MAX of one row.
// COUNT() takes no ORDER BY ("COUNT() and COUNT(fieldName)").
func TestAggregatesAndLimit(t *testing.T) {
	f := newFixture(t)
	res, e := f.query(t, "SELECT COUNT(Id) FROM Contact", false)
	require.Nil(t, e)
	assert.Equal(t, int64(5), field(res.Records[0], "expr0"))
	res, e = f.query(t, "SELECT COUNT() FROM Contact LIMIT 2", false)
	require.Nil(t, e)
	assert.Equal(t, 2, res.TotalSize)
	for _, q := range []string{
		"SELECT COUNT(Id) FROM Contact LIMIT 1",
		"SELECT MAX(LastName) FROM Contact LIMIT 1",
		"SELECT COUNT(Id) FROM Contact LIMIT 2 OFFSET 2",
		"SELECT COUNT() FROM Contact ORDER BY LastName",
	} {
		assert.Equal(t, "MALFORMED_QUERY", f.queryErr(t, q).Code, q)
	}
}

// TestCursorReadsPages: a cursor holds its rows' ids; each page is built when it is read, from
// the data as it is then.
func TestCursorReadsPages(t *testing.T) {
	f := newFixture(t)
	tx := f.db.Begin(false)
	cur, e := tx.QueryCursor("SELECT Id, LastName FROM Contact ORDER BY LastName", false)
	require.Nil(t, e)
	tx.Commit()
	assert.Equal(t, 5, cur.TotalSize)
	assert.Equal(t, 5, cur.Len())

	_, e = write(t, f.db, func(tx *Tx) (struct{}, *Error) {
		return struct{}{}, tx.Update("Contact", f.cy, map[string]any{"LastName": "Cole-Smith"})
	})
	require.Nil(t, e)
	tx = f.db.Begin(false)
	defer tx.Commit()
	page, e := cur.Records(tx, 2, 4)
	require.Nil(t, e)
	require.Len(t, page, 2)
	assert.Equal(t, f.cy, page[0].ID, "the order was fixed when the query ran")
	assert.Equal(t, "Cole-Smith", field(page[0], "LastName"), "values are read when the page is")

	count, e := tx.QueryCursor("SELECT COUNT() FROM Contact", false)
	require.Nil(t, e)
	assert.Equal(t, 5, count.TotalSize)
	assert.Equal(t, 0, count.Len())
	recs, e := count.Records(tx, 0, 10)
	require.Nil(t, e)
	assert.NotNil(t, recs)
	assert.Empty(t, recs)
}
