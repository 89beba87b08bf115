package s3api

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func crc32b64(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	return base64.StdEncoding.EncodeToString([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestPutGetRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.createBucket("rtrip")
	ctx := context.Background()
	body := "hello, sluice"
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put, err := e.path.PutObject(ctx, &s3.PutObjectInput{
		Bucket:             aws.String("rtrip"),
		Key:                aws.String("docs/a.txt"),
		Body:               strings.NewReader(body),
		ContentType:        aws.String("text/plain"),
		ContentEncoding:    aws.String("identity"),
		ContentDisposition: aws.String(`attachment; filename="a.txt"`),
		ContentLanguage:    aws.String("en"),
		CacheControl:       aws.String("max-age=60"),
		Expires:            &expires,
		Metadata:           map[string]string{"Color": "blue", "two-words": "x y"},
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	wantETag := fmt.Sprintf(`"%x"`, md5.Sum([]byte(body)))
	if aws.ToString(put.ETag) != wantETag {
		t.Errorf("PUT ETag %s, want %s", aws.ToString(put.ETag), wantETag)
	}
	// The SDK sends a CRC32 by default; S3 echoes it.
	if aws.ToString(put.ChecksumCRC32) != crc32b64(body) || put.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("PUT checksum %q type %q, want %q FULL_OBJECT", aws.ToString(put.ChecksumCRC32), put.ChecksumType, crc32b64(body))
	}

	for _, c := range []*s3.Client{e.path, e.vhost} {
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rtrip"), Key: aws.String("docs/a.txt"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil || string(got) != body {
			t.Fatalf("body %q (%v), want %q", got, err, body)
		}
		checks := map[string][2]string{
			"ETag":               {aws.ToString(get.ETag), wantETag},
			"ContentType":        {aws.ToString(get.ContentType), "text/plain"},
			"ContentEncoding":    {aws.ToString(get.ContentEncoding), "identity"},
			"ContentDisposition": {aws.ToString(get.ContentDisposition), `attachment; filename="a.txt"`},
			"ContentLanguage":    {aws.ToString(get.ContentLanguage), "en"},
			"CacheControl":       {aws.ToString(get.CacheControl), "max-age=60"},
			"ExpiresString":      {aws.ToString(get.ExpiresString), expires.Format(http.TimeFormat)},
			"color":              {get.Metadata["color"], "blue"},
			"two-words":          {get.Metadata["two-words"], "x y"},
			"ChecksumCRC32":      {aws.ToString(get.ChecksumCRC32), crc32b64(body)},
			"AcceptRanges":       {aws.ToString(get.AcceptRanges), "bytes"},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("GET %s = %q, want %q", name, c[0], c[1])
			}
		}
		if aws.ToInt64(get.ContentLength) != int64(len(body)) {
			t.Errorf("ContentLength %d", aws.ToInt64(get.ContentLength))
		}
		if get.LastModified == nil || time.Since(*get.LastModified) > time.Minute {
			t.Errorf("LastModified %v", get.LastModified)
		}
	}

	head, err := e.vhost.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("rtrip"), Key: aws.String("docs/a.txt")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToString(head.ETag) != wantETag || aws.ToInt64(head.ContentLength) != int64(len(body)) || head.Metadata["color"] != "blue" {
		t.Errorf("HeadObject %q %d %v", aws.ToString(head.ETag), aws.ToInt64(head.ContentLength), head.Metadata)
	}
	if head.ChecksumCRC32 != nil {
		t.Errorf("checksum sent without x-amz-checksum-mode: %q", aws.ToString(head.ChecksumCRC32))
	}

	// On the wire: lower-case metadata names, RFC 1123 Last-Modified,
	// default content type, response-* overrides.
	resp := e.do(rawRequest{method: "GET", path: "/rtrip/docs/a.txt?response-content-type=application/json&response-cache-control=no-cache"})
	if resp.header.Get("Content-Type") != "application/json" || resp.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("response-* overrides: %q %q", resp.header.Get("Content-Type"), resp.header.Get("Cache-Control"))
	}
	if resp.header.Get("x-amz-meta-color") != "blue" {
		t.Errorf("metadata header missing: %v", resp.header)
	}
	if _, err := time.Parse(http.TimeFormat, resp.header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", resp.header.Get("Last-Modified"), err)
	}
	e.do(rawRequest{method: "PUT", path: "/rtrip/plain", body: []byte("p")})
	if resp := e.do(rawRequest{method: "GET", path: "/rtrip/plain"}); resp.header.Get("Content-Type") != "binary/octet-stream" {
		t.Errorf("default Content-Type %q", resp.header.Get("Content-Type"))
	}
}

func TestGetErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("gerr")
	ctx := context.Background()
	_, err := e.path.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("gerr"), Key: aws.String("nope")})
	if code, status := apiCode(t, err); code != "NoSuchKey" || status != 404 {
		t.Errorf("GetObject missing: %s %d", code, status)
	}
	eb := e.wantError(e.do(rawRequest{method: "GET", path: "/gerr/no%20pe"}), 404, "NoSuchKey", "The specified key does not exist.")
	if eb.Key != "no pe" {
		t.Errorf("NoSuchKey Key %q", eb.Key)
	}
	eb = e.wantError(e.do(rawRequest{method: "GET", path: "/nobucket/k"}), 404, "NoSuchBucket", "")
	if eb.BucketName != "nobucket" {
		t.Errorf("NoSuchBucket BucketName %q", eb.BucketName)
	}
	resp := e.do(rawRequest{method: "HEAD", path: "/gerr/nope"})
	if resp.status != 404 || len(resp.body) != 0 || resp.header.Get("x-amz-request-id") == "" {
		t.Errorf("HEAD missing: %d %q id %q", resp.status, resp.body, resp.header.Get("x-amz-request-id"))
	}
	long := strings.Repeat("k", 1025)
	e.wantError(e.do(rawRequest{method: "GET", path: "/gerr/" + long}), 400, "KeyTooLongError", "Your key is too long")
	e.wantError(e.do(rawRequest{method: "PUT", path: "/gerr/" + long, body: []byte("x")}), 400, "KeyTooLongError", "")
	if resp := e.do(rawRequest{method: "PUT", path: "/gerr/" + strings.Repeat("k", 1024), body: []byte("x")}); resp.status != 200 {
		t.Errorf("1024-byte key: %d %s", resp.status, resp.body)
	}
}

func TestDeleteObject(t *testing.T) {
	e := newEnv(t)
	e.createBucket("del")
	e.put("del", "k", "v")
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second time the key is missing: still 204
		resp := e.do(rawRequest{method: "DELETE", path: "/del/k"})
		if resp.status != http.StatusNoContent {
			t.Fatalf("DeleteObject #%d: %d %s", i, resp.status, resp.body)
		}
	}
	if e.exists("del", "k") {
		t.Errorf("object still there")
	}
	if _, err := e.vhost.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("del"), Key: aws.String("k")}); err != nil {
		t.Errorf("SDK DeleteObject of a missing key: %v", err)
	}
	e.wantError(e.do(rawRequest{method: "DELETE", path: "/nobucket/k"}), 404, "NoSuchBucket", "")
}

