package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Limits are the machine's own bounds, measured in the same run as the S3
// figures they explain.
type Limits struct {
	// FsyncP50Ms is f: p50 of appending FsyncRecordBytes to a file in
	// FsyncDir and fdatasync-ing it.
	FsyncP50Ms float64 `json:"fsync_p50_ms"`
	FsyncP99Ms float64 `json:"fsync_p99_ms"`
	// FsyncIdleP50Ms is f after an idle pause: the same append and
	// fdatasync, each after the process slept fsyncIdlePause. Not an aim's
	// term: it shows what the first commit after a quiet moment costs on
	// this machine (a request at concurrency 1 arrives at an idle server),
	// which back-to-back samples (f) do not.
	FsyncIdleP50Ms float64 `json:"fsync_idle_p50_ms"`
	// FsyncOverwriteP50Ms is f with the record written over blocks that
	// already hold written, synced bytes, so fdatasync has no new file size
	// to make durable: what a WAL commit costs on a recycled or pre-zeroed
	// WAL (Sluice's, pebblestore/walzero.go). Shown, not an aim's term.
	FsyncOverwriteP50Ms float64 `json:"fsync_overwrite_p50_ms"`
	FsyncDir            string  `json:"fsync_dir"`
	// LoopbackP50Ms is L: p50 of a GET with an empty 200 response from a
	// trivial net/http server in this process.
	LoopbackP50Ms float64 `json:"loopback_p50_ms"`
	// LoopbackIdleP50Ms is L with the process idle fsyncIdlePause before
	// each round trip: what a request pays when nothing was running, as
	// at concurrency 1 after a commit's fsync. Shown, not an aim's term.
	LoopbackIdleP50Ms float64 `json:"loopback_idle_p50_ms"`
	// PostCeiling is C: 1 KiB POSTs per second at concurrency 32 against
	// that server, which reads and discards the body.
	PostCeiling float64 `json:"post_ceiling_per_s"`
}

// fsyncRecordBytes is about one object record plus its event record, the
// size of a small PUT's WAL commit (DESIGN.md, "Storage").
const fsyncRecordBytes = 1300

// ceilingConcurrency is the concurrency at which C is measured.
const ceilingConcurrency = 32

// fsyncIdlePause is the sleep before each sample of FsyncIdleP50Ms: as
// long as the SQS poll step's gap before its send.
const fsyncIdlePause = 2 * time.Millisecond

// fsyncWrite says where measureFsync's records land.
type fsyncWrite int

const (
	fsyncAppend    fsyncWrite = iota // past the end: the file grows
	fsyncOverwrite                   // over bytes written and synced first
)

// measureFsync writes a record and fdatasyncs it iterations times in a
// fresh file in dir and returns the latencies; with pause > 0 the process
// sleeps that long before each sample. The first few samples are dropped:
// they include the file's first block allocation.
func measureFsync(dir string, iterations int, pause time.Duration, where fsyncWrite) ([]time.Duration, error) {
	f, err := os.CreateTemp(dir, ".sluice-bench-fsync-*")
	if err != nil {
		return nil, fmt.Errorf("f: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := bytes.Repeat([]byte{'r'}, fsyncRecordBytes)
	const warmup = 3
	if where == fsyncOverwrite {
		if err := writeZeros(f, int64(iterations+warmup)*fsyncRecordBytes); err != nil {
			return nil, fmt.Errorf("f: %w", err)
		}
	}
	lat := make([]time.Duration, 0, iterations)
	for i := 0; i < iterations+warmup; i++ {
		if pause > 0 {
			time.Sleep(pause) // the idle moment being measured, not a wait for a result
		}
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			return nil, fmt.Errorf("f: %w", err)
		}
		if err := fdatasync(f); err != nil {
			return nil, fmt.Errorf("f: %w", err)
		}
		if i >= warmup {
			lat = append(lat, time.Since(start))
		}
	}
	return lat, nil
}

// writeZeros writes n zero bytes from the start of f, syncs them and
// rewinds, so the records that follow land on written blocks.
func writeZeros(f *os.File, n int64) error {
	if _, err := io.CopyN(f, zeroReader{}, n); err != nil {
		return err
	}
	if err := fdatasync(f); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// fdatasync is what a WAL commit calls on Linux: it flushes the data and
// the size, not the timestamps.
func fdatasync(f *os.File) error {
	err := unix.Fdatasync(int(f.Fd()))
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) {
		return f.Sync()
	}
	return err
}

// trivialServer is the loopback baseline: GET answers an empty 200, POST
// reads and discards its body.
type trivialServer struct {
	srv *http.Server
	ln  net.Listener
	url string
}

func startTrivialServer() (*trivialServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &trivialServer{ln: ln, url: "http://" + ln.Addr().String()}
	ts.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.Copy(io.Discard, r.Body)
			}
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go ts.srv.Serve(ln)
	return ts, nil
}

