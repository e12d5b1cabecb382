package orgdb

import (
	"fmt"
	"sort"
	"strings"
)

// FieldDef is one field's describe metadata. The schema owns it: treat it as read-only.
type FieldDef struct {
	Name   string
	Label  string
	Type   string // describe type: id, string, textarea, phone, email, url, picklist, multipicklist, boolean, date, datetime, double, int, currency, percent, reference
	Length int    // string-like types only

	Nillable, Createable, Updateable, DefaultedOnCreate                     bool
	ExternalID, IDLookup, Unique, Custom, NameField, AutoNumber, Calculated bool

	Picklist           []PicklistValue
	RestrictedPicklist bool

	// ReferenceTo lists the objects of this org a reference may point at. Salesforce documents
	// further targets for some fields (EngagementId may also point at a MessagingSession or a
	// VoiceCall) that this org does not have: describe lists those too.
	ReferenceTo       []string
	RelationshipName  string // reference fields: the parent relationship, e.g. "Account"
	ChildRelationship string // reference fields: the name on the parent side, e.g. "Contacts"

	// Since is the API version the field appeared in; 0 means with its object.
	Since int

	documentedTo []string // reference fields: every target Salesforce documents
	defaultOn    bool     // booleans: the default value (describe's defaultValue)
	saveRequired bool     // nillable in describe, yet a save without a value fails
	index        int      // position in the row
	indexed      bool     // an equality index is kept for it
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value        string
	Label        string
	DefaultValue bool
}

// SObject is one object's describe metadata, as seen at one API version (Schema.At). The
// schema owns it: treat it as read-only.
type SObject struct {
	name, label, labelPlural, keyPrefix string
	custom                              bool
	createable, updateable, deletable   bool
	searchable                          bool
	since                               int // the API version the object appeared in
	fields                              []*FieldDef
	byName                              map[string]*FieldDef // lower-cased name
	byCanon                             map[string]*FieldDef // canonical name
	byRelationship                      map[string]*FieldDef // lower-cased relationship name
	children                            []childRel
	childByName                         map[string]childRel // lower-cased relationship name
	recordTypes                         []recordType
	index                               int
	full                                *SObject // the object at the newest version: every field, as the table stores them
}

// recordType is one of an object's record types.
type recordType struct {
	id, name, developerName string
	person                  bool // a person account record type
}

// accountRecordTypes are the org's Account record types: a business account type, the users'
// default, and Salesforce's PersonAccount type ("Person Account Record Types", SOAP API
// Developer Guide). New inserts them as RecordType rows.
var accountRecordTypes = []recordType{
	{id: makeID("012", 1), name: "Business Account", developerName: "Business_Account"},
	{id: makeID("012", 2), name: "Person Account", developerName: "PersonAccount", person: true},
}

type childRel struct {
	name  string // e.g. "Contacts"
	child *SObject
	field *FieldDef // the reference field on child
}

// Name is the object's API name, e.g. "Account".
func (o *SObject) Name() string { return o.name }

// KeyPrefix is the three characters every id of this object starts with.
func (o *SObject) KeyPrefix() string { return o.keyPrefix }

// Fields lists the object's fields in describe order.
func (o *SObject) Fields() []*FieldDef { return o.fields }

// Field finds a field by name, case-insensitively.
func (o *SObject) Field(name string) (*FieldDef, bool) {
	if f, ok := o.byCanon[name]; ok {
		return f, true
	}
	f, ok := o.byName[strings.ToLower(name)]
	return f, ok
}

// Schema is every sObject the org knows at one API version, by name (case-insensitive lookups).
// The org's schema is the newest version's; At gives the schema an older version sees.
type Schema struct {
	objects  []*SObject
	byName   map[string]*SObject // lower-cased
	byPrefix map[string]*SObject
	version  int       // the oldest version this view is right for; 0 for the newest
	views    []*Schema // the newest schema only: one view per version where something appeared, oldest first
}

// Objects lists every object, sorted by name.
func (s *Schema) Objects() []*SObject { return s.objects }

// Lookup finds an object by name, case-insensitively.
func (s *Schema) Lookup(name string) (*SObject, bool) {
	o, ok := s.byName[strings.ToLower(name)]
	return o, ok
}

// ObjectForID finds the object an id belongs to by its key prefix.
func (s *Schema) ObjectForID(id string) (*SObject, bool) {
	if len(id) < 3 {
		return nil, false
	}
	o, ok := s.byPrefix[id[:3]]
	return o, ok
}

