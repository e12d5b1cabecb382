package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/config"
)

func init() { commands = append(commands, newConfigCommand) }

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with idverify's configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigCheckCommand(), newConfigImportCommand())
	return cmd
}

func newConfigCheckCommand() *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration, printing every problem with its key path",
		Long: `Load the configuration exactly as the server would (defaults, the YAML file from --config
or $IDVERIFY_CONFIG, IDVERIFY_* environment variables, then flags) and validate it. Every
problem is printed as "key.path: what is wrong and what to do"; the command exits non-zero
if there is any. Secrets are never printed. docs/CONFIGURATION.md documents every key.

With --online it then asks the org (the embedded fake org when salesforce.auth is empty) about
every object and field the configuration names: that each exists and is readable, writable
where idverify writes it, of a type that fits its use, and that the picklist values idverify
writes (the default channel, the representation roles, ...) exist; one line per problem, with
its key path.`,
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
			if online {
				if err := checkOnline(cmd, cfg); err != nil {
					return err
				}
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
	cmd.Flags().BoolVar(&online, "online", false, "also check every configured object and field against the org")
	return cmd
}

// checkOnline checks cfg against the org, printing each problem; it fails if there is any.
func checkOnline(cmd *cobra.Command, cfg *config.Config) error {
	client, stop, err := connectOrg(cfg.Salesforce)
	if err != nil {
		return err
	}
	defer stop()
	ps, err := salesforce.CheckOnline(cmd.Context(), client, cfg)
	if err != nil {
		return fmt.Errorf("checking against the org: %w", err)
	}
	for _, p := range ps {
		fmt.Fprintln(cmd.OutOrStdout(), p)
	}
	switch len(ps) {
	case 0:
		_, err := fmt.Fprintln(cmd.OutOrStdout(), "online: every configured object and field fits the org")
		return err
	case 1:
		return errors.New("the org does not fit the configuration: 1 problem")
	}
	return fmt.Errorf("the org does not fit the configuration: %d problems", len(ps))
}

func newConfigImportCommand() *cobra.Command {
	var definition, output string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Write the org's identity verification setup as idverify's search_types",
		Long: `Read the org's identity verification setup (IdentityVerificationProcDef, its
IdentityVerificationProcDtl and IdentityVerificationProcFld records) and write the equivalent
search_types section of idverify's configuration as YAML, with a comment on anything it could
not map. Only the salesforce section of the configuration is needed (with salesforce.auth empty,
the embedded fake org's demo setup is read). Merge the output into your configuration and run
idverify config check --online.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := config.LoadSalesforce(config.Options{Flags: cmd.Flags()})
			if ps, ok := errors.AsType[config.Problems](err); ok {
				for _, p := range ps {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				return errors.New("the salesforce section of the configuration has problems")
			}
			if err != nil {
				return err
			}
			client, stop, err := connectOrg(s)
			if err != nil {
				return err
			}
			defer stop()
			out, err := salesforce.ImportSetup(cmd.Context(), client, definition)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(out)
				return err
			}
			return os.WriteFile(output, out, 0o644)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&definition, "definition", "", "the DeveloperName of the IdentityVerificationProcDef to import (default: the org's only one)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the YAML to this file instead of standard output")
	return cmd
}
