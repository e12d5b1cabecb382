// Package runcheck runs an e2e check's run.sh from a Go test: a client of Salesforce's (jsforce,
// the Salesforce CLI) against `idverify fake-org`. A check needs Node, npm and the npm registry,
// so it runs only when its environment variable is 1, and otherwise says it was skipped.
//
//	func TestJsforce(t *testing.T) { runcheck.Run(t, "IDVERIFY_E2E_JSFORCE") }
package runcheck

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Run runs run.sh in the test's directory when the environment variable env is 1, and skips
// the test (saying how to run it) otherwise.
func Run(t *testing.T, env string) {
	t.Helper()
	if os.Getenv(env) != "1" {
		t.Skip("skipped: set " + env + "=1 to run this check (Node, npm and the npm registry needed)")
	}
	for _, tool := range []string{"node", "npm", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is not on PATH", env, tool)
		}
	}
	// Stop the check a little before go test's -timeout would panic, so that it fails with its
	// own output and stops run.sh with everything it started (the fake org, node) rather than
	// leaving them running as orphans.
	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		grace := min(30*time.Second, time.Until(deadline)/2)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-grace))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "bash", "run.sh")
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	stopGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("run.sh stopped before go test's -timeout: %v", err)
		}
		t.Fatalf("run.sh: %v", err)
	}
}
