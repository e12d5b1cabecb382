package flows_test

import (
	"context"
	"fmt"
	"log"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// A caller in a branch says she is Jane Smith and wants to change her address: the agent names
// her record, picks the reason and types in her answers.
func Example() {
	jane := flows.Ref{Object: "Account", ID: "001000000000001AAA"}
	crm := flowstest.NewCRM([]flowstest.Person{{Ref: jane,
		Fields: map[string]string{"Name": "Jane Smith", "PersonBirthdate": "1980-03-14"}}}, nil)
	policy := flows.Policy{
		Reasons: []flows.Reason{{Name: "Change of address", Confidential: true}},
		SearchTypes: []flows.SearchType{{Name: "customer", Object: "Account", Search: flows.SearchText,
			SearchFields: []string{"Name"}, ResultFields: []string{"Name"},
			Required: []flows.Verifier{
				{Field: "Name", Match: flows.MatchName, Mode: flows.ModeCheck},
				{Field: "PersonBirthdate", Match: flows.MatchDate, Mode: flows.ModeCheck},
			}}},
	}
	e, err := flows.New(policy, flows.Ports{CRM: crm, Recorder: crm, Store: &flowstest.Store{}},
		[]byte("a deployment secret of 32+ bytes"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	v, err := e.Start(ctx, flows.StartRequest{Attendee: jane, Channel: "In Person"})
	if err == nil {
		v, err = e.SetReason(ctx, flows.ReasonRequest{Session: v.Session, Version: v.Version, Reason: "Change of address"})
	}
	if err == nil {
		v, err = e.SetSubject(ctx, flows.SubjectRequest{Session: v.Session, Version: v.Version, Subject: flows.SubjectSelf})
	}
	if err == nil {
		v, err = e.Answer(ctx, flows.AnswerRequest{Session: v.Session, Version: v.Version, Answers: []flows.Answer{
			{Field: "Name", Value: "smith, jane"}, {Field: "PersonBirthdate", Value: "14 March 1980"}}})
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Outcome, v.Open.ID)
	// Output: verified 001000000000001AAA
}
