package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sluice/internal/clock"
)

var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rootCred = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Principal: "root"}
)

func newVerifier(now time.Time, creds ...Credentials) *Verifier {
	if len(creds) == 0 {
		creds = []Credentials{rootCred}
	}
	return &Verifier{Keys: NewStaticKeyring(creds...), Clock: clock.NewFake(now)}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func awsCreds(c Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

// signS3 signs r as the go-v2 S3 client does: x-amz-content-sha256 set
// and the path escaped once (DisableURIPathEscaping).
func signS3(t testing.TB, r *http.Request, c Credentials, payload string, at time.Time) {
	t.Helper()
	r.Header.Set("X-Amz-Content-Sha256", payload)
	err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(c), r, payload, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
}

func presignS3(t *testing.T, r *http.Request, c Credentials, at time.Time, expires string) *http.Request {
	t.Helper()
	q := r.URL.Query()
	q.Set("X-Amz-Expires", expires)
	r.URL.RawQuery = q.Encode()
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), awsCreds(c), r, UnsignedPayload, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(r.Method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetBody != nil {
		if out.Body, err = r.GetBody(); err != nil {
			t.Fatal(err)
		}
		out.ContentLength = r.ContentLength
	}
	for k, vs := range hdr {
		if strings.EqualFold(k, "host") {
			continue
		}
		out.Header[k] = vs
	}
	return out
}

// viaWire sends r to a loopback server and verifies it there, so the path,
// query and headers are what net/http's server gives a handler. It also
// returns the body the handler could read after Verify.
func viaWire(t *testing.T, v *Verifier, r *http.Request) (*Result, []byte, error) {
	t.Helper()
	type out struct {
		res  *Result
		err  error
		body []byte
	}
	ch := make(chan out, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		res, err := v.Verify(req)
		var body []byte
		if err == nil && res.Service != "s3" {
			body, _ = io.ReadAll(req.Body)
		}
		ch <- out{res, err, body}
	}))
	defer srv.Close()
	// Point the signed request at the test server without changing what
	// was signed: the Host header stays as signed.
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	r.URL.Scheme = "http"
	r.URL.Host = strings.TrimPrefix(srv.URL, "http://")
	r.Host = host
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	o := <-ch
	return o.res, o.body, o.err
}

func mustReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantCode(t *testing.T, name string, err error, code string, status int) *Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: got error %v (%T), want *Error %s", name, err, err, code)
	}
	if ae.Code != code || ae.Status != status {
		t.Fatalf("%s: got %s %d %q, want %s %d", name, ae.Code, ae.Status, ae.Message, code, status)
	}
	return ae
}

func TestS3HeaderSignedAccepted(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		url     string
		headers map[string]string
		body    []byte
	}{
		{name: "plain get", method: "GET", url: "http://localhost:9000/bucket1/key.txt"},
		{name: "key with space plus percent unicode tilde", method: "GET",
			url: "http://localhost:9000/bucket1/a%20b%2Bc%25d%C3%A9~e%21%2A%28%29"},
		{name: "virtual host", method: "GET", url: "http://bucket1.localhost:9000/k%3Dv"},
		{name: "query with equals and empty values and x-id", method: "GET",
			url: "http://localhost:9000/bucket1?list-type=2&prefix=a%2Fb%3Dc&delimiter=%2F&encoding-type=&x-id=ListObjectsV2"},
		{name: "sub-resource without value", method: "GET", url: "http://localhost:9000/bucket1?acl"},
		{name: "repeated slashes and dots kept", method: "GET", url: "http://localhost:9000/bucket1//a//b/./c/../d"},
		{name: "repeated query key", method: "GET", url: "http://localhost:9000/bucket1?b=2&a=z&a=1"},
		{name: "put with body and meta", method: "PUT", url: "http://localhost:9000/bucket1/obj?x-id=PutObject",
			headers: map[string]string{"Content-Type": "text/plain", "X-Amz-Meta-Note": "  two   spaces  inside ", "X-Amz-Checksum-Crc32": "NjowIA=="},
			body:    []byte("hello\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustReq(t, tc.method, tc.url, tc.body)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			payload := sha(tc.body)
			signS3(t, r, rootCred, payload, t0)
			res, _, err := viaWire(t, newVerifier(t0.Add(3*time.Minute)), r)
			if err != nil {
				t.Fatalf("url %s: got %v, want success", tc.url, err)
			}
			if res.AccessKeyID != "AKIDEXAMPLE" || res.Principal != "root" || res.Service != "s3" ||
				res.Region != "us-east-1" || res.Date != "20260301" || res.PayloadHash != payload || res.Presigned {
				t.Fatalf("url %s: got result %+v", tc.url, res)
			}
			if len(res.SigningKey) != 32 || len(res.Signature) != 64 || res.Scope != "20260301/us-east-1/s3/aws4_request" {
				t.Fatalf("url %s: signing context %x %q %q", tc.url, res.SigningKey, res.Signature, res.Scope)
			}
		})
	}
}

