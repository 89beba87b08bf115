package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// startSmallTimeouts starts a server whose phase timeouts are short enough
// for a test to run each into its bound in well under a second.
func startSmallTimeouts(t *testing.T, header, body, write time.Duration) *running {
	t.Helper()
	return start(t, Config{
		RootAccessKey: testAccessKey, RootSecretKey: testSecretKey,
		ReadHeaderTimeout: header, BodyIdleTimeout: body, WriteIdleTimeout: write,
	})
}

// signedHead returns the request line and headers of a SigV4-signed
// request with an unsigned payload of contentLength bytes (-1: no
// Content-Length), ready to be written to a raw connection. extra headers
// are signed too.
func signedHead(t *testing.T, srv *Server, method, path string, contentLength int64, extra map[string]string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = max(contentLength, 0)
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return rawHead(req, contentLength)
}

// rawHead serialises req's request line and headers (sorted, for stable
// output) with the Content-Length given (-1: none).
func rawHead(req *http.Request, contentLength int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if contentLength >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", contentLength)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func dial(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readResponse reads one response from c within limit.
func readResponse(t *testing.T, c net.Conn, method string, limit time.Duration) (*http.Response, []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// errorCode extracts <Code> from an S3 error body.
func errorCode(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(rest, []byte("</Code>"))
	return string(code)
}

// mustServe proves the server still works: a PUT and a GET through the SDK.
func mustServe(t *testing.T, srv *Server, bucket string) {
	t.Helper()
	ctx := context.Background()
	c := s3Client(t, srv)
	key := "still-serving-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("alive")}); err != nil {
		t.Fatalf("PutObject after the bad request: %v", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject after the bad request: %v", err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(data) != "alive" {
		t.Fatalf("GetObject after the bad request = %q, want alive", data)
	}
}

func createBucket(t testing.TB, srv *Server, name string) {
	t.Helper()
	if _, err := s3Client(t, srv).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// A client that sends its headers a few bytes at a time (slowloris) is
// disconnected once ReadHeaderTimeout has passed since its first byte,
// however steadily it trickles.
func TestSlowlorisHeadersAreCutOff(t *testing.T) {
	const headerTimeout = 200 * time.Millisecond
	srv := startSmallTimeouts(t, headerTimeout, time.Second, time.Second)
	createBucket(t, srv.Server, "loris")
	c := dial(t, srv.Server)

	type result struct {
		answer []byte
		err    error
	}
	closed := make(chan result, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c) // until the server closes
		closed <- result{b, err}
	}()
	began := time.Now()
	if _, err := io.WriteString(c, "GET /loris HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(headerTimeout / 8)
	defer tick.Stop()
	var res result
trickle:
	for i := 0; ; i++ {
		select {
		case res = <-closed:
			break trickle
		case <-tick.C:
			// One more header byte: progress, but never the end of the
			// headers. Bounded: after 200 bytes stop writing and only wait.
			if i < 200 {
				c.Write([]byte("x"))
			}
		}
	}
	elapsed := time.Since(began)
	if ne, ok := res.err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was still open after 5 s of trickled headers (header timeout %v)", headerTimeout)
	}
	// net/http gives up on the headers with its own 400, which the server
	// replaces with S3's RequestTimeout (a silent close would do too).
	if len(res.answer) > 0 && (!bytes.HasPrefix(res.answer, []byte("HTTP/1.1 400 ")) || errorCode(res.answer) != "RequestTimeout") {
		t.Fatalf("answer to headers that never ended: %q; want S3's RequestTimeout or a close", res.answer)
	}
	if elapsed < headerTimeout || elapsed > headerTimeout+time.Second {
		t.Fatalf("disconnected after %v, want about the header timeout %v", elapsed, headerTimeout)
	}
	mustServe(t, srv.Server, "loris")
}

// A body that stalls for longer than BodyIdleTimeout is cut off with S3's
// RequestTimeout; nothing of it becomes visible, and the server serves
// other clients meanwhile and afterwards.
func TestTricklingBodyIsCutOffAndNothingIsStored(t *testing.T) {
	const bodyIdle = 200 * time.Millisecond
	srv := startSmallTimeouts(t, time.Second, bodyIdle, time.Second)
	createBucket(t, srv.Server, "trickle")
	c := dial(t, srv.Server)

	const size = 100_000
	head := signedHead(t, srv.Server, "PUT", "/trickle/slow", size, nil)
	began := time.Now()
	// Some progress first: 10 bytes every bodyIdle/4, which must not be cut.
	if _, err := c.Write(head); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if _, err := c.Write(bytes.Repeat([]byte("b"), 10)); err != nil {
			t.Fatalf("write %d of a steady trickle failed: %v (cut while it made progress)", i, err)
		}
		time.Sleep(bodyIdle / 4) // the client's own pace, not a wait for the server
	}
	// Then the stall. While it lasts, the server serves others.
	mustServe(t, srv.Server, "trickle")

	resp, body := readResponse(t, c, "PUT", 5*time.Second)
	elapsed := time.Since(began)
	if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "RequestTimeout" {
		t.Fatalf("stalled body: status %d body %s; want 400 RequestTimeout", resp.StatusCode, body)
	}
	if elapsed < 2*bodyIdle {
		t.Fatalf("cut after %v: the steady part (%v) should not have been cut", elapsed, 2*bodyIdle)
	}
	_, err := s3Client(t, srv.Server).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("trickle"), Key: aws.String("slow")})
	if apiCode(err) != "NotFound" {
		t.Fatalf("HeadObject of the cut upload: %v; want NotFound (nothing stored)", err)
	}
	mustServe(t, srv.Server, "trickle")
}

