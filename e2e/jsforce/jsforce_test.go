// Package jsforce holds the check that jsforce, Salesforce's Node client, works unchanged against
// `idverify fake-org`. The check itself is check.js, run by run.sh; this test runs run.sh when
// IDVERIFY_E2E_JSFORCE=1 (it needs Node, npm and the npm registry).
package jsforce

import (
	"os"
	"os/exec"
	"testing"
)

func TestJsforceAgainstFakeOrg(t *testing.T) {
	if os.Getenv("IDVERIFY_E2E_JSFORCE") != "1" {
		t.Skip("set IDVERIFY_E2E_JSFORCE=1 to run jsforce (Node, npm and the npm registry needed) against idverify fake-org")
	}
	for _, tool := range []string{"node", "npm", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("IDVERIFY_E2E_JSFORCE=1 but %s is not on PATH", tool)
		}
	}
	cmd := exec.CommandContext(t.Context(), "bash", "run.sh")
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run.sh: %v", err)
	}
}
