package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/store"
)

// expirer answers ExpireIdle with its results in turn, then (0, nil).
type expirer struct {
	results []result
	calls   int
}

type result struct {
	n   int
	err error
}

func (e *expirer) ExpireIdle(context.Context, int) (int, error) {
	e.calls++
	if len(e.results) == 0 {
		return 0, nil
	}
	r := e.results[0]
	e.results = e.results[1:]
	return r.n, r.err
}

func TestExpireIdle(t *testing.T) {
	unreadable := errors.New("a session cannot be read")
	down := errors.New("store down")
	for _, tt := range []struct {
		name    string
		results []result
		want    int
		err     error
		calls   int
	}{
		// Another replica ended part of each batch: the backlog is still ended in one round.
		{"partial batches, as replicas racing leave them", []result{{300, nil}, {250, nil}, {10, nil}}, 560, nil, 4},
		// A session that cannot be ended is reported; the sessions after it still are ended.
		{"an unreadable session", []result{{499, unreadable}, {499, unreadable}, {3, unreadable}}, 1001, unreadable, 4},
		{"the store down", []result{{0, down}}, 0, down, 1},
		{"nothing idle", nil, 0, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &expirer{results: tt.results}
			n, err := store.ExpireIdle(t.Context(), e)
			assert.Equal(t, tt.want, n)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.calls, e.calls, "until a call ends none")
		})
	}
}
