package postgres_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
)

// due counts the rows a claim at now may walk: those its index condition on outbox_due admits.
func due(t *testing.T, st *postgres.Store, now time.Time) int {
	var n int
	require.NoError(t, st.Pool().QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE status IN (1, 2) AND next_attempt <= $1`, now).Scan(&n))
	return n
}

// stuck counts the engagements' oldest open writes that wait behind: never claimed again.
func stuck(t *testing.T, st *postgres.Store) int {
	var n int
	require.NoError(t, st.Pool().QueryRow(t.Context(), `SELECT count(*) FROM outbox o WHERE status IN (1, 2) AND next_attempt = 'infinity'
		AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.engagement = o.engagement AND p.status IN (1, 2) AND p.id < o.id)`).Scan(&n))
	return n
}

// The writes behind are not due (storetest.TestWritesBehindAreNotDue).
func TestWritesBehindAreNotDue(t *testing.T) {
	st := openSchema(t, 1)[0]
	storetest.TestWritesBehindAreNotDue(t, st, 300, func(now time.Time) int { return due(t, st, now) })
}

// The promotion of the writes behind, attacked at random (storetest.TestWritesBehindAtRandom).
func TestWritesBehindAreNeverStuck(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			st := openSchema(t, 1)[0]
			storetest.TestWritesBehindAtRandom(t, seed, st, func(t *testing.T) int { return stuck(t, st) })
		})
	}
}

// Two replicas at once: steps commit writes of a few engagements (some several in one Commit)
// while workers on both handles claim, deliver, park and reschedule. A write queued behind an
// open write that the other replica closes at that moment must still be promoted: at the end
// no write is open (none waits behind for ever), and each engagement's writes were closed in
// the order they were queued.
func TestWritesBehindAcrossReplicas(t *testing.T) {
	ctx := t.Context()
	stores := openSchema(t, 2)
	const committers, commits, engagements, workersPerStore = 8, 30, 2, 3
	// Each insert sleeps 10 ms after it decided whether its write goes behind, before its
	// transaction commits: a close on the other replica in that window, were it not held up by
	// the queue's lock, would promote without seeing the write.
	_, err := stores[0].Pool().Exec(ctx, `CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END $$;
		CREATE TRIGGER slow_insert AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION slow_insert()`)
	require.NoError(t, err)

	var seq atomic.Int64                 // orders the closes: a write's close begins after the one before it committed
	type settled struct{ id, seq int64 } // a write delivered or parked, at seq
	var mu sync.Mutex
	closed := map[string][]settled{} // by engagement
	queued := map[string]bool{}

	var commitWG sync.WaitGroup
	for g := range committers {
		commitWG.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 2))
			for c := range commits {
				commit := flows.Commit{Session: fmt.Sprint("s", g, "-", c), Data: []byte("x")}
				for w := range 1 + rnd.IntN(3) {
					key := fmt.Sprint("w", g, "-", c, "-", w)
					commit.Outbox = append(commit.Outbox, flows.OutboxWrite{Key: key, Engagement: fmt.Sprint("e", rnd.IntN(engagements)),
						At: time.Now(), Writeback: flows.Writeback{Key: key}})
				}
				_, err := stores[rnd.IntN(2)].Commit(ctx, commit)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, w := range commit.Outbox {
					queued[w.Key] = true
				}
				mu.Unlock()
			}
		})
	}
	var done atomic.Bool
	go func() { commitWG.Wait(); done.Store(true) }()

	// A worker stops when the steps are done, its claim finds nothing and no write is claimed:
	// the claimed writes' workers go on, so the last one stops only when no write left open can
	// be claimed, the writes that wait behind for ever among them, which the checks below count.
	// No deadline: how long the run takes on a busy machine decides nothing.
	var workWG sync.WaitGroup
	for i := range 2 * workersPerStore {
		st := stores[i%2]
		workWG.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), 3))
			for {
				finished := done.Load() // read before the claim: nothing is queued after it
				got, err := st.ClaimOutbox(ctx, time.Now(), time.Minute, 1+rnd.IntN(3))
				if !assert.NoError(t, err) {
					return
				}
				if len(got) == 0 {
					var claimed int
					if !assert.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE status = 2`).Scan(&claimed)) || finished && claimed == 0 {
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				for _, e := range got {
					n := seq.Add(1)
					var err error
					closes := true
					switch rnd.IntN(8) {
					case 0, 1:
						err, closes = st.Reschedule(ctx, e.Claim(), "unavailable", time.Now()), false
					case 2:
						err = st.Park(ctx, e.Claim(), "REJECTED")
					default:
						err = st.Delivered(ctx, e.Claim(), time.Now())
					}
					if !assert.NoError(t, err) {
						return
					}
					if closes {
						mu.Lock()
						closed[e.Engagement] = append(closed[e.Engagement], settled{e.ID, n})
						mu.Unlock()
					}
				}
			}
		})
	}
	workWG.Wait()
	require.True(t, done.Load())
	require.Zero(t, stuck(t, stores[0]), "an engagement's oldest open write waits behind")

	list, err := stores[0].ListOutbox(ctx, 0, 0)
	require.NoError(t, err)
	for _, e := range list {
		require.Equal(t, flows.OutboxParked, e.Status, "%s is still open", e.Key)
	}
	var delivered int
	require.NoError(t, stores[0].Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE status = 4`).Scan(&delivered))
	assert.Equal(t, len(queued), delivered+len(list), "every write delivered or parked")
	for e, cs := range closed {
		slices.SortFunc(cs, func(a, b settled) int { return cmp.Compare(a.seq, b.seq) })
		for i := 1; i < len(cs); i++ {
			if !assert.Less(t, cs[i-1].id, cs[i].id, "%s: write %d closed after write %d", e, cs[i].id, cs[i-1].id) {
				break
			}
		}
	}
}

// gatedInserts makes the insert of write key into st's outbox wait, after it decided its row, for an
// advisory lock the test holds until open() (a trigger), and returns open and waiting(key,
// arg), the sessions waiting for the advisory lock key (SQL of arg; "": the gate): the tests below move on
// from lock states read in pg_locks, never from a sleep.
func gatedInserts(t *testing.T, st *postgres.Store, key string) (open func(), waiting func(key string, arg any) int) {
	ctx := t.Context()
	gate := rand.Int64() // advisory locks are the database's, shared with other tests
	_, err := st.Pool().Exec(ctx, fmt.Sprintf(`CREATE FUNCTION gated_insert() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.key = '%[2]s' THEN PERFORM pg_advisory_lock(%[1]d); PERFORM pg_advisory_unlock(%[1]d); END IF; RETURN NULL; END $$;
		CREATE TRIGGER gated_insert AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION gated_insert()`, gate, key))
	require.NoError(t, err)
	conn, err := st.Pool().Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(conn.Release)
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, gate)
	require.NoError(t, err)
	open = func() {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, gate)
		require.NoError(t, err)
	}
	waiting = func(key string, arg any) int {
		if key == "" { // the gate
			key, arg = `$1::int8`, gate
		}
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND objsubid = 1 AND ((classid::int8 << 32) | objid::int8) = `+key, arg).Scan(&n))
		return n
	}
	return open, waiting
}

