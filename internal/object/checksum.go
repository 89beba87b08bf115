package object

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"
)

// checksumAlgorithms lists S3's flexible checksum algorithms in the order
// S3's documentation names them. Read only.
var checksumAlgorithms = [...]ChecksumAlgorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}

// ParseChecksumAlgorithm maps a header value (x-amz-checksum-algorithm,
// x-amz-sdk-checksum-algorithm, or the <algorithm> of x-amz-checksum-<algorithm>)
// to its algorithm. S3 accepts any letter case.
func ParseChecksumAlgorithm(s string) (ChecksumAlgorithm, bool) {
	for _, a := range checksumAlgorithms {
		if strings.EqualFold(s, string(a)) {
			return a, true
		}
	}
	return "", false
}

// crc64NVMETable is CRC-64/NVME (polynomial 0xad93d23594c93659, reflected,
// init and xorout all ones). hash/crc64 takes the reflected polynomial and
// applies the all-ones init and xorout itself.
var crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// crc32CTable is the Castagnoli table (hardware accelerated where possible).
var crc32CTable = crc32.MakeTable(crc32.Castagnoli)

// NewChecksumHash returns a fresh hash for alg, or nil when alg is not one of
// S3's five algorithms. Its Sum is the big-endian digest S3 base64-encodes.
func NewChecksumHash(alg ChecksumAlgorithm) hash.Hash {
	switch alg {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(crc32CTable)
	case CRC64NVME:
		return newCRC64NVME() // slicing-by-8 (crc64nvme.go)
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	return nil
}

// ChecksumValue returns the base64 of h's digest: the value S3 writes in
// x-amz-checksum-<algorithm>.
func ChecksumValue(h hash.Hash) string {
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ComputeChecksum returns alg's checksum of b (small inputs, and tests).
func ComputeChecksum(alg ChecksumAlgorithm, b []byte) (Checksum, bool) {
	h := NewChecksumHash(alg)
	if h == nil {
		return Checksum{}, false
	}
	h.Write(b)
	return Checksum{Algorithm: alg, Value: ChecksumValue(h)}, true
}
