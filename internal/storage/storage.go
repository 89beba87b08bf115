package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every engine returns for the outcomes the contract names.
var (
	// ErrNotFound: Get found no value under the key, or a blob id is unknown.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: Update gave up after its function kept conflicting with
	// concurrent transactions. Nothing of the transaction was written.
	ErrConflict = errors.New("storage: transaction conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("storage: closed")
	// ErrReservedKey: a domain key starts with ReservedPrefix.
	ErrReservedKey = errors.New("storage: key uses the engine's reserved prefix")
)

// ReservedPrefix starts every key the engine keeps for itself (queue
// messages, blob references). Domain keys must not start with it.
const ReservedPrefix = 0x00

// Store is the key-value part of the contract: an ordered map from byte keys
// to byte values, ordered by bytes, with serializable transactions.
type Store interface {
	// Queues is the lease side of the queue primitive (queue.go).
	Queues

	// Update runs fn in a read-write transaction and commits it durably:
	// when Update returns nil, every write of fn is on stable storage.
	//
	// fn may be run more than once: when a concurrent commit changed
	// anything fn read or wrote, the engine discards fn's writes and runs
	// it again. fn must therefore have no effects outside tx. After a bounded
	// number of attempts Update returns ErrConflict.
	//
	// When fn returns an error, nothing is written and Update returns that
	// error (unless fn's reads had conflicted, in which case fn runs again:
	// an error computed from an inconsistent view is never returned).
	// Update returns ctx.Err() if ctx ends before the commit starts.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// View runs fn on a consistent read-only snapshot. It never conflicts.
	View(ctx context.Context, fn func(tx ReadTx) error) error

	// WaitEnqueued returns a channel that is closed once a transaction that
	// enqueued into queue commits after the call. It is the wake-up signal
	// of long polls and delivery workers. Each call returns a fresh channel.
	WaitEnqueued(queue string) <-chan struct{}

	// Close releases the store. Transactions after Close return ErrClosed.
	Close() error
}

// ReadTx reads a consistent view of the store. Keys and values passed in or
// returned are only valid during the transaction's function; copy to keep.
type ReadTx interface {
	// Get returns the value under key, or ErrNotFound. Inside Update it
	// sees the transaction's own writes.
	Get(key []byte) ([]byte, error)

	// NewIterator iterates the keys in [lower, upper) in ascending byte
	// order; a nil upper means no upper bound. Inside Update it sees the
	// transaction's own writes, and the whole range counts as read for
	// conflict detection. The iterator must be closed before fn returns.
	NewIterator(lower, upper []byte) (Iterator, error)

	// BlobReferenced reports whether any owner references the blob.
	BlobReferenced(id BlobID) (bool, error)

	// Messages calls fn for the messages of queue in enqueue order until fn
	// returns false, in-flight and delayed ones included. (Receivers use
	// Queues.Lease; this is for inspection and tests.)
	Messages(queue string, fn func(Message) bool) error
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	// QueueTx: Ack, Extend, Move and Purge commit with the transaction.
	QueueTx

	// Set writes value under key. The engine copies both.
	Set(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error

	// Enqueue adds a message to queue; it is committed with the rest of the
	// transaction (how an object change and its events commit together).
	// It returns the message's id, unique in the store and increasing in
	// enqueue order within a queue.
	Enqueue(queue string, m Message) (string, error)

	// RefBlob records that owner references blob id; UnrefBlob removes that
	// reference. A blob with no references is removed by the Sweeper once
	// it is older than the grace period. Both are idempotent.
	RefBlob(id BlobID, owner []byte) error
	UnrefBlob(id BlobID, owner []byte) error
}

// Iterator walks a key range. Key and Value are valid until the next move.
type Iterator interface {
	// First moves to the first key of the range; SeekGE to the first key
	// >= key (clamped to the range). Both report whether a key is there.
	First() bool
	SeekGE(key []byte) bool
	// Next moves to the next key and reports whether there is one.
	Next() bool
	Valid() bool
	Key() []byte
	Value() ([]byte, error)
	// Close releases the iterator and returns the first error it met.
	Close() error
}

// Message is one queue message as the store keeps it.
type Message struct {
	ID   string // assigned by Enqueue
	Body []byte
	// Attributes is metadata for the queue's user (event lineage, message
	// attributes); the store does not interpret it.
	Attributes map[string]string
	// EnqueuedAt is when the message was committed, from the store's clock.
	EnqueuedAt time.Time
	// VisibleAt delays delivery until then; zero means at once.
	VisibleAt time.Time
}

// BlobID names an immutable blob. It is opaque: never derived from an
// object's key, never reused.
type BlobID string

// Blobs is the blob part of the contract: immutable byte sequences written
// once, read many times and removed only by the Sweeper.
type Blobs interface {
	// Write streams r into a new blob, syncs its bytes and its directory
	// entry to stable storage, and returns its id and size. If r fails, the
	// partial blob is removed and r's error is returned (wrapped). A blob
	// written and never referenced is removed by the Sweeper after the grace
	// period, so a crash between Write and the referencing commit leaks
	// nothing.
	Write(ctx context.Context, r io.Reader) (BlobID, int64, error)

	// Open returns a reader over the blob, or ErrNotFound. An open blob
	// stays readable even if it is removed meanwhile.
	Open(id BlobID) (Blob, error)

	// Remove deletes the blob; a missing blob is not an error.
	Remove(id BlobID) error

	// Walk calls fn for every blob with the time it was written.
	Walk(fn func(id BlobID, written time.Time) error) error
}

// Blob is an open blob.
type Blob interface {
	io.ReaderAt
	io.Closer
	Size() int64
}
