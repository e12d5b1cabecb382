// Package orgdb is the fake org's in-memory database: the schema (describe metadata), records
// with Salesforce's validation, ids, indexes, and the SOQL and SOSL engines that run over them.
// It knows nothing of HTTP; package fakeorg serves it on the wire.
package orgdb

// CONTRACT between the data layer (this package: schema, storage, SOQL/SOSL, seed) and the HTTP
// layer (package fakeorg: OAuth, REST routing, JSON encoding, composite, collections, faults,
// counters). The data layer owns this file and replaces the bodies; the signatures below are
// what the HTTP layer relies on. Change a signature only together with every caller.

import (
	"encoding/json"
	"fmt"
)

// Error is one Salesforce API error: an element of the JSON array a data endpoint answers, plus
// the HTTP status it is answered with.
type Error struct {
	Status  int      // HTTP status, e.g. 400
	Code    string   // errorCode, e.g. "MALFORMED_QUERY"
	Message string   // Salesforce's message text
	Fields  []string // the fields concerned, when Salesforce names them
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Record is one row as the API returns it. The HTTP layer encodes it as
// {"attributes":{"type":Type,"url":"/services/data/vNN.N/sobjects/Type/ID"}, fields in order…};
// the url is omitted when ID is empty (aggregate rows).
type Record struct {
	Type   string
	ID     string
	Fields []Field
}

// Field is one named value of a Record. Value is one of: nil, string, bool, int64, float64,
// *Record (a parent relationship), *QueryResult (a child subquery). Dates are "2006-01-02"
// strings and datetimes "2006-01-02T15:04:05.000+0000" strings, as Salesforce sends them.
type Field struct {
	Name  string
	Value any
}

// QueryResult is a whole query result; the HTTP layer pages it (nextRecordsUrl) and Done is then
// its own business. For COUNT() queries TotalSize is the count and Records is empty.
type QueryResult struct {
	TotalSize int
	Done      bool
	Records   []*Record
}

// UpsertResult says what an upsert by external id did.
type UpsertResult struct {
	ID      string   // the record created or updated
	Created bool     // true: 201 created; false: 200 updated
	Matches []string // set (and ID empty) when several records match: the HTTP layer answers 300
}

// SearchParams is a parameterizedSearch request (GET with q=… or POST body), already decoded.
type SearchParams struct {
	Q       string
	In      string          // ALL (default), NAME, EMAIL, PHONE
	Objects []SearchObject  // sobjects; empty means every searchable object
	Fields  []string        // default fields for every object
	Limit   int             // overallLimit; 0 means the default
	Options json.RawMessage // anything else, ignored
}

// SearchObject is one entry of parameterizedSearch's sobjects list.
type SearchObject struct {
	Name   string
	Fields []string
	Where  string
	Limit  int
}

// Input values (the fields maps of Create, Update and Upsert) are as encoding/json decodes them
// with UseNumber: nil, bool, json.Number, string, []any, map[string]any.

// DB is the org's in-memory database. Its methods are safe for concurrent use; each call on DB
// is its own transaction. Tx groups calls (composite and collections with allOrNone).
type DB struct{}

// Tx is a unit of work holding the DB's lock (shared for reads, exclusive for writes) until
// Commit or Rollback. Rollback undoes every change made through it. A Tx is used by one goroutine.
type Tx struct{}

// Begin starts a transaction; write says whether it may change data.
func (db *DB) Begin(write bool) *Tx { panic("not implemented") }

// Commit keeps the changes and releases the lock.
func (tx *Tx) Commit() { panic("not implemented") }

// Rollback undoes the changes and releases the lock.
func (tx *Tx) Rollback() { panic("not implemented") }

// Create inserts a record and returns its 18-character id.
func (tx *Tx) Create(object string, fields map[string]any) (string, *Error) {
	panic("not implemented")
}

// Get reads a record; fields nil means every field.
func (tx *Tx) Get(object, id string, fields []string) (*Record, *Error) { panic("not implemented") }

// Update changes fields of a record.
func (tx *Tx) Update(object, id string, fields map[string]any) *Error { panic("not implemented") }

// Delete moves a record to the recycle bin (queryAll still sees it, with IsDeleted true).
func (tx *Tx) Delete(object, id string) *Error { panic("not implemented") }

// Upsert creates or updates the record whose external id field extField equals extValue.
func (tx *Tx) Upsert(object, extField, extValue string, fields map[string]any) (UpsertResult, *Error) {
	panic("not implemented")
}

// Query runs SOQL; includeDeleted is queryAll.
func (tx *Tx) Query(soql string, includeDeleted bool) (*QueryResult, *Error) {
	panic("not implemented")
}

// Search runs SOSL and returns searchRecords.
func (tx *Tx) Search(sosl string) ([]*Record, *Error) { panic("not implemented") }

// ParameterizedSearch runs a parameterized search.
func (tx *Tx) ParameterizedSearch(p SearchParams) ([]*Record, *Error) { panic("not implemented") }

// Options configures a new DB.
type Options struct {
	// CustomFields are declared on top of the standard schema, e.g. Contact.Drivers_License__c.
	CustomFields []CustomField
}

// CustomField declares a custom field (name ends in __c) on an object.
type CustomField struct {
	Object string // e.g. "Contact"
	Name   string // e.g. "Drivers_License__c"
	Type   string // describe type: string, date, phone, email, boolean, double, picklist, …
	Label  string
	Length int
	// ExternalID and Unique make it usable for upsert.
	ExternalID, Unique bool
	Picklist           []string
}

// New returns an empty DB with the standard schema (plus opts.CustomFields). It holds no records.
func New(opts Options) (*DB, error) { panic("not implemented") }

// OrgID is the org's 18-character Organization id (prefix 00D), fixed for the DB's life.
func (db *DB) OrgID() string { panic("not implemented") }

// SeedDemo loads the deterministic demo dataset.
func SeedDemo(db *DB) error { panic("not implemented") }

// SeedGenerated loads n generated person accounts and contacts (deterministic for a seed).
func SeedGenerated(db *DB, n int, seed int64) error { panic("not implemented") }

// Schema returns the org's schema (describe metadata).
func (db *DB) Schema() *Schema { panic("not implemented") }

// Schema is every sObject the org knows, by name (case-insensitive lookups).
type Schema struct{}

// SObject is one object's describe metadata.
type SObject struct{}

// Name is the object's API name, e.g. "Account".
func (o *SObject) Name() string { panic("not implemented") }

// Lookup finds an object by name, case-insensitively.
func (s *Schema) Lookup(name string) (*SObject, bool) { panic("not implemented") }

// ObjectForID finds the object an id belongs to by its key prefix.
func (s *Schema) ObjectForID(id string) (*SObject, bool) { panic("not implemented") }

// DescribeGlobal is the body of GET /sobjects (encoding/json-ready).
func (s *Schema) DescribeGlobal(version string) any { panic("not implemented") }

// Describe is the body of GET /sobjects/X/describe (encoding/json-ready).
func (o *SObject) Describe(version string) any { panic("not implemented") }

// Basic is the body of GET /sobjects/X (objectDescribe plus recentItems).
func (o *SObject) Basic(version string) any { panic("not implemented") }
