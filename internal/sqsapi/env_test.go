package sqsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/queue"
	"sluice/internal/storage/pebblestore"
)

const (
	testAccessKey = "AKIDSLUICETEST"
	testSecretKey = "secret/for+tests"
	testAccount   = "000000000000"
	// A second key, which lineage tests map to a function invocation.
	testFnAccessKey = "ASIASLUICEFUNCTION"
	testFnSecretKey = "function/secret"
)

// env is one SQS handler on in-memory storage behind a test HTTP server
// on 127.0.0.1. The queue service runs on a fake clock that the tests
// move (so a long poll can end only by a message, or by the test moving
// time); signatures are checked against the wall clock.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	clock  *clock.Fake
	queues *queue.Service
	h      *Handler
	reg    *prometheus.Registry
	client *sqs.Client
	http   *http.Client
	ctx    context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: fc, reg: prometheus.NewRegistry(), http: &http.Client{}, ctx: context.Background()}
	e.queues = queue.New(queue.Config{Store: st, Clock: fc})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	h := New(Config{
		Queues: e.queues,
		Verifier: &auth.Verifier{
			Keys: auth.NewStaticKeyring(auth.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey, Principal: "AIDASLUICE"},
				auth.Credentials{AccessKeyID: testFnAccessKey, SecretAccessKey: testFnSecretKey, Principal: "AROAFUNCTION:fn"}),
			Clock: clock.Real{},
		},
		PublicURL:  base,
		Registerer: e.reg,
	})
	e.h = h
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Listener.Close()
	e.srv.Listener = l
	e.srv.Config.RegisterOnShutdown(e.queues.Close)
	e.srv.Start()
	t.Cleanup(func() {
		e.queues.Close()
		e.srv.Close()
		st.Close()
	})
	e.client = sqs.New(sqs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(base),
		Credentials:      credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
		RetryMaxAttempts: 1,
	})
	return e
}

func (e *env) url(name string) string { return e.srv.URL + "/" + testAccount + "/" + name }

func (e *env) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.client.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue(%s): %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// apiErr returns err's SQS code (ErrorCode(), the query code go-v2
// reports) and its Go type name's error shape.
func apiErr(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want an API error", err, err)
	}
	return ae
}

// query sends a query-protocol request, signed for sqs, to path with
// form in the body, and returns the status and body.
func (e *env) query(path string, form url.Values) (int, string) {
	e.t.Helper()
	return e.queryWith(path, form, testAccessKey, testSecretKey)
}

func (e *env) queryWith(path string, form url.Values, key, secret string) (int, string) {
	e.t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if key != "" {
		signer := v4.NewSigner()
		err = signer.SignHTTP(e.ctx, aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req,
			hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now())
		if err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// jsonCall sends a raw AWS JSON 1.0 request, signed, and returns the
// response.
func (e *env) jsonCall(action, body string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	req.Header.Set("X-Amzn-Query-Mode", "true")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(e.ctx, aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}, req,
		hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}
