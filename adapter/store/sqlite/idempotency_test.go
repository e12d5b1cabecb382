package sqlite_test

import (
	"testing"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
)

func TestIdempotency(t *testing.T) {
	httpapitest.TestIdempotencyStore(t, func(t *testing.T) httpapi.IdempotencyStore { a, _ := open(t); return a.(httpapi.IdempotencyStore) })
}
