package bulksync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idverify/idverify/sfdc"
)

// The objects a row writes.
const (
	objEngagement = "EngagementInteraction"
	objAttendee   = "EngagementAttendee"
	objTopic      = "EngagementTopic"
	keyField      = "ExternalIdentifier" // the engagement's upsert key: idLookup, not unique
)

// kind is how a field's value is read and checked.
type kind uint8

const (
	kText kind = iota
	kPicklist
	kBool
	kDateTime
	kRef
)

// fieldSpec is one field a row may set.
type fieldSpec struct {
	name     string
	kind     kind
	length   int      // text: most characters
	required bool     // the row must set it
	values   []string // picklist: the active values (restricted picklists refuse others)
	restrict bool     // picklist: restricted
	targets  []string // ref: the key prefixes it may point at
}

// objectSpec is the fields of one object a row may set, in the order they are written.
type objectSpec struct {
	name   string
	fields []fieldSpec
}

func (o *objectSpec) field(name string) (*fieldSpec, bool) {
	for i := range o.fields {
		if strings.EqualFold(o.fields[i].name, name) {
			return &o.fields[i], true
		}
	}
	return nil, false
}

// Schema is what a row may hold: the three objects' fields, their picklist values and lengths.
// StandardSchema is Salesforce's as documented; DescribeSchema narrows it to what the org's
// describe says (fields present at the API version and createable by the user, active picklist
// values, lengths).
type Schema struct {
	engagement, attendee, topic objectSpec
	// FromOrg is true when the schema came from the org's describe.
	FromOrg bool
}

// standard is StandardSchema, read only: the names a file may use.
var standard = StandardSchema()

// object returns the spec of one of the three objects.
func (s *Schema) object(name string) *objectSpec {
	switch name {
	case objEngagement:
		return &s.engagement
	case objAttendee:
		return &s.attendee
	}
	return &s.topic
}

// Key prefixes of the objects references point at ("Standard Field Record ID Prefix Decoder").
var keyPrefixes = map[string]string{"Account": "001", "Contact": "003", "Lead": "00Q", "User": "005"}

var person = []string{"001", "003", "00Q"}

// StandardSchema is the fields of EngagementInteraction, EngagementAttendee and EngagementTopic
// a sync row may set, with the picklist values and lengths of Salesforce's Object Reference
// ("EngagementInteraction", "EngagementAttendee", "EngagementTopic", API 56.0 and later). An org
// may add picklist values: DescribeSchema reads them.
func StandardSchema() *Schema {
	return &Schema{
		engagement: objectSpec{name: objEngagement, fields: []fieldSpec{
			{name: keyField, kind: kText, length: 255, required: true},
			{name: "CommunicationChannel", kind: kPicklist, required: true, restrict: true,
				values: []string{"In Person", "Video Call", "Voice Call", "Web Chat"}},
			{name: "StartDateTime", kind: kDateTime, required: true},
			{name: "EndDateTime", kind: kDateTime},
			{name: "Status", kind: kPicklist, restrict: true, values: []string{"Completed", "In Progress", "New"}},
			{name: "Type", kind: kPicklist, restrict: true, values: []string{"Inbound", "Outbound"}},
			{name: "Reason", kind: kText, length: 765},
			{name: "IsAttendeeAuthenticated", kind: kBool},
			{name: "IsAttendeeVerified", kind: kBool},
			{name: "AttendeeVerificationTime", kind: kDateTime},
			{name: "InitiatingAttendeeId", kind: kRef, targets: person},
		}},
		attendee: objectSpec{name: objAttendee, fields: []fieldSpec{
			{name: "ExternalAttendeeId", kind: kRef, targets: person},
			{name: "InternalAttendeeId", kind: kRef, targets: []string{"005"}},
			{name: "Role", kind: kPicklist, restrict: true, values: []string{"OnBehalf", "Self"}},
			{name: "IsAuthenticated", kind: kBool},
			{name: "IsVerified", kind: kBool},
			{name: "VerificationTime", kind: kDateTime},
			{name: "StartDateTime", kind: kDateTime},
			{name: "EndDateTime", kind: kDateTime},
		}},
		topic: objectSpec{name: objTopic, fields: []fieldSpec{
			{name: "Name", kind: kText, length: 255, required: true},
			{name: "ProcessName", kind: kText, length: 255},
			{name: "ProcessType", kind: kPicklist, restrict: true, values: []string{"Flow", "OmniScript", "QuickAction"}},
			{name: "ProcessStatus", kind: kPicklist, restrict: true, values: []string{"Cancelled", "Completed", "Failed", "Initiated"}},
			// The org's administrator sets its values; Salesforce documents none.
			{name: "ProcessFailureReason", kind: kPicklist, length: 255},
			{name: "RelatedPersonId", kind: kRef, targets: person},
			{name: "InteractionSummary", kind: kText, length: 765},
		}},
	}
}

// DescribeSchema reads the three objects' describe (three API calls; sfdc caches them) and
// narrows StandardSchema to the org: a field the org lacks at the client's API version, or the
// user may not create, is dropped (a row that sets it is refused), picklists take the org's
// active values, texts its lengths.
func DescribeSchema(ctx context.Context, c *sfdc.Client) (*Schema, error) {
	s := StandardSchema()
	s.FromOrg = true
	for _, o := range []*objectSpec{&s.engagement, &s.attendee, &s.topic} {
		d, _, err := c.Describe(ctx, o.name)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", o.name, err)
		}
		if !d.Createable || !d.Updateable {
			return nil, fmt.Errorf("describe %s: the user may not create and update its records", o.name)
		}
		kept := o.fields[:0]
		for _, f := range o.fields {
			i := slices.IndexFunc(d.Fields, func(fi sfdc.FieldInfo) bool { return strings.EqualFold(fi.Name, f.name) })
			if i < 0 || !d.Fields[i].Createable {
				if f.required || o.name == objEngagement && f.name == keyField {
					return nil, fmt.Errorf("describe %s: field %s is missing or not createable", o.name, f.name)
				}
				continue
			}
			fi := d.Fields[i]
			switch f.kind {
			case kText:
				if fi.Length > 0 {
					f.length = fi.Length
				}
			case kPicklist:
				f.values = nil
				for _, v := range fi.PicklistValues {
					if v.Active {
						f.values = append(f.values, v.Value)
					}
				}
				if fi.Length > 0 {
					f.length = fi.Length
				}
			case kRef:
				var targets []string
				for _, to := range fi.ReferenceTo {
					if p, ok := keyPrefixes[to]; ok {
						targets = append(targets, p)
					}
				}
				f.targets = targets
			}
			kept = append(kept, f)
		}
		o.fields = kept
	}
	return s, nil
}
