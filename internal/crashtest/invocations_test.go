package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/clock"
	"sluice/internal/function"
	"sluice/internal/function/functest"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/storage"
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
		invokeFn.zip, invokeFn.err = functest.BuildZip("./testdata/invokefn")
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
	iterations := IterationsFromEnv(2)
	seed := SeedFromEnv()
	t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
	dir := t.TempDir()
	inv := &Invocations{Function: "crash-fn", OKBucket: "crash-fn-ok", FailQueue: "crash-fn-failed", Zip: zip, Settle: 3 * time.Second}
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

// An event whose every attempt crashes the server (the function SIGKILLs
// its parent) still reaches its failure destination: the attempt is
// counted durably before it runs (function/async.go), so after the
// restart the event is out of attempts (MaximumRetryAttempts 0) instead
// of crashing the server forever. The attempt's lease outlives the crash
// (the function's timeout + init timeout + a minute), so this takes over
// a minute of real time: it runs only with SLUICE_CRASH_LONG=1.
func TestProcessCrashLoopInvocation(t *testing.T) {
	if os.Getenv("SLUICE_CRASH_LONG") == "" {
		t.Skip("takes over a minute (the crashed attempt's lease must end): set SLUICE_CRASH_LONG=1")
	}
	zip := invokeFnZip(t)
	ctx := context.Background()
	proc := &Process{Binary: sluiceBin, DataDir: t.TempDir()}
	defer proc.Stop()
	env := &Env{Seed: 1, Ticks: &Ticker{}, Logf: t.Logf}
	if err := proc.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	inv := &Invocations{Function: "crash-loop", OKBucket: "crash-loop-ok", FailQueue: "crash-loop-failed", Zip: zip}
	if err := inv.Setup(ctx, env); err != nil {
		t.Fatal(err)
	}
	id, acked, err := inv.Invoke(ctx, env, "crash")
	if err != nil || !acked {
		t.Fatalf("Invoke Event = %v, acknowledged %v", err, acked)
	}
	restarts := 0
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		if proc.Exited() {
			restarts++
			t.Logf("the server died (attempt of %s), restart %d", id, restarts)
			if restarts > 2 {
				t.Fatalf("the crash-looping event crashed the server %d times: its attempt count is not durable", restarts)
			}
			proc.Stop()
			if err := proc.Start(ctx, env); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := inv.collect(ctx, env); err != nil && !proc.Exited() {
			t.Fatal(err)
		}
		if inv.finished() == 1 {
			if restarts == 0 {
				t.Fatal("the event reached its failure destination without crashing the server: the test proved nothing")
			}
			t.Logf("%s reached the OnFailure queue after %d crash(es)", id, restarts)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not reach its failure destination within the deadline (%d restarts)", id, restarts)
}

// Pending can fail: an acknowledged invocation with no object, no failure
// record and no message in the function's queue is reported lost; once
// its message is in the queue it counts as pending; once its failure
// record is in the failure queue it counts as finished.
func TestInvocationsPendingCatchesLoss(t *testing.T) {
	ctx := context.Background()
	mem := &Mem{}
	env := &Env{Seed: 1, Ticks: &Ticker{}, Logf: t.Logf}
	if err := mem.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	defer mem.Stop()
	inv := &Invocations{Function: "f", OKBucket: "ok", FailQueue: "failed",
		ops: map[string]*invocation{
			"inv-lost": {id: "inv-lost", mode: "ok", acked: 1},
			"inv-late": {id: "inv-late", mode: "ok", acked: 9}, // acknowledged after the crash: may be lost
		},
		lastCrash: 5,
	}
	if err := env.Queues.Create(ctx, "failed", nil, nil); err != nil {
		t.Fatal(err)
	}
	pending := func() (int, error) { return inv.Pending(ctx, env.Store, env.Objects, env.Queues) }
	if n, err := pending(); err == nil || !strings.Contains(err.Error(), "1 acknowledged invocations neither finished nor are queued (lost), e.g. inv-lost") {
		t.Fatalf("Pending with nothing stored = %d, %v; want inv-lost reported lost", n, err)
	}
	if err := env.Store.Update(ctx, func(tx storage.Tx) error {
		_, err := tx.Enqueue(function.AsyncQueue("f"), storage.Message{Body: []byte(`{"id":"r1","p":{"id":"inv-lost","mode":"ok"}}`)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := pending(); err != nil || n != 1 {
		t.Fatalf("Pending with the invocation queued = %d, %v; want 1 pending", n, err)
	}
	inv.ops["inv-failed"] = &invocation{id: "inv-failed", mode: "fail", acked: 2}
	if _, err := env.Queues.Send(ctx, "failed", queue.SendInput{Body: `{"requestContext":{"condition":"RetriesExhausted"},"requestPayload":{"id":"inv-failed","mode":"fail"}}`}); err != nil {
		t.Fatal(err)
	}
	if n, err := pending(); err != nil || n != 1 {
		t.Fatalf("Pending with a failure record for inv-failed = %d, %v; want 1 pending (inv-lost), inv-failed finished", n, err)
	}
}

// An "ok" invocation's failure record is a violation unless the
// invocation was unfinished at a crash (its only attempt may have been
// cut, and attempts are counted before they run); a "fail" invocation's
// object is a violation whatever happened.
func TestInvocationsFailureOfOKNeedsACrash(t *testing.T) {
	v := &Invocations{ops: map[string]*invocation{
		"before": {id: "before", mode: "ok", acked: 1},
		"after":  {id: "after", mode: "ok", acked: 5},
		"bad":    {id: "bad", mode: "fail", acked: 1},
	}}
	if err := v.saw("before", "fail"); err == nil {
		t.Fatal("an ok invocation reached the failure destination with no crash during it, and the check accepted it")
	}
	v.markCut() // the server came back from a crash
	if err := v.saw("before", "fail"); err != nil {
		t.Fatalf("an ok invocation unfinished at a crash reached the failure destination: %v", err)
	}
	if err := v.saw("bad", "ok"); err == nil {
		t.Fatal("a fail invocation succeeded and the check accepted it")
	}
	// One sent after the crash is not covered by it.
	v.ops["later"] = &invocation{id: "later", mode: "ok", acked: 9}
	if err := v.saw("later", "fail"); err == nil {
		t.Fatal("an ok invocation sent after the last crash reached the failure destination, and the check accepted it")
	}
}
