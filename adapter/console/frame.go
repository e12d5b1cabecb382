package console

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Sign-in inside another site's frame. Salesforce's login page refuses to be framed, so a
// framed console signs in through a pop-up window. A pop-up is a top-level window: under
// storage partitioning (https://developers.google.com/privacy-sandbox/cookies/storage-partitioning)
// its cookies, and its BroadcastChannel and localStorage, are in the console's own partition,
// not in the partition of the frame (keyed by the framing page's top-level site), so a cookie
// the pop-up sets never reaches the frame, and neither does anything the pop-up stores. So:
//
//  1. The frame's sign-in page (GET /console/signin with Sec-Fetch-Dest: iframe) sets a
//     binding cookie in the frame's partition, a random value B, sealed, for flowTTL; its
//     "Sign in" button opens the pop-up on /console/signin?popup=B.
//  2. The pop-up runs the web server flow as a top-level sign-in does, with B in the flow's
//     cookie; the callback does not set a session cookie but answers a page holding a ticket:
//     the agent and B, sealed, good for ticketTTL.
//  3. The pop-up's script hands the ticket to its opener, the frame, with postMessage
//     restricted to the console's origin; the frame's script takes it only from the window it
//     opened and on the console's origin, says so to the pop-up (which then closes), and POSTs
//     it to /console/signin/ticket.
//  4. That POST carries the binding cookie (it is the frame's, same-origin): the console
//     checks the ticket's B against it in constant time, deletes the binding (so this browser
//     redeems the ticket once: the console keeps no record, so one who copied both the binding
//     cookie and the ticket could redeem it again within ticketTTL), and sets the agent's
//     session cookie, partitioned, in the frame's jar.
//
// A ticket alone signs nobody in: it needs the binding cookie of the frame that opened the
// pop-up, which is HttpOnly and sealed. So another page cannot sign the frame in as someone
// else (a login CSRF) by handing it a ticket of its own, nor replay one it has seen.

const (
	bindCookie = "idv_frame"
	ticketTTL  = time.Minute
)

// frameBinding is what the frame's binding cookie holds, sealed.
type frameBinding struct {
	Bind    string `json:"b"`
	Next    string `json:"n"`
	Expires int64  `json:"e"`
}

// signInTicket is what the pop-up hands the frame, sealed.
type signInTicket struct {
	Agent
	Bind    string `json:"b"`
	Expires int64  `json:"x"`
}

// inFrame reports whether r is the navigation of a frame (Sec-Fetch-Dest,
// https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Sec-Fetch-Dest).
func inFrame(r *http.Request) bool {
	d := r.Header.Get("Sec-Fetch-Dest")
	return d == "iframe" || d == "frame"
}

// frameSignIn answers a framed GET /console/signin: the page whose button opens the pop-up.
func (c *Console) frameSignIn(w http.ResponseWriter, r *http.Request) {
	b := frameBinding{Bind: rand.Text(), Next: c.nextPage(r), Expires: c.clock.Now().Add(flowTTL).Unix()}
	http.SetCookie(w, c.cookie(bindCookie, c.binds.sealJSON(b), flowTTL))
	p := c.newPage(r, "Sign in", "framesignin")
	p.Popup = "/console/signin?" + url.Values{"next": {c.sealNext(b.Next)}, "popup": {b.Bind}}.Encode()
	c.render(w, r, http.StatusOK, p, nil)
}

// handOff answers the pop-up's callback: the page that hands the frame its ticket.
func (c *Console) handOff(w http.ResponseWriter, r *http.Request, a Agent, bind string) {
	p := c.newPage(r, "Signed in", "handoff")
	p.Ticket = c.tickets.sealJSON(signInTicket{Agent: a, Bind: bind, Expires: c.clock.Now().Add(ticketTTL).Unix()})
	c.render(w, r, http.StatusOK, p, nil)
}

// redeemTicket: POST /console/signin/ticket, from the frame: the agent's session in the
// frame's partition.
func (c *Console) redeemTicket(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusRequestEntityTooLarge, "The form was too large or could not be read.")
		return
	}
	var b frameBinding
	err := c.binds.openCookie(r, bindCookie, &b)
	var t signInTicket
	terr := c.tickets.openJSON(r.PostForm.Get("ticket"), &t)
	now := c.clock.Now().Unix()
	switch {
	case errors.Is(err, http.ErrNoCookie):
		// Expired (it lasts as long as the binding), or never kept: a browser without
		// partitioned cookies (Safari before 18.4) keeps none for a frame of another site.
		c.fail(w, r, http.StatusBadRequest, "The sign-in took too long, or this browser keeps no cookie for the console inside another site's page. "+
			"Sign in again; if this comes back, open the console in a window of its own.")
		return
	case err != nil || now >= b.Expires || b.Bind == "":
		c.fail(w, r, http.StatusBadRequest, "The sign-in took too long or was started elsewhere. Sign in again.")
		return
	case terr != nil || now >= t.Expires || subtle.ConstantTimeCompare([]byte(t.Bind), []byte(b.Bind)) != 1 || !userID.MatchString(t.UserID):
		c.fail(w, r, http.StatusBadRequest, "The sign-in did not come from the window this console opened. Sign in again.")
		return
	}
	http.SetCookie(w, c.cookie(bindCookie, "", -1)) // one use
	c.signIn(w, t.Agent)
	http.Redirect(w, r, localNext(b.Next), http.StatusSeeOther)
}

// crossSiteEmbeds refuses what another site's page asks of the console other than a
// navigation (an image, a script, a fetch, an object or embed): Fetch Metadata's resource
// isolation policy (https://web.dev/articles/fetch-metadata). Framed, the console's cookies
// are SameSite=None, so such a request would carry the agent's session; CHIPS keeps them out
// of other top-level sites' requests, but a browser that ignores Partitioned and still allows
// third-party cookies does not. A page's GET changes nothing, but its answer's size and
// timing would still say things about the agent's sessions. Navigations stay allowed: the
// screen pop, a frame of a listed origin (frame-ancestors decides), Salesforce's callback.
// The static files are anyone's.
func crossSiteEmbeds(c *Console, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" && !strings.HasPrefix(r.URL.Path, "/console/static/") {
			dest := r.Header.Get("Sec-Fetch-Dest")
			if r.Header.Get("Sec-Fetch-Mode") != "navigate" || dest == "object" || dest == "embed" {
				c.fail(w, r, http.StatusForbidden, "Another site's page cannot embed the console's pages.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