func TestS3UnsignedPayloadAndStreamingValuesAccepted(t *testing.T) {
	for _, p := range []string{UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer} {
		r := mustReq(t, "PUT", "http://localhost:9000/b/k", []byte("data"))
		signS3(t, r, rootCred, p, t0)
		res, _, err := viaWire(t, newVerifier(t0), r)
		if err != nil || res.PayloadHash != p {
			t.Fatalf("payload %s: got %v %+v", p, err, res)
		}
	}
}

func TestS3Failures(t *testing.T) {
	wrong := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "not-the-secret"}
	cases := []struct {
		name   string
		build  func(t *testing.T) *http.Request
		now    time.Time
		code   string
		status int
		field  [2]string // a Fields entry that must be present
	}{
		{name: "wrong secret", code: "SignatureDoesNotMatch", status: 403, field: [2]string{"AWSAccessKeyId", "AKIDEXAMPLE"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, wrong, sha(nil), t0)
				return r
			}},
		{name: "unknown key", code: "InvalidAccessKeyId", status: 403, field: [2]string{"AWSAccessKeyId", "NOPE"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, Credentials{AccessKeyID: "NOPE", SecretAccessKey: "x"}, sha(nil), t0)
				return r
			}},
		{name: "tampered signed header", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				r.Header.Set("Range", "bytes=0-9")
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Set("Range", "bytes=0-99")
				return r
			}},
		{name: "tampered query", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b?prefix=a", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.URL.RawQuery = "prefix=b"
				return r
			}},
		{name: "added query param", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.URL.RawQuery = "versionId=1"
				return r
			}},
		{name: "tampered path", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.URL.Path = "/b/other"
				return r
			}},
		{name: "tampered method", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Method = "DELETE"
				return r
			}},
		{name: "skew 16 minutes behind", now: t0.Add(16 * time.Minute), code: "RequestTimeTooSkewed", status: 403,
			field: [2]string{"MaxAllowedSkewMilliseconds", "900000"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				return r
			}},
		{name: "skew 16 minutes ahead", now: t0.Add(-16 * time.Minute), code: "RequestTimeTooSkewed", status: 403,
			field: [2]string{"RequestTime", "20260301T120000Z"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				return r
			}},
		{name: "missing content sha", code: "InvalidRequest", status: 400,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(rootCred), r, sha(nil), "s3", "us-east-1", t0)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}},
		{name: "bad content sha value", code: "InvalidArgument", status: 400, field: [2]string{"ArgumentName", "x-amz-content-sha256"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, "abc", t0)
				return r
			}},
		{name: "unsigned x-amz header", code: "AccessDenied", status: 403, field: [2]string{"HeadersNotSigned", "x-amz-acl"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Set("X-Amz-Acl", "public-read")
				return r
			}},
		{name: "anonymous", code: "AccessDenied", status: 403,
			build: func(t *testing.T) *http.Request { return mustReq(t, "GET", "http://localhost:9000/b/k", nil) }},
		// SigV2 is verified (sigv2_test.go); here only that it is dispatched.
		{name: "sigv2 header without a date", code: "AccessDenied", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				r.Header.Set("Authorization", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
				return r
			}},
		{name: "sigv2 query with a wrong signature", code: "SignatureDoesNotMatch", status: 403,
			build: func(t *testing.T) *http.Request {
				return mustReq(t, "GET", "http://localhost:9000/b/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc%3D&Expires=1795357111", nil)
			}},
		{name: "header and presigned query", code: "InvalidArgument", status: 400,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				return r
			}},
		{name: "unsupported scheme", code: "InvalidArgument", status: 400, field: [2]string{"ArgumentName", "Authorization"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				r.Header.Set("Authorization", "Bearer abc")
				return r
			}},
		{name: "missing date", code: "AccessDenied", status: 403,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Del("X-Amz-Date")
				return r
			}},
		{name: "credential date differs", code: "AuthorizationHeaderMalformed", status: 400,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20260301/", "/20260302/", 1))
				return r
			}},
		{name: "bad terminal", code: "AuthorizationHeaderMalformed", status: 400,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "aws4_request", "aws5_request", 1))
				return r
			}},
		{name: "missing signature component", code: "AuthorizationHeaderMalformed", status: 400,
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				a := r.Header.Get("Authorization")
				r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
				return r
			}},
		{name: "host not signed", code: "AccessDenied", status: 403, field: [2]string{"HeadersNotSigned", "host"},
			build: func(t *testing.T) *http.Request {
				r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
				signS3(t, r, rootCred, sha(nil), t0)
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
				return r
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			r := tc.build(t)
			_, _, err := viaWire(t, newVerifier(now), r)
			ae := wantCode(t, tc.name, err, tc.code, tc.status)
			if tc.field[0] != "" && ae.Field(tc.field[0]) != tc.field[1] {
				t.Fatalf("field %s: got %q want %q (fields %v)", tc.field[0], ae.Field(tc.field[0]), tc.field[1], ae.Fields)
			}
		})
	}
}

