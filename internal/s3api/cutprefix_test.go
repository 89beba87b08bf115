package s3api

import (
	"strings"
	"testing"
)

// TestCutPrefixLower: the same answers as lower-casing first, for ASCII
// names in any case and for names whose Unicode lower case is ASCII.
func TestCutPrefixLower(t *testing.T) {
	for _, prefix := range []string{metaPrefix, "x-amz-checksum-"} {
		for _, name := range []string{"X-Amz-Meta-Color", "x-amz-meta-", "X-Amz-Meta-", "X-Amz-Meta", "Content-Type",
			"X-Amz-Checksum-Crc32", "X-AMZ-CHECKSUM-SHA256", "X-Amz-Checksum-", "X-Amz-Checksu", "",
			"X-Amz-Chec\u212Asum-Crc32", "X-Amz-Meta-\u00c4", "\u0130-amz-meta-x"} {
			lname, rest, ok := cutPrefixLower(name, prefix)
			wantL := strings.ToLower(name)
			wantRest, wantOK := strings.CutPrefix(wantL, prefix)
			if ok != wantOK || ok && (rest != wantRest || lname != wantL) {
				t.Errorf("cutPrefixLower(%q, %q) = %q, %q, %v; want %q, %q, %v", name, prefix, lname, rest, ok, wantL, wantRest, wantOK)
			}
		}
	}
}
