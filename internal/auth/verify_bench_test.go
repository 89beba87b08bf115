package auth

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkVerifyS3Put verifies the signature of a 1 KiB PUT as the go-v2
// S3 client signs it: every S3 request pays this before its handler runs.
func BenchmarkVerifyS3Put(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	r := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bkt/p001/key-1", nil)
	r.ContentLength = int64(len(body))
	signS3(b, r, rootCred, sha(body), t0)
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	v := newVerifier(t0)
	if _, err := v.VerifyS3(r, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.VerifyS3(r, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeaderValuesCanonical: headerValues finds what http.Header.Values
// finds for lower-case names, canonicalisable or not.
func TestHeaderValuesCanonical(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"X-Amz-Date", "X-Amz-Content-Sha256", "Content-Md5", "Amz-Sdk-Invocation-Id",
		"X-Amz-Meta-A1-B2", "Host", "X-9a-Z", "x_under", "weird key", "Ünï"} {
		h[k] = []string{"v-" + k}
	}
	for _, name := range []string{"x-amz-date", "x-amz-content-sha256", "content-md5", "amz-sdk-invocation-id",
		"x-amz-meta-a1-b2", "host", "x-9a-z", "x_under", "weird key", "ünï", "-", "a--b", "missing",
		strings.Repeat("a", 64), strings.Repeat("b", 65), ""} {
		got, want := headerValues(h, name), h.Values(name)
		if !slices.Equal(got, want) {
			t.Errorf("headerValues(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestHasNameFold: hasNameFold(names, n) == hasName(names, ToLower(n)).
func TestHasNameFold(t *testing.T) {
	names := []string{"host", "x-amz-date", "x-amz-meta-ſ", "x-amz-content-sha256"}
	for _, n := range []string{"X-Amz-Date", "x-amz-date", "X-AMZ-DATE", "X-Amz-Dat", "X-Amz-Datf",
		"X-Amz-Meta-S", "X-Amz-Meta-ſ", "X-Amz-Meta-S", "X-Amz-Content-Sha256", "Host", ""} {
		if got, want := hasNameFold(names, n), hasName(names, strings.ToLower(n)); got != want {
			t.Errorf("hasNameFold(%q) = %v, want %v", n, got, want)
		}
	}
}