func TestSignatureMismatchDetails(t *testing.T) {
	r := mustReq(t, "GET", "http://localhost:9000/b/a%20b?prefix=x", nil)
	signS3(t, r, Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wrong"}, sha(nil), t0)
	_, _, err := viaWire(t, newVerifier(t0), r)
	ae := wantCode(t, "mismatch", err, "SignatureDoesNotMatch", 403)
	cr := ae.Field("CanonicalRequest")
	wantPrefix := "GET\n/b/a%20b\nprefix=x\nhost:localhost:9000\n"
	if !strings.HasPrefix(cr, wantPrefix) || !strings.HasSuffix(cr, "\n"+sha(nil)) {
		t.Fatalf("canonical request: got %q, want prefix %q", cr, wantPrefix)
	}
	sts := ae.Field("StringToSign")
	if !strings.HasPrefix(sts, "AWS4-HMAC-SHA256\n20260301T120000Z\n20260301/us-east-1/s3/aws4_request\n") {
		t.Fatalf("string to sign: got %q", sts)
	}
	if ae.Field("StringToSignBytes") != hexBytes(sts) || !strings.HasPrefix(ae.Field("StringToSignBytes"), "41 57 53 34") {
		t.Fatalf("string to sign bytes: got %q", ae.Field("StringToSignBytes"))
	}
	if ae.Field("SignatureProvided") == "" || ae.Message != msgMismatch {
		t.Fatalf("got fields %v message %q", ae.Fields, ae.Message)
	}
}

func TestSkewBoundary(t *testing.T) {
	for _, d := range []time.Duration{-15 * time.Minute, -14 * time.Minute, 0, 14 * time.Minute, 15 * time.Minute} {
		r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
		signS3(t, r, rootCred, sha(nil), t0)
		if _, _, err := viaWire(t, newVerifier(t0.Add(d)), r); err != nil {
			t.Fatalf("clock offset %v: got %v, want success", d, err)
		}
	}
}

func TestPresigned(t *testing.T) {
	t.Run("get accepted", func(t *testing.T) {
		r := presignS3(t, mustReq(t, "GET", "http://localhost:9000/b/a%20b%2Bc?x-id=GetObject&response-content-type=text%2Fplain", nil), rootCred, t0, "3600")
		res, _, err := viaWire(t, newVerifier(t0.Add(59*time.Minute)), r)
		if err != nil {
			t.Fatalf("url %s: got %v", r.URL, err)
		}
		if !res.Presigned || res.PayloadHash != UnsignedPayload || res.Service != "s3" {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("put with signed content-type and hoisted x-amz header", func(t *testing.T) {
		in := mustReq(t, "PUT", "http://localhost:9000/b/k", []byte("body"))
		in.Header.Set("Content-Type", "image/png")
		in.Header.Set("X-Amz-Meta-Owner", "me") // signed header (not hoisted)
		in.Header.Set("X-Amz-Acl", "private")   // signed header
		r := presignS3(t, in, rootCred, t0, "600")
		res, _, err := viaWire(t, newVerifier(t0), r)
		if err != nil {
			t.Fatalf("url %s headers %v: got %v", r.URL, r.Header, err)
		}
		if !hasName(res.SignedHeaders, "content-type") {
			t.Fatalf("signed headers %v lack content-type", res.SignedHeaders)
		}
		// Same URL with a different content type must fail.
		r2 := presignS3(t, in, rootCred, t0, "600")
		r2.Header.Set("Content-Type", "text/html")
		_, _, err = viaWire(t, newVerifier(t0), r2)
		wantCode(t, "changed content-type", err, "SignatureDoesNotMatch", 403)
	})
	fails := []struct {
		name    string
		expires string
		now     time.Time
		mutate  func(r *http.Request)
		code    string
		status  int
		msg     string
	}{
		{name: "expired", expires: "60", now: t0.Add(61 * time.Second), code: "AccessDenied", status: 403, msg: msgExpired},
		{name: "not yet valid", expires: "60", now: t0.Add(-16 * time.Minute), code: "AccessDenied", status: 403, msg: msgNotYetValid},
		{name: "more than a week", expires: "604801", now: t0, code: "AuthorizationQueryParametersError", status: 400, msg: msgExpiresWeek},
		{name: "expires not a number", expires: "abc", now: t0, code: "AuthorizationQueryParametersError", status: 400, msg: msgExpiresNumber},
		{name: "negative", expires: "-1", now: t0, code: "AuthorizationQueryParametersError", status: 400, msg: msgExpiresNegative},
		{name: "tampered query value", expires: "60", now: t0, code: "SignatureDoesNotMatch", status: 403, msg: msgMismatch,
			mutate: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=60", "X-Amz-Expires=600", 1)
			}},
		{name: "missing signature param", expires: "60", now: t0, code: "AuthorizationQueryParametersError", status: 400, msg: msgQueryParams,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
			}},
		{name: "wrong algorithm", expires: "60", now: t0, code: "AuthorizationQueryParametersError", status: 400, msg: msgQueryAlgorithm,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1")
				r.URL.RawQuery = q.Encode()
			}},
		{name: "unsigned x-amz header added", expires: "60", now: t0, code: "AccessDenied", status: 403, msg: msgUnsignedHeaders,
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Storage-Class", "GLACIER") }},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			r := presignS3(t, mustReq(t, "GET", "http://localhost:9000/b/k", nil), rootCred, t0, tc.expires)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			_, _, err := viaWire(t, newVerifier(tc.now), r)
			ae := wantCode(t, tc.name, err, tc.code, tc.status)
			if ae.Message != tc.msg {
				t.Fatalf("url %s: message %q, want %q", r.URL, ae.Message, tc.msg)
			}
		})
	}
	t.Run("expired details", func(t *testing.T) {
		r := presignS3(t, mustReq(t, "GET", "http://localhost:9000/b/k", nil), rootCred, t0, "60")
		_, _, err := viaWire(t, newVerifier(t0.Add(time.Hour)), r)
		ae := wantCode(t, "expired", err, "AccessDenied", 403)
		want := []Field{{"X-Amz-Expires", "60"}, {"Expires", "2026-03-01T12:01:00Z"}, {"ServerTime", "2026-03-01T13:00:00Z"}}
		if len(ae.Fields) != 3 || ae.Fields[0] != want[0] || ae.Fields[1] != want[1] || ae.Fields[2] != want[2] {
			t.Fatalf("fields: got %v want %v", ae.Fields, want)
		}
	})
}

