package salesforce

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/idverify/idverify/sfdc"
)

// The org's identity verification setup, as the data API serves it: IdentityVerificationProcDef,
// IdentityVerificationProcDtl and IdentityVerificationProcFld are standard objects (API 54.0+,
// "Industries Common Resources Developer Guide", Standard Objects: query() supported; the same
// objects are Tooling API objects too). LinkedIdVerfProcessDetId, DisplayRecordFieldName and
// IsManualInput appeared in 58.0.

type procDef struct {
	ID            string `json:"Id"`
	DeveloperName string
	MasterLabel   string
}

type procDtl struct {
	ID                            string `json:"Id"`
	DeveloperName                 string
	MasterLabel                   string
	IdentityVerificationProcDefID string `json:"IdentityVerificationProcDefId"`
	ObjectName                    string
	SearchType                    string
	DataSourceType                string
	ApexClassID                   string `json:"ApexClassId"`
	SearchFilter                  string
	SearchResultSortBy            string
	SearchRecordUniqueIDField     string   `json:"SearchRecordUniqueIdField"`
	SearchSequenceNumber          float64  // numbers may come as 1.0
	OptionalVerifiersMinVerfCount *float64 // null: 0
	LinkedIdVerfProcessDetID      string   `json:"LinkedIdVerfProcessDetId"`
	DisplayRecordFieldName        string
	IsActive                      bool
}

type procFld struct {
	IdentityVerificationProcDtlID string `json:"IdentityVerificationProcDtlId"`
	FieldName                     string
	FieldType                     string
	DataSourceType                string
	FieldDataType                 string
	FieldValueFormula             string
	SequenceNumber                float64
	CustomFieldLabel              string
	IsManualInput                 bool
	IsActive                      bool
}

// ImportSetup reads the org's identity verification setup (three queries: the definitions,
// their details, their fields) and returns the equivalent search_types section of idverify's
// configuration as YAML, with a comment on everything it could not map. definition picks a
// definition by DeveloperName; empty picks the org's only one.
//
// Each active IdentityVerificationProcDtl of the definition becomes a search type: name
// DeveloperName, label MasterLabel, object ObjectName, search text (Text-Based) or object
// (Object-Based), filter SearchFilter, sort_by SearchResultSortBy, optional_min
// OptionalVerifiersMinVerfCount, linked_search_type the DeveloperName of
// LinkedIdVerfProcessDetId; its active IdentityVerificationProcFld rows, in SequenceNumber
// order, become search_fields (searchField), result_fields (resultField), required_verifiers
// (requiredVerifier) and optional_verifiers (optionalVerifier), each verifier in attest mode
// (the agent judges, as in Salesforce) with CustomFieldLabel as its label and a match rule from
// FieldDataType for a later switch to check mode. Reasons, representation and the rest of the
// configuration have no counterpart in the setup and are left to the file they are merged into.
func ImportSetup(ctx context.Context, c *sfdc.Client, definition string) ([]byte, error) {
	var defs []procDef
	if err := collect(ctx, c, sfdc.Select("Id", "DeveloperName", "MasterLabel").From("IdentityVerificationProcDef").
		OrderBy("DeveloperName", false), &defs); err != nil {
		return nil, fail("read IdentityVerificationProcDef", err)
	}
	var def procDef
	switch i := slices.IndexFunc(defs, func(d procDef) bool { return d.DeveloperName == definition }); {
	case definition != "" && i >= 0:
		def = defs[i]
	case definition != "" || len(defs) > 1:
		names := make([]string, len(defs))
		for i, d := range defs {
			names[i] = d.DeveloperName
		}
		return nil, fmt.Errorf("salesforce: the org's identity verification definitions are %s: pick one by its developer name",
			strings.Join(names, ", "))
	case len(defs) == 0:
		return nil, fmt.Errorf("salesforce: the org has no identity verification setup (IdentityVerificationProcDef)")
	default:
		def = defs[0]
	}
	var dtls []procDtl
	if err := collect(ctx, c, sfdc.Select("Id", "DeveloperName", "MasterLabel", "IdentityVerificationProcDefId", "ObjectName",
		"SearchType", "DataSourceType", "ApexClassId", "SearchFilter", "SearchResultSortBy", "SearchRecordUniqueIdField",
		"SearchSequenceNumber", "OptionalVerifiersMinVerfCount", "LinkedIdVerfProcessDetId", "DisplayRecordFieldName", "IsActive").
		From("IdentityVerificationProcDtl").Where(sfdc.Eq("IdentityVerificationProcDefId", sfdc.ID(def.ID))).
		OrderBy("SearchSequenceNumber", false).OrderBy("DeveloperName", false), &dtls); err != nil {
		return nil, fail("read IdentityVerificationProcDtl", err)
	}
	var flds []procFld
	if len(dtls) > 0 {
		ids := make([]sfdc.ID, len(dtls))
		for i, d := range dtls {
			ids[i] = sfdc.ID(d.ID)
		}
		if err := collect(ctx, c, sfdc.Select("IdentityVerificationProcDtlId", "FieldName", "FieldType", "DataSourceType",
			"FieldDataType", "FieldValueFormula", "SequenceNumber", "CustomFieldLabel", "IsManualInput", "IsActive").
			From("IdentityVerificationProcFld").Where(sfdc.In("IdentityVerificationProcDtlId", ids)).
			OrderBy("SequenceNumber", false), &flds); err != nil {
			return nil, fail("read IdentityVerificationProcFld", err)
		}
	}
	return setupYAML(def, dtls, flds)
}

