package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// TestWritesBehindAtRandom attacks a store's promotion of the writes behind at random, from
// seed: writes queued (several of one engagement in one Commit, events of a reset), claimed,
// delivered, rescheduled, parked, retried and discarded by an operator, claims dropped by a
// crashed worker and their leases run out. stuck counts, in the driver's own SQL, the
// engagements' oldest open writes that wait behind (they would never be claimed again): after
// each operation there is none, and no claim returns a write while an earlier one of its
// engagement is open; at the end every write is delivered.
func TestWritesBehindAtRandom(t *testing.T, seed uint64, st store.Store, stuck func(t *testing.T) int) {
	ctx := t.Context()

	rnd := rand.New(rand.NewPCG(seed, 1))
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const lease = 10 * time.Second
	var held []flows.OutboxEntry
	queued := 0
	write := func() flows.OutboxWrite {
		queued++
		key := fmt.Sprint("w", queued)
		return flows.OutboxWrite{Key: key, Engagement: fmt.Sprint("e", rnd.IntN(3)), At: now, Writeback: flows.Writeback{Key: key}}
	}
	list := func() []flows.OutboxEntry {
		l, err := st.ListOutbox(ctx, 0, 0)
		require.NoError(t, err)
		return l
	}
	parked := func() []flows.OutboxEntry {
		var out []flows.OutboxEntry
		for _, e := range list() {
			if e.Status == flows.OutboxParked {
				out = append(out, e)
			}
		}
		return out
	}
	claim := func(at time.Time, max int) []flows.OutboxEntry {
		open := list()
		got, err := st.ClaimOutbox(ctx, at, lease, max)
		require.NoError(t, err)
		for _, e := range got {
			for _, o := range open {
				if o.Engagement == e.Engagement && o.ID < e.ID {
					require.Equal(t, flows.OutboxParked, o.Status, "%s claimed while %s of its engagement is open", e.Key, o.Key)
				}
			}
		}
		return got
	}
	settled := func(err error) {
		if !errors.Is(err, flows.ErrClaimLost) { // its lease ran out and another claim took it
			require.NoError(t, err)
		}
	}
	for op := range 200 {
		switch rnd.IntN(9) {
		case 0, 1: // a step queues writes, some of one engagement
			c := flows.Commit{Session: fmt.Sprint("s", op), Data: []byte("x")}
			for range 1 + rnd.IntN(3) {
				c.Outbox = append(c.Outbox, write())
			}
			_, err := st.Commit(ctx, c)
			require.NoError(t, err)
		case 2: // a reset queues its events
			_, err := st.ResetFailures(ctx, flows.Reset{Person: "p", Actor: "a", At: now, Outbox: []flows.OutboxWrite{write()}})
			require.NoError(t, err)
		case 3:
			held = append(held, claim(now, 1+rnd.IntN(4))...)
		case 4, 5: // a worker settles a claim
			if len(held) == 0 {
				continue
			}
			i := rnd.IntN(len(held))
			c := held[i].Claim()
			held = slices.Delete(held, i, i+1)
			switch rnd.IntN(4) {
			case 0, 1:
				settled(st.Delivered(ctx, c, now))
			case 2:
				settled(st.Reschedule(ctx, c, "unavailable", now.Add(time.Duration(rnd.IntN(30))*time.Second)))
			case 3:
				settled(st.Park(ctx, c, "REJECTED"))
			}
		case 6: // an operator retries or discards a parked write
			if p := parked(); len(p) > 0 {
				e := p[rnd.IntN(len(p))]
				if rnd.IntN(3) == 0 {
					require.NoError(t, st.DiscardParked(ctx, e.ID))
				} else {
					require.NoError(t, st.RetryParked(ctx, e.ID, now))
				}
			}
		case 7: // a worker crashes with its claims
			held = held[:0]
		case 8:
			now = now.Add(time.Duration(rnd.IntN(20)) * time.Second)
		}
		require.Zero(t, stuck(t), "op %d: an engagement's oldest open write waits behind", op)
	}

	for _, e := range parked() {
		require.NoError(t, st.RetryParked(ctx, e.ID, now))
	}
	for round := 0; len(list()) > 0; round++ {
		require.Less(t, round, 1000, "writes never delivered: %+v", list())
		now = now.Add(time.Hour)
		for _, e := range claim(now, 100) {
			require.NoError(t, st.Delivered(ctx, e.Claim(), now))
		}
	}
}

// TestWritesBehindAreNotDue checks a store's writes queued behind an open write of their
// engagement: they are not due, whatever their time, so a claim walks the queues' heads only
// and a queue held up (its head waiting out a backoff, the events of a subscriber that is
// down) costs it nothing. Each write becomes due when the one before it is delivered or
// parked, and the queues still go in order. events writes are queued on one engagement; due
// counts, in the driver's own SQL, the writes a claim at now may walk.
func TestWritesBehindAreNotDue(t *testing.T, st store.Store, events int, due func(now time.Time) int) {
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	queue := func(key, engagement string) {
		_, err := st.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{{
			Key: key, Engagement: engagement, At: at, Writeback: flowstest.OutboxWrite(at)}}})
		require.NoError(t, err)
	}
	const calls = 10
	for i := range events {
		queue(fmt.Sprint("event-", i), "event/crm")
		if i < 3*calls {
			queue(fmt.Sprint("call-", i%calls, "-", i/calls), fmt.Sprint("call-", i%calls))
		}
	}
	now := at.Add(time.Minute)
	require.Equal(t, 1+calls, due(now), "the heads")

	head, err := st.ClaimOutbox(ctx, now, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, head, 1)
	require.Equal(t, "event-0", head[0].Key)
	require.NoError(t, st.Reschedule(ctx, head[0].Claim(), "unavailable", now.Add(time.Hour)))
	assert.Equal(t, calls, due(now), "the events wait behind their head, which waits for its backoff")

	for round := range 3 {
		got, err := st.ClaimOutbox(ctx, now, time.Minute, 2*calls)
		require.NoError(t, err)
		require.Len(t, got, calls, "round %d: one write of each call, none of the events", round)
		for i, e := range got {
			assert.Equal(t, fmt.Sprint("call-", i, "-", round), e.Key)
			if i == 0 {
				require.NoError(t, st.Park(ctx, e.Claim(), "REJECTED"))
			} else {
				require.NoError(t, st.Delivered(ctx, e.Claim(), now))
			}
		}
		if round < 2 {
			assert.Equal(t, calls, due(now), "round %d: the next write of each call, delivered or parked", round)
		}
	}
	assert.Zero(t, due(now))

	list, err := st.ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 3+events, "3 parked, the events")
	for _, e := range list {
		if e.Status == flows.OutboxPending && e.Attempts == 0 {
			assert.Equal(t, at, e.NextAttempt.UTC(), "%s: a write behind shows its queued time", e.Key)
		}
	}
	got, err := st.ClaimOutbox(ctx, now.Add(time.Hour), time.Minute, 4)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "event-0", got[0].Key, "the head, once its backoff is over")
	require.NoError(t, st.Delivered(ctx, got[0].Claim(), now.Add(time.Hour)))
	got, err = st.ClaimOutbox(ctx, now.Add(time.Hour), time.Minute, 4)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "event-1", got[0].Key, "then the next event, one at a time")
}