func TestSessionToken(t *testing.T) {
	temp := Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "tempsecret", SessionToken: "tok+/=", Principal: "AWS:AROA:fn"}
	v := newVerifier(t0, temp)
	r := mustReq(t, "GET", "http://localhost:9000/b/k", nil)
	signS3(t, r, temp, sha(nil), t0)
	if res, _, err := viaWire(t, v, r); err != nil || res.Principal != "AWS:AROA:fn" {
		t.Fatalf("with token: got %v %+v", err, res)
	}
	r = mustReq(t, "GET", "http://localhost:9000/b/k", nil)
	noTok := temp
	noTok.SessionToken = ""
	signS3(t, r, noTok, sha(nil), t0)
	_, _, err := viaWire(t, v, r)
	wantCode(t, "without token", err, "InvalidToken", 400)

	p := presignS3(t, mustReq(t, "GET", "http://localhost:9000/b/k", nil), temp, t0, "60")
	if _, _, err := viaWire(t, v, p); err != nil {
		t.Fatalf("presigned with token: got %v", err)
	}
}

func TestVerifyPayload(t *testing.T) {
	body := []byte("hello world")
	cases := []struct {
		name    string
		want    string
		wantErr bool
	}{
		{"match", sha(body), false},
		{"match upper-case", strings.ToUpper(sha(body)), false},
		{"mismatch", sha([]byte("other")), true},
		{"unsigned passes through", UnsignedPayload, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(VerifyPayload(bytes.NewReader(body), tc.want))
			if tc.wantErr {
				ae := wantCode(t, tc.name, err, "XAmzContentSHA256Mismatch", 400)
				if ae.Field("S3ComputedContentSHA256") != sha(body) || ae.Field("ClientComputedContentSHA256") != tc.want {
					t.Fatalf("fields %v", ae.Fields)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("want %q: got %q %v", body, got, err)
			}
		})
	}
}

