package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthorization feeds arbitrary Authorization headers through the
// parser and the whole verifier: never a panic, and every failure is an
// *Error with a code and a status.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301//s3/aws4_request,SignedHeaders=host,Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=, SignedHeaders=;;, Signature=")
	f.Add("AWS AKID:sig")
	f.Add("aws4-hmac-sha256 Credential=a/b/c/d/e, Credential=a/b/c/d/e")
	f.Fuzz(func(t *testing.T, authz string) {
		a, ok := parseAuthorization(strings.TrimPrefix(authz, "AWS4-HMAC-SHA256 "))
		if ok && (a.Credential == "" || a.SignedHeaders == "" || a.Signature == "") {
			t.Fatalf("accepted %q with an empty component: %+v", authz, a)
		}
		r := httptest.NewRequest("GET", "/b/k", nil)
		r.Header.Set("Authorization", authz)
		r.Header.Set("X-Amz-Date", "20260301T120000Z")
		r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
		res, err := newVerifier(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Verify(r)
		checkOutcome(t, res, err)
		ParseScope(r)
	})
}

// FuzzPresignedQuery feeds arbitrary raw query strings through the
// presigned path of the verifier.
func FuzzPresignedQuery(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%zz&X-Amz-Date=x&X-Amz-Expires=1&X-Amz-SignedHeaders=&X-Amz-Signature=")
	f.Add("a&&b=&=c&%2B+=+")
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/b/k", nil)
		r.URL.RawQuery = raw
		res, err := newVerifier(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Verify(r)
		checkOutcome(t, res, err)
		canonicalQuery(parseQuery(raw), true)
		ParseScope(r)
	})
}

func checkOutcome(t *testing.T, res *Result, err error) {
	t.Helper()
	if err == nil {
		// Nothing the fuzzer makes is signed with the root secret.
		t.Fatalf("unsigned input verified: %+v", res)
	}
	var ae *Error
	if !errors.As(err, &ae) || ae.Code == "" || ae.Status < 400 || ae.Message == "" {
		t.Fatalf("error %v (%T) is not a complete *Error", err, err)
	}
}

// FuzzParseAmzDate: parseAmzDate accepts exactly what
// time.Parse(iso8601Basic) accepts, with the same time.
func FuzzParseAmzDate(f *testing.F) {
	for _, s := range []string{"20260301T120000Z", "20240229T235959Z", "20230229T000000Z", "20260431T000000Z",
		"20261301T000000Z", "20260001T000000Z", "20260100T000000Z", "20260101T240000Z", "20260101T236000Z",
		"20260101T235960Z", "00000101T000000Z", "99991231T235959Z", "2026-301T120000Z", "+0260301T120000Z",
		"20260301t120000Z", "20260301T120000z", "20260301T1200000", "20260301T12000Z", "20260301T120000ZZ",
		"20260301T 20000Z", "2026030１T120000Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseAmzDate(s)
		want, err := time.Parse(iso8601Basic, s)
		if len(s) != len(iso8601Basic) {
			err = errors.New("wrong length") // parseAmzDate's own first rule
		}
		if ok != (err == nil) || ok && !got.Equal(want) || ok && got.Location() != want.Location() {
			t.Fatalf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
	})
}
