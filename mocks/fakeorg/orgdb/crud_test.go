package orgdb

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)

func newTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := New(Options{
		Now:          func() time.Time { return testNow },
		CustomFields: []CustomField{{Object: "Contact", Name: "Drivers_License__c", Type: "string", Length: 20, ExternalID: true, Unique: true}},
	})
	require.NoError(t, err)
	return db
}

// write runs fn in a write transaction and commits it.
func write[T any](t testing.TB, db *DB, fn func(tx *Tx) (T, *Error)) (T, *Error) {
	t.Helper()
	tx := db.Begin(true)
	defer tx.Commit()
	return fn(tx)
}

func mustCreate(t testing.TB, db *DB, object string, fields map[string]any) string {
	t.Helper()
	id, e := write(t, db, func(tx *Tx) (string, *Error) { return tx.Create(object, fields) })
	require.Nil(t, e)
	return id
}

func get(t testing.TB, db *DB, object, id string, fields ...string) map[string]any {
	t.Helper()
	tx := db.Begin(false)
	defer tx.Commit()
	rec, e := tx.Get(object, id, fields)
	require.Nil(t, e)
	out := map[string]any{}
	for _, f := range rec.Fields {
		out[f.Name] = f.Value
	}
	return out
}

func TestID18(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0019000001AWn2o", "0019000001AWn2oAAD"},
		{"a0D30000001n7Pi", "a0D30000001n7PiEAI"},
		{"a0D30000001n7PiEAI", "a0D30000001n7PiEAI"},
		{"a0D30000001n7Pieai", "a0D30000001n7PiEAI"},
	} {
		got, ok := ID18(tc.in)
		require.True(t, ok, tc.in)
		assert.Equal(t, tc.want, got)
	}
	for _, bad := range []string{"", "001", "0019000001AWn2oAAA", "0019000001AWn2-", "0019000001AWn2oAA"} {
		_, ok := ID18(bad)
		assert.False(t, ok, bad)
	}
	id := makeID("003", 12345)
	assert.Len(t, id, 18)
	assert.True(t, strings.HasPrefix(id, "003"))
	again, ok := ID18(id[:15])
	require.True(t, ok)
	assert.Equal(t, id, again)
}

func TestCreateGetUpdateDelete(t *testing.T) {
	db := newTestDB(t)
	assert.True(t, strings.HasPrefix(db.OrgID(), "00D"))
	id := mustCreate(t, db, "contact", map[string]any{"firstname": "Ada", "LastName": "Lovelace", "Birthdate": "1815-12-10", "Phone": "+44 20 7946 0000"})
	assert.True(t, strings.HasPrefix(id, "003"))
	got := get(t, db, "Contact", id)
	assert.Equal(t, "Ada Lovelace", got["Name"])
	assert.Equal(t, "1815-12-10", got["Birthdate"])
	assert.Equal(t, false, got["IsDeleted"])
	assert.Equal(t, db.UserID(), got["OwnerId"])
	assert.Equal(t, "2026-03-04T10:30:00.000+0000", got["CreatedDate"])
	assert.Nil(t, got["Email"])

	// 15-character ids are accepted; the 15 characters stay case-sensitive.
	got = get(t, db, "Contact", id[:15], "Id", "lastname")
	assert.Equal(t, map[string]any{"Id": id, "LastName": "Lovelace"}, got)
	tx := db.Begin(false)
	_, e := tx.Get("Contact", strings.ToUpper(id[:15]), nil) // "5g" becomes "5G": another id
	tx.Commit()
	require.NotNil(t, e)

	_, e = write(t, db, func(tx *Tx) (struct{}, *Error) {
		return struct{}{}, tx.Update("Contact", id, map[string]any{"FirstName": "Augusta", "Email": "ada@example.com"})
	})
	require.Nil(t, e)
	got = get(t, db, "Contact", id)
	assert.Equal(t, "Augusta Lovelace", got["Name"])
	assert.Equal(t, "ada@example.com", got["Email"])

	_, e = write(t, db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Delete("Contact", id) })
	require.Nil(t, e)
	tx = db.Begin(false)
	_, e = tx.Get("Contact", id, nil)
	tx.Commit()
	require.NotNil(t, e)
	assert.Equal(t, "ENTITY_IS_DELETED", e.Code)
	assert.Equal(t, 404, e.Status)
}

