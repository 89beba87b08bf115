package object

import (
	"bytes"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

// TestCRC64NVMEMatchesHashCRC64: the slicing-by-8 hash gives hash/crc64's
// digest with the same table for every length up to a few KiB and for
// writes split at arbitrary points.
func TestCRC64NVMEMatchesHashCRC64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 5000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= len(buf); n += 1 + n/7 {
		p := buf[:n]
		ref := crc64.New(crc64NVMETable)
		ref.Write(p)
		h := newCRC64NVME()
		cut := 0
		if n > 0 {
			cut = r.IntN(n + 1)
		}
		h.Write(p[:cut])
		h.Write(p[cut:])
		if !bytes.Equal(h.Sum(nil), ref.Sum(nil)) || h.Sum64() != ref.Sum64() {
			t.Fatalf("len %d cut %d: %x, hash/crc64 %x", n, cut, h.Sum(nil), ref.Sum(nil))
		}
	}
	// CRC-64/NVME's check value (the CRC of "123456789").
	h := newCRC64NVME()
	h.Write([]byte("123456789"))
	if got := h.Sum64(); got != 0xae8b14860a799888 {
		t.Errorf("check value %#x, want 0xae8b14860a799888", got)
	}
	h.Reset()
	if h.Sum64() != 0 {
		t.Error("Reset did not clear the digest")
	}
}
