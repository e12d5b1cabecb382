package orgdb

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeedDemo(t *testing.T) {
	db := newTestDB(t)
	require.NoError(t, SeedDemo(db))
	d := Demo()
	tx := db.Begin(false)
	defer tx.Commit()
	for _, p := range d.People {
		rec, e := tx.Get(p.Object, p.ID, []string{"Name"})
		require.Nil(t, e, p.Key)
		assert.Equal(t, p.Name(), rec.Fields[0].Value, p.Key)
	}
	alice, ok := d.Person("alice")
	require.True(t, ok)
	res, e := tx.Query("SELECT Id, PersonContactId FROM Account WHERE PersonMobilePhone = '"+alice.MobilePhone+"'", false)
	require.Nil(t, e)
	require.Equal(t, 1, res.TotalSize)
	assert.Equal(t, alice.ID, res.Records[0].ID)
	assert.Equal(t, alice.PersonContactID, res.Records[0].Fields[1].Value)

	res, e = tx.Query("SELECT Id FROM Account WHERE PersonHomePhone = '+14155550107'", false)
	require.Nil(t, e)
	assert.Equal(t, 2, res.TotalSize, "George and Hannah share a home phone")

	julia, _ := d.Person("julia")
	res, e = tx.Query("SELECT Account.Name, Roles FROM AccountContactRelation WHERE ContactId = '"+julia.ID+"' AND IsActive = true AND Roles INCLUDES ('Authorized Representative') ORDER BY Account.Name", false)
	require.Nil(t, e)
	require.Equal(t, 2, res.TotalSize)
	assert.Equal(t, "Alice Martin", res.Records[0].Fields[0].Value.(*Record).Fields[0].Value)

	res, e = tx.Query("SELECT Id, ObjectName, LinkedIdVerfProcessDet.ObjectName, OptionalVerifiersMinVerfCount, (SELECT FieldName, FieldType FROM IdentityVerificationProcFlds WHERE FieldType = 'requiredVerifier' ORDER BY SequenceNumber) FROM IdentityVerificationProcDtl ORDER BY SearchSequenceNumber", false)
	require.Nil(t, e)
	require.Equal(t, 2, res.TotalSize)
	assert.Equal(t, d.Verification.CustomerSearchID, res.Records[0].ID)
	assert.Equal(t, "Account", res.Records[1].Fields[2].Value.(*Record).Fields[0].Value)
	assert.Equal(t, int64(1), res.Records[0].Fields[3].Value)
	req := res.Records[0].Fields[4].Value.(*QueryResult)
	require.Len(t, req.Records, 2)
	assert.Equal(t, "Name", req.Records[0].Fields[0].Value)
	assert.Equal(t, "PersonBirthdate", req.Records[1].Fields[0].Value)

	res, e = tx.Query("SELECT COUNT() FROM Lead", false)
	require.Nil(t, e)
	assert.Equal(t, len(d.Leads), res.TotalSize)
}

func TestSeedGenerated(t *testing.T) {
	db := newTestDB(t)
	n := 5000
	if testing.Short() {
		n = 500
	}
	require.NoError(t, SeedGenerated(db, n, 7))
	tx := db.Begin(false)
	defer tx.Commit()
	res, e := tx.Query("SELECT COUNT() FROM Contact WHERE IsPersonAccount = true", false)
	require.Nil(t, e)
	assert.Equal(t, n, res.TotalSize)
	res, e = tx.Query("SELECT Id, Name FROM Contact WHERE MobilePhone = '"+GeneratedPhone(123, 7)+"'", false)
	require.Nil(t, e)
	assert.Equal(t, 1, res.TotalSize)

	// Deterministic: a second org seeded alike holds the same names.
	db2 := newTestDB(t)
	require.NoError(t, SeedGenerated(db2, 100, 7))
	tx2 := db2.Begin(false)
	defer tx2.Commit()
	a, e := tx2.Query("SELECT Name, PersonBirthdate FROM Account ORDER BY AccountNumber LIMIT 50", false)
	require.Nil(t, e)
	b, e := tx.Query("SELECT Name, PersonBirthdate FROM Account ORDER BY AccountNumber LIMIT 50", false)
	require.Nil(t, e)
	assert.Equal(t, a.Records, b.Records)
}
