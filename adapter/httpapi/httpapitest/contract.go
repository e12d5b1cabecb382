package httpapitest

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/httpapi"
)

// TestIdempotencyStore is the contract of httpapi.IdempotencyStore, as tests: every store runs
// it, with newStore returning an empty store for each subtest. Times are whole microseconds in
// UTC, so that a store may keep them at that precision. The concurrency case starts many
// goroutines: run it with -race.
func TestIdempotencyStore(t *testing.T, newStore func(t *testing.T) httpapi.IdempotencyStore) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const lease, ttl = time.Minute, 24 * time.Hour
	fp := func(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:] }
	req := func(scope, key, body, token string, now time.Time) httpapi.IdempotentRequest {
		return httpapi.IdempotentRequest{Scope: scope, Key: key, Fingerprint: fp(body), Token: token,
			Now: now, LeaseUntil: now.Add(lease), Expires: now.Add(ttl)}
	}
	begin := func(t *testing.T, st httpapi.IdempotencyStore, r httpapi.IdempotentRequest) (httpapi.IdempotencyRecord, bool) {
		t.Helper()
		rec, started, err := st.BeginIdempotent(t.Context(), r)
		require.NoError(t, err)
		return rec, started
	}

	t.Run("a key is claimed once; the answer is kept whole", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		_, started := begin(t, st, req("softphone", "k1", "a", "t1", t0))
		require.True(t, started)
		rec, started := begin(t, st, req("softphone", "k1", "a", "t2", t0.Add(time.Second)))
		require.False(t, started, "a pending key is not claimed again")
		assert.Equal(t, fp("a"), rec.Fingerprint)
		assert.Zero(t, rec.Status, "pending")
		body := []byte(`{"body":{"session":"s"}}` + "\x00\xff")
		require.NoError(t, st.FinishIdempotent(ctx, "softphone", "k1", "t1", 201, body))
		rec, started = begin(t, st, req("softphone", "k1", "b", "t3", t0.Add(time.Hour)))
		require.False(t, started)
		assert.Equal(t, fp("a"), rec.Fingerprint, "the first request's fingerprint, whatever the repeat's")
		assert.Equal(t, 201, rec.Status)
		assert.Equal(t, body, rec.Body)
		assert.True(t, rec.Expires.Equal(t0.Add(ttl)), "expires as the first request said: %v", rec.Expires)
	})

	t.Run("scopes are apart", func(t *testing.T) {
		st := newStore(t)
		_, started := begin(t, st, req("a", "k", "x", "t1", t0))
		require.True(t, started)
		_, started = begin(t, st, req("b", "k", "x", "t2", t0))
		assert.True(t, started, "another API key's key of the same name")
	})

	t.Run("a released key is claimed again", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		_, started := begin(t, st, req("s", "k", "x", "t1", t0))
		require.True(t, started)
		require.ErrorIs(t, st.ReleaseIdempotent(ctx, "s", "k", "other"), httpapi.ErrIdempotencyClaimLost)
		require.NoError(t, st.ReleaseIdempotent(ctx, "s", "k", "t1"))
		_, started = begin(t, st, req("s", "k", "y", "t2", t0))
		assert.True(t, started)
		require.ErrorIs(t, st.FinishIdempotent(ctx, "s", "k", "t1", 200, nil), httpapi.ErrIdempotencyClaimLost, "the old claim")
		require.NoError(t, st.FinishIdempotent(ctx, "s", "k", "t2", 200, nil))
		require.ErrorIs(t, st.ReleaseIdempotent(ctx, "s", "k", "t2"), httpapi.ErrIdempotencyClaimLost, "a finished key is not released")
		require.ErrorIs(t, st.FinishIdempotent(ctx, "s", "k", "t2", 500, nil), httpapi.ErrIdempotencyClaimLost, "nor finished twice")
		rec, started := begin(t, st, req("s", "k", "y", "t3", t0))
		require.False(t, started)
		assert.Equal(t, 200, rec.Status)
		assert.Empty(t, rec.Body)
	})

	t.Run("a pending key whose lease ended is taken over", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		_, started := begin(t, st, req("s", "k", "x", "t1", t0))
		require.True(t, started)
		_, started = begin(t, st, req("s", "k", "x", "t2", t0.Add(lease-time.Microsecond)))
		require.False(t, started, "the lease holds")
		_, started = begin(t, st, req("s", "k", "x", "t2", t0.Add(lease)))
		require.True(t, started, "its request died")
		require.ErrorIs(t, st.FinishIdempotent(ctx, "s", "k", "t1", 200, []byte("late")), httpapi.ErrIdempotencyClaimLost)
		require.NoError(t, st.FinishIdempotent(ctx, "s", "k", "t2", 200, []byte("mine")))
		rec, _ := begin(t, st, req("s", "k", "x", "t3", t0.Add(2*lease)))
		assert.Equal(t, []byte("mine"), rec.Body)
	})

	t.Run("an answer is kept until it expires, then swept", func(t *testing.T) {
		st, ctx := newStore(t), t.Context()
		for _, k := range []string{"old", "new"} {
			_, started := begin(t, st, req("s", k, "x", "t-"+k, t0))
			require.True(t, started)
			require.NoError(t, st.FinishIdempotent(ctx, "s", k, "t-"+k, 200, []byte(k)))
		}
		_, started := begin(t, st, req("s", "pending", "x", "t-p", t0.Add(time.Hour)))
		require.True(t, started)
		_, started = begin(t, st, req("s", "old", "x", "t4", t0.Add(ttl-time.Microsecond)))
		require.False(t, started, "kept until it expires")
		_, started = begin(t, st, req("s", "old", "other", "t4", t0.Add(ttl)))
		require.True(t, started, "an expired answer is forgotten: the key is new")
		n, err := st.SweepIdempotent(ctx, t0.Add(ttl))
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "new expired; old was claimed again; pending expires later")
		_, started = begin(t, st, req("s", "new", "x", "t5", t0.Add(ttl)))
		assert.True(t, started, "swept")
		_, started = begin(t, st, req("s", "pending", "x", "t6", t0.Add(time.Hour+time.Second)))
		assert.False(t, started, "not swept")
	})

	t.Run("concurrent claims: exactly one starts", func(t *testing.T) {
		st := newStore(t)
		const n = 16
		var wg sync.WaitGroup
		var startedCount atomic.Int32
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, started, err := st.BeginIdempotent(t.Context(), req("s", "k", "x", "t"+string(rune('a'+i)), t0))
				assert.NoError(t, err)
				if started {
					startedCount.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), startedCount.Load())
	})

	t.Run("a cancelled context changes nothing", func(t *testing.T) {
		st := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := st.BeginIdempotent(ctx, req("s", "k", "x", "t1", t0))
		require.Error(t, err)
		_, started := begin(t, st, req("s", "k", "x", "t2", t0))
		assert.True(t, started)
	})
}
