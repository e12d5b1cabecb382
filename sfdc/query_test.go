package sfdc_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

func TestQueryPaging(t *testing.T) {
	e := newEnv(t, fakeorg.Options{Records: 2500, RecordSeed: 7})
	ctx := context.Background()
	total, _, err := e.c.Count(ctx, sfdc.SelectCount().From("Contact"))
	require.NoError(t, err)
	require.Greater(t, total, 2000, "the generated data spans pages")
	e.org.ResetCounts()

	seen := map[sfdc.ID]bool{}
	for rec, err := range e.c.Query(ctx, sfdc.Select("Id", "LastName").From("Contact")) {
		require.NoError(t, err)
		require.NotEmpty(t, rec.ID())
		require.False(t, seen[rec.ID()], "no row twice")
		seen[rec.ID()] = true
	}
	assert.Len(t, seen, total)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindQuery))
	assert.Equal(t, int64((total-1)/2000), e.org.Count(fakeorg.KindQueryMore), "one request per further page")

	// Stopping early fetches no further page.
	e.org.ResetCounts()
	n := 0
	for _, err := range e.c.Query(ctx, sfdc.Select("Id").From("Contact")) {
		require.NoError(t, err)
		if n++; n == 10 {
			break
		}
	}
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindQuery))
	assert.Zero(t, e.org.Count(fakeorg.KindQueryMore))

	// Typed rows.
	type contact struct {
		ID       string `json:"Id"`
		LastName string `json:"LastName"`
	}
	rows := 0
	for c, err := range sfdc.QueryInto[contact](ctx, e.c, sfdc.Select("Id", "LastName").From("Contact").Limit(2100)) {
		require.NoError(t, err)
		require.NotEmpty(t, c.ID)
		require.NotEmpty(t, c.LastName)
		rows++
	}
	assert.Equal(t, 2100, rows)
}

func TestQueryValuesAndRelationships(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	acc, _, err := e.c.Create(ctx, "Account", map[string]any{"Name": "O'Brien & Sons 50%"})
	require.NoError(t, err)
	tricky := `O'Brien \ "x" 100%_`
	con, _, err := e.c.Create(ctx, "Contact", map[string]any{"LastName": tricky, "AccountId": acc, "Birthdate": "1980-02-29"})
	require.NoError(t, err)
	_, _, err = e.c.Create(ctx, "Contact", map[string]any{"LastName": "O'Brien"})
	require.NoError(t, err)

	q := sfdc.Select("Id", "LastName", "Birthdate", "Account.Name").From("Contact").
		Where(sfdc.Eq("LastName", tricky), sfdc.Eq("Birthdate", sfdc.Date{Year: 1980, Month: 2, Day: 29}), sfdc.In("AccountId", []sfdc.ID{acc}))
	var got []sfdc.Record
	for rec, err := range e.c.Query(ctx, q) {
		require.NoError(t, err)
		got = append(got, rec)
	}
	require.Len(t, got, 1)
	assert.Equal(t, con, got[0].ID())
	name, ok := got[0].String("Account.Name")
	require.True(t, ok)
	assert.Equal(t, "O'Brien & Sons 50%", name)
	d, ok := got[0].Date("Birthdate")
	require.True(t, ok)
	assert.Equal(t, sfdc.Date{Year: 1980, Month: 2, Day: 29}, d)

	// LIKE with escaped wildcards matches the literal text only.
	count := func(p sfdc.LikePattern) int {
		n, _, err := e.c.Count(ctx, sfdc.SelectCount().From("Contact").Where(sfdc.Like("LastName", p)))
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 2, count(sfdc.HasPrefix("O'Brien")))
	assert.Equal(t, 1, count(sfdc.HasSuffix("100%_")))
	assert.Equal(t, 0, count(sfdc.HasSuffix("1000_")), "% and _ are not wildcards")

	// The classic injection finds nothing instead of everything.
	n, _, err := e.c.Count(ctx, sfdc.SelectCount().From("Contact").Where(sfdc.Eq("LastName", "x' OR LastName != '")))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestQueryAll(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	id := e.createContact(t, "Gone")
	_, err := e.c.Delete(ctx, "Contact", id)
	require.NoError(t, err)
	q := sfdc.Select("Id", "IsDeleted").From("Contact").Where(sfdc.Eq("Id", id))
	live := 0
	for _, err := range e.c.Query(ctx, q) {
		require.NoError(t, err)
		live++
	}
	assert.Zero(t, live)
	var all []sfdc.Record
	for rec, err := range e.c.QueryAll(ctx, q) {
		require.NoError(t, err)
		all = append(all, rec)
	}
	require.Len(t, all, 1)
	deleted, _ := all[0].Bool("IsDeleted")
	assert.True(t, deleted)
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	const secret = "Jane-Doe-555"
	var err error
	for _, err = range e.c.Query(ctx, sfdc.Select("Id", "Naem").From("Contact").Where(sfdc.Eq("LastName", secret))) {
	}
	require.ErrorIs(t, err, sfdc.ErrInvalidRequest)
	var se *sfdc.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "INVALID_FIELD", se.Code)
	assert.Equal(t, "SELECT Id, Naem FROM Contact WHERE LastName = ?", se.Shape)
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), secret)

	for _, err = range e.c.Query(ctx, sfdc.Select("Id FROM").From("Contact")) {
	}
	require.ErrorIs(t, err, sfdc.ErrBadQuery)

	// A read that keeps failing with 5xx is retried, then reported with its attempts.
	e.fault(t, fakeorg.Fault{Path: "*/query", Failure: fakeorg.FailServerUnavailable, Times: 1})
	rows := 0
	for _, err := range e.c.Query(ctx, sfdc.Select("Id").From("Contact")) {
		require.NoError(t, err)
		rows++
	}
	assert.Equal(t, map[string]int64{"SERVER_UNAVAILABLE": 1}, e.c.Stats().Retries)
}

