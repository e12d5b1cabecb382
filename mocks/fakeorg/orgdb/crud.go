package orgdb

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

func errNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "The requested resource does not exist", Fields: []string{}}
}

func errBadRequest(code, msg string, fields ...string) *Error {
	if fields == nil {
		fields = []string{}
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, Fields: fields}
}

// usable reports a programming error in the use of a Tx: one that is finished, or a write in a
// read-only one. It is answered as Salesforce answers its own internal errors.
func (tx *Tx) usable(write bool) *Error {
	switch {
	case tx.done:
		return &Error{Status: http.StatusInternalServerError, Code: "UNKNOWN_EXCEPTION", Message: "transaction already finished", Fields: []string{}}
	case write && !tx.write:
		return &Error{Status: http.StatusInternalServerError, Code: "UNKNOWN_EXCEPTION", Message: "write attempted in a read-only transaction", Fields: []string{}}
	}
	return nil
}

// object finds an sObject for a data call, as the call's API version sees it; an unknown name
// is NOT_FOUND, as on the wire.
func (tx *Tx) object(name string) (*SObject, *Error) {
	o, ok := tx.schema.Lookup(name)
	if !ok {
		return nil, errNotFound()
	}
	return o, nil
}

// row resolves an id of object o: MALFORMED_ID when it is not an id of o, NOT_FOUND when no such
// row exists, ENTITY_IS_DELETED (when live) for a row in the recycle bin.
func (tx *Tx) row(o *SObject, id string, live bool) (*table, int32, *Error) {
	id18, ok := ID18(id)
	if !ok || id18[:3] != o.keyPrefix {
		return nil, 0, errBadRequest("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", o.label, soql.Clip(id)), "Id")
	}
	t := tx.db.tableOf(o)
	r, ok := t.byID[id18]
	if !ok {
		return nil, 0, errNotFound()
	}
	if live && t.deleted(r) {
		return nil, 0, &Error{Status: http.StatusNotFound, Code: "ENTITY_IS_DELETED", Message: "entity is deleted", Fields: []string{}}
	}
	return t, r, nil
}

// Get reads a record; fields nil means every field. Field names are case-insensitive; the
// record carries the canonical names, in the order asked for.
func (tx *Tx) Get(object, id string, fields []string) (*Record, *Error) {
	if e := tx.usable(false); e != nil {
		return nil, e
	}
	o, e := tx.object(object)
	if e != nil {
		return nil, e
	}
	t, r, e := tx.row(o, id, true)
	if e != nil {
		return nil, e
	}
	defs := o.fields
	if fields != nil {
		// A field named twice is read once, so that a record never holds more values than its
		// object has fields, however long the list (a retrieve of 2,000 ids with a field list
		// of 100,000 "Id"s would otherwise answer gigabytes).
		defs = make([]*FieldDef, 0, min(len(fields), len(o.fields)))
		picked := make(map[*FieldDef]bool, len(defs))
		for _, name := range fields {
			f, ok := o.Field(strings.TrimSpace(name))
			if !ok {
				return nil, errBadRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", soql.Clip(name), o.name), soql.Clip(name))
			}
			if !picked[f] {
				picked[f] = true
				defs = append(defs, f)
			}
		}
	}
	rec := &Record{Type: o.name, ID: t.id(r), Fields: make([]Field, 0, len(defs))}
	for _, f := range defs {
		rec.Fields = append(rec.Fields, Field{Name: f.Name, Value: t.get(r, f)})
	}
	return rec, nil
}

// Create inserts a record and returns its 18-character id. Bad input changes nothing.
func (tx *Tx) Create(object string, fields map[string]any) (string, *Error) {
	return tx.create(object, fields, false)
}

// create inserts a record; setup says it is the org's setup being deployed (the seed), which
// may write the setup objects and their read-only fields, as the Metadata API does.
func (tx *Tx) create(object string, fields map[string]any, setup bool) (string, *Error) {
	if e := tx.usable(true); e != nil {
		return "", e
	}
	o, e := tx.object(object)
	if e != nil {
		return "", e
	}
	if !o.createable && !setup {
		return "", errBadRequest("INVALID_TYPE_FOR_OPERATION", fmt.Sprintf("entity type %s does not support insert", o.name))
	}
	vals, e := tx.convertBody(o, fields, true, "", setup)
	if e != nil {
		return "", e
	}
	sp := tx.savepoint()
	id, e := tx.insert(o.full, vals)
	if e != nil {
		tx.undo(sp)
	}
	return id, e
}