// At returns the schema as API version v sees it: without the objects and fields that appeared
// in later versions, so that a request at v meets Salesforce's errors for unknown objects and
// fields (NOT_FOUND, INVALID_TYPE, INVALID_FIELD). v at or past the newest version that added
// anything gives the org's schema itself.
func (s *Schema) At(v int) *Schema {
	if len(s.views) == 0 || v >= s.views[len(s.views)-1].version {
		return s
	}
	i := sort.Search(len(s.views), func(i int) bool { return s.views[i].version > v })
	if i == 0 {
		return s.views[0] // older than anything dated: the oldest view
	}
	return s.views[i-1]
}

// ---- field constructors ----

func newField(name, label, typ string, length int) *FieldDef {
	return &FieldDef{Name: name, Label: label, Type: typ, Length: length,
		Nillable: true, Createable: true, Updateable: true}
}

func text(name, label string, length int) *FieldDef { return newField(name, label, "string", length) }
func area(name, label string, length int) *FieldDef { return newField(name, label, "textarea", length) }
func phone(name, label string) *FieldDef            { return newField(name, label, "phone", 40) }
func email(name, label string) *FieldDef            { return newField(name, label, "email", 80) }
func url(name, label string) *FieldDef              { return newField(name, label, "url", 255) }
func date(name, label string) *FieldDef             { return newField(name, label, "date", 0) }
func datetime(name, label string) *FieldDef         { return newField(name, label, "datetime", 0) }
func integer(name, label string) *FieldDef          { return newField(name, label, "int", 0) }
func double(name, label string) *FieldDef           { return newField(name, label, "double", 0) }

// boolean is a checkbox: never null, defaulted on create (to false unless defaultTrue).
func boolean(name, label string) *FieldDef {
	f := newField(name, label, "boolean", 0)
	f.Nillable, f.DefaultedOnCreate = false, true
	return f
}

func picklist(name, label string, length int, values ...string) *FieldDef {
	f := newField(name, label, "picklist", length)
	for _, v := range values {
		f.Picklist = append(f.Picklist, PicklistValue{Value: v, Label: v})
	}
	return f
}

func multipicklist(name, label string, values ...string) *FieldDef {
	f := picklist(name, label, 4099, values...)
	f.Type = "multipicklist"
	return f
}

func ref(name, label, relationship, children string, to ...string) *FieldDef {
	f := newField(name, label, "reference", 18)
	f.RelationshipName, f.ChildRelationship, f.documentedTo = relationship, children, to
	return f
}

func (f *FieldDef) required() *FieldDef   { f.Nillable = false; return f }
func (f *FieldDef) restricted() *FieldDef { f.RestrictedPicklist = true; return f }
func (f *FieldDef) readOnly() *FieldDef   { f.Createable, f.Updateable = false, false; return f }
func (f *FieldDef) createOnly() *FieldDef { f.Updateable = false; return f }
func (f *FieldDef) nameField() *FieldDef  { f.NameField = true; return f }
func (f *FieldDef) idLookup() *FieldDef   { f.IDLookup = true; return f }
func (f *FieldDef) since(v int) *FieldDef { f.Since = v; return f }
func (f *FieldDef) defaultTrue() *FieldDef {
	f.defaultOn = true
	return f
}

// requiredOnSave marks a field the reference calls "Required." while describing it nillable:
// describe says nillable, and a save without a value fails with REQUIRED_FIELD_MISSING.
func (f *FieldDef) requiredOnSave() *FieldDef { f.saveRequired = true; return f }

func (f *FieldDef) withDefault(v string) *FieldDef {
	for i := range f.Picklist {
		f.Picklist[i].DefaultValue = f.Picklist[i].Value == v
	}
	f.DefaultedOnCreate = true
	return f
}

// auto makes an auto-number name: read-only, defaulted on create, idLookup.
func (f *FieldDef) auto() *FieldDef {
	f.AutoNumber, f.Createable, f.Updateable, f.Nillable, f.DefaultedOnCreate = true, false, false, false, true
	f.IDLookup = true
	return f
}

// defaultPicklist is the picklist's default value, or "".
func (f *FieldDef) defaultPicklist() string {
	for _, p := range f.Picklist {
		if p.DefaultValue {
			return p.Value
		}
	}
	return ""
}

func (f *FieldDef) isText() bool {
	switch f.Type {
	case "string", "textarea", "phone", "email", "url", "picklist", "multipicklist", "combobox":
		return true
	}
	return false
}

func (f *FieldDef) isNumber() bool {
	switch f.Type {
	case "double", "int", "currency", "percent":
		return true
	}
	return false
}

func (f *FieldDef) isID() bool { return f.Type == "id" || f.Type == "reference" }

// ---- the standard schema ----

