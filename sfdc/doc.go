// Package sfdc is a Salesforce REST client that knows nothing about verification: OAuth, a
// transport with a retry policy that knows Salesforce's error codes, typed errors, SOQL and SOSL
// builders that escape every value, sObject reads and writes, query paging, search, composite,
// collections, describe and limits. simpleforce is used underneath, wrapped so that its traps
// (swallowed errors, logged personal data, shared state) never reach callers.
package sfdc
