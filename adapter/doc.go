// Package adapter holds, in its subpackages, the adapters that connect the verification engine
// (package flows) to the outside world: salesforce (the CRM port over package sfdc), store
// (sessions, lockouts and the outbox on SQLite or PostgreSQL) and httpapi (the JSON API).
// Each subpackage is named after what it adapts; this package itself holds no code.
package adapter
