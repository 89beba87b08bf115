// Package storage is Sluice's storage contract, the one deliberate shared
// interface (like database/sql/driver): an ordered key-value store with
// serializable transactions (Store), and a blob store for object bytes
// (Blobs). Engines implement it; storagetest checks every engine against
// the same invariants under concurrency.
//
// Guarantees:
//   - Update is serializable and durable: when it returns nil its writes are
//     on stable storage; a crash at any point leaves all of them or none.
//   - Update may run its function several times (optimistic concurrency);
//     the function must not have effects outside its transaction.
//   - View reads one consistent snapshot.
//   - Enqueue joins the caller's transaction: a message exists if and only
//     if the transaction that enqueued it committed.
//   - Blobs are immutable. Write returns only after the bytes and the
//     directory entry are synced. References are recorded with RefBlob in
//     the same transaction as the record that points at the blob; the
//     Sweeper removes blobs that have no reference and are older than the
//     grace period (which protects writes whose commit is still to come).
//
// Keys starting with ReservedPrefix belong to the engine.
package storage
