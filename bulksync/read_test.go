package bulksync_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/bulksync"
)

const (
	okJSON = `{"ExternalIdentifier":"a-1","CommunicationChannel":"Voice Call","StartDateTime":"2026-03-01T10:00:00Z"}`
	okCSV  = "ExternalIdentifier,CommunicationChannel,StartDateTime\n"
	secret = "Jane-Secret-Doe"
)

// noValue fails if any problem quotes the secret planted in the input.
func noValue(t *testing.T, problems []bulksync.Problem) {
	t.Helper()
	for _, p := range problems {
		assert.NotContains(t, p.String(), secret, "a problem quotes a value from the file")
	}
}

func TestJSONLinesHostileInput(t *testing.T) {
	deep := `{"ExternalIdentifier":"d","Topic":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	tests := []struct {
		name  string
		line  string
		field string
		want  string
	}{
		{"duplicate key", `{"ExternalIdentifier":"a","ExternalIdentifier":"` + secret + `","CommunicationChannel":"Voice Call","StartDateTime":"2026-03-01T10:00:00Z"}`, "ExternalIdentifier", "appears twice"},
		{"duplicate key in another case", `{"externalidentifier":"a","ExternalIdentifier":"b","CommunicationChannel":"Voice Call","StartDateTime":"2026-03-01T10:00:00Z"}`, "ExternalIdentifier", "appears twice"},
		{"unknown field", `{"Nickname":"x",` + okJSON[1:], "Nickname", "is not a field"},
		{"a value as a key is not echoed", `{"` + secret + ` lives here":"x",` + okJSON[1:], "(a key)", "is not a field"},
		{"number for text", `{"ExternalIdentifier":12,"CommunicationChannel":"Voice Call","StartDateTime":"2026-03-01T10:00:00Z"}`, "ExternalIdentifier", "is a number"},
		{"object for text", `{"Reason":{"a":"` + secret + `"},` + okJSON[1:], "Reason", "single value"},
		{"deep nesting", deep, "", "nests deeper than"},
		{"not an object", `["` + secret + `"]`, "", "must be a JSON object"},
		{"truncated", `{"ExternalIdentifier":"` + secret, "", "not valid JSON"},
		{"trailing text", okJSON + ` {"x":1}`, "", "text follows"},
		{"attendees not an array", `{"Attendees":{"Role":"Self"},` + okJSON[1:], "Attendees", "array"},
		{"null attendee", `{"Attendees":[null],` + okJSON[1:], "Attendee1", "null"},
		{"too many attendees", `{"Attendees":[` + strings.Repeat(`{"InternalAttendeeId":"005000000000001"},`, 21) + `{}],` + okJSON[1:], "Attendees", "more than 20"},
		{"missing required", `{"ExternalIdentifier":"a"}`, "CommunicationChannel", "is required"},
		{"bad picklist value", `{"ExternalIdentifier":"a","CommunicationChannel":"` + secret + `","StartDateTime":"2026-03-01T10:00:00Z"}`, "CommunicationChannel", "not a value of the picklist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := okJSON + "\n" + tt.line + "\n" + okJSON + "\n"
			lines, problems, err := bulksync.ReadAll(strings.NewReader(in), "x.jsonl", bulksync.FormatAuto)
			require.NoError(t, err)
			assert.Equal(t, []int{1, 3}, lines, "the rows around the bad one are read")
			require.NotEmpty(t, problems)
			assert.Equal(t, 2, problems[0].Line)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p.Reason, tt.want) && strings.HasPrefix(p.Field, tt.field)
			}
			assert.True(t, found, "want %q on %q in %v", tt.want, tt.field, problems)
			noValue(t, problems)
		})
	}
}