// Update changes fields of a record. Bad input changes nothing.
func (tx *Tx) Update(object, id string, fields map[string]any) *Error {
	if e := tx.usable(true); e != nil {
		return e
	}
	o, e := tx.object(object)
	if e != nil {
		return e
	}
	t, r, e := tx.row(o, id, true)
	if e != nil {
		return e
	}
	if !o.updateable {
		return errBadRequest("INVALID_TYPE_FOR_OPERATION", fmt.Sprintf("entity type %s does not support update", o.name))
	}
	vals, e := tx.convertBody(o, fields, false, t.id(r), false)
	if e != nil {
		return e
	}
	sp := tx.savepoint()
	if e := tx.update(t, r, vals); e != nil {
		tx.undo(sp)
		return e
	}
	return nil
}

// Delete moves a record to the recycle bin (queryAll still sees it, with IsDeleted true). A
// person account takes its person contact with it.
func (tx *Tx) Delete(object, id string) *Error {
	if e := tx.usable(true); e != nil {
		return e
	}
	o, e := tx.object(object)
	if e != nil {
		return e
	}
	t, r, e := tx.row(o, id, true)
	if e != nil {
		return e
	}
	if !o.deletable {
		return errBadRequest("INVALID_TYPE_FOR_OPERATION", fmt.Sprintf("entity type %s does not support delete", o.name))
	}
	tx.markDeleted(t, r)
	if o.name == "Account" {
		if pc, ok := t.get(r, o.full.byName["personcontactid"]).(string); ok {
			if ct, cr, e := tx.row(tx.objectNamed("Contact"), pc, true); e == nil {
				tx.markDeleted(ct, cr)
			}
		}
	}
	return nil
}

func (tx *Tx) markDeleted(t *table, r int32) {
	tx.setField(t, r, t.obj.byName["isdeleted"], true)
	tx.touch(t, r)
}

// objectNamed is an object of the newest schema, for the data layer's own work.
func (tx *Tx) objectNamed(name string) *SObject {
	o, _ := tx.db.schema.Lookup(name)
	return o
}

// Upsert creates or updates the record whose external id field extField equals extValue.
// extField must be an external id or idLookup field of the object (or Id).
func (tx *Tx) Upsert(object, extField, extValue string, fields map[string]any) (UpsertResult, *Error) {
	if e := tx.usable(true); e != nil {
		return UpsertResult{}, e
	}
	o, e := tx.object(object)
	if e != nil {
		return UpsertResult{}, e
	}
	f, ok := o.Field(extField)
	if !ok || !(f.ExternalID || f.IDLookup) {
		return UpsertResult{}, &Error{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Message: fmt.Sprintf("Provided external ID field does not exist or is not accessible: %s", soql.Clip(extField)), Fields: []string{}}
	}
	t := tx.db.tableOf(o)
	var rows []int32
	if f.Type == "id" {
		if extValue != "" {
			if _, r, e := tx.row(o, extValue, true); e == nil {
				rows = append(rows, r)
			} else if e.Code != "NOT_FOUND" {
				return UpsertResult{}, e
			}
		}
	} else {
		for _, r := range tx.db.lookupRows(t, f, extValue) {
			if !t.deleted(r) {
				rows = append(rows, r)
			}
		}
	}
	// The external id in the body, if any, must agree with the one in the URL.
	body := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		if strings.EqualFold(k, f.Name) {
			if s, ok := v.(string); !ok || !strings.EqualFold(s, extValue) {
				return UpsertResult{}, errBadRequest("INVALID_FIELD",
					fmt.Sprintf("The value of %s in the request body doesn't match the value in the URL", f.Name), f.Name)
			}
			continue
		}
		body[k] = v
	}
	switch len(rows) {
	case 0:
		if f.Type == "id" {
			if extValue != "" {
				return UpsertResult{}, errNotFound()
			}
		} else {
			body[f.Name] = extValue
		}
		id, e := tx.Create(o.name, body)
		if e != nil {
			return UpsertResult{}, e
		}
		return UpsertResult{ID: id, Created: true}, nil
	case 1:
		id := t.id(rows[0])
		if e := tx.Update(o.name, id, body); e != nil {
			return UpsertResult{}, e
		}
		return UpsertResult{ID: id}, nil
	default:
		res := UpsertResult{}
		sort.Slice(rows, func(i, j int) bool { return rows[i] < rows[j] })
		for _, r := range rows {
			res.Matches = append(res.Matches, t.id(r))
		}
		return res, nil
	}
}

