package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// bigSize is the object of TestBigObjectMemoryBound: 1 GiB in CI
// (DESIGN.md, "How we know it works"); SLUICE_BIG_SIZE overrides it (the
// load tool's `sluice bench --huge` does 5 GiB).
func bigSize(t *testing.T) int64 {
	v := os.Getenv("SLUICE_BIG_SIZE")
	if v == "" {
		return 1 << 30
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("SLUICE_BIG_SIZE=%q: want a positive number of bytes", v)
	}
	return n
}

// rssGrowthBound is how much the server's resident memory may grow while
// it stores and serves one object, whatever its size. The body streams
// through fixed buffers (32 KiB copy buffers, the blob writer's buffer,
// net/http's 4 KiB bufio), so the growth is a few MiB of buffers and
// their garbage before the collector runs (GOGC=100 lets the heap reach
// twice its live size), plus Pebble's memtable for the one record. 64 MiB
// is an order of magnitude above that and 16 times below the 1 GiB
// object: a server that buffered even a sixteenth of the body fails.
const rssGrowthBound = 64 << 20

// The real binary, in its own process so that its resident memory is its
// own, stores and serves a 1 GiB object with a single PutObject, and its
// resident memory (VmRSS from /proc) grows by less than rssGrowthBound.
func TestBigObjectMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a 1 GiB object")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status")
	}
	size := bigSize(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", bin, "sluice/cmd/sluice")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"), "-log-level", "warn")
	cmd.Env = append(os.Environ(), "SLUICE_ROOT_ACCESS_KEY="+testAccessKey, "SLUICE_ROOT_SECRET_KEY="+testSecretKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	endpoint := readEndpoint(t, stdout)
	pid := cmd.Process.Pid

	ctx := context.Background()
	c := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
		// One pass over the body on the client: no client-side checksum
		// (the server still computes MD5 and CRC64NVME) and an unsigned
		// payload, so the generator need not be read twice.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// Warm up the paths the big transfer takes (a blob-sized PUT and
	// GET), so that the baseline includes what any request allocates.
	warm := patternBytes(0, 1<<20)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("big"), Key: aws.String("warm"), Body: bytes.NewReader(warm)}); err != nil {
		t.Fatalf("warm-up PutObject: %v", err)
	}
	if got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("warm")}); err != nil {
		t.Fatalf("warm-up GetObject: %v", err)
	} else {
		io.Copy(io.Discard, got.Body)
		got.Body.Close()
	}
	baseline := vmRSS(t, pid)
	sampler := startRSSSampler(t, pid)

	began := time.Now()
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("big"), Key: aws.String("huge"),
		Body: &patternReader{size: size}, ContentLength: aws.Int64(size),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		t.Fatalf("PutObject of %d bytes: %v", size, err)
	}
	put := time.Since(began)

	began = time.Now()
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("huge")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	if aws.ToInt64(got.ContentLength) != size {
		t.Fatalf("GetObject Content-Length %d, want %d", aws.ToInt64(got.ContentLength), size)
	}
	n, err := verifyPattern(got.Body)
	got.Body.Close()
	if err != nil || n != size {
		t.Fatalf("GetObject body: %d of %d bytes as stored, then %v", n, size, err)
	}
	get := time.Since(began)

	peak, samples := sampler.stop()
	growth := peak - baseline
	t.Logf("%d MiB: PUT %v, GET %v; VmRSS baseline %d MiB, peak %d MiB (%d samples), growth %.1f MiB (bound %d MiB)",
		size>>20, put.Round(time.Millisecond), get.Round(time.Millisecond), baseline>>20, peak>>20, samples,
		float64(growth)/(1<<20), rssGrowthBound>>20)
	if samples < 2 {
		t.Fatalf("only %d VmRSS samples during the transfer: the bound was not watched", samples)
	}
	if growth > rssGrowthBound {
		t.Fatalf("server VmRSS grew by %d MiB while storing and serving %d MiB; bound %d MiB", growth>>20, size>>20, rssGrowthBound>>20)
	}
}

// readEndpoint reads the server's start-up lines up to the one that names
// its URL ("Sluice is listening on http://127.0.0.1:PORT (data in ...)").
func readEndpoint(t *testing.T, stdout io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Sluice is listening on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				found <- url
				break
			}
		}
		io.Copy(io.Discard, stdout) // keep the pipe drained
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not print its URL within 30 s")
		return ""
	}
}

// vmRSS is the resident set size of process pid, in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := readVmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readVmRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS line %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// rssSampler records the peak VmRSS of a process until stopped.
type rssSampler struct {
	done    chan struct{}
	wg      sync.WaitGroup
	peak    int64
	samples int
}

func startRSSSampler(t *testing.T, pid int) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := readVmRSS(pid); err == nil {
				s.peak = max(s.peak, n)
				s.samples++
			}
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() (peak int64, samples int) {
	close(s.done)
	s.wg.Wait()
	return s.peak, s.samples
}

// patternReader generates size bytes of the test pattern without holding
// them.
type patternReader struct{ off, size int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	fillPattern(p, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

// verifyPattern reads r to the end and returns how many leading bytes
// match the pattern; the error says where the first difference is.
func verifyPattern(r io.Reader) (int64, error) {
	buf, want := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		n, err := io.ReadFull(r, buf)
		fillPattern(want[:n], off)
		if !bytes.Equal(buf[:n], want[:n]) {
			for i := range n {
				if buf[i] != want[i] {
					return off + int64(i), fmt.Errorf("byte %d is %#x, want %#x", off+int64(i), buf[i], want[i])
				}
			}
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}