func TestJSONLinesEncodings(t *testing.T) {
	// A byte order mark is skipped; CRLF line ends and blank lines are fine.
	lines, problems, err := bulksync.ReadAll(strings.NewReader("\xEF\xBB\xBF"+okJSON+"\r\n\r\n   \n"+okJSON+"\n"), "x", bulksync.FormatAuto)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.Equal(t, []int{1, 4}, lines)

	// Invalid UTF-8 refuses its line only.
	bad := `{"ExternalIdentifier":"a","Reason":"caf` + "\xE9" + `","CommunicationChannel":"Voice Call","StartDateTime":"2026-03-01T10:00:00Z"}`
	lines, problems, err = bulksync.ReadAll(strings.NewReader(bad+"\n"+okJSON+"\n"), "x.jsonl", bulksync.FormatAuto)
	require.NoError(t, err)
	assert.Equal(t, []int{2}, lines)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Reason, "UTF-8")

	// UTF-16 is refused as a whole, before anything.
	for _, bom := range []string{"\xFF\xFE", "\xFE\xFF"} {
		_, _, err = bulksync.ReadAll(strings.NewReader(bom+"{\x00"), "x.jsonl", bulksync.FormatAuto)
		var fe *bulksync.FileError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, err.Error(), "UTF-16")
	}
}

// endless is a reader of n bytes of a repeated pattern, generated as read.
type endless struct {
	pattern []byte
	n, i    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.i >= e.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), e.n-e.i)]
	for k := 0; k < len(p); {
		c := copy(p[k:], e.pattern[e.i%int64(len(e.pattern)):])
		k += c
		e.i += int64(c)
	}
	return len(p), nil
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeJSONLineIsSkippedInBoundedMemory(t *testing.T) {
	const size = 16 << 20 // 16 times the longest line read, twice the memory allowed
	huge := io.MultiReader(strings.NewReader(`{"Reason":"`), &endless{pattern: []byte(secret), n: size},
		strings.NewReader("\"}\n"+okJSON+"\n"))
	var lines []int
	var problems []bulksync.Problem
	var err error
	n := allocated(func() { lines, problems, err = bulksync.ReadAll(huge, "x.jsonl", bulksync.FormatAuto) })
	require.NoError(t, err)
	assert.Equal(t, []int{2}, lines)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Reason, "longer than")
	assert.Less(t, n, uint64(8<<20), "a 16 MiB line must not be held in memory")
}

func TestCSVHostileInput(t *testing.T) {
	tests := []struct {
		name string
		row  string
		want string
	}{
		{"too few values", "a-2,Voice Call\n", "has 2 values but the header has 3"},
		{"too many values", "a-2,Voice Call,2026-03-01T10:00:00Z," + secret + "\n", "has 4 values"},
		{"bare quote", `a-2,Voice "Call,2026-03-01T10:00:00Z` + "\n", "not valid CSV"},
		{"text after a closing quote", `a-2,"Voice Call"x,2026-03-01T10:00:00Z` + "\n", "not valid CSV"},
		{"invalid UTF-8", "a-\xff,Voice Call,2026-03-01T10:00:00Z\n", "UTF-8"},
		{"bad datetime", "a-2,Voice Call,01/03/2026\n", "not a datetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := okCSV + "a-1,Voice Call,2026-03-01T10:00:00Z\n" + tt.row + "a-3,Voice Call,2026-03-01T10:00:00Z\n"
			lines, problems, err := bulksync.ReadAll(strings.NewReader(in), "x.csv", bulksync.FormatAuto)
			require.NoError(t, err)
			assert.Equal(t, []int{2, 4}, lines)
			require.NotEmpty(t, problems)
			assert.Equal(t, 3, problems[0].Line)
			assert.Contains(t, problems[0].Reason, tt.want)
			noValue(t, problems)
		})
	}
}

func TestCSVQuotedValuesAndAttendees(t *testing.T) {
	in := "\xEF\xBB\xBF" + "ExternalIdentifier,CommunicationChannel,StartDateTime,Reason,attendee1.externalattendeeid,Attendee1.Role,Topic.Name\r\n" +
		"a-1,Voice Call,2026-03-01T10:00:00Z,\"Moved, \"\"again\"\"\nand again\",0015g0000000002AAA,Self,Change of address\r\n" +
		"a-2,Voice Call,2026-03-01T10:00:00Z,,,,\r\n"
	lines, problems, err := bulksync.ReadAll(strings.NewReader(in), "x", bulksync.FormatCSV)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.Equal(t, []int{2, 4}, lines, "a row starts on its first line; a quoted line break is part of a value")
}

