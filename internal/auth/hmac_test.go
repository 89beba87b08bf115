package auth

import (
	"bytes"
	"testing"
)

// TestHMACSHA256Fixed: the allocation-free HMAC equals crypto/hmac's for
// keys shorter than, equal to and longer than a block, and for messages on
// both sides of its stack buffer.
func TestHMACSHA256Fixed(t *testing.T) {
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 100} {
		key := bytes.Repeat([]byte{byte(kl) + 1}, kl)
		for _, dl := range []int{0, 1, 55, 56, 64, 200, 255, 256, 257, 1000} {
			data := bytes.Repeat([]byte{byte(dl) ^ 0x5a}, dl)
			got := hmacSHA256Fixed(key, data)
			if want := hmacSHA256(key, data); !bytes.Equal(got[:], want) {
				t.Errorf("key %d bytes, data %d bytes: %x, crypto/hmac %x", kl, dl, got, want)
			}
		}
	}
	// RFC 4231 test case 2.
	got := hmacSHA256Fixed([]byte("Jefe"), []byte("what do ya want for nothing?"))
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if hexOf := bytesToHex(got[:]); hexOf != want {
		t.Errorf("RFC 4231 case 2: %s, want %s", hexOf, want)
	}
}

func bytesToHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
