package s3api

import (
	"net/http"
	"strings"
	"testing"

	"sluice/internal/object"
)

// TestSetChecksumHeadersCanonical: the names setChecksumHeaders assigns
// directly are the canonical forms Header.Get finds, for every algorithm.
func TestSetChecksumHeadersCanonical(t *testing.T) {
	for _, alg := range []object.ChecksumAlgorithm{object.CRC32, object.CRC32C, object.CRC64NVME, object.SHA1, object.SHA256} {
		hd := http.Header{}
		setChecksumHeaders(hd, &object.Checksum{Algorithm: alg, Value: "v-" + string(alg)})
		if got := hd.Get("x-amz-checksum-" + strings.ToLower(string(alg))); got != "v-"+string(alg) {
			t.Errorf("%s: header value %q, want %q (headers %v)", alg, got, "v-"+string(alg), hd)
		}
		if got := hd.Get("x-amz-checksum-type"); got == "" {
			t.Errorf("%s: no x-amz-checksum-type", alg)
		}
		if len(hd) != 2 {
			t.Errorf("%s: %d headers, want 2: %v", alg, len(hd), hd)
		}
	}
}
