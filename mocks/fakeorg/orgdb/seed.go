package orgdb

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// DemoPerson is one person of the demo dataset (SeedDemo). Customers are person accounts;
// representatives are contacts of a business account, linked to customers through
// AccountContactRelation. Ids are those SeedDemo gives on a new DB.
type DemoPerson struct {
	Key             string // stable handle, e.g. "alice"
	Object          string // "Account" (a person account) or "Contact" (a representative)
	ID              string // the record's 18-character id
	PersonContactID string // person accounts: the person contact's id
	AccountNumber   string // person accounts: a stable business key
	FirstName       string
	LastName        string
	Birthdate       string // YYYY-MM-DD
	Phone           string // as stored in Phone: national or E.164 format, "" when none
	MobilePhone     string // as stored (PersonMobilePhone or MobilePhone), E.164, "" when none
	HomePhone       string // as stored (PersonHomePhone or HomePhone), "" when none
	Email           string
	PostalCode      string // PersonMailingPostalCode or MailingPostalCode
}

// Name is the record's Name: first and last name.
func (p DemoPerson) Name() string { return strings.TrimSpace(p.FirstName + " " + p.LastName) }

// DemoRelation links a representative to a customer (AccountContactRelation).
type DemoRelation struct {
	Representative string // DemoPerson key (a Contact)
	Customer       string // DemoPerson key (a person Account)
	Roles          string // multi-select, ";"-separated
	Active         bool
	ID             string // the AccountContactRelation id
}

// DemoLead is a lead of the demo dataset.
type DemoLead struct {
	FirstName, LastName, Company, Phone, Email, Status string
	ID                                                 string
}

// DemoVerification names the demo's verification setup (IdentityVerificationProc* records).
type DemoVerification struct {
	DefinitionID         string // IdentityVerificationProcDef
	CustomerSearchID     string // IdentityVerificationProcDtl: text search on Account
	RepresentativeSearch string // IdentityVerificationProcDtl: text search on Contact, linked to CustomerSearchID
}

// DemoRepresentativesAccount is the business account the demo's representatives belong to.
const DemoRepresentativesAccount = "Northwind Legal Services"

func demoPeople() []DemoPerson {
	return []DemoPerson{
		{Key: "alice", Object: "Account", AccountNumber: "DEMO-0001", FirstName: "Alice", LastName: "Martin", Birthdate: "1985-04-12",
			Phone: "(415) 555-0101", MobilePhone: "+14155550101", HomePhone: "+14155550102", Email: "alice.martin@example.com", PostalCode: "94107"},
		{Key: "bruno", Object: "Account", AccountNumber: "DEMO-0002", FirstName: "Bruno", LastName: "Silva", Birthdate: "1979-11-30",
			Phone: "020 7946 0958", MobilePhone: "+447700900123", Email: "bruno.silva@example.com", PostalCode: "SW1A 1AA"},
		{Key: "chloe", Object: "Account", AccountNumber: "DEMO-0003", FirstName: "Chloé", LastName: "Dubois", Birthdate: "1992-07-08",
			Phone: "06 12 34 56 78", MobilePhone: "+33612345678", Email: "chloe.dubois@example.com", PostalCode: "75011"},
		{Key: "dmitri", Object: "Account", AccountNumber: "DEMO-0004", FirstName: "Dmitri", LastName: "Ivanov", Birthdate: "1968-02-29",
			Phone: "+14155550104", MobilePhone: "+14155550104", Email: "dmitri.ivanov@example.com", PostalCode: "10001"},
		{Key: "emma", Object: "Account", AccountNumber: "DEMO-0005", FirstName: "Emma", LastName: "Jones", Birthdate: "2001-12-24",
			Phone: "+1 (415) 555-0105", MobilePhone: "+14155550105", Email: "emma.jones@example.com", PostalCode: "60601"},
		{Key: "farah", Object: "Account", AccountNumber: "DEMO-0006", FirstName: "Farah", LastName: "Khan", Birthdate: "1990-05-05",
			Email: "farah.khan@example.com", PostalCode: "02139"},
		// George and Hannah share a home phone: a lookup by that number is ambiguous.
		{Key: "george", Object: "Account", AccountNumber: "DEMO-0007", FirstName: "George", LastName: "Brown", Birthdate: "1955-09-17",
			MobilePhone: "+14155550108", HomePhone: "+14155550107", Email: "george.brown@example.com", PostalCode: "73301"},
		{Key: "hannah", Object: "Account", AccountNumber: "DEMO-0008", FirstName: "Hannah", LastName: "Brown", Birthdate: "1957-01-23",
			MobilePhone: "+14155550109", HomePhone: "+14155550107", Email: "hannah.brown@example.com", PostalCode: "73301"},
		{Key: "ian", Object: "Contact", FirstName: "Ian", LastName: "Wright", Birthdate: "1975-03-03",
			Phone: "+14155550201", MobilePhone: "+14155550201", Email: "ian.wright@example.com", PostalCode: "10002"},
		{Key: "julia", Object: "Contact", FirstName: "Julia", LastName: "Chen", Birthdate: "1983-08-19",
			Phone: "(415) 555-0202", MobilePhone: "+14155550202", Email: "julia.chen@example.com", PostalCode: "94110"},
		{Key: "kevin", Object: "Contact", FirstName: "Kevin", LastName: "Patel", Birthdate: "1971-06-14",
			MobilePhone: "+447700900456", Email: "kevin.patel@example.com", PostalCode: "EC1A 1BB"},
	}
}

