package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

type sweepEnv struct {
	clock *clock.Fake
	store *pebblestore.Store
	blobs *blobstore.Store
	sw    *storage.Sweeper
}

func newSweepEnv(t *testing.T) *sweepEnv {
	t.Helper()
	fs := vfs.NewMem()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blobstore.Open(blobstore.Options{Dir: "blobs", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &sweepEnv{clk, st, bl, &storage.Sweeper{Store: st, Blobs: bl, Clock: clk, Grace: time.Hour}}
}

func (e *sweepEnv) write(t *testing.T) storage.BlobID {
	t.Helper()
	id, _, err := e.blobs.Write(context.Background(), bytes.NewReader([]byte("body")))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *sweepEnv) exists(id storage.BlobID) bool {
	b, err := e.blobs.Open(id)
	if err != nil {
		return false
	}
	b.Close()
	return true
}

func TestSweep(t *testing.T) {
	e := newSweepEnv(t)
	ctx := context.Background()
	referenced := e.write(t)
	orphan := e.write(t)
	unrefd := e.write(t) // referenced, then released
	if err := e.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.RefBlob(referenced, []byte("obj/a")); err != nil {
			return err
		}
		return tx.RefBlob(unrefd, []byte("obj/b"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Update(ctx, func(tx storage.Tx) error { return tx.UnrefBlob(unrefd, []byte("obj/b")) }); err != nil {
		t.Fatal(err)
	}

	// Younger than Grace: nothing is removed, not even the orphan.
	e.clock.Advance(59 * time.Minute)
	if n, err := e.sw.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep within grace = %d, %v; want 0", n, err)
	}
	if !e.exists(orphan) || !e.exists(unrefd) {
		t.Fatal("a blob younger than Grace was removed")
	}
	fresh := e.write(t) // written later: still in its grace period below

	e.clock.Advance(2 * time.Minute)
	n, err := e.sw.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sweep after grace = %d, %v; want 2 (orphan and released)", n, err)
	}
	if !e.exists(referenced) {
		t.Error("referenced blob was removed")
	}
	if e.exists(orphan) || e.exists(unrefd) {
		t.Error("unreferenced blob older than Grace survived")
	}
	if !e.exists(fresh) {
		t.Error("blob younger than Grace was removed")
	}
	// A second pass finds nothing more.
	if n, err := e.sw.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0", n, err)
	}
}

func TestSweepCanceled(t *testing.T) {
	e := newSweepEnv(t)
	e.write(t)
	e.clock.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.sw.Sweep(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sweep with canceled ctx = %v, want context.Canceled", err)
	}
}

func TestRun(t *testing.T) {
	e := newSweepEnv(t)
	orphan := e.write(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.sw.Run(ctx, time.Minute); close(done) }()
	// Advance the fake clock until the sweeper has removed the orphan;
	// bounded so a broken Run fails instead of hanging.
	for i := 0; i < 10000 && e.exists(orphan); i++ {
		e.clock.Advance(time.Minute)
		time.Sleep(time.Millisecond)
	}
	if e.exists(orphan) {
		t.Error("Run did not remove an orphan older than Grace")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
}
