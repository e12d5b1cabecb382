package salesforce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// CheckOnline checks every object and field cfg names against the org's describe, as the
// integration user sees it: that each exists (so is readable: describe lists only the fields a
// user may see), is writable where idverify writes it, and that its type fits how it is used (a
// check-mode verifier's match rule, a phone field, a reference, a multi-select Roles); that
// each search type's filter is accepted by the org; that the picklist values idverify writes
// (the default channel, the engagement's Status and Type, the attendee's Role, the topic's
// ProcessStatus) and the representation roles are values of their picklists. It returns one
// Problem per finding, with the key path it is about ("salesforce" for the objects every
// write-back touches), and an error when the org could not be asked. cfg must have passed
// Validate (config.Load's).
func CheckOnline(ctx context.Context, c *sfdc.Client, cfg *config.Config) (config.Problems, error) {
	ck := &checker{ctx: ctx, c: c, describes: map[string]*sfdc.Describe{}}
	for i, st := range cfg.SearchTypes {
		ck.searchType(fmt.Sprintf("search_types[%d]", i), st)
	}
	if r := cfg.Representation; r.Enabled {
		ck.representation(r)
	}
	for i, p := range cfg.PhoneFields {
		at := fmt.Sprintf("phone_fields[%d]", i)
		if ck.object(at+".object", p.Object) == nil {
			continue
		}
		for j, f := range p.Fields {
			if info, ok := ck.field(fmt.Sprintf("%s.fields[%d]", at, j), p.Object, f); ok && info.Type != "phone" {
				ck.add(fmt.Sprintf("%s.fields[%d]", at, j), "%s.%s is a %s field, not a phone field: the phone lookup searches phone fields only", p.Object, f, info.Type)
			}
		}
	}
	ck.writes(cfg.Salesforce)
	return ck.problems, ck.err
}

type checker struct {
	ctx       context.Context
	c         *sfdc.Client
	describes map[string]*sfdc.Describe // nil: the object does not exist
	problems  config.Problems
	err       error // the first failure to ask the org
}

