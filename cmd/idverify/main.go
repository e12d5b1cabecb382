// Command idverify verifies callers and their representatives against a Salesforce org.
//
// The binary only wires cobra commands to the packages that do the work; it holds no logic of
// its own. Each command lives in a file named after it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "idverify:", err)
		os.Exit(1)
	}
}
