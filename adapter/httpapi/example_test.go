package httpapi_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/idverify/idverify/adapter/httpapi"
	"github.com/idverify/idverify/adapter/httpapi/httpapitest"
	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// A softphone starts a session for a call: the API on an engine over in-memory ports.
func Example() {
	crm := flowstest.NewCRM([]flowstest.Person{{Ref: flows.Ref{Object: "Account", ID: "001000000000001AAA"},
		Fields: map[string]string{"Phone": "+44 20 7946 0001", "PersonBirthdate": "1980-03-14"}}}, nil)
	store := &flowstest.Store{}
	policy := flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}},
		SearchTypes: []flows.SearchType{{Name: "customer", Object: "Account", Search: flows.SearchText,
			SearchFields: []string{"Name"}, ResultFields: []string{"Name"},
			Required: []flows.Verifier{{Field: "PersonBirthdate", Match: flows.MatchDate, Mode: flows.ModeCheck}}}},
	}
	engine, err := flows.New(policy, flows.Ports{CRM: crm, Recorder: crm, Store: store}, []byte("a deployment secret of 32+ bytes"))
	if err != nil {
		log.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Engine: engine, Store: store, Idempotency: &httpapitest.Idempotency{},
		Keys: []httpapi.APIKey{{Name: "softphone", SHA256: httpapi.HashKey("the softphone's key")}}})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(`{"phone": "+44 20 7946 0001", "channel": "Voice Call"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer the softphone's key")
	res := httptest.NewRecorder()
	api.ServeHTTP(res, req)
	fmt.Println(res.Code, strings.Contains(res.Body.String(), `"phone_match":"one"`))
	// Output: 201 true
}
