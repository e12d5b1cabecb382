package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/config"
)

func init() { commands = append(commands, newConfigCommand) }

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with idverify's configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigCheckCommand())
	return cmd
}

func newConfigCheckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration, printing every problem with its key path",
		Long: `Load the configuration exactly as the server would (defaults, the YAML file from --config
or $IDVERIFY_CONFIG, IDVERIFY_* environment variables, then flags) and validate it. Every
problem is printed as "key.path: what is wrong and what to do"; the command exits non-zero
if there is any. Secrets are never printed. docs/CONFIGURATION.md documents every key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if file, _ := cmd.Flags().GetString(config.FileFlag); file == "" && os.Getenv(config.EnvFile) == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "no configuration file given (--config or $%s): defaults and the environment only\n", config.EnvFile)
			}
			cfg, err := config.Load(config.Options{Flags: cmd.Flags()})
			if ps, ok := errors.AsType[config.Problems](err); ok {
				for _, p := range ps {
					fmt.Fprintln(out, p)
				}
				if len(ps) == 1 {
					return errors.New("the configuration has 1 problem")
				}
				return fmt.Errorf("the configuration has %d problems", len(ps))
			}
			if err != nil {
				return err
			}
			policy, err := cfg.Policy()
			if err != nil {
				return err
			}
			confidential := 0
			for _, r := range policy.Reasons {
				if r.Confidential {
					confidential++
				}
			}
			salesforce := "the embedded fake org (no Salesforce credentials configured)"
			if !cfg.Salesforce.Embedded() {
				salesforce = fmt.Sprintf("%s with %s auth", cfg.Salesforce.LoginURL, cfg.Salesforce.Auth)
			}
			_, err = fmt.Fprintf(out, "configuration OK: %d reasons (%d confidential), %d search types\nSalesforce: %s\nstore: %s\nlistening on: %s\n",
				len(policy.Reasons), confidential, len(policy.SearchTypes), salesforce, cfg.Store.Driver, cfg.Server.Addr)
			return err
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}
