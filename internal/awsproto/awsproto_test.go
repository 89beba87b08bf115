package awsproto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var creds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestDetect(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	signed := func(service, method, target, body string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := httptest.NewRequest(method, "http://127.0.0.1:9000/", strings.NewReader(body))
			if target != "" {
				r.Header.Set("X-Amz-Target", target)
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hashOf(body), service, "us-east-1", at); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	plain := func(method, url, ctype, body string, hdr ...string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := httptest.NewRequest(method, url, strings.NewReader(body))
			if ctype != "" {
				r.Header.Set("Content-Type", ctype)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
			return r
		}
	}
	cases := []struct {
		name  string
		build func(t *testing.T) *http.Request
		want  Service
	}{
		{"signed s3", signed("s3", "GET", "", ""), S3},
		{"signed sqs", signed("sqs", "POST", "AmazonSQS.SendMessage", `{"QueueUrl":"x"}`), SQS},
		{"signed sns", signed("sns", "POST", "", "Action=Publish&Version=2010-03-31"), SNS},
		{"signed lambda", signed("lambda", "GET", "", ""), Lambda},
		{"signed iam", signed("iam", "POST", "", "Action=GetUser&Version=2010-05-08"), IAM},
		{"signed sts", signed("sts", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15"), STS},
		{"signed unknown service", signed("dynamodb", "POST", "DynamoDB_20120810.ListTables", "{}"), "dynamodb"},
		{"scope wins over target", signed("sns", "POST", "AmazonSQS.SendMessage", "{}"), SNS},
		{"presigned s3", func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "http://127.0.0.1:9000/b/k?X-Amz-Expires=60", nil)
			u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "s3", "us-east-1", at)
			if err != nil {
				t.Fatal(err)
			}
			return httptest.NewRequest("GET", u, nil)
		}, S3},
		{"unsigned sqs target", plain("POST", "/", "application/x-amz-json-1.0", "{}", "X-Amz-Target", "AmazonSQS.ListQueues"), SQS},
		{"unsigned unknown target", plain("POST", "/", "application/x-amz-json-1.1", "{}", "X-Amz-Target", "AWSEvents.PutEvents"), "events"},
		{"unsigned other target", plain("POST", "/", "application/x-amz-json-1.1", "{}", "X-Amz-Target", "Foo_2020.Bar"), "foo_2020"},
		{"sns form", plain("POST", "/", "application/x-www-form-urlencoded; charset=utf-8", "Action=Publish&Version=2010-03-31&Message=hi"), SNS},
		{"sqs form on queue path", plain("POST", "/000000000000/q1", "application/x-www-form-urlencoded", "Action=SendMessage&Version=2012-11-05&MessageBody=x"), SQS},
		{"sts form", plain("POST", "/", "application/x-www-form-urlencoded", "Action=GetCallerIdentity&Version=2011-06-15"), STS},
		{"iam query", plain("GET", "/?Action=ListUsers&Version=2010-05-08", "", ""), IAM},
		{"sns confirm link", plain("GET", "/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3At&Token=abc", "", ""), SNS},
		{"sns unsubscribe link", plain("GET", "/?Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3At%3Aid", "", ""), SNS},
		{"action on a bucket path without version", plain("GET", "/bucket?Action=Unsubscribe", "", ""), S3},
		{"action with unknown version", plain("POST", "/", "application/x-www-form-urlencoded", "Action=X&Version=1999-01-01"), S3},
		{"sigv2 header", plain("GET", "/b/k", "", "", "Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl"), S3},
		{"sigv2 query", plain("GET", "/b/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=x&Expires=1", "", ""), S3},
		{"anonymous", plain("GET", "/b/k", "", ""), S3},
		{"s3 post policy form", plain("POST", "/b", "multipart/form-data; boundary=x", "--x--"), S3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			var before string
			if r.Body != nil {
				b, _ := io.ReadAll(r.Body)
				before = string(b)
				r.Body = io.NopCloser(strings.NewReader(before))
			}
			got := Detect(r)
			if got != tc.want {
				t.Fatalf("%s %s headers %v: got %q, want %q", r.Method, r.URL, r.Header, got, tc.want)
			}
			if r.Body != nil {
				after, _ := io.ReadAll(r.Body)
				if string(after) != before {
					t.Fatalf("body after Detect: got %q, want %q", after, before)
				}
			}
		})
	}
}

func TestDetectLongFormBodyUntouched(t *testing.T) {
	body := "Action=Publish&Version=2010-03-31&Message=" + strings.Repeat("a", maxFormPeek)
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.ContentLength = -1 // unknown length: Detect must read and restore
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := Detect(r); got != S3 {
		t.Fatalf("got %q, want s3 (too long to inspect)", got)
	}
	after, _ := io.ReadAll(r.Body)
	if string(after) != body {
		t.Fatalf("body changed: got %d bytes, want %d", len(after), len(body))
	}
}

