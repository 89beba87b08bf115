package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config is one run of the tool: the parsed flags (Endpoint and the keys
// filled in by the caller, which may have started the server itself) and
// what the caller knows about the server.
type Config struct {
	Options
	// Target describes the server for the report ("in-process sluice").
	Target string
	// FsyncDir is where f is measured: the server's data directory when
	// known. FsyncNote says, in the report, what that directory is.
	FsyncDir  string
	FsyncNote string
	// SpaceDir, when set, is the server's data directory: the huge step
	// checks it has room for the object before writing it.
	SpaceDir string
	// RSS reads the server's resident set size in bytes; nil means the
	// huge step cannot report memory growth. RSSSource names it.
	RSS       func() (int64, error)
	RSSSource string
	// CPUProfile, when set, receives a CPU profile of the S3 steps.
	CPUProfile io.Writer
	// Progress receives one line per step as the run goes; nil discards.
	Progress io.Writer
	// Now stamps the report; default time.Now.
	Now func() time.Time
}

// smallBodies is how many distinct small bodies the run cycles through.
const smallBodies = 64

// consecutiveErrorLimit stops a worker whose server keeps failing, so a
// broken endpoint ends a step at once instead of spinning for its length.
const consecutiveErrorLimit = 20

// Run measures the limits, runs every S3 step against cfg.Endpoint,
// measures the limits again and returns the report with the aims
// evaluated. Objects are written to a fresh bucket; large and huge objects
// are deleted at the end, small ones are left (their bucket is named in
// the report).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Concurrency) == 0 {
		return nil, errors.New("no concurrency levels")
	}
	switch cfg.Service {
	case "sqs":
		return runSQS(ctx, cfg)
	case "lambda":
		return runLambda(ctx, cfg)
	case "events":
		return runEvents(ctx, cfg)
	case "s3fn":
		return runS3Function(ctx, cfg)
	case "multipart":
		return runMultipart(ctx, cfg)
	}
	rep := &Report{
		Date:        cfg.Now().UTC(),
		Machine:     currentMachine(),
		Target:      cfg.Target,
		Endpoint:    cfg.Endpoint,
		ObjectSize:  cfg.Size,
		StepSeconds: cfg.Duration.Seconds(),
		FsyncNote:   cfg.FsyncNote,
	}
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	progress("measuring limits (before): f in %s, L, C for %v", cfg.FsyncDir, cfg.Duration)
	var err error
	if rep.LimitsBefore, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}

	tr := newTransport(slices.Max(cfg.Concurrency))
	defer tr.CloseIdleConnections()
	client := newS3Client(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	rep.Bucket = "sluice-bench-" + randomHex(4)
	if err := client.createBucket(ctx, rep.Bucket); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", rep.Bucket, err)
	}

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	s3err := runS3Steps(ctx, cfg, client, rep, progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if s3err != nil {
		return nil, s3err
	}

	progress("measuring limits (after)")
	if rep.LimitsAfter, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}
	rep.Limits = meanLimits(rep.LimitsBefore, rep.LimitsAfter)
	rep.Aims = evaluateAims(rep.Steps, rep.Limits)
	return rep, nil
}

func runS3Steps(ctx context.Context, cfg Config, client *s3Client, rep *Report, progress func(string, ...any)) error {
	bodies := newBodySet(smallBodies, cfg.Size, 1)
	for _, c := range cfg.Concurrency {
		put, written := smallPut(ctx, client, rep.Bucket, bodies, c, cfg.Duration)
		if err := ctx.Err(); err != nil {
			return err
		}
		progress("PUT  %s @%-3d %9.0f/s  p50 %.3f ms  p99 %.3f ms  errors %d", formatSize(cfg.Size), c, put.PerSecond, put.P50Ms, put.P99Ms, put.Errors)
		rep.Steps = append(rep.Steps, put)
		if len(written) == 0 {
			return fmt.Errorf("PUT @%d: no object was written: %s", c, put.FirstError)
		}
		get := smallGet(ctx, client, rep.Bucket, bodies, written, c, cfg.Duration)
		if err := ctx.Err(); err != nil {
			return err
		}
		progress("GET  %s @%-3d %9.0f/s  p50 %.3f ms  p99 %.3f ms  errors %d", formatSize(cfg.Size), c, get.PerSecond, get.P50Ms, get.P99Ms, get.Errors)
		rep.Steps = append(rep.Steps, get)
	}

	block := newPatternBlock()
	if cfg.LargeSize > 0 && cfg.LargeCount > 0 {
		put, get := largeRoundTrip(ctx, client, rep.Bucket, block, cfg.LargeSize, cfg.LargeCount)
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Large = append(rep.Large, put, get)
		progress("large %s x %d: PUT %.1f MB/s, GET %.1f MB/s", formatSize(cfg.LargeSize), cfg.LargeCount, put.MBPerSecond, get.MBPerSecond)
	}

	if cfg.Huge {
		progress("huge %s round trip (hashing the body first)", formatSize(cfg.HugeSize))
		h, err := hugeRoundTrip(ctx, cfg, client, rep.Bucket, block)
		if err != nil {
			return err
		}
		rep.Huge = h
		progress("huge %s: PUT %.1f MB/s, GET %.1f MB/s, RSS growth %s", formatSize(cfg.HugeSize), h.PutMBPerSecond, h.GetMBPerSecond, formatBytes(h.RSSGrowthBytes))
	}
	return nil
}

