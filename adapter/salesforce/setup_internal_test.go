package salesforce

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// What the setup holds that idverify cannot do is named in a comment, never silently dropped.
func TestSetupYAMLSaysWhatItCannotMap(t *testing.T) {
	two := 2.0
	def := procDef{ID: "0ic000000000001AAA", DeveloperName: "Setup", MasterLabel: "Setup"}
	dtls := []procDtl{
		{ID: "d1", DeveloperName: "Main", MasterLabel: "Main", ObjectName: "Contact", SearchType: "Object-Based", IsActive: true,
			SearchResultSortBy: "LastName DESC", SearchRecordUniqueIDField: "Member_Id__c", OptionalVerifiersMinVerfCount: &two,
			DisplayRecordFieldName: "Title", LinkedIdVerfProcessDetID: "elsewhere"},
		{ID: "d2", DeveloperName: "Old", ObjectName: "Account", IsActive: false},
		{ID: "d3", DeveloperName: "Partner", ObjectName: "Account", DataSourceType: "External", IsActive: true},
	}
	flds := []procFld{
		{IdentityVerificationProcDtlID: "d1", FieldName: "LastName", FieldType: "searchField", IsActive: true},
		{IdentityVerificationProcDtlID: "d1", FieldName: "Name", FieldType: "resultField", IsActive: true},
		{IdentityVerificationProcDtlID: "d1", FieldName: "Email", FieldType: "additionalResultField", IsActive: true},
		{IdentityVerificationProcDtlID: "d1", FieldName: "Birthdate", FieldType: "requiredVerifier", FieldDataType: "dateonly",
			CustomFieldLabel: "Date of birth", IsManualInput: true, IsActive: true},
		{IdentityVerificationProcDtlID: "d1", FieldName: "MobilePhone", FieldType: "optionalVerifier", FieldDataType: "phone", IsActive: false},
		{IdentityVerificationProcDtlID: "d1", FieldName: "Score__c", FieldType: "optionalVerifier", FieldValueFormula: "X + 1", IsActive: true},
		{IdentityVerificationProcDtlID: "d1", FieldName: "Dept", FieldType: "searchFilter", IsActive: true},
	}
	out, err := setupYAML(def, dtls, flds)
	require.NoError(t, err)
	text := string(out)
	for _, note := range []string{
		"Old: not active", "Partner: its data comes from outside Salesforce",
		`SearchResultSortBy "LastName DESC" is not one field`, "SearchRecordUniqueIdField is Member_Id__c",
		"additionalResultField Email", "optionalVerifier MobilePhone: not active", "optionalVerifier Score__c: has a FieldValueFormula",
		"searchFilter Dept", "LinkedIdVerfProcessDetId names a detail of another definition", "DisplayRecordFieldName Title",
		"Salesforce's agent types this answer (IsManualInput): consider mode: check",
	} {
		assert.Contains(t, text, note)
	}
	var got struct {
		SearchTypes []map[string]any `yaml:"search_types"`
	}
	require.NoError(t, yaml.Unmarshal(out, &got))
	require.Len(t, got.SearchTypes, 1)
	assert.Equal(t, map[string]any{"name": "Main", "object": "Contact", "search": "object",
		"search_fields": []any{"LastName"}, "result_fields": []any{"Name"},
		"required_verifiers": []any{map[string]any{"field": "Birthdate", "label": "Date of birth", "match": "date", "mode": "attest"}},
		"optional_min":       2}, got.SearchTypes[0])
}
