package object

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// testStart is the fake clock's start; it has sub-millisecond digits so
// that truncation to S3's precision is visible.
var testStart = time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.UTC)

type env struct {
	svc   *Service
	store storage.Store
	blobs storage.Blobs
	clock *clock.Fake
}

// newEnv builds a Service on Pebble and the blob store, both on one
// in-memory filesystem.
func newEnv(t testing.TB, inlineLimit int) *env {
	t.Helper()
	fs := vfs.NewMem()
	clk := clock.NewFake(testStart)
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blobstore.Open(blobstore.Options{Dir: "blobs", FS: fs, Clock: clk})
	if err != nil {
		t.Fatalf("open blobs: %v", err)
	}
	return &env{
		svc:   New(Config{Store: st, Blobs: blobs, Clock: clk, InlineLimit: inlineLimit}),
		store: st,
		blobs: blobs,
		clock: clk,
	}
}

func (e *env) mustCreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := e.svc.CreateBucket(context.Background(), name, "owner"); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func (e *env) mustPut(t testing.TB, bucket, key string, body []byte) Object {
	t.Helper()
	o, err := e.svc.PutObject(context.Background(), PutInput{Bucket: bucket, Key: key, Body: strings.NewReader(string(body)), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("PutObject(%q, %q, %d bytes): %v", bucket, key, len(body), err)
	}
	return o
}

// blobIDs lists every blob the blob store holds.
func (e *env) blobIDs(t testing.TB) []storage.BlobID {
	t.Helper()
	var ids []storage.BlobID
	if err := e.blobs.Walk(func(id storage.BlobID, _ time.Time) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatalf("walk blobs: %v", err)
	}
	return ids
}

func (e *env) referenced(t testing.TB, id storage.BlobID) bool {
	t.Helper()
	var ref bool
	if err := e.store.View(context.Background(), func(tx storage.ReadTx) error {
		var err error
		ref, err = tx.BlobReferenced(id)
		return err
	}); err != nil {
		t.Fatalf("BlobReferenced(%s): %v", id, err)
	}
	return ref
}

// referencedBlobs lists the blobs that are stored and referenced.
func (e *env) referencedBlobs(t testing.TB) []storage.BlobID {
	var out []storage.BlobID
	for _, id := range e.blobIDs(t) {
		if e.referenced(t, id) {
			out = append(out, id)
		}
	}
	return out
}
