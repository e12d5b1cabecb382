// Package flows is the verification engine: the domain types, the state machine an agent walks
// to verify a caller (and, for a representative, the customer they speak for), question
// evaluation, answer matching and attempt limits. It is pure Go: it defines the ports it needs
// (CRM, Recorder, SessionStore, Clock) and imports no adapter.
//
// An Engine is built from a Policy, the ports and a secret, and driven one step at a time:
//
//	e, err := flows.New(policy, flows.Ports{CRM: crm, Recorder: rec, Store: store}, secret)
//	v, err := e.Start(ctx, flows.StartRequest{Phone: "+44 20 7946 0001", Channel: "Voice Call"})
//	v, err = e.SetReason(ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
//	// ... SetSubject, Search, Select, Answer or Attest, until v.Outcome is set.
//
// Package flowstest has in-memory ports to try it with, and the ports' contract tests.
package flows
