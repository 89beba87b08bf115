package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const (
	testAccessKey = "AKIAIOSFODNN7EXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// running is a server started on 127.0.0.1:0 for one test.
type running struct {
	*Server
	stop func() error // cancels Run and returns its error
}

func start(t testing.TB, cfg Config) *running {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return &running{Server: srv, stop: stop}
}

func s3Client(t testing.TB, srv *Server, optFns ...func(*s3.Options)) *s3.Client {
	t.Helper()
	root := srv.RootCredentials()
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
	}, optFns...)
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestObjectRoundTripWithSDK(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT", srv.URL())
	}
	ctx := context.Background()
	c := s3Client(t, srv.Server)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	body := bytes.Repeat([]byte("sluice"), 200_000) // 1.2 MB: a blob, not an inline record
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.jpg"),
		Body: bytes.NewReader(body), ContentType: aws.String("image/jpeg")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.jpg")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(data, body) || aws.ToString(got.ContentType) != "image/jpeg" {
		t.Fatalf("GetObject: %d bytes, content type %q; want %d bytes of image/jpeg", len(data), aws.ToString(got.ContentType), len(body))
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.jpg")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.jpg")})
	if apiCode(err) != "NoSuchKey" {
		t.Fatalf("GetObject after delete: %v, want NoSuchKey", err)
	}
}

// aws-sdk-go-v2 addresses buckets virtual-hosted style for any hostname
// endpoint (Host: photos.localhost:PORT). Bucket hosts do not resolve on
// every machine, so the client's dialer sends every host to the listener.
func TestVirtualHostedStyle(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	port := srv.Addr().(*net.TCPAddr).Port
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	httpClient := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, srv.Addr().String())
		},
	}}
	var hosts []string
	c := s3Client(t, srv.Server, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://localhost:" + strconv.Itoa(port))
		o.HTTPClient = recordHosts{httpClient, &hosts}
	})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "dir/k" {
		t.Fatalf("ListObjectsV2 = %+v, %v; want the one key dir/k", out, err)
	}
	for _, h := range hosts {
		if !strings.HasPrefix(h, "vhost.localhost:") {
			t.Fatalf("request Host %q: the SDK did not use virtual-hosted style", h)
		}
	}
}

type recordHosts struct {
	c     *http.Client
	hosts *[]string
}

func (r recordHosts) Do(req *http.Request) (*http.Response, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	*r.hosts = append(*r.hosts, host)
	return r.c.Do(req)
}

// A signed request for a service Sluice does not serve yet gets an error in
// that service's own protocol, never an S3 error.
func TestUnservedServicesAnswerInTheirProtocol(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	send := func(service, method, path string, body []byte, headers map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL()+path, bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	t.Run("dynamodb json", func(t *testing.T) {
		resp := send("dynamodb", "POST", "/", []byte(`{}`), map[string]string{
			"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"})
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusNotImplemented || body["__type"] == "" || !strings.Contains(body["message"], "DYNAMODB") {
			t.Fatalf("status %d body %v: want a JSON 1.0 error naming DynamoDB", resp.StatusCode, body)
		}
	})
	t.Run("apigateway rest-json", func(t *testing.T) {
		resp := send("apigateway", "GET", "/restapis", nil, nil)
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("X-Amzn-ErrorType") == "" || bytes.Contains(raw, []byte("<Error>")) {
			t.Fatalf("status %d, X-Amzn-ErrorType %q, body %s: want a REST-JSON error", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), raw)
		}
	})
	t.Run("sns query", func(t *testing.T) {
		resp := send("sns", "POST", "/", []byte("Action=ListTopics&Version=2010-03-31"), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded"})
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode < 400 || !bytes.Contains(raw, []byte("<ErrorResponse")) {
			t.Fatalf("status %d body %s: want a query-protocol ErrorResponse", resp.StatusCode, raw)
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	c := s3Client(t, srv.Server)
	ctx := context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("metrics")})
	c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("metrics"), Key: aws.String("nope")})

	resp, err := http.Get(srv.URL() + "/_sluice/health")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" {
		t.Fatalf("health: %d %v", resp.StatusCode, health)
	}

	resp, err = http.Get(srv.URL() + "/_sluice/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sluice_s3_requests_total{operation="CreateBucket",status="200"} 1`,
		`sluice_s3_requests_total{operation="HeadObject",status="404"} 1`,
		`sluice_s3_request_duration_seconds_bucket{operation="CreateBucket"`,
		`sluice_storage_wal_fsync_seconds_count`,
		`sluice_storage_write_stalls_total 0`,
		`go_goroutines`,
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("metrics lack %s in:\n%s", want, grepLines(raw, "sluice_"))
		}
	}
}

// Generated root credentials are kept in the data directory, and objects
// survive a graceful shutdown and restart.
func TestRestartKeepsCredentialsAndObjects(t *testing.T) {
	dir := t.TempDir()
	first := start(t, Config{DataDir: dir})
	root := first.RootCredentials()
	if !strings.HasPrefix(root.AccessKeyID, "AKIA") || len(root.AccessKeyID) != 20 || len(root.SecretAccessKey) != 40 {
		t.Fatalf("generated credentials %q/%q do not look like AWS's", root.AccessKeyID, root.SecretAccessKey)
	}
	if fi, err := os.Stat(filepath.Join(dir, credentialsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v; want 0600", err, fi)
	}
	ctx := context.Background()
	c := s3Client(t, first.Server)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keep"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := first.stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}

	second := start(t, Config{DataDir: dir})
	if second.RootCredentials() != root {
		t.Fatalf("credentials after restart %+v, want %+v", second.RootCredentials(), root)
	}
	got, err := s3Client(t, second.Server).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keep"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject after restart: %v", err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(data) != "kept" {
		t.Fatalf("after restart got %q, want kept", data)
	}
}

func grepLines(raw []byte, substr string) string {
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, substr) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
