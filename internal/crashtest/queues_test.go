package crashtest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The queue invariant on the real binary: concurrent SendMessage (with
// attributes) and ReceiveMessage + DeleteMessage through aws-sdk-go-v2,
// SIGKILL at random moments, restart on the same data directory: every
// acknowledged send that was not deleted is received with its exact body
// and attributes, and no acknowledged delete comes back.
//
// Long run: SLUICE_CRASH_ITERATIONS=500 go test -run TestProcessCrashQueues -timeout 2h ./internal/crashtest/
func TestProcessCrashQueues(t *testing.T) {
	// Half the default: a check may wait for leases that survived the
	// kill to end (the receivers' 4 s visibility timeout).
	iterations := IterationsFromEnv(DefaultIterations / 2)
	seed := SeedFromEnv()
	t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
	err := Run(context.Background(), Config{
		Target:     &Process{Binary: sluiceBin, DataDir: t.TempDir()},
		Invariants: []Invariant{&Queues{Queue: "crash-queue"}},
		Iterations: iterations,
		Seed:       seed,
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The queue invariant in process on the crashable filesystem: the crash
// image keeps only synced data (and, in the second run, a random half of
// the unsynced data too). Leases are not synced by themselves, so after a
// crash messages come back early; sends and deletes that were
// acknowledged are synced, so they must all survive.
func TestMemCrashQueues(t *testing.T) {
	iterations := IterationsFromEnv(DefaultIterations)
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			seed := SeedFromEnv()
			t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
			err := Run(context.Background(), Config{
				// No object failpoints are hit by this workload: the image
				// is cut after a random share of MaxWait.
				Target:     &Mem{Logf: t.Logf, UnsyncedPercent: unsynced, MaxWait: 300 * time.Millisecond},
				Invariants: []Invariant{&Queues{Queue: "crash-queue"}},
				Iterations: iterations,
				Seed:       seed,
				Logf:       t.Logf,
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestQueuesCatchDroppedWALSync proves the queue check can fail: with the
// WAL's syncs dropped, acknowledged sends are not on "disk" when the image
// is cut, and the check must report them lost.
func TestQueuesCatchDroppedWALSync(t *testing.T) {
	var dropping atomic.Bool
	err := Run(context.Background(), Config{
		Target:     &Mem{WrapFS: DropSyncs(func(p string) bool { return dropping.Load() && IsWAL(p) }), MaxWait: 200 * time.Millisecond},
		Invariants: []Invariant{dropAfterSetup{Invariant: &Queues{Queue: "crash-queue"}, dropping: &dropping}},
		Iterations: 3,
		Seed:       1,
		Logf:       t.Logf,
	})
	// Two outcomes show the loss. The queue check reports acknowledged sends
	// missing; or, when the WAL rotated while syncs were dropped, the older
	// WAL lacks its synced end-of-file trailer and is followed by the zeros
	// written ahead of it (pebblestore/walzero.go), and Pebble refuses to
	// replay it rather than open without those sends.
	if err == nil || !strings.Contains(err.Error(), "was lost: SendMessage acknowledged") &&
		!strings.Contains(err.Error(), "error when replaying WAL") {
		t.Fatalf("Run with WAL syncs dropped = %v, want acknowledged sends reported lost", err)
	}
}

// dropAfterSetup starts dropping syncs once the queue exists, so that it
// is the acknowledged sends that are lost, not the queue.
type dropAfterSetup struct {
	Invariant
	dropping *atomic.Bool
}

func (d dropAfterSetup) Workload(ctx context.Context, env *Env) error {
	d.dropping.Store(true)
	return d.Invariant.Workload(ctx, env)
}
