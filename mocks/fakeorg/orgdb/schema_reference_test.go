package orgdb

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold the fake's describe against tables written from Salesforce's reference, one
// table per object the product touches. A row is one field as the reference gives it:
//
//   - props is the field's Properties list, verbatim from the object reference page; the test
//     checks Create, Update, Nillable, Defaulted on create, idLookup, Restricted picklist,
//     Autonumber, External ID and Unique (Filter, Group and Sort are not modelled);
//   - label, type and length come from the Salesforce Field Reference's table for the object;
//   - values, to and rel are the picklist values, the "Refers To" list and the relationship name
//     the object page gives; deflt the default its description states;
//   - since is the "available in API version N" note of the field's own description; fields
//     without one appeared with their object;
//   - saveRequired marks a field the reference describes as "Required." while listing it
//     Nillable: describe says nillable, and a save without a value fails;
//   - src names the page the row is written from (the constants below).
//
// Where the fake knowingly differs from a row, the row holds the fake's value and says why.
// Account, Contact and Lead have many more fields than the fake models; their tables list the
// fields the fake has, and the fake has no field the reference does not.

// The reference pages.
const (
	pageEI      = "Industries Common Resources Developer Guide, EngagementInteraction: https://developer.salesforce.com/docs/atlas.en-us.industries_reference.meta/industries_reference/sforce_api_objects_engagementinteraction.htm"
	fieldsEI    = "Salesforce Field Reference, EngagementInteraction: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-engagementinteraction.html"
	pageEA      = "Industries Common Resources Developer Guide, EngagementAttendee: https://developer.salesforce.com/docs/atlas.en-us.industries_reference.meta/industries_reference/sforce_api_objects_engagementattendee.htm"
	fieldsEA    = "Salesforce Field Reference, EngagementAttendee: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-engagementattendee.html"
	pageET      = "Manufacturing Cloud Developer Guide, EngagementTopic: https://developer.salesforce.com/docs/atlas.en-us.mfg_api_devguide.meta/mfg_api_devguide/sforce_api_objects_engagement_topic.htm"
	fieldsET    = "Salesforce Field Reference, EngagementTopic: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-engagementtopic.html"
	pageACR     = "Object Reference, AccountContactRelation: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_accountcontactrelation.htm"
	pageACRPSS  = "Public Sector Solutions Developer Guide, AccountContactRelation (IsActive, IsDirect defaults): https://developer.salesforce.com/docs/atlas.en-us.psc_api.meta/psc_api/sforce_api_objects_accountcontactrelation.htm"
	pageAccount = "Object Reference, Account: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_account.htm"
	fieldsAcct  = "Salesforce Field Reference, Account: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-account.html"
	pageContact = "Object Reference, Contact: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm"
	fieldsCon   = "Salesforce Field Reference, Contact: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-contact.html"
	pageLead    = "Object Reference, Lead: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm"
	fieldsLead  = "Salesforce Field Reference, Lead: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html"
	// The IdentityVerificationProc* objects' data API pages (the "Identity Verification Data
	// Model"), not their Tooling API pages (tooling_api_objects_*), which list the same fields
	// without Create or Update because the Tooling API writes them through FullName and Metadata.
	pageDef    = "Industries Common Resources Developer Guide, IdentityVerificationProcDef: https://developer.salesforce.com/docs/industries/industries-common-dev/guide/sforce-api-objects-identityverificationprocdef.html"
	pageDtl    = "Industries Common Resources Developer Guide, IdentityVerificationProcDtl: https://developer.salesforce.com/docs/industries/industries-common-dev/guide/sforce-api-objects-identityverificationprocdtl.html"
	pageDtlPSC = "Public Sector Solutions Developer Guide, IdentityVerificationProcDtl: https://developer.salesforce.com/docs/atlas.en-us.psc_api.meta/psc_api/sforce_api_objects_identityverificationprocdtl.htm"
	fieldsDtl  = "Salesforce Field Reference, IdentityVerificationProcDtl: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-identityverificationprocdtl.html"
	pageFld    = "Industries Common Resources Developer Guide, IdentityVerificationProcFld: https://developer.salesforce.com/docs/industries/industries-common-dev/guide/sforce-api-objects-identityverificationprocfld.html"
	pageFldPSC = "Public Sector Solutions Developer Guide, IdentityVerificationProcFld: https://developer.salesforce.com/docs/atlas.en-us.psc_api.meta/psc_api/sforce_api_objects_identityverificationprocfld.htm"
	fieldsFld  = "Salesforce Field Reference, IdentityVerificationProcFld: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-identityverificationprocfld.html"
	fieldsDef  = "Salesforce Field Reference, IdentityVerificationProcDef: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-identityverificationprocdef.html"
	metaDef    = "Metadata API Developer Guide, IdentityVerificationProcDef: https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_identityverificationprocdef.htm"
	pageSystem = "Object Reference, System Fields: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/system_fields.htm"
)

