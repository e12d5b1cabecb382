package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

func exampleConfig(t *testing.T) *config.Config {
	t.Helper()
	t.Setenv(config.EnvName("secrets.hmac_key"), "0123456789abcdef0123456789abcdef")
	cfg, err := loadExample(examplePath(t))
	require.NoError(t, err)
	return cfg
}

func TestCheckOnlineExample(t *testing.T) {
	e := newEnv(t)
	ps, err := salesforce.CheckOnline(ctx, e.org.Client, exampleConfig(t))
	require.NoError(t, err)
	assert.Empty(t, ps, "examples/idverify.yaml fits the demo org")
}

func TestCheckOnlineFindsEachProblem(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *config.Config)
		path   string
		says   string
	}{
		{"a typo'd object", func(c *config.Config) { c.SearchTypes[0].Object = "Acount" }, "search_types[0].object", "no object Acount"},
		{"a typo'd result field", func(c *config.Config) { c.SearchTypes[0].ResultFields[1] = "PersonMailingCty" },
			"search_types[0].result_fields[1]", "Account has no field PersonMailingCty"},
		{"a typo'd relationship", func(c *config.Config) { c.SearchTypes[1].ResultFields[0] = "Acount.Name" },
			"search_types[1].result_fields[0]", "Contact has no relationship Acount"},
		{"a field across a relationship", func(c *config.Config) { c.SearchTypes[1].ResultFields[0] = "Account.Nam" },
			"search_types[1].result_fields[0]", "Account has no field Nam"},
		{"a typo'd search field", func(c *config.Config) { c.SearchTypes[1].SearchFields[0] = "Lastname_" },
			"search_types[1].search_fields[0]", "Contact has no field Lastname_"},
		{"a typo'd verifier", func(c *config.Config) { c.SearchTypes[0].RequiredVerifiers[0].Field = "PersonBirthDay" },
			"search_types[0].required_verifiers[0].field", "PersonBirthDay"},
		{"a verifier whose type does not fit its match rule", func(c *config.Config) { c.SearchTypes[0].RequiredVerifiers[0].Match = "phone" },
			"search_types[0].required_verifiers[0].match", "is a date field"},
		{"a sort field", func(c *config.Config) { c.SearchTypes[0].SortBy = "Nme" }, "search_types[0].sort_by", "no field Nme"},
		{"a filter the org refuses", func(c *config.Config) { c.SearchTypes[0].Filter = "IsPersonAcount = true" },
			"search_types[0].filter", "INVALID_FIELD"},
		{"text search on an object SOSL cannot search", func(c *config.Config) {
			c.SearchTypes[1] = config.SearchType{Name: "relations", Object: "AccountContactRelation", Search: "text",
				ResultFields: []string{"Roles"}, RequiredVerifiers: []config.Verifier{{Field: "StartDate"}}}
		}, "search_types[1].search", "cannot be searched"},
		{"a representation object", func(c *config.Config) { c.Representation.Object = "AccountContactRelations" },
			"representation.object", "no object AccountContactRelations"},
		{"a representation field that is no reference", func(c *config.Config) { c.Representation.CustomerField = "Roles" },
			"representation.customer_field", "must reference the customer"},
		{"a role the picklist does not have", func(c *config.Config) { c.Representation.Roles = []string{"Power of Attorney", "Guardian"} },
			"representation.roles[1]", `"Guardian" is not an active value`},
		{"a phone field that is no phone", func(c *config.Config) { c.PhoneFields[1].Fields[0] = "Email" },
			"phone_fields[1].fields[0]", "not a phone field"},
		{"a phone object", func(c *config.Config) { c.PhoneFields[0].Object = "Acount" }, "phone_fields[0].object", "no object Acount"},
		{"a channel the picklist does not have", func(c *config.Config) { c.Salesforce.DefaultChannel = "Phone" },
			"salesforce.default_channel", `"Phone" is not an active value`},
		{"a lead key field the org does not have", func(c *config.Config) { c.Salesforce.LeadKeyField = "IdvKey__c" },
			"salesforce.lead_key_field", "Lead has no field IdvKey__c"},
		{"a write-back key field that is no External ID", func(c *config.Config) { c.Salesforce.WritebackKeyField = "Plain__c" },
			"salesforce.writeback_key_field", "EngagementAttendee.Plain__c is not an External ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *salesforce.Options, o *fakeorg.Options) {
				for _, obj := range []string{"EngagementAttendee", "EngagementTopic"} {
					o.CustomFields = append(o.CustomFields, orgdb.CustomField{Object: obj, Name: "Plain__c", Type: "string", Length: 255})
				}
			})
			cfg := exampleConfig(t)
			tt.change(cfg)
			ps, err := salesforce.CheckOnline(ctx, e.org.Client, cfg)
			require.NoError(t, err)
			require.NotEmpty(t, ps)
			assert.Equal(t, tt.path, ps[0].Path)
			assert.Contains(t, ps[0].Message, tt.says)
			for _, p := range ps {
				assert.Equal(t, tt.path, p.Path, "one mistake, problems at its path only: %v", ps)
			}
		})
	}
}

func TestCheckOnlineOrgUnreachable(t *testing.T) {
	e := newEnv(t)
	client := e.org.NewClient(t) // a fresh client: nothing described yet
	e.failAll(t, "*/describe", fakeorg.FailServerUnavailable)
	ps, err := salesforce.CheckOnline(ctx, client, exampleConfig(t))
	require.Error(t, err)
	require.ErrorIs(t, err, salesforceUnavailable)
	assert.Empty(t, ps, "nothing is reported as wrong when the org could not be asked")
}