func TestSpecialKeys(t *testing.T) {
	e := newEnv(t)
	e.createBucket("keys")
	ctx := context.Background()
	keys := []string{"a b", "a+b", "100%", "é/ü/日本", "dir//x", "trail/", "q?x=1", "hash#x", "semi;colon", "~tilde", " lead", "x=y&z"}
	for i, k := range keys {
		writer, reader := e.path, e.vhost
		if i%2 == 1 {
			writer, reader = e.vhost, e.path
		}
		body := "body of " + k
		if _, err := writer.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("PutObject(%q): %v", k, err)
		}
		out, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keys"), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("GetObject(%q): %v", k, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(got) != body {
			t.Errorf("GetObject(%q) = %q", k, got)
		}
	}
	// Listed as stored, both without encoding (go-v2) and with
	// encoding-type=url decoded the way botocore decodes it.
	out, err := e.path.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("keys")})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, o := range out.Contents {
		listed[aws.ToString(o.Key)] = true
	}
	for _, k := range keys {
		if !listed[k] {
			t.Errorf("key %q not listed as stored; listed %v", k, listed)
		}
	}
}

func TestRanges(t *testing.T) {
	e := newEnv(t)
	e.createBucket("rng")
	e.put("rng", "k", "0123456789")
	e.put("rng", "empty", "")
	tests := []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"bytes=0-4", "01234", "bytes 0-4/10", 206},
		{"bytes=5-", "56789", "bytes 5-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=-30", "0123456789", "bytes 0-9/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=abc", "0123456789", "", 200},     // unparseable: ignored
		{"bytes=5-2", "0123456789", "", 200},     // last < first: ignored
		{"bytes=0-1,3-4", "0123456789", "", 200}, // several ranges: whole object
		{"items=0-1", "0123456789", "", 200},
	}
	for _, tc := range tests {
		resp := e.do(rawRequest{method: "GET", path: "/rng/k", header: map[string]string{"Range": tc.rng}})
		if resp.status != tc.status || string(resp.body) != tc.body || resp.header.Get("Content-Range") != tc.contentRange {
			t.Errorf("Range %q: %d %q Content-Range %q; want %d %q %q", tc.rng, resp.status, resp.body,
				resp.header.Get("Content-Range"), tc.status, tc.body, tc.contentRange)
		}
		if resp.header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("Range %q: Accept-Ranges %q", tc.rng, resp.header.Get("Accept-Ranges"))
		}
	}
	for _, rr := range []struct{ key, rng, size string }{
		{"k", "bytes=10-", "10"}, {"k", "bytes=20-30", "10"}, {"k", "bytes=-0", "10"}, {"empty", "bytes=0-", "0"},
	} {
		resp := e.do(rawRequest{method: "GET", path: "/rng/" + rr.key, header: map[string]string{"Range": rr.rng}})
		eb := e.wantError(resp, 416, "InvalidRange", "The requested range is not satisfiable")
		if eb.RangeRequested != rr.rng || eb.ActualObjectSize != rr.size || resp.header.Get("Content-Range") != "bytes */"+rr.size {
			t.Errorf("Range %q: RangeRequested %q ActualObjectSize %q Content-Range %q", rr.rng, eb.RangeRequested, eb.ActualObjectSize, resp.header.Get("Content-Range"))
		}
	}
	// Through the SDK, and HEAD with a range.
	out, err := e.vhost.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("rng"), Key: aws.String("k"), Range: aws.String("bytes=2-3"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "23" || aws.ToString(out.ContentRange) != "bytes 2-3/10" || out.ChecksumCRC32 != nil {
		t.Errorf("SDK range: %q %q checksum %v", got, aws.ToString(out.ContentRange), out.ChecksumCRC32)
	}
	resp := e.do(rawRequest{method: "HEAD", path: "/rng/k", header: map[string]string{"Range": "bytes=1-2"}})
	if resp.status != 206 || resp.header.Get("Content-Length") != "2" {
		t.Errorf("HEAD range: %d length %q", resp.status, resp.header.Get("Content-Length"))
	}
}