// written is one object a PUT step stored: its key and which body it got.
type written struct {
	key  string
	body int
}

// worker is one goroutine's share of a step; merged after the step so the
// timed loop shares nothing.
type worker struct {
	lat         []time.Duration
	written     []written
	errors      int
	consecutive int
	firstErr    error
}

// fail counts a failed request and says whether the worker should give up.
func (w *worker) fail(err error) (stop bool) {
	w.errors++
	w.consecutive++
	if w.firstErr == nil {
		w.firstErr = err
	}
	return w.consecutive >= consecutiveErrorLimit
}

func (w *worker) succeed(d time.Duration) {
	w.consecutive = 0
	w.lat = append(w.lat, d)
}

// runWorkers runs c copies of fn until d has passed and merges their
// results into a step.
func runWorkers(op string, c int, d time.Duration, fn func(w int, deadline time.Time, res *worker)) (Step, []written) {
	res := make([]worker, c)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i].lat = make([]time.Duration, 0, 1024)
			fn(i, deadline, &res[i])
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var lat []time.Duration
	var all []written
	st := Step{Op: op, Concurrency: c}
	for i := range res {
		lat = append(lat, res[i].lat...)
		all = append(all, res[i].written...)
		st.Errors += res[i].errors
		if st.FirstError == "" && res[i].firstErr != nil {
			st.FirstError = res[i].firstErr.Error()
		}
	}
	s := summarize(lat, elapsed)
	st.Requests, st.Seconds = s.Requests, elapsed.Seconds()
	st.PerSecond = perSecond(s.Requests, elapsed)
	st.P50Ms, st.P99Ms = ms(s.P50), ms(s.P99)
	return st, all
}

// smallKey spreads keys over the key space (a two-hex-digit first level)
// and over many names, as real workloads do, rather than appending to
// one hot prefix.
func smallKey(c, w, n int) string {
	return fmt.Sprintf("%02x/c%d-w%d-%d", (n*131+w*17)&0xff, c, w, n)
}

func smallPut(ctx context.Context, client *s3Client, bucket string, bodies bodySet, c int, d time.Duration) (Step, []written) {
	return runWorkers("PUT", c, d, func(w int, deadline time.Time, res *worker) {
		for n := 0; ctx.Err() == nil && time.Now().Before(deadline); n++ {
			key, b := smallKey(c, w, n), (w*7+n)%len(bodies.bodies)
			start := time.Now()
			err := client.put(ctx, bucket, key, bodies.bodies[b], bodies.shas[b])
			if err != nil {
				if ctx.Err() != nil || res.fail(err) {
					return
				}
				continue
			}
			res.succeed(time.Since(start))
			res.written = append(res.written, written{key: key, body: b})
		}
	})
}

// smallGet reads back the objects the PUT step wrote, each worker from its
// own starting point, and checks every body against what was PUT.
func smallGet(ctx context.Context, client *s3Client, bucket string, bodies bodySet, objs []written, c int, d time.Duration) Step {
	st, _ := runWorkers("GET", c, d, func(w int, deadline time.Time, res *worker) {
		buf := make([]byte, len(bodies.bodies[0])+1)
		i := w * len(objs) / c
		for ctx.Err() == nil && time.Now().Before(deadline) {
			o := objs[i%len(objs)]
			i++
			start := time.Now()
			err := client.getInto(ctx, bucket, o.key, bodies.bodies[o.body], buf)
			if err != nil {
				if ctx.Err() != nil || res.fail(err) {
					return
				}
				continue
			}
			res.succeed(time.Since(start))
		}
	})
	return st
}

