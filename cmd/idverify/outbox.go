package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
)

func init() { commands = append(commands, newOutboxCommand) }

func newOutboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Inspect and repair the outbox of writes to Salesforce",
		Long: `The outbox holds every write to Salesforce (a finished session's engagement, attendee and
topic rows) until a worker of idverify serve delivers it. A write Salesforce cannot take now is
pending with its next attempt; one Salesforce rejected for good is parked with its error code
until an operator retries it (after fixing the cause) or discards it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newOutboxListCommand(), newOutboxParkedCommand("retry"), newOutboxParkedCommand("discard"))
	return cmd
}

func newOutboxListCommand() *cobra.Command {
	var parkedOnly bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the writes not delivered yet: pending, being delivered, and parked",
		Long: `List the writes the outbox has not delivered, oldest first: id, status (pending, claimed: a
worker is delivering it, parked: rejected by Salesforce or the webhook), kind (write-back: the
engagement's rows for Salesforce; or an event for a webhook: verified, failed, locked,
unlocked), where it goes (salesforce, or webhook:<name>), the engagement (its
ExternalIdentifier, e.g. the CTI call id, or its Salesforce id; "-" for an unlocked event),
attempts, the error code of the last failed attempt, and when a pending write is tried next (a
claimed one: when its worker's lease ends). Nothing listed is personal data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(_ *config.Config, st store.Store) error { return listOutbox(cmd, st, parkedOnly) })
		},
	}
	cmd.Flags().BoolVar(&parkedOnly, "parked", false, "list the parked writes only")
	config.AddFlags(cmd.Flags())
	return cmd
}

// listOutbox prints the writes not delivered yet, a page at a time.
func listOutbox(cmd *cobra.Command, st store.Store, parkedOnly bool) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tTO\tENGAGEMENT\tATTEMPTS\tCODE\tNEXT ATTEMPT\tQUEUED")
	n := 0
	for after := int64(0); ; {
		page, err := st.ListOutbox(cmd.Context(), after, 500)
		if err != nil {
			return err
		}
		for _, e := range page {
			after = e.ID
			if parkedOnly && e.Status != flows.OutboxParked {
				continue
			}
			next := "-"
			if e.Status != flows.OutboxParked {
				next = e.NextAttempt.UTC().Format(time.RFC3339)
			}
			kind, to, engagement := "write-back", "salesforce", e.Engagement
			if e.Event != nil {
				// An event's queue is "event/<webhook>"; the engagement is the event's own.
				kind, to, engagement = e.Event.Type.String(), "webhook:"+e.Event.Subscriber, e.Event.Engagement
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Status, kind, to, orDash(engagement),
				e.Attempts, orDash(e.Code), next, e.At.UTC().Format(time.RFC3339))
			n++
		}
		if len(page) < 500 {
			break
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "%d writes\n", n)
	return err
}

// newOutboxParkedCommand is "outbox retry ID" or "outbox discard ID".
func newOutboxParkedCommand(verb string) *cobra.Command {
	short := "Make a parked write pending again, due now (after fixing what Salesforce rejected)"
	if verb == "discard" {
		short = "Delete a parked write: it will never reach Salesforce"
	}
	long := short + `.

A parked write holds up nobody: the later writes of its engagement were delivered meanwhile, and
a retried write reaches Salesforce after them (its engagement fields then say what the older
session decided). Discard it instead when a later session of the same engagement has written.`
	if verb == "discard" {
		long = short + "."
	}
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return errors.New("the id is the number outbox list shows")
			}
			return withStore(cmd, func(_ *config.Config, st store.Store) error {
				if verb == "discard" {
					err = st.DiscardParked(cmd.Context(), id)
				} else {
					err = st.RetryParked(cmd.Context(), id, time.Now())
				}
				if errors.Is(err, flows.ErrNotFound) {
					return fmt.Errorf("no parked write has id %d (outbox list --parked shows them)", id)
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "write %d: %s\n", id, map[string]string{"retry": "pending, due now", "discard": "discarded"}[verb])
				return err
			})
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
