package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/postgres"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
)

// loadConfig loads the configuration as the server would, for a command's flags.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	return config.Load(config.Options{Flags: cmd.Flags()})
}

// withStore loads the configuration as the server would and runs fn with the store it names,
// closed afterwards.
func withStore(cmd *cobra.Command, fn func(cfg *config.Config, st store.Store) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	st, err := openStore(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

// openStore opens the store the configuration names (store.driver, store.dsn).
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Driver {
	case config.DriverSQLite:
		return sqlite.Open(ctx, cfg.Store.DSN.Value())
	case config.DriverPostgres:
		return postgres.Open(ctx, cfg.Store.DSN.Value())
	}
	return nil, errors.New("store.driver must be sqlite or postgres")
}

// retention is the configured retention, as the store takes it.
func retention(cfg *config.Config) store.Retention {
	r := cfg.Store.Retention
	return store.Retention{Sessions: r.Sessions, Failures: r.Failures, Delivered: r.Delivered, Audit: r.Audit}
}

// offlineEngine is the engine of commands that drive it without Salesforce (offline).
func offlineEngine(cfg *config.Config, st store.Store) (*flows.Engine, error) {
	policy, err := cfg.Policy()
	if err != nil {
		return nil, err
	}
	return flows.New(policy, flows.Ports{CRM: offline{}, Recorder: offline{}, Store: st}, []byte(cfg.Secrets.HMACKey.Value()))
}

// offline stands for the CRM and the Recorder in commands that drive the engine without
// Salesforce (an admin's lockout reset, expiring idle sessions): any call to it fails.
type offline struct{}

var errOffline = errors.New("not connected to Salesforce in this command")

func (offline) FindByPhone(context.Context, string) ([]flows.Ref, error) { return nil, errOffline }
func (offline) Search(context.Context, flows.SearchType, flows.Query) ([]flows.Row, error) {
	return nil, errOffline
}
func (offline) Values(context.Context, flows.Ref, []string) (map[string]string, error) {
	return nil, errOffline
}
func (offline) MayRepresent(context.Context, flows.RepresentationRule, flows.Ref, flows.Ref) (bool, error) {
	return false, errOffline
}
func (offline) CreateLead(context.Context, string, flows.Lead) (flows.Ref, error) {
	return flows.Ref{}, errOffline
}
func (offline) OpenEngagement(context.Context, string) (flows.OpenedEngagement, error) {
	return flows.OpenedEngagement{}, errOffline
}
func (offline) WriteOutcome(context.Context, flows.Writeback) error { return errOffline }

func init() { commands = append(commands, newStoreCommand) }

func newStoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Maintain the store (sessions, counters, outbox, audit)",
		Args:  cobra.NoArgs,
	}
	sweep := &cobra.Command{
		Use:   "sweep",
		Short: "End the sessions left idle past session.idle_timeout, then delete what store.retention says is past keeping (the server does both every store.sweep_interval)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(cfg *config.Config, st store.Store) error {
				e, err := offlineEngine(cfg, st)
				if err != nil {
					return err
				}
				// A session that cannot be ended (unreadable) is reported, after the sweep: it
				// must not keep the rest from being expired and deleted.
				expired, expireErr := store.ExpireIdle(cmd.Context(), e)
				if cmd.Context().Err() != nil {
					return expireErr
				}
				sw, err := st.Sweep(cmd.Context(), time.Now(), retention(cfg))
				if err != nil {
					return errors.Join(expireErr, err)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "expired: %d idle sessions (their outcome queued in the outbox)\n"+
					"deleted: %d sessions, %d failures, %d verified marks, %d delivered writes, %d audit records\n",
					expired, sw.Sessions, sw.Failures, sw.Marks, sw.Delivered, sw.Audit)
				return errors.Join(expireErr, err)
			})
		},
	}
	config.AddFlags(sweep.Flags())
	cmd.AddCommand(sweep)
	return cmd
}
