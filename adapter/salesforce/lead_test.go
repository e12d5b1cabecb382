package salesforce_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/sfdc"
)

var newLead = flows.Lead{FirstName: "Olga", LastName: "Okonkwo", Company: "Okonkwo Tools", Phone: "+14155550777", Email: "olga@novak.example"}

// leadKeyField declares IdvKey__c on Lead, an External ID as an admin would add it.
func leadKeyField(o *salesforce.Options, org *fakeorg.Options) {
	o.LeadKeyField = "IdvKey__c"
	org.CustomFields = append(org.CustomFields, orgdb.CustomField{Object: "Lead", Name: "IdvKey__c", Type: "string",
		Label: "idverify key", Length: 255, ExternalID: true, Unique: true})
}

func leadsNamed(t *testing.T, e *env, lastName string) int {
	t.Helper()
	n, _, err := e.org.Client.Count(ctx, sfdc.SelectCount().From("Lead").Where(sfdc.Eq("LastName", lastName)))
	require.NoError(t, err)
	return n
}

func TestCreateLead(t *testing.T) {
	for _, tt := range []struct {
		name      string
		tweak     func(*salesforce.Options, *fakeorg.Options)
		calls     int64 // of the first call
		sameCalls int64 // of a repeat
	}{
		{"by a key field", leadKeyField, 1, 1},
		{"looked up first", func(*salesforce.Options, *fakeorg.Options) {}, 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.tweak)
			e.reset(t)
			ref, err := e.a.CreateLead(ctx, "call-1", newLead)
			require.NoError(t, err)
			assert.Equal(t, "Lead", ref.Object)
			assert.Equal(t, tt.calls, e.calls())
			got, err := e.a.Values(ctx, ref, []string{"FirstName", "LastName", "Company", "Phone", "Email", "Status"})
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"FirstName": "Olga", "LastName": "Okonkwo", "Company": "Okonkwo Tools",
				"Phone": "+14155550777", "Email": "olga@novak.example", "Status": "Open - Not Contacted"}, got)

			e.reset(t)
			again, err := e.a.CreateLead(ctx, "call-1", newLead)
			require.NoError(t, err)
			assert.Equal(t, ref, again, "a repeated call returns the same Lead")
			assert.Equal(t, tt.sameCalls, e.calls())
			assert.Equal(t, 1, leadsNamed(t, e, "Okonkwo"))
		})
	}
}

// Calls with the same key at once (a caller's retry racing its first try) create one Lead.
func TestCreateLeadConcurrently(t *testing.T) {
	for name, tweak := range map[string]func(*salesforce.Options, *fakeorg.Options){
		"by a key field": leadKeyField, "looked up first": func(*salesforce.Options, *fakeorg.Options) {},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tweak)
			var wg sync.WaitGroup
			refs := make([]flows.Ref, 8)
			for i := range refs {
				wg.Go(func() {
					ref, err := e.a.CreateLead(ctx, "call-2", newLead)
					assert.NoError(t, err)
					refs[i] = ref
				})
			}
			wg.Wait()
			for _, r := range refs {
				assert.Equal(t, refs[0], r)
			}
			assert.Equal(t, 1, leadsNamed(t, e, "Okonkwo"))
		})
	}
}

func TestCreateLeadFailures(t *testing.T) {
	tests := []struct {
		name    string
		tweak   func(*salesforce.Options, *fakeorg.Options)
		lead    flows.Lead
		failure func(e *env, t *testing.T)
		kind    error
		code    string
	}{
		{"upsert: org unavailable", leadKeyField, newLead, func(e *env, t *testing.T) {
			e.failAll(t, "*/sobjects/Lead/IdvKey__c/*", fakeorg.FailServerUnavailable)
		}, flows.ErrUnavailable, "SERVER_UNAVAILABLE"},
		{"create: rows locked", nil, newLead, func(e *env, t *testing.T) {
			e.failAll(t, "*/sobjects/Lead", fakeorg.FailUnableToLockRow)
		}, flows.ErrUnavailable, "UNABLE_TO_LOCK_ROW"},
		{"lookup: daily limit spent", nil, newLead, func(e *env, _ *testing.T) { e.org.ExhaustDailyLimit() }, flows.ErrUnavailable, "REQUEST_LIMIT_EXCEEDED"},
		{"validation", nil, flows.Lead{LastName: "Okonkwo", Company: "Okonkwo Tools", Email: "not an address"},
			func(*env, *testing.T) {}, salesforce.ErrRejected, "INVALID_EMAIL_ADDRESS"},
		// Salesforce answers NOT_FOUND to an upsert by a field the object does not have.
		{"a key field the org does not have", func(o *salesforce.Options, _ *fakeorg.Options) { o.LeadKeyField = "IdvKey__c" },
			newLead, func(*env, *testing.T) {}, flows.ErrRecordNotFound, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tweaks := []func(*salesforce.Options, *fakeorg.Options){}
			if tt.tweak != nil {
				tweaks = append(tweaks, tt.tweak)
			}
			e := newEnv(t, tweaks...)
			tt.failure(e, t)
			ref, err := e.a.CreateLead(ctx, "call-3", tt.lead)
			require.ErrorIs(t, err, tt.kind)
			assert.Zero(t, ref)
			var ae *salesforce.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
			for _, v := range []string{"Okonkwo", "olga", "not an address", "call-3"} {
				assert.NotContains(t, err.Error(), v)
			}
		})
	}
}
