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

	ReferenceTo       []string // reference fields: the object types it may point at
	RelationshipName  string   // reference fields: the parent relationship, e.g. "Account"
	ChildRelationship string   // reference fields: the name on the parent side, e.g. "Contacts"

	index   int  // position in the row
	indexed bool // an equality index is kept for it
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value        string
	Label        string
	DefaultValue bool
}

// SObject is one object's describe metadata. The schema owns it: treat it as read-only.
type SObject struct {
	name, label, labelPlural, keyPrefix string
	custom                              bool
	createable, updateable, deletable   bool
	searchable                          bool
	fields                              []*FieldDef
	byName                              map[string]*FieldDef // lower-cased name
	byCanon                             map[string]*FieldDef // canonical name
	byRelationship                      map[string]*FieldDef // lower-cased relationship name
	children                            []childRel
	childByName                         map[string]childRel // lower-cased relationship name
	index                               int
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

// Schema is every sObject the org knows, by name (case-insensitive lookups).
type Schema struct {
	objects  []*SObject
	byName   map[string]*SObject // lower-cased
	byPrefix map[string]*SObject
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

func boolean(name, label string) *FieldDef {
	f := newField(name, label, "boolean", 0)
	f.Nillable, f.DefaultedOnCreate = false, true
	return f
}

func picklist(name, label string, values ...string) *FieldDef {
	f := newField(name, label, "picklist", 255)
	for _, v := range values {
		f.Picklist = append(f.Picklist, PicklistValue{Value: v, Label: v})
	}
	return f
}

func multipicklist(name, label string, values ...string) *FieldDef {
	f := picklist(name, label, values...)
	f.Type, f.Length = "multipicklist", 4099
	return f
}

func ref(name, label, relationship, children string, to ...string) *FieldDef {
	f := newField(name, label, "reference", 18)
	f.RelationshipName, f.ChildRelationship, f.ReferenceTo = relationship, children, to
	return f
}

func (f *FieldDef) required() *FieldDef   { f.Nillable = false; return f }
func (f *FieldDef) restricted() *FieldDef { f.RestrictedPicklist = true; return f }
func (f *FieldDef) readOnly() *FieldDef   { f.Createable, f.Updateable = false, false; return f }
func (f *FieldDef) createOnly() *FieldDef { f.Updateable = false; return f }
func (f *FieldDef) nameField() *FieldDef  { f.NameField = true; return f }
func (f *FieldDef) external() *FieldDef {
	f.ExternalID, f.IDLookup, f.Unique = true, true, true
	return f
}
func (f *FieldDef) idLookup() *FieldDef { f.IDLookup = true; return f }
func (f *FieldDef) withDefault(v string) *FieldDef {
	for i := range f.Picklist {
		f.Picklist[i].DefaultValue = f.Picklist[i].Value == v
	}
	f.DefaultedOnCreate = true
	return f
}
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

type objectSpec struct {
	name, label, plural, prefix string
	owner                       bool // has OwnerId
	fields                      []*FieldDef
}

func systemFields(owner bool) []*FieldDef {
	fs := []*FieldDef{
		newField("Id", "Record ID", "id", 18).readOnly().idLookup(),
	}
	fs[0].Nillable, fs[0].DefaultedOnCreate = false, true
	if owner {
		o := ref("OwnerId", "Owner ID", "Owner", "", "User").required()
		o.DefaultedOnCreate = true
		fs = append(fs, o)
	}
	del := boolean("IsDeleted", "Deleted").readOnly()
	cd := datetime("CreatedDate", "Created Date").readOnly().required()
	cb := ref("CreatedById", "Created By ID", "CreatedBy", "", "User").readOnly().required()
	md := datetime("LastModifiedDate", "Last Modified Date").readOnly().required()
	mb := ref("LastModifiedById", "Last Modified By ID", "LastModifiedBy", "", "User").readOnly().required()
	sm := datetime("SystemModstamp", "System Modstamp").readOnly().required()
	for _, f := range []*FieldDef{cd, cb, md, mb, sm} {
		f.DefaultedOnCreate = true
	}
	return append(fs, del, cd, cb, md, mb, sm)
}

func standardObjects() []objectSpec {
	person := []string{"Account", "Contact", "Lead"}
	salutation := func() *FieldDef {
		return picklist("Salutation", "Salutation", "Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
	}
	return []objectSpec{
		{name: "Account", label: "Account", plural: "Accounts", prefix: "001", owner: true, fields: []*FieldDef{
			text("Name", "Account Name", 255).required().nameField().idLookup(),
			text("AccountNumber", "Account Number", 40),
			picklist("Type", "Account Type", "Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
			ref("ParentId", "Parent Account ID", "Parent", "ChildAccounts", "Account"),
			phone("Phone", "Account Phone"),
			phone("Fax", "Account Fax"),
			url("Website", "Website"),
			picklist("Industry", "Industry", "Banking", "Finance", "Healthcare", "Insurance", "Retail", "Technology", "Telecommunications", "Other"),
			area("BillingStreet", "Billing Street", 255),
			text("BillingCity", "Billing City", 40),
			text("BillingState", "Billing State/Province", 80),
			text("BillingPostalCode", "Billing Zip/Postal Code", 20),
			text("BillingCountry", "Billing Country", 80),
			text("ShippingPostalCode", "Shipping Zip/Postal Code", 20),
			area("Description", "Account Description", 32000),
			boolean("IsPersonAccount", "Is Person Account").createOnly(),
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80),
			ref("PersonContactId", "Person Contact ID", "PersonContact", "", "Contact").readOnly(),
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
		{name: "Contact", label: "Contact", plural: "Contacts", prefix: "003", owner: true, fields: []*FieldDef{
			ref("AccountId", "Account ID", "Account", "Contacts", "Account"),
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80).required(),
			text("Name", "Full Name", 121).readOnly().nameField().idLookup(),
			text("Title", "Title", 128),
			text("Department", "Department", 80),
			date("Birthdate", "Birthdate"),
			phone("Phone", "Business Phone"),
			phone("MobilePhone", "Mobile Phone"),
			phone("HomePhone", "Home Phone"),
			phone("OtherPhone", "Other Phone"),
			email("Email", "Email"),
			area("MailingStreet", "Mailing Street", 255),
			text("MailingCity", "Mailing City", 40),
			text("MailingState", "Mailing State/Province", 80),
			text("MailingPostalCode", "Mailing Zip/Postal Code", 20),
			text("MailingCountry", "Mailing Country", 80),
			ref("ReportsToId", "Reports To ID", "ReportsTo", "", "Contact"),
			picklist("LeadSource", "Lead Source", "Web", "Phone Inquiry", "Partner Referral", "Other"),
			area("Description", "Contact Description", 32000),
			boolean("IsPersonAccount", "Is Person Account").readOnly(),
		}},
		{name: "Lead", label: "Lead", plural: "Leads", prefix: "00Q", owner: true, fields: []*FieldDef{
			salutation(),
			text("FirstName", "First Name", 40),
			text("LastName", "Last Name", 80).required(),
			text("Name", "Full Name", 121).readOnly().nameField().idLookup(),
			text("Company", "Company", 255).required(),
			text("Title", "Title", 128),
			phone("Phone", "Phone"),
			phone("MobilePhone", "Mobile Phone"),
			email("Email", "Email"),
			area("Street", "Street", 255),
			text("City", "City", 40),
			text("State", "State/Province", 80),
			text("PostalCode", "Zip/Postal Code", 20),
			text("Country", "Country", 80),
			picklist("Status", "Status", "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted").required().restricted().withDefault("Open - Not Contacted"),
			picklist("LeadSource", "Lead Source", "Web", "Phone Inquiry", "Partner Referral", "Other"),
			boolean("IsConverted", "Converted"),
			ref("ConvertedAccountId", "Converted Account ID", "ConvertedAccount", "", "Account").readOnly(),
			ref("ConvertedContactId", "Converted Contact ID", "ConvertedContact", "", "Contact").readOnly(),
			area("Description", "Description", 32000),
		}},
		{name: "User", label: "User", plural: "Users", prefix: "005", fields: []*FieldDef{
			text("Username", "Username", 80).required().idLookup(),
			text("LastName", "Last Name", 80).required(),
			text("FirstName", "First Name", 40),
			text("Name", "Full Name", 121).readOnly().nameField().idLookup(),
			text("Alias", "Alias", 8).required(),
			email("Email", "Email").required(),
			phone("Phone", "Phone"),
			boolean("IsActive", "Active"),
			picklist("UserType", "User Type", "Standard", "PowerPartner", "CspLitePortal", "CsnOnly", "Guest").readOnly(),
			picklist("TimeZoneSidKey", "Time Zone", "GMT", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles").required().restricted(),
			picklist("LocaleSidKey", "Locale", "en_US", "en_GB", "fr_FR", "de_DE").required().restricted(),
			picklist("LanguageLocaleKey", "Language", "en_US", "fr", "de").required().restricted(),
			picklist("EmailEncodingKey", "Email Encoding", "UTF-8", "ISO-8859-1").required().restricted(),
		}},
		{name: "Organization", label: "Organization", plural: "Organizations", prefix: "00D", fields: []*FieldDef{
			text("Name", "Name", 80).readOnly().nameField(),
			text("InstanceName", "Instance Name", 5).readOnly(),
			boolean("IsSandbox", "Is Sandbox").readOnly(),
			picklist("OrganizationType", "Edition", "Developer Edition", "Enterprise Edition", "Unlimited Edition").readOnly(),
			text("Country", "Country", 80).readOnly(),
			picklist("DefaultLocaleSidKey", "Locale", "en_US").readOnly(),
			picklist("LanguageLocaleKey", "Language", "en_US").readOnly(),
			picklist("TimeZoneSidKey", "Time Zone", "GMT").readOnly(),
		}},
		{name: "EngagementInteraction", label: "Engagement Interaction", plural: "Engagement Interactions", prefix: "0Ze", owner: true, fields: []*FieldDef{
			text("Name", "Engagement Interaction Name", 80).nameField().auto(),
			ref("InitiatingAttendeeId", "Initiating Attendee ID", "InitiatingAttendee", "", person...),
			datetime("StartDateTime", "Start Date Time"),
			datetime("EndDateTime", "End Date Time"),
			text("Duration", "Duration", 255).readOnly(),
			picklist("CommunicationChannel", "Communication Channel", "In Person", "Video Call", "Voice Call", "Web Chat").restricted().required(),
			picklist("Status", "Status", "New", "In Progress", "Completed").restricted(),
			picklist("Type", "Type", "Inbound", "Outbound").restricted(),
			text("Reason", "Reason", 765),
			boolean("IsAttendeeVerified", "Is Attendee Verified"),
			boolean("IsAttendeeAuthenticated", "Is Attendee Authenticated"),
			datetime("AttendeeVerificationTime", "Attendee Verification Time"),
			phone("PhoneNumber", "Phone Number"),
			text("ExternalIdentifier", "External Identifier", 255).external(),
		}},
		{name: "EngagementAttendee", label: "Engagement Attendee", plural: "Engagement Attendees", prefix: "0Zf", owner: true, fields: []*FieldDef{
			text("Name", "Engagement Attendee Name", 80).nameField().auto(),
			ref("EngagementId", "Engagement ID", "Engagement", "EngagementAttendees", "EngagementInteraction").required(),
			ref("ExternalAttendeeId", "External Attendee ID", "ExternalAttendee", "", person...),
			ref("InternalAttendeeId", "Internal Attendee ID", "InternalAttendee", "", "User"),
			picklist("Role", "Role", "Self", "OnBehalf").restricted(),
			boolean("IsVerified", "Is Verified"),
			boolean("IsAuthenticated", "Is Authenticated"),
			datetime("VerificationTime", "Verification Time"),
			datetime("StartDateTime", "Start Date Time").required(),
			datetime("EndDateTime", "End Date Time"),
		}},
		{name: "EngagementTopic", label: "Engagement Topic", plural: "Engagement Topics", prefix: "0Zg", owner: true, fields: []*FieldDef{
			text("Name", "Name", 255).required().nameField().idLookup(),
			ref("EngagementId", "Engagement ID", "Engagement", "EngagementTopics", "EngagementInteraction"),
			ref("RelatedPersonId", "Related Person ID", "RelatedPerson", "", person...),
			text("ProcessName", "Process Name", 255),
			picklist("ProcessType", "Process Type", "Flow", "OmniScript", "QuickAction").restricted(),
			picklist("ProcessStatus", "Process Status", "Initiated", "Completed", "Failed", "Cancelled").restricted(),
			text("ProcessFailureReason", "Process Failure Reason", 255),
			area("InteractionSummary", "Interaction Summary", 32000),
		}},
		{name: "AccountContactRelation", label: "Account Contact Relationship", plural: "Account Contact Relationships", prefix: "07k", fields: []*FieldDef{
			ref("AccountId", "Account ID", "Account", "AccountContactRelations", "Account").required().createOnly(),
			ref("ContactId", "Contact ID", "Contact", "AccountContactRelations", "Contact").required().createOnly(),
			multipicklist("Roles", "Roles", "Authorized Representative", "Power of Attorney", "Legal Guardian", "Spouse", "Business User", "Decision Maker", "Economic Buyer", "Technical Buyer", "Influencer", "Other"),
			boolean("IsActive", "Active"),
			boolean("IsDirect", "Direct").readOnly(),
			date("StartDate", "Start Date"),
			date("EndDate", "End Date"),
			picklist("Relationship", "Relationship", "Spouse", "Parent", "Child", "Guardian", "Attorney", "Other"),
		}},
		{name: "IdentityVerificationProcDef", label: "Identity Verification Process Definition", plural: "Identity Verification Process Definitions", prefix: "0ic", fields: []*FieldDef{
			text("DeveloperName", "Name", 80).required().idLookup(),
			text("MasterLabel", "Label", 80).required().nameField(),
			picklist("Language", "Language", "en_US").withDefault("en_US"),
			text("NamespacePrefix", "Namespace Prefix", 15).readOnly(),
			picklist("SearchLayoutType", "Search Layout Type", "ListView", "Cards").withDefault("ListView"),
		}},
		{name: "IdentityVerificationProcDtl", label: "Identity Verification Process Detail", plural: "Identity Verification Process Details", prefix: "0id", fields: []*FieldDef{
			text("DeveloperName", "Name", 80).required().idLookup(),
			text("MasterLabel", "Label", 80).required().nameField(),
			picklist("Language", "Language", "en_US").withDefault("en_US"),
			ref("IdentityVerificationProcDefId", "Identity Verification Process Definition ID", "IdentityVerificationProcDef", "IdentityVerificationProcDtls", "IdentityVerificationProcDef").required(),
			text("ObjectName", "Object Name", 255),
			picklist("SearchType", "Search Type", "Text-Based", "Object-Based").restricted(),
			picklist("DataSourceType", "Data Source Type", "Salesforce", "External").restricted().withDefault("Salesforce"),
			area("SearchFilter", "Search Filter", 1000),
			text("SearchResultSortBy", "Search Result Sort By", 255),
			text("SearchRecordUniqueIdField", "Search Record Unique Id Field", 255),
			integer("SearchSequenceNumber", "Search Sequence Number"),
			integer("OptionalVerifiersMinVerfCount", "Optional Verifiers Minimum Verification Count"),
			ref("LinkedIdVerfProcessDetId", "Linked Verification Process Detail ID", "LinkedIdVerfProcessDet", "", "IdentityVerificationProcDtl"),
			text("DisplayRecordFieldName", "Display Record Field Name", 255),
			boolean("IsActive", "Active"),
		}},
		{name: "IdentityVerificationProcFld", label: "Identity Verification Process Field", plural: "Identity Verification Process Fields", prefix: "0ie", fields: []*FieldDef{
			text("DeveloperName", "Name", 80).required().idLookup(),
			text("MasterLabel", "Label", 80).required().nameField(),
			picklist("Language", "Language", "en_US").withDefault("en_US"),
			ref("IdentityVerificationProcDtlId", "Identity Verification Process Detail ID", "IdentityVerificationProcDtl", "IdentityVerificationProcFlds", "IdentityVerificationProcDtl").required(),
			text("FieldName", "Field Name", 255),
			picklist("FieldType", "Field Type", "requiredVerifier", "optionalVerifier", "resultField", "additionalResultField", "searchField", "searchFilter").restricted(),
			text("FieldDataType", "Field Data Type", 255),
			integer("SequenceNumber", "Sequence Number"),
			text("CustomFieldLabel", "Custom Field Label", 255),
			boolean("IsManualInput", "Manual Input"),
			boolean("IsActive", "Active"),
		}},
	}
}

// newSchema builds the standard schema plus the custom fields.
func newSchema(custom []CustomField) (*Schema, error) {
	s := &Schema{byName: map[string]*SObject{}, byPrefix: map[string]*SObject{}}
	for _, spec := range standardObjects() {
		o := &SObject{name: spec.name, label: spec.label, labelPlural: spec.plural, keyPrefix: spec.prefix,
			createable: spec.name != "Organization", updateable: spec.name != "Organization",
			deletable:  spec.name != "Organization" && spec.name != "User",
			searchable: spec.name == "Account" || spec.name == "Contact" || spec.name == "Lead" || spec.name == "User",
			byName:     map[string]*FieldDef{}, byCanon: map[string]*FieldDef{}, byRelationship: map[string]*FieldDef{}, childByName: map[string]childRel{}}
		sys := systemFields(spec.owner)
		// Id first, then the object's own fields, then the audit fields, as Salesforce orders them.
		o.fields = append(o.fields, sys[0])
		rest := sys[1:]
		if spec.owner {
			o.fields = append(o.fields, sys[1])
			rest = sys[2:]
		}
		o.fields = append(o.fields, rest[0]) // IsDeleted
		o.fields = append(o.fields, spec.fields...)
		o.fields = append(o.fields, rest[1:]...)
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
		n := len(o.fields) - 5
		o.fields = append(o.fields[:n], append([]*FieldDef{f}, o.fields[n:]...)...)
	}
	sort.Slice(s.objects, func(i, j int) bool { return s.objects[i].name < s.objects[j].name })
	for i, o := range s.objects {
		o.index = i
		for j, f := range o.fields {
			f.index = j
			o.byName[strings.ToLower(f.Name)] = f
			o.byCanon[f.Name] = f
			o.byCanon[f.Name] = f
			if f.RelationshipName != "" {
				o.byRelationship[strings.ToLower(f.RelationshipName)] = f
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
	for _, o := range s.objects {
		for _, f := range o.fields {
			if f.ChildRelationship == "" {
				continue
			}
			for _, to := range f.ReferenceTo {
				p := s.byName[strings.ToLower(to)]
				cr := childRel{name: f.ChildRelationship, child: o, field: f}
				p.children = append(p.children, cr)
				p.childByName[strings.ToLower(cr.name)] = cr
			}
		}
	}
	return s, nil
}