func TestConditionalGet(t *testing.T) {
	e := newEnv(t)
	e.createBucket("cond")
	e.put("cond", "k", "v")
	etag := fmt.Sprintf(`"%x"`, md5.Sum([]byte("v")))
	resp := e.do(rawRequest{method: "GET", path: "/cond/k", header: map[string]string{"If-None-Match": etag}})
	if resp.status != 304 || len(resp.body) != 0 {
		t.Errorf("If-None-Match: %d %q", resp.status, resp.body)
	}
	e.wantError(e.do(rawRequest{method: "GET", path: "/cond/k", header: map[string]string{"If-Match": `"other"`}}), 412, "PreconditionFailed", "")
	if resp := e.do(rawRequest{method: "GET", path: "/cond/k", header: map[string]string{"If-Match": etag}}); resp.status != 200 {
		t.Errorf("If-Match matching: %d", resp.status)
	}
}

func TestPutValidation(t *testing.T) {
	e := newEnv(t)
	e.createBucket("pval")
	body := []byte("payload")
	tests := []struct {
		name   string
		rr     rawRequest
		status int
		code   string
		msg    string
	}{
		{"Content-MD5 mismatch", rawRequest{header: map[string]string{"Content-MD5": md5b64("other")}}, 400, "BadDigest",
			"The Content-MD5 you specified did not match what we received."},
		{"Content-MD5 malformed", rawRequest{header: map[string]string{"Content-MD5": "not-base64!"}}, 400, "InvalidDigest",
			"The Content-MD5 you specified was invalid."},
		{"Content-MD5 wrong length", rawRequest{header: map[string]string{"Content-MD5": "YQ=="}}, 400, "InvalidDigest", ""},
		{"CRC32 mismatch", rawRequest{header: map[string]string{"x-amz-checksum-crc32": crc32b64("other"), "x-amz-sdk-checksum-algorithm": "CRC32"}},
			400, "BadDigest", "The CRC32 you specified did not match the calculated checksum."},
		{"SHA256 mismatch", rawRequest{header: map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(make([]byte, 32))}},
			400, "BadDigest", "The SHA256 you specified did not match the calculated checksum."},
		{"checksum of the wrong size", rawRequest{header: map[string]string{"x-amz-checksum-crc32": "AAAA"}}, 400, "InvalidRequest",
			"Value for x-amz-checksum-crc32 header is invalid."},
		{"two checksums", rawRequest{header: map[string]string{"x-amz-checksum-crc32": crc32b64("payload"), "x-amz-checksum-sha1": base64.StdEncoding.EncodeToString(make([]byte, 20))}},
			400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."},
		{"announced algorithm without value", rawRequest{header: map[string]string{"x-amz-sdk-checksum-algorithm": "SHA1"}}, 400, "InvalidRequest",
			"x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found."},
		{"unknown algorithm", rawRequest{header: map[string]string{"x-amz-sdk-checksum-algorithm": "MD4"}}, 400, "InvalidRequest", ""},
		{"payload hash mismatch", rawRequest{payloadHash: strings.Repeat("ab", 32)}, 400, "XAmzContentSHA256Mismatch",
			"The provided 'x-amz-content-sha256' header does not match what was computed."},
		{"metadata too large", rawRequest{header: map[string]string{"x-amz-meta-big": strings.Repeat("m", 2046)}}, 400, "MetadataTooLarge", ""},
		{"aws-chunked without x-amz-decoded-content-length", rawRequest{payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", header: map[string]string{"Content-Encoding": "aws-chunked"}}, 411, "MissingContentLength", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			rr := tc.rr
			rr.method, rr.path, rr.body = "PUT", "/pval/"+strings.ReplaceAll(tc.name, " ", "-"), body
			e.wantError(e.do(rr), tc.status, tc.code, tc.msg)
			if e.exists("pval", strings.ReplaceAll(tc.name, " ", "-")) {
				t.Errorf("object stored despite the error")
			}
		})
	}
	e.t = t
	// Exactly 2 KB of metadata is allowed.
	resp := e.do(rawRequest{method: "PUT", path: "/pval/meta-ok", body: body, header: map[string]string{"x-amz-meta-big": strings.Repeat("m", 2045)}})
	if resp.status != 200 {
		t.Errorf("2 KB of metadata: %d %s", resp.status, resp.body)
	}
	// Matching checksums and Content-MD5 pass.
	resp = e.do(rawRequest{method: "PUT", path: "/pval/ok", body: body, header: map[string]string{
		"Content-MD5": md5b64("payload"), "x-amz-checksum-crc32": crc32b64("payload"), "x-amz-sdk-checksum-algorithm": "crc32"}})
	if resp.status != 200 || resp.header.Get("x-amz-checksum-crc32") != crc32b64("payload") || resp.header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
		t.Errorf("valid PUT: %d %v %s", resp.status, resp.header, resp.body)
	}
	// No checksum sent: S3 computes a CRC64NVME.
	resp = e.do(rawRequest{method: "PUT", path: "/pval/nocrc", body: body})
	if resp.status != 200 || resp.header.Get("x-amz-checksum-crc64nvme") == "" {
		t.Errorf("PUT without checksum: %d %v", resp.status, resp.header)
	}
}

