// Package orgdb is the fake org's in-memory database: the schema (describe metadata), records
// with Salesforce's validation, ids, indexes, and the SOQL and SOSL engines that run over them.
// It knows nothing of HTTP; package fakeorg serves it on the wire.
package orgdb

// CONTRACT between the data layer (this package: schema, storage, SOQL/SOSL, seed) and the HTTP
// layer (package fakeorg: OAuth, REST routing, JSON encoding, composite, collections, faults,
// counters): the types below, and the methods of DB and Tx (db.go, crud.go, query.go,
// search.go), Schema and SObject (schema.go, describe.go) and the seeds (seed.go). Change a
// signature only together with every caller.

import (
	"encoding/json"
	"fmt"
	"time"
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

// QueryResult is a whole query result (Tx.Query); the HTTP layer pages results through a Cursor
// instead (Tx.QueryCursor), which builds records a page at a time. For COUNT() queries TotalSize
// is the count and Records is empty.
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

// Options configures a new DB.
type Options struct {
	// CustomFields are declared on top of the standard schema, e.g. Contact.Drivers_License__c.
	CustomFields []CustomField
	// PicklistValues are values the org's administrator added to standard picklists, e.g.
	// representative roles on AccountContactRelation.Roles (DemoPicklistValues).
	PicklistValues []PicklistValues
	// CustomIndexes are fields indexed beyond those Salesforce indexes by default ("Object.Field",
	// e.g. "EngagementTopic.ProcessName"): the custom indexes Salesforce Customer Support adds
	// on request, standard fields included
	// (https://developer.salesforce.com/docs/platform/salesforce-large-data-volumes-bp/guide/ldv-deployments-infrastructure-indexes.html).
	// An index changes how fast an equality filter finds its rows, never which rows: text fields
	// only (not long text areas).
	CustomIndexes []string
	// Now is the org's clock; nil means time.Now.
	Now func() time.Time
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
