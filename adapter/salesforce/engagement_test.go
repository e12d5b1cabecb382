package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

func TestOpenEngagement(t *testing.T) {
	e := newEnv(t)
	julia := e.person(t, "julia")
	id, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Voice Call",
		"StartDateTime": sfdc.DateTime{Time: started}, "ExternalIdentifier": "call-20", "InitiatingAttendeeId": julia.ID})
	require.NoError(t, err)
	bare, _, err := e.org.Client.Create(ctx, "EngagementInteraction", map[string]any{"CommunicationChannel": "Web Chat",
		"StartDateTime": sfdc.DateTime{Time: started}})
	require.NoError(t, err)

	e.reset(t)
	got, err := e.a.OpenEngagement(ctx, string(id)[:15])
	require.NoError(t, err)
	assert.Equal(t, flows.OpenedEngagement{ID: string(id), ExternalID: "call-20", Initiating: julia}, got, "15-character ids work too")
	got, err = e.a.OpenEngagement(ctx, string(bare))
	require.NoError(t, err)
	assert.Equal(t, flows.OpenedEngagement{ID: string(bare)}, got)
	assert.Equal(t, int64(2), e.calls())
}

func TestOpenEngagementFailures(t *testing.T) {
	e := newEnv(t)
	t.Run("no such engagement", func(t *testing.T) {
		_, err := e.a.OpenEngagement(ctx, e.person(t, "alice").ID) // an Account's id
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
	})
	t.Run("not a record id", func(t *testing.T) {
		e.reset(t)
		_, err := e.a.OpenEngagement(ctx, "../Account/001")
		require.ErrorIs(t, err, flows.ErrRecordNotFound)
		assert.Zero(t, e.calls(), "nothing is sent")
	})
	t.Run("org unavailable", func(t *testing.T) {
		e.failAll(t, "*/sobjects/EngagementInteraction/*", fakeorg.FailServerUnavailable)
		_, err := e.a.OpenEngagement(ctx, e.person(t, "alice").ID)
		require.ErrorIs(t, err, flows.ErrUnavailable)
		var ae *salesforce.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "SERVER_UNAVAILABLE", ae.ErrorCode())
	})
}
