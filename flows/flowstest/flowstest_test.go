package flowstest_test

import (
	"testing"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

func TestStoreContract(t *testing.T) {
	flowstest.TestSessionStore(t, func(*testing.T) flows.SessionStore { return &flowstest.Store{} })
}
