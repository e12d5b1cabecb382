package orgdb

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soqlEscape is Salesforce's escaping of a SOQL string literal (salesforce.md §5); like also
// escapes the LIKE wildcards.
func soqlEscape(s string, like bool) string {
	s = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`).Replace(s)
	if like {
		s = strings.NewReplacer(`%`, `\%`, `_`, `\_`).Replace(s)
	}
	return s
}

type fixture struct {
	db                    *DB
	acme, globex          string
	ann, bob, cy, dee     string
	lead                  string
	engagement            string
	person, personContact string
}

// newFixture builds a small org: two business accounts with contacts, a person account, a
// lead and an engagement with attendees.
func newFixture(t *testing.T) *fixture {
	f := &fixture{db: newTestDB(t)}
	db := f.db
	f.acme = mustCreate(t, db, "Account", map[string]any{"Name": "Acme", "Industry": "Banking", "Phone": "+1 415 555 0100"})
	f.globex = mustCreate(t, db, "Account", map[string]any{"Name": "Globex", "ParentId": f.acme})
	f.ann = mustCreate(t, db, "Contact", map[string]any{"FirstName": "Ann", "LastName": "Able", "AccountId": f.acme, "Birthdate": "1980-05-01", "Email": "ann@example.com", "MobilePhone": "+14155550001"})
	f.bob = mustCreate(t, db, "Contact", map[string]any{"FirstName": "Bob", "LastName": "Baker", "AccountId": f.acme, "Birthdate": "1990-01-15"})
	f.cy = mustCreate(t, db, "Contact", map[string]any{"FirstName": "Cy", "LastName": "cole", "AccountId": f.globex})
	f.dee = mustCreate(t, db, "Contact", map[string]any{"LastName": "Dee_100%"})
	f.person = mustCreate(t, db, "Account", map[string]any{"RecordTypeId": db.PersonAccountRecordTypeID(), "FirstName": "Pat", "LastName": "Person", "PersonBirthdate": "1970-07-07"})
	f.personContact = get(t, db, "Account", f.person, "PersonContactId")["PersonContactId"].(string)
	f.lead = mustCreate(t, db, "Lead", map[string]any{"LastName": "Lee", "Company": "LeeCo"})
	f.engagement = mustCreate(t, db, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "InitiatingAttendeeId": f.lead, "StartDateTime": "2026-03-04T09:00:00+01:00", "ExternalIdentifier": "call-1"})
	mustCreate(t, db, "EngagementAttendee", map[string]any{"EngagementId": f.engagement, "ExternalAttendeeId": f.ann, "Role": "OnBehalf", "StartDateTime": "2026-03-04T08:00:00Z"})
	mustCreate(t, db, "EngagementAttendee", map[string]any{"EngagementId": f.engagement, "ExternalAttendeeId": f.person, "Role": "Self", "StartDateTime": "2026-03-04T08:00:00Z"})
	mustCreate(t, db, "AccountContactRelation", map[string]any{"AccountId": f.person, "ContactId": f.bob, "Roles": "Authorized Representative;Spouse", "IsActive": true})
	mustCreate(t, db, "AccountContactRelation", map[string]any{"AccountId": f.person, "ContactId": f.cy, "Roles": "Legal Guardian", "IsActive": false})
	return f
}

func (f *fixture) query(t *testing.T, q string, all bool) (*QueryResult, *Error) {
	t.Helper()
	tx := f.db.Begin(false)
	defer tx.Commit()
	return tx.Query(q, all)
}

func recordIDs(res *QueryResult) []string {
	out := []string{}
	for _, r := range res.Records {
		out = append(out, r.ID)
	}
	return out
}

func field(r *Record, name string) any {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return "<absent>"
}

func TestQueryFilters(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, where string
		want        []string
	}{
		{"equality is case-insensitive", "LastName = 'COLE'", []string{f.cy}},
		{"not equal includes nulls", "FirstName != 'Ann'", []string{f.bob, f.cy, f.dee, f.personContact}},
		{"<> is !=", "FirstName <> 'Ann'", []string{f.bob, f.cy, f.dee, f.personContact}},
		{"null", "FirstName = null", []string{f.dee}},
		{"not null", "Birthdate != NULL", []string{f.ann, f.bob, f.personContact}},
		{"date less", "Birthdate < 1985-01-01", []string{f.ann, f.personContact}},
		{"date ge", "Birthdate >= 1990-01-15", []string{f.bob}},
		{"date le", "Birthdate <= 1980-05-01", []string{f.ann, f.personContact}},
		{"date gt", "Birthdate > 1980-05-01", []string{f.bob}},
		{"string range", "LastName > 'b' AND LastName < 'd'", []string{f.bob, f.cy}},
		{"like prefix", "LastName LIKE 'b%'", []string{f.bob}},
		{"like underscore", "FirstName LIKE '_y'", []string{f.cy}},
		{"like escaped wildcards", "LastName LIKE 'Dee\\_100\\%'", []string{f.dee}},
		{"escaped _ does not match other characters", "LastName LIKE 'Dee\\_1%' AND LastName LIKE '%\\%'", []string{f.dee}},
		{"like without wildcard is equality", "LastName LIKE 'able'", []string{f.ann}},
		{"in", "FirstName IN ('ann', 'Cy', 'nobody')", []string{f.ann, f.cy}},
		{"not in", "FirstName NOT IN ('Ann', 'Cy')", []string{f.bob, f.dee, f.personContact}},
		{"in by id, 15 characters", "Id IN ('" + f.ann[:15] + "', '" + f.bob + "')", []string{f.ann, f.bob}},
		{"reference", "AccountId = '" + f.acme + "'", []string{f.ann, f.bob}},
		{"parent field", "Account.Name = 'Globex'", []string{f.cy}},
		{"grandparent field", "Account.Parent.Name = 'Acme'", []string{f.cy}},
		{"boolean", "IsPersonAccount = true", []string{f.personContact}},
		{"and/or with parentheses", "(FirstName = 'Ann' OR FirstName = 'Bob') AND Birthdate > 1985-01-01", []string{f.bob}},
		{"not", "NOT (FirstName = 'Ann' OR FirstName = null)", []string{f.bob, f.cy, f.personContact}},
		{"datetime with offset", "CreatedDate = 2026-03-04T11:30:00.000+01:00", []string{f.ann, f.bob, f.cy, f.dee, f.personContact}},
		{"today", "CreatedDate = TODAY", []string{f.ann, f.bob, f.cy, f.dee, f.personContact}},
		{"yesterday", "CreatedDate = YESTERDAY", []string{}},
		{"last n days", "CreatedDate = LAST_N_DAYS:3 AND Birthdate = LAST_N_DAYS:3", []string{}},
		{"date literal comparison", "Birthdate < LAST_N_DAYS:365", []string{f.ann, f.bob, f.personContact}},
		{"semi-join", "Id IN (SELECT ContactId FROM AccountContactRelation WHERE IsActive = true AND AccountId = '" + f.person + "')", []string{f.bob}},
		{"anti-join", "Id NOT IN (SELECT ContactId FROM AccountContactRelation WHERE AccountId = '" + f.person + "')", []string{f.ann, f.dee, f.personContact}},
		{"indexed phone", "MobilePhone = '+14155550001'", []string{f.ann}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, e := f.query(t, "SELECT Id FROM Contact WHERE "+tc.where, false)
			require.Nil(t, e, "%v", e)
			assert.Equal(t, tc.want, recordIDs(res))
			assert.Equal(t, len(tc.want), res.TotalSize)
		})
	}
}

func TestQueryMultiPicklist(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		where string
		n     int
	}{
		{"Roles INCLUDES ('Spouse')", 1},
		{"Roles INCLUDES ('spouse;authorized representative')", 1},
		{"Roles INCLUDES ('Spouse;Legal Guardian')", 0},
		{"Roles INCLUDES ('Spouse', 'Legal Guardian')", 2},
		{"Roles EXCLUDES ('Spouse')", 1},
		{"Roles = 'Spouse;Authorized Representative'", 1},
	} {
		res, e := f.query(t, "SELECT Id FROM AccountContactRelation WHERE AccountId = '"+f.person+"' AND "+tc.where, false)
		require.Nil(t, e, tc.where)
		assert.Equal(t, tc.n, res.TotalSize, tc.where)
	}
}

func TestQueryShape(t *testing.T) {
	f := newFixture(t)
	res, e := f.query(t, "SELECT Account.Name, Id, account.industry, Name FROM Contact WHERE AccountId != null ORDER BY Name", false)
	require.Nil(t, e)
	require.Equal(t, 4, res.TotalSize, "the person contact has the person account as its account")
	r := res.Records[0]
	assert.Equal(t, "Contact", r.Type)
	assert.Equal(t, []string{"Account", "Id", "Name"}, names(r.Fields), "parent fields merge into one nested record, in select order")
	parent := r.Fields[0].Value.(*Record)
	assert.Equal(t, "Account", parent.Type)
	assert.Equal(t, f.acme, parent.ID)
	assert.Equal(t, []Field{{"Name", "Acme"}, {"Industry", "Banking"}}, parent.Fields)

	res, e = f.query(t, "SELECT Name, Parent.Name FROM Account WHERE Name = 'Acme'", false)
	require.Nil(t, e)
	assert.Nil(t, res.Records[0].Fields[1].Value, "an empty parent is null")

	// Polymorphic parents: the nested record carries the actual type.
	res, e = f.query(t, "SELECT InitiatingAttendee.Name, InitiatingAttendee.Type, (SELECT ExternalAttendee.Name, Role FROM EngagementAttendees ORDER BY Role) FROM EngagementInteraction", false)
	require.Nil(t, e)
	ia := res.Records[0].Fields[0].Value.(*Record)
	assert.Equal(t, "Lead", ia.Type)
	assert.Equal(t, []Field{{"Name", "Lee"}, {"Type", "Lead"}}, ia.Fields)
	att := res.Records[0].Fields[1].Value.(*QueryResult)
	require.Equal(t, 2, att.TotalSize)
	assert.True(t, att.Done)
	assert.Equal(t, "Ann Able", att.Records[0].Fields[0].Value.(*Record).Fields[0].Value)
	assert.Equal(t, "Account", att.Records[1].Fields[0].Value.(*Record).Type)
	assert.Equal(t, "Self", att.Records[1].Fields[1].Value)

	// A parent without children has a null subquery.
	res, e = f.query(t, "SELECT Name, (SELECT Id FROM Contacts) FROM Account WHERE Id = '"+f.globex+"' OR Name = 'Pat Person' ORDER BY Name", false)
	require.Nil(t, e)
	require.Equal(t, 2, res.TotalSize)
	assert.Equal(t, 1, res.Records[0].Fields[1].Value.(*QueryResult).TotalSize)
	assert.Equal(t, f.personContact, res.Records[1].Fields[1].Value.(*QueryResult).Records[0].ID)

	res, e = f.query(t, "SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id = '"+f.globex+"'", false)
	require.Nil(t, e)
	assert.NotNil(t, res.Records[0].Fields[1].Value)
	res, e = f.query(t, "SELECT Id, (SELECT Id FROM Contacts WHERE FirstName = 'nobody') FROM Account WHERE Id = '"+f.globex+"'", false)
	require.Nil(t, e)
	assert.Nil(t, res.Records[0].Fields[1].Value)
	empty := mustCreate(t, f.db, "Account", map[string]any{"Name": "Empty Inc"})
	res, e = f.query(t, "SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id = '"+empty+"'", false)
	require.Nil(t, e)
	assert.Nil(t, res.Records[0].Fields[1].Value, "an account without contacts")
	res, e = f.query(t, "SELECT Id FROM Contact WHERE MobilePhone = '+10000000000' OR Email = 'nobody@example.com'", false)
	require.Nil(t, e)
	assert.Zero(t, res.TotalSize, "index lookups that find nothing read nothing")
	res, e = f.query(t, "SELECT Id FROM Contact WHERE MobilePhone = '+14155550001' OR (Email = 'x@example.com' AND LastName = 'Baker') OR Id = '"+f.cy+"'", false)
	require.Nil(t, e)
	assert.Equal(t, []string{f.ann, f.cy}, recordIDs(res))

	// Field names are case-insensitive; output uses the canonical case. Contact.X is X.
	res, e = f.query(t, "select ID, contact.lastname from CONTACT where FIRSTNAME = 'ann'", false)
	require.Nil(t, e)
	assert.Equal(t, []string{"Id", "LastName"}, names(res.Records[0].Fields))
}

func names(fs []Field) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestQueryOrderLimitCount(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		q    string
		want []string
	}{
		{"SELECT Id FROM Contact ORDER BY LastName", []string{f.ann, f.bob, f.cy, f.dee, f.personContact}},
		{"SELECT Id FROM Contact ORDER BY LastName DESC", []string{f.personContact, f.dee, f.cy, f.bob, f.ann}},
		{"SELECT Id FROM Contact ORDER BY FirstName", []string{f.dee, f.ann, f.bob, f.cy, f.personContact}},
		{"SELECT Id FROM Contact ORDER BY FirstName NULLS LAST", []string{f.ann, f.bob, f.cy, f.personContact, f.dee}},
		{"SELECT Id FROM Contact ORDER BY FirstName DESC", []string{f.personContact, f.cy, f.bob, f.ann, f.dee}},
		{"SELECT Id FROM Contact ORDER BY FirstName DESC NULLS FIRST", []string{f.dee, f.personContact, f.cy, f.bob, f.ann}},
		{"SELECT Id FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName DESC", []string{f.personContact, f.cy, f.bob, f.ann, f.dee}},
		{"SELECT Id FROM Contact ORDER BY LastName LIMIT 2", []string{f.ann, f.bob}},
		{"SELECT Id FROM Contact ORDER BY LastName LIMIT 2 OFFSET 2", []string{f.cy, f.dee}},
		{"SELECT Id FROM Contact ORDER BY LastName OFFSET 10", []string{}},
		{"SELECT Id FROM Contact LIMIT 0", []string{}},
	}
	for _, tc := range tests {
		res, e := f.query(t, tc.q, false)
		require.Nil(t, e, tc.q)
		assert.Equal(t, tc.want, recordIDs(res), tc.q)
	}
	res, e := f.query(t, "SELECT COUNT() FROM Contact WHERE AccountId != null", false)
	require.Nil(t, e)
	assert.Equal(t, 4, res.TotalSize)
	assert.Empty(t, res.Records)

	res, e = f.query(t, "SELECT COUNT(Id), COUNT(FirstName) named, MIN(Birthdate), MAX(LastName) FROM Contact", false)
	require.Nil(t, e)
	require.Equal(t, 1, res.TotalSize)
	agg := res.Records[0]
	assert.Equal(t, "AggregateResult", agg.Type)
	assert.Empty(t, agg.ID)
	assert.Equal(t, []Field{{"expr0", int64(5)}, {"named", int64(4)}, {"expr1", "1970-07-07"}, {"expr2", "Person"}}, agg.Fields)
}

func TestQueryAllSeesDeleted(t *testing.T) {
	f := newFixture(t)
	_, e := write(t, f.db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Delete("Contact", f.cy) })
	require.Nil(t, e)
	res, e := f.query(t, "SELECT Id FROM Contact WHERE AccountId = '"+f.globex+"'", false)
	require.Nil(t, e)
	assert.Equal(t, 0, res.TotalSize)
	res, e = f.query(t, "SELECT Id, IsDeleted FROM Contact WHERE AccountId = '"+f.globex+"'", true)
	require.Nil(t, e)
	require.Equal(t, 1, res.TotalSize)
	assert.Equal(t, true, field(res.Records[0], "IsDeleted"))
}

// TestQueryInjectionStaysLiteral: a record named with hostile text is found by its escaped name
// and nothing else comes back, with = and with LIKE.
func TestQueryInjectionStaysLiteral(t *testing.T) {
	db := newTestDB(t)
	corpus := []string{
		`x' OR Name LIKE '`, `\' OR 1=1 --`, `%`, `_`, `a%b_c`, `\`, `\\`, `'`, `"`, `\'`,
		`' OR Id != null OR LastName = '`, `') OR (LastName = 'x`, "line\nbreak' OR LastName != '",
		"tab\tcr\rbs\bff\f", `’ OR LastName LIKE ’%`, `“quoted”`, `ʼ OR 1=1`, `) FROM User WHERE (Id != null`,
		`日本語' OR '`,
	}
	ids := map[string]string{}
	for _, s := range corpus {
		ids[s] = mustCreate(t, db, "Contact", map[string]any{"LastName": s})
	}
	mustCreate(t, db, "Contact", map[string]any{"LastName": "bystander"})
	tx := db.Begin(false)
	defer tx.Commit()
	for _, s := range corpus {
		for _, like := range []bool{false, true} {
			op := "="
			if like {
				op = "LIKE"
			}
			res, e := tx.Query("SELECT Id FROM Contact WHERE LastName "+op+" '"+soqlEscape(s, like)+"'", false)
			require.Nil(t, e, "%q: %v", s, e)
			assert.Equal(t, []string{ids[s]}, recordIDs(res), "%q with %s", s, op)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		q, code, detail string
		col             int
	}{
		{"SELECT Naem FROM Account", "INVALID_FIELD", "No such column 'Naem' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", 8},
		{"SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", 16},
		{"SELECT Acount.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Acount' in field path.", 8},
		{"SELECT Account.Naem FROM Contact", "INVALID_FIELD", "No such column 'Naem' on entity 'Account'.", 8},
		{"SELECT Id FROM Contact WHERE Naem = 'x'", "INVALID_FIELD", "No such column 'Naem' on entity 'Contact'.", 30},
		{"SELECT Id FROM Contact ORDER BY Naem", "INVALID_FIELD", "No such column 'Naem'", 33},
		{"SELECT Id, (SELECT Id FROM Contactz) FROM Account", "INVALID_TYPE", "Didn't understand relationship 'Contactz' in FROM part of query call.", 28},
		{"SELECT Id FROM Contact WHERE Birthdate = '2020-01-01'", "INVALID_FIELD", "value of filter criterion for field 'Birthdate' must be of type date and should not be enclosed in quotes", 42},
		{"SELECT Id FROM Contact WHERE LastName = 5", "INVALID_FIELD", "value of filter criterion for field 'LastName' must be of type string and should be enclosed in quotes", 41},
		{"SELECT Id FROM Contact WHERE IsDeleted = 'true'", "INVALID_FIELD", "must be of type boolean and should not be enclosed in quotes", 42},
		{"SELECT Id FROM Contact WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc", 35},
		{"SELECT Id FROM Contact WHERE Birthdate LIKE '2020%'", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on date field", 40},
		{"SELECT Id, Id FROM Contact", "INVALID_FIELD", "duplicate field selected: Id", 12},
		{"SELECT Name, COUNT(Id) FROM Contact", "MALFORMED_QUERY", "Field must be grouped or aggregated: Name", 8},
		{"SELECT Id FROM Contact WHERE Name = 'x' OR", "MALFORMED_QUERY", "unexpected token: '<EOF>'", 43},
		{"SELECT Id FROM Contact WHERE LastName IN (SELECT Id FROM Account)", "INVALID_FIELD", "Invalid semi join", 30},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			_, e := f.query(t, tc.q, false)
			require.NotNil(t, e)
			assert.Equal(t, 400, e.Status)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Message, tc.detail)
			assert.True(t, strings.HasPrefix(e.Message, "\n"+tc.q+"\n"+strings.Repeat(" ", tc.col-1)+"^\nERROR at Row:1:Column:"), "caret diagram: %q", e.Message)
		})
	}
}