// The schema follows Salesforce's object reference; schema_reference_test.go compares each
// object's describe with a table written from the reference pages, cited there per field.

type objectSpec struct {
	name, label, plural, prefix string
	since                       int  // API version the object appeared in (0: before any version served)
	owner                       bool // has OwnerId
	viewed                      bool // has LastReferencedDate and LastViewedDate
	searchable                  bool
	readOnly                    bool // neither createable, updateable nor deletable through the API
	noDelete                    bool
	fields                      []*FieldDef
}

func systemFields(o objectSpec) (head, tail []*FieldDef) {
	id := newField("Id", o.label+" ID", "id", 18).readOnly().idLookup()
	id.Nillable, id.DefaultedOnCreate = false, true
	head = []*FieldDef{id}
	if o.owner {
		ow := ref("OwnerId", "Owner ID", "Owner", "", "User").required()
		ow.DefaultedOnCreate = true
		head = append(head, ow)
	}
	head = append(head, boolean("IsDeleted", "Deleted").readOnly())
	cd := datetime("CreatedDate", "Created Date").readOnly().required()
	cb := ref("CreatedById", "Created By ID", "CreatedBy", "", "User").readOnly().required()
	md := datetime("LastModifiedDate", "Last Modified Date").readOnly().required()
	mb := ref("LastModifiedById", "Last Modified By ID", "LastModifiedBy", "", "User").readOnly().required()
	sm := datetime("SystemModstamp", "System Modstamp").readOnly().required()
	for _, f := range []*FieldDef{cd, cb, md, mb, sm} {
		f.DefaultedOnCreate = true
	}
	tail = []*FieldDef{cd, cb, md, mb, sm}
	if o.viewed {
		tail = append(tail, datetime("LastViewedDate", "Last Viewed Date").readOnly(),
			datetime("LastReferencedDate", "Last Referenced Date").readOnly())
	}
	return head, tail
}

// languages are the values of the Language picklist of the IdentityVerificationProc* objects.
var languages = []string{"da", "de", "en_US", "es", "es_MX", "fi", "fr", "it", "ja", "ko", "nl_NL", "no",
	"pt_BR", "ru", "sv", "th", "zh_CN", "zh_TW"}

// setupFields are the fields every IdentityVerificationProc* object has. The objects are
// createable, updateable and deletable through the data API, as their pages in the Industries
// Common Resources Developer Guide say ("Supported Calls: create(), delete(), describeSObjects(),
// query(), retrieve(), update(), upsert()"; e.g.
// https://developer.salesforce.com/docs/industries/industries-common-dev/guide/sforce-api-objects-identityverificationprocdtl.html),
// every field but NamespacePrefix and IdentityVerificationProcFld.FieldDataType with Create and
// Update. (The same objects' Tooling API pages list their fields without Create or Update:
// there they are written through FullName and Metadata.)
func setupFields() []*FieldDef {
	return []*FieldDef{
		text("DeveloperName", "Name", 80).required(),
		text("MasterLabel", "Label", 80).required().nameField(),
		picklist("Language", "Master Language", 40, languages...).restricted().withDefault("en_US"),
		text("NamespacePrefix", "Namespace Prefix", 15).readOnly(),
	}
}