func collect[T any](ctx context.Context, c *sfdc.Client, q *sfdc.Query, out *[]T) error {
	for v, err := range sfdc.QueryInto[T](ctx, c, q) {
		if err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return nil
}

// setupYAML writes the search types of def as YAML.
func setupYAML(def procDef, dtls []procDtl, flds []procFld) ([]byte, error) {
	names := map[string]string{} // detail id → DeveloperName
	for _, d := range dtls {
		names[d.ID] = d.DeveloperName
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	var skipped []string
	for _, d := range dtls {
		var notes []string
		switch {
		case !d.IsActive:
			skipped = append(skipped, fmt.Sprintf("%s: not active", d.DeveloperName))
			continue
		case d.DataSourceType == "External" || d.ApexClassID != "":
			skipped = append(skipped, fmt.Sprintf("%s: its data comes from outside Salesforce (DataSourceType External or an Apex class), which idverify does not search", d.DeveloperName))
			continue
		}
		st := &yaml.Node{Kind: yaml.MappingNode}
		put(st, "name", d.DeveloperName)
		if d.MasterLabel != "" && d.MasterLabel != d.DeveloperName {
			put(st, "label", d.MasterLabel)
		}
		put(st, "object", d.ObjectName)
		switch d.SearchType {
		case "Object-Based":
			put(st, "search", "object")
		default:
			put(st, "search", "text")
		}
		if d.SearchFilter != "" {
			put(st, "filter", d.SearchFilter)
		}
		if s := strings.TrimSpace(d.SearchResultSortBy); s != "" {
			if fieldName.MatchString(s) {
				put(st, "sort_by", s)
			} else {
				notes = append(notes, fmt.Sprintf("SearchResultSortBy %q is not one field: not imported (sort_by takes one field, ascending)", s))
			}
		}
		if u := d.SearchRecordUniqueIDField; u != "" && u != "Id" {
			notes = append(notes, fmt.Sprintf("SearchRecordUniqueIdField is %s: idverify identifies records by Id", u))
		}
		lists := map[string]*yaml.Node{}
		order := []string{"search_fields", "result_fields", "required_verifiers", "optional_verifiers"}
		for _, f := range flds {
			if f.IdentityVerificationProcDtlID != d.ID {
				continue
			}
			where := fmt.Sprintf("%s %s", f.FieldType, f.FieldName)
			switch {
			case !f.IsActive:
				notes = append(notes, where+": not active, not imported")
				continue
			case f.DataSourceType == "External":
				notes = append(notes, where+": an external data source, not imported")
				continue
			case f.FieldValueFormula != "":
				notes = append(notes, where+": has a FieldValueFormula, which idverify does not evaluate; not imported")
				continue
			case !fieldName.MatchString(f.FieldName):
				notes = append(notes, where+": not a field API name, not imported")
				continue
			}
			var key string
			var item *yaml.Node
			switch f.FieldType {
			case "searchField":
				key, item = "search_fields", scalar(f.FieldName)
			case "resultField":
				key, item = "result_fields", scalar(f.FieldName)
			case "requiredVerifier", "optionalVerifier":
				key = "required_verifiers"
				if f.FieldType == "optionalVerifier" {
					key = "optional_verifiers"
				}
				item = &yaml.Node{Kind: yaml.MappingNode}
				put(item, "field", f.FieldName)
				if f.CustomFieldLabel != "" {
					put(item, "label", f.CustomFieldLabel)
				}
				put(item, "match", matchFor(f.FieldName, f.FieldDataType))
				put(item, "mode", "attest")
				if f.IsManualInput {
					item.Content[len(item.Content)-1].LineComment = "Salesforce's agent types this answer (IsManualInput): consider mode: check"
				}
			case "additionalResultField":
				notes = append(notes, where+": fetched but not shown in Salesforce; idverify needs no such field, not imported")
				continue
			case "searchFilter":
				notes = append(notes, where+": a search filter field; the filter is imported from SearchFilter")
				continue
			default:
				notes = append(notes, where+": an unknown field type, not imported")
				continue
			}
			if lists[key] == nil {
				lists[key] = &yaml.Node{Kind: yaml.SequenceNode}
				if key == "search_fields" || key == "result_fields" {
					lists[key].Style = yaml.FlowStyle
				}
			}
			lists[key].Content = append(lists[key].Content, item)
		}
		for _, k := range order {
			if lists[k] != nil {
				st.Content = append(st.Content, scalar(k), lists[k])
			}
		}
		min := 0
		if d.OptionalVerifiersMinVerfCount != nil {
			min = int(*d.OptionalVerifiersMinVerfCount)
		}
		put(st, "optional_min", strconv.Itoa(min))
		st.Content[len(st.Content)-1].Tag = "!!int"
		if d.LinkedIdVerfProcessDetID != "" {
			if linked, ok := names[d.LinkedIdVerfProcessDetID]; ok {
				put(st, "linked_search_type", linked)
			} else {
				notes = append(notes, "LinkedIdVerfProcessDetId names a detail of another definition: not imported")
			}
		}
		if r := lists["result_fields"]; d.DisplayRecordFieldName != "" && (r == nil || !slices.ContainsFunc(r.Content, func(n *yaml.Node) bool {
			return strings.EqualFold(n.Value, d.DisplayRecordFieldName)
		})) {
			notes = append(notes, fmt.Sprintf("DisplayRecordFieldName %s: Salesforce shows it once the caller is verified; add it to result_fields if the agent needs it", d.DisplayRecordFieldName))
		}
		if len(notes) > 0 {
			st.HeadComment = "Not mapped:\n- " + strings.Join(notes, "\n- ")
		}
		list.Content = append(list.Content, st)
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, scalar("search_types"), list)
	root.HeadComment = fmt.Sprintf("Imported by idverify config import from the org's identity verification setup %q (IdentityVerificationProcDef %s).\n"+
		"Merge it into your configuration, which also needs reasons and secrets; check the result with\n"+
		"  idverify config check --online\n"+
		"Every question is in attest mode, as in Salesforce: the agent sees the value and judges the answer.\n"+
		"Check mode (idverify compares what the caller says) must not ask a field its search type shows or searches by.",
		def.MasterLabel, def.DeveloperName)
	if len(skipped) > 0 {
		root.HeadComment += "\n\nNot imported:\n- " + strings.Join(skipped, "\n- ")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("salesforce: writing the setup as YAML: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// matchFor is the match rule for a verifier of FieldDataType typ (Salesforce's picklist:
// dateonly, phone, text, …).
func matchFor(field, typ string) string {
	switch typ {
	case "dateonly", "datetime":
		return "date"
	case "phone":
		return "phone"
	case "number", "currency", "percent":
		return "number"
	case "email", "picklist", "reference", "checkbox", "url":
		return "exact"
	}
	if strings.HasSuffix(field, "Name") { // Name, FirstName, LastName, PersonName…
		return "name"
	}
	if strings.Contains(field, "PostalCode") {
		return "postal_code"
	}
	return "text"
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func put(m *yaml.Node, key, value string) { m.Content = append(m.Content, scalar(key), scalar(value)) }
