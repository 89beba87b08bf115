package storage

import (
	"context"
	"errors"
	"time"
)

// Queue errors.
var (
	// ErrInvalidReceipt: a receipt that this engine never issued (malformed).
	ErrInvalidReceipt = errors.New("storage: invalid receipt")
	// ErrStaleReceipt: a well-formed receipt that is not the message's
	// latest: the message was acknowledged, moved, purged or leased again
	// since (a newer receipt exists). For Extend also a latest receipt whose
	// lease ran out (the message is visible again).
	ErrStaleReceipt = errors.New("storage: stale receipt")
)

// Queues is the lease side of the queue primitive: what receivers (SQS
// ReceiveMessage, delivery workers, function workers) call. Enqueue, Ack,
// Extend, Move and Purge are on Tx, so they commit with other writes
// (an object change and its events; a fan-out that acknowledges one record
// and enqueues one per subscription).
//
// The embedded engine keeps an in-memory index of every queue's visible,
// in-flight and delayed messages; the stored records are the truth after a
// restart (the index is rebuilt at Open).
type Queues interface {
	// Lease hands out up to opts.Max messages of queue that are visible
	// now (by the store's clock), oldest first, and hides each until
	// now+opts.Visibility. Each leased message's ReceiveCount grows by one
	// and it gets a new Receipt; earlier receipts of it become stale.
	// Concurrent Lease calls never hand out the same message while its
	// lease runs. Messages enqueued before opts.ExpireBefore (retention)
	// are deleted instead of handed out.
	//
	// Durability: with opts.Durable the new receive counts are synced
	// before Lease returns (a delivery attempt count must survive a crash,
	// so that a record that crashes the server every time still reaches its
	// dead-letter queue). Without it, leases and receive counts ride on the
	// next synced commit: after a crash a message may be visible again
	// early and its receive count may be lower (at-least-once).
	//
	// It returns no messages and no error when none is visible; the caller
	// waits on WaitEnqueued or until Stats().NextVisible.
	Lease(ctx context.Context, queue string, opts LeaseOptions) ([]Leased, error)

	// Stats returns the queue's counts from the in-memory index.
	Stats(queue string) QueueStats
}

// QueueTx is the transactional side of the queue primitive, part of Tx
// (with Tx.Enqueue and ReadTx.Messages).
type QueueTx interface {
	// Ack deletes the leased message the receipt names. The latest receipt
	// of a message works even after its lease ran out, as long as nobody
	// leased the message again (SQS DeleteMessage: "you must provide the
	// most recently received ReceiptHandle"). ErrInvalidReceipt (malformed,
	// or issued for another queue), ErrStaleReceipt (nothing is deleted).
	Ack(queue, receipt string) error

	// Extend changes when the leased message becomes visible again (SQS
	// ChangeMessageVisibility; visibleAt <= now releases it at once and
	// wakes WaitEnqueued). The lease must still run: a latest receipt whose
	// lease ran out is ErrStaleReceipt (SQS: MessageNotInflight), as is an
	// older one. ErrInvalidReceipt for a malformed receipt.
	Extend(queue, receipt string, visibleAt time.Time) error

	// Move takes the leased message out of queue and enqueues it, with
	// the same id, body, attributes and receive count, into dest (a
	// dead-letter queue, or the next stage of a pipeline), visible at once,
	// and wakes WaitEnqueued(dest). It keeps EnqueuedAt (retention counts
	// from the first enqueue, as SQS does for standard queues) and
	// FirstLeased. Like Ack, it takes the latest receipt even after its
	// lease ran out. ErrInvalidReceipt, ErrStaleReceipt.
	Move(queue, receipt, dest string) error

	// Purge deletes every message of queue (visible, in flight or delayed)
	// and returns how many there were.
	Purge(queue string) (int, error)
}

// LeaseOptions tunes Lease.
type LeaseOptions struct {
	Max          int           // 1 or more
	Visibility   time.Duration // how long a leased message stays hidden
	Durable      bool          // sync the new receive counts before returning
	ExpireBefore time.Time     // zero: no retention limit
}

// Leased is a message handed out by Lease.
type Leased struct {
	Message
	// Receipt names this lease; Ack, Extend and Move take it.
	Receipt string
	// ReceiveCount counts the leases of this message, this one included.
	ReceiveCount int
	// FirstLeased is when the message was first leased.
	FirstLeased time.Time
}

// QueueStats are a queue's approximate counts.
type QueueStats struct {
	Visible  int // visible now
	InFlight int // leased, lease not over
	Delayed  int // enqueued with a VisibleAt still to come
	// NextVisible is the earliest time a message that is not visible now
	// (delayed or in flight) becomes visible; zero if none.
	NextVisible time.Time
}
