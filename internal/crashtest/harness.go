package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"sluice/internal/clock"
	"sluice/internal/dispatch"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/storage"
)

// Invariant is one property the harness drives and checks across crashes.
// The S3 object invariant (Objects) and the blob sweeper invariant (Sweep)
// are the first; later issues add queue, event and invocation invariants by
// implementing this interface and appending them to Config.Invariants (see
// the package comment).
type Invariant interface {
	// Name identifies the invariant in failure messages.
	Name() string
	// Setup runs once, on the first start, before any workload (create a
	// bucket, a queue, a function).
	Setup(ctx context.Context, env *Env) error
	// Workload issues operations until ctx ends (the crash), recording each
	// one before it is sent and after it is acknowledged (use env.Ticks).
	// It returns nil when ctx ended; any other error fails the run.
	Workload(ctx context.Context, env *Env) error
	// Check runs after every restart, before the next workload, and once
	// more after the last crash. It compares what the restarted system
	// shows with what the recorded operations allow (an operation is
	// acknowledged only if it ended before env.CrashTick) and then adopts
	// what it saw as the new known state. A violation is an error that
	// says what was expected and what was found.
	Check(ctx context.Context, env *Env) error
}

// Env is what invariants see of the system under test during one run of
// the system (from a start to its crash). A target fills the fields it has:
// a process target the endpoint and AWS configuration, the in-process
// target the storage and services themselves.
type Env struct {
	Iteration int   // 0 before the first crash
	Seed      int64 // the run's seed, for reproducing a failure
	// Ticks orders operations against each other and against the crash.
	Ticks *Ticker
	// CrashTick is the tick of the crash that preceded this start (0 on the
	// first start): operations acknowledged at a tick below it must have
	// survived, later ones may or may not have.
	CrashTick uint64
	// Logf logs progress (testing.T.Logf in tests).
	Logf func(format string, args ...any)

	// Process targets.
	Endpoint string     // http://127.0.0.1:PORT
	AWS      aws.Config // credentials, region, no retries

	// In-process targets.
	Store   storage.Store
	Blobs   storage.Blobs
	Clock   *clock.Fake
	Objects *object.Service
	// Queues and Notifications are the queue service and the notification
	// publisher on Store (the in-process target wires them as the server
	// does, so object changes publish their event records).
	Queues        *queue.Service
	Notifications *dispatch.Service
	// BlobGrace is the grace period of the blob sweeper (0: no sweeper
	// check).
	BlobGrace time.Duration
}

// Rand returns a random source for one stream (a worker) of this
// iteration, derived from the seed, so a failing run can be replayed as
// far as goroutine scheduling allows.
func (e *Env) Rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(e.Seed), uint64(e.Iteration)<<32|stream))
}

// Ticker is a logical clock: each call to Next returns a larger number.
// "Op A ended before op B started" is decided on ticks, which is exactly
// the real-time order a linearizable store must respect.
type Ticker struct {
	// mu is held shared by Next and exclusively by Freeze, so that no
	// tick is handed out while a crash image is cut.
	mu sync.RWMutex
	n  atomic.Uint64
}

// Next returns the next tick.
func (t *Ticker) Next() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n.Add(1)
}

// Freeze runs cut (taking a crash image) while no tick is handed out, and
// returns the tick of the cut. An operation whose acknowledgement tick is
// below it was acknowledged before cut began; one that asks for its start
// or end tick meanwhile gets a tick above it (it may or may not be in the
// image, as for any operation in flight). A tick taken only before or
// only after the cut would misjudge operations that end while it runs.
func (t *Ticker) Freeze(cut func()) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut()
	return t.n.Add(1)
}