func (ck *checker) add(path, format string, args ...any) {
	ck.problems = append(ck.problems, config.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// describe returns object's describe, or nil when the org has no such object (or is not
// reachable: then ck.err is set).
func (ck *checker) describe(object string) *sfdc.Describe {
	if d, ok := ck.describes[object]; ok {
		return d
	}
	d, _, err := ck.c.Describe(ck.ctx, object)
	if err != nil && !errors.Is(err, sfdc.ErrNotFound) && ck.err == nil {
		ck.err = fail("describe "+object, err)
	}
	ck.describes[object] = d
	return d
}

// object reports a problem at path unless the org has object.
func (ck *checker) object(path, object string) *sfdc.Describe {
	d := ck.describe(object)
	if d == nil && ck.err == nil {
		ck.add(path, "the org has no object %s, or the integration user cannot see it: check the spelling (API name, e.g. Account) and the user's permissions", object)
	}
	return d
}

// field finds field (a relationship path such as Account.Name allowed) on object, reporting a
// problem at path when it does not exist.
func (ck *checker) field(path, object, field string) (sfdc.FieldInfo, bool) {
	cur := object
	segs := strings.Split(field, ".")
	for i, seg := range segs {
		d := ck.describe(cur)
		if d == nil {
			return sfdc.FieldInfo{}, false
		}
		if i == len(segs)-1 {
			info, ok := d.Field(seg)
			if !ok {
				ck.add(path, "%s has no field %s, or the integration user cannot read it: check the spelling (API name, e.g. PersonBirthdate) and the field-level security", cur, seg)
			}
			return info, ok
		}
		next := ""
		for _, f := range d.Fields {
			if strings.EqualFold(f.RelationshipName, seg) && len(f.ReferenceTo) > 0 {
				next = f.ReferenceTo[0]
				break
			}
		}
		if next == "" {
			ck.add(path, "%s has no relationship %s (in %s): check the spelling, e.g. Account.Name", cur, seg, field)
			return sfdc.FieldInfo{}, false
		}
		cur = next
	}
	return sfdc.FieldInfo{}, false
}

func (ck *checker) searchType(at string, st config.SearchType) {
	d := ck.object(at+".object", st.Object)
	if d == nil {
		return
	}
	switch {
	case st.Search == string(flows.SearchText) && !d.Searchable:
		ck.add(at+".search", "%s cannot be searched with SOSL (describe: searchable false): use search: object", st.Object)
	case st.Search == string(flows.SearchObject) && !d.Queryable:
		ck.add(at+".object", "%s cannot be queried (describe: queryable false)", st.Object)
	}
	if st.SortBy != "" {
		ck.field(at+".sort_by", st.Object, st.SortBy)
	}
	for j, f := range st.SearchFields {
		ck.field(fmt.Sprintf("%s.search_fields[%d]", at, j), st.Object, f)
	}
	for j, f := range st.ResultFields {
		ck.field(fmt.Sprintf("%s.result_fields[%d]", at, j), st.Object, f)
	}
	for _, list := range []struct {
		key string
		vs  []config.Verifier
	}{{"required_verifiers", st.RequiredVerifiers}, {"optional_verifiers", st.OptionalVerifiers}} {
		for j, v := range list.vs {
			vat := fmt.Sprintf("%s.%s[%d]", at, list.key, j)
			info, ok := ck.field(vat+".field", st.Object, v.Field)
			if ok && v.Match != "" && !fits(flows.MatchRule(v.Match), info.Type) {
				ck.add(vat+".match", "%s.%s is a %s field: match %s compares %s", st.Object, v.Field, info.Type, v.Match, matchTypes[flows.MatchRule(v.Match)])
			}
		}
	}
	if st.Filter != "" && ck.err == nil {
		_, err := ck.first(sfdc.RawSOQL("SELECT Id FROM " + st.Object + " WHERE " + st.Filter + " LIMIT 1"))
		switch {
		case err == nil:
		case errors.Is(err, sfdc.ErrInvalidRequest):
			code := ""
			if se, ok := errors.AsType[*sfdc.Error](err); ok {
				code = se.Code
			}
			ck.add(at+".filter", "the org refuses it as a condition on %s (%s): run SELECT Id FROM %s WHERE <filter> in the Developer Console to see why", st.Object, code, st.Object)
		case ck.err == nil:
			ck.err = fail("check the filter of "+st.Name, err)
		}
	}
}

// first runs a query and returns its first row, if any.
func (ck *checker) first(st sfdc.Statement) (sfdc.Record, error) {
	for rec, err := range ck.c.Query(ck.ctx, st) {
		return rec, err
	}
	return sfdc.Record{}, nil
}

func (ck *checker) representation(r config.Representation) {
	const at = "representation"
	if ck.object(at+".object", r.Object) == nil {
		return
	}
	for _, f := range []struct{ key, name string }{{"representative_field", r.RepresentativeField}, {"customer_field", r.CustomerField}} {
		if info, ok := ck.field(at+"."+f.key, r.Object, f.name); ok && info.Type != "reference" {
			ck.add(at+"."+f.key, "%s.%s is a %s field: it must reference the %s (a lookup)", r.Object, f.name, info.Type, strings.TrimSuffix(f.key, "_field"))
		}
	}
	if r.RequireActive {
		if info, ok := ck.field(at+".require_active", r.Object, "IsActive"); ok && info.Type != "boolean" {
			ck.add(at+".require_active", "%s.IsActive is a %s field, not a checkbox", r.Object, info.Type)
		}
	}
	if len(r.Roles) == 0 {
		return
	}
	info, ok := ck.field(at+".roles", r.Object, "Roles")
	if !ok {
		return
	}
	if info.Type != "multipicklist" {
		ck.add(at+".roles", "%s.Roles is a %s field, not a multi-select picklist", r.Object, info.Type)
		return
	}
	for i, role := range r.Roles {
		if !hasValue(info, role) {
			ck.add(fmt.Sprintf("%s.roles[%d]", at, i), "%q is not an active value of %s.Roles: add it in Setup or use one of %s", role, r.Object, values(info))
		}
	}
}

// writes checks what every write-back, and a new customer's Lead, writes.
func (ck *checker) writes(s config.Salesforce) {
	const at = "salesforce"
	type use struct {
		field          string
		create, update bool
		values         []string // picklist values written
	}
	objects := []struct {
		object string
		fields []use
	}{
		{"EngagementInteraction", []use{
			{"ExternalIdentifier", true, false, nil}, {"CommunicationChannel", true, false, nil},
			{"StartDateTime", true, false, nil}, {"Type", true, false, []string{flows.EngagementTypeInbound}},
			{"Status", true, true, []string{flows.EngagementStatusProgress}}, {"Reason", true, true, nil},
			{"IsAttendeeVerified", true, true, nil}, {"AttendeeVerificationTime", true, true, nil},
			{"InitiatingAttendeeId", true, true, nil}, {"IsAttendeeAuthenticated", true, false, nil},
		}},
		{"EngagementAttendee", []use{
			{"EngagementId", true, false, nil}, {"ExternalAttendeeId", true, false, nil},
			{"Role", true, false, []string{flows.RoleSelf, flows.RoleOnBehalf}}, {"IsVerified", true, false, nil},
			{"VerificationTime", true, false, nil}, {"StartDateTime", true, false, nil},
		}},
		{"EngagementTopic", []use{
			{"EngagementId", true, false, nil}, {"Name", true, false, nil}, {"RelatedPersonId", true, false, nil},
			{"ProcessName", s.WritebackKeyField == "", false, nil},
			{"ProcessStatus", true, false, []string{flows.ProcessCompleted, flows.ProcessFailed, flows.ProcessCancelled}},
		}},
		{"Lead", []use{{"FirstName", true, false, nil}, {"LastName", true, false, nil}, {"Company", true, false, nil},
			{"Phone", true, false, nil}, {"Email", true, false, nil}}},
	}
	for _, o := range objects {
		d := ck.describe(o.object)
		if d == nil {
			if ck.err == nil {
				ck.add(at, "the org has no %s, or the integration user cannot see it: idverify writes the engagement there (Salesforce Industries, API 55.0 or later)", o.object)
			}
			continue
		}
		for _, u := range o.fields {
			info, ok := d.Field(u.field)
			switch {
			case !ok:
				ck.add(at, "%s has no field %s the integration user can see: idverify writes it", o.object, u.field)
				continue
			case u.create && !info.Createable:
				ck.add(at, "the integration user cannot set %s.%s on a new record (field-level security): idverify writes it", o.object, u.field)
			case u.update && !info.Updateable:
				ck.add(at, "the integration user cannot update %s.%s (field-level security): idverify writes it", o.object, u.field)
			}
			for _, v := range u.values {
				if !hasValue(info, v) {
					ck.add(at, "%q is not an active value of %s.%s, which idverify writes", v, o.object, u.field)
				}
			}
		}
		if o.object == "EngagementInteraction" {
			if info, ok := d.Field("CommunicationChannel"); ok && s.DefaultChannel != "" && !hasValue(info, s.DefaultChannel) {
				ck.add(at+".default_channel", "%q is not an active value of EngagementInteraction.CommunicationChannel: use one of %s", s.DefaultChannel, values(info))
			}
		}
	}
	ck.keyField(at+".lead_key_field", s.LeadKeyField, "Lead")
	ck.keyField(at+".writeback_key_field", s.WritebackKeyField, "EngagementAttendee", "EngagementTopic")
}

// keyField checks an idempotency key field on objects: an External ID text field idverify
// can set and update.
func (ck *checker) keyField(path, field string, objects ...string) {
	if field == "" {
		return
	}
	for _, o := range objects {
		d := ck.describe(o)
		if d == nil {
			continue
		}
		info, ok := d.Field(field)
		switch {
		case !ok:
			ck.add(path, "%s has no field %s: add it (Text, External ID, Unique) or leave the key empty", o, field)
		case !info.ExternalID && !info.IDLookup:
			ck.add(path, "%s.%s is not an External ID: mark it External ID (and Unique) so that idverify can upsert by it", o, field)
		case info.Type != "string":
			ck.add(path, "%s.%s is a %s field: idempotency keys are text (Text, 255)", o, field, info.Type)
		case !info.Createable || !info.Updateable:
			ck.add(path, "the integration user cannot write %s.%s (field-level security)", o, field)
		}
	}
}

// matchTypes says which field types each match rule reads, for the messages.
var matchTypes = map[flows.MatchRule]string{
	flows.MatchDate:       "dates (date, datetime)",
	flows.MatchPhone:      "phone numbers (phone, string)",
	flows.MatchPostalCode: "postal codes (string)",
	flows.MatchNumber:     "numbers (double, int, currency, percent, string)",
	flows.MatchLast4:      "digits (string, phone, encryptedstring)",
	flows.MatchText:       "text (string, textarea, email, picklist, phone)",
	flows.MatchName:       "names (string, textarea, picklist)",
}

// fits reports whether a field of describe type typ can be compared under rule.
func fits(rule flows.MatchRule, typ string) bool {
	ok := map[flows.MatchRule][]string{
		flows.MatchDate:       {"date", "datetime"},
		flows.MatchPhone:      {"phone", "string"},
		flows.MatchPostalCode: {"string"},
		flows.MatchNumber:     {"double", "int", "long", "currency", "percent", "string"},
		flows.MatchLast4:      {"string", "phone", "encryptedstring"},
		flows.MatchText:       {"string", "textarea", "email", "picklist", "phone", "combobox"},
		flows.MatchName:       {"string", "textarea", "picklist", "combobox"},
	}[rule]
	return ok == nil || slices.Contains(ok, typ) // exact fits anything
}

func hasValue(info sfdc.FieldInfo, v string) bool {
	return slices.ContainsFunc(info.PicklistValues, func(p sfdc.PicklistValue) bool { return p.Active && p.Value == v })
}

func values(info sfdc.FieldInfo) string {
	var vs []string
	for _, p := range info.PicklistValues {
		if p.Active {
			vs = append(vs, p.Value)
		}
	}
	return strings.Join(vs, ", ")
}
