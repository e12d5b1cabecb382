// Command idverify verifies callers and their representatives against a Salesforce org.
//
// The binary only wires cobra commands to the packages that do the work; it holds no logic of
// its own. Each command lives in a file named after it.
package main

import (
	"context"
	"errors"
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
		stop()
		// A command may say which status (sync's are documented in docs/SYNC.md).
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}
