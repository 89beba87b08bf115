package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sluice/internal/auth"
	"sluice/internal/awsproto"
	"sluice/internal/clock"
	"sluice/internal/object"
	"sluice/internal/storage/pebblestore"
)

// benchHandler is the S3 handler over Pebble on disk, as the server builds
// it, without the network: the benchmarks below measure the server's own
// cost of a small PUT and GET (CPU and allocations per request), which
// `sluice bench` can only see mixed with the client's and the kernel's.
func benchHandler(b *testing.B) *Handler {
	b.Helper()
	st, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	objects := object.New(object.Config{Store: st, Blobs: newTestBlobs(b, nil), Clock: clock.Real{}})
	if err := objects.CreateBucket(context.Background(), "bkt", testOwnerID); err != nil {
		b.Fatal(err)
	}
	return New(Config{
		Objects: objects,
		Verifier: &auth.Verifier{
			Keys:  auth.NewStaticKeyring(auth.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}),
			Clock: clock.Real{},
		},
		Owner:  Owner{ID: testOwnerID},
		Logger: slog.New(slog.DiscardHandler),
	})
}

// signedRequests signs n requests before the timer starts, so signing (the
// client's work) is not measured.
func signedRequests(b *testing.B, n int, method string, body []byte) []*http.Request {
	b.Helper()
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	now := time.Now()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r := httptest.NewRequest(method, fmt.Sprintf("http://127.0.0.1:9000/bkt/p%03d/key-%d", i%256, i), nil)
		r.Header.Set("X-Amz-Content-Sha256", hash)
		r.ContentLength = int64(len(body))
		err := signer.SignHTTP(context.Background(), creds, r, hash, "s3", "us-east-1", now,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			b.Fatal(err)
		}
		// net/http's server keeps the header it parsed ContentLength from.
		r.Header.Set("Content-Length", fmt.Sprint(len(body)))
		reqs[i] = r.WithContext(awsproto.WithRequestID(r.Context(), "REQ", "HOST"))
	}
	return reqs
}

// serveAll serves reqs in turn and reports the process's CPU time per
// request (user + system, every goroutine: Pebble's WAL writer and flushes
// included), which the wall-clock ns/op hides behind the fsync.
func serveAll(b *testing.B, h *Handler, reqs []*http.Request, body []byte, want int) {
	b.Helper()
	cpu0 := processCPU(b)
	defer func() {
		if len(reqs) > 0 {
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(len(reqs)), "cpu-ns/op")
		}
	}()
	for _, r := range reqs {
		if body != nil {
			r.Body = http.NoBody
			if len(body) > 0 {
				r.Body = nopCloser{bytes.NewReader(body)}
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.URL.Path, w.Code, want, w.Body.Bytes())
		}
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// BenchmarkPutObject1KiB: one durable commit per op, so ns/op includes an
// fsync; allocs/op and the CPU profile are the figures to watch.
func BenchmarkPutObject1KiB(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 1024)
	reqs := signedRequests(b, b.N, http.MethodPut, body)
	b.ReportAllocs()
	b.ResetTimer()
	serveAll(b, h, reqs, body, http.StatusOK)
}

// BenchmarkPutObject1KiBParallel runs 32 PUTs at a time (with
// GOMAXPROCS 2), as `sluice bench` does at concurrency 32: commits share
// WAL syncs, so cpu-ns/op is the server's cost per PUT under that load.
func BenchmarkPutObject1KiBParallel(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 1024)
	reqs := signedRequests(b, b.N, http.MethodPut, body)
	for _, r := range reqs {
		r.Body = nopCloser{bytes.NewReader(body)}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := reqs[next.Add(1)-1]
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("PUT %s: status %d: %s", r.URL.Path, w.Code, w.Body.Bytes())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkGetObject1KiB(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 1024)
	const objects = 1024
	serveAll(b, h, signedRequests(b, objects, http.MethodPut, body), body, http.StatusOK)
	// GET requests name keys key-0..key-1023 in turn.
	all := signedRequests(b, objects, http.MethodGet, nil)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = all[i%objects].Clone(all[i%objects].Context())
	}
	b.ReportAllocs()
	b.ResetTimer()
	serveAll(b, h, reqs, nil, http.StatusOK)
}
