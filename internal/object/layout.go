package object

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
)

// Key layout of the object domain. It is decided once (DESIGN.md, Storage)
// because every later feature (versioning, listing, multipart) reads it.
//
// Every key starts with a table byte. 0x00 is the engine's
// (storage.ReservedPrefix) and is never used here.
//
//	'b' bucket records       'b' + bucket name
//	'o' current objects      'o' + bucket + 0x00 + raw key bytes
//	'v' object versions      'v' + bucket + 0x00 + escape(key) + 0x00 0x01 + BE64(MaxUint64 - seq)
//
// Bucket names never contain 0x00 (ValidBucketName), so 0x00 ends the bucket
// part unambiguously, and all keys of one bucket share the prefix
// 'o' + bucket + 0x00.
//
// The 'o' table holds one record per key (the latest version), so within a
// bucket its order is exactly S3's listing order (UTF-8 bytes of the key), and
// a listing with a prefix is a range scan over 'o' + bucket + 0x00 + prefix.
// A delimiter listing does not scan the keys under a common prefix: it seeks
// to prefixSuccessor(common prefix), the first key after all of them.
//
// The 'v' table (versioning; not used yet) holds every version of a key. The
// key part is escaped (0x00 becomes 0x00 0xFF) and terminated by 0x00 0x01,
// so the terminator sorts before any continuation of the key: a key sorts
// before every key it is a proper prefix of, and otherwise keys keep their
// raw byte order. After the terminator comes the version's sequence number,
// inverted and big-endian, so the versions of one key sort newest first. The
// "null" version is stored like any other, with its own sequence number; its
// record says VersionID "null".
//
// Blob owners (storage.Tx.RefBlob) are the record's identity: the 'o' or 'v'
// table byte, bucket, 0x00, the escaped key, the 0x00 0x01 terminator, then
// the version id. Escaping keeps two different (key, version) pairs from
// producing the same owner bytes.
const (
	tableBucket  byte = 'b'
	tableObject  byte = 'o'
	tableVersion byte = 'v'
)

// keyTerminator ends an escaped key; escapedZero replaces a 0x00 inside one.
var keyTerminator = []byte{0x00, 0x01}

const escapedZeroSecond = 0xFF

// bucketKey is the bucket's record key.
func bucketKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	k = append(k, tableBucket)
	return append(k, name...)
}

// bucketKeyName returns the bucket name of a bucket record key.
func bucketKeyName(k []byte) string { return string(k[1:]) }

// objectPrefix is the common prefix of every 'o' key of bucket.
func objectPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	k = append(k, tableObject)
	k = append(k, bucket...)
	return append(k, 0x00)
}

// objectKey is the key of the current record of (bucket, key).
func objectKey(bucket, key string) []byte {
	k := objectPrefix(bucket)
	return append(k, key...)
}

// objectKeyName returns the object key of an 'o' key of bucket.
func objectKeyName(bucket string, k []byte) string { return string(k[len(bucket)+2:]) }

// escapeKey appends key to dst with each 0x00 written as 0x00 0xFF, then the
// terminator 0x00 0x01.
func escapeKey(dst []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		c := key[i]
		dst = append(dst, c)
		if c == 0x00 {
			dst = append(dst, escapedZeroSecond)
		}
	}
	return append(dst, keyTerminator...)
}

// errBadLayoutKey: a key read back does not follow the layout (corruption).
var errBadLayoutKey = errors.New("object: malformed storage key")

// unescapeKey reads an escaped, terminated key from the start of b and
// returns it and the rest of b after the terminator.
func unescapeKey(b []byte) (key string, rest []byte, err error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0x00 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", nil, errBadLayoutKey
		}
		switch b[i+1] {
		case escapedZeroSecond:
			out = append(out, 0x00)
			i++
		case keyTerminator[1]:
			return string(out), b[i+2:], nil
		default:
			return "", nil, errBadLayoutKey
		}
	}
	return "", nil, errBadLayoutKey
}

// versionPrefix is the common prefix of every version of (bucket, key).
func versionPrefix(bucket, key string) []byte {
	k := make([]byte, 0, 4+len(bucket)+len(key))
	k = append(k, tableVersion)
	k = append(k, bucket...)
	k = append(k, 0x00)
	return escapeKey(k, key)
}

// versionKey is the key of one version of (bucket, key). seq grows with
// every version written; inverting it puts the newest version first.
func versionKey(bucket, key string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(versionPrefix(bucket, key), math.MaxUint64-seq)
}

// parseVersionKey is the inverse of versionKey.
func parseVersionKey(k []byte) (bucket, key string, seq uint64, err error) {
	if len(k) < 2 || k[0] != tableVersion {
		return "", "", 0, errBadLayoutKey
	}
	i := bytes.IndexByte(k[1:], 0x00)
	if i < 0 {
		return "", "", 0, errBadLayoutKey
	}
	bucket = string(k[1 : 1+i])
	key, rest, err := unescapeKey(k[2+i:])
	if err != nil {
		return "", "", 0, err
	}
	if len(rest) != 8 {
		return "", "", 0, errBadLayoutKey
	}
	return bucket, key, math.MaxUint64 - binary.BigEndian.Uint64(rest), nil
}

// blobOwner is the owner recorded with RefBlob for the record of (bucket,
// key, versionID) in table ('o' or 'v').
func blobOwner(table byte, bucket, key, versionID string) []byte {
	k := make([]byte, 0, 5+len(bucket)+len(key)+len(versionID))
	k = append(k, table)
	k = append(k, bucket...)
	k = append(k, 0x00)
	k = escapeKey(k, key)
	return append(k, versionID...)
}

// prefixSuccessor returns the smallest key greater than every key that
// starts with p, or nil when there is none (p is empty or all 0xFF): the
// exclusive upper bound of p's range, and the seek target that skips it.
func prefixSuccessor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			s := make([]byte, i+1)
			copy(s, p[:i+1])
			s[i]++
			return s
		}
	}
	return nil
}

// keyAfter returns the smallest key greater than k: k + 0x00.
func keyAfter(k []byte) []byte {
	s := make([]byte, len(k)+1)
	copy(s, k)
	return s
}
