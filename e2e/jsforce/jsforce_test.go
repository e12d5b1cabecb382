// Package jsforce holds the check that jsforce, Salesforce's Node client, works unchanged against
// `idverify fake-org`. The check itself is check.js, run by run.sh; this test runs run.sh when
// IDVERIFY_E2E_JSFORCE=1.
package jsforce

import (
	"testing"

	"github.com/idverify/idverify/e2e/runcheck"
)

func TestJsforceAgainstFakeOrg(t *testing.T) { runcheck.Run(t, "IDVERIFY_E2E_JSFORCE") }