// DemoPicklistValues are the demo org's own additions to standard picklists, as an
// administrator makes them in Setup: the representative roles its relations use, which are
// not among Salesforce's standard AccountContactRelation.Roles values (Business User, Decision
// Maker, …). Pass them as Options.PicklistValues to a DB that SeedDemo loads, so that describe
// lists them; fakeorg does so for its demo seed.
func DemoPicklistValues() []PicklistValues {
	return []PicklistValues{{Object: "AccountContactRelation", Field: "Roles",
		Values: []string{"Authorized Representative", "Power of Attorney", "Legal Guardian", "Spouse"}}}
}

func demoRelations() []DemoRelation {
	return []DemoRelation{
		{Representative: "ian", Customer: "dmitri", Roles: "Power of Attorney", Active: true},
		{Representative: "julia", Customer: "alice", Roles: "Authorized Representative", Active: true},
		{Representative: "julia", Customer: "emma", Roles: "Authorized Representative;Spouse", Active: true},
		{Representative: "kevin", Customer: "bruno", Roles: "Authorized Representative", Active: false},
	}
}

func demoLeads() []DemoLead {
	return []DemoLead{
		{FirstName: "Liam", LastName: "Novak", Company: "Novak Bakery", Phone: "+14155550301", Email: "liam@novak-bakery.example", Status: "Open - Not Contacted"},
		{FirstName: "Mia", LastName: "Rossi", Company: "Rossi Design", Phone: "+390612345678", Email: "mia@rossi.example", Status: "Working - Contacted"},
		{FirstName: "Noah", LastName: "Fischer", Company: "Fischer & Söhne", Phone: "(415) 555-0303", Status: "Open - Not Contacted"},
	}
}

// DemoDataset is what SeedDemo loads, with the ids it gives on a new DB.
type DemoDataset struct {
	People       []DemoPerson
	Relations    []DemoRelation
	Leads        []DemoLead
	Verification DemoVerification
}

// Person returns the person with the given key.
func (d *DemoDataset) Person(key string) (DemoPerson, bool) {
	for _, p := range d.People {
		if p.Key == key {
			return p, true
		}
	}
	return DemoPerson{}, false
}

// Demo describes the demo dataset, ids included (those SeedDemo gives on a new DB). Each call
// returns a fresh copy.
func Demo() *DemoDataset {
	db, err := New(Options{PicklistValues: DemoPicklistValues()})
	if err != nil {
		panic(err) // the standard schema always builds
	}
	d, err := seedDemo(db)
	if err != nil {
		panic(err) // the demo dataset is valid by construction; tests prove it
	}
	return d
}

// SeedDemo loads the deterministic demo dataset (see Demo for its content).
func SeedDemo(db *DB) error {
	_, err := seedDemo(db)
	return err
}

