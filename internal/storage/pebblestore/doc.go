// Package pebblestore is the embedded storage engine: storage.Store on
// Pebble (cockroachdb/pebble/v2). Pebble has atomic batches, not
// transactions; the transaction layer here is Sluice's own, optimistic, and
// small.
//
// # Transactions
//
// Every commit gets a number, in the order it is handed to Pebble. The
// store keeps a durable watermark D: every commit numbered <= D has returned
// from its WAL sync.
//
//  1. An attempt of Update starts at S = D and runs fn on a Pebble indexed
//     batch (reads see the batch's own writes over the live database). It
//     records the point keys it reads and writes and the [lower, upper)
//     range of every iterator it opens (BlobReferenced and Messages are
//     range reads too).
//  2. Validation, under mu: for every commit numbered > S still in the log,
//     if its written keys meet our read keys, our written keys or our read
//     ranges, the attempt conflicts: its batch is discarded, Update waits
//     until that commit is durable, and runs fn again. If fn returned an
//     error, the attempt is still validated first, so an error computed from
//     an inconsistent view is never returned.
//  3. A validated attempt with writes takes the next number, records its
//     written keys in the log, and is handed to Pebble with
//     DB.ApplyNoSyncWait(batch, Sync), still under mu. Then mu is released
//     and Batch.SyncWait waits for the WAL sync; concurrent commits wait for
//     the same sync (group commit). The number is then marked done and D
//     advances over every contiguous done number.
//  4. Log entries that no running attempt (start S) and no future attempt
//     (start >= D) can need are pruned.
//
// After exclusiveAfter conflicts an attempt takes gate exclusively: it waits
// for every commit in flight to become durable and runs alone, so it cannot
// conflict again. This bounds starvation on hot keys (a counter updated by
// many goroutines); storage.ErrConflict after maxAttempts is then
// practically unreachable.
//
// # Why it is serializable
//
// The serial order is the commit number order. Take a committed attempt T
// with start S and number N. Every commit numbered <= S had finished (was
// applied and published in Pebble) before T started, so T's reads saw all of
// them. Any commit that T could have seen beyond that has a number > S (a
// batch reaches Pebble only after getting its number, under mu), and every
// such commit numbered < N was checked at validation: none wrote a key T
// read or a key in a range T read. So each value T read is the value as of
// S, which is also its value just before N: T reads exactly what it would
// have read running alone at position N. Commits numbered > N validate
// against T in turn. Counting our own written keys as conflicts too keeps
// two writers of one key from ever being in flight together, and handing
// batches to Pebble under mu makes Pebble's sequence order equal to the
// number order anyway, so the database state is the state of that serial
// order. Read-only attempts and attempts whose fn failed are validated the
// same way and write nothing.
//
// Update attempts read domain keys through a small read cache
// (readcache.go) whose entries always equal what a Pebble read of the
// latest applied state returns: a commit drops the entries of the keys it
// writes under mu before its batch reaches Pebble, and only a validated
// attempt adds entries, for keys it read and did not write. A hit is thus
// the value the attempt would have read from Pebble at that moment, and it
// is recorded as a read all the same, so the argument above holds as is.
//
// # Visibility and durability (checked in Pebble's commit.go)
//
// Pebble does NOT make a Sync batch visible only after its WAL sync:
// commitPipeline.Commit writes the batch to the WAL, applies it to the
// memtable and publishes its sequence number (visible to readers), and only
// then waits for the sync ("waiting for the WAL sync after ratcheting the
// visible sequence number allows another goroutine to read committed data
// before the WAL has synced", commitPipeline's doc comment). Sluice must not
// show data a crash could take back, so:
//
//   - Update: a commit that is visible but not yet durable has a number > D
//     and thus > S of any attempt that could see it; reading any of its keys
//     is a conflict, so no committed transaction (and no returned error)
//     depends on data that is not durable. Update returns only after
//     SyncWait.
//   - View: takes a Pebble snapshot under mu, which therefore holds exactly
//     the commits numbered <= last, and notes the write sets of those
//     numbered > D (not yet durable). Before a point read of key k it waits
//     until the newest of them that wrote k is durable; before opening an
//     iterator, the newest that wrote a key in its range. A value read is
//     then the one written by the newest commit <= last that wrote that key,
//     which is durable; and since no commit between it and last wrote the
//     key, the values read together are those of the durable state after the
//     newest commit waited for: a state a crash cannot take back, consistent
//     across the keys read. A View that reads nothing in flight (the bucket
//     record, a GET of one key while others are PUT) never waits for another
//     request's WAL sync.
//   - WaitEnqueued channels are closed after the sync.
//
// The WAL is one sequential log, so a crash keeps a prefix of the commits in
// Pebble order; since that order is the number order and conflicting commits
// are never in flight together, a surviving commit never depends on a lost
// one.
//
// # Queue messages
//
// Enqueue allocates a store-wide increasing seq (an atomic counter seeded at
// Open from a persisted high-water mark, so ids are never reused) and writes
// the message under 0x00 'q' <queue> 0x00 <seq>; the id is the seq in 16 hex
// digits, so ids sort as keys do. Seqs are allocated while fn runs, before
// the commit order is known, so a commit whose smallest seq in a queue is
// not above the highest already committed into that queue is treated as a
// conflict and rerun with fresh seqs: within a queue, key order is commit
// order, and a reader that has seen a message never later finds a new one
// before it. EnqueuedAt is stamped by the store's clock when Enqueue is
// called.
//
// A message record (queuerecord.go: binary, or JSON if written before
// that form) holds storage.Message plus, once leased,
// ReceiveCount, Gen (the generation of the latest lease) and FirstLeased;
// VisibleAt is then the lease deadline. A receipt is base64url of
// seq, Gen and a CRC-32C over the queue name and both, so a malformed
// receipt or another queue's is storage.ErrInvalidReceipt without a read,
// and one whose Gen is not the record's is storage.ErrStaleReceipt. Move
// writes the record under a new seq in the destination (key order stays
// commit order there) and keeps its id in the record.
//
// # Queue index
//
// Each queue has an in-memory index (queueindex.go): visible seqs in a
// min-heap (oldest first), in-flight and delayed ones in a heap by visible-at
// time, and counts. Nothing runs on a timer: Lease and Stats first move
// every entry whose time has come to the visible heap (by the store's
// clock). Changes of an Update (Enqueue, Ack, Extend, Move, Purge) reach the
// index only after its commit is durable, just before WaitEnqueued fires, so
// a receiver never gets a message a crash could take back. Commits finish
// their syncs in any order, so each entry remembers the number of the commit
// that last changed it and older changes are ignored; Purge remembers its
// number so that earlier enqueues are ignored too. Open rebuilds the index
// from the records (one scan of the queue keys).
//
// # Queue leases
//
// Lease takes a per-queue mutex (leases on one queue never race each other,
// so they never conflict), takes up to Max entries from the visible heap
// (O(Max log n), no store scan), and re-reads their records from Pebble,
// which are the truth: a record that is gone, expired or not visible after
// all is fixed up in the index and replaced by the next visible one. It then
// validates like an Update attempt (any commit after its start that wrote
// one of those keys makes it re-read), takes a commit number and records
// its written keys, so an Ack or Move racing it in an Update conflicts and
// reruns. An Update attempt that began after a lease commit was applied has
// read its writes and does not conflict with it, even though that commit
// was not synced.
//
// # Durability of each queue operation
//
//   - Enqueue, Ack, Extend, Move, Purge: written by their Update, synced
//     before it returns. A message that Enqueue accepted survives any crash.
//   - Lease: applied with pebble.NoSync and counted as done at once: the new
//     receive count, generation and deadline reach the disk with the next
//     synced commit of anyone (the WAL is one log, so a later sync covers
//     it). A crash before that forgets the lease: the message is visible
//     at once after restart with its old receive count, and the receipt is
//     stale. With LeaseOptions.Durable the lease is a synced commit, so the
//     receive count (a delivery attempt count) survives.
//   - Retention (ExpireBefore): the delete rides on the lease's commit,
//     unsynced unless Durable. A crash may bring an expired message back;
//     the next Lease deletes it again, so nothing expired is handed out.
//   - A lease that survived a restart holds until its deadline; the holder
//     is gone, so the message comes back when the deadline passes.
//
// # Reserved keys
//
// Keys starting with 0x00 belong to the engine (queue messages, blob
// references 0x00 'r' <id> 0x00 <owner>, counters). Set, Delete and Get of
// such a key return storage.ErrReservedKey, and NewIterator clamps its lower
// bound to 0x01 so domain scans never see them.
package pebblestore