func (ts *trivialServer) Close() { ts.srv.Close() }

// measureLoopback returns the latencies of n sequential GETs.
func measureLoopback(ctx context.Context, client *http.Client, url string, n int, pause time.Duration) ([]time.Duration, error) {
	const warmup = 10
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+warmup; i++ {
		if pause > 0 {
			time.Sleep(pause) // the idle moment being measured, not a wait for a result
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("loopback round trip (L): %w", err)
		}
		drainClose(resp.Body)
		if i >= warmup {
			lat = append(lat, time.Since(start))
		}
	}
	return lat, nil
}

// measureCeiling returns C: 1 KiB POSTs per second at concurrency
// ceilingConcurrency for d.
func measureCeiling(ctx context.Context, client *http.Client, url string, d time.Duration) (float64, error) {
	body := bytes.Repeat([]byte{'c'}, 1<<10)
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range ceilingConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err == nil {
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						drainClose(resp.Body)
						done.Add(1)
						continue
					}
				}
				errOnce.Do(func() { firstErr = err })
				return
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("loopback POST ceiling (C): %w", firstErr)
	}
	return perSecond(int(done.Load()), time.Since(start)), ctx.Err()
}

// measureLimits measures f in fsyncDir, then L and C against a trivial
// server using a transport built like the S3 client's.
func measureLimits(ctx context.Context, fsyncDir string, fsyncIterations, roundTrips int, ceilingFor time.Duration) (Limits, error) {
	l := Limits{FsyncDir: fsyncDir}
	lat, err := measureFsync(fsyncDir, fsyncIterations, 0, fsyncAppend)
	if err != nil {
		return l, err
	}
	fs := summarize(lat, 0)
	l.FsyncP50Ms, l.FsyncP99Ms = ms(fs.P50), ms(fs.P99)
	if lat, err = measureFsync(fsyncDir, max(fsyncIterations/3, 1), fsyncIdlePause, fsyncAppend); err != nil {
		return l, err
	}
	l.FsyncIdleP50Ms = ms(summarize(lat, 0).P50)
	if lat, err = measureFsync(fsyncDir, fsyncIterations, 0, fsyncOverwrite); err != nil {
		return l, err
	}
	l.FsyncOverwriteP50Ms = ms(summarize(lat, 0).P50)

	ts, err := startTrivialServer()
	if err != nil {
		return l, err
	}
	defer ts.Close()
	tr := newTransport(ceilingConcurrency)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	if lat, err = measureLoopback(ctx, client, ts.url, roundTrips, 0); err != nil {
		return l, err
	}
	l.LoopbackP50Ms = ms(summarize(lat, 0).P50)
	if lat, err = measureLoopback(ctx, client, ts.url, max(roundTrips/10, 1), fsyncIdlePause); err != nil {
		return l, err
	}
	l.LoopbackIdleP50Ms = ms(summarize(lat, 0).P50)
	if l.PostCeiling, err = measureCeiling(ctx, client, ts.url, ceilingFor); err != nil {
		return l, err
	}
	return l, nil
}
