package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// docCred is the key pair of AWS's documentation examples.
var docCred = Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// serverReq builds a request as net/http hands it to a handler: the
// request target as sent is RequestURI.
func serverReq(method, host, target string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://"+host+target, nil)
	r.RequestURI = target
	r.Host = host
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// TestSigV2DocExamples verifies the examples of S3's "Signing and
// authenticating REST requests (AWS signature version 2)" page.
func TestSigV2DocExamples(t *testing.T) {
	cases := []struct {
		name, method, host, target, hostBucket string
		hdr                                    map[string]string
		at                                     time.Time
		wantSTS                                string
	}{
		{
			name: "object GET", method: "GET", host: "awsexamplebucket1.us-west-1.s3.amazonaws.com",
			target: "/photos/puppy.jpg", hostBucket: "awsexamplebucket1",
			hdr: map[string]string{"Date": "Tue, 27 Mar 2007 19:36:42 +0000",
				"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="},
			at:      time.Date(2007, 3, 27, 19, 36, 42, 0, time.UTC),
			wantSTS: "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg",
		},
		{
			name: "object PUT", method: "PUT", host: "awsexamplebucket1.us-west-1.s3.amazonaws.com",
			target: "/photos/puppy.jpg", hostBucket: "awsexamplebucket1",
			hdr: map[string]string{"Date": "Tue, 27 Mar 2007 21:15:45 +0000", "Content-Type": "image/jpeg",
				"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:iqRzw+ileNPu1fhspnRs8nOjjIA="},
			at:      time.Date(2007, 3, 27, 21, 15, 45, 0, time.UTC),
			wantSTS: "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/awsexamplebucket1/photos/puppy.jpg",
		},
		{
			name: "list", method: "GET", host: "awsexamplebucket1.us-west-1.s3.amazonaws.com",
			target: "/?prefix=photos&max-keys=50&marker=puppy", hostBucket: "awsexamplebucket1",
			hdr: map[string]string{"Date": "Tue, 27 Mar 2007 19:42:41 +0000", "User-Agent": "Mozilla/5.0",
				"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:m0WP8eCtspQl5Ahe6L1SozdX9YA="},
			at:      time.Date(2007, 3, 27, 19, 42, 41, 0, time.UTC),
			wantSTS: "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/",
		},
		{
			name: "acl subresource", method: "GET", host: "awsexamplebucket1.us-west-1.s3.amazonaws.com",
			target: "/?acl", hostBucket: "awsexamplebucket1",
			hdr: map[string]string{"Date": "Tue, 27 Mar 2007 19:44:46 +0000",
				"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:82ZHiFIjc+WbcwFKGUVEQspPn+0="},
			at:      time.Date(2007, 3, 27, 19, 44, 46, 0, time.UTC),
			wantSTS: "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl",
		},
		{
			name: "x-amz-date replaces Date", method: "DELETE", host: "s3.us-west-1.amazonaws.com",
			target: "/awsexamplebucket1/photos/puppy.jpg",
			hdr: map[string]string{"Date": "Tue, 27 Mar 2007 21:20:27 +0000", "x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000",
				"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:" + SignV2(docCred.SecretAccessKey,
					"DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/awsexamplebucket1/photos/puppy.jpg")},
			at:      time.Date(2007, 3, 27, 21, 20, 27, 0, time.UTC),
			wantSTS: "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/awsexamplebucket1/photos/puppy.jpg",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := serverReq(tc.method, tc.host, tc.target, tc.hdr)
			got := v2StringToSign(r, r.Header.Get("Date"), nil, tc.hostBucket)
			if r.Header.Get("X-Amz-Date") != "" {
				got = v2StringToSign(r, "", nil, tc.hostBucket)
			}
			if got != tc.wantSTS {
				t.Fatalf("StringToSign\n got %q\nwant %q", got, tc.wantSTS)
			}
			res, err := newVerifier(tc.at, docCred).VerifyS3(r, tc.hostBucket)
			if err != nil {
				t.Fatalf("verify: %v (StringToSign %q)", err, err.(*Error).Field("StringToSign"))
			}
			if !res.SigV2 || res.AccessKeyID != docCred.AccessKeyID || res.Service != "s3" || res.PayloadHash != UnsignedPayload {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// TestSigV2DocRepeatedHeaders is the documentation's upload example (its
// StringToSign; the signature is ours, over that string): a
// CNAME bucket, Content-MD5, a repeated x-amz-meta header (joined by ','),
// mixed-case names and padded values.
func TestSigV2DocRepeatedHeaders(t *testing.T) {
	r := serverReq("PUT", "static.example.com", "/db-backup.dat.gz", map[string]string{
		"Date":                         "Tue, 27 Mar 2007 21:06:08 +0000",
		"x-amz-acl":                    "public-read",
		"content-type":                 "application/x-download",
		"Content-MD5":                  "4gJE4saaMU4BqNR0kLY+lw==",
		"X-Amz-Meta-ChecksumAlgorithm": "crc32",
		"X-Amz-Meta-FileChecksum":      "0x02661779",
	})
	r.Header.Add("X-Amz-Meta-ReviewedBy", "joe@example.com")
	r.Header.Add("X-Amz-Meta-ReviewedBy", "jane@example.com")
	want := "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
		"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
		"x-amz-meta-reviewedby:joe@example.com,jane@example.com\n/static.example.com/db-backup.dat.gz"
	if got := v2StringToSign(r, "Tue, 27 Mar 2007 21:06:08 +0000", nil, "static.example.com"); got != want {
		t.Fatalf("StringToSign\n got %q\nwant %q", got, want)
	}
	r.Header.Set("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:"+SignV2(docCred.SecretAccessKey, want))
	if _, err := newVerifier(time.Date(2007, 3, 27, 21, 6, 8, 0, time.UTC), docCred).VerifyS3(r, "static.example.com"); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestSigV2DocPresigned is the documentation's query string example: its
// StringToSign, and Expires enforced to the second.
func TestSigV2DocPresigned(t *testing.T) {
	sts := "GET\n\n\n1175139620\n/awsexamplebucket1/photos/puppy.jpg"
	target := "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=" +
		url.QueryEscape(SignV2(docCred.SecretAccessKey, sts)) + "&Expires=1175139620"
	if got := v2StringToSign(serverReq("GET", "h", target, nil), "1175139620", nil, "awsexamplebucket1"); got != sts {
		t.Fatalf("StringToSign %q, want %q", got, sts)
	}
	r := serverReq("GET", "awsexamplebucket1.s3.us-west-1.amazonaws.com", target, nil)
	res, err := newVerifier(time.Unix(1175139620-60, 0), docCred).VerifyS3(r, "awsexamplebucket1")
	if err != nil {
		t.Fatalf("verify: %v (StringToSign %q)", err, err.(*Error).Field("StringToSign"))
	}
	if !res.Presigned || !res.SigV2 {
		t.Fatalf("result %+v", res)
	}
	// One second after Expires it is refused, with both times.
	r = serverReq("GET", "awsexamplebucket1.s3.us-west-1.amazonaws.com", target, nil)
	_, err = newVerifier(time.Unix(1175139621, 0), docCred).VerifyS3(r, "awsexamplebucket1")
	ae := wantCode(t, "expired", err, "AccessDenied", http.StatusForbidden)
	if ae.Message != "Request has expired" || ae.Field("Expires") != "2007-03-29T03:40:20Z" || ae.Field("ServerTime") != "2007-03-29T03:40:21Z" {
		t.Fatalf("expired error %+v", ae)
	}
}

// TestSigV2Boto3 verifies URLs that boto3 presigned with its default
// signer (testdata/gen_boto3_sigv2.py), at the time they were made.
func TestSigV2Boto3(t *testing.T) {
	data, err := os.ReadFile("testdata/boto3_sigv2.json")
	if err != nil {
		t.Fatal(err)
	}
	var td struct {
		Now       int64
		AccessKey string `json:"access_key"`
		Secret    string
		Cases     []struct {
			Name, Method, URL, Token string
			HostBucket               string `json:"host_bucket"`
		}
	}
	if err := json.Unmarshal(data, &td); err != nil {
		t.Fatal(err)
	}
	for _, tc := range td.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			u, err := url.Parse(tc.URL)
			if err != nil {
				t.Fatal(err)
			}
			cred := Credentials{AccessKeyID: td.AccessKey, SecretAccessKey: td.Secret, SessionToken: tc.Token}
			newReq := func() *http.Request { return serverReq(tc.Method, u.Host, u.RequestURI(), nil) }
			v := newVerifier(time.Unix(td.Now, 0), cred)
			res, err := v.VerifyS3(newReq(), tc.HostBucket)
			if err != nil {
				t.Fatalf("verify %s: %v (StringToSign %q)", tc.URL, err, err.(*Error).Field("StringToSign"))
			}
			if !res.Presigned || res.AccessKeyID != td.AccessKey {
				t.Fatalf("result %+v", res)
			}
			// Another method, a changed path or a changed signed query
			// parameter must fail.
			r := newReq()
			r.Method = "DELETE"
			wantCode(t, "method", mustFail(v.VerifyS3(r, tc.HostBucket)), "SignatureDoesNotMatch", http.StatusForbidden)
			r = newReq()
			r.RequestURI = strings.Replace(r.RequestURI, "?", "x?", 1)
			wantCode(t, "path", mustFail(v.VerifyS3(r, tc.HostBucket)), "SignatureDoesNotMatch", http.StatusForbidden)
			if tc.HostBucket != "" {
				// The bucket is part of what was signed.
				wantCode(t, "bucket", mustFail(v.VerifyS3(newReq(), "other")), "SignatureDoesNotMatch", http.StatusForbidden)
			}
			// Past Expires: AccessDenied.
			v2 := newVerifier(time.Unix(td.Now+3601, 0), cred)
			wantCode(t, "expired", mustFail(v2.VerifyS3(newReq(), tc.HostBucket)), "AccessDenied", http.StatusForbidden)
		})
	}
}

func mustFail(_ *Result, err error) error { return err }

func TestSigV2Failures(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := at.Format(http.TimeFormat)
	signed := func(method, target string, hdr map[string]string) *http.Request {
		r := serverReq(method, "127.0.0.1:9000", target, hdr)
		if r.Header.Get("Date") == "" && r.Header.Get("X-Amz-Date") == "" {
			r.Header.Set("Date", date)
		}
		d := r.Header.Get("Date")
		if r.Header.Get("X-Amz-Date") != "" {
			d = ""
		}
		r.Header.Set("Authorization", "AWS "+rootCred.AccessKeyID+":"+SignV2(rootCred.SecretAccessKey, v2StringToSign(r, d, nil, "")))
		return r
	}
	v := newVerifier(at)
	if _, err := v.Verify(signed("GET", "/b/k?versionId=null&uploadId=x&prefix=ignored", nil)); err != nil {
		t.Fatalf("self-signed request: %v", err)
	}
	cases := []struct {
		name   string
		r      func() *http.Request
		code   string
		status int
		field  [2]string
	}{
		{"no colon", func() *http.Request {
			return serverReq("GET", "h", "/b/k", map[string]string{"Authorization": "AWS AKID", "Date": date})
		}, "InvalidArgument", 400, [2]string{"ArgumentName", "Authorization"}},
		{"no date", func() *http.Request {
			r := signed("GET", "/b/k", nil)
			r.Header.Del("Date")
			return r
		}, "AccessDenied", 403, [2]string{}},
		{"skewed", func() *http.Request {
			return signed("GET", "/b/k", map[string]string{"Date": at.Add(16 * time.Minute).Format(http.TimeFormat)})
		}, "RequestTimeTooSkewed", 403, [2]string{"MaxAllowedSkewMilliseconds", "900000"}},
		{"unknown key", func() *http.Request {
			r := signed("GET", "/b/k", nil)
			r.Header.Set("Authorization", "AWS NOPE:"+strings.SplitN(r.Header.Get("Authorization"), ":", 2)[1])
			return r
		}, "InvalidAccessKeyId", 403, [2]string{"AWSAccessKeyId", "NOPE"}},
		{"x-amz header added after signing", func() *http.Request {
			r := signed("GET", "/b/k", nil)
			r.Header.Set("X-Amz-Meta-A", "1")
			return r
		}, "SignatureDoesNotMatch", 403, [2]string{"SignatureProvided", ""}},
		{"sub-resource added after signing", func() *http.Request {
			r := signed("GET", "/b/k", nil)
			r.RequestURI += "?acl"
			r.URL.RawQuery = "acl"
			return r
		}, "SignatureDoesNotMatch", 403, [2]string{}},
		{"query missing Expires", func() *http.Request {
			return serverReq("GET", "h", "/b/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc", nil)
		}, "AccessDenied", 403, [2]string{}},
		{"query Expires not a number", func() *http.Request {
			return serverReq("GET", "h", "/b/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc&Expires=soon", nil)
		}, "AccessDenied", 403, [2]string{}},
		{"query and header", func() *http.Request {
			r := signed("GET", "/b/k?Signature=abc", nil)
			return r
		}, "InvalidArgument", 400, [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.r())
			ae := wantCode(t, tc.name, err, tc.code, tc.status)
			if tc.field[0] != "" && tc.field[1] != "" && ae.Field(tc.field[0]) != tc.field[1] {
				t.Fatalf("field %s = %q, want %q", tc.field[0], ae.Field(tc.field[0]), tc.field[1])
			}
			if tc.code == "SignatureDoesNotMatch" && (ae.Field("StringToSign") == "" || ae.Field("StringToSignBytes") == "") {
				t.Fatalf("mismatch without StringToSign: %+v", ae)
			}
		})
	}
}

func TestSigV2Resource(t *testing.T) {
	cases := []struct{ target, bucket, want string }{
		{"/b/k", "", "/b/k"},
		{"/", "b", "/b/"},
		{"/k%20x?uploadId=U%2B1&partNumber=2&x-id=UploadPart", "b", "/b/k%20x?partNumber=2&uploadId=U+1"},
		{"/b?versions&delimiter=/&prefix=a", "", "/b?versions"},
		{"/b?tagging=&acl", "", "/b?acl&tagging="},
		{"/b/k?response-content-type=text%2Fplain&AWSAccessKeyId=x", "", "/b/k?response-content-type=text/plain"},
	}
	for _, tc := range cases {
		r := serverReq("GET", "h", tc.target, nil)
		if got := v2Resource(r, tc.bucket); got != tc.want {
			t.Errorf("v2Resource(%q, %q) = %q, want %q", tc.target, tc.bucket, got, tc.want)
		}
	}
}

// FuzzSigV2 feeds arbitrary Authorization values and queries through the
// SigV2 paths: never a panic, never a verified request.
func FuzzSigV2(f *testing.F) {
	f.Add("AWS AKIDEXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", "")
	f.Add("", "AWSAccessKeyId=AKIDEXAMPLE&Signature=abc%3D&Expires=1775000000&acl&uploadId=%zz")
	f.Add("AWS :", "x-amz-security-token=%2B&Signature=")
	f.Fuzz(func(t *testing.T, authz, raw string) {
		r := httptest.NewRequest("GET", "/b/k", nil)
		r.URL.RawQuery = raw
		r.RequestURI = "/b/k?" + raw
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		r.Header.Set("Date", "Sun, 01 Mar 2026 12:00:00 GMT")
		res, err := newVerifier(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).VerifyS3(r, "b")
		checkOutcome(t, res, err)
	})
}