func standardObjects() []objectSpec {
	person := []string{"Account", "Contact", "Lead"}
	engagement := []string{"EngagementInteraction", "MessagingSession", "VoiceCall"}
	salutation := func() *FieldDef {
		return picklist("Salutation", "Salutation", 40, "Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
	}
	return []objectSpec{
		{name: "Account", label: "Account", plural: "Accounts", prefix: "001", owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			text("Name", "Account Name", 255).required().nameField(),
			text("AccountNumber", "Account Number", 40),
			picklist("Type", "Account Type", 255, "Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
			ref("RecordTypeId", "Record Type ID", "RecordType", "", "RecordType"),
			ref("ParentId", "Parent Account ID", "Parent", "ChildAccounts", "Account"),
			phone("Phone", "Account Phone"),
			phone("Fax", "Account Fax"),
			url("Website", "Website"),
			picklist("Industry", "Industry", 255, "Banking", "Finance", "Healthcare", "Insurance", "Retail", "Technology", "Telecommunications", "Other"),
			area("BillingStreet", "Billing Street", 255),
			text("BillingCity", "Billing City", 40),
			text("BillingState", "Billing State/Province", 80),
			text("BillingPostalCode", "Billing Zip/Postal Code", 20),
			text("BillingCountry", "Billing Country", 80),
			text("ShippingPostalCode", "Shipping Zip/Postal Code", 20),
			area("Description", "Account Description", 32000),
			boolean("IsPersonAccount", "Is Person Account").readOnly(),
			// The person account fields: null and read-only on a business account.
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80),
			ref("PersonContactId", "Contact ID", "PersonContact", "", "Contact").readOnly(),
			date("PersonBirthdate", "Birthdate"),
			email("PersonEmail", "Email"),
			phone("PersonMobilePhone", "Mobile"),
			phone("PersonHomePhone", "Home Phone"),
			phone("PersonOtherPhone", "Other Phone"),
			area("PersonMailingStreet", "Mailing Street", 255),
			text("PersonMailingCity", "Mailing City", 40),
			text("PersonMailingPostalCode", "Mailing Zip/Postal Code", 20),
			text("PersonMailingCountry", "Mailing Country", 80),
		}},
		{name: "Contact", label: "Contact", plural: "Contacts", prefix: "003", owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			ref("AccountId", "Account ID", "Account", "Contacts", "Account"),
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80).required(),
			text("Name", "Full Name", 121).readOnly().nameField().required(),
			text("Title", "Title", 128),
			text("Department", "Department", 80),
			date("Birthdate", "Birthdate"),
			phone("Phone", "Business Phone"),
			phone("MobilePhone", "Mobile Phone"),
			phone("HomePhone", "Home Phone"),
			phone("OtherPhone", "Other Phone"),
			email("Email", "Email").idLookup(),
			area("MailingStreet", "Mailing Street", 255),
			text("MailingCity", "Mailing City", 40),
			text("MailingState", "Mailing State/Province", 80),
			text("MailingPostalCode", "Mailing Zip/Postal Code", 20),
			text("MailingCountry", "Mailing Country", 80),
			ref("ReportsToId", "Reports To ID", "ReportsTo", "", "Contact"),
			picklist("LeadSource", "Lead Source", 255, "Web", "Phone Inquiry", "Partner Referral", "Other"),
			area("Description", "Contact Description", 32000),
			boolean("IsPersonAccount", "Is Person Account").readOnly(),
		}},
		{name: "Lead", label: "Lead", plural: "Leads", prefix: "00Q", owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80).required(),
			text("Name", "Full Name", 121).readOnly().nameField().required(),
			// Required in an org without person accounts; this org has them, and a lead without a
			// company converts to a person account.
			text("Company", "Company", 255),
			text("Title", "Title", 128),
			phone("Phone", "Phone"),
			phone("MobilePhone", "Mobile Phone"),
			email("Email", "Email").idLookup(),
			area("Street", "Street", 255),
			text("City", "City", 40),
			text("State", "State/Province", 80),
			text("PostalCode", "Zip/Postal Code", 20),
			text("Country", "Country", 80),
			// Status values are the org's (LeadStatus); these are a new org's.
			picklist("Status", "Status", 255, "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted").required().withDefault("Open - Not Contacted"),
			picklist("LeadSource", "Lead Source", 255, "Web", "Phone Inquiry", "Partner Referral", "Other"),
			boolean("IsConverted", "Converted").createOnly(),
			date("ConvertedDate", "Converted Date").createOnly(),
			ref("ConvertedAccountId", "Converted Account ID", "ConvertedAccount", "", "Account").createOnly(),
			ref("ConvertedContactId", "Converted Contact ID", "ConvertedContact", "", "Contact").createOnly(),
			area("Description", "Description", 32000),
		}},
		{name: "User", label: "User", plural: "Users", prefix: "005", searchable: true, noDelete: true, fields: []*FieldDef{
			text("Username", "Username", 80).required().idLookup(),
			text("LastName", "Last Name", 80).required(),
			text("FirstName", "First Name", 40),
			text("Name", "Full Name", 121).readOnly().nameField().required(),
			text("Alias", "Alias", 8).required(),
			email("Email", "Email").required(),
			phone("Phone", "Phone"),
			text("Title", "Title", 80),
			ref("ProfileId", "Profile ID", "Profile", "", "Profile").required(),
			boolean("IsActive", "Active").defaultTrue(),
			picklist("UserType", "User Type", 40, "Standard", "PowerPartner", "CspLitePortal", "CsnOnly", "Guest").readOnly(),
			picklist("TimeZoneSidKey", "Time Zone", 40, "GMT", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles").required().restricted(),
			picklist("LocaleSidKey", "Locale", 40, "en_US", "en_GB", "fr_FR", "de_DE").required().restricted(),
			picklist("LanguageLocaleKey", "Language", 40, "en_US", "fr", "de").required().restricted(),
			picklist("EmailEncodingKey", "Email Encoding", 40, "UTF-8", "ISO-8859-1").required().restricted(),
		}},
		{name: "Organization", label: "Organization", plural: "Organizations", prefix: "00D", readOnly: true, fields: []*FieldDef{
			text("Name", "Name", 80).readOnly().nameField(),
			text("InstanceName", "Instance Name", 40).readOnly(),
			boolean("IsSandbox", "Is Sandbox").readOnly(),
			picklist("OrganizationType", "Edition", 40, "Developer Edition", "Enterprise Edition", "Unlimited Edition").readOnly(),
			text("NamespacePrefix", "Namespace Prefix", 15).readOnly(),
			datetime("TrialExpirationDate", "Trial Expiration Date").readOnly(),
			text("Country", "Country", 80).readOnly(),
			picklist("DefaultLocaleSidKey", "Locale", 40, "en_US").readOnly(),
			picklist("LanguageLocaleKey", "Language", 40, "en_US").readOnly(),
			picklist("TimeZoneSidKey", "Time Zone", 40, "GMT").readOnly(),
		}},
		// Profile is read-only here: profiles are the org's setup (New creates them); the fake
		// models a profile's name only, which is what the demo users show.
		{name: "Profile", label: "Profile", plural: "Profiles", prefix: "00e", readOnly: true, fields: []*FieldDef{
			text("Name", "Name", 255).readOnly().nameField().required(),
			text("Description", "Description", 255).readOnly(),
		}},
		// RecordType is read-only here: the org's record types are its setup (New creates them).
		{name: "RecordType", label: "Record Type", plural: "Record Types", prefix: "012", readOnly: true, fields: []*FieldDef{
			text("Name", "Name", 80).readOnly().nameField().required(),
			text("DeveloperName", "Record Type Name", 80).readOnly().required(),
			text("NamespacePrefix", "Namespace Prefix", 15).readOnly(),
			text("Description", "Description", 255).readOnly(),
			picklist("SobjectType", "SObject Type Name", 40, "Account").readOnly().required().restricted(),
			boolean("IsActive", "Active").readOnly(),
			boolean("IsPersonType", "Is Person Type").readOnly(),
		}},
		{name: "EngagementInteraction", label: "Engagement Interaction", plural: "Engagement Interactions", prefix: "0Ze", since: 55, owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			text("Name", "Name", 30).nameField().auto(),
			ref("InitiatingAttendeeId", "InitiatingAttendee ID", "InitiatingAttendee", "", person...),
			datetime("StartDateTime", "Start Date Time").requiredOnSave(),
			datetime("EndDateTime", "End Date Time"),
			text("Duration", "Duration", 4000),
			picklist("CommunicationChannel", "Communication Channel", 255, "In Person", "Video Call", "Voice Call", "Web Chat").restricted().requiredOnSave(),
			picklist("Status", "Status", 100, "Completed", "In Progress", "New").restricted(),
			picklist("MappedState", "Mapped State", 40, "Completed", "InProgress", "New").restricted().readOnly().withDefault("New"),
			picklist("Type", "Type", 255, "Inbound", "Outbound").restricted(),
			picklist("Sentiment", "Sentiment", 255, "Negative", "Neutral", "Positive").restricted(),
			ref("ContextId", "Context ID", "Context", "", "ServiceAppointment", "Visit"),
			text("Reason", "Reason", 765).since(56),
			boolean("IsAttendeeVerified", "Is Attendee Verified"),
			boolean("IsAttendeeAuthenticated", "Is Attendee Authenticated"),
			datetime("AttendeeVerificationTime", "Attendee Verification Time"),
			phone("PhoneNumber", "Phone Number").since(57),
			// idLookup, but neither an external id nor unique: an upsert by it can match several.
			text("ExternalIdentifier", "External Identifier", 255).idLookup(),
			ref("RecordTypeId", "Record Type ID", "RecordType", "", "RecordType").since(62),
		}},
		{name: "EngagementAttendee", label: "Engagement Attendee", plural: "Engagement Attendees", prefix: "0Zf", since: 55, owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			text("Name", "Name", 30).nameField().auto(),
			ref("EngagementId", "Engagement ID", "Engagement", "EngagementAttendees", engagement...).required(),
			ref("ExternalAttendeeId", "External Attendee ID", "ExternalAttendee", "", person...),
			ref("InternalAttendeeId", "Internal Attendee ID", "InternalAttendee", "", "User"),
			picklist("Role", "Role", 255, "OnBehalf", "Self").since(56),
			boolean("IsVerified", "Is Verified").since(56),
			boolean("IsAuthenticated", "Is Authenticated").since(56),
			datetime("VerificationTime", "Verification Time").since(56),
			datetime("StartDateTime", "Start Date Time").requiredOnSave(),
			datetime("EndDateTime", "End Date Time"),
			ref("RecordTypeId", "Record Type ID", "RecordType", "", "RecordType").since(65),
		}},
		{name: "EngagementTopic", label: "Engagement Topic", plural: "Engagement Topics", prefix: "0Zg", since: 55, owner: true, viewed: true, searchable: true, fields: []*FieldDef{
			text("Name", "Name", 255).required().nameField().idLookup(),
			ref("EngagementId", "Engagement ID", "Engagement", "EngagementTopics", engagement...).required(),
			ref("RelatedPersonId", "RelatedPerson ID", "RelatedPerson", "", person...),
			ref("ParentTopicId", "Engagement Topic ID", "ParentTopic", "", "EngagementTopic"),
			ref("TopicId", "Topic ID", "Topic", "", "Asset", "Case", "Claim", "LoyaltyMemberTier", "LoyaltyProgramMember",
				"Opportunity", "Order", "ServiceAppointment", "Voucher", "TransactionJournal"),
			text("ProcessName", "Process Name", 255),
			picklist("ProcessType", "Process Type", 40, "Flow", "OmniScript", "QuickAction").restricted(),
			picklist("ProcessStatus", "Process Status", 255, "Cancelled", "Completed", "Failed", "Initiated").restricted(),
			// The org's administrator sets the values; Salesforce documents none.
			picklist("ProcessFailureReason", "Process Failure Reason", 255),
			text("InteractionSummary", "Interaction Summary", 765).since(56),
		}},
		{name: "AccountContactRelation", label: "Account Contact Relationship", plural: "Account Contact Relationships", prefix: "07k", since: 37, fields: []*FieldDef{
			ref("AccountId", "Account ID", "Account", "AccountContactRelations", "Account").required().createOnly(),
			ref("ContactId", "Contact ID", "Contact", "AccountContactRelations", "Contact").required().createOnly(),
			// Salesforce's standard values; an org adds its own (the demo org adds representative
			// roles, see DemoPicklistValues).
			multipicklist("Roles", "Roles", "Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker",
				"Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"),
			boolean("IsActive", "Active"),
			boolean("IsDirect", "Direct").readOnly(),
			date("StartDate", "Start Date"),
			date("EndDate", "End Date"),
		}},
		{name: "IdentityVerificationProcDef", label: "Identity Verification Process Definition", plural: "Identity Verification Process Definitions", prefix: "0ic", since: 54, fields: append(setupFields(),
			picklist("SearchLayoutType", "Search Layout Type", 255, "Stack", "Tab").restricted().required(),
		)},
		{name: "IdentityVerificationProcDtl", label: "Identity Verification Process Detail", plural: "Identity Verification Process Details", prefix: "0id", since: 54, fields: append(setupFields(),
			ref("IdentityVerificationProcDefId", "Identity Verification Process Definition ID", "IdentityVerificationProcDef", "IdentityVerificationProcDtls", "IdentityVerificationProcDef").required(),
			text("ObjectName", "Object Name", 80),
			picklist("SearchType", "Search Type", 255, "Object-Based", "Text-Based").restricted().required(),
			picklist("DataSourceType", "Data Source Type", 255, "External", "Salesforce").restricted().required(),
			ref("ApexClassId", "Class ID", "ApexClass", "", "ApexClass"),
			text("SearchFilter", "Search Filter", 255),
			text("SearchResultSortBy", "Search Result Sort By", 255),
			text("SearchRecordUniqueIdField", "Search Record Unique ID Field", 255),
			integer("SearchSequenceNumber", "Search Sequence Number").required(),
			integer("OptionalVerifiersMinVerfCount", "Optional Verifiers Minimum Verification Count"),
			ref("LinkedIdVerfProcessDetId", "Identity Verification Process Detail ID", "LinkedIdVerfProcessDet", "", "IdentityVerificationProcDtl").since(58),
			text("DisplayRecordFieldName", "Display Record Field Name", 30).since(58),
			boolean("IsActive", "Is Active"),
		)},
		{name: "IdentityVerificationProcFld", label: "Identity Verification Process Field", plural: "Identity Verification Process Fields", prefix: "0ie", since: 54, fields: append(setupFields(),
			ref("IdentityVerificationProcDtlId", "Identity Verification Process Detail ID", "IdentityVerificationProcDtl", "IdentityVerificationProcFlds", "IdentityVerificationProcDtl").required(),
			text("FieldName", "Field Name", 255).required(),
			picklist("FieldType", "Field Type", 255, "additionalResultField", "optionalVerifier", "requiredVerifier", "resultField", "searchField", "searchFilter").restricted().required(),
			picklist("DataSourceType", "Data Source Type", 255, "External", "Salesforce").restricted().required(),
			// Not createable nor updateable ("Filter, Group, Nillable, Restricted picklist, Sort"):
			// only the org's setup (the demo seed) writes it.
			picklist("FieldDataType", "Field Data Type", 255, "address", "checkbox", "currency", "dateonly", "datetime", "email",
				"number", "other", "percent", "phone", "picklist", "reference", "text", "timeonly", "url").restricted().readOnly(),
			text("FieldValueFormula", "Field Value Formula", 255),
			integer("SequenceNumber", "Sequence Number").required(),
			text("CustomFieldLabel", "Custom Field Label", 255),
			boolean("IsManualInput", "Manual Input").since(58),
			boolean("IsActive", "Active"),
		)},
	}
}