// largeRoundTrip PUTs count objects of size one after another, then GETs
// them, streaming both ways.
func largeRoundTrip(ctx context.Context, client *s3Client, bucket string, block []byte, size int64, count int) (Transfer, Transfer) {
	sha := patternSHA256(block, size)
	put := Transfer{Op: "PUT", Size: size, Count: count, Concurrency: 1}
	get := Transfer{Op: "GET", Size: size, Count: count, Concurrency: 1}
	var ok []string
	start := time.Now()
	for i := range count {
		key := fmt.Sprintf("large/%d", i)
		if err := client.putStream(ctx, bucket, key, block, size, sha); err != nil {
			put.fail(err)
			continue
		}
		ok = append(ok, key)
	}
	put.finish(len(ok), time.Since(start))

	buf := make([]byte, 1<<20)
	start = time.Now()
	n := 0
	for _, key := range ok {
		if err := client.getStream(ctx, bucket, key, block, size, buf); err != nil {
			get.fail(err)
			continue
		}
		n++
	}
	get.finish(n, time.Since(start))
	for _, key := range ok {
		client.delete(context.WithoutCancel(ctx), bucket, key)
	}
	return put, get
}

// hugeRoundTrip PUTs and GETs one object of cfg.HugeSize while sampling
// the server's resident memory, which must not grow with object size.
func hugeRoundTrip(ctx context.Context, cfg Config, client *s3Client, bucket string, block []byte) (*Huge, error) {
	h := &Huge{Size: cfg.HugeSize, RSSSource: cfg.RSSSource}
	if cfg.SpaceDir != "" {
		var st unix.Statfs_t
		if err := unix.Statfs(cfg.SpaceDir, &st); err == nil {
			free := int64(st.Bavail) * int64(st.Bsize)
			if need := cfg.HugeSize + 1<<30; free < need {
				return nil, fmt.Errorf("huge: %s has %s free, the %s object needs about %s", cfg.SpaceDir, formatBytes(free), formatSize(cfg.HugeSize), formatBytes(need))
			}
		}
	}
	sha := patternSHA256(block, cfg.HugeSize)
	rss := newRSSSampler(cfg.RSS)
	h.RSSBeforeBytes = rss.read()

	const key = "huge/0"
	rss.start()
	start := time.Now()
	err := client.putStream(ctx, bucket, key, block, cfg.HugeSize, sha)
	h.PutMBPerSecond = mbPerSecond(cfg.HugeSize, time.Since(start))
	h.RSSPeakPutBytes = rss.stop()
	if err != nil {
		return nil, fmt.Errorf("huge PUT: %w", err)
	}
	rss.start()
	start = time.Now()
	err = client.getStream(ctx, bucket, key, block, cfg.HugeSize, make([]byte, 1<<20))
	h.GetMBPerSecond = mbPerSecond(cfg.HugeSize, time.Since(start))
	h.RSSPeakGetBytes = rss.stop()
	client.delete(context.WithoutCancel(ctx), bucket, key)
	if err != nil {
		return nil, fmt.Errorf("huge GET: %w", err)
	}
	h.RSSAfterBytes = rss.read()
	if cfg.RSS != nil {
		h.RSSGrowthBytes = max(h.RSSPeakPutBytes, h.RSSPeakGetBytes, h.RSSAfterBytes) - h.RSSBeforeBytes
	}
	return h, nil
}

// rssSampler polls RSS while a transfer runs and keeps the peak; a
// transfer's memory high-water mark is what matters, not its end state.
type rssSampler struct {
	read  func() int64
	peak  atomic.Int64
	stopc chan struct{}
	done  chan struct{}
}

func newRSSSampler(f func() (int64, error)) *rssSampler {
	return &rssSampler{read: func() int64 {
		if f == nil {
			return 0
		}
		n, err := f()
		if err != nil {
			return 0
		}
		return n
	}}
}

func (s *rssSampler) start() {
	s.peak.Store(s.read())
	s.stopc, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
				if n := s.read(); n > s.peak.Load() {
					s.peak.Store(n)
				}
			}
		}
	}()
}

func (s *rssSampler) stop() int64 {
	close(s.stopc)
	<-s.done
	if n := s.read(); n > s.peak.Load() {
		s.peak.Store(n)
	}
	return s.peak.Load()
}

func mbPerSecond(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func currentMachine() Machine {
	return Machine{
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
	}
}