type validationCase struct {
	name, object string
	body         map[string]any
	code         string
	msg          string
	fields       []string
}

func TestValidationErrors(t *testing.T) {
	db := newTestDB(t)
	acct := mustCreate(t, db, "Account", map[string]any{"Name": "Acme"})
	contact := mustCreate(t, db, "Contact", map[string]any{"LastName": "X", "Drivers_License__c": "D123"})
	user := db.UserID()
	long := strings.Repeat("x", 81)
	tests := []validationCase{
		{"required", "Contact", map[string]any{"FirstName": "A"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", []string{"LastName"}},
		{"several required", "EngagementAttendee", map[string]any{"InternalAttendeeId": user}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [EngagementId, StartDateTime]", []string{"EngagementId", "StartDateTime"}},
		{"lead: company not required in a person-account org", "Lead", map[string]any{"FirstName": "A"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", []string{"LastName"}},
		{"unknown field", "Contact", map[string]any{"LastName": "A", "Naem": "x"}, "INVALID_FIELD", "No such column 'Naem' on sobject of type Contact", []string{"Naem"}},
		{"id in create", "Contact", map[string]any{"LastName": "A", "Id": contact}, "INVALID_FIELD", "cannot specify Id in an insert call", []string{"Id"}},
		{"read-only field", "Contact", map[string]any{"LastName": "A", "Name": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Name.", []string{"Name"}},
		{"restricted picklist", "EngagementInteraction", map[string]any{"CommunicationChannel": "Pigeon"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Communication Channel: bad value for restricted picklist field: Pigeon", []string{"CommunicationChannel"}},
		{"required on save though nillable", "EngagementInteraction", map[string]any{"Status": "New"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [StartDateTime, CommunicationChannel]", []string{"StartDateTime", "CommunicationChannel"}},
		{"bad date", "Contact", map[string]any{"LastName": "A", "Birthdate": "1990-13-01"}, "JSON_PARSER_ERROR", "Cannot deserialize instance of date", []string{"Birthdate"}},
		{"date as number", "Contact", map[string]any{"LastName": "A", "Birthdate": json.Number("1990")}, "JSON_PARSER_ERROR", "Cannot deserialize instance of date", []string{"Birthdate"}},
		{"bad datetime", "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "StartDateTime": "yesterday"}, "JSON_PARSER_ERROR", "Cannot deserialize instance of datetime", []string{"StartDateTime"}},
		{"verification detail without its required fields", "IdentityVerificationProcDtl", map[string]any{"OptionalVerifiersMinVerfCount": 1}, "REQUIRED_FIELD_MISSING",
			"Required fields are missing: [DeveloperName, MasterLabel, IdentityVerificationProcDefId, SearchType, DataSourceType, SearchSequenceNumber]",
			[]string{"DeveloperName", "MasterLabel", "IdentityVerificationProcDefId", "SearchType", "DataSourceType", "SearchSequenceNumber"}},
		{"verification field: FieldDataType is not createable", "IdentityVerificationProcFld", map[string]any{"FieldDataType": "text"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: FieldDataType.", []string{"FieldDataType"}},
		{"verification definition: NamespacePrefix is not createable", "IdentityVerificationProcDef", map[string]any{"NamespacePrefix": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: NamespacePrefix.", []string{"NamespacePrefix"}},
		{"verification detail: restricted DataSourceType", "IdentityVerificationProcDtl", map[string]any{"DataSourceType": "Elsewhere"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Data Source Type: bad value for restricted picklist field: Elsewhere", []string{"DataSourceType"}},
		{"verification definition: restricted SearchLayoutType", "IdentityVerificationProcDef", map[string]any{"DeveloperName": "D", "MasterLabel": "D", "SearchLayoutType": "Grid"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Search Layout Type: bad value for restricted picklist field: Grid", []string{"SearchLayoutType"}},
		{"bad boolean", "Contact", map[string]any{"LastName": "A", "IsPersonAccount": true}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: IsPersonAccount.", []string{"IsPersonAccount"}},
		{"boolean from object", "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "IsAttendeeVerified": map[string]any{}}, "JSON_PARSER_ERROR", "Cannot deserialize instance of boolean", []string{"IsAttendeeVerified"}},
		{"too long", "Contact", map[string]any{"LastName": long}, "STRING_TOO_LONG", "Last Name: data value too large", []string{"LastName"}},
		{"bad email", "Contact", map[string]any{"LastName": "A", "Email": "not an email"}, "INVALID_EMAIL_ADDRESS", "Email: invalid email address", []string{"Email"}},
		{"malformed reference", "Contact", map[string]any{"LastName": "A", "AccountId": "nope"}, "MALFORMED_ID", "Account ID: id value of incorrect type: nope", []string{"AccountId"}},
		{"reference of wrong type", "Contact", map[string]any{"LastName": "A", "AccountId": contact}, "INVALID_CROSS_REFERENCE_KEY", "Account ID: id value of incorrect type", []string{"AccountId"}},
		{"missing reference", "Contact", map[string]any{"LastName": "A", "AccountId": makeID("001", 999)}, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []string{"AccountId"}},
		{"polymorphic: a User is not an attendee", "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "InitiatingAttendeeId": user}, "INVALID_CROSS_REFERENCE_KEY", "InitiatingAttendee ID: id value of incorrect type", []string{"InitiatingAttendeeId"}},
		{"duplicate external id", "Contact", map[string]any{"LastName": "A", "drivers_license__c": "d123"}, "DUPLICATE_VALUE", "duplicate value found: Drivers_License__c duplicates value on record with id: " + contact, []string{"Drivers_License__c"}},
		{"attendee needs someone", "EngagementAttendee", map[string]any{"StartDateTime": "2026-01-01T00:00:00Z", "EngagementId": nil}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [ExternalAttendeeId, InternalAttendeeId]", nil},
		{"person account needs a last name", "Account", map[string]any{"RecordTypeId": db.PersonAccountRecordTypeID(), "FirstName": "A"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", []string{"LastName"}},
		{"person fields on a business account", "Account", map[string]any{"FirstName": "A", "LastName": "B", "Name": "AB"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Account: bad field names on insert/update call: FirstName, LastName", []string{"FirstName", "LastName"}},
		{"name on a person account", "Account", map[string]any{"RecordTypeId": db.PersonAccountRecordTypeID(), "LastName": "B", "Name": "AB"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Account: bad field names on insert/update call: Name", []string{"Name"}},
		{"is person account is read-only", "Account", map[string]any{"LastName": "B", "IsPersonAccount": true}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: IsPersonAccount.", []string{"IsPersonAccount"}},
		{"record type of another object", "Account", map[string]any{"Name": "A", "RecordTypeId": acct}, "INVALID_CROSS_REFERENCE_KEY", "Record Type ID: id value of incorrect type", []string{"RecordTypeId"}},
		{"not createable field", "Lead", map[string]any{"LastName": "A", "Name": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Name.", []string{"Name"}},
		{"business account needs a name", "Account", map[string]any{"Phone": "1"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", []string{"Name"}},
		{"unknown object", "Nope", map[string]any{}, "NOT_FOUND", "The requested resource does not exist", nil},
		{"not createable object", "Organization", map[string]any{}, "INVALID_TYPE_FOR_OPERATION", "does not support insert", nil},
	}
	gone := mustCreate(t, db, "Account", map[string]any{"Name": "Gone"})
	_, e := write(t, db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Delete("Account", gone) })
	require.Nil(t, e)
	tests = append(tests, validationCase{"reference to a deleted record", "Contact", map[string]any{"LastName": "A", "AccountId": gone}, "ENTITY_IS_DELETED", "entity is deleted", []string{"AccountId"}},
		validationCase{"ids are case-sensitive: another case is another id", "Contact", map[string]any{"LastName": "A", "AccountId": strings.ToUpper(acct[:15])}, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []string{"AccountId"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(db)
			_, e := write(t, db, func(tx *Tx) (string, *Error) { return tx.Create(tc.object, tc.body) })
			require.NotNil(t, e)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Message, tc.msg)
			if tc.fields != nil {
				assert.Equal(t, tc.fields, e.Fields)
			}
			assert.Equal(t, before, countRows(db), "a failed create changes nothing")
		})
	}
}

func countRows(db *DB) int {
	n := 0
	for _, t := range db.tables {
		n += int(t.n)
	}
	return n
}

func TestReadErrors(t *testing.T) {
	db := newTestDB(t)
	id := mustCreate(t, db, "Contact", map[string]any{"LastName": "A"})
	tx := db.Begin(false)
	defer tx.Commit()
	for _, tc := range []struct {
		object, id string
		fields     []string
		code       string
		status     int
	}{
		{"Contact", "nope", nil, "MALFORMED_ID", 400},
		{"Account", id, nil, "MALFORMED_ID", 400},
		{"Contact", makeID("003", 4242), nil, "NOT_FOUND", 404},
		{"Contact", id[:14] + "X", nil, "NOT_FOUND", 404},
		{"Contact", id, []string{"Naem"}, "INVALID_FIELD", 400},
	} {
		_, e := tx.Get(tc.object, tc.id, tc.fields)
		require.NotNil(t, e, tc)
		assert.Equal(t, tc.code, e.Code, tc)
		assert.Equal(t, tc.status, e.Status, tc)
	}
}

func TestPersonAccount(t *testing.T) {
	db := newTestDB(t)
	id := mustCreate(t, db, "Account", map[string]any{"RecordTypeId": db.PersonAccountRecordTypeID(), "FirstName": "Grace", "LastName": "Hopper", "PersonBirthdate": "1906-12-09", "PersonMobilePhone": "+15550100"})
	acc := get(t, db, "Account", id)
	assert.Equal(t, "Grace Hopper", acc["Name"])
	assert.Equal(t, true, acc["IsPersonAccount"])
	pc, ok := acc["PersonContactId"].(string)
	require.True(t, ok)
	c := get(t, db, "Contact", pc)
	assert.Equal(t, "Grace Hopper", c["Name"])
	assert.Equal(t, "1906-12-09", c["Birthdate"])
	assert.Equal(t, "+15550100", c["MobilePhone"])
	assert.Equal(t, id, c["AccountId"])
	assert.Equal(t, true, c["IsPersonAccount"])

	_, e := write(t, db, func(tx *Tx) (struct{}, *Error) {
		return struct{}{}, tx.Update("Account", id, map[string]any{"LastName": "Murray Hopper", "PersonMobilePhone": nil})
	})
	require.Nil(t, e)
	assert.Equal(t, "Grace Murray Hopper", get(t, db, "Account", id)["Name"])
	c = get(t, db, "Contact", pc)
	assert.Equal(t, "Grace Murray Hopper", c["Name"])
	assert.Nil(t, c["MobilePhone"])

	_, e = write(t, db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Delete("Account", id) })
	require.Nil(t, e)
	tx := db.Begin(false)
	_, e = tx.Get("Contact", pc, nil)
	tx.Commit()
	require.NotNil(t, e)
	assert.Equal(t, "ENTITY_IS_DELETED", e.Code)
}

func TestUpsert(t *testing.T) {
	db := newTestDB(t)
	body := map[string]any{"CommunicationChannel": "Voice Call", "Status": "New", "StartDateTime": "2026-03-04T10:00:00Z"}
	res, e := write(t, db, func(tx *Tx) (UpsertResult, *Error) {
		return tx.Upsert("EngagementInteraction", "ExternalIdentifier", "call-1", body)
	})
	require.Nil(t, e)
	assert.True(t, res.Created)
	res2, e := write(t, db, func(tx *Tx) (UpsertResult, *Error) {
		return tx.Upsert("EngagementInteraction", "externalidentifier", "CALL-1", map[string]any{"Status": "Completed", "IsAttendeeVerified": true})
	})
	require.Nil(t, e)
	assert.False(t, res2.Created)
	assert.Equal(t, res.ID, res2.ID)
	got := get(t, db, "EngagementInteraction", res.ID)
	assert.Equal(t, "Completed", got["Status"])
	assert.Equal(t, "call-1", got["ExternalIdentifier"])
	assert.Equal(t, "2026-03-04T10:30:00.000+0000", got["AttendeeVerificationTime"], "set by the platform when verified")
	assert.Equal(t, "EI-0000000001", got["Name"])

	_, e = write(t, db, func(tx *Tx) (UpsertResult, *Error) { return tx.Upsert("EngagementInteraction", "Reason", "x", body) })
	require.NotNil(t, e)
	assert.Equal(t, "NOT_FOUND", e.Code)

	// Several matches: ExternalIdentifier is idLookup but neither an external id nor unique.
	mustCreate(t, db, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "StartDateTime": "2026-03-04T10:00:00Z", "ExternalIdentifier": "call-2"})
	mustCreate(t, db, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call", "StartDateTime": "2026-03-04T10:00:00Z", "ExternalIdentifier": "CALL-2"})
	res3, e := write(t, db, func(tx *Tx) (UpsertResult, *Error) {
		return tx.Upsert("EngagementInteraction", "ExternalIdentifier", "call-2", map[string]any{})
	})
	require.Nil(t, e)
	assert.Len(t, res3.Matches, 2)
	assert.Empty(t, res3.ID)
}

func TestRollback(t *testing.T) {
	db := newTestDB(t)
	id := mustCreate(t, db, "Contact", map[string]any{"LastName": "Keep", "Drivers_License__c": "K1"})
	before := countRows(db)
	tx := db.Begin(true)
	acc, e := tx.Create("Account", map[string]any{"RecordTypeId": db.PersonAccountRecordTypeID(), "FirstName": "P", "LastName": "Q"})
	require.Nil(t, e)
	require.Nil(t, tx.Update("Contact", id, map[string]any{"LastName": "Changed", "Drivers_License__c": "K2", "AccountId": acc}))
	require.Nil(t, tx.Delete("Contact", id))
	tx.Rollback()
	assert.Equal(t, before, countRows(db))
	got := get(t, db, "Contact", id)
	assert.Equal(t, "Keep", got["LastName"])
	assert.Equal(t, "K1", got["Drivers_License__c"])
	assert.Equal(t, false, got["IsDeleted"])
	assert.Nil(t, got["AccountId"])
	// The index is restored too: the old value is taken, the new one free.
	_, e = write(t, db, func(tx *Tx) (string, *Error) {
		return tx.Create("Contact", map[string]any{"LastName": "B", "Drivers_License__c": "K1"})
	})
	require.NotNil(t, e)
	assert.Equal(t, "DUPLICATE_VALUE", e.Code)
	mustCreate(t, db, "Contact", map[string]any{"LastName": "B", "Drivers_License__c": "K2"})
}

func TestReadOnlyTxRefusesWrites(t *testing.T) {
	db := newTestDB(t)
	tx := db.Begin(false)
	defer tx.Rollback()
	_, e := tx.Create("Contact", map[string]any{"LastName": "A"})
	require.NotNil(t, e)
}

func TestDescribe(t *testing.T) {
	db := newTestDB(t)
	o, ok := db.Schema().Lookup("engagementinteraction")
	require.True(t, ok)
	raw, err := json.Marshal(o.Describe("62.0"))
	require.NoError(t, err)
	var d struct {
		Name, KeyPrefix    string
		Fields             []map[string]any
		ChildRelationships []map[string]any
		RecordTypeInfos    []map[string]any
		URLs               map[string]string `json:"urls"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	assert.Equal(t, "EngagementInteraction", d.Name)
	assert.Equal(t, "0Ze", d.KeyPrefix)
	assert.Equal(t, "/services/data/v62.0/sobjects/EngagementInteraction/describe", d.URLs["describe"])
	byName := map[string]map[string]any{}
	for _, f := range d.Fields {
		byName[f["name"].(string)] = f
	}
	ia := byName["InitiatingAttendeeId"]
	assert.Equal(t, []any{"Account", "Contact", "Lead"}, ia["referenceTo"])
	assert.Equal(t, "InitiatingAttendee", ia["relationshipName"])
	assert.Equal(t, true, ia["polymorphicForeignKey"])
	ext := byName["ExternalIdentifier"]
	assert.Equal(t, false, ext["externalId"])
	assert.Equal(t, false, ext["unique"])
	assert.Equal(t, true, ext["idLookup"])
	ch := byName["CommunicationChannel"]
	assert.Equal(t, true, ch["restrictedPicklist"])
	assert.Len(t, ch["picklistValues"], 4)
	assert.Equal(t, true, ch["nillable"], "nillable in describe; a save still needs it")
	children := map[string]bool{}
	for _, c := range d.ChildRelationships {
		children[c["relationshipName"].(string)] = true
	}
	assert.True(t, children["EngagementAttendees"])
	assert.True(t, children["EngagementTopics"])
	assert.Len(t, d.RecordTypeInfos, 1)

	raw, err = json.Marshal(db.Schema().DescribeGlobal("62.0"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"keyPrefix":"07k"`)
	raw, err = json.Marshal(o.Basic("62.0"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"objectDescribe":{`)

	c, _ := db.Schema().Lookup("Contact")
	f, ok := c.Field("drivers_license__c")
	require.True(t, ok)
	assert.True(t, f.Custom)
}

func TestFinishedTxRefusesEverything(t *testing.T) {
	db := newTestDB(t)
	tx := db.Begin(true)
	tx.Commit()
	tx.Commit() // harmless
	tx.Rollback()
	_, e := tx.Create("Contact", map[string]any{"LastName": "A"})
	require.NotNil(t, e)
	_, e = tx.Query("SELECT Id FROM Contact", false)
	require.NotNil(t, e)
	// The lock was released once: a new writer gets it.
	mustCreate(t, db, "Contact", map[string]any{"LastName": "B"})
}

// TestConcurrentUse runs readers and writers at once; the race detector checks the locking.
func TestConcurrentUse(t *testing.T) {
	db := newTestDB(t)
	require.NoError(t, SeedDemo(db))
	done := make(chan struct{})
	errs := make(chan *Error, 64)
	for w := 0; w < 4; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 50; i++ {
				if w%2 == 0 {
					tx := db.Begin(true)
					id, e := tx.Create("Contact", map[string]any{"LastName": "Writer", "MobilePhone": "+1415555" + strings.Repeat("0", 3) + string(rune('0'+w))})
					if e == nil {
						e = tx.Update("Contact", id, map[string]any{"FirstName": "W"})
					}
					if i%3 == 0 {
						tx.Rollback()
					} else {
						tx.Commit()
					}
					if e != nil {
						errs <- e
					}
					continue
				}
				tx := db.Begin(false)
				_, e := tx.Query("SELECT Id, Name, Account.Name FROM Contact WHERE LastName = 'Writer' OR MobilePhone = '+14155550201'", false)
				if e == nil {
					_, e = tx.Search("FIND {Writer} RETURNING Contact(Name)")
				}
				tx.Commit()
				if e != nil {
					errs <- e
				}
			}
		}(w)
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	tx := db.Begin(false)
	defer tx.Commit()
	res, e := tx.Query("SELECT COUNT() FROM Contact WHERE FirstName = 'W'", false)
	require.Nil(t, e)
	assert.Equal(t, 2*(50-17), res.TotalSize, "rolled-back writes left nothing")
}

func TestFifteenCharacterReference(t *testing.T) {
	db := newTestDB(t)
	acct := mustCreate(t, db, "Account", map[string]any{"Name": "Acme"})
	c := mustCreate(t, db, "Contact", map[string]any{"LastName": "A", "AccountId": acct[:15]})
	assert.Equal(t, acct, get(t, db, "Contact", c, "AccountId")["AccountId"], "stored in the 18-character form")
}

func TestUpdateErrors(t *testing.T) {
	db := newTestDB(t)
	acct := mustCreate(t, db, "Account", map[string]any{"Name": "Acme"})
	c1 := mustCreate(t, db, "Contact", map[string]any{"LastName": "One", "Drivers_License__c": "A1"})
	mustCreate(t, db, "Contact", map[string]any{"LastName": "Two", "Drivers_License__c": "A2"})
	acr := mustCreate(t, db, "AccountContactRelation", map[string]any{"AccountId": acct, "ContactId": c1})
	gone := mustCreate(t, db, "Contact", map[string]any{"LastName": "Gone"})
	_, e := write(t, db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Delete("Contact", gone) })
	require.Nil(t, e)
	tests := []struct {
		name, object, id string
		body             map[string]any
		code             string
		status           int
	}{
		{"unknown field", "Contact", c1, map[string]any{"Naem": "x"}, "INVALID_FIELD", 400},
		{"read-only field", "Contact", c1, map[string]any{"Name": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", 400},
		{"create-only field", "AccountContactRelation", acr, map[string]any{"AccountId": acct}, "INVALID_FIELD_FOR_INSERT_UPDATE", 400},
		{"required field nulled", "Contact", c1, map[string]any{"LastName": nil}, "REQUIRED_FIELD_MISSING", 400},
		{"duplicate external id", "Contact", c1, map[string]any{"Drivers_License__c": "a2"}, "DUPLICATE_VALUE", 400},
		{"another record's id in the body", "Contact", c1, map[string]any{"Id": gone, "LastName": "x"}, "INVALID_FIELD", 400},
		{"malformed id", "Contact", "xyz", map[string]any{"LastName": "x"}, "MALFORMED_ID", 400},
		{"id of another object", "Contact", acct, map[string]any{"LastName": "x"}, "MALFORMED_ID", 400},
		{"no such record", "Contact", makeID("003", 999), map[string]any{"LastName": "x"}, "NOT_FOUND", 404},
		{"deleted record", "Contact", gone, map[string]any{"LastName": "x"}, "ENTITY_IS_DELETED", 404},
		{"not updateable object", "Organization", db.OrgID(), map[string]any{}, "INVALID_TYPE_FOR_OPERATION", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := get(t, db, "Contact", c1)
			_, e := write(t, db, func(tx *Tx) (struct{}, *Error) { return struct{}{}, tx.Update(tc.object, tc.id, tc.body) })
			require.NotNil(t, e)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, before, get(t, db, "Contact", c1), "a failed update changes nothing")
		})
	}
	// The record's own id in the body is accepted.
	_, e = write(t, db, func(tx *Tx) (struct{}, *Error) {
		return struct{}{}, tx.Update("Contact", c1, map[string]any{"Id": c1[:15], "attributes": map[string]any{"type": "Contact"}, "LastName": "Uno"})
	})
	require.Nil(t, e)
	assert.Equal(t, "Uno", get(t, db, "Contact", c1)["LastName"])
}
