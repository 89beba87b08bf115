// Package event is the S3 event record: the event types S3 publishes, the
// JSON body S3 sends for them (byte for byte AWS's shape), the s3:TestEvent
// message, the sequencer, and the Envelope that Sluice enqueues for each
// destination. It is pure: no storage, no network.
//
// # Records
//
// Encode writes {"Records":[...]} with the members in AWS's order
// (eventVersion, eventSource, awsRegion, eventTime, eventName, userIdentity,
// requestParameters, responseElements, s3{s3SchemaVersion, configurationId,
// bucket{name, ownerIdentity, arn}, object{key, size, eTag, versionId,
// sequencer}}), with the eventVersion AWS records for the type (Name.Version)
// and only the object members AWS sends for it: no size or eTag for
// removals, no size or sequencer for tagging and ACL events, versionId only
// when set. eventTime is UTC with milliseconds. The key is form-encoded by
// EncodeKey, whose comment states the rule. Not done yet: the type-specific
// blocks of restore, replication, lifecycle-transition and
// intelligent-tiering events (glacierEventData and friends), because Sluice
// has none of those operations.
//
// # Sequencer
//
// S3 promises that, for one key, a later event has a greater sequencer.
// Sluice's sequencer is 18 upper-case hex digits: a 24-bit epoch and a 48-bit
// counter (FormatSequencer). The contract for the integration:
//
//  1. The epoch is a high-water mark kept in the store. When the store is
//     opened, before any event is written, the integration reads it, adds
//     one, writes it back with a durable commit, and passes the new value
//     to NewSequence. So every epoch is greater than every earlier one, and
//     every sequencer of this run is greater than every sequencer of any
//     earlier run, whatever the wall clock does (no clock is involved).
//  2. Within a run, Sequence.Next is called inside the storage transaction
//     that writes the record, after that transaction has read or written the
//     object's key. Two transactions that change the same key conflict on
//     that key, so the storage layer orders them; the one that commits later
//     either drew its value later (with key locks, it waits for the lock
//     before drawing) or is rerun and draws again (with conflict detection).
//     Either way the later change on a key carries the greater value.
//     Values drawn by a transaction that is rerun or fails are skipped, which
//     is harmless: only order matters.
//
// This keeps the hot path free of a shared counter key (every notifying
// transaction would conflict on it) while still deriving every value from
// stored state. Sequencers order events on one key only, as in S3.
//
// # Envelopes
//
// An Envelope is one record (or test message) for one destination: the AWS
// payload bytes, the destination kind and ARN, the configuration id, the
// event name, bucket and key, and the Lineage (request id, trace id and
// invocation chain) that loop detection and "wait until request X is
// delivered" use. MarshalBinary/UnmarshalBinary give its versioned storage
// form; the payload is stored as raw bytes so that it is never re-encoded.
package event
