package sfdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
)

// secretDate is a birth date that must never reach an error.
const secretDate = "1980-02-29"

// refusingType's decoder quotes what it refused, as a careless one would.
type refusingType struct{}

func (*refusingType) UnmarshalJSON(b []byte) error { return fmt.Errorf("cannot use %s", b) }

// printed is everything an error shows through fmt and slog.
func printed(err error) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Error("x", "err", err)
	slog.New(slog.NewTextHandler(&buf, nil)).Error("x", "err", err)
	return fmt.Sprintf("%v %+v %#v %s %q", err, err, err, err, err) + buf.String()
}

// TestDecodeNeverQuotesValues: a destination that does not fit the record (a time.Time for a
// date, an int for text, a ",string" number, a decoder that quotes its input) is a caller bug of
// kind ErrDecode, not ErrUnavailable, and no value reaches the error; the cause stays (as
// *json.UnmarshalTypeError where encoding/json gave one).
func TestDecodeNeverQuotesValues(t *testing.T) {
	e := newEnv(t, fakeorg.Options{CustomFields: []orgdb.CustomField{{Object: "Contact", Name: "Score__c", Type: "double"}}})
	ctx := context.Background()
	id, _, err := e.c.Create(ctx, "Contact", map[string]any{"LastName": "Lee", "Birthdate": secretDate, "Phone": "+44 1980 0229",
		"Score__c": 19800229})
	require.NoError(t, err)
	rec, _, err := e.c.Get(ctx, "Contact", id, "LastName", "Birthdate", "Phone", "Score__c")
	require.NoError(t, err)

	tests := []struct {
		name     string
		dst      func() any
		leak     string
		typeErr  bool // the cause is a *json.UnmarshalTypeError
		contains string
	}{
		{"time.Time for a date", func() any { return &struct{ Birthdate time.Time }{} }, secretDate, false, "sfdc.Date"},
		{"int for text", func() any { return &struct{ LastName int }{} }, "Lee", true, "LastName"},
		{"string for a number text", func() any {
			return &struct {
				Phone int `json:",string"`
			}{}
		}, "1980 0229", false, "withheld"},
		{"a decoder that quotes", func() any { return &struct{ Birthdate refusingType }{} }, secretDate, false, "withheld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(t *testing.T, err error) {
				t.Helper()
				require.ErrorIs(t, err, sfdc.ErrDecode)
				assert.NotErrorIs(t, err, sfdc.ErrUnavailable)
				var se *sfdc.Error
				require.ErrorAs(t, err, &se)
				require.NotNil(t, errors.Unwrap(err), "the cause is kept")
				var te *json.UnmarshalTypeError
				assert.Equal(t, tt.typeErr, errors.As(err, &te))
				assert.Contains(t, err.Error(), tt.contains)
				assert.NotContains(t, printed(err), tt.leak)
			}
			check(t, rec.Decode(tt.dst()))
			_, err := e.c.GetInto(ctx, "Contact", id, tt.dst(), "LastName", "Birthdate", "Phone", "Score__c")
			check(t, err)
		})
	}

	// QueryInto: the same, per row.
	type row struct {
		LastName  string
		Birthdate time.Time
	}
	for _, err := range sfdc.QueryInto[row](ctx, e.c, sfdc.Select("LastName", "Birthdate").From("Contact")) {
		require.ErrorIs(t, err, sfdc.ErrDecode)
		assert.NotContains(t, printed(err), secretDate)
	}
	// A number too big for its field: encoding/json would quote it ("number 19800229").
	type num struct{ Score__c int8 }
	_, err = e.c.GetInto(ctx, "Contact", id, &num{}, "Score__c")
	require.ErrorIs(t, err, sfdc.ErrDecode)
	assert.NotContains(t, printed(err), "19800229")
	var te *json.UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "number", te.Value, "the JSON kind, not the number")
}

// TestDecodeDatesAndDateTimes: Date and DateTime read Salesforce's formats, which time.Time
// refuses, and write what Salesforce takes.
func TestDecodeDatesAndDateTimes(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	id, _, err := e.c.Create(ctx, "Contact", map[string]any{"LastName": "Lee", "Birthdate": sfdc.Date{Year: 1980, Month: 2, Day: 29}})
	require.NoError(t, err, "a Date encodes as Salesforce takes it")
	type contact struct {
		Birthdate        sfdc.Date
		LastModifiedDate sfdc.DateTime
		Description      sfdc.Date // null
	}
	var c contact
	_, err = e.c.GetInto(ctx, "Contact", id, &c, "Birthdate", "LastModifiedDate", "Description")
	require.NoError(t, err)
	assert.Equal(t, sfdc.Date{Year: 1980, Month: 2, Day: 29}, c.Birthdate)
	assert.False(t, c.LastModifiedDate.IsZero())
	assert.Equal(t, sfdc.Date{}, c.Description)

	b, err := json.Marshal(contact{Birthdate: sfdc.Date{Year: 2001, Month: 1, Day: 2},
		LastModifiedDate: sfdc.DateTime{Time: time.Date(2024, 3, 5, 14, 30, 0, 0, time.FixedZone("x", 3600))}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Birthdate":"2001-01-02","LastModifiedDate":"2024-03-05T13:30:00.000Z","Description":null}`, string(b))

	var d sfdc.DateTime
	require.NoError(t, json.Unmarshal([]byte(`"2024-03-05T14:30:00.000+0000"`), &d))
	assert.True(t, d.Equal(time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC)))
	require.NoError(t, json.Unmarshal([]byte(`"2024-03-05T14:30:00Z"`), &d), "RFC 3339 too")
	err = json.Unmarshal([]byte(`"`+secretDate+`x"`), &d)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secretDate)
	var day sfdc.Date
	err = json.Unmarshal([]byte(`"29/02/1980"`), &day)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "1980")
}

// TestGetIntoRefusesBadDestination: a destination encoding/json cannot fill is refused before
// anything is sent.
func TestGetIntoRefusesBadDestination(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	id := e.createContact(t, "Lee")
	e.org.ResetCounts()
	var c struct{ LastName string }
	for _, dst := range []any{c, nil, (*struct{})(nil)} {
		resp, err := e.c.GetInto(context.Background(), "Contact", id, dst)
		require.ErrorIs(t, err, sfdc.ErrDecode)
		assert.Nil(t, resp, "nothing was sent")
	}
	assert.Zero(t, e.org.Counts().Total)
}