func TestQueryCustomField(t *testing.T) {
	db := newTestDB(t)
	id := mustCreate(t, db, "Contact", map[string]any{"LastName": "A", "drivers_license__C": "DL-1"})
	tx := db.Begin(false)
	defer tx.Commit()
	res, e := tx.Query("SELECT Id, DRIVERS_LICENSE__C FROM Contact WHERE Drivers_License__c = 'dl-1'", false)
	require.Nil(t, e)
	require.Equal(t, []string{id}, recordIDs(res))
	assert.Equal(t, []Field{{"Id", id}, {"Drivers_License__c", "DL-1"}}, res.Records[0].Fields)
	_, e = tx.Query("SELECT Drivers_License FROM Contact", false)
	require.NotNil(t, e)
	assert.Equal(t, "INVALID_FIELD", e.Code)
}

func TestNewRejectsBadCustomFields(t *testing.T) {
	for _, cf := range []CustomField{
		{Object: "Nope", Name: "X__c", Type: "string"},
		{Object: "Contact", Name: "NoSuffix", Type: "string"},
		{Object: "Contact", Name: "LastName__c", Type: "blob"},
	} {
		_, err := New(Options{CustomFields: []CustomField{cf}})
		assert.Error(t, err, cf)
	}
	_, err := New(Options{CustomFields: []CustomField{{Object: "Contact", Name: "A__c", Type: "date"}, {Object: "contact", Name: "a__c", Type: "date"}}})
	assert.Error(t, err, "declared twice")
}

