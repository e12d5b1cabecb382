package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/flows"
)

// Config is what New builds the console from. Engine, Key and SignIn are required
// (SignIn may be left empty only by tests, which sign agents in through their own seam).
type Config struct {
	// Engine runs the sessions: the console is a client of it, as the JSON API is.
	Engine *flows.Engine
	// Engagements resolves an engagement's Salesforce id to its ExternalIdentifier for the
	// status page; nil looks the id up as given.
	Engagements httpapi.EngagementReader
	// SignIn is Salesforce's OAuth 2.0 web server flow the agents sign in with.
	SignIn SignIn
	// Key (at least 32 bytes, the same on every replica) seals the console's cookies and the
	// handles of sessions in its URLs.
	Key []byte
	// FrameAncestors are the origins (scheme://host[:port]) that may frame the console, e.g.
	// the org's Lightning domain for a softphone or utility panel: CSP frame-ancestors. Empty
	// lets nothing frame it (the console never frames itself). Listing any makes the console's
	// cookies SameSite=None; Secure; Partitioned and signs a framed console in through a pop-up
	// (frame.go), which needs JavaScript.
	FrameAncestors []string
	// InstanceURL is the org's URL records are linked to (https://example.my.salesforce.com);
	// empty uses the instance URL Salesforce gave at the agent's sign-in.
	InstanceURL string
	// Channels are the engagement channels the agent picks from (EngagementInteraction's
	// CommunicationChannel values); empty means Salesforce's standard ones.
	Channels []string
	// SignInTTL is how long a sign-in lasts; 0 means DefaultSignInTTL.
	SignInTTL time.Duration
	// Clock is the engine's clock; nil means the system clock.
	Clock flows.Clock
	// Logger gets the console's failures; nil discards them. No line holds a session id, a
	// name or any value an agent typed.
	Logger *slog.Logger
}

// SignIn configures Salesforce's OAuth 2.0 web server flow with PKCE
// (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm):
// the connected app's consumer key (and secret, when the app requires one), the login URL
// (https://login.salesforce.com, a My Domain, or the fake org), the console's callback,
// which the connected app lists, and the org whose users may sign in.
type SignIn struct {
	LoginURL     string
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of /console/oauth/callback as the browser reaches it.
	RedirectURL string
	// OrgID is the org's Organization id (00D…, 15 or 18 characters): only its users sign in.
	// A connected app is not confined to the org that created it: a user of another org who
	// may approve uninstalled connected apps (every System Administrator, e.g. of a free
	// Developer Edition org) can authorize it at login.salesforce.com
	// (https://help.salesforce.com/s/articleView?id=005132365&type=1), and would otherwise be
	// an agent of this console. Required with sign-in.
	OrgID string
}

// Enabled reports whether sign-in is configured.
func (s SignIn) Enabled() bool { return s.LoginURL != "" && s.ClientID != "" }

// DefaultSignInTTL is how long a sign-in lasts by default: a working day.
const DefaultSignInTTL = 10 * time.Hour

// defaultChannels are EngagementInteraction's CommunicationChannel values
// (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_engagementinteraction.htm).
var defaultChannels = []string{"Voice Call", "In Person", "Video Call", "Web Chat"}

