package main

import (
	"errors"
	"fmt"
	"github.com/idverify/idverify/adapter/salesforce"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idverify/idverify/bulksync"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/sfdc"
)

func init() { commands = append(commands, newSyncCommand) }

// Exit statuses of sync (docs/SYNC.md).
const (
	exitSyncIncomplete = 2 // finished, but some rows were invalid or rejected (the report has them)
	exitSyncStopped    = 3 // stopped before the end: run the same command again to resume
)

// exitError carries an exit status to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// shownProblems is how many validation problems sync prints; the report has every one.
const shownProblems = 20

func newSyncCommand() *cobra.Command {
	var (
		dryRun                        bool
		format, via                   string
		checkpoint, report            string
		bulkThreshold, bulkRound      int
		pollMin, pollMax, settleAfter time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sync FILE",
		Short: "Send verification results from other systems (JSON Lines or CSV) to Salesforce",
		Long: `Send engagements with their attendees and topic (JSON Lines or CSV, - for standard input;
docs/SYNC.md has the schema) to the org the configuration's salesforce section names. Every row
is validated first; bad rows are reported by line, field and reason and nothing is sent for
them. Engagements are upserted by ExternalIdentifier; attendees and topics are matched to the
ones an engagement already has, so a re-run creates no duplicate. Records go 200 a call through
sObject collections, or through Bulk API 2.0 jobs from --bulk-threshold rows.

The checkpoint (default FILE.checkpoint) records what Salesforce accepted: an interrupted run
(Ctrl-C, a kill, a lost network, the daily API limit) resumes when the same command runs again.
Rows Salesforce refuses go to the report (default FILE.report.jsonl) with their error codes.

Exit status: 0 every row landed; 1 nothing was sent (configuration, input, credentials);
2 finished, but rows were invalid or rejected (see the report); 3 stopped before the end: run
the same command again to resume.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			input := args[0]
			stderr := cmd.ErrOrStderr()
			if checkpoint == "" {
				if input == "-" && !dryRun {
					return errors.New("reading standard input, sync needs --checkpoint (and resumes only with the same input)")
				}
				checkpoint = input + ".checkpoint"
			}
			if report == "" {
				report = strings.TrimSuffix(checkpoint, ".checkpoint") + ".report.jsonl"
			}
			opts := bulksync.Options{Input: input, Stdin: cmd.InOrStdin(), Format: bulksync.Format(format), DryRun: dryRun,
				Checkpoint: checkpoint, Report: report, Via: bulksync.Via(via), BulkThreshold: bulkThreshold,
				BulkRound: bulkRound, Poll: sfdc.Poll{Min: pollMin, Max: pollMax}, Settle: settleAfter}
			switch via {
			case "auto":
				opts.Via = bulksync.ViaAuto
			case string(bulksync.ViaCollections), string(bulksync.ViaBulk):
			default:
				return fmt.Errorf("--via: want auto, collections or bulk, not %q", via)
			}
			switch opts.Format {
			case bulksync.FormatAuto, bulksync.FormatJSONL, bulksync.FormatCSV:
			default:
				return fmt.Errorf("--format: want jsonl or csv, not %q", format)
			}

			sf, err := config.LoadSalesforce(config.Options{Flags: cmd.Flags()})
			if ps, ok := errors.AsType[config.Problems](err); ok {
				for _, p := range ps {
					fmt.Fprintln(stderr, p)
				}
				return fmt.Errorf("the configuration has %d problems (idverify config check lists them)", len(ps))
			}
			if err != nil {
				return err
			}
			if sf.Embedded() {
				if !dryRun {
					return errors.New("sync sends to Salesforce, but the configuration has no Salesforce credentials " +
						"(salesforce.auth is empty, which means the embedded fake org; sync never writes there): " +
						"set salesforce.auth and its credentials (docs/CONFIGURATION.md), or use --dry-run to check the file")
				}
				fmt.Fprintln(stderr, "no Salesforce credentials configured: checking rows against Salesforce's standard picklist values, without the org's describe")
			} else {
				c, err := sfdc.New(salesforce.ClientConfig(sf))
				if err != nil {
					return err
				}
				opts.Client = c
			}

			shown := 0
			opts.OnProblem = func(p bulksync.Problem) {
				if shown < shownProblems {
					fmt.Fprintln(stderr, p)
				}
				shown++
			}
			if isTerminal(stderr) && isTerminal(cmd.OutOrStdout()) {
				opts.Progress = &progressBar{w: stderr}
			}
			sum, err := bulksync.Run(cmd.Context(), opts)
			switch {
			case shown > shownProblems && dryRun: // a dry run writes no report
				fmt.Fprintf(stderr, "… and %d more problems (a sync writes every one to %s)\n", shown-shownProblems, report)
			case shown > shownProblems:
				fmt.Fprintf(stderr, "… and %d more problems: %s lists every one\n", shown-shownProblems, report)
			}
			if sum != nil {
				printSummary(cmd.OutOrStdout(), sum, report)
			}
			var stopped *bulksync.StoppedError
			switch {
			case errors.As(err, &stopped):
				return &exitError{exitSyncStopped, fmt.Errorf("%w; run the same command again to resume (checkpoint %s)", err, checkpoint)}
			case err != nil:
				return err
			case sum.DryRun && !sum.OK():
				return &exitError{exitSyncIncomplete, fmt.Errorf("%d rows are invalid: a sync would send nothing for them", sum.Invalid)}
			case !sum.OK():
				return &exitError{exitSyncIncomplete, fmt.Errorf("not every row landed (invalid: %d, rejected: %d): see %s", sum.Invalid, sum.Rejected, report)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "validate every row and count the API calls a sync would make; send nothing")
	f.StringVar(&format, "format", "", "jsonl or csv (default: by the file's extension, else its first character)")
	f.StringVar(&via, "via", "auto", "auto, collections or bulk (auto: Bulk API 2.0 from --bulk-threshold rows)")
	f.StringVar(&checkpoint, "checkpoint", "", "checkpoint file (default FILE.checkpoint; required with -)")
	f.StringVar(&report, "report", "", "report of refused rows (default: the checkpoint's name with .report.jsonl)")
	f.IntVar(&bulkThreshold, "bulk-threshold", bulksync.DefaultBulkThreshold, "rows to send from which auto uses Bulk API 2.0")
	f.IntVar(&bulkRound, "bulk-round", bulksync.DefaultBulkRound, "rows per round (one job per object) with Bulk API 2.0")
	f.DurationVar(&pollMin, "poll", sfdc.DefaultPollMin, "first wait between reads of a Bulk API job's state (doubling)")
	f.DurationVar(&pollMax, "poll-max", sfdc.DefaultPollMax, "longest wait between reads of a Bulk API job's state")
	f.DurationVar(&settleAfter, "settle", bulksync.DefaultSettle, "on resume, how long after the last run's unanswered write to wait before checking what landed")
	config.AddFlags(f)
	return cmd
}

// isTerminal reports whether v (a command's stdin, stdout or stderr) is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printSummary writes the run's summary: counts, never a value.
func printSummary(w io.Writer, s *bulksync.Summary, report string) {
	if s.DryRun {
		fmt.Fprintf(w, "dry run: %d rows, %d valid, %d invalid; a sync would send %d rows via %s in at least %d API calls "+
			"(one more for each 200 engagements the org already has)\n",
			s.Rows, s.Rows-s.Invalid, s.Invalid, s.Rows-s.Invalid-s.Skipped, s.Via, s.Planned)
		return
	}
	state := "complete"
	if !s.Complete {
		state = "stopped before the end"
	}
	fmt.Fprintf(w, "sync %s via %s in %s\n", state, s.Via, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  rows      %d (%d invalid, %d done by earlier runs)\n", s.Rows, s.Invalid, s.Skipped)
	fmt.Fprintf(w, "  sent      %d\n", s.Sent)
	fmt.Fprintf(w, "  landed    %d\n", s.Landed)
	fmt.Fprintf(w, "  rejected  %d\n", s.Rejected)
	fmt.Fprintf(w, "  records   %d created, %d updated\n", s.Created, s.Updated)
	rate := ""
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Sent > 0 {
		rate = fmt.Sprintf(" (%.0f rows/s)", float64(s.Sent)/secs)
	}
	fmt.Fprintf(w, "  API calls %d this run%s\n", s.Calls, rate)
	if s.Invalid+s.Rejected > 0 {
		fmt.Fprintf(w, "  report    %s\n", report)
	}
}

// progressBar shows the sending on a terminal: rows, rate and ETA.
type progressBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *progressBar) Start(total int) {
	if total <= 0 {
		return // nothing to send: no bar
	}
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription("sending"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30), progressbar.OptionShowDescriptionAtLineEnd(), progressbar.OptionSetRenderBlankState(true))
}

func (p *progressBar) Add(rows int) {
	if p.bar != nil {
		_ = p.bar.Add(rows)
	}
}

func (p *progressBar) Stage(what string) {
	if p.bar != nil {
		p.bar.Describe(what)
	}
}

func (p *progressBar) Finish() {
	if p.bar == nil {
		return
	}
	p.bar.Describe("")
	_ = p.bar.Exit() // as it is: a stopped run's bar must not jump to 100%
	fmt.Fprintln(p.w)
}
