package crashtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"sluice/internal/clock"
	"sluice/internal/object"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// The real binary under concurrent PUTs, overwrites and DELETEs, killed
// with SIGKILL at random moments and restarted on the same data directory:
// every acknowledged write and delete survives, nothing torn is visible, and
// the listing agrees. After the last kill the data directory is opened in
// this process to check the blob sweeper on it.
//
// Long run: SLUICE_CRASH_ITERATIONS=500 go test -run TestProcessCrash -timeout 2h ./internal/crashtest/
func TestProcessCrash(t *testing.T) {
	iterations := IterationsFromEnv(DefaultIterations)
	seed := SeedFromEnv()
	t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
	dir := t.TempDir()
	objs := &Objects{Bucket: "crash"}
	proc := &Process{Binary: sluiceBin, DataDir: dir}
	ctx := context.Background()
	err := Run(ctx, Config{
		Target:     proc,
		Invariants: []Invariant{objs, &Events{Bucket: "crash-events", Queue: "crash-events"}, &Multipart{Bucket: "crash-mpu"}},
		Iterations: iterations,
		Seed:       seed,
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Offline: the same data directory in this process, with a fake clock,
	// for the sweeper invariant (the server's own sweeper waits an hour).
	store, err := pebblestore.Open(pebblestore.Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fake := clock.NewFake(time.Now())
	blobs, err := blobstore.Open(blobstore.Options{Dir: filepath.Join(dir, "blobs"), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Iteration: iterations + 1, Seed: seed, Ticks: &Ticker{}, Logf: t.Logf,
		Store: store, Blobs: blobs, Clock: fake, BlobGrace: time.Hour,
		Objects: object.New(object.Config{Store: store, Blobs: blobs, Clock: fake})}
	env.CrashTick = env.Ticks.Next()
	for _, inv := range []Invariant{objs, Sweep{}, objs} {
		if err := inv.Check(ctx, env); err != nil {
			t.Fatalf("offline %s check (seed %d): %v", inv.Name(), seed, err)
		}
	}
}
