package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/config"
)

var (
	fullEnv  = regexp.MustCompile(`IDVERIFY_[A-Z0-9_]*[A-Z0-9]`)
	shortEnv = regexp.MustCompile(`(?:^|[\s,(` + "`" + `])(_[A-Z0-9_]*[A-Z0-9])`)
	flagName = regexp.MustCompile(`--([a-z][a-z-]+)`)
)

// envNames returns the environment variables text names: IDVERIFY_… in full, and "_X" after one
// on the same line as short for the same section's (IDVERIFY_SALESFORCE_CLIENT_ID, _USERNAME).
func envNames(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		full := fullEnv.FindAllString(line, -1)
		out = append(out, full...)
		if len(full) == 0 {
			continue
		}
		parts := strings.SplitN(full[0], "_", 3)
		for _, m := range shortEnv.FindAllStringSubmatch(line, -1) {
			out = append(out, parts[0]+"_"+parts[1]+m[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// README.md's "idverify serve: flags and environment" and `serve --help` list the same flags and
// environment variables, and each variable is one the configuration reads.
func TestServeHelpAndREADMEListTheSameSettings(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## `idverify serve`: flags and environment")
	require.True(t, ok, "README.md has the section")
	section, _, _ = strings.Cut(section, "\n## ")

	cmd := newServeCommand()
	help := cmd.Long + "\n" + cmd.Flags().FlagUsages()
	readmeEnv, helpEnv := envNames(section), envNames(help)
	require.Greater(t, len(readmeEnv), 15)
	assert.Equal(t, readmeEnv, helpEnv, "README.md's variables (first) and serve --help's (second)")

	known := map[string]bool{config.EnvFile: true}
	for _, k := range config.Keys() {
		known[config.EnvName(k)] = true
	}
	for _, name := range readmeEnv {
		assert.True(t, known[name], "%s is no configuration key's variable", name)
	}
	// Every key of the sections an operator sets whole is listed (the console's grew keys the
	// list had missed).
	for _, k := range config.Keys() {
		if strings.HasPrefix(k, "console.") {
			assert.Contains(t, readmeEnv, config.EnvName(k), "README.md and serve --help list every console key")
		}
	}

	var flags []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { flags = append(flags, f.Name) })
	var readmeFlags []string
	for _, m := range flagName.FindAllStringSubmatch(section, -1) {
		readmeFlags = append(readmeFlags, m[1])
	}
	slices.Sort(readmeFlags)
	readmeFlags = slices.DeleteFunc(slices.Compact(readmeFlags), func(f string) bool { return f == "help" })
	slices.Sort(flags)
	assert.Equal(t, readmeFlags, flags)
}
