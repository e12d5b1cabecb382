// Package sfdc is a Salesforce REST client that knows nothing about verification: OAuth with one
// shared token, a transport whose retry policy knows Salesforce's error codes and which requests
// are safe to resend, typed errors, SOQL and SOSL builders that make injection impossible by
// construction, sObject reads and writes, paged queries as iterators, search, composite,
// collections, describe and limits. Requests are built by simpleforce, on a client value that
// serves one call at a time, behind a shim that keeps its logging, error parsing and lack of
// context support from ever reaching callers. Errors and log values never carry query literals,
// tokens or field values.
package sfdc