// TestOtherServices signs as the go-v2 clients of SQS, SNS, Lambda, IAM
// and STS do: no x-amz-content-sha256 header, the path escaped twice.
func TestOtherServices(t *testing.T) {
	cases := []struct {
		service, method, url, target, ctype string
		body                                []byte
	}{
		{"sqs", "POST", "http://127.0.0.1:9000/", "AmazonSQS.SendMessage", "application/x-amz-json-1.0",
			[]byte(`{"QueueUrl":"http://127.0.0.1:9000/000000000000/q1","MessageBody":"hi"}`)},
		{"sns", "POST", "http://127.0.0.1:9000/", "", "application/x-www-form-urlencoded; charset=utf-8",
			[]byte("Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi")},
		{"lambda", "POST", "http://127.0.0.1:9000/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afn/invocations", "", "",
			[]byte(`{"k":"v"}`)},
		{"lambda", "GET", "http://127.0.0.1:9000/2015-03-31/functions/fn%20x/configuration?Qualifier=%24LATEST", "", "", nil},
		{"sts", "POST", "http://127.0.0.1:9000/", "", "application/x-www-form-urlencoded",
			[]byte("Action=GetCallerIdentity&Version=2011-06-15")},
	}
	for _, tc := range cases {
		t.Run(tc.service+" "+tc.url, func(t *testing.T) {
			r := mustReq(t, tc.method, tc.url, tc.body)
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
				r.Header.Set("X-Amzn-Query-Mode", "true")
			}
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(rootCred), r, sha(tc.body), tc.service, "eu-west-1", t0); err != nil {
				t.Fatal(err)
			}
			res, body, err := viaWire(t, newVerifier(t0), r)
			if err != nil {
				t.Fatalf("got %v", err)
			}
			if res.Service != tc.service || res.Region != "eu-west-1" || res.PayloadHash != sha(tc.body) {
				t.Fatalf("got %+v", res)
			}
			if !bytes.Equal(body, tc.body) {
				t.Fatalf("handler body after Verify: got %q want %q", body, tc.body)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		r := mustReq(t, "POST", "http://127.0.0.1:9000/", []byte("Action=ListTopics&Version=2010-03-31"))
		if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(rootCred), r, sha([]byte("Action=ListTopics&Version=2010-03-31")), "sns", "us-east-1", t0); err != nil {
			t.Fatal(err)
		}
		r.Body = io.NopCloser(strings.NewReader("Action=ListTopicz&Version=2010-03-31"))
		r.GetBody = nil
		_, _, err := viaWire(t, newVerifier(t0), r)
		ae := wantCode(t, "tampered body", err, "SignatureDoesNotMatch", 403)
		q := ae.ForService("sns")
		if q.Code != "SignatureDoesNotMatch" || q.Status != 403 || len(q.Fields) != 0 {
			t.Fatalf("sns form: got %+v", q)
		}
	})
	t.Run("body over limit", func(t *testing.T) {
		body := bytes.Repeat([]byte("a"), 100)
		r := mustReq(t, "POST", "http://127.0.0.1:9000/", body)
		if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(rootCred), r, sha(body), "sqs", "us-east-1", t0); err != nil {
			t.Fatal(err)
		}
		v := newVerifier(t0)
		v.BodyLimit = func(string) int64 { return 99 }
		_, _, err := viaWire(t, v, r)
		var ae *Error
		if !errors.As(err, &ae) || ae.Kind != KindBodyTooLarge || ae.ForService("sqs").Status != 413 {
			t.Fatalf("got %v", err)
		}
	})
}

