package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
)

func init() { commands = append(commands, newLockoutCommand) }

func newLockoutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lockout",
		Short: "Inspect and lift the attempt limits on a person",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newLockoutResetCommand())
	return cmd
}

func newLockoutResetCommand() *cobra.Command {
	var actor, reason string
	cmd := &cobra.Command{
		Use:   "reset RECORD_ID",
		Short: "Forget every wrong answer counted against a person, lifting their lock at once (audited)",
		Long: `Forget every failure counted against the person with this Salesforce record id, which lifts
their lock at once. The reset is kept in the store's audit with who (--actor), why (--reason, no
personal data), when and how many failures it cleared; the audit lists every earlier reset of
the person too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(cfg *config.Config, st store.Store) error {
				e, err := offlineEngine(cfg, st)
				if err != nil {
					return err
				}
				r, err := e.ResetFailures(cmd.Context(), flows.ResetRequest{Person: args[0], Actor: actor, Reason: reason})
				if se, ok := errors.AsType[*flows.StepError](err); ok && errors.Is(err, flows.ErrInvalidInput) {
					return errors.New(se.Detail)
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d failures cleared by %s at %s\n", r.Person, r.Cleared, r.Actor,
					r.At.UTC().Format("2006-01-02T15:04:05Z"))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&actor, "actor", "", "who resets, for the audit (your user name)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit (no personal data)")
	config.AddFlags(cmd.Flags())
	return cmd
}
