package sfdc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/sfdc"
)

const recordJSON = `{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/0019000001AWn2oAAD"},
 "Id":"0019000001AWn2oAAD","Name":"O\"Brien \\ Sons \u00e9","IsPersonAccount":true,"NumberOfEmployees":12,
 "AnnualRevenue":12345678901234567.89,"PersonBirthdate":"1980-02-29","LastModifiedDate":"2024-03-05T14:30:00.000+0000",
 "Owner":{"attributes":{"type":"User"},"Name":"Integration","Manager":null},"Parent":null,"Description":null,
 "Tags":["a",1],
 "Contacts":{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Contact"},"LastName":"A"},{"attributes":{"type":"Contact"},"LastName":"B"}]}}`

func TestRecordAccessors(t *testing.T) {
	var r sfdc.Record
	require.NoError(t, json.Unmarshal([]byte(recordJSON), &r))

	assert.Equal(t, "Account", r.Type())
	assert.Equal(t, sfdc.MustParseID("0019000001AWn2o"), r.ID())
	name, ok := r.String("Name")
	require.True(t, ok)
	assert.Equal(t, `O"Brien \ Sons é`, name)
	name, ok = r.String("name")
	require.True(t, ok, "names match case-insensitively")
	assert.Equal(t, `O"Brien \ Sons é`, name)

	b, ok := r.Bool("IsPersonAccount")
	assert.True(t, ok)
	assert.True(t, b)
	_, ok = r.Bool("Name")
	assert.False(t, ok, "a string is not a bool")

	n, ok := r.Int("NumberOfEmployees")
	assert.True(t, ok)
	assert.Equal(t, int64(12), n)
	_, ok = r.Int("Name")
	assert.False(t, ok)
	v, ok := r.Get("AnnualRevenue")
	require.True(t, ok)
	assert.Equal(t, json.Number("12345678901234567.89"), v, "numbers keep their text")

	d, ok := r.Date("PersonBirthdate")
	assert.True(t, ok)
	assert.Equal(t, sfdc.Date{Year: 1980, Month: 2, Day: 29}, d)
	tm, ok := r.Time("LastModifiedDate")
	assert.True(t, ok)
	assert.True(t, tm.Equal(time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC)))

	owner, ok := r.Parent("Owner")
	require.True(t, ok)
	assert.Equal(t, "User", owner.Type())
	on, ok := r.String("Owner.Name")
	assert.True(t, ok)
	assert.Equal(t, "Integration", on)
	assert.True(t, r.IsNull("Owner.Manager"))
	assert.True(t, r.IsNull("Parent.Name"), "a null parent makes its fields null")
	assert.True(t, r.IsNull("Description"))
	assert.False(t, r.IsNull("Name"))
	assert.False(t, r.IsNull("NoSuchField"))
	_, ok = r.Parent("Parent")
	assert.False(t, ok)
	_, ok = r.Get("Parent.Name")
	assert.False(t, ok)
	v, ok = r.Get("Description")
	assert.True(t, ok)
	assert.Nil(t, v)

	kids := r.Children("Contacts")
	require.Len(t, kids, 2)
	last, _ := kids[1].String("LastName")
	assert.Equal(t, "B", last)
	assert.Nil(t, r.Children("Owner"))

	v, ok = r.Get("Tags")
	require.True(t, ok)
	assert.Equal(t, []any{"a", json.Number("1")}, v)

	assert.ElementsMatch(t, []string{"Id", "Name", "IsPersonAccount", "NumberOfEmployees", "AnnualRevenue", "PersonBirthdate",
		"LastModifiedDate", "Owner", "Parent", "Description", "Tags", "Contacts"}, r.Names())

	var into struct {
		Name  string
		Owner struct{ Name string }
	}
	require.NoError(t, r.Decode(&into))
	assert.Equal(t, `O"Brien \ Sons é`, into.Name)
	assert.Equal(t, "Integration", into.Owner.Name)

	round, err := json.Marshal(r)
	require.NoError(t, err)
	var again sfdc.Record
	require.NoError(t, json.Unmarshal(round, &again))
	name, _ = again.String("Name")
	assert.Equal(t, `O"Brien \ Sons é`, name)
}

func TestNewRecord(t *testing.T) {
	r, err := sfdc.NewRecord(map[string]any{"Id": "0019000001AWn2oAAD", "Name": "Acme", "Employees": 3,
		"Owner": map[string]any{"Name": "Bo"}})
	require.NoError(t, err)
	assert.Equal(t, sfdc.MustParseID("0019000001AWn2o"), r.ID())
	n, _ := r.Int("Employees")
	assert.Equal(t, int64(3), n)
	o, _ := r.String("Owner.Name")
	assert.Equal(t, "Bo", o)
	_, err = sfdc.NewRecord(map[string]any{"Bad": make(chan int)})
	require.Error(t, err)

	var bad sfdc.Record
	require.Error(t, json.Unmarshal([]byte(`null`), &bad))
	require.Error(t, json.Unmarshal([]byte(`[1]`), &bad))
}

// A record printed or logged shows its type, id and size, never a value: records hold personal
// data.
func TestRecordNeverPrintsValues(t *testing.T) {
	var r sfdc.Record
	require.NoError(t, json.Unmarshal([]byte(recordJSON), &r))

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("fetched", "record", r)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("fetched", "record", r)
	printed := buf.String() + fmt.Sprintf("%v %+v %#v %s", r, r, r, r)

	for _, value := range []string{"Brien", "1980-02-29", "12345678901234567", "Integration"} {
		assert.NotContains(t, printed, value)
	}
	assert.Contains(t, printed, "0019000001AWn2oAAD")
}
