// Package bulksync writes verification results from other systems (IVRs, apps, earlier
// verification tools) to Salesforce's engagement records in few API calls: every row of a JSON
// Lines or CSV file is validated first, engagements are upserted by ExternalIdentifier and their
// attendees and topics created or updated by natural key, through sObject collections or Bulk
// API 2.0 jobs, with a checkpoint that lets an interrupted run resume without writing a record
// twice. docs/SYNC.md describes the file, the calls and the guarantees.
//
//	sum, err := bulksync.Run(ctx, bulksync.Options{Input: "calls.jsonl", Client: client,
//		Checkpoint: "calls.jsonl.checkpoint", Report: "calls.jsonl.report.jsonl"})
//	var stopped *bulksync.StoppedError
//	if errors.As(err, &stopped) {
//		// run again with the same checkpoint to resume
//	}
//	fmt.Println(sum.Landed, sum.Rejected, sum.Calls)
package bulksync
