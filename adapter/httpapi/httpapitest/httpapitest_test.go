package httpapitest_test

import (
	"testing"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
)

func TestContract(t *testing.T) {
	httpapitest.TestIdempotencyStore(t, func(t *testing.T) httpapi.IdempotencyStore { return &httpapitest.Idempotency{} })
}