// lookupRows returns the rows whose field f equals v (case-insensitively for text), deleted
// ones included, in insertion order.
func (db *DB) lookupRows(t *table, f *FieldDef, v string) []int32 {
	if f.Type == "id" {
		if id, ok := ID18(v); ok {
			if r, ok := t.byID[id]; ok {
				return []int32{r}
			}
		}
		return nil
	}
	if f.isID() {
		if id, ok := ID18(v); ok {
			v = id
		}
	}
	if ix := t.idx[f.index]; ix != nil {
		rows := ix.lookup(indexKey(f, v), nil)
		sort.Slice(rows, func(i, j int) bool { return rows[i] < rows[j] })
		return rows
	}
	var rows []int32
	for r := int32(0); r < t.n; r++ {
		if s := t.getString(r, f); s != "" && indexKey(f, s) == indexKey(f, v) {
			rows = append(rows, r)
		}
	}
	return rows
}

// fieldValue is one converted input value.
type fieldValue struct {
	f *FieldDef
	v any
}

// convertBody checks and converts an input body: known fields, writable (setup: any field but
// the system's), values of the right type. Keys are visited in sorted order so that the error
// reported is deterministic.
func (tx *Tx) convertBody(o *SObject, body map[string]any, create bool, selfID string, setup bool) ([]fieldValue, *Error) {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]fieldValue, 0, len(keys))
	for _, k := range keys {
		if k == "attributes" {
			continue
		}
		f, ok := o.Field(k)
		if !ok {
			return nil, errBadRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", soql.Clip(k), o.name), soql.Clip(k))
		}
		if f.Type == "id" {
			if create {
				return nil, errBadRequest("INVALID_FIELD", "cannot specify Id in an insert call", "Id")
			}
			if s, _ := body[k].(string); s != "" {
				if id, ok := ID18(s); !ok || id != selfID {
					return nil, errBadRequest("INVALID_FIELD", "The Id field should not be specified in the sobject data.", "Id")
				}
			}
			continue
		}
		writable := create && f.Createable || !create && f.Updateable
		if setup {
			writable = create && !f.AutoNumber && !isSystemField(f.Name)
		}
		if !writable {
			return nil, errBadRequest("INVALID_FIELD_FOR_INSERT_UPDATE",
				fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name), f.Name)
		}
		v, e := tx.convert(f, body[k])
		if e != nil {
			return nil, e
		}
		out = append(out, fieldValue{f, v})
	}
	return out, nil
}

// personFields maps a person account's fields to its person contact's.
var personFields = [...][2]string{
	{"Salutation", "Salutation"}, {"FirstName", "FirstName"}, {"LastName", "LastName"},
	{"PersonBirthdate", "Birthdate"}, {"PersonEmail", "Email"}, {"PersonMobilePhone", "MobilePhone"},
	{"PersonHomePhone", "HomePhone"}, {"PersonOtherPhone", "OtherPhone"}, {"Phone", "Phone"},
	{"PersonMailingStreet", "MailingStreet"}, {"PersonMailingCity", "MailingCity"},
	{"PersonMailingPostalCode", "MailingPostalCode"}, {"PersonMailingCountry", "MailingCountry"},
	{"OwnerId", "OwnerId"},
}

// personContactField names the person contact's field mirroring a person account's field.
func personContactField(accountField string) (string, bool) {
	for _, pf := range personFields {
		if pf[0] == accountField {
			return pf[1], true
		}
	}
	return "", false
}

func isPersonField(name string) bool {
	return name == "FirstName" || name == "LastName" || name == "Salutation" || strings.HasPrefix(name, "Person")
}

// isSystemField reports the fields the platform sets: id and audit fields.
func isSystemField(name string) bool {
	switch name {
	case "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
		"SystemModstamp", "LastViewedDate", "LastReferencedDate":
		return true
	}
	return false
}

// badFieldNames is Salesforce's answer to fields an account of the other kind has: Name on a
// person account, the person fields on a business account (Salesforce Help, "Error 'bad field
// names' when you import Person Accounts").
func badFieldNames(names []string) *Error {
	return errBadRequest("INVALID_FIELD_FOR_INSERT_UPDATE",
		"Account: bad field names on insert/update call: "+strings.Join(names, ", "), names...)
}

