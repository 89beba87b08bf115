package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkServerPut1KiB sends signed 1 KiB PUTs (hex
// x-amz-content-sha256, path style, as `sluice bench` does) to the real
// server over loopback on 32 keep-alive connections, so that net/http, the
// middleware and the S3 handler are all measured; the client writes
// pre-signed bytes and parses the response, a small constant share of the
// figures. cpu-ns/op is the whole process's CPU (user + system) per PUT.
func BenchmarkServerPut1KiB(b *testing.B) {
	const conns = 32
	srv := start(b, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	createBucket(b, srv.Server, "bkt")
	body := bytes.Repeat([]byte("x"), 1024)
	reqs := signedPuts(b, srv.Server, "bkt", b.N, body)

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for range conns {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReader(c)
			for {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					return
				}
				if _, err := c.Write(reqs[i]); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("PUT %d: status %d", i, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// signedPuts returns n complete PUT requests (head and body) of body to
// keys in bucket, signed before the timer starts.
func signedPuts(b testing.TB, srv *Server, bucket string, n int, body []byte) [][]byte {
	b.Helper()
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	now := time.Now()
	reqs := make([][]byte, n)
	for i := range reqs {
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/%s/p%03d/key-%d", srv.URL(), bucket, i%256, i), nil)
		if err != nil {
			b.Fatal(err)
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("X-Amz-Content-Sha256", hash)
		if err := signer.SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", now,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			b.Fatal(err)
		}
		reqs[i] = append(rawHead(req, int64(len(body))), body...)
	}
	return reqs
}