// newSchema builds the standard schema plus the custom fields and the picklist values the org
// added, and the views older API versions see (Schema.At).
func newSchema(custom []CustomField, added []PicklistValues, indexes []string) (*Schema, error) {
	s := &Schema{byName: map[string]*SObject{}, byPrefix: map[string]*SObject{}}
	tails := map[*SObject]int{}
	for _, spec := range standardObjects() {
		o := &SObject{name: spec.name, label: spec.label, labelPlural: spec.plural, keyPrefix: spec.prefix,
			since: spec.since, searchable: spec.searchable,
			createable: !spec.readOnly, updateable: !spec.readOnly, deletable: !spec.readOnly && !spec.noDelete}
		head, tail := systemFields(spec)
		// Id first, then the object's own fields, then the audit fields, as Salesforce orders them.
		o.fields = append(append(append(o.fields, head...), spec.fields...), tail...)
		tails[o] = len(tail)
		o.full = o
		if o.name == "Account" {
			o.recordTypes = accountRecordTypes
		}
		s.objects = append(s.objects, o)
		s.byName[strings.ToLower(o.name)] = o
		s.byPrefix[o.keyPrefix] = o
	}
	for _, cf := range custom {
		o, ok := s.Lookup(cf.Object)
		if !ok {
			return nil, fmt.Errorf("orgdb: custom field %s: no object %q", cf.Name, cf.Object)
		}
		if !strings.HasSuffix(cf.Name, "__c") || len(cf.Name) < 4 {
			return nil, fmt.Errorf("orgdb: custom field %s.%s: name must end in __c", cf.Object, cf.Name)
		}
		for _, f := range o.fields {
			if strings.EqualFold(f.Name, cf.Name) {
				return nil, fmt.Errorf("orgdb: custom field %s.%s declared twice", o.name, cf.Name)
			}
		}
		f := newField(cf.Name, cf.Label, cf.Type, cf.Length)
		if f.Label == "" {
			f.Label = strings.ReplaceAll(strings.TrimSuffix(cf.Name, "__c"), "_", " ")
		}
		switch cf.Type {
		case "string", "textarea", "phone", "email", "url", "picklist", "multipicklist":
			if f.Length == 0 {
				f.Length = map[string]int{"string": 255, "textarea": 32768, "phone": 40, "email": 80, "url": 255, "picklist": 255, "multipicklist": 4099}[cf.Type]
			}
		case "boolean":
			f.Nillable, f.DefaultedOnCreate = false, true
		case "date", "datetime", "double", "int", "currency", "percent":
		default:
			return nil, fmt.Errorf("orgdb: custom field %s.%s: unsupported type %q", o.name, cf.Name, cf.Type)
		}
		f.Custom, f.ExternalID, f.Unique = true, cf.ExternalID, cf.Unique
		f.IDLookup = cf.ExternalID || cf.Unique
		for _, v := range cf.Picklist {
			f.Picklist = append(f.Picklist, PicklistValue{Value: v, Label: v})
		}
		// Custom fields go before the audit fields.
		n := len(o.fields) - tails[o]
		o.fields = append(o.fields[:n], append([]*FieldDef{f}, o.fields[n:]...)...)
	}
	for _, a := range added {
		if err := s.addPicklistValues(a); err != nil {
			return nil, err
		}
	}
	sort.Slice(s.objects, func(i, j int) bool { return s.objects[i].name < s.objects[j].name })
	for i, o := range s.objects {
		o.index = i
		for j, f := range o.fields {
			f.index = j
			// The engine follows references to the objects this org has; describe lists every
			// documented target.
			f.ReferenceTo = nil
			for _, to := range f.documentedTo {
				if t, ok := s.Lookup(to); ok {
					f.ReferenceTo = append(f.ReferenceTo, t.name)
				}
			}
			f.indexed = f.Type == "reference" || f.Type == "phone" || f.Type == "email" ||
				f.NameField || f.ExternalID || f.Unique || f.IDLookup
			switch f.Name {
			case "Id", "OwnerId", "CreatedById", "LastModifiedById":
				// The id map serves Id; the audit references would make one huge bucket.
				f.indexed = false
			}
		}
	}
	s.link()
	for _, name := range indexes {
		obj, field, _ := strings.Cut(name, ".")
		o, ok := s.Lookup(obj)
		var f *FieldDef
		if ok {
			f, ok = o.Field(field)
		}
		if !ok {
			return nil, fmt.Errorf("orgdb: custom index %q: no such field", name)
		}
		if !f.isText() || f.Type == "textarea" || f.Type == "multipicklist" {
			return nil, fmt.Errorf("orgdb: custom index %q: a %s field cannot take one here", name, f.Type)
		}
		f.indexed = true
	}
	s.views = s.versionViews()
	return s, nil
}