func TestSearch(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	ann := e.createContact(t, "Zebulon")
	_, _, err := e.c.Create(ctx, "Contact", map[string]any{"LastName": "Other", "FirstName": "Person"})
	require.NoError(t, err)

	recs, resp, err := e.c.Search(ctx, sfdc.Find("zebulon").In(sfdc.NameFields).
		Returning(sfdc.Returning{Object: "Contact", Fields: []string{"Id", "LastName"}}))
	require.NoError(t, err)
	assert.Positive(t, resp.Usage.Max)
	require.Len(t, recs, 1)
	assert.Equal(t, ann, recs[0].ID())
	assert.Equal(t, "Contact", recs[0].Type())

	recs, _, err = e.c.Search(ctx, sfdc.FindPrefix("Zeb").Returning(sfdc.Returning{Object: "Contact", Fields: []string{"Id"}}))
	require.NoError(t, err)
	require.Len(t, recs, 1)

	// Operators in the input are words, not operators: this finds nothing rather than both.
	recs, _, err = e.c.Search(ctx, sfdc.Find("Zebulon OR Other").Returning(sfdc.Returning{Object: "Contact"}))
	require.NoError(t, err)
	assert.Empty(t, recs)

	recs, _, err = e.c.ParameterizedSearch(ctx, sfdc.ParamSearch{Text: "Zebulon", In: sfdc.NameFields,
		Objects: []sfdc.Returning{{Object: "Contact", Fields: []string{"Id", "LastName"}, Where: sfdc.Ne("LastName", "x'y")}}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, ann, recs[0].ID())

	_, _, err = e.c.Search(ctx, sfdc.Find("a"))
	require.ErrorIs(t, err, sfdc.ErrBadQuery)
}

// TestSearchWords checks Find's word search against the fake org's SOSL engine: every word must
// match, in any order and in any searched field; short words are dropped; reserved characters
// and operator words are literal.
func TestSearchWords(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	jane, _, err := e.c.Create(ctx, "Contact", map[string]any{"FirstName": "Jane", "LastName": "Smith",
		"Email": "jane.smith@example.com", "Birthdate": "1980-04-02", "Phone": "+44 20 7946 0001"})
	require.NoError(t, err)
	john, _, err := e.c.Create(ctx, "Contact", map[string]any{"FirstName": "John", "LastName": "Smith"})
	require.NoError(t, err)
	obrien, _, err := e.c.Create(ctx, "Contact", map[string]any{"FirstName": "Ann", "LastName": "O'Brien-Smith"})
	require.NoError(t, err)
	_, _, err = e.c.Create(ctx, "Contact", map[string]any{"FirstName": "Brien", "LastName": "Jane"})
	require.NoError(t, err)

	tests := []struct {
		name string
		text string
		in   sfdc.SearchScope
		want []sfdc.ID
	}{
		{"one word", "smith", sfdc.NameFields, []sfdc.ID{jane, john, obrien}},
		{"two words", "Smith Jane", sfdc.NameFields, []sfdc.ID{jane}},
		{"any order", "jane smith", sfdc.NameFields, []sfdc.ID{jane}},
		{"words across fields", "jane example", sfdc.AllFields, []sfdc.ID{jane}},
		{"an initial is dropped", "Smith J", sfdc.NameFields, []sfdc.ID{jane, john, obrien}},
		{"punctuation inside a word keeps its parts together", "O'Brien", sfdc.NameFields, []sfdc.ID{obrien}},
		{"joined words must be next to each other", "Smith-Jane", sfdc.NameFields, nil},
		{"a missing word finds nothing", "jane smith zebulon", sfdc.NameFields, nil},
		{"operator words are words", "Jane OR John", sfdc.NameFields, nil},
		{"NOT is a word", "smith AND NOT jane", sfdc.NameFields, nil},
		{"a wildcard is literal", "Sm*", sfdc.NameFields, nil},
		{"a group is literal", "(smith OR jones)", sfdc.NameFields, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := e.c.Search(ctx, sfdc.Find(tt.text).In(tt.in).Returning(sfdc.Returning{Object: "Contact", Fields: []string{"Id"}}))
			require.NoError(t, err)
			var got []sfdc.ID
			for _, r := range recs {
				got = append(got, r.ID())
			}
			assert.ElementsMatch(t, tt.want, got)

			recs, _, err = e.c.ParameterizedSearch(ctx, sfdc.ParamSearch{Text: tt.text, In: tt.in,
				Objects: []sfdc.Returning{{Object: "Contact", Fields: []string{"Id"}}}})
			require.NoError(t, err)
			got = got[:0]
			for _, r := range recs {
				got = append(got, r.ID())
			}
			assert.ElementsMatch(t, tt.want, got, "parameterized search")
		})
	}
}

