package s3api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sluice/internal/auth"
)

// chunkedPut describes a hand-built aws-chunked PutObject.
type chunkedPut struct {
	mode     string
	chunks   []string
	trailers [][2]string
	header   map[string]string
	// httpChunked sends the body with Transfer-Encoding: chunked (no
	// Content-Length), as botocore does; else Content-Length frames it.
	httpChunked bool
	// corrupt edits the encoded body after signing.
	corrupt func([]byte) []byte
}

var sigRE = regexp.MustCompile(`Signature=([0-9a-f]{64})`)

// encodeChunked frames chunks; sign (nil for the unsigned form) returns a
// chunk's signature and then the trailer's.
func encodeChunked(p chunkedPut, chunkSig func([]byte) string, trailerSig func(string) string) []byte {
	var b bytes.Buffer
	for _, c := range append(append([]string{}, p.chunks...), "") {
		fmt.Fprintf(&b, "%x", len(c))
		if chunkSig != nil {
			b.WriteString(";chunk-signature=" + chunkSig([]byte(c)))
		}
		b.WriteString("\r\n" + c)
		if c != "" {
			b.WriteString("\r\n")
		}
	}
	var canon strings.Builder
	for _, kv := range p.trailers {
		b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
		canon.WriteString(kv[0] + ":" + kv[1] + "\n")
	}
	if trailerSig != nil {
		b.WriteString("x-amz-trailer-signature:" + trailerSig(canon.String()) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func (e *env) putChunked(path string, p chunkedPut) response {
	e.t.Helper()
	signed := p.mode != auth.StreamingUnsignedTrailer
	decoded := 0
	var names []string
	for _, c := range p.chunks {
		decoded += len(c)
	}
	for _, kv := range p.trailers {
		names = append(names, kv[0])
	}
	zero := strings.Repeat("0", 64)
	var fakeChunk func([]byte) string
	var fakeTrailer func(string) string
	if signed {
		fakeChunk = func([]byte) string { return zero }
		if p.mode == auth.StreamingPayloadTrailer {
			fakeTrailer = func(string) string { return zero }
		}
	}
	length := len(encodeChunked(p, fakeChunk, fakeTrailer))

	req, err := http.NewRequest("PUT", "http://127.0.0.1:"+e.port+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(decoded))
	if len(names) > 0 {
		req.Header.Set("X-Amz-Trailer", strings.Join(names, ","))
	}
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Amz-Content-Sha256", p.mode)
	if !p.httpChunked {
		req.ContentLength = int64(length)
	}
	now := time.Now().UTC()
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}, req, p.mode, "s3", "us-east-1", now)
	if err != nil {
		e.t.Fatal(err)
	}
	res := &auth.Result{
		AmzDate:    now.Format("20060102T150405Z"),
		Scope:      now.Format("20060102") + "/us-east-1/s3/aws4_request",
		SigningKey: auth.DerivedKey(testSecretKey, now.Format("20060102"), "us-east-1", "s3"),
	}
	prev := sigRE.FindStringSubmatch(req.Header.Get("Authorization"))[1]
	var chunkSig func([]byte) string
	var trailerSig func(string) string
	if signed {
		chunkSig = func(data []byte) string {
			s := sha256.Sum256(data)
			prev = res.ChunkSignature(prev, hex.EncodeToString(s[:]))
			return prev
		}
		if p.mode == auth.StreamingPayloadTrailer {
			trailerSig = func(canon string) string {
				s := sha256.Sum256([]byte(canon))
				sts := "AWS4-HMAC-SHA256-TRAILER\n" + res.AmzDate + "\n" + res.Scope + "\n" + prev + "\n" + hex.EncodeToString(s[:])
				m := hmac.New(sha256.New, res.SigningKey)
				m.Write([]byte(sts))
				return hex.EncodeToString(m.Sum(nil))
			}
		}
	}
	body := encodeChunked(p, chunkSig, trailerSig)
	if p.corrupt != nil {
		body = p.corrupt(body)
	}
	if p.httpChunked {
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body))) // unknown length: chunked
		req.ContentLength = -1
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestPutAWSChunked(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	big := strings.Repeat("x", 9000) // past the inline limit: a blob
	modes := []string{auth.StreamingUnsignedTrailer, auth.StreamingPayload, auth.StreamingPayloadTrailer}
	for _, mode := range modes {
		for _, httpChunked := range []bool{false, true} {
			name := fmt.Sprintf("%s/http-chunked=%v", mode, httpChunked)
			t.Run(name, func(t *testing.T) {
				e.t = t
				chunks := []string{big, "hello"}
				p := chunkedPut{mode: mode, chunks: chunks, httpChunked: httpChunked,
					header: map[string]string{"Content-Encoding": "aws-chunked,br", "Content-Type": "text/plain"}}
				if mode != auth.StreamingPayload {
					p.trailers = [][2]string{{"x-amz-checksum-crc32", crc32b64(big + "hello")}}
					p.header["X-Amz-Sdk-Checksum-Algorithm"] = "CRC32"
				}
				resp := e.putChunked("/bkt/obj", p)
				if resp.status != 200 {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
				if p.trailers != nil && resp.header.Get("x-amz-checksum-crc32") != crc32b64(big+"hello") {
					t.Errorf("PUT echoed checksum %q, want %q", resp.header.Get("x-amz-checksum-crc32"), crc32b64(big+"hello"))
				}
				get := e.do(rawRequest{method: "GET", path: "/bkt/obj", header: map[string]string{"x-amz-checksum-mode": "ENABLED"}})
				if get.status != 200 || string(get.body) != big+"hello" {
					t.Fatalf("GET: status %d, %d bytes", get.status, len(get.body))
				}
				if ce := get.header.Get("Content-Encoding"); ce != "br" {
					t.Errorf("stored Content-Encoding %q, want br (aws-chunked removed)", ce)
				}
				if p.trailers != nil && get.header.Get("x-amz-checksum-crc32") != crc32b64(big+"hello") {
					t.Errorf("GET checksum %q", get.header.Get("x-amz-checksum-crc32"))
				}
			})
		}
	}
}

func TestPutAWSChunkedRefused(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	good := [][2]string{{"x-amz-checksum-crc32", crc32b64("hello world")}}
	flip := func(b []byte) []byte { return bytes.Replace(b, []byte("world"), []byte("World"), 1) }
	cases := []struct {
		name   string
		p      chunkedPut
		status int
		code   string
	}{
		{"bad trailer checksum", chunkedPut{mode: auth.StreamingUnsignedTrailer, chunks: []string{"hello ", "world"},
			trailers: [][2]string{{"x-amz-checksum-crc32", crc32b64("hello World")}}}, 400, "BadDigest"},
		{"bad trailer sha256", chunkedPut{mode: auth.StreamingPayloadTrailer, chunks: []string{"hello world"}, httpChunked: true,
			trailers: [][2]string{{"x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(make([]byte, 32))}}}, 400, "BadDigest"},
		{"bad chunk signature", chunkedPut{mode: auth.StreamingPayload, chunks: []string{"hello ", "world"}, corrupt: flip}, 403, "SignatureDoesNotMatch"},
		{"bad chunk signature, http chunked", chunkedPut{mode: auth.StreamingPayloadTrailer, chunks: []string{"hello ", "world"}, trailers: good, httpChunked: true, corrupt: flip}, 403, "SignatureDoesNotMatch"},
		{"trailer changed after signing", chunkedPut{mode: auth.StreamingPayloadTrailer, chunks: []string{"hello world"}, trailers: good,
			corrupt: func(b []byte) []byte {
				return bytes.Replace(b, []byte(good[0][1]), []byte(crc32b64("x")), 1)
			}}, 403, "SignatureDoesNotMatch"},
		{"truncated", chunkedPut{mode: auth.StreamingUnsignedTrailer, chunks: []string{"hello world"}, httpChunked: true,
			corrupt: func(b []byte) []byte { return b[:8] }}, 400, "IncompleteBody"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			resp := e.putChunked("/bkt/refused", tc.p)
			e.wantError(resp, tc.status, tc.code, "")
			if e.exists("bkt", "refused") {
				t.Fatalf("object stored after %s", tc.name)
			}
		})
	}
}

// presignV2 signs a URL as botocore's HmacV1QueryAuth does.
func presignV2(method, host, path, bucket string, expires int64, secret string) string {
	resource := path
	if bucket != "" {
		resource = "/" + bucket + path
	}
	sts := method + "\n\n\n" + strconv.FormatInt(expires, 10) + "\n" + resource
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return "http://" + host + path + "?AWSAccessKeyId=" + testAccessKey + "&Signature=" + url.QueryEscape(sig) +
		"&Expires=" + strconv.FormatInt(expires, 10)
}

func TestSigV2(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	e.put("bkt", "dir/a b.txt", "v2 body")
	get := func(u string) response {
		resp, err := e.http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	exp := time.Now().Add(time.Hour).Unix()
	for name, u := range map[string]string{
		"path style":     presignV2("GET", "127.0.0.1:"+e.port, "/bkt/dir/a%20b.txt", "", exp, testSecretKey),
		"virtual hosted": presignV2("GET", "bkt.localhost:"+e.port, "/dir/a%20b.txt", "bkt", exp, testSecretKey),
	} {
		if r := get(u); r.status != 200 || string(r.body) != "v2 body" {
			t.Errorf("%s: status %d body %q", name, r.status, r.body)
		}
	}
	expired := get(presignV2("GET", "127.0.0.1:"+e.port, "/bkt/dir/a%20b.txt", "", time.Now().Add(-time.Minute).Unix(), testSecretKey))
	e.wantError(expired, 403, "AccessDenied", "Request has expired")
	wrong := get(presignV2("GET", "127.0.0.1:"+e.port, "/bkt/dir/a%20b.txt", "", exp, "not the secret"))
	e.wantError(wrong, 403, "SignatureDoesNotMatch", "")

	// Header form: a PUT with Content-Type and x-amz-meta-*, then a GET.
	date := time.Now().UTC().Format(http.TimeFormat)
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:"+e.port+"/bkt/v2put", strings.NewReader("put by v2"))
	req.Header.Set("Date", date)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Amz-Meta-Color", "blue")
	sts := "PUT\n\ntext/plain\n" + date + "\nx-amz-meta-color:blue\n/bkt/v2put"
	m := hmac.New(sha1.New, []byte(testSecretKey))
	m.Write([]byte(sts))
	req.Header.Set("Authorization", "AWS "+testAccessKey+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SigV2 PUT: status %d", resp.StatusCode)
	}
	if r := e.do(rawRequest{method: "GET", path: "/bkt/v2put"}); string(r.body) != "put by v2" || r.header.Get("x-amz-meta-color") != "blue" {
		t.Fatalf("GET after SigV2 PUT: %d %q %v", r.status, r.body, r.header)
	}
}
