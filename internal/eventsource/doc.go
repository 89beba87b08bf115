// Package eventsource is Lambda's event source mappings for Sluice's SQS
// queues (CreateEventSourceMapping and friends): the mapping records, kept
// in the key-value store so they survive restarts, and the pollers that
// read a queue and invoke the mapped function with the SQS event Lambda
// sends (Records[] of messageId, receiptHandle, body, attributes,
// messageAttributes, md5OfBody, eventSource "aws:sqs", eventSourceARN,
// awsRegion).
//
// # Guarantees
//
//   - A batch is invoked synchronously. On success its messages are
//     deleted; on a function error (or a throttle, or an unreadable
//     ReportBatchItemFailures answer) nothing is deleted and the messages
//     come back after their visibility timeout, so the queue's redrive
//     policy moves them to its dead-letter queue after maxReceiveCount
//     attempts, as on Lambda. With FunctionResponseTypes
//     ["ReportBatchItemFailures"] every message except the reported
//     batchItemFailures is deleted.
//   - Recursive loops stop after 16 invocations, as on Lambda: a message
//     sent by a function carries its invocation chain (stored with the
//     message, never shown), and a message whose chain already ran 16
//     invocations is not passed to the function while its RecursiveLoop
//     is Terminate. It is left undeleted, so it returns after its
//     visibility timeout and the redrive policy moves it to the
//     dead-letter queue; each stop is logged and counted. The function
//     runs with the batch's longest chain, so what it sends goes on from
//     there.
//   - Delivery is at least once: a crash between the invocation and the
//     deletes runs the batch again.
//   - Pollers wait in the queue domain's long poll (woken by the store's
//     WaitEnqueued signal); an idle mapping costs no CPU. A batch fills up
//     to BatchSize within MaximumBatchingWindowInSeconds on the injected
//     clock.
//   - A deleted or disabled mapping stops polling; a batch in flight
//     finishes.
//
// The package reaches queues and functions only through the Queues and
// Functions interfaces that the server wires in.
package eventsource
