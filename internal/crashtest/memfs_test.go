package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"sluice/internal/object"
	"sluice/internal/storage/blobstore"
)

// Concurrent PUTs, overwrites and DELETEs on the in-process store, crashed
// at random failpoint hits on a filesystem that keeps only synced data (and,
// in the second run, a random half of the unsynced blocks and directory
// entries too, as a real disk might); the sweeper invariant runs after every
// restart.
func TestMemCrash(t *testing.T) {
	iterations := IterationsFromEnv(DefaultIterations)
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			seed := SeedFromEnv()
			t.Logf("seed %d, %d iterations (SLUICE_CRASH_SEED, SLUICE_CRASH_ITERATIONS)", seed, iterations)
			err := Run(context.Background(), Config{
				Target:     &Mem{Logf: t.Logf, UnsyncedPercent: unsynced},
				Invariants: []Invariant{&Objects{Bucket: "crash", MaxSize: 64 << 10}, Sweep{}},
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

// window is one PUT crashed at one failpoint.
type window struct {
	at      string // a failpoint, or "returned": PutObject returned
	oldSize int    // 0: the key is absent before the PUT
	newSize int
	// dropSyncs, when set, is passed to DropSyncs for the new PUT only
	// (the bucket and the old object are written with real syncs).
	dropSyncs func(path string) bool
}

const (
	small = 1 << 10  // inline
	large = 40 << 10 // a blob
)

func (w window) String() string {
	return fmt.Sprintf("%s/old=%d/new=%d", w.at, w.oldSize, w.newSize)
}

// committed reports whether the PUT's commit precedes the crash point.
func (w window) committed() bool {
	return w.at == object.FailpointPutCommitted || w.at == "returned"
}

// runWindow writes the old object, crashes the PUT of the new one at w.at,
// reopens the crash image and checks: before the commit the old object
// (or its absence) is intact, after it the new object is whole; every blob
// is referenced or swept only after the grace period. It returns the first
// violation.
func runWindow(t *testing.T, w window) error {
	t.Helper()
	ctx := context.Background()
	var dropping atomic.Bool
	mem := &Mem{InlineLimit: 8 << 10}
	if w.dropSyncs != nil {
		mem.WrapFS = DropSyncs(func(p string) bool { return dropping.Load() && w.dropSyncs(p) })
	}
	env := &Env{Seed: 1, Ticks: &Ticker{}, Logf: t.Logf}
	if err := mem.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	defer mem.Stop()
	if err := env.Objects.CreateBucket(ctx, "bkt", "owner"); err != nil {
		t.Fatal(err)
	}
	const key = "dir/key"
	c := serviceClient{svc: env.Objects, bucket: "bkt"}
	var oldBody []byte
	if w.oldSize > 0 {
		oldBody = MakeBody(1, key, w.oldSize)
		if err := c.Put(ctx, key, oldBody); err != nil {
			t.Fatal(err)
		}
	}
	newBody := MakeBody(2, key, w.newSize)
	dropping.Store(true)
	if w.at != "returned" {
		mem.Arm(w.at)
	}
	if err := c.Put(ctx, key, newBody); err != nil {
		t.Fatal(err)
	}
	if at, _ := mem.CrashNow(); w.at != "returned" && at != w.at {
		t.Fatalf("failpoint %s was never reached (crash taken at %s)", w.at, at)
	}
	if err := mem.Stop(); err != nil {
		t.Fatal(err)
	}
	dropping.Store(false)

	env = &Env{Iteration: 1, Seed: 1, Ticks: &Ticker{}, Logf: t.Logf}
	if err := mem.Start(ctx, env); err != nil {
		return fmt.Errorf("reopen after crash: %w", err)
	}
	c = serviceClient{svc: env.Objects, bucket: "bkt"}
	want := oldBody
	if w.committed() {
		want = newBody
	}
	check := func(when string) error {
		got, found, err := c.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("%s: get: %w", when, err)
		}
		if found != (want != nil) || !bytes.Equal(got, want) {
			info, perr := ParseBody(got)
			return fmt.Errorf("%s: got found=%v %d bytes (op %d, damage: %v), want %d bytes of op %s", when, found, len(got), info.Op, perr, len(want), map[bool]string{true: "2", false: "1"}[w.committed()])
		}
		listed, err := c.List(ctx)
		if err != nil {
			return err
		}
		if size, ok := listed[key]; ok != found || size != int64(len(got)) {
			return fmt.Errorf("%s: listing says present=%v size=%d, read says present=%v size=%d", when, ok, size, found, len(got))
		}
		return nil
	}
	if err := check("after restart"); err != nil {
		return err
	}
	blobs, err := walkBlobs(ctx, env)
	if err != nil {
		return err
	}
	unref := len(blobs) - countReferenced(blobs)
	wantUnref := 0
	if w.newSize > mem.InlineLimit && slices.Contains([]string{blobstore.FailpointDurable, object.FailpointPutBeforeCommit}, w.at) {
		wantUnref++ // the new blob, durable but never referenced
	}
	if w.oldSize > mem.InlineLimit && w.committed() {
		wantUnref++ // the old blob, released by the commit
	}
	if unref != wantUnref {
		return fmt.Errorf("%d unreferenced blobs after restart, want %d", unref, wantUnref)
	}
	if err := (Sweep{}).Check(ctx, env); err != nil {
		return err
	}
	return check("after the sweeps")
}

// Every narrow window of a PUT, for every combination of inline and blob
// bodies before and after: the old object or the new one, never a torn one.
func TestFailpointWindows(t *testing.T) {
	var windows []window
	for _, at := range append(slices.Clone(Failpoints), "returned") {
		for _, oldSize := range []int{0, small, large} {
			for _, newSize := range []int{small, large} {
				if newSize <= 8<<10 && strings.HasPrefix(at, "blobstore.") {
					continue // an inline PUT writes no blob
				}
				windows = append(windows, window{at: at, oldSize: oldSize, newSize: newSize})
			}
		}
	}
	for _, w := range windows {
		t.Run(w.String(), func(t *testing.T) {
			if err := runWindow(t, w); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The harness catches a missing fsync: with the blob file's sync or the
// WAL's sync dropped, an acknowledged PUT is not whole after the crash.
func TestMissingSyncIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop func(string) bool
		size int
	}{
		{"blob sync dropped", IsBlob, large},
		{"WAL sync dropped, inline object", IsWAL, small},
		{"WAL sync dropped, blob object", IsWAL, large},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := window{at: "returned", oldSize: small, newSize: tc.size, dropSyncs: tc.drop}
			err := runWindow(t, w)
			if err == nil {
				t.Fatalf("%s: the harness did not notice the lost write", w)
			}
			t.Logf("caught, as it must be: %v", err)
		})
	}
}
