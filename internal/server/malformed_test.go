package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Malformed requests, sent on raw connections, each get S3's exact error
// code and status; none leaves anything visible; afterwards the server
// still serves ordinary requests (issue 2 and issue 3, "Bounds and bad
// input").
func TestMalformedRequestsGetAWSErrors(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	createBucket(t, srv.Server, "bad")

	amzDate := time.Now().UTC().Format("20060102T150405Z")
	scope := testAccessKey + "/" + amzDate[:8] + "/us-east-1/s3/aws4_request"
	key1025 := strings.Repeat("k", 1025)

	cases := []struct {
		name string
		// raw builds the bytes to send; closeWrite half-closes after them
		// (a client that gives up mid-body).
		raw        func() []byte
		closeWrite bool
		method     string
		status     int
		code       string // "" for answers net/http gives before S3 sees the request
		// visible is an object key that must not exist afterwards.
		visible string
	}{
		{
			name: "body shorter than Content-Length",
			raw: func() []byte {
				return append(signedHead(t, srv.Server, "PUT", "/bad/short", 100, nil), bytes.Repeat([]byte("s"), 50)...)
			},
			closeWrite: true, method: "PUT", status: 400, code: "IncompleteBody", visible: "short",
		},
		{
			name: "non-numeric Content-Length",
			raw: func() []byte {
				h := signedHead(t, srv.Server, "PUT", "/bad/nan", -1, nil)
				return append(h[:len(h)-2], "Content-Length: ten\r\n\r\n"...)
			},
			method: "PUT", status: 400, visible: "nan",
		},
		{
			name:   "PUT without Content-Length",
			raw:    func() []byte { return signedHead(t, srv.Server, "PUT", "/bad/nolength", -1, nil) },
			method: "PUT", status: 411, code: "MissingContentLength", visible: "nolength",
		},
		{
			name: "PUT with Transfer-Encoding chunked",
			raw: func() []byte {
				h := signedHead(t, srv.Server, "PUT", "/bad/chunked", -1, nil)
				return append(h[:len(h)-2], "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"...)
			},
			method: "PUT", status: 411, code: "MissingContentLength", visible: "chunked",
		},
		{
			name:   "key of 1025 bytes",
			raw:    func() []byte { return append(signedHead(t, srv.Server, "PUT", "/bad/"+key1025, 1, nil), 'x') },
			method: "PUT", status: 400, code: "KeyTooLongError", visible: key1025,
		},
		{
			name:   "bucket name too short",
			raw:    func() []byte { return signedHead(t, srv.Server, "PUT", "/ab", 0, nil) },
			method: "PUT", status: 400, code: "InvalidBucketName",
		},
		{
			name:   "bucket name with upper case",
			raw:    func() []byte { return signedHead(t, srv.Server, "PUT", "/Upper-Case", 0, nil) },
			method: "PUT", status: 400, code: "InvalidBucketName",
		},
		{
			name:   "bucket name with underscore",
			raw:    func() []byte { return signedHead(t, srv.Server, "PUT", "/under_score", 0, nil) },
			method: "PUT", status: 400, code: "InvalidBucketName",
		},
		{
			name:   "bucket name like an IP address",
			raw:    func() []byte { return signedHead(t, srv.Server, "PUT", "/192.168.5.4", 0, nil) },
			method: "PUT", status: 400, code: "InvalidBucketName",
		},
		{
			name: "Authorization without SignedHeaders and Signature",
			raw: func() []byte {
				return []byte("GET /bad HTTP/1.1\r\nHost: " + srv.Addr().String() + "\r\nX-Amz-Date: " + amzDate +
					"\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + scope + "\r\n\r\n")
			},
			method: "GET", status: 400, code: "AuthorizationHeaderMalformed",
		},
		{
			name: "Authorization with a malformed credential",
			raw: func() []byte {
				return []byte("GET /bad HTTP/1.1\r\nHost: " + srv.Addr().String() + "\r\nX-Amz-Date: " + amzDate +
					"\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 Credential=nokey, SignedHeaders=host, Signature=00\r\n\r\n")
			},
			method: "GET", status: 400, code: "AuthorizationHeaderMalformed",
		},
		{
			name: "x-amz-date that is not a date",
			raw: func() []byte {
				return []byte("GET /bad HTTP/1.1\r\nHost: " + srv.Addr().String() + "\r\nX-Amz-Date: yesterday" +
					"\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + scope +
					", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\n\r\n")
			},
			method: "GET", status: 403, code: "AccessDenied",
		},
		{
			name: "wrong signature",
			raw: func() []byte {
				h := signedHead(t, srv.Server, "PUT", "/bad/forged", 1, nil)
				i := bytes.Index(h, []byte("Signature="))
				copy(h[i+len("Signature="):], "0000")
				return append(h, 'x')
			},
			method: "PUT", status: 403, code: "SignatureDoesNotMatch", visible: "forged",
		},
		{
			name: "header section over S3's 8 KiB",
			raw: func() []byte {
				h := signedHead(t, srv.Server, "PUT", "/bad/bighead", 1, nil)
				return append(append(h[:len(h)-2], "X-Padding: "+strings.Repeat("p", 8<<10)+"\r\n\r\n"...), 'x')
			},
			method: "PUT", status: 400, code: "RequestHeaderSectionTooLarge", visible: "bighead",
		},
		{
			name: "header section over net/http's bound",
			raw: func() []byte {
				h := signedHead(t, srv.Server, "PUT", "/bad/hugehead", 1, nil)
				return append(append(h[:len(h)-2], "X-Padding: "+strings.Repeat("p", 2*DefaultMaxHeaderBytes)+"\r\n\r\n"...), 'x')
			},
			// net/http refuses it before any handler runs; its plain-text
			// 431 is replaced with S3's answer.
			method: "PUT", status: 400, code: "RequestHeaderSectionTooLarge", visible: "hugehead",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv.Server)
			if _, err := c.Write(tc.raw()); err != nil {
				t.Fatalf("send: %v", err)
			}
			if tc.closeWrite {
				c.(*net.TCPConn).CloseWrite()
			}
			resp, body := readResponse(t, c, tc.method, 5*time.Second)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if got := errorCode(body); got != tc.code {
					t.Fatalf("code %q, want %q; body %s", got, tc.code, body)
				}
				if resp.Header.Get("Content-Type") != "application/xml" || resp.Header.Get("X-Amz-Request-Id") == "" {
					t.Fatalf("headers %v: want an S3 XML error with a request id", resp.Header)
				}
			}
			if tc.visible != "" {
				// Listed rather than HEAD: a HEAD of a 1025-byte key is
				// refused before the store is asked.
				out, err := s3Client(t, srv.Server).ListObjectsV2(context.Background(),
					&s3.ListObjectsV2Input{Bucket: aws.String("bad"), Prefix: aws.String(tc.visible)})
				if err != nil || len(out.Contents) != 0 {
					t.Fatalf("listing after the refused request: %v, %d objects; want none", err, len(out.Contents))
				}
			}
		})
	}
	// S3's limit is on the header section, not on any one header: at
	// exactly 8192 bytes a request is served, one byte more is refused.
	t.Run("header section of exactly 8 KiB", func(t *testing.T) {
		for _, extra := range []int{0, 1} {
			h := signedHead(t, srv.Server, "PUT", "/bad/fits", 1, nil)
			section := len(h) - len("PUT /bad/fits HTTP/1.1\r\n") - len("\r\n")
			pad := 8<<10 - section - len("X-Padding: \r\n") + extra
			c := dial(t, srv.Server)
			c.Write(append(append(h[:len(h)-2], "X-Padding: "+strings.Repeat("p", pad)+"\r\n\r\n"...), 'x'))
			resp, body := readResponse(t, c, "PUT", 5*time.Second)
			want := http.StatusOK
			if extra > 0 {
				want = http.StatusBadRequest
			}
			if resp.StatusCode != want {
				t.Fatalf("header section of %d bytes: status %d body %s; want %d", 8<<10+extra, resp.StatusCode, body, want)
			}
		}
	})
	mustServe(t, srv.Server, "bad")

	// The bucket names refused above were not created.
	out, err := s3Client(t, srv.Server).ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 {
		t.Fatalf("ListBuckets = %v, %v; want only the bucket bad", out, err)
	}
}