func TestForService(t *testing.T) {
	cases := []struct {
		err           *Error
		service, code string
		status        int
	}{
		{newErr(KindUnknownKey, "InvalidAccessKeyId", 403, msgUnknownKey), "sqs", "InvalidClientTokenId", 403},
		{newErr(KindUnknownKey, "InvalidAccessKeyId", 403, msgUnknownKey), "lambda", "UnrecognizedClientException", 403},
		{newErr(KindUnknownKey, "InvalidAccessKeyId", 403, msgUnknownKey), "s3", "InvalidAccessKeyId", 403},
		{ErrMissingAuth(), "sns", "MissingAuthenticationToken", 403},
		{ErrMissingAuth(), "lambda", "MissingAuthenticationTokenException", 403},
		{errMalformedHeader(msgThreeComponents), "iam", "IncompleteSignature", 400},
		{newErr(KindSkewed, "RequestTimeTooSkewed", 403, msgSkewed), "sts", "RequestExpired", 400},
		{newErr(KindSignatureMismatch, "SignatureDoesNotMatch", 403, msgMismatch), "lambda", "InvalidSignatureException", 403},
	}
	for _, tc := range cases {
		got := tc.err.ForService(tc.service)
		if got.Code != tc.code || got.Status != tc.status {
			t.Errorf("%s for %s: got %s %d, want %s %d", tc.err.Code, tc.service, got.Code, got.Status, tc.code, tc.status)
		}
	}
}

// TestAWSTestSuite checks the canonicalisation against vectors of AWS's
// published SigV4 test suite (aws-sig-v4-test-suite: get-vanilla,
// get-vanilla-query-order-key-case, post-vanilla; credentials
// AKIDEXAMPLE, service "service", 20150830T123600Z).
func TestAWSTestSuite(t *testing.T) {
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	cases := []struct {
		name, method, url, sig string
	}{
		{"get-vanilla", "GET", "http://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "GET", "http://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"post-vanilla", "POST", "http://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.url, nil)
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="+tc.sig)
			res, err := newVerifier(at).Verify(r)
			if err != nil {
				t.Fatalf("%s: got %v", tc.name, err)
			}
			if res.Service != "service" {
				t.Fatalf("service %q", res.Service)
			}
		})
	}
}

func TestChunkSignatureAWSExample(t *testing.T) {
	// AWS "Example: PUT Object" for STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	// (sigv4-streaming.html): seed signature and first chunk signature
	// for a 64 KiB chunk of 'a'.
	res := &Result{
		AmzDate:    "20130524T000000Z",
		Scope:      "20130524/us-east-1/s3/aws4_request",
		SigningKey: DerivedKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
	}
	chunk := bytes.Repeat([]byte("a"), 65536)
	got := res.ChunkSignature("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", sha(chunk))
	if want := "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"; got != want {
		t.Fatalf("chunk signature: got %s want %s", got, want)
	}
}

