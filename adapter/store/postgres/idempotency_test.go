package postgres_test

import (
	"testing"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
)

func TestIdempotency(t *testing.T) {
	dsn(t)
	httpapitest.TestIdempotencyStore(t, func(t *testing.T) httpapi.IdempotencyStore { return openSchema(t, 1)[0] })
}
