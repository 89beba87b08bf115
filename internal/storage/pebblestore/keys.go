package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"sluice/internal/storage"
)

// Engine-reserved key layout. Every key starts with storage.ReservedPrefix,
// so no domain key can collide with one, and domain iterators are clamped to
// start at domainLower so that they never see these keys.
//
//	0x00 'q' <queue> 0x00 <8-byte big-endian seq>   queue message (JSON)
//	0x00 'r' <blob id> 0x00 <owner>                   blob reference (empty value)
//	0x00 'c' "msgseq"                                 highest committed message seq
const (
	tagQueue   = 'q'
	tagRef     = 'r'
	tagCounter = 'c'
)

// domainLower is the smallest key a domain key can be: anything below it
// starts with the reserved prefix.
var domainLower = []byte{storage.ReservedPrefix + 1}

// msgSeqKey holds the highest message seq ever committed, so ids are never
// reused after a restart even when every message was removed.
func msgSeqKey() []byte {
	return []byte{storage.ReservedPrefix, tagCounter, 'm', 's', 'g', 's', 'e', 'q'}
}

var errBadQueue = errors.New("pebblestore: queue name must be non-empty and must not contain a NUL byte")
var errBadBlobID = errors.New("pebblestore: blob id must be non-empty and must not contain a NUL byte")

func checkQueue(queue string) error {
	if queue == "" || bytes.IndexByte([]byte(queue), 0) >= 0 {
		return errBadQueue
	}
	return nil
}

func checkBlobID(id storage.BlobID) error {
	if id == "" || bytes.IndexByte([]byte(id), 0) >= 0 {
		return errBadBlobID
	}
	return nil
}

// queuePrefix returns the key range [lower, upper) of queue's messages.
func queueRange(queue string) (lower, upper []byte) {
	lower = make([]byte, 0, len(queue)+3)
	lower = append(lower, storage.ReservedPrefix, tagQueue)
	lower = append(lower, queue...)
	lower = append(lower, 0)
	upper = bytes.Clone(lower)
	upper[len(upper)-1] = 1
	return lower, upper
}

func messageKey(queue string, seq uint64) []byte {
	lower, _ := queueRange(queue)
	return binary.BigEndian.AppendUint64(lower, seq)
}

// messageID renders seq as fixed-width hex so ids sort as their seqs do.
func messageID(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// refRange returns the key range holding every reference to blob id.
func refRange(id storage.BlobID) (lower, upper []byte) {
	lower = make([]byte, 0, len(id)+3)
	lower = append(lower, storage.ReservedPrefix, tagRef)
	lower = append(lower, id...)
	lower = append(lower, 0)
	upper = bytes.Clone(lower)
	upper[len(upper)-1] = 1
	return lower, upper
}

func refKey(id storage.BlobID, owner []byte) []byte {
	lower, _ := refRange(id)
	return append(lower, owner...)
}
