package flowstest_test

import (
	"testing"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

func TestStoreContract(t *testing.T) {
	flowstest.TestSessionStore(t, func(*testing.T) flows.SessionStore { return &flowstest.Store{} })
}

func TestOutboxContract(t *testing.T) {
	flowstest.TestOutbox(t, func(*testing.T) flowstest.OutboxStore { return &flowstest.Store{} })
}

func TestAuditContract(t *testing.T) {
	flowstest.TestAudit(t, func(*testing.T) flowstest.OutboxStore { return &flowstest.Store{} })
}

func TestReplicasContract(t *testing.T) {
	flowstest.TestReplicas(t, func(*testing.T) (flowstest.OutboxStore, flowstest.OutboxStore) {
		s := &flowstest.Store{}
		return s, s
	})
}
