package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sluice/internal/clock"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

var invokeFn struct {
	once sync.Once
	zip  []byte
	err  error
}

// invokeFnZip builds testdata/invokefn once per test binary.
func invokeFnZip(t *testing.T) []byte {
	t.Helper()
	invokeFn.once.Do(func() {
		dir, err := makeTempDir()
		if err != nil {
			invokeFn.err = err
			return
		}
		invokeFn.zip, invokeFn.err = BuildFunction(dir, "./testdata/invokefn")
	})
	if invokeFn.err != nil {
		t.Fatal(invokeFn.err)
	}
	return invokeFn.zip
}

// Issue 8 on the real binary: Event invocations of an aws-lambda-go
// function, some succeeding (an object per invocation), some failing with
// MaximumRetryAttempts 0 (a record in the OnFailure queue), SIGKILL at
// random moments, restart on the same data directory. After each restart
// every effect belongs to an invocation sent in the mode that produces it,
// and after the last kill every invocation acknowledged with 202 either
// finished (object or failure record) or is still in the function's
// durable invocation queue: none is lost.
//
// Long run: SLUICE_CRASH_ITERATIONS=200 go test -run TestProcessCrashInvocations -timeout 2h ./internal/crashtest/
func TestProcessCrashInvocations(t *testing.T) {
	zip := invokeFnZip(t)
	iterations := IterationsFromEnv(3)
	seed := SeedFromEnv()
	t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
	dir := t.TempDir()
	inv := &Invocations{Function: "crash-fn", OKBucket: "crash-fn-ok", FailQueue: "crash-fn-failed", Zip: zip, Settle: 4 * time.Second}
	err := Run(context.Background(), Config{
		Target:     &Process{Binary: sluiceBin, DataDir: dir, MinRun: 300 * time.Millisecond, MaxRun: 1200 * time.Millisecond},
		Invariants: []Invariant{inv},
		Iterations: iterations,
		Seed:       seed,
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.finished(); got == 0 {
		t.Fatalf("no invocation finished in %d iterations: the workload proved nothing", iterations)
	}
	n, err := pendingOffline(t, dir, inv)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	t.Logf("%d acknowledged invocations were still queued after the last kill", n)
}

// pendingOffline opens the stopped server's data directory in this process
// with a clock two days ahead (every lease has ended) and runs Pending.
func pendingOffline(t *testing.T, dir string, inv *Invocations) (int, error) {
	t.Helper()
	store, err := pebblestore.Open(pebblestore.Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fake := clock.NewFake(time.Now().Add(48 * time.Hour))
	blobs, err := blobstore.Open(blobstore.Options{Dir: filepath.Join(dir, "blobs"), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	queues := queue.New(queue.Config{Store: store, Clock: fake})
	defer queues.Close()
	return inv.Pending(context.Background(), store, object.New(object.Config{Store: store, Blobs: blobs, Clock: fake}), queues)
}

// makeTempDir is a directory for build output that outlives one test (the
// zip is built once per binary); TestMain's directory is not reachable
// here, and the OS removes temporary directories.
func makeTempDir() (string, error) { return os.MkdirTemp("", "crashtest-fn-") }
