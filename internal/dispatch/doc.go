// Package dispatch is the publishing and delivery side of S3 bucket
// notifications (issue 6; DESIGN.md "Events: the transactional path"): it
// stores each bucket's notification configuration, turns object changes
// into event records inside the transaction that commits the change, keeps
// the request-id index, holds what cannot be delivered yet, delivers it
// when it can, and answers "is everything request X caused delivered?".
//
// # Guarantees
//
//   - One durable hop. Service.Publish runs inside the object change's
//     storage transaction: it reads the bucket's configuration in that
//     transaction (so a configuration saved by one request applies to the
//     very next one), matches it (notify.Match) and, per matching rule,
//     enqueues the record. A local queue whose policy lets S3 deliver for
//     the bucket gets the record itself as a message (body = the AWS JSON).
//     A function whose policy lets S3 invoke it gets the record as an
//     asynchronous invocation in its own invocation queue
//     (Destinations.InvokeTx; "pending" until the invocation finished,
//     then Settled marks it delivered). Everything else (a topic, a queue
//     or function that is missing or refuses) is enqueued as an
//     event.Envelope in the held queue with its reason. Either way the
//     record is durable exactly when the change is: same commit. A failed
//     operation commits nothing, so it has no events.
//   - At least once. A held record leaves the held queue only in the
//     commit that enqueues it into its destination (a queue, or a
//     function's invocation queue), or that drops it; a crash in between
//     means redelivery, never loss.
//   - Nothing dropped silently. A held record is dropped when it is older
//     than Config.MaxHeldAge or when more than Config.MaxHeld records are
//     held: then the destination holding the most records gives up its
//     oldest first, so a flood for one refusing destination does not push
//     out another's records (heldcounts.go). Each drop is logged, counted
//     (sluice_notify_dropped_total) and marked in the request-id index.
//     All held records share one storage queue; DESIGN's delivery queue
//     per destination is not built (a held record only waits for its
//     destination to accept, so the count bound is where sharing hurt).
//   - Sequencers grow per key across restarts: New bumps the stored epoch
//     with a durable commit before anything is published (event/doc.go).
//
// # Request-id index and waiting
//
// Each record also writes an index entry under its request id (the
// x-amz-request-id of the response that caused it): the destination, the
// state (delivered, held, pending, dropped) and the reason. Wait blocks
// until every entry of a request id is final (delivered or dropped),
// woken by the delivery worker's commits, never by polling; for a queue,
// delivered means enqueued. Final entries are pruned after
// Config.IndexRetention.
//
// # Not done yet
//
// Topics: SNS is not built, so a topic is "does not exist" and its
// records are held until they age out. FunctionQueue (the old per-function
// delivery queue) is no longer written; the delivery view still lists any
// left from before issue 8.
package dispatch
