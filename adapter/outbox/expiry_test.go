package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/store/storetest"
	"github.com/idverify/idverify/flows"
)

// replicaStores opens three handles on one new database of driver name, as three replicas
// hold it.
func replicaStores(t *testing.T, name string) []store.Store {
	t.Helper()
	if name == "postgres" {
		var out []store.Store
		for _, st := range storetest.PostgresSchema(t, 3) {
			out = append(out, st)
		}
		return out
	}
	path := filepath.Join(t.TempDir(), "idverify.db")
	var out []store.Store
	for range 3 {
		st, err := sqlite.Open(context.Background(), path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, st)
	}
	return out
}

// TestExpiryRacesStepsAndReplicas: sessions idle past their timeout are expired by two
// replicas' sweeps at once while an agent's step arrives for each on a third replica (whose
// clock is behind, so that the step is still in time). For every session either the step
// wins (and the expiry that may follow sees the step's data) or the expiry wins (and the step
// fails with a version conflict), never both on one version: each session ends once, with one
// write-back and one "expire" audit event, and the replicas' counts add up to the sessions
// ended.
func TestExpiryRacesStepsAndReplicas(t *testing.T) {
	for _, drv := range storetest.Drivers {
		t.Run(drv.Name, func(t *testing.T) {
			stores := replicaStores(t, drv.Name)
			agentRig := newRig(t, stores[0])
			sweepers := []*rig{newRigOn(t, stores[1], agentRig.org.Client), newRigOn(t, stores[2], agentRig.org.Client)}
			const n = 24
			agents := make([]*agent, n)
			for i := range agents {
				agents[i] = &agent{t: t, r: agentRig}
				agents[i].call(alicePhone, fmt.Sprintf("call-race-%d", i))
				agents[i].reason("Change of address")
			}
			idle := agentRig.opts.Policy.Session.IdleTimeout
			for _, s := range sweepers {
				s.clock.Add(idle + time.Minute)
			}

			ctx := context.Background()
			var wg sync.WaitGroup
			stepped := make([]error, n)
			ended := make([]int, len(sweepers))
			sweepErrs := make([]error, len(sweepers))
			for i, s := range sweepers {
				wg.Go(func() { ended[i], sweepErrs[i] = store.ExpireIdle(ctx, s.engine) })
			}
			for i, g := range agents {
				wg.Go(func() {
					_, stepped[i] = agentRig.engine.SetSubject(ctx, flows.SubjectRequest{Actor: "e2e", Session: g.v.Session,
						Version: g.v.Version, Subject: flows.SubjectSelf})
				})
			}
			wg.Wait()
			require.NoError(t, errors.Join(sweepErrs...))
			// Whatever the steps left open is idle too, for the sweepers: end it now.
			for _, s := range sweepers {
				more, err := store.ExpireIdle(ctx, s.engine)
				require.NoError(t, err)
				ended[0] += more
			}

			list, err := stores[0].ListOutbox(ctx, 0, 0)
			require.NoError(t, err)
			writebacks := map[string]int{}
			for _, e := range list {
				if e.Event == nil {
					writebacks[e.Engagement]++
				}
			}
			for i, g := range agents {
				ext := fmt.Sprintf("call-race-%d", i)
				got, err := sweepers[0].engine.Get(ctx, g.v.Session)
				require.NoError(t, err)
				assert.Equal(t, flows.OutcomeExpired, got.Outcome, ext)
				if stepped[i] == nil {
					assert.Equal(t, flows.SubjectSelf, got.Subject, "%s: the step won; the expiry after it kept its data", ext)
				} else {
					require.ErrorIs(t, stepped[i], flows.ErrVersionConflict, "%s: the expiry won; the step is refused", ext)
				}
				assert.Equal(t, 1, writebacks[ext], "%s: one write-back", ext)
				audit, err := stores[0].AuditByEngagement(ctx, ext)
				require.NoError(t, err)
				expires := 0
				for _, a := range audit {
					if a.Step == "expire" {
						expires++
					}
				}
				assert.Equal(t, 1, expires, "%s: expired once", ext)
				assert.Equal(t, "expire", audit[len(audit)-1].Step, "%s: nothing after the expiry", ext)
			}
			assert.Equal(t, n, ended[0]+ended[1], "the replicas' counts add up")
			won := 0
			for _, err := range stepped {
				if err == nil {
					won++
				}
			}
			t.Logf("steps won %d of %d races", won, n)
		})
	}
}
