package orgdb

import (
	"strings"
	"testing"
)

// FuzzQuery runs arbitrary SOQL against the demo org: the engine never panics, and every
// failure is a 400 with one of Salesforce's query error codes.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"SELECT Id, Name, Account.Name, Account.Parent.Name FROM Contact WHERE MobilePhone = '+14155550101' OR Phone LIKE '%0101'",
		"SELECT Name, (SELECT Id, Roles FROM AccountContactRelations WHERE Roles INCLUDES ('Spouse')) FROM Account ORDER BY Name DESC NULLS LAST LIMIT 3 OFFSET 1",
		"SELECT COUNT(Id), MIN(PersonBirthdate), MAX(Name), SUM(AnnualRevenue) FROM Account",
		"SELECT InitiatingAttendee.Name, InitiatingAttendee.Type FROM EngagementInteraction WHERE CreatedDate = LAST_N_DAYS:7",
		"SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM AccountContactRelation WHERE IsActive = true) AND Birthdate < 1990-01-01",
		"SELECT COUNT() FROM Lead WHERE Status != null AND NOT (Company LIKE 'N\\_%')",
		"SELECT Id, OptionalVerifiersMinVerfCount FROM IdentityVerificationProcDtl WHERE OptionalVerifiersMinVerfCount >= 1",
		"SELECT Id FROM Contact WHERE " + strings.Repeat("(", 101) + "Name = 'x'" + strings.Repeat(")", 101),
		"SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM AccountContactRelation WHERE AccountId IN (SELECT Id FROM Account))",
		"SELECT Id FROM Contact WHERE Birthdate = LAST_N_DAYS:999999999999 OR " + strings.Repeat("LastName = 'x' OR ", 200) + "Name LIKE 'a%'",
		"SELECT ReportsTo.ReportsTo.ReportsTo.ReportsTo.ReportsTo.ReportsTo.Name FROM Contact ORDER BY LastName LIMIT 2 OFFSET 2",
	} {
		f.Add(s)
	}
	db, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := SeedDemo(db); err != nil {
		f.Fatal(err)
	}
	codes := map[string]bool{"MALFORMED_QUERY": true, "INVALID_FIELD": true, "INVALID_TYPE": true,
		"INVALID_QUERY_FILTER_OPERATOR": true, "NUMBER_OUTSIDE_VALID_RANGE": true, "QUERY_TOO_COMPLICATED": true}
	f.Fuzz(func(t *testing.T, q string) {
		tx := db.Begin(false)
		defer tx.Commit()
		res, e := tx.Query(q, len(q)%2 == 0)
		if e != nil {
			if e.Status != 400 || !codes[e.Code] {
				t.Fatalf("Query(%q): %d %s", q, e.Status, e.Code)
			}
			return
		}
		if res == nil || res.TotalSize < len(res.Records) {
			t.Fatalf("Query(%q): inconsistent result", q)
		}
	})
}

// FuzzSearch runs arbitrary SOSL against the demo org: the engine never panics, and every
// failure is a 400.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		"FIND {Alice} IN NAME FIELDS RETURNING Account(Id, Name WHERE IsPersonAccount = true ORDER BY Name LIMIT 5), Contact LIMIT 10",
		"FIND {+1 \\(415\\) 555\\-0107} IN PHONE FIELDS RETURNING Account(Name, Phone)",
		`FIND {"julia chen" OR (Brow* AND NOT Hannah)} RETURNING Contact(Name, Account.Name), Lead(Company)`,
		"FIND {" + strings.Repeat("(", 101) + "ab" + strings.Repeat(")", 101) + "}",
		"FIND {" + strings.Repeat("alice ", 2000) + "} RETURNING Contact(Id WHERE " + strings.Repeat("NOT ", 101) + "Name = 'x')",
	} {
		f.Add(s)
	}
	db, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := SeedDemo(db); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		tx := db.Begin(false)
		defer tx.Commit()
		if _, e := tx.Search(q); e != nil && e.Status != 400 {
			t.Fatalf("Search(%q): %d %s", q, e.Status, e.Code)
		}
	})
}
