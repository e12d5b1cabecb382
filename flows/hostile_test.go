package flows_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// Tests of hostile sizes: what a caller sends is bounded before it is stored, sent to the CRM
// or allocated for.

// TestStartBoundsWhatItStoresAndSends: an in-person attendee's object name is stored in the
// session and a new Lead's fields are sent to the CRM, so both are bounded as Salesforce bounds
// them: an object's API name takes at most 60 characters (40, "__c" and a namespace prefix of 15
// with its "__": Knowledge Article 000381913,
// https://help.salesforce.com/s/articleView?id=000381913), a Lead's FirstName 40, LastName 80,
// Company 255, Phone 40 and Email 80 (Lead field reference,
// https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html).
func TestStartBoundsWhatItStoresAndSends(t *testing.T) {
	x := strings.Repeat
	lead := func(f func(*flows.Lead)) *flows.Lead {
		l := &flows.Lead{FirstName: x("f", 40), LastName: x("l", 80), Company: x("c", 255), Phone: x("1", 40), Email: x("e", 80)}
		f(l)
		return l
	}
	tests := []struct {
		name string
		req  flows.StartRequest
		ok   bool
	}{
		{"an object name of 60 characters", flows.StartRequest{Attendee: flows.Ref{Object: "ns__" + x("O", 53) + "__c", ID: janeID}}, true},
		{"an object name of 61 characters", flows.StartRequest{Attendee: flows.Ref{Object: "ns__" + x("O", 54) + "__c", ID: janeID}}, false},
		{"an object name of a megabyte", flows.StartRequest{Attendee: flows.Ref{Object: x("A", 1<<20), ID: janeID}}, false},
		{"a lead at every limit", flows.StartRequest{Lead: lead(func(*flows.Lead) {})}, true},
		{"a first name too long", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.FirstName += "f" })}, false},
		{"a last name too long", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.LastName += "l" })}, false},
		{"a company too long", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.Company += "c" })}, false},
		{"a phone too long", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.Phone += "1" })}, false},
		{"an email too long", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.Email += "e" })}, false},
		{"a last name of a megabyte", flows.StartRequest{Lead: lead(func(l *flows.Lead) { l.LastName = x("l", 1<<20) })}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			v, err := h.e.Start(h.ctx, tt.req)
			if tt.ok {
				require.NoError(t, err)
				assert.Less(t, len(h.store.Raw(v.Session)), 512)
				return
			}
			require.ErrorIs(t, err, flows.ErrInvalidInput)
			assert.Empty(t, h.crm.Leads())
		})
	}
}

// TestAnswersAreBoundedBeforeTheyAreRead: a request with a million answers is refused without
// allocating for each of them (a level has a handful of questions).
func TestAnswersAreBoundedBeforeTheyAreRead(t *testing.T) {
	h := newHarness(t, demoPolicy())
	v := atQuestions(t, h)
	answers := make([]flows.Answer, 1<<20)
	for i := range answers {
		answers[i] = flows.Answer{Field: "Name", Value: "x"}
	}
	attestations := make([]flows.Attestation, 1<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, errAnswer := h.e.Answer(h.ctx, flows.AnswerRequest{Session: v.Session, Answers: answers})
	_, errAttest := h.e.Attest(h.ctx, flows.AttestRequest{Session: v.Session, Attestations: attestations})
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to refuse them")
	require.ErrorIs(t, errAnswer, flows.ErrInvalidInput)
	require.ErrorIs(t, errAttest, flows.ErrInvalidInput)
	assert.Empty(t, h.failures(t, janeID))
}

// TestStartRefusesAHugePhoneUnread: a phone number longer than any is refused before it is
// read digit by digit.
func TestStartRefusesAHugePhoneUnread(t *testing.T) {
	h := newHarness(t, demoPolicy())
	phone := strings.Repeat("7", 1<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := h.e.Start(h.ctx, flows.StartRequest{Phone: phone})
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated to refuse it")
	require.ErrorIs(t, err, flows.ErrInvalidInput)
}

// TestStartRefusesAnExternalIDTheUpsertCannotTake: the external id becomes the last segment of
// the write-back's PATCH sobjects/EngagementInteraction/ExternalIdentifier/{id}; an id that
// segment cannot carry (a dot segment, a character a URL gives a meaning to, an ending
// Salesforce reads as a format, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm)
// is refused at the start, naming external_id, and no session is kept.
func TestStartRefusesAnExternalIDTheUpsertCannotTake(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"", true},
		{"call-1", true},
		{"CA0123456789abcdef0123456789abcdef", true},
		{"8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{"ucid:00001.1764582000", true},
		{"agent@pbx_1~2", true},
		{strings.Repeat("x", 255), true},
		{strings.Repeat("x", 256), false},
		{".", false},
		{"..", false},
		{"call.", false},
		{"example@email.inc", false},
		{"call-1.json", false},
		{"call/1", false},
		{"../Account/001", false},
		{"call?1", false},
		{"call#1", false},
		{"call%2F1", false},
		{"call 1", false},
		{`call\1`, false},
		{"call+1", false},
		{"callé", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			h := newHarness(t, demoPolicy())
			v, err := h.e.Start(h.ctx, flows.StartRequest{Attendee: jane, ExternalID: tt.id})
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, flows.ErrInvalidInput)
			var se *flows.StepError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "external_id", se.Field)
			assert.Empty(t, v.Session)
		})
	}
}
