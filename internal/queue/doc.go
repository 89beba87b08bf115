// Package queue is the domain of Sluice's SQS-compatible queues: queue
// records with their attributes, tags, policy and redrive policy, and the
// messages, which live in the storage contract's queue primitive
// (storage.Queues and storage.QueueTx) under one storage queue per queue
// incarnation ("sqs/<name>/<incarnation>"), so that a queue deleted and
// created again never sees the old queue's messages. Only standard queues
// exist; FIFO queues are refused.
//
// # Delivery guarantees
//
//   - A message is durable once Send (SendMessage) or SendBatch returns
//     nil: it was committed with a synced write, so it survives SIGKILL and
//     a machine crash that drops unsynced writes. EnqueueTx commits with
//     the caller's transaction and is durable when that Update returns.
//   - While Sluice runs, a message is never handed to two receivers within
//     one visibility window: Lease hides it until now+visibility, and
//     only its newest receipt handle can delete it or change its
//     visibility. Once the window ends it is handed out again
//     (at-least-once, as SQS standard queues).
//   - What survives a crash: the messages, their bodies and attributes,
//     their delays (DelaySeconds is stored as the time the message becomes
//     visible, in the enqueue commit), deletions, purges and moves to a
//     dead-letter queue that committed. Leases and receive counts are not
//     synced by themselves (Lease without Durable): they ride on the next
//     synced commit. After a crash a message may therefore be visible
//     before its visibility timeout ended, and its ApproximateReceiveCount
//     may be lower than the number of times it was handed out; a
//     ReceiptHandle issued before the crash may be stale (DeleteMessage
//     with it then deletes nothing).
//   - A long poll (Receive with a wait) checks that its caller's context is
//     still live before each attempt to take messages, so a client that
//     went away takes nothing. Messages handed out but whose response could
//     not be written are made visible again at once by Release.
//   - An idle long poll waits on channels only (the store's WaitEnqueued
//     signal, the injected clock for the end of the wait or the next
//     delayed or in-flight message becoming visible, the caller's context,
//     and Close): it costs no CPU, returns as soon as a message is
//     enqueued, and Close answers it at once with no messages.
//   - Redrive: a message whose receive count would exceed the
//     RedrivePolicy's maxReceiveCount is moved to the dead-letter queue (in
//     one commit, with its id, body and attributes) instead of being
//     delivered. Retention: a message older than MessageRetentionPeriod is
//     deleted instead of delivered.
//   - Batches: SendBatch, DeleteBatch, ChangeVisibilityBatch and Release
//     each commit all their valid entries in one transaction (one WAL
//     sync); an entry that fails (a malformed or stale receipt, a bad
//     timeout, an invalid message) fails alone with its own error and
//     takes no part in the commit. An acknowledged DeleteMessage(Batch)
//     survives a crash: the message does not come back (the crash
//     harness's Queues invariant checks it), unless its receipt was
//     stale, in which case it deleted nothing, as on AWS.
//   - Invalid input (bodies over MaximumMessageSize, characters outside
//     SQS's XML range, bad attributes) stores nothing.
//
// Message move tasks (StartMoveTask) run in the background and are kept
// in memory only; each message moves from the dead-letter queue to its
// destination in one commit, so a crash moves a message at most once or
// leaves it in the dead-letter queue.
//
// The time source is the injected clock; the package never sleeps.
package queue
