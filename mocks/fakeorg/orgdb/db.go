package orgdb

import (
	"sync"
	"time"
)

// dateTimeLayout is how Salesforce writes datetimes on the wire.
const dateTimeLayout = "2006-01-02T15:04:05.000+0000"

// DB is the org's in-memory database. Its methods are safe for concurrent use; each call on DB
// is its own transaction. Tx groups calls (composite and collections with allOrNone).
type DB struct {
	mu     sync.RWMutex
	schema *Schema
	tables []*table // by SObject.index
	now    func() time.Time
	orgID  string
	userID string // the integration user: owner and creator of everything created
	// The Account record types: a person account is an account of the person account record
	// type; the business one is the integration user's default.
	businessRecordType, personRecordType string
	cache                                queryCache
}

// New returns an empty DB with the standard schema (plus opts.CustomFields). It holds no
// records but the Organization row and the integration user, integration@demo.idverify.dev.
func New(opts Options) (*DB, error) {
	s, err := newSchema(opts.CustomFields, opts.PicklistValues, opts.CustomIndexes)
	if err != nil {
		return nil, err
	}
	db := &DB{schema: s, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	for _, o := range s.objects {
		db.tables = append(db.tables, newTable(o))
	}
	// The org and its integration user exist from the start; they are created directly, since
	// neither object is createable through the API.
	org, _ := s.Lookup("Organization")
	user, _ := s.Lookup("User")
	db.userID = makeID(user.keyPrefix, 1) // insertUsers creates the integration user first
	db.orgID = makeID(org.keyPrefix, 1)
	db.tableOf(org).seq = 1
	ts := db.timestamp()
	tx := &Tx{db: db, schema: s, write: true}
	tx.insertUsers(ts)
	tx.insertRaw(org, db.orgID, ts, rowValuesOf(org, map[string]any{
		"Name": "idverify Demo Org", "InstanceName": "FAKE1", "IsSandbox": false,
		"OrganizationType": "Developer Edition", "Country": "US", "DefaultLocaleSidKey": "en_US",
		"LanguageLocaleKey": "en_US", "TimeZoneSidKey": "GMT",
	}))
	// A person-account org has the PersonAccount record type and at least one business account
	// record type ("Person Account Record Types", SOAP API Developer Guide).
	rt, _ := s.Lookup("RecordType")
	for _, r := range accountRecordTypes {
		tx.insertRaw(rt, r.id, ts, rowValuesOf(rt, map[string]any{
			"Name": r.name, "DeveloperName": r.developerName, "SobjectType": "Account", "IsActive": true, "IsPersonType": r.person,
		}))
		db.tableOf(rt).seq++
		if r.person {
			db.personRecordType = r.id
		} else {
			db.businessRecordType = r.id
		}
	}
	return db, nil
}

// IntegrationUsername is the username of the org's integration user, which owns and creates
// every record written through the API.
const IntegrationUsername = "integration@demo.idverify.dev"

// OrgID is the org's 18-character Organization id (prefix 00D), fixed for the DB's life.
func (db *DB) OrgID() string { return db.orgID }

// UserID is the integration user's 18-character id (prefix 005).
func (db *DB) UserID() string { return db.userID }

// Schema returns the org's schema (describe metadata) at the newest API version; Schema().At(v)
// is what version v sees.
func (db *DB) Schema() *Schema { return db.schema }

// PersonAccountRecordTypeID is the id of the PersonAccount record type: an Account created with
// it as RecordTypeId is a person account.
func (db *DB) PersonAccountRecordTypeID() string { return db.personRecordType }

// BusinessAccountRecordTypeID is the id of the business account record type, the default for
// accounts created without a RecordTypeId.
func (db *DB) BusinessAccountRecordTypeID() string { return db.businessRecordType }

func (db *DB) tableOf(o *SObject) *table { return db.tables[o.index] }

func (db *DB) timestamp() string { return db.now().UTC().Format(dateTimeLayout) }

// Begin starts a transaction; write says whether it may change data.
func (db *DB) Begin(write bool) *Tx {
	if write {
		db.mu.Lock()
	} else {
		db.mu.RLock()
	}
	return &Tx{db: db, schema: db.schema, write: write}
}

// UseVersion makes the transaction's next calls see the schema of API version v: objects and
// fields that appeared later are unknown to them.
func (tx *Tx) UseVersion(v int) { tx.schema = tx.db.schema.At(v) }

// Tx is a unit of work holding the DB's lock (shared for reads, exclusive for writes) until
// Commit or Rollback. Rollback undoes every change made through it. A Tx is used by one goroutine.
type Tx struct {
	db      *DB
	schema  *Schema // the schema of the calls' API version (UseVersion)
	write   bool
	done    bool
	journal []change
	stamp   string // the timestamp of this transaction's writes
}

// change is one undo journal entry: a row inserted, or a field's old value.
type change struct {
	t     *table
	row   int32
	f     *FieldDef // nil: the row was inserted
	old   any
	idWas string
}

// Commit keeps the changes and releases the lock. Calling it on a finished Tx does nothing.
func (tx *Tx) Commit() {
	if tx.done {
		return
	}
	tx.done, tx.journal = true, nil
	tx.unlock()
}

// Rollback undoes the changes and releases the lock. Calling it on a finished Tx does nothing.
func (tx *Tx) Rollback() {
	if tx.done {
		return
	}
	tx.undo(0)
	tx.done = true
	tx.unlock()
}

func (tx *Tx) unlock() {
	if tx.write {
		tx.db.mu.Unlock()
	} else {
		tx.db.mu.RUnlock()
	}
}

// savepoint and undo let a single failing call leave no trace inside a longer transaction.
func (tx *Tx) savepoint() int { return len(tx.journal) }

func (tx *Tx) undo(to int) {
	for i := len(tx.journal) - 1; i >= to; i-- {
		c := tx.journal[i]
		if c.f != nil {
			c.t.set(c.row, c.f, c.old)
			continue
		}
		// An insert: clear the row's values (and so its index entries), then drop it.
		for _, f := range c.t.obj.fields[1:] {
			c.t.set(c.row, f, nil)
		}
		delete(c.t.byID, c.idWas)
		c.t.strs[0][c.row] = ""
		c.t.dropLastRow()
	}
	tx.journal = tx.journal[:to]
}

func (tx *Tx) now() string {
	if tx.stamp == "" {
		tx.stamp = tx.db.timestamp()
	}
	return tx.stamp
}

// setField changes one value and journals the old one.
func (tx *Tx) setField(t *table, r int32, f *FieldDef, v any) {
	old := t.set(r, f, v)
	tx.journal = append(tx.journal, change{t: t, row: r, f: f, old: old})
}

// insertRaw adds a row with the given id and values (already converted), setting the audit
// fields. It validates nothing.
func (tx *Tx) insertRaw(o *SObject, id, ts string, values rowValues) int32 {
	t := tx.db.tableOf(o)
	r := t.appendRow()
	t.strs[0][r] = id
	t.byID[id] = r
	tx.journal = append(tx.journal, change{t: t, row: r, idWas: id})
	for _, f := range o.fields {
		var v any
		switch f.Name {
		case "Id":
			continue
		case "IsDeleted":
			v = false
		case "CreatedDate", "LastModifiedDate", "SystemModstamp":
			v = ts
		case "CreatedById", "LastModifiedById":
			v = tx.db.userID
		default:
			v = values.v[f.index]
			if v == nil && f.Type == "boolean" {
				v = false
			}
		}
		if v != nil {
			t.set(r, f, v)
		}
	}
	return r
}

func rowValuesOf(o *SObject, m map[string]any) rowValues {
	rv := newRowValues(o)
	for k, v := range m {
		rv.set(k, v)
	}
	return rv
}

func (tx *Tx) newID(o *SObject) string {
	t := tx.db.tableOf(o)
	t.seq++
	return makeID(o.keyPrefix, t.seq)
}
