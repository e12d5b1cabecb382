// Package webhook delivers idverify's events (a session verified, failed or locked; a person
// unlocked) to other systems as signed HTTP POSTs, and gives receivers the function that
// verifies them.
//
// The engine queues each event in the store's outbox in the Commit of the step that causes it
// (flows.Event, one per subscribed webhook, in the webhook's own queue), so the outbox worker
// delivers it at least once, in order per webhook, with its retries and backoff, across
// restarts and replicas. A Sender is the worker's flows.Notifier; it has no loop of its own.
// The serve command wires it so:
//
//	hooks, opts := webhook.FromConfig(cfg.Events)
//	opts.Log = logger
//	sender, err := webhook.New(hooks, opts) // refuses bad URLs and literal inward addresses
//	...
//	worker := &outbox.Worker{Outbox: st, Recorder: recorder, Notifier: sender, ...}
//	go worker.Run(ctx)
//
// and the policy (config's Policy) subscribes the webhooks to their event types.
//
// A receiver checks every delivery with Verify (or the recipe in docs/WEBHOOKS.md) before it
// trusts the body, and drops an event whose id it has seen.
package webhook
