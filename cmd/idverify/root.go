package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the module version.
var version = ""

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "idverify",
		Short:         "Verify a caller, and whom they speak for, against Salesforce records",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands holds the constructors of the subcommands defined in the other files of this
// package; each file appends its own in an init function so that files never edit each other.
var commands []func() *cobra.Command

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of idverify: the module version and the VCS revision it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine(bi))
			return err
		},
	}
}

// versionLine is "idverify VERSION" and, when the build recorded them (go build in a
// checkout, not go run or go test), the VCS revision, its time and whether the tree had
// uncommitted changes, e.g. "idverify v1.2.0 (revision 4f2a…, 2026-12-01T10:00:00Z, modified)".
func versionLine(bi *debug.BuildInfo) string {
	v := version
	if v == "" {
		v = "devel"
		if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	var rev []string
	if bi != nil {
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if r := settings["vcs.revision"]; r != "" {
			rev = append(rev, "revision "+r)
		}
		if t := settings["vcs.time"]; t != "" {
			rev = append(rev, t)
		}
		if settings["vcs.modified"] == "true" {
			rev = append(rev, "modified")
		}
	}
	if len(rev) == 0 {
		return "idverify " + v
	}
	return "idverify " + v + " (" + strings.Join(rev, ", ") + ")"
}
