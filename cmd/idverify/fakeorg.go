package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/mocks/fakeorg"
)

func init() { commands = append(commands, newFakeOrgCommand) }

func newFakeOrgCommand() *cobra.Command {
	var (
		addr      string
		seed      string
		records   int
		jwtCerts  []string
		lifetime  time.Duration
		dailyMax  int64
		recordSeq int64
		logReqs   bool
		callbacks []string
	)
	cmd := &cobra.Command{
		Use:   "fake-org",
		Short: "Run a fake Salesforce org (OAuth and REST API, in memory) for tests and demos",
		Long: `Run a fake Salesforce org: OAuth and the REST data API, wire-compatible with Salesforce,
in memory. It listens on loopback by default and prints its login URL and the demo credentials.
The admin endpoint /_fakeorg/ (request counters, fault injection) answers loopback clients only;
GET /_fakeorg/ lists what it offers. --log-requests writes one line per request to stderr:
method, path (ids and values replaced), status and duration, never a token or a value.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := fakeorg.Options{
				Seed:            fakeorg.Seed(seed),
				Records:         records,
				RecordSeed:      recordSeq,
				SessionLifetime: lifetime,
				DailyAPILimit:   dailyMax,
				CallbackURLs:    callbacks,
			}
			if logReqs {
				opts.RequestLog = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			if seed != string(fakeorg.SeedDemo) && seed != string(fakeorg.SeedNone) {
				return fmt.Errorf("--seed: want %q or %q, not %q", fakeorg.SeedDemo, fakeorg.SeedNone, seed)
			}
			if records < 0 {
				return fmt.Errorf("--records: want 0 or more, not %d", records)
			}
			for _, u := range callbacks {
				if err := fakeorg.CheckCallbackURL(u); err != nil {
					return fmt.Errorf("--callback-url %s: %w", u, err)
				}
			}
			for _, f := range jwtCerts {
				pem, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("--jwt-cert: %w", err)
				}
				if _, err := fakeorg.ParsePublicKey(pem); err != nil {
					return fmt.Errorf("--jwt-cert %s: %w", f, err)
				}
				opts.JWTCertificates = append(opts.JWTCertificates, pem)
			}
			start := time.Now()
			org, err := fakeorg.New(opts)
			if err != nil {
				return err
			}
			loaded := time.Since(start)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			return serveFakeOrg(cmd.Context(), cmd, org, ln, loaded)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8089", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&seed, "seed", string(fakeorg.SeedDemo), "initial data: demo or none")
	f.IntVar(&records, "records", 0, "further generated person accounts and contacts")
	f.Int64Var(&recordSeq, "records-seed", 1, "seed of the record generator")
	f.StringArrayVar(&jwtCerts, "jwt-cert", nil, "PEM certificate or public key of the connected app, for the JWT bearer flow (repeatable)")
	f.DurationVar(&lifetime, "session-lifetime", fakeorg.DefaultSessionLifetime, "lifetime of access tokens")
	f.Int64Var(&dailyMax, "daily-limit", fakeorg.DefaultDailyAPILimit, "daily API request limit (DailyApiRequests Max)")
	f.StringArrayVar(&callbacks, "callback-url", nil, `callback URL of the connected app for the web server flow (repeatable; replaces the default, the console's callback on any loopback port: `+strings.Join(fakeorg.DefaultCallbackURLs, ", ")+`)`)
	f.BoolVar(&logReqs, "log-requests", false, "log each request (method, path without values, status, duration) to stderr")
	return cmd
}

// serveFakeOrg serves org on ln until ctx is cancelled, then shuts down gracefully.
func serveFakeOrg(ctx context.Context, cmd *cobra.Command, org *fakeorg.Org, ln net.Listener, loaded time.Duration) error {
	// The org bounds each request itself (URI and headers, body time and size, query cost); the
	// server bounds the rest: headers must arrive in 10 s and fit in 64 KB, and an idle
	// keep-alive connection closes after 2 minutes.
	srv := &http.Server{Handler: org.Handler(), ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes: 64 << 10, IdleTimeout: 2 * time.Minute}
	base := "http://" + ln.Addr().String()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "fake Salesforce org listening on %s (loaded in %s)\n", base, loaded.Round(time.Millisecond))
	fmt.Fprintf(out, "  login URL:      %s  (token endpoint %s/services/oauth2/token)\n", base, base)
	fmt.Fprintf(out, "  client id:      %s\n", org.ClientID())
	fmt.Fprintf(out, "  client secret:  %s\n", org.ClientSecret())
	fmt.Fprintf(out, "  username:       %s\n", org.Username())
	fmt.Fprintf(out, "  password:       %s\n", org.Password())
	fmt.Fprintf(out, "  authorize URL:  %s/services/oauth2/authorize  (web server flow with PKCE; demo agents\n", base)
	fmt.Fprintf(out, "                  agent1@demo.idverify.dev … supervisor@demo.idverify.dev, password %s)\n", fakeorg.DemoAgentPassword)
	fmt.Fprintf(out, "  admin:          %s/_fakeorg/ (loopback clients only)\n", base)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: the fake org is reachable beyond this machine; it has no real security")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	fmt.Fprintln(out, "fake org stopped")
	return err
}
