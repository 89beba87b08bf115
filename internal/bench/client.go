package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// emptySHA256 is the hex SHA-256 of an empty payload (GET, DELETE).
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// newTransport is the client transport for every measurement, S3 steps and
// limits alike, so that L and C bound the S3 figures fairly: keep-alive,
// an idle pool larger than any concurrency used (so no step pays for
// re-dialling), no proxy, no compression.
func newTransport(maxConcurrency int) *http.Transport {
	idle := max(2*maxConcurrency, 64)
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
}

// s3Client sends path-style S3 requests signed with SigV4 in the header,
// with x-amz-content-sha256 the payload's hex SHA-256 (computed by the
// caller once per distinct body, so signing costs no hashing per request).
type s3Client struct {
	http     *http.Client
	endpoint string // scheme://host:port, no trailing slash
	creds    aws.Credentials
	region   string
	signer   *v4.Signer
}

func newS3Client(endpoint, accessKey, secretKey, region string, tr *http.Transport) *s3Client {
	return &s3Client{
		http:     &http.Client{Transport: tr},
		endpoint: endpoint,
		creds:    aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "sluice bench"},
		region:   region,
		// S3 signs the path as sent, without the second escaping other
		// services use.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
	}
}

// statusError is a response with an unexpected status; Body holds the
// start of the error document for the report.
type statusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends one signed request. path must need no escaping (the tool only
// uses [a-z0-9/-] in bucket names and keys). body may be nil; size is its
// exact length. On success the caller owns resp.Body.
func (c *s3Client) do(ctx context.Context, method, path string, body io.Reader, size int64, payloadSHA string, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
		req.GetBody = nil
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadSHA)
	if err := c.signer.SignHTTP(ctx, c.creds, req, payloadSHA, "s3", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	drainClose(resp.Body)
	return nil, &statusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(msg))}
}

// drainClose reads what is left of a body (bounded) and closes it, so the
// connection goes back to the idle pool.
func drainClose(b io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(b, 1<<20))
	b.Close()
}

func (c *s3Client) createBucket(ctx context.Context, bucket string) error {
	resp, err := c.do(ctx, http.MethodPut, "/"+bucket, nil, 0, emptySHA256, http.StatusOK)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

func (c *s3Client) put(ctx context.Context, bucket, key string, body []byte, payloadSHA string) error {
	resp, err := c.do(ctx, http.MethodPut, "/"+bucket+"/"+key, bytes.NewReader(body), int64(len(body)), payloadSHA, http.StatusOK)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// getInto GETs a small object into buf and checks that its bytes equal
// want; buf must be at least len(want)+1 long, so a longer body is caught.
func (c *s3Client) getInto(ctx context.Context, bucket, key string, want, buf []byte) error {
	resp, err := c.do(ctx, http.MethodGet, "/"+bucket+"/"+key, nil, 0, emptySHA256, http.StatusOK)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	n, err := io.ReadFull(resp.Body, buf)
	if err != nil && err != io.ErrUnexpectedEOF {
		if err == io.EOF {
			err = nil // empty body; the comparison below reports it
		} else {
			return fmt.Errorf("GET /%s/%s: reading body: %w", bucket, key, err)
		}
	}
	if !bytes.Equal(buf[:n], want) {
		return fmt.Errorf("GET /%s/%s: body differs from what was PUT (%d bytes, want %d)", bucket, key, n, len(want))
	}
	return nil
}

func (c *s3Client) delete(ctx context.Context, bucket, key string) error {
	resp, err := c.do(ctx, http.MethodDelete, "/"+bucket+"/"+key, nil, 0, emptySHA256, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// bodySet is a few distinct small bodies and their SHA-256s. Object i gets
// body i%len, so a GET that returns another object's bytes is caught.
type bodySet struct {
	bodies [][]byte
	shas   []string
}

func newBodySet(n int, size int64, seed uint64) bodySet {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	bs := bodySet{bodies: make([][]byte, n), shas: make([]string, n)}
	for i := range bs.bodies {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		sum := sha256.Sum256(b)
		bs.bodies[i], bs.shas[i] = b, hex.EncodeToString(sum[:])
	}
	return bs
}

// patternBlock is the repeating unit of large bodies: pseudo-random bytes,
// so nothing on the path can shortcut runs of zeros, and large bodies are
// generated and verified as they stream without being held in memory.
const patternBlockSize = 64 << 10

func newPatternBlock() []byte {
	r := rand.New(rand.NewPCG(0x5111ce, 0xb16))
	b := make([]byte, patternBlockSize)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// patternReader streams size bytes of the repeating block.
type patternReader struct {
	block     []byte
	off, size int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	if rem := p.size - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	n := 0
	for n < len(b) {
		i := int((p.off + int64(n)) % int64(len(p.block)))
		n += copy(b[n:], p.block[i:])
	}
	p.off += int64(n)
	return n, nil
}

// patternSHA256 hashes size bytes of the pattern once, before a large
// PUT, since header signing needs the digest before the body is sent.
func patternSHA256(block []byte, size int64) string {
	h := sha256.New()
	io.CopyBuffer(h, &patternReader{block: block, size: size}, make([]byte, 1<<20))
	return hex.EncodeToString(h.Sum(nil))
}

// patternVerifier is the GET side of patternReader: it checks each byte
// written against the pattern at that offset and counts them.
type patternVerifier struct {
	block []byte
	off   int64
}

func (v *patternVerifier) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		i := int((v.off + int64(n)) % int64(len(v.block)))
		m := min(len(b)-n, len(v.block)-i)
		if !bytes.Equal(b[n:n+m], v.block[i:i+m]) {
			return n, fmt.Errorf("body differs from what was PUT near byte %d", v.off+int64(n))
		}
		n += m
	}
	v.off += int64(n)
	return n, nil
}

func (c *s3Client) putStream(ctx context.Context, bucket, key string, block []byte, size int64, payloadSHA string) error {
	resp, err := c.do(ctx, http.MethodPut, "/"+bucket+"/"+key, &patternReader{block: block, size: size}, size, payloadSHA, http.StatusOK)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// getStream GETs a large object, verifying it against the pattern as it
// streams (no copy is kept) and checking its length.
func (c *s3Client) getStream(ctx context.Context, bucket, key string, block []byte, size int64, buf []byte) error {
	resp, err := c.do(ctx, http.MethodGet, "/"+bucket+"/"+key, nil, 0, emptySHA256, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	v := &patternVerifier{block: block}
	if _, err := io.CopyBuffer(v, resp.Body, buf); err != nil {
		return fmt.Errorf("GET /%s/%s: %w", bucket, key, err)
	}
	if v.off != size {
		return fmt.Errorf("GET /%s/%s: got %d bytes, want %d", bucket, key, v.off, size)
	}
	return nil
}
