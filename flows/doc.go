// Package flows is the verification engine: the domain types, the state machine an agent walks
// to verify a caller (and, for a representative, the customer they speak for), question
// evaluation, answer matching and attempt limits. It is pure Go: it defines the ports it needs
// (CRM, SessionStore, Clock) and imports no adapter.
package flows
