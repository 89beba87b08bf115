// Package object holds buckets and objects on the storage contract: the key
// layout, the record format, listing, and the blob model (small objects
// inline in their record, large ones in blobs referenced from it).
//
// Guarantees:
//   - A PutObject is visible only once every check passed (size, Content-MD5,
//     flexible checksum, the client's own body reader) and its record is
//     committed durably; on any error the previous object, if any, is
//     unchanged and the blob the PUT wrote is removed at once (the storage
//     Sweeper removes it after a crash).
//   - Objects of at most InlineLimit bytes live inside their record: one
//     commit, no blob. Larger ones are streamed into a blob; memory stays at
//     InlineLimit+1 bytes plus the blob store's buffer, whatever the size.
//   - A record and its blob reference (storage.Tx.RefBlob) change in one
//     transaction: overwriting or deleting an object releases its blob's
//     reference in the commit that replaces the record. Unreferenced blobs
//     are removed by the Sweeper, not here, so a reader that opened the old
//     blob can finish.
//   - DeleteBucket checks emptiness inside its transaction, so no object can
//     be committed into a bucket that is being deleted.
//   - A listing page is read from one snapshot, in UTF-8 byte order, and a
//     common prefix is skipped with one seek whatever it holds.
//
// Caveats: versioning is not built yet; the 'v' table of layout.go is its
// reserved, tested key format. The version id of every object is "null".
package object