// smallBufferClient is an HTTP client whose sockets have a small receive
// buffer, so that a slow reader really holds the server's writes back
// instead of the kernel absorbing the whole response.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return setBuffer(rc, syscall.SO_RCVBUF)
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

func setBuffer(rc syscall.RawConn, opt int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 16<<10)
	})
	return errors.Join(err, serr)
}

// smallSendBufferListener gives every accepted connection a small send
// buffer. Linux wakes a writer blocked on a full socket only when half of
// the queued bytes have drained, so with the autotuned 4 MiB buffer a
// reader that keeps reading can still leave one write blocked for 2 MiB;
// with a small buffer each write's wait reflects the reader's pace.
type smallSendBufferListener struct{ net.Listener }

func (l smallSendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			if err := setBuffer(rc, syscall.SO_SNDBUF); err != nil {
				c.Close()
				return nil, err
			}
		}
	}
	return c, nil
}

// presignedGet is a GET URL for bucket/key that a plain HTTP client can use.
func presignedGet(t *testing.T, srv *Server, bucket, key string) string {
	t.Helper()
	p := s3.NewPresignClient(s3Client(t, srv, func(o *s3.Options) { o.UsePathStyle = true }))
	req, err := p.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return req.URL
}

// putPattern stores size bytes of a position-dependent pattern.
func putPattern(t *testing.T, srv *Server, bucket, key string, size int64) {
	t.Helper()
	_, err := s3Client(t, srv).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(patternBytes(0, int(size))), ContentLength: aws.Int64(size),
	})
	if err != nil {
		t.Fatalf("PutObject %d bytes: %v", size, err)
	}
}

// A download read slowly but steadily for many write-idle periods
// completes; one whose client stops reading is cut.
func TestDownloadWriteIdleTimeout(t *testing.T) {
	const writeIdle = 200 * time.Millisecond
	// Far larger than the server's send buffer plus the client's receive
	// buffer, so the server's writes block on the reader.
	const size = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, Config{
		Listener:      smallSendBufferListener{ln},
		RootAccessKey: testAccessKey, RootSecretKey: testSecretKey,
		ReadHeaderTimeout: time.Second, BodyIdleTimeout: time.Second, WriteIdleTimeout: writeIdle,
	})
	createBucket(t, srv.Server, "slowread")
	putPattern(t, srv.Server, "slowread", "big", size)
	url := presignedGet(t, srv.Server, "slowread", "big")

	t.Run("steady reader completes", func(t *testing.T) {
		resp, err := smallBufferClient().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET: status %d", resp.StatusCode)
		}
		began := time.Now()
		buf := make([]byte, 64<<10) // 1 MiB in 16 reads, writeIdle/4 apart
		var got int64
		for got < size {
			n, err := io.ReadFull(resp.Body, buf[:min(int64(len(buf)), size-got)])
			if !bytes.Equal(buf[:n], patternBytes(got, n)) {
				t.Fatalf("bytes at %d differ from what was stored", got)
			}
			got += int64(n)
			if err != nil {
				t.Fatalf("after %d of %d bytes in %v: %v (a steady download was cut)", got, size, time.Since(began), err)
			}
			time.Sleep(writeIdle / 4) // a slow reader's pace
		}
		if elapsed := time.Since(began); elapsed < 3*writeIdle {
			t.Fatalf("the download took %v, not several write-idle periods (%v): the test proves nothing", elapsed, writeIdle)
		}
	})

	t.Run("stopped reader is cut", func(t *testing.T) {
		resp, err := smallBufferClient().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 16<<10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * writeIdle) // the client stops reading
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil || 16<<10+n >= size {
			t.Fatalf("after a stall of 5x the write-idle timeout the download went on: %d more bytes, err %v", n, err)
		}
	})
	mustServe(t, srv.Server, "slowread")
}

// patternBytes is n bytes of the test pattern starting at offset off: each
// 8-byte word holds its own index, so a byte out of place is noticed.
func patternBytes(off int64, n int) []byte {
	b := make([]byte, n)
	fillPattern(b, off)
	return b
}

func fillPattern(b []byte, off int64) {
	i := 0
	for ; i < len(b) && (off+int64(i))%8 != 0; i++ { // up to a word boundary
		pos := off + int64(i)
		b[i] = byte(uint64(pos/8) >> (8 * (pos % 8)))
	}
	for ; i+8 <= len(b); i += 8 { // whole words, fast enough for a GiB
		binary.LittleEndian.PutUint64(b[i:], uint64((off+int64(i))/8))
	}
	for ; i < len(b); i++ {
		pos := off + int64(i)
		b[i] = byte(uint64(pos/8) >> (8 * (pos % 8)))
	}
}