func seedDemo(db *DB) (*DemoDataset, error) {
	d := &DemoDataset{People: demoPeople(), Relations: demoRelations(), Leads: demoLeads()}
	tx := db.Begin(true)
	ok := false
	defer func() {
		if !ok {
			tx.Rollback()
		}
	}()
	fail := func(what string, e *Error) (*DemoDataset, error) {
		return nil, fmt.Errorf("orgdb: seeding %s: %s", what, e.Code)
	}
	reps, e := tx.Create("Account", map[string]any{"Name": DemoRepresentativesAccount, "Type": "Partner", "Phone": "+14155550200"})
	if e != nil {
		return fail("representatives' account", e)
	}
	ids := map[string]string{}
	for i := range d.People {
		p := &d.People[i]
		if p.Object == "Account" {
			body := map[string]any{"RecordTypeId": db.personRecordType, "FirstName": p.FirstName, "LastName": p.LastName, "AccountNumber": p.AccountNumber,
				"PersonBirthdate": p.Birthdate, "Phone": p.Phone, "PersonMobilePhone": p.MobilePhone, "PersonHomePhone": p.HomePhone,
				"PersonEmail": p.Email, "PersonMailingPostalCode": p.PostalCode, "Type": "Customer - Direct"}
			if p.ID, e = tx.Create("Account", body); e != nil {
				return fail("person account", e)
			}
			rec, _ := tx.Get("Account", p.ID, []string{"PersonContactId"})
			p.PersonContactID, _ = rec.Fields[0].Value.(string)
		} else {
			body := map[string]any{"FirstName": p.FirstName, "LastName": p.LastName, "AccountId": reps, "Birthdate": p.Birthdate,
				"Phone": p.Phone, "MobilePhone": p.MobilePhone, "HomePhone": p.HomePhone, "Email": p.Email,
				"MailingPostalCode": p.PostalCode, "Title": "Representative"}
			if p.ID, e = tx.Create("Contact", body); e != nil {
				return fail("representative", e)
			}
		}
		ids[p.Key] = p.ID
	}
	for i := range d.Relations {
		r := &d.Relations[i]
		body := map[string]any{"AccountId": ids[r.Customer], "ContactId": ids[r.Representative], "Roles": r.Roles, "IsActive": r.Active}
		if r.ID, e = tx.Create("AccountContactRelation", body); e != nil {
			return fail("relation", e)
		}
	}
	for i := range d.Leads {
		l := &d.Leads[i]
		body := map[string]any{"FirstName": l.FirstName, "LastName": l.LastName, "Company": l.Company, "Phone": l.Phone, "Email": l.Email, "Status": l.Status}
		if l.ID, e = tx.Create("Lead", body); e != nil {
			return fail("lead", e)
		}
	}
	v, e := seedVerification(tx)
	if e != nil {
		return fail("verification setup", e)
	}
	d.Verification = v
	ok = true
	tx.Commit()
	return d, nil
}

// seedVerification creates Salesforce's sample verification setup: a text search on (person)
// Account showing name, birth date and phone, asking name and birth date, then one of phone or
// postal code; and a representative search on Contact linked to it. These are setup records
// (an org deploys them with the Metadata API), written as the org's setup.
func seedVerification(tx *Tx) (DemoVerification, *Error) {
	var v DemoVerification
	var e *Error
	if v.DefinitionID, e = tx.create("IdentityVerificationProcDef", map[string]any{
		"DeveloperName": "Verify_Customer_and_Representative", "MasterLabel": "Verify a Customer and Their Representative",
		"SearchLayoutType": "Tab",
	}, true); e != nil {
		return v, e
	}
	type fld struct{ name, typ, data string }
	detail := func(dev, label, object, filter string, seq int, linked string, fields []fld) (string, *Error) {
		body := map[string]any{
			"DeveloperName": dev, "MasterLabel": label, "IdentityVerificationProcDefId": v.DefinitionID,
			"ObjectName": object, "SearchType": "Text-Based", "DataSourceType": "Salesforce", "SearchFilter": filter,
			"SearchResultSortBy": "Name", "SearchRecordUniqueIdField": "Id", "SearchSequenceNumber": seq,
			"OptionalVerifiersMinVerfCount": 1, "DisplayRecordFieldName": "Name", "IsActive": true,
		}
		if linked != "" {
			body["LinkedIdVerfProcessDetId"] = linked
		}
		id, e := tx.create("IdentityVerificationProcDtl", body, true)
		if e != nil {
			return "", e
		}
		seqByType := map[string]int{}
		for _, f := range fields {
			seqByType[f.typ]++
			if _, e := tx.create("IdentityVerificationProcFld", map[string]any{
				"DeveloperName": dev + "_" + f.typ + "_" + f.name, "MasterLabel": f.name, "IdentityVerificationProcDtlId": id,
				"FieldName": f.name, "FieldType": f.typ, "DataSourceType": "Salesforce", "FieldDataType": f.data,
				"SequenceNumber": seqByType[f.typ], "IsManualInput": false, "IsActive": true,
			}, true); e != nil {
				return "", e
			}
		}
		return id, nil
	}
	if v.CustomerSearchID, e = detail("Customer_Search", "Search Customer", "Account", "IsPersonAccount = true", 1, "", []fld{
		{"Name", "searchField", "text"}, {"Phone", "searchField", "phone"},
		{"Name", "resultField", "text"}, {"PersonBirthdate", "resultField", "dateonly"}, {"Phone", "resultField", "phone"},
		{"Name", "requiredVerifier", "text"}, {"PersonBirthdate", "requiredVerifier", "dateonly"},
		{"Phone", "optionalVerifier", "phone"}, {"PersonMailingPostalCode", "optionalVerifier", "text"},
	}); e != nil {
		return v, e
	}
	v.RepresentativeSearch, e = detail("Representative_Search", "Search Representative", "Contact", "IsPersonAccount = false", 2, v.CustomerSearchID, []fld{
		{"Name", "searchField", "text"}, {"Phone", "searchField", "phone"},
		{"Name", "resultField", "text"}, {"Birthdate", "resultField", "dateonly"}, {"Phone", "resultField", "phone"},
		{"Name", "requiredVerifier", "text"}, {"Birthdate", "requiredVerifier", "dateonly"},
		{"Phone", "optionalVerifier", "phone"}, {"MailingPostalCode", "optionalVerifier", "text"},
	})
	return v, e
}

