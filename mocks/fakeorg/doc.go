// Package fakeorg is a fake Salesforce org: OAuth, the REST data API, Bulk API 2.0 ingest jobs
// and the SOAP API's login(), wire-compatible with Salesforce, in memory, seedable, with fault
// injection and request counters. Tests, benchmarks and the embedded demo run against it. It
// imports none of idverify's product packages, so that a misunderstanding of Salesforce cannot
// hide on both sides of the wire.
package fakeorg
