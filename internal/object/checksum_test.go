package object

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

func TestChecksumKnownVectors(t *testing.T) {
	u32 := func(v uint32) string { return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, v)) }
	u64 := func(v uint64) string { return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, v)) }
	hexb64 := func(h string) string {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	check := "123456789" // the standard CRC check input
	for _, tc := range []struct {
		alg  ChecksumAlgorithm
		in   string
		want string
	}{
		{CRC32, check, u32(0xcbf43926)},
		{CRC32C, check, u32(0xe3069283)},
		{CRC64NVME, check, u64(0xae8b14860a799888)},
		{SHA1, check, hexb64("f7c3bc1d808e04732adf679965ccc34ca7ae3441")},
		{SHA256, check, hexb64("15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225")},
		// What botocore sends for the body "hello\n" (aws-wire.md 5.4).
		{CRC32, "hello\n", "NjowIA=="},
		{CRC32, "", "AAAAAA=="},
		{CRC64NVME, "", "AAAAAAAAAAA="},
		{SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
	} {
		got, ok := ComputeChecksum(tc.alg, []byte(tc.in))
		if !ok || got.Value != tc.want || got.Algorithm != tc.alg {
			t.Errorf("ComputeChecksum(%s, %q) = %+v, %v; want %s", tc.alg, tc.in, got, ok, tc.want)
		}
	}
}

func TestParseChecksumAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ChecksumAlgorithm
		ok   bool
	}{
		{"CRC32", CRC32, true},
		{"crc32", CRC32, true},
		{"CRC32C", CRC32C, true},
		{"crc64nvme", CRC64NVME, true},
		{"Sha1", SHA1, true},
		{"SHA256", SHA256, true},
		{"MD5", "", false},
		{"", "", false},
		{"CRC32 ", "", false},
	} {
		got, ok := ParseChecksumAlgorithm(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseChecksumAlgorithm(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if h := NewChecksumHash("MD5"); h != nil {
		t.Errorf("NewChecksumHash(MD5) = %T, want nil", h)
	}
}
