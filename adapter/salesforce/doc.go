// Package salesforce implements the verification engine's CRM and Recorder ports (package
// flows) over a Salesforce org, through package sfdc: phone lookup and searches with SOSL and
// SOQL, verifier values, the representation check, Leads, and the engagement write-back as one
// composite request. It spends as few API calls as it can (values a later step needs are read
// with the call that finds the record; see readahead.go), and every write is idempotent, so an
// outbox may deliver it again after a crash.
//
//	client, _ := sfdc.New(salesforce.ClientConfig(cfg.Salesforce))
//	opts, _ := salesforce.OptionsFrom(cfg)
//	sf, _ := salesforce.New(client, opts)
//	_ = sf.Warm(ctx) // read the describes the steps need, once
//	engine, _ := flows.New(policy, flows.Ports{CRM: sf, Recorder: sf, Store: store}, secret)
//
// Every method's error is an *Error whose kind (errors.Is) is a flows kind:
// flows.ErrRecordNotFound, flows.ErrUnavailable (try again later), flows.ErrInvalidInput
// (input refused before anything was sent) or ErrRejected (Salesforce refused it for good);
// its ErrorCode is Salesforce's error code. Errors name objects, fields and steps, never a
// value.
package salesforce
