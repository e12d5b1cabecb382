package flows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
)

// A masked result field shows the agent enough of a value to tell people apart, and the CRM's
// rows are not changed by it (a second search shows the same).
func TestSearchMasksMaskedResultFields(t *testing.T) {
	p := demoPolicy()
	p.SearchTypes[0].MaskedResultFields = []string{"Phone"}
	h := newHarness(t, p)
	v, err := h.e.Start(h.ctx, flows.StartRequest{Phone: noPhone})
	require.NoError(t, err)
	v, err = h.e.SetReason(h.ctx, flows.ReasonRequest{Session: v.Session, Reason: "Change of address"})
	require.NoError(t, err)
	v, err = h.e.SetSubject(h.ctx, flows.SubjectRequest{Session: v.Session, Subject: flows.SubjectSelf})
	require.NoError(t, err)
	for range 2 {
		v, err = h.e.Search(h.ctx, flows.SearchRequest{Session: v.Session, SearchType: "person", Query: flows.Query{Keywords: "Jane"}})
		require.NoError(t, err)
		require.Len(t, v.Results, 1)
		// ResultFields: Name, PersonBirthdate, Phone (+44 20 7946 0001).
		assert.Equal(t, []string{"Jane Smith", "1980-03-14", "+•• •• •••• ••01"}, v.Results[0].Values)
	}
}
