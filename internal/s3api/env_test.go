package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/awsproto"
	"sluice/internal/clock"
	"sluice/internal/object"
	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

const (
	testAccessKey = "AKIDSLUICETEST"
	testSecretKey = "secret/for+tests"
	testOwnerID   = "000000000000"
)

// env is one S3 handler on in-memory storage behind a test HTTP server.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	port    string
	reg     *prometheus.Registry
	objects *object.Service
	region  string
	// path is an SDK client that addresses buckets path style; vhost one
	// that uses virtual-hosted style (Host bucket.localhost:PORT, dialled
	// to 127.0.0.1 whatever the name).
	path, vhost *s3.Client
	http        *http.Client // plain client for hand-built requests
	requestIDs  sync.Map     // ids handed out by the middleware
}

func newEnv(t *testing.T) *env { return newEnvRegion(t, "us-east-1") }

func newEnvRegion(t *testing.T, region string) *env {
	t.Helper()
	fs := vfs.NewMem()
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clock.Real{}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, reg: prometheus.NewRegistry(), region: region}
	e.objects = object.New(object.Config{Store: st, Blobs: newTestBlobs(t, fs), Clock: clock.Real{}, InlineLimit: 64})
	h := New(Config{
		Objects: e.objects,
		Verifier: &auth.Verifier{
			Keys:  auth.NewStaticKeyring(auth.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}),
			Clock: clock.Real{},
		},
		Region:     region,
		Domains:    []string{"localhost"},
		Owner:      Owner{ID: testOwnerID, DisplayName: "sluice"},
		Clock:      clock.Real{},
		Logger:     slog.New(slog.DiscardHandler),
		Registerer: e.reg,
	})
	var n int
	var mu sync.Mutex
	// The real server sets the request ids before the S3 handler runs.
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		id := fmt.Sprintf("REQ%013d", n)
		mu.Unlock()
		e.requestIDs.Store(id, true)
		h.ServeHTTP(w, r.WithContext(awsproto.WithRequestID(r.Context(), id, "host-"+id)))
	}))
	t.Cleanup(e.srv.Close)
	_, e.port, _ = net.SplitHostPort(e.srv.Listener.Addr().String())

	// Every name resolves to the test server, so that bucket.localhost works.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, e.srv.Listener.Addr().String())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	e.http = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	e.path = e.client(testSecretKey, e.srv.URL, true)
	e.vhost = e.client(testSecretKey, "http://localhost:"+e.port, false)
	return e
}

// client returns an aws-sdk-go-v2 S3 client with the SDK's default
// checksum behaviour (a CRC32 on every PutObject, response validation).
func (e *env) client(secret, endpoint string, pathStyle bool) *s3.Client {
	cfg := aws.Config{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(testAccessKey, secret, ""),
		HTTPClient:                 e.http,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		Retryer:                    func() aws.Retryer { return aws.NopRetryer{} },
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = pathStyle
	})
}

func (e *env) createBucket(name string) {
	e.t.Helper()
	if _, err := e.path.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func (e *env) put(bucket, key, body string) {
	e.t.Helper()
	if _, err := e.path.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	}); err != nil {
		e.t.Fatalf("PutObject(%q, %q): %v", bucket, key, err)
	}
}

// rawRequest describes a hand-built request.
type rawRequest struct {
	method string
	path   string // escaped path and query, e.g. "/b/k?list-type=2"
	host   string // Host header; default 127.0.0.1:PORT
	body   []byte
	header map[string]string
	// payloadHash is x-amz-content-sha256; default the body's hex SHA-256.
	payloadHash string
	unsigned    bool
	secret      string // default testSecretKey
}

// response is a hand-built request's answer, read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(rr rawRequest) response {
	e.t.Helper()
	req := e.newRequest(rr)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", rr.method, rr.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", rr.method, rr.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) newRequest(rr rawRequest) *http.Request {
	e.t.Helper()
	host := rr.host
	if host == "" {
		host = "127.0.0.1:" + e.port
	}
	req, err := http.NewRequest(rr.method, "http://"+host+rr.path, bytes.NewReader(rr.body))
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if rr.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range rr.header {
		req.Header.Set(k, v)
	}
	if rr.unsigned {
		return req
	}
	hash := rr.payloadHash
	if hash == "" {
		sum := sha256.Sum256(rr.body)
		hash = hex.EncodeToString(sum[:])
	}
	req.Header.Set("X-Amz-Content-Sha256", hash)
	secret := rr.secret
	if secret == "" {
		secret = testSecretKey
	}
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: secret}, req, hash, "s3", "us-east-1", time.Now())
	if err != nil {
		e.t.Fatalf("sign: %v", err)
	}
	return req
}

// errorBody is the S3 <Error> document.
type errorBody struct {
	Code, Message, Key, BucketName, RequestId, HostId string
	ArgumentName, ArgumentValue                       string
	RangeRequested, ActualObjectSize                  string
	Method, ResourceType                              string
	ClientComputedContentSHA256                       string
}

// wantError checks status, code and (when message is not "") message of
// an error response, and that its request id is the header's.
func (e *env) wantError(resp response, status int, code, message string) errorBody {
	e.t.Helper()
	if resp.status != status {
		e.t.Fatalf("status %d, want %d; body %s", resp.status, status, resp.body)
	}
	var eb errorBody
	if err := xml.Unmarshal(resp.body, &eb); err != nil {
		e.t.Fatalf("error body %q: %v", resp.body, err)
	}
	if eb.Code != code {
		e.t.Errorf("code %q, want %q (message %q)", eb.Code, code, eb.Message)
	}
	if message != "" && eb.Message != message {
		e.t.Errorf("message %q, want %q", eb.Message, message)
	}
	if id := resp.header.Get("x-amz-request-id"); id == "" || eb.RequestId != id || eb.HostId != resp.header.Get("x-amz-id-2") {
		e.t.Errorf("RequestId %q HostId %q, headers %q %q", eb.RequestId, eb.HostId, id, resp.header.Get("x-amz-id-2"))
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/xml" {
		e.t.Errorf("Content-Type %q, want application/xml", ct)
	}
	return eb
}

// exists reports whether the object is there (through the domain, not
// the edge).
func (e *env) exists(bucket, key string) bool {
	e.t.Helper()
	_, err := e.objects.HeadObject(context.Background(), bucket, key)
	return err == nil
}

// newTestBlobs is an in-memory blob store for these tests.
func newTestBlobs(t testing.TB, _ vfs.FS) storage.Blobs {
	return &memBlobs{m: map[storage.BlobID][]byte{}}
}

type memBlobs struct {
	mu   sync.Mutex
	next int
	m    map[storage.BlobID][]byte
}

func (b *memBlobs) Write(ctx context.Context, r io.Reader) (storage.BlobID, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := storage.BlobID(fmt.Sprintf("blob-%d", b.next))
	b.m[id] = data
	return id, int64(len(data)), nil
}

func (b *memBlobs) Open(id storage.BlobID) (storage.Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.m[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return memBlob{bytes.NewReader(d)}, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

func (b *memBlobs) Remove(id storage.BlobID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, id)
	return nil
}

func (b *memBlobs) Walk(fn func(storage.BlobID, time.Time) error) error {
	b.mu.Lock()
	ids := make([]storage.BlobID, 0, len(b.m))
	for id := range b.m {
		ids = append(ids, id)
	}
	b.mu.Unlock()
	for _, id := range ids {
		if err := fn(id, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}
