// Package console is idverify's web console for agents: the verification screens of
// Salesforce's "Verify a Customer and Their Representative" process, server-rendered under
// /console (html/template, assets embedded, one small script that only enhances), signed in
// with Salesforce. It is a client of the flows engine, as adapter/httpapi is: every screen is
// the engine's View of a session, every form one engine step naming the session version it
// was shown at, and what httpapi decides beside the engine (which search types to offer, an
// engagement's verified status) is httpapi's own code.
//
// Wiring it into a server (the serve command does):
//
//	con, err := console.New(console.Config{
//		Engine: engine, Engagements: sfAdapter,
//		Key:    consoleKey, // ≥ 32 random bytes, the same on every replica
//		SignIn: console.SignIn{LoginURL: "https://login.salesforce.com", ClientID: key,
//			RedirectURL: "https://idverify.example.com/console/oauth/callback", OrgID: "00D…"},
//		FrameAncestors: []string{"https://example.lightning.force.com"},
//	})
//	mux.Handle("/console/", con)
//	mux.Handle("/console", con)
//
// Pages: /console/ (a new engagement), /console/start?phone=…&channel=…&call_id=… (a
// softphone's screen pop: the same form, filled in), /console/s/{handle} (a session's current
// step), /console/engagements/{id} (who is verified on an engagement, for a transferred
// call), /console/signin and /console/oauth/callback (Salesforce's web server flow with
// PKCE), POST /console/signin/ticket (a framed console's sign-in, handed over by its
// pop-up; served only when FrameAncestors lists origins), /console/static/… (the stylesheet
// and script).
//
// The files split it by reason to change: console.go (configuration, routes, headers, the
// signed-in guard with CSRF), agent.go (the agent's sealed cookie), signin.go (OAuth),
// frame.go (the sign-in of a console framed by another site), pages.go (the handlers),
// view.go (what a screen shows of a View), handles.go (sealed session handles, the search
// results kept for the page after a search), seal.go (AES-GCM over JSON).
package console
