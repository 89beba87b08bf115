package blobstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/storagetest"
)

func TestConformanceMem(t *testing.T) {
	storagetest.TestBlobs(t, func(t *testing.T) storage.Blobs {
		s, err := blobstore.Open(blobstore.Options{Dir: "blobs", FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceDisk(t *testing.T) {
	storagetest.TestBlobs(t, func(t *testing.T) storage.Blobs {
		s, err := blobstore.Open(blobstore.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The write time Walk reports comes from the injected clock, taken when the
// write completed.
func TestWalkUsesInjectedClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	clk := clock.NewFake(start)
	s, err := blobstore.Open(blobstore.Options{Dir: "b", FS: vfs.NewMem(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := s.Write(context.Background(), bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	var got time.Time
	if err := s.Walk(func(wid storage.BlobID, written time.Time) error {
		if wid == id {
			got = written
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(start) {
		t.Errorf("written = %v, want %v", got, start)
	}
}

// A crash drops everything unsynced; a blob whose Write returned survives,
// and the leftovers of an interrupted write are cleaned up by Open.
func TestCrashKeepsWrittenBlobs(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s, err := blobstore.Open(blobstore.Options{Dir: "blobs", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("durable"), 1000)
	id, _, err := s.Write(context.Background(), bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	// An interrupted write: a temp file that was never renamed.
	f, err := fs.Create("blobs/"+string(id[:2])+"/deadbeef.tmp", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	f.Sync()
	f.Close()
	d, err := fs.OpenDir("blobs/" + string(id[:2]))
	if err != nil {
		t.Fatal(err)
	}
	d.Sync() // make the temp file's entry survive the crash
	d.Close()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	s2, err := blobstore.Open(blobstore.Options{Dir: "blobs", FS: crashed})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s2.Open(id)
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	defer b.Close()
	got := make([]byte, b.Size())
	if _, err := b.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("blob after crash: %d bytes, %v; want the %d written", len(got), err, len(want))
	}
	names, err := crashed.List("blobs/" + string(id[:2]))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n != string(id) {
			t.Errorf("leftover %s after reopen, want only %s", n, id)
		}
	}
}