// accountKindErrors checks the fields written to an account against its kind.
func accountKindErrors(vals []fieldValue, person bool) *Error {
	var bad []string
	for _, fv := range vals {
		if person && fv.f.Name == "Name" || !person && isPersonField(fv.f.Name) && fv.v != nil {
			bad = append(bad, fv.f.Name)
		}
	}
	if bad != nil {
		return badFieldNames(bad)
	}
	return nil
}

// mappedStates is EngagementInteraction.MappedState for each standard Status.
var mappedStates = map[string]string{"New": "New", "In Progress": "InProgress", "Completed": "Completed"}

// insert applies defaults and object rules to converted values, checks required and unique
// fields, and inserts the row (and, for a person account, its person contact).
func (tx *Tx) insert(o *SObject, vals []fieldValue) (string, *Error) {
	values := newRowValues(o)
	set := make([]bool, len(o.fields))
	for _, fv := range vals {
		values.v[fv.f.index] = fv.v
		set[fv.f.index] = fv.v != nil
	}
	for _, f := range o.fields {
		if set[f.index] {
			continue
		}
		switch {
		case f.Type == "boolean":
			values.v[f.index] = f.defaultOn
		case f.DefaultedOnCreate && f.defaultPicklist() != "":
			values.v[f.index] = f.defaultPicklist()
		case f.Name == "OwnerId":
			values.v[f.index] = tx.db.userID
		}
	}
	person := false
	switch o.name {
	case "Account":
		// The record type makes a person account ("Person Account Record Types", SOAP API
		// Developer Guide); without one the user's default, a business account type, applies.
		if values.get("RecordTypeId") == nil {
			values.set("RecordTypeId", tx.db.businessRecordType)
		}
		person = values.get("RecordTypeId") == tx.db.personRecordType
		if e := accountKindErrors(vals, person); e != nil {
			return "", e
		}
		if person {
			values.set("IsPersonAccount", true)
			if values.get("LastName") == nil {
				return "", errBadRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName")
			}
			values.set("Name", fullName(values))
		}
	case "Contact", "Lead", "User":
		values.set("Name", fullName(values))
	case "EngagementInteraction":
		if values.get("IsAttendeeVerified") == true && values.get("AttendeeVerificationTime") == nil {
			values.set("AttendeeVerificationTime", tx.now())
		}
		if st, ok := values.get("Status").(string); ok && mappedStates[st] != "" {
			values.set("MappedState", mappedStates[st])
		}
	case "EngagementAttendee":
		if values.get("ExternalAttendeeId") == nil && values.get("InternalAttendeeId") == nil {
			return "", errBadRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: [ExternalAttendeeId, InternalAttendeeId]", "ExternalAttendeeId", "InternalAttendeeId")
		}
	}
	var missing []string
	for _, f := range o.fields {
		if (!f.Nillable && f.Createable || f.saveRequired) && values.v[f.index] == nil && !(person && f.Name == "Name") {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return "", errBadRequest("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)
	}
	t := tx.db.tableOf(o)
	for _, f := range o.fields {
		if f.Unique && values.v[f.index] != nil {
			if e := tx.checkUnique(t, -1, f, values.v[f.index]); e != nil {
				return "", e
			}
		}
	}
	id := tx.newID(o)
	for _, f := range o.fields {
		if f.AutoNumber {
			values.v[f.index] = autoNumber(o, t.seq)
		}
	}
	r := tx.insertRaw(o, id, tx.now(), values)
	if person {
		contact := tx.objectNamed("Contact")
		cv := newRowValues(contact)
		cv.set("AccountId", id)
		cv.set("IsPersonAccount", true)
		for _, pf := range personFields {
			cv.set(pf[1], values.get(pf[0]))
		}
		cv.set("Name", fullName(cv))
		cid := tx.newID(contact)
		tx.insertRaw(contact, cid, tx.now(), cv)
		t.set(r, o.byName["personcontactid"], cid) // the insert's journal entry clears it on undo
	}
	if o.name == "Contact" && values.get("AccountId") != nil {
		acr := tx.objectNamed("AccountContactRelation")
		av := newRowValues(acr)
		av.set("AccountId", values.get("AccountId"))
		av.set("ContactId", id)
		av.set("IsActive", true)
		av.set("IsDirect", true)
		tx.insertRaw(acr, tx.newID(acr), tx.now(), av)
	}
	return id, nil
}

func autoNumber(o *SObject, n uint64) string {
	prefix := map[string]string{"EngagementInteraction": "EI", "EngagementAttendee": "EA"}[o.name]
	return fmt.Sprintf("%s-%010d", prefix, n)
}

// rowValues are a new row's values by field index.
type rowValues struct {
	o *SObject
	v []any
}

func newRowValues(o *SObject) rowValues { return rowValues{o, make([]any, len(o.fields))} }

// get and set take canonical field names of the object (a programming error otherwise).
func (rv rowValues) get(name string) any    { return rv.v[rv.o.byCanon[name].index] }
func (rv rowValues) set(name string, v any) { rv.v[rv.o.byCanon[name].index] = v }

func fullName(values interface{ get(string) any }) string {
	first, _ := values.get("FirstName").(string)
	last, _ := values.get("LastName").(string)
	return strings.TrimSpace(first + " " + last)
}

// nameValues adapts a map to fullName.
type nameValues map[string]any

func (m nameValues) get(name string) any { return m[name] }

func (tx *Tx) checkUnique(t *table, self int32, f *FieldDef, v any) *Error {
	s, _ := v.(string)
	for _, r := range tx.db.lookupRows(t, f, s) {
		if r != self && !t.deleted(r) {
			return errBadRequest("DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, t.id(r)), f.Name)
		}
	}
	return nil
}

// update applies converted values to a row, enforcing required, unique and object rules.
func (tx *Tx) update(t *table, r int32, vals []fieldValue) *Error {
	o := t.obj
	person := o.name == "Account" && t.get(r, o.byName["ispersonaccount"]) == true
	if o.name == "Account" {
		for _, fv := range vals {
			if fv.f.Name == "RecordTypeId" && fv.v != t.get(r, fv.f) && (fv.v == tx.db.personRecordType) != person {
				// Changing an account's kind ("marrying" or "separating" a person account) moves
				// its contacts around in Salesforce; the fake does not do that.
				return errBadRequest("INVALID_FIELD_FOR_INSERT_UPDATE",
					"Changing an account between business and person account record types is not supported by the fake org", "RecordTypeId")
			}
		}
		if e := accountKindErrors(vals, person); e != nil {
			return e
		}
	}
	names := false
	for _, fv := range vals {
		f := fv.f
		if fv.v == nil && (!f.Nillable || f.saveRequired) && !(person && f.Name == "Name") {
			return errBadRequest("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", f.Name), f.Name)
		}
		if f.Unique && fv.v != nil {
			if e := tx.checkUnique(t, r, f, fv.v); e != nil {
				return e
			}
		}
		names = names || f.Name == "FirstName" || f.Name == "LastName"
	}
	for _, fv := range vals {
		tx.setField(t, r, fv.f, fv.v)
	}
	switch o.name {
	case "Contact", "Lead", "User":
		if names {
			tx.setField(t, r, o.byName["name"], fullName(nameValues{"FirstName": t.get(r, o.byName["firstname"]), "LastName": t.get(r, o.byName["lastname"])}))
		}
	case "Account":
		if person {
			if names {
				tx.setField(t, r, o.byName["name"], fullName(nameValues{"FirstName": t.get(r, o.byName["firstname"]), "LastName": t.get(r, o.byName["lastname"])}))
			}
			if pc, ok := t.get(r, o.byName["personcontactid"]).(string); ok {
				contact := tx.objectNamed("Contact")
				ct := tx.db.tableOf(contact)
				if cr, ok := ct.byID[pc]; ok {
					for _, fv := range vals {
						if cf, ok := personContactField(fv.f.Name); ok {
							tx.setField(ct, cr, contact.byName[strings.ToLower(cf)], fv.v)
						}
					}
					if names {
						tx.setField(ct, cr, contact.byName["name"], t.get(r, o.byName["name"]))
					}
					tx.touch(ct, cr)
				}
			}
		}
	case "EngagementInteraction":
		if t.get(r, o.byName["isattendeeverified"]) == true && t.get(r, o.byName["attendeeverificationtime"]) == nil {
			tx.setField(t, r, o.byName["attendeeverificationtime"], tx.now())
		}
		if st, ok := t.get(r, o.byName["status"]).(string); ok && mappedStates[st] != "" {
			tx.setField(t, r, o.byName["mappedstate"], mappedStates[st])
		}
	}
	tx.touch(t, r)
	return nil
}

// touch sets the row's last-modified audit fields.
func (tx *Tx) touch(t *table, r int32) {
	o := t.obj
	tx.setField(t, r, o.byName["lastmodifieddate"], tx.now())
	tx.setField(t, r, o.byName["systemmodstamp"], tx.now())
	tx.setField(t, r, o.byName["lastmodifiedbyid"], tx.db.userID)
}