func TestNotServed(t *testing.T) {
	ctx := WithRequestID(context.Background(), "REQ1", "HOST1")
	cases := []struct {
		name    string
		req     func() *http.Request
		svc     Service
		headers map[string]string
		body    string
	}{
		{"sqs json", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			return r
		}, SQS, map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amzn-Query-Error": "NotImplemented;Sender", "X-Amzn-Requestid": "REQ1"},
			`{"__type":"NotImplemented","message":"Sluice does not serve the SQS API yet"}`},
		{"sns query", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("Action=Publish&Version=2010-03-31"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, SNS, map[string]string{"Content-Type": "text/xml", "X-Amzn-Requestid": "REQ1"},
			`<ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented</Code><Message>Sluice does not serve the SNS API yet</Message></Error><RequestId>REQ1</RequestId></ErrorResponse>`},
		{"lambda rest-json", func() *http.Request { return httptest.NewRequest("GET", "/2015-03-31/functions/", nil) },
			Lambda, map[string]string{"Content-Type": "application/json", "X-Amzn-Errortype": "NotImplemented", "X-Amzn-Requestid": "REQ1"},
			`{"Type":"User","Message":"Sluice does not serve the Lambda API yet"}`},
		{"unknown json 1.1", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			return r
		}, "dynamodb", map[string]string{"Content-Type": "application/x-amz-json-1.0"},
			`{"__type":"NotImplemented","message":"Sluice does not serve the DYNAMODB API yet"}`},
		{"s3 xml", func() *http.Request { return httptest.NewRequest("GET", "/b", nil) },
			S3, map[string]string{"Content-Type": "application/xml", "X-Amz-Request-Id": "REQ1", "X-Amz-Id-2": "HOST1"},
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>NotImplemented</Code><Message>Sluice does not serve the S3 API yet</Message><RequestId>REQ1</RequestId><HostId>HOST1</HostId></Error>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			NotServed(w, tc.req().WithContext(ctx), tc.svc)
			if w.Code != http.StatusNotImplemented {
				t.Fatalf("status %d, want 501", w.Code)
			}
			for k, v := range tc.headers {
				if got := w.Header().Get(k); got != v {
					t.Fatalf("header %s: got %q want %q", k, got, v)
				}
			}
			if w.Body.String() != tc.body {
				t.Fatalf("body:\n got %s\nwant %s", w.Body.String(), tc.body)
			}
		})
	}
	t.Run("fresh ids without context", func(t *testing.T) {
		w := httptest.NewRecorder()
		NotServed(w, httptest.NewRequest("GET", "/2015-03-31/functions/", nil), Lambda)
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(w.Header().Get("X-Amzn-RequestId")) {
			t.Fatalf("request id %q is not a UUID", w.Header().Get("X-Amzn-RequestId"))
		}
	})
}

func TestRequestIDs(t *testing.T) {
	id, host := NewRequestID(), NewHostID()
	if !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(id) {
		t.Fatalf("request id %q", id)
	}
	if len(host) != 76 || !regexp.MustCompile(`^[A-Za-z0-9+/]+=?$`).MatchString(host) {
		t.Fatalf("host id %q (%d chars)", host, len(host))
	}
	if NewRequestID() == id || NewHostID() == host {
		t.Fatal("ids repeat")
	}
	ctx := WithRequestID(context.Background(), id, host)
	if gi, gh := RequestID(ctx); gi != id || gh != host {
		t.Fatalf("RequestID: got %q %q, want %q %q", gi, gh, id, host)
	}
	if gi, gh := RequestID(context.Background()); gi != "" || gh != "" {
		t.Fatalf("empty context: got %q %q", gi, gh)
	}
}

// FuzzDetect routes arbitrary requests: never a panic, and the body is
// always handed on unchanged.
func FuzzDetect(f *testing.F) {
	f.Add("POST", "/", "", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00", "application/x-amz-json-1.0", "{}")
	f.Add("GET", "/", "Action=ConfirmSubscription&Token=x", "", "", "")
	f.Add("POST", "/q", "", "", "application/x-www-form-urlencoded", "Action=SendMessage&Version=2012-11-05")
	f.Add("GET", "/b/k", "X-Amz-Credential=AK%2F2026%2Fr%2Fs3%2Faws4_request", "", "", "")
	f.Add("PUT", "/b/k", "", "AWS AK:sig", "text/plain", "data")
	f.Add("POST", "/", "", "", "application/x-amz-json-1.1", "{}")
	f.Fuzz(func(t *testing.T, method, path, query, authz, ctype, body string) {
		r := httptest.NewRequest("GET", "/", strings.NewReader(body))
		r.Method = method
		r.URL.Path = path
		r.URL.RawQuery = query
		r.Header.Set("Authorization", authz)
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("X-Amz-Target", ctype) // reuse: any string as a target
		if Detect(r) == "" {
			t.Fatalf("empty service for %q %q %q", method, path, query)
		}
		got, _ := io.ReadAll(r.Body)
		if string(got) != body {
			t.Fatalf("body changed: got %q want %q", got, body)
		}
		NotServed(httptest.NewRecorder(), r, Detect(r))
	})
}
