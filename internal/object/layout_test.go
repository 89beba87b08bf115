package object

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
)

// layoutKeys are keys whose byte order exercises the escaping: shared
// prefixes, 0x00 and 0x01 bytes, high bytes, multi-byte UTF-8.
var layoutKeys = []string{
	"", "a", "a\x00", "a\x00\x00", "a\x00\x01", "a\x00b", "a\x00\xff", "a\x01", "a/", "a/b",
	"ab", "abc", "b", "z\xfe", "z\xff", "é", "éa", "日本", "日本語", "\U0001F600",
}

func TestVersionKeyOrdersKeysByRawBytesThenNewestFirst(t *testing.T) {
	keys := slices.Clone(layoutKeys)
	slices.Sort(keys)                                  // Go string order is byte order: S3's order
	seqs := []uint64{math.MaxUint64, 1 << 40, 7, 1, 0} // newest first
	var want [][]byte
	for _, k := range keys {
		for _, q := range seqs {
			want = append(want, versionKey("bkt", k, q))
		}
	}
	got := slices.Clone(want)
	slices.SortFunc(got, bytes.Compare)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			b, k, q, _ := parseVersionKey(got[i])
			wb, wk, wq, _ := parseVersionKey(want[i])
			t.Fatalf("position %d: sorted storage keys give (%q, %q, %d), want (%q, %q, %d)", i, b, k, q, wb, wk, wq)
		}
	}
}

func TestVersionKeyRoundTrip(t *testing.T) {
	for _, k := range layoutKeys {
		for _, q := range []uint64{0, 1, 42, math.MaxUint64} {
			for _, b := range []string{"abc", "my.bucket-1"} {
				gb, gk, gq, err := parseVersionKey(versionKey(b, k, q))
				if err != nil || gb != b || gk != k || gq != q {
					t.Errorf("parseVersionKey(versionKey(%q, %q, %d)) = %q, %q, %d, %v", b, k, q, gb, gk, gq, err)
				}
			}
		}
	}
}

func TestParseVersionKeyRejectsMalformed(t *testing.T) {
	good := versionKey("bkt", "k", 5)
	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"empty", nil},
		{"wrong table", append([]byte{'o'}, good[1:]...)},
		{"no bucket end", []byte("vbkt")},
		{"no terminator", []byte("vbkt\x00k")},
		{"bad escape", []byte("vbkt\x00k\x00\x05\x01\x02\x03\x04\x05\x06\x07\x08")},
		{"short sequence", good[:len(good)-1]},
		{"long sequence", append(slices.Clone(good), 0)},
	} {
		if b, k, q, err := parseVersionKey(tc.key); err == nil {
			t.Errorf("%s: parseVersionKey(%q) = %q, %q, %d, nil; want an error", tc.name, tc.key, b, k, q)
		}
	}
}

func TestObjectKeyOrderIsS3ListingOrder(t *testing.T) {
	keys := slices.Clone(layoutKeys)
	slices.Sort(keys)
	var stored [][]byte
	for i := len(keys) - 1; i >= 0; i-- {
		stored = append(stored, objectKey("bkt", keys[i]))
	}
	slices.SortFunc(stored, bytes.Compare)
	for i, k := range stored {
		if got := objectKeyName("bkt", k); got != keys[i] {
			t.Errorf("position %d: got key %q, want %q", i, got, keys[i])
		}
		if !bytes.HasPrefix(k, objectPrefix("bkt")) {
			t.Errorf("objectKey(bkt, %q) = %q lacks the bucket prefix", keys[i], k)
		}
	}
}

func TestBucketsDoNotShareKeyRanges(t *testing.T) {
	// Bucket "abc" with a key starting "d" must not fall in bucket "abcd"'s
	// range, nor the other way round.
	for _, tc := range []struct{ bucket, key, other string }{
		{"abc", "d", "abcd"},
		{"abcd", "", "abc"},
		{"abc", "\x00x", "abc\x00x"},
	} {
		for _, k := range [][]byte{objectKey(tc.bucket, tc.key), versionKey(tc.bucket, tc.key, 1)} {
			p := objectPrefix(tc.other)
			if k[0] == tableVersion {
				p = versionBucketPrefix(tc.other)
			}
			if bytes.HasPrefix(k, p) {
				t.Errorf("key %q of bucket %q is inside bucket %q's range %q", tc.key, tc.bucket, tc.other, p)
			}
		}
	}
}

func TestBlobOwnersAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, b := range []string{"abc", "abcd"} {
		for _, k := range []string{"a", "anull", "a\x00", "a\x00null", "d"} {
			for _, v := range []string{"", "null", "3"} {
				for _, table := range []byte{tableObject, tableVersion} {
					o := string(blobOwner(table, b, k, v))
					id := fmt.Sprintf("%c %q %q %q", table, b, k, v)
					if prev, dup := seen[o]; dup {
						t.Errorf("blobOwner(%s) == blobOwner(%s) == %q", id, prev, o)
					}
					seen[o] = id
				}
			}
		}
	}
}

func TestPrefixSuccessor(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte("a"), []byte("b")},
		{[]byte("a/"), []byte("a0")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xff\xff"), []byte("b")},
		{[]byte("\xff\xff"), nil},
		{nil, nil},
		{[]byte("o\x00"), []byte("o\x01")},
	} {
		got := prefixSuccessor(tc.in)
		if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("prefixSuccessor(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The successor sorts after every extension of the prefix and before
	// the next key that does not extend it.
	p := []byte("k/")
	s := prefixSuccessor(p)
	for _, ext := range []string{"", "\x00", "\xff\xff\xff", "zzz"} {
		if k := append(slices.Clone(p), ext...); bytes.Compare(k, s) >= 0 {
			t.Errorf("extension %q of %q sorts at or after its successor %q", k, p, s)
		}
	}
	if bytes.Compare([]byte("k0"), s) < 0 {
		t.Errorf("successor %q of %q sorts after %q", s, p, "k0")
	}
}