// PicklistValues are values an org's administrator added to a standard picklist field.
type PicklistValues struct {
	Object, Field string
	Values        []string
}

func (s *Schema) addPicklistValues(a PicklistValues) error {
	o, ok := s.Lookup(a.Object)
	if !ok {
		return fmt.Errorf("orgdb: picklist values for %s.%s: no object %q", a.Object, a.Field, a.Object)
	}
	var f *FieldDef
	for _, fd := range o.fields {
		if strings.EqualFold(fd.Name, a.Field) {
			f = fd
		}
	}
	if f == nil || f.Type != "picklist" && f.Type != "multipicklist" {
		return fmt.Errorf("orgdb: picklist values for %s.%s: no picklist field %q", a.Object, a.Field, a.Field)
	}
	for _, v := range a.Values {
		if _, dup := f.picklistValue(v); dup {
			return fmt.Errorf("orgdb: picklist values for %s.%s: %q is already a value", o.name, f.Name, v)
		}
		f.Picklist = append(f.Picklist, PicklistValue{Value: v, Label: v})
	}
	return nil
}

// link builds the name maps, the relationships and the child relationships of every object.
func (s *Schema) link() {
	for _, o := range s.objects {
		o.byName = make(map[string]*FieldDef, len(o.fields))
		o.byCanon = make(map[string]*FieldDef, len(o.fields))
		o.byRelationship = map[string]*FieldDef{}
		o.children, o.childByName = nil, map[string]childRel{}
	}
	for _, o := range s.objects {
		for _, f := range o.fields {
			o.byName[strings.ToLower(f.Name)] = f
			o.byCanon[f.Name] = f
			if f.RelationshipName != "" && s.hasAny(f.ReferenceTo) {
				o.byRelationship[strings.ToLower(f.RelationshipName)] = f
			}
		}
	}
	for _, o := range s.objects {
		for _, f := range o.fields {
			if f.ChildRelationship == "" {
				continue
			}
			for _, to := range f.ReferenceTo {
				p, ok := s.Lookup(to)
				if !ok {
					continue
				}
				cr := childRel{name: f.ChildRelationship, child: o, field: f}
				p.children = append(p.children, cr)
				p.childByName[strings.ToLower(cr.name)] = cr
			}
		}
	}
}

