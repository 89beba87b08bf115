package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"sluice/internal/storage"
)

// racingBlobs runs hook before each Open, to replay an overwrite and a
// sweep landing between GetObject's record read and its blob open.
type racingBlobs struct {
	storage.Blobs
	hook func(id storage.BlobID)
}

func (r *racingBlobs) Open(id storage.BlobID) (storage.Blob, error) {
	if r.hook != nil {
		r.hook(id)
	}
	return r.Blobs.Open(id)
}

func TestGetRereadsRecordWhenBlobVanished(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	oldBody, newBody := randomBytes(1, 4000), randomBytes(2, 5000)
	e.mustPut(t, "bkt", "k", oldBody)

	rb := &racingBlobs{Blobs: e.blobs}
	svc := New(Config{Store: e.store, Blobs: rb, Clock: e.clock, InlineLimit: testInline})
	opens := 0
	rb.hook = func(id storage.BlobID) {
		opens++
		if opens == 1 { // overwrite, then sweep the old blob
			e.mustPut(t, "bkt", "k", newBody)
			if err := e.blobs.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
	}
	r, err := svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "k", Length: -1})
	if err != nil {
		t.Fatalf("GetObject across an overwrite and sweep: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, newBody) || r.Size != int64(len(newBody)) {
		t.Errorf("GetObject read %d bytes (size %d), %v; want the new %d bytes", len(got), r.Size, err, len(newBody))
	}

	// A blob that is missing for good is an error after one retry, not a loop.
	opens = 0
	rb.hook = func(id storage.BlobID) {
		opens++
		e.blobs.Remove(id)
	}
	if _, err := svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "k", Length: -1}); !errors.Is(err, storage.ErrNotFound) || opens != 2 {
		t.Errorf("GetObject of a lost blob = %v after %d opens; want storage.ErrNotFound after 2", err, opens)
	}
}