type refField struct {
	name, label, typ string
	length           int
	props            string
	values           []string
	deflt            any
	to               []string
	rel              string
	since            int
	saveRequired     bool
	src              string
}

// refObject is one object's table.
type refObject struct {
	name   string
	since  int // "This object is available in API version N and later"
	src    string
	owner  bool // has OwnerId (the page lists it)
	viewed bool // has LastViewedDate and LastReferencedDate (the page lists them)
	fields []refField
}

// languages18 are the values of the IdentityVerificationProc* objects' Language picklist.
var languages18 = []string{"da", "de", "en_US", "es", "es_MX", "fi", "fr", "it", "ja", "ko", "nl_NL", "no", "pt_BR", "ru", "sv", "th", "zh_CN", "zh_TW"}

var referenceObjects = []refObject{
	{name: "EngagementInteraction", since: 55, src: pageEI, owner: true, viewed: true, fields: []refField{
		{"AttendeeVerificationTime", "Attendee Verification Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageEI},
		{"CommunicationChannel", "Communication Channel", "picklist", 255, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"In Person", "Video Call", "Voice Call", "Web Chat"}, nil, nil, "", 0, true, pageEI},
		{"ContextId", "Context ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"ServiceAppointment", "Visit"}, "Context", 0, false, pageEI},
		// The page says "Read-only" in the description but lists Create and Update: describe
		// follows the properties. The fake does not compute it (its format is undocumented).
		{"Duration", "Duration", "string", 4000, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageEI + "; " + fieldsEI},
		{"EndDateTime", "End Date Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageEI},
		{"ExternalIdentifier", "External Identifier", "string", 255, "Create, Filter, Group, idLookup, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageEI},
		{"InitiatingAttendeeId", "InitiatingAttendee ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Account", "Contact", "Lead"}, "InitiatingAttendee", 0, false, pageEI},
		{"IsAttendeeAuthenticated", "Is Attendee Authenticated", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 0, false, pageEI},
		{"IsAttendeeVerified", "Is Attendee Verified", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 0, false, pageEI},
		{"MappedState", "Mapped State", "picklist", 40, "Defaulted on create, Filter, Group, Nillable, Restricted picklist, Sort", []string{"Completed", "InProgress", "New"}, "New", nil, "", 0, false, pageEI},
		{"Name", "Name", "string", 30, "Autonumber, Defaulted on create, Filter, idLookup, Sort", nil, nil, nil, "", 0, false, pageEI + "; " + fieldsEI},
		{"PhoneNumber", "Phone Number", "phone", 40, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 57, false, pageEI},
		{"Reason", "Reason", "string", 765, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 56, false, pageEI + "; " + fieldsEI},
		{"RecordTypeId", "Record Type ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"RecordType"}, "RecordType", 62, false, pageEI},
		{"Sentiment", "Sentiment", "picklist", 255, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"Negative", "Neutral", "Positive"}, nil, nil, "", 0, false, pageEI},
		{"StartDateTime", "Start Date Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, true, pageEI},
		{"Status", "Status", "picklist", 100, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"Completed", "In Progress", "New"}, nil, nil, "", 0, false, pageEI + "; " + fieldsEI},
		{"Type", "Type", "picklist", 255, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"Inbound", "Outbound"}, nil, nil, "", 0, false, pageEI},
	}},
	{name: "EngagementAttendee", since: 55, src: pageEA, owner: true, viewed: true, fields: []refField{
		{"EndDateTime", "End Date Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageEA},
		{"EngagementId", "Engagement ID", "reference", 18, "Create, Filter, Group, Sort, Update", nil, nil, []string{"EngagementInteraction", "MessagingSession", "VoiceCall"}, "Engagement", 0, false, pageEA},
		{"ExternalAttendeeId", "External Attendee ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Account", "Contact", "Lead"}, "ExternalAttendee", 0, false, pageEA},
		{"InternalAttendeeId", "Internal Attendee ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"User"}, "InternalAttendee", 0, false, pageEA},
		{"IsAuthenticated", "Is Authenticated", "boolean", 0, "Create, Defaulted on Create, Filter, Group, Sort, Update", nil, false, nil, "", 56, false, pageEA},
		{"IsVerified", "Is Verified", "boolean", 0, "Create, Defaulted on Create, Filter, Group, Sort, Update", nil, false, nil, "", 56, false, pageEA},
		{"Name", "Name", "string", 30, "Autonumber, Defaulted on create, Filter, idLookup, Sort", nil, nil, nil, "", 0, false, pageEA + "; " + fieldsEA},
		{"RecordTypeId", "Record Type ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"RecordType"}, "RecordType", 65, false, pageEA},
		{"Role", "Role", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", []string{"OnBehalf", "Self"}, nil, nil, "", 56, false, pageEA},
		{"StartDateTime", "Start Date Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 0, true, pageEA},
		{"VerificationTime", "Verification Time", "datetime", 0, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 56, false, pageEA},
	}},
	{name: "EngagementTopic", since: 55, src: pageET, owner: true, viewed: true, fields: []refField{
		{"EngagementId", "Engagement ID", "reference", 18, "Create, Filter, Group, Sort, Update", nil, nil, []string{"EngagementInteraction", "MessagingSession", "VoiceCall"}, "Engagement", 0, false, pageET},
		{"InteractionSummary", "Interaction Summary", "string", 765, "Create, Filter, Nillable, Sort, Update", nil, nil, nil, "", 56, false, pageET + "; " + fieldsET},
		{"Name", "Name", "string", 255, "Create, Filter, Group, idLookup, Sort, Update", nil, nil, nil, "", 0, false, pageET},
		{"ParentTopicId", "Engagement Topic ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"EngagementTopic"}, "ParentTopic", 0, false, pageET + "; " + fieldsET},
		// No values: "set by your Salesforce administrator".
		{"ProcessFailureReason", "Process Failure Reason", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageET},
		{"ProcessName", "Process Name", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageET},
		{"ProcessStatus", "Process Status", "picklist", 255, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"Cancelled", "Completed", "Failed", "Initiated"}, nil, nil, "", 0, false, pageET},
		{"ProcessType", "Process Type", "picklist", 40, "Create, Filter, Group, Nillable, Restricted picklist, Sort, Update", []string{"Flow", "OmniScript", "QuickAction"}, nil, nil, "", 0, false, pageET + "; " + fieldsET},
		{"RelatedPersonId", "RelatedPerson ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Account", "Contact", "Lead"}, "RelatedPerson", 0, false, pageET},
		// "…, and custom object": the fake cannot list an org's custom objects.
		{"TopicId", "Topic ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Asset", "Case", "Claim", "LoyaltyMemberTier", "LoyaltyProgramMember", "Opportunity", "Order", "ServiceAppointment", "Voucher", "TransactionJournal"}, "Topic", 0, false, pageET},
	}},
	{name: "AccountContactRelation", since: 37, src: pageACR, fields: []refField{
		{"AccountId", "Account ID", "reference", 18, "Create, Filter, Group, Sort", nil, nil, []string{"Account"}, "Account", 0, false, pageACR},
		{"ContactId", "Contact ID", "reference", 18, "Create, Filter, Group, Sort", nil, nil, []string{"Contact"}, "Contact", 0, false, pageACR},
		{"EndDate", "End Date", "date", 0, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageACR},
		// "The default value is false": the Public Sector Solutions page; the object reference
		// says only "Defaulted on create".
		{"IsActive", "Active", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 0, false, pageACR + "; " + pageACRPSS},
		{"IsDirect", "Direct", "boolean", 0, "Defaulted on create, Filter, Group, Sort", nil, false, nil, "", 0, false, pageACR + "; " + pageACRPSS},
		{"Roles", "Roles", "multipicklist", 4099, "Create, Filter, Nillable, Update", []string{"Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"}, nil, nil, "", 0, false, pageACR},
		{"StartDate", "Start Date", "date", 0, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageACR},
	}},
	// The IdentityVerificationProc* objects are createable, updateable and deletable through the
	// data API ("Supported Calls: create(), delete(), describeSObjects(), query(), retrieve(),
	// update(), upsert()"), each field with Create and Update but NamespacePrefix and
	// IdentityVerificationProcFld.FieldDataType. The stored copies of the pages end part-way: the
	// rows marked "(pattern)" follow the page's other fields, the rest are read from it.
	{name: "IdentityVerificationProcDtl", since: 54, src: pageDtl, fields: []refField{
		{"ApexClassId", "Class ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"ApexClass"}, "ApexClass", 0, false, pageDtl + "; " + fieldsDtl},
		{"DataSourceType", "Data Source Type", "picklist", 255, "Create, Filter, Group, Restricted picklist, Sort, Update", []string{"External", "Salesforce"}, nil, nil, "", 0, false, pageDtl},
		{"DeveloperName", "Name", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + "; " + fieldsDtl},
		{"DisplayRecordFieldName", "Display Record Field Name", "string", 30, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 58, false, pageDtl + "; " + fieldsDtl + "; " + metaDef},
		{"IdentityVerificationProcDefId", "Identity Verification Process Definition ID", "reference", 18, "Create, Filter, Group, Sort, Update", nil, nil, []string{"IdentityVerificationProcDef"}, "IdentityVerificationProcDef", 0, false, pageDtl},
		{"IsActive", "Is Active", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 0, false, pageDtl + "; " + fieldsDtl},
		{"Language", "Master Language", "picklist", 40, "Create, Defaulted on create, Filter, Group, Nillable, Restricted picklist, Sort, Update", languages18, "en_US", nil, "", 0, false, pageDtl + "; " + fieldsDtl},
		{"LinkedIdVerfProcessDetId", "Identity Verification Process Detail ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"IdentityVerificationProcDtl"}, "LinkedIdVerfProcessDet", 58, false, pageDtl + " (pattern); " + metaDef},
		{"MasterLabel", "Label", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"NamespacePrefix", "Namespace Prefix", "string", 15, "Filter, Group, Nillable, Sort", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"ObjectName", "Object Name", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern); " + fieldsDtl},
		{"OptionalVerifiersMinVerfCount", "Optional Verifiers Minimum Verification Count", "int", 0, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"SearchFilter", "Search Filter", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern); " + fieldsDtl},
		{"SearchRecordUniqueIdField", "Search Record Unique ID Field", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"SearchResultSortBy", "Search Result Sort By", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"SearchSequenceNumber", "Search Sequence Number", "int", 0, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageDtl + " (pattern)"},
		{"SearchType", "Search Type", "picklist", 255, "Create, Filter, Group, Restricted picklist, Sort, Update", []string{"Object-Based", "Text-Based"}, nil, nil, "", 0, false, pageDtl + " (pattern)"},
	}},
	{name: "IdentityVerificationProcFld", since: 54, src: pageFld, fields: []refField{
		{"CustomFieldLabel", "Custom Field Label", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageFld + "; " + fieldsFld},
		{"DataSourceType", "Data Source Type", "picklist", 255, "Create, Filter, Group, Restricted picklist, Sort, Update", []string{"External", "Salesforce"}, nil, nil, "", 0, false, pageFld},
		{"DeveloperName", "Name", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageFld + "; " + fieldsFld},
		{"FieldDataType", "Field Data Type", "picklist", 255, "Filter, Group, Nillable, Restricted picklist, Sort", []string{"address", "checkbox", "currency", "dateonly", "datetime", "email", "number", "other", "percent", "phone", "picklist", "reference", "text", "timeonly", "url"}, nil, nil, "", 0, false, pageFld},
		{"FieldName", "Field Name", "string", 255, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageFld},
		{"FieldType", "Field Type", "picklist", 255, "Create, Filter, Group, Restricted picklist, Sort, Update", []string{"additionalResultField", "optionalVerifier", "requiredVerifier", "resultField", "searchField", "searchFilter"}, nil, nil, "", 0, false, pageFld},
		{"FieldValueFormula", "Field Value Formula", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageFld + " (pattern)"},
		{"IdentityVerificationProcDtlId", "Identity Verification Process Detail ID", "reference", 18, "Create, Filter, Group, Sort, Update", nil, nil, []string{"IdentityVerificationProcDtl"}, "IdentityVerificationProcDtl", 0, false, pageFld + " (pattern)"},
		{"IsActive", "Active", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 0, false, pageFld + " (pattern)"},
		{"IsManualInput", "Manual Input", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, false, nil, "", 58, false, pageFld + " (pattern)"},
		{"Language", "Master Language", "picklist", 40, "Create, Defaulted on create, Filter, Group, Nillable, Restricted picklist, Sort, Update", languages18, "en_US", nil, "", 0, false, pageFld + " (pattern); " + fieldsFld},
		{"MasterLabel", "Label", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageFld + " (pattern)"},
		{"NamespacePrefix", "Namespace Prefix", "string", 15, "Filter, Group, Nillable, Sort", nil, nil, nil, "", 0, false, pageFld + " (pattern)"},
		{"SequenceNumber", "Sequence Number", "int", 0, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageFld + " (pattern)"},
	}},
	// SearchLayoutType's values and required-ness are the Metadata API type's.
	{name: "IdentityVerificationProcDef", since: 54, src: pageDef, fields: []refField{
		{"DeveloperName", "Name", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageDef + "; " + fieldsDef},
		{"Language", "Master Language", "picklist", 40, "Create, Defaulted on create, Filter, Group, Nillable, Restricted picklist, Sort, Update", languages18, "en_US", nil, "", 0, false, pageDef + "; " + fieldsDef + "; " + pageDtl},
		{"MasterLabel", "Label", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageDef + "; " + fieldsDef},
		{"NamespacePrefix", "Namespace Prefix", "string", 15, "Filter, Group, Nillable, Sort", nil, nil, nil, "", 0, false, pageDef + "; " + fieldsDef},
		{"SearchLayoutType", "Search Layout Type", "picklist", 255, "Create, Filter, Group, Restricted picklist, Sort, Update", []string{"Stack", "Tab"}, nil, nil, "", 0, false, pageDef + " (pattern); " + fieldsDef + "; " + metaDef},
	}},
	{name: "Lead", src: pageLead, owner: true, viewed: true, fields: []refField{
		{"City", "City", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		// "Required", but "if person account record types have been enabled, and if the value of
		// Company is null, the lead converts to a person account": this org has them.
		{"Company", "Company", "string", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		{"ConvertedAccountId", "Converted Account ID", "reference", 18, "Create, Filter, Group, Nillable, Sort", nil, nil, []string{"Account"}, "ConvertedAccount", 0, false, pageLead},
		{"ConvertedContactId", "Converted Contact ID", "reference", 18, "Create, Filter, Group, Nillable, Sort", nil, nil, []string{"Contact"}, "ConvertedContact", 0, false, pageLead},
		{"ConvertedDate", "Converted Date", "date", 0, "Create, Filter, Group, Nillable, Sort", nil, nil, nil, "", 0, false, pageLead},
		{"Country", "Country", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"Description", "Description", "textarea", 32000, "Create, Nillable, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"Email", "Email", "email", 80, "Create, Filter, Group, idLookup, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		{"FirstName", "First Name", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		{"IsConverted", "Converted", "boolean", 0, "Create, Defaulted on create, Filter, Group, Sort", nil, false, nil, "", 0, false, pageLead},
		{"LastName", "Last Name", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		// The values are the org's; these are a new org's (the page lists none).
		{"LeadSource", "Lead Source", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", []string{"Web", "Phone Inquiry", "Partner Referral", "Other"}, nil, nil, "", 0, false, pageLead},
		{"MobilePhone", "Mobile Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		{"Name", "Full Name", "string", 121, "Filter, Group, Sort", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"Phone", "Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
		{"PostalCode", "Zip/Postal Code", "string", 20, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"Salutation", "Salutation", "picklist", 40, "Create, Filter, Group, Nillable, Sort, Update", []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."}, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"State", "State/Province", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		// "Status codes are defined in Status and represented in the API by the LeadStatus
		// object": the org's values, not restricted; these are a new org's.
		{"Status", "Status", "picklist", 255, "Create, Defaulted on create, Filter, Group, Sort, Update", []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}, "Open - Not Contacted", nil, "", 0, false, pageLead},
		{"Street", "Street", "textarea", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead + "; " + fieldsLead},
		{"Title", "Title", "string", 128, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageLead},
	}},
	{name: "Contact", src: pageContact, owner: true, viewed: true, fields: []refField{
		{"AccountId", "Account ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Account"}, "Account", 0, false, pageContact},
		{"Birthdate", "Birthdate", "date", 0, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"Department", "Department", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"Description", "Contact Description", "textarea", 32000, "Create, Nillable, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"Email", "Email", "email", 80, "Create, Filter, Group, idLookup, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"FirstName", "First Name", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"HomePhone", "Home Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"IsPersonAccount", "Is Person Account", "boolean", 0, "Defaulted on create, Filter, Group, Sort", nil, false, nil, "", 0, false, pageContact},
		{"LastName", "Last Name", "string", 80, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"LeadSource", "Lead Source", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", []string{"Web", "Phone Inquiry", "Partner Referral", "Other"}, nil, nil, "", 0, false, pageContact},
		{"MailingCity", "Mailing City", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"MailingCountry", "Mailing Country", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"MailingPostalCode", "Mailing Zip/Postal Code", "string", 20, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"MailingState", "Mailing State/Province", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"MailingStreet", "Mailing Street", "textarea", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"MobilePhone", "Mobile Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"Name", "Full Name", "string", 121, "Filter, Group, Sort", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
		{"OtherPhone", "Other Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"Phone", "Business Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact},
		{"ReportsToId", "Reports To ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Contact"}, "ReportsTo", 0, false, pageContact},
		{"Salutation", "Salutation", "picklist", 40, "Create, Filter, Group, Nillable, Sort, Update", []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."}, nil, nil, "", 0, false, pageContact},
		{"Title", "Title", "string", 128, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageContact + "; " + fieldsCon},
	}},
	{name: "Account", src: pageAccount, owner: true, viewed: true, fields: []refField{
		{"AccountNumber", "Account Number", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"BillingCity", "Billing City", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"BillingCountry", "Billing Country", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"BillingPostalCode", "Billing Zip/Postal Code", "string", 20, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"BillingState", "Billing State/Province", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"BillingStreet", "Billing Street", "textarea", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
		{"Description", "Account Description", "textarea", 32000, "Create, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
		{"Fax", "Account Fax", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		// The values are the org's; the page gives examples only.
		{"Industry", "Industry", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", []string{"Banking", "Finance", "Healthcare", "Insurance", "Retail", "Technology", "Telecommunications", "Other"}, nil, nil, "", 0, false, pageAccount},
		{"IsPersonAccount", "Is Person Account", "boolean", 0, "Defaulted on create, Filter, Group, Sort", nil, false, nil, "", 0, false, pageAccount},
		{"Name", "Account Name", "string", 255, "Create, Filter, Group, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"ParentId", "Parent Account ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"Account"}, "Parent", 0, false, pageAccount},
		{"Phone", "Account Phone", "phone", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"RecordTypeId", "Record Type ID", "reference", 18, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, []string{"RecordType"}, "RecordType", 0, false, pageAccount + "; " + fieldsAcct},
		{"ShippingPostalCode", "Shipping Zip/Postal Code", "string", 20, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"Type", "Account Type", "picklist", 255, "Create, Filter, Group, Nillable, Sort, Update", []string{"Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"}, nil, nil, "", 0, false, pageAccount},
		{"Website", "Website", "url", 255, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		// The person account fields ("IsPersonAccount Fields" on the Account page).
		{"FirstName", "First Name", "string", 40, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"LastName", "Last Name", "string", 80, "Create, Filter, Group, Nillable, Sort, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"PersonBirthdate", "Birthdate", "date", 0, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		// The page lists "Filter, Nillable, Update" but describes it as the person contact's id,
		// which the platform sets: the fake keeps it read-only.
		{"PersonContactId", "Contact ID", "reference", 18, "Filter, Nillable", nil, nil, []string{"Contact"}, "PersonContact", 0, false, pageAccount + "; " + fieldsAcct},
		{"PersonEmail", "Email", "email", 80, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"PersonHomePhone", "Home Phone", "phone", 40, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"PersonMailingCity", "Mailing City", "string", 40, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
		{"PersonMailingCountry", "Mailing Country", "string", 80, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
		{"PersonMailingPostalCode", "Mailing Zip/Postal Code", "string", 20, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
		{"PersonMailingStreet", "Mailing Street", "textarea", 255, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"PersonMobilePhone", "Mobile", "phone", 40, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"PersonOtherPhone", "Other Phone", "phone", 40, "Create, Filter, Nillable, Update", nil, nil, nil, "", 0, false, pageAccount},
		{"Salutation", "Salutation", "picklist", 40, "Create, Filter, Group, Nillable, Sort, Update", []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."}, nil, nil, "", 0, false, pageAccount + "; " + fieldsAcct},
	}},
}

// systemRows are the system fields every object has ("System Fields" in the Object Reference),
// with OwnerId and the recently-viewed fields where the object's page lists them.
func systemRows(o refObject) []refField {
	rows := []refField{
		{"Id", "", "id", 18, "Defaulted on create, Filter, Group, idLookup, Sort", nil, nil, nil, "", 0, false, pageSystem},
		{"IsDeleted", "Deleted", "boolean", 0, "Defaulted on create, Filter", nil, false, nil, "", 0, false, pageSystem},
		{"CreatedById", "Created By ID", "reference", 18, "Defaulted on create, Filter, Group, Sort", nil, nil, []string{"User"}, "CreatedBy", 0, false, pageSystem},
		{"CreatedDate", "Created Date", "datetime", 0, "Defaulted on create, Filter, Sort", nil, nil, nil, "", 0, false, pageSystem},
		{"LastModifiedById", "Last Modified By ID", "reference", 18, "Defaulted on create, Filter, Group, Sort", nil, nil, []string{"User"}, "LastModifiedBy", 0, false, pageSystem},
		{"LastModifiedDate", "Last Modified Date", "datetime", 0, "Defaulted on create, Filter, Sort", nil, nil, nil, "", 0, false, pageSystem},
		{"SystemModstamp", "System Modstamp", "datetime", 0, "Defaulted on create, Filter, Sort", nil, nil, nil, "", 0, false, pageSystem},
	}
	if o.owner {
		rows = append(rows, refField{"OwnerId", "Owner ID", "reference", 18, "Create, Defaulted on create, Filter, Group, Sort, Update", nil, nil, []string{"User"}, "Owner", 0, false, o.src})
	}
	if o.viewed {
		rows = append(rows,
			refField{"LastReferencedDate", "Last Referenced Date", "datetime", 0, "Filter, Nillable, Sort", nil, nil, nil, "", 0, false, o.src},
			refField{"LastViewedDate", "Last Viewed Date", "datetime", 0, "Filter, Nillable, Sort", nil, nil, nil, "", 0, false, o.src})
	}
	return rows
}

// props turns a Properties list into the describe flags it implies.
func props(t *testing.T, field, list string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		switch p = strings.ToLower(strings.TrimSpace(p)); p {
		case "create":
			out["createable"] = true
		case "update":
			out["updateable"] = true
		case "nillable":
			out["nillable"] = true
		case "defaulted on create":
			out["defaultedOnCreate"] = true
		case "idlookup":
			out["idLookup"] = true
		case "restricted picklist":
			out["restrictedPicklist"] = true
		case "autonumber":
			out["autoNumber"] = true
		case "external id":
			out["externalId"] = true
		case "unique":
			out["unique"] = true
		case "filter", "group", "sort":
		default:
			t.Fatalf("%s: property %q is not one the table knows", field, p)
		}
	}
	return out
}

// describeFields is an object's describe at a version, fields by name.
func describeFields(t *testing.T, s *Schema, object string, version int) (map[string]map[string]any, bool) {
	t.Helper()
	o, ok := s.At(version).Lookup(object)
	if !ok {
		return nil, false
	}
	raw, err := json.Marshal(o.Describe(strconv.Itoa(version) + ".0"))
	require.NoError(t, err)
	var d struct{ Fields []map[string]any }
	require.NoError(t, json.Unmarshal(raw, &d))
	out := map[string]map[string]any{}
	for _, f := range d.Fields {
		out[f["name"].(string)] = f
	}
	return out, true
}

func TestSchemaMatchesReference(t *testing.T) {
	db, err := New(Options{})
	require.NoError(t, err)
	s := db.Schema()
	const newest = 66
	for _, obj := range referenceObjects {
		t.Run(obj.name, func(t *testing.T) {
			fields, ok := describeFields(t, s, obj.name, newest)
			require.True(t, ok, obj.src)
			rows := append(systemRows(obj), obj.fields...)
			want := map[string]bool{}
			for _, r := range rows {
				want[r.name] = true
				got, ok := fields[r.name]
				if !assert.True(t, ok, "%s.%s is missing (%s)", obj.name, r.name, r.src) {
					continue
				}
				where := obj.name + "." + r.name + " (" + r.src + ")"
				assert.Equal(t, r.typ, got["type"], where)
				if r.label != "" {
					assert.Equal(t, r.label, got["label"], where)
				}
				if r.length > 0 {
					assert.EqualValues(t, r.length, got["length"], where)
				}
				p := props(t, where, r.props)
				for _, flag := range []string{"createable", "updateable", "nillable", "defaultedOnCreate", "idLookup", "restrictedPicklist", "autoNumber", "externalId", "unique"} {
					assert.Equal(t, p[flag], got[flag], "%s: %s", where, flag)
				}
				var values []string
				for _, v := range got["picklistValues"].([]any) {
					values = append(values, v.(map[string]any)["value"].(string))
				}
				assert.Equal(t, r.values, values, "%s: picklist values", where)
				if r.deflt != nil || r.typ == "boolean" {
					assert.Equal(t, r.deflt, got["defaultValue"], "%s: default", where)
				} else {
					assert.Nil(t, got["defaultValue"], "%s: default", where)
				}
				var to []string
				for _, v := range got["referenceTo"].([]any) {
					to = append(to, v.(string))
				}
				assert.Equal(t, r.to, to, "%s: reference targets", where)
				if r.rel != "" {
					assert.Equal(t, r.rel, got["relationshipName"], where)
				}
				assert.Equal(t, len(r.to) > 1, got["polymorphicForeignKey"], "%s: polymorphic", where)
				def, _ := s.Lookup(obj.name)
				fd, _ := def.Field(r.name)
				assert.Equal(t, r.saveRequired, fd.saveRequired, "%s: required on save", where)

				// A request at an older version does not know a field newer than its object.
				if r.since > 0 {
					older, _ := describeFields(t, s, obj.name, r.since-1)
					assert.NotContains(t, older, r.name, "%s: before API %d", where, r.since)
					at, _ := describeFields(t, s, obj.name, r.since)
					assert.Contains(t, at, r.name, "%s: at API %d", where, r.since)
				}
			}
			for name := range fields {
				assert.True(t, want[name], "%s.%s is not in the reference table", obj.name, name)
			}
			if obj.since > 0 {
				_, ok := describeFields(t, s, obj.name, obj.since-1)
				assert.False(t, ok, "%s: before API %d (%s)", obj.name, obj.since, obj.src)
				_, ok = describeFields(t, s, obj.name, obj.since)
				assert.True(t, ok, "%s: at API %d", obj.name, obj.since)
			}
		})
	}
}

// TestDemoPicklistAdditions: the demo org's representative roles are its own additions to
// AccountContactRelation.Roles, after Salesforce's standard values.
func TestDemoPicklistAdditions(t *testing.T) {
	db, err := New(Options{PicklistValues: DemoPicklistValues()})
	require.NoError(t, err)
	fields, ok := describeFields(t, db.Schema(), "AccountContactRelation", 66)
	require.True(t, ok)
	var values []string
	for _, v := range fields["Roles"]["picklistValues"].([]any) {
		values = append(values, v.(map[string]any)["value"].(string))
	}
	assert.Equal(t, []string{"Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator",
		"Executive Sponsor", "Influencer", "Technical Buyer", "Other",
		"Authorized Representative", "Power of Attorney", "Legal Guardian", "Spouse"}, values)

	// A standard schema is not touched by another DB's additions.
	plain, err := New(Options{})
	require.NoError(t, err)
	fields, _ = describeFields(t, plain.Schema(), "AccountContactRelation", 66)
	assert.Len(t, fields["Roles"]["picklistValues"], 9)

	_, err = New(Options{PicklistValues: []PicklistValues{{Object: "AccountContactRelation", Field: "Roles", Values: []string{"Other"}}}})
	assert.ErrorContains(t, err, "already a value")
	_, err = New(Options{PicklistValues: []PicklistValues{{Object: "Contact", Field: "LastName", Values: []string{"x"}}}})
	assert.ErrorContains(t, err, "no picklist field")
}