// TestNothingReachesTheStandardLog drives the client through every kind of failure and checks
// that nothing was written to the standard logger (retryablehttp would log URLs with SOQL there,
// and simpleforce error bodies). Not parallel: it swaps the standard logger's output.
func TestNothingReachesTheStandardLog(t *testing.T) {
	var buf bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&buf)
	defer log.SetOutput(prev)

	e := newEnv(t, fakeorg.Options{}, func(c *sfdc.Config) { c.MaxRetries = -1 })
	ctx := context.Background()
	const secret = "Secret-Surname-999"
	queryFails := func(st sfdc.Statement) {
		t.Helper()
		n := 0
		for _, err := range e.c.Query(ctx, st) {
			require.Error(t, err)
			n++
		}
		require.Equal(t, 1, n, "one error, no rows")
	}
	queryFails(sfdc.Select("Id", "Nope").From("Contact").Where(sfdc.Eq("LastName", secret)))
	_, _, err := e.c.Get(ctx, "Contact", sfdc.MustParseID("003000000000001"))
	require.Error(t, err)
	for _, f := range []fakeorg.Failure{fakeorg.FailEmptyBody, fakeorg.FailHTMLBadGateway, fakeorg.FailUnableToLockRow} {
		e.fault(t, fakeorg.Fault{Path: "*/query", Failure: f, Times: 1})
		queryFails(sfdc.Select("Id").From("Contact").Where(sfdc.Eq("LastName", secret)))
	}
	// A create that fails validation (the error body names the field), and one answered by an
	// empty 500.
	_, _, err = e.c.Create(ctx, "Contact", map[string]any{"FirstName": secret})
	require.ErrorIs(t, err, sfdc.ErrValidation)
	e.fault(t, fakeorg.Fault{Path: "*/sobjects/Contact", Status: 500, Failure: fakeorg.FailEmptyBody, Times: 1})
	_, _, err = e.c.Create(ctx, "Contact", map[string]any{"LastName": secret})
	require.ErrorIs(t, err, sfdc.ErrUnavailable)
	assert.Empty(t, buf.String())
}