func TestParseScope(t *testing.T) {
	cases := []struct {
		name, authz, query, service, region string
		ok                                  bool
	}{
		{"header", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=ab", "", "sqs", "us-east-1", true},
		{"header no spaces", "AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/lambda/aws4_request,SignedHeaders=host,Signature=ab", "", "lambda", "eu-west-1", true},
		{"query", "", "X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Algorithm=AWS4-HMAC-SHA256", "s3", "us-east-1", true},
		{"sigv2", "AWS AK:sig", "", "", "", false},
		{"garbage", "AWS4-HMAC-SHA256 nonsense", "", "", "", false},
		{"none", "", "", "", "", false},
		{"four parts", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3, SignedHeaders=host, Signature=ab", "", "", "", false},
		{"six parts", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=ab", "", "", "", false},
		{"empty service", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1//aws4_request, SignedHeaders=host, Signature=ab", "", "", "", false},
		{"empty region", "AWS4-HMAC-SHA256 Credential=AK/20260101//s3/aws4_request, SignedHeaders=host, Signature=ab", "", "s3", "", true},
		{"trailing slash", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/, SignedHeaders=host, Signature=ab", "", "s3", "us-east-1", true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/?"+tc.query, nil)
		if tc.authz != "" {
			r.Header.Set("Authorization", tc.authz)
		}
		s, reg, ok := ParseScope(r)
		if s != tc.service || reg != tc.region || ok != tc.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.name, s, reg, ok, tc.service, tc.region, tc.ok)
		}
	}
}

// readBody reads a body of declared length into a buffer of that size,
// reports a body shorter than declared, and bounds an undeclared one.
func TestReadBody(t *testing.T) {
	got, err := readBody(strings.NewReader("hello"), 5, 10)
	if err != nil || string(got) != "hello" || cap(got) != 5 {
		t.Fatalf("declared length: %q cap %d %v", got, cap(got), err)
	}
	if _, err := readBody(strings.NewReader("hel"), 5, 10); err != io.ErrUnexpectedEOF {
		t.Fatalf("short body: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := readBody(strings.NewReader(""), 5, 10); err != io.ErrUnexpectedEOF {
		t.Fatalf("empty body declared 5: %v, want io.ErrUnexpectedEOF", err)
	}
	got, err = readBody(strings.NewReader(strings.Repeat("x", 50)), -1, 10)
	if err != nil || len(got) != 11 {
		t.Fatalf("undeclared length over the limit: %d bytes %v, want limit+1 = 11", len(got), err)
	}
	got, err = readBody(strings.NewReader("abc"), -1, 10)
	if err != nil || string(got) != "abc" {
		t.Fatalf("undeclared length: %q %v", got, err)
	}
}

// TestURIEncode: SigV4's encoding of every byte outside A-Za-z0-9-._~,
// '/' kept or not; a string that needs none comes back as is.
func TestURIEncode(t *testing.T) {
	for _, tc := range []struct {
		in          string
		encodeSlash bool
		want        string
	}{
		{"", false, ""},
		{"/bkt/p001/key-1", false, "/bkt/p001/key-1"},
		{"/bkt/p001/key-1", true, "%2Fbkt%2Fp001%2Fkey-1"},
		{"a b+c~d_e.f", false, "a%20b%2Bc~d_e.f"},
		{"ü/é", false, "%C3%BC/%C3%A9"},
		{"x=y&z", true, "x%3Dy%26z"},
	} {
		if got := uriEncode(tc.in, tc.encodeSlash); got != tc.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", tc.in, tc.encodeSlash, got, tc.want)
		}
	}
}

// TestCanonicalQuery: pairs sorted by key then value, each encoded; the
// presigned signature left out; none at all is the empty string.
func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		presigned bool
		want      string
	}{
		{"", false, ""},
		{"uploads", false, "uploads="},
		{"b=2&a=1&a=0", false, "a=0&a=1&b=2"},
		{"X-Amz-Signature=ab&X-Amz-Date=1", true, "X-Amz-Date=1"},
		{"X-Amz-Signature=ab", true, ""},
		{"k=a%20b", false, "k=a%20b"},
	} {
		if got := canonicalQuery(parseQuery(tc.raw), tc.presigned); got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", tc.raw, tc.presigned, got, tc.want)
		}
	}
}

// TestHeaderGetNamesCanonical: headerGet finds only canonical keys, so
// every name this package passes it must be in canonical form.
func TestHeaderGetNamesCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	lookup := regexp.MustCompile(`headerGet\([^,()]+, "([^"]+)"\)`)
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
				t.Errorf("%s: headerGet(%q), want the canonical %q", f, name, http.CanonicalHeaderKey(name))
			}
		}
	}
	if found < 5 {
		t.Errorf("found %d headerGet calls; the pattern no longer matches the code", found)
	}
	h := http.Header{"X-Amz-Date": {"a", "b"}, "Empty": {}}
	for name, want := range map[string]string{"X-Amz-Date": "a", "Empty": "", "Missing": ""} {
		if got := headerGet(h, name); got != want || got != h.Get(name) {
			t.Errorf("headerGet(%q) = %q, want %q (Header.Get %q)", name, got, want, h.Get(name))
		}
	}
}