func TestMissingContentLength(t *testing.T) {
	e := newEnv(t)
	e.createBucket("mcl")
	req := e.newRequest(rawRequest{method: "PUT", path: "/mcl/k", payloadHash: "UNSIGNED-PAYLOAD"})
	req.Body = io.NopCloser(strings.NewReader("chunked body"))
	req.ContentLength = -1 // sent with Transfer-Encoding: chunked
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.wantError(response{status: resp.StatusCode, header: resp.Header, body: b}, 411, "MissingContentLength",
		"You must provide the Content-Length HTTP header.")
}

// TestIncompleteBody sends fewer bytes than Content-Length and half-closes
// the connection: IncompleteBody, and nothing stored.
func TestIncompleteBody(t *testing.T) {
	e := newEnv(t)
	e.createBucket("inc")
	req := e.newRequest(rawRequest{method: "PUT", path: "/inc/k", payloadHash: "UNSIGNED-PAYLOAD"})
	conn, err := net.DialTimeout("tcp", e.srv.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "PUT /inc/k HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n", req.Host)
	for name, values := range req.Header {
		fmt.Fprintf(conn, "%s: %s\r\n", name, values[0])
	}
	fmt.Fprintf(conn, "\r\nonly twenty bytes...")
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.wantError(response{status: resp.StatusCode, header: resp.Header, body: b}, 400, "IncompleteBody", "")
	if e.exists("inc", "k") {
		t.Errorf("a truncated body was stored")
	}
}

// counter reads sluice_s3_requests_total{operation,status} from the
// registry the handler was given.
func (e *env) counter(operation, status string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_s3_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == operation && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestMetricsAndRequestIDs(t *testing.T) {
	e := newEnv(t)
	e.createBucket("met")
	e.put("met", "k", "v")
	e.put("met", "k2", "v")
	e.do(rawRequest{method: "GET", path: "/met/missing"})
	if got := e.counter("PutObject", "200"); got != 2 {
		t.Errorf("PutObject 200 count %v, want 2", got)
	}
	if got := e.counter("GetObject", "404"); got != 1 {
		t.Errorf("GetObject 404 count %v, want 1", got)
	}
	if got := e.counter("CreateBucket", "200"); got != 1 {
		t.Errorf("CreateBucket 200 count %v, want 1", got)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var observed uint64
	for _, mf := range mfs {
		if mf.GetName() == "sluice_s3_request_duration_seconds" {
			for _, m := range mf.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed < 4 {
		t.Errorf("duration histogram holds %d observations, want at least 4", observed)
	}
	resp := e.do(rawRequest{method: "GET", path: "/met/k"})
	id := resp.header.Get("x-amz-request-id")
	if _, ok := e.requestIDs.Load(id); !ok || resp.header.Get("x-amz-id-2") != "host-"+id {
		t.Errorf("request ids %q %q not the middleware's", id, resp.header.Get("x-amz-id-2"))
	}
}