func TestCSVHeaderProblemsRefuseTheFile(t *testing.T) {
	tests := []struct{ header, want string }{
		{"ExternalIdentifier,CommunicationChannel\n", "StartDateTime: is a required column"},
		{okCSV[:len(okCSV)-1] + "," + secret + "\n", "column 4: is not a field"},
		{okCSV[:len(okCSV)-1] + ",externalidentifier\n", "column 4: repeats an earlier column"},
		{okCSV[:len(okCSV)-1] + ",Attendee21.Role\n", "column 4: is not a field"},
		{okCSV[:len(okCSV)-1] + ",Attendee0.Role\n", "column 4: is not a field"},
		{"", "the file is empty"},
	}
	for _, tt := range tests {
		_, _, err := bulksync.ReadAll(strings.NewReader(tt.header+"a,Voice Call,2026-03-01T10:00:00Z\n"), "x.csv", bulksync.FormatAuto)
		if tt.header == "" {
			_, _, err = bulksync.ReadAll(strings.NewReader(""), "x.csv", bulksync.FormatAuto)
		}
		var fe *bulksync.FileError
		require.ErrorAs(t, err, &fe, tt.header)
		assert.Contains(t, err.Error(), tt.want)
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestCSVAttendeeGap(t *testing.T) {
	in := okCSV[:len(okCSV)-1] + ",Attendee1.Role,Attendee2.ExternalAttendeeId\na,Voice Call,2026-03-01T10:00:00Z,,0015g0000000002AAA\n"
	_, problems, err := bulksync.ReadAll(strings.NewReader(in), "x.csv", bulksync.FormatAuto)
	require.NoError(t, err)
	require.NotEmpty(t, problems)
	assert.Equal(t, "Attendee1", problems[0].Field)
}

func TestCSVUnclosedQuoteStopsInBoundedMemory(t *testing.T) {
	in := io.MultiReader(strings.NewReader(okCSV+"a-1,Voice Call,2026-03-01T10:00:00Z\n\"a-2,"),
		&endless{pattern: []byte(secret + ",\n"), n: 64 << 20})
	var err error
	n := allocated(func() { _, _, err = bulksync.ReadAll(in, "x.csv", bulksync.FormatAuto) })
	var fe *bulksync.FileError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "longer than 1 MiB")
	assert.NotContains(t, err.Error(), secret)
	assert.Less(t, n, uint64(16<<20), "the unclosed quote's record must not be held whole")
}

func TestFormatDetection(t *testing.T) {
	_, problems, err := bulksync.ReadAll(strings.NewReader("  \n"+okJSON+"\n"), "-", bulksync.FormatAuto)
	require.NoError(t, err)
	assert.Empty(t, problems, "a { makes JSON Lines")
	_, _, err = bulksync.ReadAll(bytes.NewReader([]byte(okCSV+"a,Voice Call,2026-03-01T10:00:00Z\n")), "-", bulksync.FormatAuto)
	require.NoError(t, err)
	assert.False(t, errors.Is(err, io.EOF))
}

// A value that is not UTF-8 is reported under its column's full name, as every other problem.
func TestCSVInvalidUTF8NamesTheColumn(t *testing.T) {
	in := okCSV[:len(okCSV)-1] + ",Attendee2.Role,Attendee1.Role,Attendee2.ExternalAttendeeId,Topic.Name\n" +
		"a,Voice Call,2026-03-01T10:00:00Z,Sel\xff,Self,0015g0000000002AAA,Add\xffress\n"
	_, problems, err := bulksync.ReadAll(strings.NewReader(in), "x.csv", bulksync.FormatAuto)
	require.NoError(t, err)
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	assert.ElementsMatch(t, []string{"Attendee2.Role", "Topic.Name", "Attendee1.ExternalAttendeeId"}, fields)
}