var (
	genFirst = []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
		"Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Alexander",
		"Zoë", "Mateo", "Aiko", "Ravi", "Fatima", "Chen", "Ingrid", "Kwame", "Léa", "Sven"}
	genLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sánchez", "O'Connor", "Nguyen", "Müller", "Kowalski"}
)

// GeneratedPhone is the E.164 mobile number SeedGenerated gives its i-th person (0-based) for a
// seed; every generated person has a distinct number.
func GeneratedPhone(i int, seed int64) string {
	area := 201 + uint64(seed%700+700)%700
	n := (uint64(i)*7919 + uint64(seed&0xffff)) % 10_000_000
	return fmt.Sprintf("+1%03d%07d", area, n)
}

// SeedGenerated loads n generated person accounts, each with its person contact
// (deterministic for a seed): names, birth dates, postal codes, e-mail addresses and distinct
// mobile numbers (GeneratedPhone), half of them also with a national-format Phone.
func SeedGenerated(db *DB, n int, seed int64) error {
	if n < 0 {
		return fmt.Errorf("orgdb: SeedGenerated: negative count %d", n)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1d5e1f))
	const batch = 2000
	tx := db.Begin(true)
	for _, name := range []string{"Account", "Contact"} {
		t := db.tableOf(tx.objectNamed(name))
		t.reserve(int(t.n) + n)
	}
	tx.Commit()
	for start := 0; start < n; start += batch {
		tx := db.Begin(true)
		for i := start; i < n && i < start+batch; i++ {
			first := genFirst[rng.IntN(len(genFirst))]
			last := genLast[rng.IntN(len(genLast))]
			mobile := GeneratedPhone(i, seed)
			body := map[string]any{
				"RecordTypeId": db.personRecordType, "FirstName": first, "LastName": last, "AccountNumber": fmt.Sprintf("GEN-%07d", i),
				"PersonBirthdate":   fmt.Sprintf("%04d-%02d-%02d", 1940+rng.IntN(66), 1+rng.IntN(12), 1+rng.IntN(28)),
				"PersonMobilePhone": mobile, "PersonMailingPostalCode": fmt.Sprintf("%05d", rng.IntN(100000)),
				"PersonEmail": fmt.Sprintf("%s.%s.%d@example.com", asciiLower(first), asciiLower(last), i),
			}
			if i%2 == 0 {
				body["Phone"] = fmt.Sprintf("(%s) %s-%s", mobile[2:5], mobile[5:8], mobile[8:])
			}
			if _, e := tx.Create("Account", body); e != nil {
				tx.Rollback()
				return fmt.Errorf("orgdb: SeedGenerated: record %d: %s", i, e.Code)
			}
		}
		tx.Commit()
	}
	return nil
}

// asciiLower keeps the ASCII letters of s, lower-cased (for e-mail addresses).
func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}