func TestQueryFieldsFunction(t *testing.T) {
	db := newTestDB(t)
	id := mustCreate(t, db, "Contact", map[string]any{"LastName": "A", "Drivers_License__c": "X1"})
	tx := db.Begin(false)
	defer tx.Commit()
	c, _ := db.Schema().Lookup("Contact")
	res, e := tx.Query("SELECT FIELDS(ALL) FROM Contact LIMIT 200", false)
	require.Nil(t, e)
	assert.Len(t, res.Records[0].Fields, len(c.Fields()))
	res, e = tx.Query("SELECT Id, FIELDS(CUSTOM) FROM Contact WITH SECURITY_ENFORCED LIMIT 10", false)
	require.Nil(t, e)
	assert.Equal(t, []Field{{"Id", id}, {"Drivers_License__c", "X1"}}, res.Records[0].Fields)
	res, e = tx.Query("SELECT FIELDS(STANDARD), Id FROM Contact", false)
	require.Nil(t, e)
	assert.Len(t, res.Records[0].Fields, len(c.Fields())-1)
	_, e = tx.Query("SELECT FIELDS(ALL) FROM Contact", false)
	require.NotNil(t, e)
	assert.Equal(t, "MALFORMED_QUERY", e.Code)
	assert.Contains(t, e.Message, "LIMIT of at most 200")
}
