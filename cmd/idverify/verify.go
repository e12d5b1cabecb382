package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/httpapi/apiclient"
	"github.com/idverify/idverify/adapter/terminal"
	"github.com/idverify/idverify/config"
)

func init() { commands = append(commands, newVerifyCommand) }

// The environment variables of verify's --server and --api-key.
const (
	envServer = "IDVERIFY_SERVER"
	envAPIKey = "IDVERIFY_API_KEY"
)

func newVerifyCommand() *cobra.Command {
	var (
		server, apiKey, configFile string
		start                      terminal.Start
		script                     bool
		way                        wayFlags
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify a caller in the terminal, step by step, as a client of the HTTP API",
		Long: `Run one verification in the terminal: start a session for a call, then take it step by
step (reason, subject, search, pick a result, questions) until it has an outcome, through the
HTTP API at --server (IDVERIFY_SERVER) with --api-key (IDVERIFY_API_KEY), as any client does.
Without --server it starts the demo service in-process, as 'idverify serve' does without
Salesforce credentials: an embedded fake org with demo data, SQLite in a temporary file.

On a terminal it shows a form for each step (arrow keys and Enter; check-mode answers are
masked; Ctrl+C cancels the session). When stdin is not a terminal, or with --script, it reads
the answers from stdin, one a line, in the order the prompts come, and prints plain prompts:
a choice is answered by its value, its label or its number; "?" is "doesn't know" to a
question; an empty line skips an optional question (or takes a prompt's default); lines
starting with # are skipped. For example, Alice of the demo data about herself:

  printf '%s\n' 'Change of address' self 12/04/1985 '+1 415 555 0101' |
    idverify verify --phone +14155550101 --channel 'Voice Call'

Without --phone or a flag below, the first prompt asks how the caller reached the agent, and
the lines that follow depend on the answer (each asked only when no flag gives it):

  phone         phone number, channel (empty: Voice Call), call id (empty: none)
  in-person     start time (HH:MM, the latest past, or RFC 3339; empty: now), who it is
                (phone, record or new-customer), then that one's lines as below; the
                channel is In Person
  new-customer  first name (may be empty), last name, company, phone, email (may be empty),
                channel: a Lead is created
  record        object (empty: Account), record id, channel
  transfer      call id: the call's verified status is shown; then phone number, channel,
                and the session goes on (on the same call id, a verification that holds is
                not asked again)

A visit that began at 9:30 by a new customer, for example:

  printf '%s\n' in-person 09:30 new-customer '' Newcomb 'Newcomb Ltd' '' '' \
      'Change of address' self |
    idverify verify --script

Nothing typed is printed back. Exit status: 0 verified; 1 ended without a verification
(failed, not identified, cancelled, expired, not required, new customer); 2 the person is
locked; 3 an error (the server, the key, a script that ends early or names no choice).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, apiKey = orEnv(server, envServer), orEnv(apiKey, envAPIKey)
			ctx := cmd.Context()
			if server == "" {
				m, key, stop, err := startEmbedded(ctx, configFile)
				if err != nil {
					return &exitError{code: terminal.ExitError, err: err}
				}
				defer stop()
				server, apiKey = m.URL, key
				fmt.Fprintln(cmd.ErrOrStderr(), "idverify: no --server: running the demo service in-process (an embedded fake org with demo data)")
			} else if apiKey == "" {
				return &exitError{code: terminal.ExitError, err: errors.New("--api-key (or " + envAPIKey + ") is needed with --server")}
			}
			if err := way.apply(&start); err != nil {
				return &exitError{code: terminal.ExitError, err: err}
			}
			api, err := apiclient.New(server, apiKey)
			if err != nil {
				return &exitError{code: terminal.ExitError, err: err}
			}
			in, out := cmd.InOrStdin(), cmd.OutOrStdout()
			var p terminal.Prompter
			if !script && isTerminal(in) && isTerminal(out) {
				p = terminal.NewTUI(in, out)
			} else {
				p = terminal.NewScript(in, out)
			}
			res, err := terminal.Verify(ctx, api, p, start)
			if err != nil {
				return &exitError{code: terminal.ExitError, err: err}
			}
			if code := res.ExitCode(); code != terminal.ExitVerified {
				return &exitError{code: code, err: fmt.Errorf("not verified: %s", res.Session.Outcome)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "the idverify server's URL, e.g. http://127.0.0.1:8080 (default $"+envServer+"; none: the demo in-process)")
	f.StringVar(&apiKey, "api-key", "", "an API key of the server (default $"+envAPIKey+", which other users cannot read in the process list as they can a flag)")
	f.StringVar(&start.Phone, "phone", "", "the caller's phone number (asked when not given, with the call id)")
	f.StringVar(&start.Channel, "channel", "", "the engagement's channel, e.g. \"Voice Call\" (asked when not given)")
	f.StringVar(&start.CallID, "call-id", "", "the CTI call id: the engagement's external id, which a transferred call shares")
	f.StringVar(&start.Attestation, "attestation", "", "the call's STIR/SHAKEN attestation: A, B or C")
	f.BoolVar(&way.inPerson, "in-person", false, "an in-person visit (channel In Person): its start time and who it is are asked unless given")
	f.StringVar(&way.startTime, "start-time", "", "when the in-person visit began: HH:MM (the latest past) or RFC 3339, within the last 24 hours (implies --in-person)")
	f.BoolVar(&way.newCustomer, "new-customer", false, "a new customer: a Lead is created from the name and company asked")
	f.StringVar(&way.record, "record", "", "the caller's record the agent has open, as Object/Id, e.g. Account/001xx000003DGb2AAG")
	f.BoolVar(&way.transfer, "transfer", false, "a transferred call: shows the verified status of --call-id (asked when not given), then goes on")
	f.BoolVar(&script, "script", false, "read the answers from stdin even on a terminal")
	f.StringVar(&configFile, config.FileFlag, "", "the demo's YAML configuration, without --server (default $"+config.EnvFile+")")
	return cmd
}

// wayFlags are the flags that say how the session starts.
type wayFlags struct {
	inPerson, newCustomer, transfer bool
	startTime, record               string
}

// apply sets start's way from the flags: at most one of --phone, --new-customer and --record;
// --transfer with --phone or neither; --in-person (or --start-time) with any but --transfer.
func (w wayFlags) apply(start *terminal.Start) error {
	n := 0
	for _, set := range []bool{start.Phone != "", w.newCustomer, w.record != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("give at most one of --phone, --new-customer and --record")
	case w.transfer && (w.newCustomer || w.record != ""):
		return errors.New("--transfer goes on by the caller's number: not with --new-customer or --record")
	}
	if w.record != "" {
		object, id, ok := strings.Cut(w.record, "/")
		if !ok || object == "" || id == "" {
			return errors.New("--record is Object/Id, e.g. Account/001xx000003DGb2AAG")
		}
		start.Way, start.Record = terminal.WayRecord, &apiclient.Ref{Object: object, ID: id}
	}
	switch {
	case w.newCustomer:
		start.Way = terminal.WayNewCustomer
	case w.transfer:
		start.Way = terminal.WayTransfer
	}
	if w.startTime != "" {
		t, err := terminal.ParseStartTime(w.startTime, time.Now())
		if err != nil {
			return fmt.Errorf("--start-time: %w", err)
		}
		start.StartTime, w.inPerson = t, true
	}
	if w.inPerson {
		if w.transfer {
			return errors.New("--in-person is not a transferred call")
		}
		start.Who = start.Way
		if start.Phone != "" {
			start.Who = terminal.WayPhone
		}
		start.Way = terminal.WayInPerson
	}
	return nil
}

func orEnv(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// startEmbedded starts the demo service in-process on a loopback port of its own, as serve
// does without Salesforce credentials, and returns it with its API key and a function that
// stops it. It logs nothing: the terminal is the agent's.
func startEmbedded(ctx context.Context, configFile string) (*Main, string, func(), error) {
	cfg, d, err := loadServeConfig(config.Options{File: configFile}, "")
	if err != nil {
		return nil, "", nil, err
	}
	if d == nil {
		return nil, "", nil, errors.New("Salesforce credentials are configured: run 'idverify serve' and give verify --server and --api-key")
	}
	cfg.Console.Enabled = false // the terminal is the agent's screen here
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.close()
		return nil, "", nil, err
	}
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln}
	if err := m.Run(ctx); err != nil {
		d.close()
		return nil, "", nil, err
	}
	return m, d.key, func() { _ = m.Close(); d.close() }, nil
}
