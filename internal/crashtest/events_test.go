package crashtest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 6 under dropped unsynced writes: PUTs into a bucket that notifies
// a queue, on the crashable in-memory filesystem, crashed at random
// failpoint hits of those PUTs (and, in the second run, with a random half
// of the unsynced data surviving): every acknowledged PUT's record is in
// the queue after the restart, and no record names a key never sent.
func TestMemCrashEvents(t *testing.T) {
	iterations := IterationsFromEnv(DefaultIterations)
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			seed := SeedFromEnv()
			t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
			err := Run(context.Background(), Config{
				Target: &Mem{Logf: t.Logf, UnsyncedPercent: unsynced, MaxWait: 500 * time.Millisecond},
				Invariants: []Invariant{
					&Events{Bucket: "crash-events", Queue: "crash-events"},
					&Objects{Bucket: "crash", MaxSize: 16 << 10},
				},
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

// setupFirst runs an invariant's Setup and then sets started, so a test
// can break the filesystem for the workload only.
type setupFirst struct {
	Invariant
	started *atomic.Bool
}

func (s setupFirst) Setup(ctx context.Context, env *Env) error {
	err := s.Invariant.Setup(ctx, env)
	s.started.Store(true)
	return err
}

// TestEventsCatchDroppedWALSync proves the event check can fail: once the
// bucket, queue and configuration are durable, the WAL's syncs are
// dropped, so acknowledged PUTs and their records are not on "disk" when
// the image is cut, and the check must report records missing.
func TestEventsCatchDroppedWALSync(t *testing.T) {
	var dropping atomic.Bool
	err := Run(context.Background(), Config{
		Target:     &Mem{WrapFS: DropSyncs(func(p string) bool { return dropping.Load() && IsWAL(p) }), MaxHits: 40},
		Invariants: []Invariant{setupFirst{&Events{Bucket: "crash-events", Queue: "crash-events"}, &dropping}},
		Iterations: 3,
		Seed:       1,
		Logf:       t.Logf,
	})
	if err == nil || !strings.Contains(err.Error(), "acknowledged PUTs have no event record") {
		t.Fatalf("Run with WAL syncs dropped = %v, want acknowledged PUTs reported without records", err)
	}
}