func TestToolingQuery(t *testing.T) {
	e := newEnv(t, fakeorg.Options{Seed: fakeorg.SeedDemo})
	n := 0
	for rec, err := range e.c.ToolingQuery(context.Background(), sfdc.Select("Id", "DeveloperName").From("IdentityVerificationProcDef")) {
		require.NoError(t, err)
		assert.Equal(t, "IdentityVerificationProcDef", rec.Type())
		n++
	}
	assert.Positive(t, n)
	assert.Equal(t, int64(1), e.org.Count(fakeorg.KindToolingQuery))
}

func TestQueryMultiSelect(t *testing.T) {
	e := newEnv(t, fakeorg.Options{})
	ctx := context.Background()
	acc, _, err := e.c.Create(ctx, "Account", map[string]any{"Name": "Customer"})
	require.NoError(t, err)
	con, _, err := e.c.Create(ctx, "Contact", map[string]any{"LastName": "Rep"})
	require.NoError(t, err)
	_, _, err = e.c.Create(ctx, "AccountContactRelation", map[string]any{"AccountId": acc, "ContactId": con,
		"Roles": "Power of Attorney;Spouse", "IsActive": true})
	require.NoError(t, err)
	count := func(c sfdc.Cond) int {
		n, _, err := e.c.Count(ctx, sfdc.SelectCount().From("AccountContactRelation").Where(sfdc.Eq("ContactId", con), c))
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 1, count(sfdc.Includes("Roles", []string{"Spouse", "Legal Guardian"})))
	assert.Equal(t, 0, count(sfdc.Includes("Roles", []string{"Legal Guardian"})))
	assert.Equal(t, 1, count(sfdc.Excludes("Roles", []string{"Legal Guardian"})))
}

// TestQueryPagingStopsOnFailure: a failure between pages (a cancelled context, a page that
// fails) is yielded once, after the rows already fetched, and nothing more is fetched or yielded.
func TestQueryPagingStopsOnFailure(t *testing.T) {
	e := newEnv(t, fakeorg.Options{Records: 2500, RecordSeed: 7})
	st := sfdc.Select("Id").From("Contact")

	t.Run("context cancelled after the first page", func(t *testing.T) {
		e.org.ResetCounts()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rows, errs := 0, []error{}
		for _, err := range e.c.Query(ctx, st) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if rows++; rows == 2000 {
				cancel()
			}
		}
		assert.Equal(t, 2000, rows)
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], context.Canceled)
		assert.Zero(t, e.org.Count(fakeorg.KindQueryMore), "no page is fetched on a cancelled context")
	})

	t.Run("next page fails", func(t *testing.T) {
		e.org.ResetCounts()
		id, err := e.org.AddFault(fakeorg.Fault{Path: "/services/data/*/query/*", Failure: fakeorg.FailEmptyBody, Status: 400})
		require.NoError(t, err)
		defer e.org.RemoveFault(id)
		rows, errs := 0, []error{}
		for _, err := range e.c.Query(context.Background(), st) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rows++
		}
		assert.Equal(t, 2000, rows)
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], sfdc.ErrInvalidRequest)
		assert.Equal(t, int64(1), e.org.Count(fakeorg.KindQueryMore), "a 400 is not retried")
	})
}