// until calls wait until it is true or done delivers (an operation that did not block, which
// is then put back); it reports whether done did.
func until(wait func() bool, done chan error) bool {
	for {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			if wait() {
				return false
			}
			runtime.Gosched()
		}
	}
}

// A write queued while another replica delivers the write before it, step by step: the insert
// decides its write goes behind, then waits before its transaction commits; the delivery
// starts then. Under the queue lock the delivery waits for the insert's commit and its
// promotion sees the write; without it, it would commit first and promote nothing, and the
// write would wait behind for ever.
func TestWritesBehindQueuedWhileTheHeadCloses(t *testing.T) {
	ctx := t.Context()
	stores := openSchema(t, 2)
	engagement := fmt.Sprint("engagement-", rand.Int64()) // its queue lock is the database's, shared with other tests
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	queue := func(st *postgres.Store, key string) error {
		_, err := st.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{{
			Key: key, Engagement: engagement, At: at, Writeback: flows.Writeback{Key: key}}}})
		return err
	}
	require.NoError(t, queue(stores[0], "head"))
	head, err := stores[1].ClaimOutbox(ctx, at, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, head, 1)

	open, waiting := gatedInserts(t, stores[0], "behind")
	queued := make(chan error, 1)
	go func() { queued <- queue(stores[0], "behind") }()
	require.False(t, until(func() bool { return waiting("", nil) > 0 }, queued), "the insert did not wait at the gate")
	delivered := make(chan error, 1)
	go func() { delivered <- stores[1].Delivered(ctx, head[0].Claim(), at) }()
	until(func() bool { return waiting(`hashtextextended($1, 0)`, engagement) > 0 }, delivered)
	open()
	require.NoError(t, <-queued)
	require.NoError(t, <-delivered)

	got, err := stores[0].ClaimOutbox(ctx, at, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, got, 1, "the write queued behind the head is due once the head is delivered")
	assert.Equal(t, "behind", got[0].Key)
}

// Two replicas queue a write of one engagement each, the first insert waiting after it drew
// its id, before its commit. Under the queue lock the second waits for it; without it, it
// would commit the later id first, and a claim would hand it out while the earlier write,
// not yet committed, is still to come: the queue delivered out of order.
func TestWritesQueuedInIDOrder(t *testing.T) {
	ctx := t.Context()
	stores := openSchema(t, 2)
	engagement := fmt.Sprint("engagement-", rand.Int64())
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	queue := func(st *postgres.Store, key string) error {
		_, err := st.Commit(ctx, flows.Commit{Session: key, Data: []byte("x"), Outbox: []flows.OutboxWrite{{
			Key: key, Engagement: engagement, At: at, Writeback: flows.Writeback{Key: key}}}})
		return err
	}
	open, waiting := gatedInserts(t, stores[0], "first")
	first := make(chan error, 1)
	go func() { first <- queue(stores[0], "first") }()
	require.False(t, until(func() bool { return waiting("", nil) > 0 }, first), "the insert did not wait at the gate")
	second := make(chan error, 1)
	go func() { second <- queue(stores[1], "second") }()
	until(func() bool { return waiting(`hashtextextended($1, 0)`, engagement) > 0 }, second)
	got, err := stores[1].ClaimOutbox(ctx, at, time.Minute, 1)
	require.NoError(t, err)
	assert.Empty(t, got, "a write handed out before the write queued before it has committed")
	open()
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	for _, key := range []string{"first", "second"} {
		got, err := stores[1].ClaimOutbox(ctx, at, time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, key, got[0].Key)
		require.NoError(t, stores[1].Delivered(ctx, got[0].Claim(), at))
	}
}
