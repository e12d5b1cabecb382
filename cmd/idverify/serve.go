package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/metrics"
	"github.com/idverify/idverify/adapter/outbox"
	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/adapter/store/sqlite"
	"github.com/idverify/idverify/adapter/webhook"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

func init() { commands = append(commands, newServeCommand) }

func newServeCommand() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, the outbox worker and /metrics (on demo settings when no Salesforce credentials are configured)",
		Long: `Run idverify: the JSON API under /v1 (docs/openapi.yaml, also served at /v1/openapi.json),
/healthz and /readyz, Prometheus metrics at /metrics, the agents' console at /console (when
console.enabled), the outbox worker that delivers the engagements to Salesforce and the events
to webhooks (events.webhooks), and the store's sweeper. SIGINT or SIGTERM stops it gracefully: the
requests in flight finish (up to server.shutdown_timeout; the ones still running then are
cancelled and waited for), then the worker settles what it is delivering.

The configuration is read as every command reads it: defaults, the YAML file (--config or
$IDVERIFY_CONFIG), IDVERIFY_* environment variables (every key has one: server.addr is
IDVERIFY_SERVER_ADDR), then flags. docs/CONFIGURATION.md documents every key. What an operator
usually sets:

  IDVERIFY_CONFIG                   the YAML file (reasons, search types, ...)
  IDVERIFY_SECRETS_HMAC_KEY, IDVERIFY_SECRETS_HMAC_KEY_FILE
                                    the deployment secret (32 random bytes or more; same on every replica)
  IDVERIFY_SALESFORCE_AUTH          jwt, client_credentials, refresh_token or password (empty: demo)
  IDVERIFY_SALESFORCE_LOGIN_URL, _CLIENT_ID, _USERNAME, _PRIVATE_KEY_FILE (or _PRIVATE_KEY)
  IDVERIFY_SALESFORCE_CLIENT_SECRET, _PASSWORD, _SECURITY_TOKEN, _REFRESH_TOKEN
  IDVERIFY_STORE_DRIVER, IDVERIFY_STORE_DSN   sqlite (a file) or postgres (a URL; several replicas)
  IDVERIFY_SERVER_ADDR, IDVERIFY_SERVER_API_KEYS, IDVERIFY_SERVER_CORS_ORIGINS
  IDVERIFY_SERVER_SHUTDOWN_TIMEOUT  how long a stopping server drains the requests in flight
  IDVERIFY_OUTBOX_CONCURRENCY, IDVERIFY_STORE_SWEEP_INTERVAL
  IDVERIFY_EVENTS_WEBHOOKS          the webhooks events go to (YAML or JSON)
  IDVERIFY_CONSOLE_ENABLED          the agents' console at /console (on by default on demo settings)
  IDVERIFY_CONSOLE_KEY, _KEY_FILE   its cookies' key (32 random bytes or more; same on every replica)
  IDVERIFY_CONSOLE_CLIENT_ID, _CLIENT_SECRET, _CLIENT_SECRET_FILE, _ORG_ID, _CALLBACK_URL, _LOGIN_URL,
  IDVERIFY_CONSOLE_FRAME_ANCESTORS, _SESSION_TTL, _INSTANCE_URL
                                    agents' sign-in with Salesforce, framing, record links
  IDVERIFY_LOG_LEVEL, IDVERIFY_LOG_FORMAT
  GOGC, GOMEMLIMIT                  Go's garbage collector (serve's GOGC is 400 when unset)

With no Salesforce credentials (salesforce.auth empty) serve runs on demo settings: an embedded
fake org with demo data, examples/idverify.yaml's policy, a generated HMAC key, a demo API key
and admin key, the agents' console at /console (signed in to at the fake org as its demo
agents, with a generated key), and SQLite in a temporary file (or --db); each applies only
where the configuration sets nothing. It prints a banner saying so, with the console's URL and
the demo agents, and curl commands that walk a caller and a representative through
verification.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, d, err := loadServeConfig(config.Options{Flags: cmd.Flags()}, db)
			if err != nil {
				return err
			}
			if d != nil {
				defer d.close()
			}
			log := newLogger(cfg.Log, cmd.ErrOrStderr())
			defer tuneGC()()
			m := &Main{Config: cfg, Logger: log}
			if err := m.Run(cmd.Context()); err != nil {
				return err
			}
			if d != nil {
				printBanner(cmd.OutOrStdout(), m, d)
			}
			<-cmd.Context().Done()
			log.Info("stopping: draining the requests in flight")
			err = m.Close()
			log.Info("stopped")
			return err
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&db, "db", "", "the demo's SQLite file (default: a temporary file, deleted at exit); only without Salesforce credentials")
	return cmd
}

// loadServeConfig loads the configuration as serve does: with no Salesforce credentials
// configured, on demo settings (db is the demo's SQLite file, "" for a temporary one), and then
// d is the demo, which the caller closes when the service stops; otherwise d is nil. A command
// that runs the service in-process loads its configuration with it too.
func loadServeConfig(opts config.Options, db string) (cfg *config.Config, d *demo, err error) {
	s, err := config.LoadSalesforce(opts)
	if err != nil {
		return nil, nil, err
	}
	if !s.Embedded() {
		if db != "" {
			return nil, nil, errors.New("--db is for the demo only: set store.dsn (IDVERIFY_STORE_DSN)")
		}
		cfg, err = config.Load(opts)
		return cfg, nil, err
	}
	if d, err = newDemo(db); err != nil {
		return nil, nil, err
	}
	if opts.Defaults, err = d.defaults(); err == nil {
		cfg, err = config.Load(opts)
	}
	if err != nil {
		d.close()
		return nil, nil, err
	}
	return cfg, d, nil
}

// Main is the service `idverify serve` runs, as WTF Dial's cmd/wtfd lays it out: Run wires the
// packages together from a loaded configuration and starts them; Close stops them. It holds no
// logic of its own. Other commands reuse it to run the same service in-process (a terminal
// verification, a console mounted beside the API):
//
//	cfg, demo, err := loadServeConfig(config.Options{Flags: cmd.Flags()}, "") // demo settings without credentials
//	...
//	m := &Main{Config: cfg, Logger: log} // the console is mounted when console.enabled
//	if err := m.Run(ctx); err != nil { ... }
//	defer m.Close()
//	// m.URL is the API's base URL; m.Engine runs sessions directly.
type Main struct {
	// Config is the loaded, validated configuration.
	Config *config.Config
	// Logger receives every log line; nil discards them.
	Logger *slog.Logger
	// Mounts are handlers served beside the API on its listener (http.ServeMux patterns),
	// besides the console Run mounts itself when console.enabled. They are served without the
	// API's keys, limits or headers, and logged as the API is (route patterns, never paths);
	// the API answers every path no mount takes.
	Mounts []Mount
	// Listener, when set, is listened on instead of Config.Server.Addr.
	Listener net.Listener
	// NoOutbox leaves the outbox worker off (a benchmark measuring the API alone).
	NoOutbox bool

	// Set by Run.

	// URL is the API's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// ConsoleURL is the agents' console (URL + "/console/") when console.enabled, else "".
	ConsoleURL string
	// Engine runs the sessions; the API's handler, the outbox worker and any in-process user
	// share it.
	Engine *flows.Engine
	// Store is the engine's store.
	Store store.Store
	// Handler is everything the listener serves: the API, /metrics and the mounts.
	Handler http.Handler
	// Metrics are the Prometheus metrics served at /metrics.
	Metrics *metrics.Metrics
	// FakeOrg is the embedded fake org when salesforce.auth is empty (nil otherwise), and
	// FakeOrgURL its base URL.
	FakeOrg    *fakeorg.Org
	FakeOrgURL string

	server *http.Server
	// requests counts the server's handlers running; stopRequests cancels their contexts.
	requests     requests
	stopRequests context.CancelFunc
	org          *orgConn
	cancel       context.CancelFunc
	workers      sync.WaitGroup
	closed       sync.Once
}

// Mount is a handler served beside the API at an http.ServeMux pattern.
type Mount struct {
	Pattern string
	Handler http.Handler
}

// Run starts the service: the org's client (or the embedded fake org), the store, the engine,
// the API with /metrics on its listener, the outbox worker and the store's sweeper. It returns
// once the listener accepts connections; the service runs until Close. On an error, what was
// started is stopped.
func (m *Main) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			if m.server == nil && m.Listener != nil {
				_ = m.Listener.Close() // nobody else will: the server never took it
			}
			_ = m.Close()
		}
	}()
	cfg := m.Config
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.Metrics = metrics.New()

	// Salesforce: every request counted by result, the daily usage kept, retries counted.
	// The transport keeps more idle connections per host than Go's default 2: every step
	// calls the same org, from many requests at once.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	m.org, err = openOrg(cfg.Salesforce, func(c *sfdc.Config) {
		c.HTTPClient = &http.Client{Transport: m.Metrics.Transport(tr)}
		c.OnRetry = m.Metrics.OnRetry
	})
	if err != nil {
		return err
	}
	m.FakeOrg, m.FakeOrgURL = m.org.fake, m.org.fakeURL
	opts, err := salesforce.OptionsFrom(cfg)
	if err != nil {
		return err
	}
	crm, err := salesforce.New(m.org.client, opts)
	if err != nil {
		return err
	}
	if err := crm.Warm(ctx); err != nil {
		return fmt.Errorf("reading the org's describes: %w", err)
	}

	if m.Store, err = openStore(ctx, cfg); err != nil {
		return err
	}
	idem, ok := m.Store.(httpapi.IdempotencyStore)
	if !ok {
		return errors.New("the store keeps no idempotency records")
	}
	recorder := m.Metrics.Recorder(crm)
	m.Engine, err = flows.New(opts.Policy, flows.Ports{CRM: crm, Recorder: recorder, Store: m.Store},
		[]byte(cfg.Secrets.HMACKey.Value()))
	if err != nil {
		return err
	}
	m.Metrics.WatchOutbox(m.Store, time.Now)
	if st, ok := m.Store.(*sqlite.Store); ok {
		st.SetLogger(log)
		m.Metrics.WatchWAL(func() metrics.WAL { return metrics.WAL(st.WALStats()) })
	}
	// The webhooks (events.webhooks) get their events through the outbox worker. With none
	// configured the engine queues no event, and the worker needs no Notifier.
	var notifier flows.Notifier
	if hooks, opts := webhook.FromConfig(cfg.Events); len(hooks) > 0 {
		opts.Log = log
		if notifier, err = webhook.New(hooks, opts); err != nil {
			return fmt.Errorf("events.webhooks: %w", err)
		}
	}

	keys := make([]httpapi.APIKey, len(cfg.Server.APIKeys))
	for i, k := range cfg.Server.APIKeys {
		keys[i] = httpapi.APIKey{Name: k.Name, SHA256: k.SHA256, Admin: k.Admin}
	}
	rl := cfg.Server.RateLimit
	api, err := httpapi.New(httpapi.Config{
		Engine: m.Engine, Store: m.Store, Idempotency: idem, Engagements: crm,
		Keys: keys, CORSOrigins: cfg.Server.CORSOrigins, MinAttestation: cfg.PhoneLookup.MinAttestation,
		Limits: httpapi.Limits{KeyPerSecond: rl.KeyPerSecond, KeyBurst: rl.KeyBurst,
			PersonPerMinute: rl.PersonPerMinute, PersonBurst: rl.PersonBurst},
		MaxBodyBytes: cfg.Server.MaxBodyBytes, RequestTimeout: cfg.Server.RequestTimeout,
		IdempotencyTTL: cfg.Server.IdempotencyTTL, Logger: log, Metrics: m.Metrics,
		Ready: func(ctx context.Context) error {
			_, err := m.Store.ListOutbox(ctx, 0, 1) // the store answers
			return err
		},
	})
	if err != nil {
		return err
	}
	// The listener before the handlers: the console's sign-in comes back to its URL.
	ln := m.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Server.Addr); err != nil {
			return fmt.Errorf("server.addr: %w", err)
		}
		defer func() {
			if err != nil && m.server == nil {
				_ = ln.Close()
			}
		}()
	}
	m.URL = "http://" + ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		// Listening on every interface (":8080"): a client on this machine calls loopback.
		m.URL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}

	mounts := m.Mounts
	if cfg.Console.Enabled {
		con, err := newConsole(m, crm, log)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		m.ConsoleURL = consoleURL(m.URL)
		mounts = append([]Mount{{Pattern: "/console/", Handler: con}, {Pattern: "/console", Handler: con}}, mounts...)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", api.Protect("GET /metrics", m.Metrics.Handler())) // an API key, as every route but the health checks
	mux.Handle("/", api)
	// The mounts last, so that one on a taken pattern ("/", "GET /metrics") is its error.
	for _, mt := range mounts {
		if err := handle(mux, mt.Pattern, accessLog(mt.Handler, log, m.Metrics)); err != nil {
			return err
		}
	}
	m.Handler = mux

	s := cfg.Server
	m.server = httpapi.NewServer(ln.Addr().String(), m.requests.track(m.Handler), httpapi.Timeouts{ReadHeader: s.ReadHeaderTimeout,
		Read: s.ReadTimeout, Write: s.WriteTimeout, Idle: s.IdleTimeout}, log)
	// Every request's context descends from one Close cancels when the drain runs out; it is
	// not the caller's, which may be a signal's that ends as the drain begins.
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stopRequests = stop
	m.server.BaseContext = func(net.Listener) context.Context { return base }
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the API stopped serving", "err", err)
		}
	}()

	// The workers run until Close: their context is not the caller's, which may be a
	// signal's that ends before the server has drained.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	if !m.NoOutbox {
		w := &outbox.Worker{Outbox: m.Store, Recorder: recorder, Notifier: notifier, Lease: cfg.Outbox.Lease,
			Concurrency: cfg.Outbox.Concurrency, Batch: cfg.Outbox.Concurrency,
			MinBackoff: cfg.Outbox.MinBackoff, MaxBackoff: cfg.Outbox.MaxBackoff, GiveUpAfter: cfg.Outbox.WorkerGiveUpAfter(), Log: log}
		m.workers.Go(func() { _ = w.Run(work) })
	}
	m.workers.Go(func() {
		_ = store.Sweep(work, m.Store, m.Engine, cfg.Store.SweepInterval, retention(cfg), log)
	})
	m.workers.Go(func() { sweepIdempotent(work, idem, cfg.Store.SweepInterval, log) })
	log.Info("idverify serving", "url", m.URL, "store", cfg.Store.Driver, "embedded_org", m.FakeOrg != nil,
		"console", m.ConsoleURL != "")
	return nil
}

// handle registers h at pattern on mux, returning as an error what ServeMux panics with: an
// invalid pattern, or one a mount already took (e.g. "/console/" while console.enabled).
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mount %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// sweepIdempotent deletes expired idempotency records every interval until ctx ends.
func sweepIdempotent(ctx context.Context, idem httpapi.IdempotencyStore, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := idem.SweepIdempotent(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "idempotency sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops the service: the server stops taking connections and drains the requests in
// flight for up to server.shutdown_timeout; the requests still running then have their contexts
// cancelled and their connections closed, and Close waits for their handlers to return (for up
// to server.shutdown_timeout again). Then the outbox worker and the sweepers stop (a write
// being delivered is settled first), then the store and the org are released, so no handler
// ever finds them closed. A handler that outlives even that wait leaves them open and Close
// returns an error saying so. It is safe to call more than once.
func (m *Main) Close() error {
	var err error
	m.closed.Do(func() {
		release := true
		if m.server != nil {
			release, err = m.stopServing()
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.workers.Wait()
		if !release {
			return
		}
		if m.Store != nil {
			err = errors.Join(err, m.Store.Close())
		}
		if m.org != nil {
			m.org.stop()
		}
	})
	return err
}

// stopServing shuts the server down and waits for its handlers, as Close says; release is
// false when a handler is still running, so what it uses must stay open.
func (m *Main) stopServing() (release bool, err error) {
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := m.Config.Server.ShutdownTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if e := m.server.Shutdown(ctx); e != nil {
		err = fmt.Errorf("draining requests: %w", e)
		m.stopRequests()
		_ = m.server.Close()
		log.Warn(msgCancelledRequests, "requests", m.requests.running())
	}
	m.stopRequests()
	// Shutdown waits for the connections, Close for nothing: a handler cancelled above, or one
	// whose connection was hijacked, may still be running.
	idle := m.requests.close()
	select {
	case <-idle:
		return true, err
	case <-time.After(timeout):
		n := m.requests.running()
		log.Error("stopping: requests still running after their contexts were cancelled: the store stays open", "requests", n)
		return false, errors.Join(err, fmt.Errorf("requests still running %s after they were cancelled (%d): the store and the org are left open", timeout, n))
	}
}

// msgCancelledRequests is logged when the drain runs out, before Close waits for the handlers.
const msgCancelledRequests = "stopping: requests still running after server.shutdown_timeout are cancelled: waiting for them to return"

// requests counts the handlers running in the server, so that Close can wait for them before
// it closes what they use. Once Close waits, a request that starts anyway (on a connection that
// had read it as the server closed) is answered 503 without reaching the handler.
type requests struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when n reaches 0 while closing
}

// track returns h counted.
func (r *requests) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.enter() {
			w.Header().Set("Connection", "close")
			http.Error(w, "the server is stopping", http.StatusServiceUnavailable)
			return
		}
		defer r.exit()
		h.ServeHTTP(w, req)
	})
}

func (r *requests) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.n++
	return true
}

func (r *requests) exit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n--
	if r.n == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

func (r *requests) running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// close refuses every request from now on and returns a channel closed once none is running.
func (r *requests) close() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closing = true
	idle := make(chan struct{})
	if r.n == 0 {
		close(idle)
	} else {
		r.idle = idle
	}
	return idle
}
