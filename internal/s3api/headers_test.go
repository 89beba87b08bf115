package s3api

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// TestHasToken: hasToken finds a token in a comma-separated list however
// it is spaced and cased, and nothing else.
func TestHasToken(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"aws-chunked", true},
		{"AWS-Chunked", true},
		{"gzip,aws-chunked", true},
		{"gzip , aws-chunked ", true},
		{" aws-chunked,gzip", true},
		{"gzip", false},
		{"aws-chunked-x", false},
		{",", false},
		{"gzip,,", false},
	} {
		if got := hasToken(tc.header, "aws-chunked"); got != tc.want {
			t.Errorf("hasToken(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestChecksumHeadersIndependent: the two values setChecksumHeaders
// assigns share a backing array; adding to one must not change the other.
func TestChecksumHeadersIndependent(t *testing.T) {
	hd := http.Header{}
	setChecksumHeaders(hd, &object.Checksum{Algorithm: object.CRC32, Value: "AAAAAA=="})
	hd.Add("X-Amz-Checksum-Crc32", "second")
	if got := hd.Values("X-Amz-Checksum-Type"); len(got) != 1 || got[0] != "FULL_OBJECT" {
		t.Errorf("x-amz-checksum-type after an Add to the checksum = %q, want [FULL_OBJECT]", got)
	}
	if got := hd.Values("X-Amz-Checksum-Crc32"); len(got) != 2 || got[0] != "AAAAAA==" {
		t.Errorf("x-amz-checksum-crc32 = %q", got)
	}
}

// TestHeaderLookupsCanonical: every header name this package looks up or
// assigns as a literal (Header.Get, headerGet, hd["..."]) is already in
// canonical form: headerGet and map indexing find only canonical keys,
// and Header.Get with another form builds the canonical name (an
// allocation per lookup; a PUT made two).
func TestHeaderLookupsCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	lookup := regexp.MustCompile(`(?:(?:Header|hd|header)\.(?:Get|Values)\(|headerGet\([^,()]+, |(?:Header|hd)\[)"([^"]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lookup.FindAllSubmatch(src, -1) {
			found++
			if name := string(m[1]); http.CanonicalHeaderKey(name) != name {
				t.Errorf("%s: header lookup %q, want the canonical %q", f, name, http.CanonicalHeaderKey(name))
			}
		}
	}
	if found < 20 {
		t.Errorf("found %d header lookups; the pattern no longer matches the code", found)
	}
}

// TestParseMetaStandardHeaders: parseMeta picks up the six standard
// headers exactly as Header.Get reads them (the first value; absent or
// empty is ""), beside the user metadata.
func TestParseMetaStandardHeaders(t *testing.T) {
	hd := http.Header{
		"Content-Type":        {"text/plain", "ignored"},
		"Content-Encoding":    {"gzip"},
		"Content-Disposition": {},
		"Cache-Control":       {"no-cache"},
		"Expires":             {"Thu, 01 Dec 1994 16:00:00 GMT"},
		"X-Amz-Meta-Color":    {"blue", "green"},
		"content-language":    {"not canonical: Header.Get does not see it"},
		"Authorization":       {"x"},
	}
	m, err := parseMeta(hd)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, got string }{
		{"Content-Type", m.ContentType}, {"Content-Encoding", m.ContentEncoding},
		{"Content-Disposition", m.ContentDisposition}, {"Content-Language", m.ContentLanguage},
		{"Cache-Control", m.CacheControl}, {"Expires", m.Expires},
	} {
		if want := hd.Get(f.name); f.got != want {
			t.Errorf("%s = %q, want %q (Header.Get)", f.name, f.got, want)
		}
	}
	if len(m.User) != 1 || m.User["color"] != "blue,green" {
		t.Errorf("user metadata %v, want color=blue,green", m.User)
	}
}
