package orgdb

import (
	"fmt"
	"strings"
)

// Lookups for loaders that name records by an indexed field rather than by id: the Bulk API's
// relationship columns (Account.External_Id__c) and its job ids.

// Polymorphic reports whether a reference field may point at several kinds of object, as
// describe's polymorphicForeignKey says: targets Salesforce documents that this org lacks count.
func (f *FieldDef) Polymorphic() bool { return len(f.documentedTo) > 1 }

// ReferenceByRelationship finds the reference field whose relationship name is rel
// (case-insensitively), e.g. "Engagement" for EngagementAttendee.EngagementId.
func (o *SObject) ReferenceByRelationship(rel string) (*FieldDef, bool) {
	f, ok := o.byRelationship[strings.ToLower(rel)]
	return f, ok
}

// Indexed reports whether a field can identify a parent record in a relationship reference: Id,
// an external id, or a standard field with the idLookup property ("Relationship Fields in a
// Header Row (2.0)", Bulk API 2.0 and Bulk API Developer Guide).
func (f *FieldDef) Indexed() bool { return f.Type == "id" || f.ExternalID || f.IDLookup }

// LookupIDs returns the ids of the live records of object whose field equals value, in
// insertion order: how a reference by external id finds its parent. field must be Indexed.
func (tx *Tx) LookupIDs(object, field, value string) ([]string, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, e
	}
	o, e := tx.object(object)
	if e != nil {
		return nil, e
	}
	f, ok := o.Field(field)
	if !ok || !f.Indexed() {
		return nil, errBadRequest("INVALID_FIELD", fmt.Sprintf("%s is not an indexed field of %s", field, o.name), field)
	}
	t := tx.db.tableOf(o)
	var ids []string
	for _, r := range tx.db.lookupRows(t, f, value) {
		if !t.deleted(r) {
			ids = append(ids, t.id(r))
		}
	}
	return ids, nil
}

// NewID returns the 18-character id of the n-th record with the given three-character key
// prefix, in this org's pod: for resources outside the database, such as Bulk API jobs (750).
func NewID(prefix string, n uint64) string { return makeID(prefix, n) }