// Console is the agents' web console under /console: an http.Handler. Build it with New.
type Console struct {
	engine      *flows.Engine
	policy      flows.Policy
	engagements httpapi.EngagementReader
	oauth       *oauth2.Config
	plainHTTP   bool // the callback is http on a loopback host: cookies without Secure
	loginURL    string
	orgID       string // the first 15 characters: the case-sensitive id
	agents      sealer // the agent's cookie
	flows       sealer // the sign-in's state cookie
	handles     sealer // session handles
	csp         string
	denyFrames  bool   // no frame ancestor is configured: X-Frame-Options DENY too, for old browsers
	framed      bool   // frame ancestors are configured: partitioned SameSite=None cookies, sign-in in a pop-up
	tickets     sealer // the pop-up's sign-in ticket for the frame
	nexts       sealer // the page to return to after signing in, when it carries a query
	binds       sealer // the frame's cookie a ticket is bound to
	instance    string
	channels    []string
	signInTTL   time.Duration
	clock       flows.Clock
	log         *slog.Logger
	pages       *template.Template
	results     *resultCache
	handler     http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console for c, or an error saying what is wrong with c.
func New(c Config) (*Console, error) {
	var errs []error
	if c.Engine == nil {
		errs = append(errs, errors.New("console: Engine is required"))
	}
	if len(c.Key) < 32 {
		errs = append(errs, errors.New("console: Key must be at least 32 bytes"))
	}
	for _, o := range c.FrameAncestors {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Path != "" || strings.ContainsAny(o, " ;,'*?#@") {
			errs = append(errs, fmt.Errorf("console: frame ancestor %q is not scheme://host[:port]", o))
		}
	}
	if c.InstanceURL != "" && !httpURL(c.InstanceURL) {
		errs = append(errs, fmt.Errorf("console: InstanceURL %q is not an http(s) URL", c.InstanceURL))
	}
	if s := c.SignIn; s.Enabled() && (!httpURL(s.LoginURL) || !httpURL(s.RedirectURL)) {
		errs = append(errs, errors.New("console: SignIn needs an http(s) LoginURL and RedirectURL"))
	}
	if s := c.SignIn; s.Enabled() && httpURL(s.RedirectURL) && strings.HasPrefix(s.RedirectURL, "http:") && !plainLoopback(s.RedirectURL) {
		errs = append(errs, errors.New("console: SignIn.RedirectURL must be https (http only on a loopback host): the console's cookies are Secure"))
	}
	if s := c.SignIn; s.Enabled() && !orgID.MatchString(s.OrgID) {
		errs = append(errs, errors.New("console: SignIn needs the org's OrgID (00D…, 15 or 18 characters)"))
	}
	if c.SignInTTL < 0 {
		errs = append(errs, errors.New("console: SignInTTL must not be negative"))
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	con := &Console{
		engine: c.Engine, policy: c.Engine.Policy(), engagements: c.Engagements,
		agents: newSealer(c.Key, "agent"), flows: newSealer(c.Key, "sign-in"), handles: newSealer(c.Key, "session"),
		instance: strings.TrimSuffix(c.InstanceURL, "/"), channels: c.Channels, signInTTL: c.SignInTTL,
		clock: c.Clock, log: c.Logger, pages: pages, results: newResultCache(resultCacheSize, resultTTL),
	}
	if len(con.channels) == 0 {
		con.channels = defaultChannels
	}
	if con.signInTTL == 0 {
		con.signInTTL = DefaultSignInTTL
	}
	if con.clock == nil {
		con.clock = systemClock{}
	}
	if con.log == nil {
		con.log = slog.New(slog.DiscardHandler)
	}
	if s := c.SignIn; s.Enabled() {
		login := strings.TrimSuffix(s.LoginURL, "/")
		con.loginURL, con.orgID, con.plainHTTP = login, s.OrgID[:15], plainLoopback(s.RedirectURL)
		// The id scope is all the console asks: who signed in (userinfo), nothing of the org's data.
		con.oauth = &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: s.RedirectURL, Scopes: []string{"id"},
			Endpoint: oauth2.Endpoint{AuthURL: login + "/services/oauth2/authorize", TokenURL: login + "/services/oauth2/token",
				AuthStyle: oauth2.AuthStyleInParams}}
	}
	ancestors := "'none'"
	if len(c.FrameAncestors) > 0 {
		ancestors = strings.Join(c.FrameAncestors, " ")
	}
	con.denyFrames = len(c.FrameAncestors) == 0
	con.framed = !con.denyFrames
	con.tickets, con.binds = newSealer(c.Key, "sign-in ticket"), newSealer(c.Key, "frame binding")
	con.nexts = newSealer(c.Key, "next page")
	// No inline script or style: the console's one script and stylesheet are files of its own.
	con.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors
	con.handler = con.routes()
	return con, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// routes is every page of the console.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/signin", c.signInStart)
	mux.HandleFunc("GET /console/oauth/callback", c.signInCallback)
	if c.framed {
		mux.HandleFunc("POST /console/signin/ticket", c.redeemTicket)
	}
	mux.HandleFunc("GET /console/signedout", c.signedOut)
	mux.Handle("POST /console/signout", c.agent(c.signOut))

	mux.Handle("GET /console/{$}", c.agent(c.home))
	mux.Handle("GET /console/start", c.agent(c.startForm))
	mux.Handle("POST /console/start", c.agent(c.start))
	mux.Handle("GET /console/s/{handle}", c.agent(c.showSession))
	mux.Handle("POST /console/s/{handle}/{step}", c.agent(c.step))
	mux.Handle("GET /console/engagements/{$}", c.agent(c.findEngagement))
	mux.Handle("GET /console/engagements/{id}", c.agent(c.engagement))
	mux.Handle("POST /console/engagements/{id}/continue", c.agent(c.continueEngagement))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "There is no such page in the console.")
	})
	return c.headers(crossOrigin(c, crossSiteEmbeds(c, mux)))
}

// crossOrigin refuses a POST another site's page sends (Sec-Fetch-Site, or else Origin
// against Host: http.CrossOriginProtection), before it reaches a form's CSRF check: the
// console's forms post to its own origin, in a frame too. With SameSite=None cookies (a
// framed console) a forged POST would carry the agent's cookie; its missing CSRF token
// refuses it already, and this refuses it without reading it.
func crossOrigin(c *Console, next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusForbidden, "The form did not come from this console. Reload the page and try again.")
	}))
	return p.Handler(next)
}

// headers sets what every answer of the console carries: a strict Content-Security-Policy,
// no caching of pages (they hold personal data), no referrer (URLs hold session handles).
func (c *Console) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", c.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The sign-in's pages may be a framed console's pop-up, which hands its opener the
		// ticket: COOP same-origin would cut the pop-up from its opener (another site's page
		// frames the opener). Not framed, no page needs its opener.
		if p := r.URL.Path; !c.framed || (p != "/console/signin" && p != "/console/oauth/callback") {
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
		}
		if c.denyFrames {
			h.Set("X-Frame-Options", "DENY")
		}
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// maxFormBytes bounds a form's body: the console's forms are a few fields.
const maxFormBytes = 16 << 10

// agent wraps a page that needs a signed-in agent: without one, a GET is sent to sign in (and
// back), a POST is refused. A POST must carry the session's CSRF token and a bounded form.
func (c *Console) agent(page http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(c.sealNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, "Your sign-in has ended. Sign in again, then repeat the step.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, http.StatusRequestEntityTooLarge, "The form was too large or could not be read.")
				return
			}
			if !s.validCSRF(r.PostForm.Get("csrf")) {
				c.fail(w, r, http.StatusForbidden, "The form has expired or did not come from this console. Reload the page and try again.")
				return
			}
		}
		page(w, r.WithContext(withSession(r.Context(), s)))
	})
}