// Target is the system under test: something that starts on its persisted
// state and can be crashed.
type Target interface {
	// Start starts (or restarts after a crash) the system and fills env.
	Start(ctx context.Context, env *Env) error
	// Crash waits a random moment (rng) while the workloads run and
	// crashes the system. It returns the crash's tick: operations that
	// ended before it were acknowledged before the crash. A target that
	// cannot ack after its crash (a killed process) returns 0, and the
	// harness takes the tick once the workloads stopped.
	Crash(ctx context.Context, env *Env, rng *rand.Rand) (uint64, error)
	// Stop releases what the crashed system still holds (a process, open
	// files) once the workloads stopped. It is also called at the end.
	Stop() error
}

// Config is one harness run.
type Config struct {
	Target     Target
	Invariants []Invariant
	// Iterations is the number of crashes (default DefaultIterations).
	Iterations int
	Seed       int64
	Logf       func(format string, args ...any)
}

// DefaultIterations keeps `go test ./internal/crashtest/` within about a
// minute on two shared cores; SLUICE_CRASH_ITERATIONS raises it for long
// runs.
const DefaultIterations = 20

// IterationsFromEnv returns SLUICE_CRASH_ITERATIONS, or def when it is
// unset or not a positive number.
func IterationsFromEnv(def int) int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_CRASH_ITERATIONS")); err == nil && n > 0 {
		return n
	}
	return def
}

// SeedFromEnv returns SLUICE_CRASH_SEED, or a seed from the wall clock when
// it is unset. Failures print the seed; set the variable to replay one.
func SeedFromEnv() int64 {
	if n, err := strconv.ParseInt(os.Getenv("SLUICE_CRASH_SEED"), 10, 64); err == nil {
		return n
	}
	return time.Now().UnixNano()
}

// Run starts the target, runs cfg.Iterations rounds of workload and crash,
// checking every invariant after each restart, and checks once more after
// the last crash. The first violation ends the run with an error naming the
// invariant, the iteration and the seed.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.Iterations <= 0 {
		cfg.Iterations = DefaultIterations
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ticks := &Ticker{}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0))
	var crashTick uint64
	defer func() {
		if serr := cfg.Target.Stop(); err == nil && serr != nil {
			err = fmt.Errorf("crashtest: stop: %w (seed %d)", serr, cfg.Seed)
		}
	}()
	for it := 0; it <= cfg.Iterations; it++ {
		env := &Env{Iteration: it, Seed: cfg.Seed, Ticks: ticks, CrashTick: crashTick, Logf: cfg.Logf}
		fail := func(what string, err error) error {
			return fmt.Errorf("crashtest: iteration %d, %s: %w (seed %d: rerun with SLUICE_CRASH_SEED=%d)", it, what, err, cfg.Seed, cfg.Seed)
		}
		if err := cfg.Target.Start(ctx, env); err != nil {
			return fail("start", err)
		}
		for _, inv := range cfg.Invariants {
			if it == 0 {
				if err := inv.Setup(ctx, env); err != nil {
					return fail(inv.Name()+" setup", err)
				}
			}
			if err := inv.Check(ctx, env); err != nil {
				return fail(inv.Name()+" check", err)
			}
		}
		if it == cfg.Iterations {
			return nil
		}
		crashTick, err = crashOnce(ctx, cfg, env, rng)
		if err != nil {
			return fail("workload", err)
		}
	}
	return nil
}

// crashOnce runs every workload until the target crashes, then stops them.
func crashOnce(ctx context.Context, cfg Config, env *Env, rng *rand.Rand) (uint64, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, inv := range cfg.Invariants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := inv.Workload(wctx, env); err != nil && wctx.Err() == nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", inv.Name(), err))
				mu.Unlock()
			}
		}()
	}
	tick, cerr := cfg.Target.Crash(ctx, env, rng)
	cancel()
	wg.Wait()
	if tick == 0 {
		tick = env.Ticks.Next()
	}
	if serr := cfg.Target.Stop(); cerr == nil {
		cerr = serr
	}
	if cerr != nil {
		return 0, fmt.Errorf("crash: %w", cerr)
	}
	return tick, errors.Join(errs...)
}