func (s *Schema) hasAny(names []string) bool {
	for _, n := range names {
		if _, ok := s.Lookup(n); ok {
			return true
		}
	}
	return false
}

// versionViews builds, for every API version that added an object or a field, the schema as
// that version sees it, oldest first. Views share the FieldDefs (and so the row layout) of the
// newest schema.
func (s *Schema) versionViews() []*Schema {
	var versions []int
	seen := map[int]bool{}
	note := func(v int) {
		if !seen[v] {
			seen[v] = true
			versions = append(versions, v)
		}
	}
	note(0)
	for _, o := range s.objects {
		note(o.since)
		for _, f := range o.fields {
			note(max(f.Since, o.since))
		}
	}
	sort.Ints(versions)
	views := make([]*Schema, 0, len(versions))
	for _, v := range versions {
		view := &Schema{byName: map[string]*SObject{}, byPrefix: map[string]*SObject{}, version: v}
		for _, o := range s.objects {
			if o.since > v {
				continue
			}
			vo := *o
			vo.fields = nil
			for _, f := range o.fields {
				if f.Since <= v {
					vo.fields = append(vo.fields, f)
				}
			}
			view.objects = append(view.objects, &vo)
			view.byName[strings.ToLower(vo.name)] = &vo
			view.byPrefix[vo.keyPrefix] = &vo
		}
		view.link()
		views = append(views, view)
	}
	return views
}
