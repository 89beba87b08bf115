package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func TestPatternStreamRoundTrip(t *testing.T) {
	block := newPatternBlock()
	for _, size := range []int64{0, 1, patternBlockSize - 1, patternBlockSize, 3*patternBlockSize + 17} {
		all, err := io.ReadAll(&patternReader{block: block, size: size})
		if err != nil || int64(len(all)) != size {
			t.Fatalf("size %d: read %d bytes, %v", size, len(all), err)
		}
		sum := sha256.Sum256(all)
		if got, want := patternSHA256(block, size), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("size %d: patternSHA256 = %s, want %s", size, got, want)
		}
		v := &patternVerifier{block: block}
		// Odd-sized writes cross block boundaries.
		if _, err := io.CopyBuffer(v, bytes.NewReader(all), make([]byte, 1000)); err != nil || v.off != size {
			t.Errorf("size %d: verifier took %d bytes, %v", size, v.off, err)
		}
		if size > 10 {
			bad := bytes.Clone(all)
			bad[size-5] ^= 1
			v := &patternVerifier{block: block}
			if _, err := io.Copy(v, bytes.NewReader(bad)); err == nil {
				t.Errorf("size %d: verifier accepted a flipped byte", size)
			}
		}
	}
}

func TestBodySetDistinct(t *testing.T) {
	bs := newBodySet(8, 1024, 1)
	seen := map[string]bool{}
	for i, b := range bs.bodies {
		sum := sha256.Sum256(b)
		if len(b) != 1024 || hex.EncodeToString(sum[:]) != bs.shas[i] {
			t.Errorf("body %d: length %d, sha mismatch", i, len(b))
		}
		if seen[bs.shas[i]] {
			t.Errorf("body %d repeats another", i)
		}
		seen[bs.shas[i]] = true
	}
}
