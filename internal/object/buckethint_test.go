package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"sluice/internal/storage"
)

// countingReader records how many bytes were read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestPutKnownBucketDeleted: once a bucket is hinted (a PUT saw it), a
// PUT after DeleteBucket still answers NoSuchBucket before reading the
// body, and a bucket created again under the name takes writes.
func TestPutKnownBucketDeleted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	e.mustPut(t, "bkt", "k", []byte("abc"))
	if !e.svc.buckets.known("bkt") {
		t.Fatal("after a PUT the bucket is not hinted")
	}
	if err := e.svc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: bytes.NewReader(make([]byte, 100))}
	_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "k", Body: body, Size: 100})
	if !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("PutObject after DeleteBucket = %v, want ErrNoSuchBucket", err)
	}
	if body.n != 0 {
		t.Errorf("PutObject read %d body bytes before answering NoSuchBucket, want 0", body.n)
	}
	e.mustCreateBucket(t, "bkt")
	if got := e.mustPut(t, "bkt", "k", []byte("xyz")); got.Size != 3 {
		t.Errorf("PUT into the recreated bucket: size %d, want 3", got.Size)
	}
}

// TestDeleteBucketRacingPutKnownBucket is TestDeleteBucketRacingPut with
// the bucket hinted before the race, so PutObject skips its early read
// and only the commit's read of the bucket record decides.
func TestDeleteBucketRacingPutKnownBucket(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	for i := range 20 {
		name := fmt.Sprintf("race-%d", i)
		e.mustCreateBucket(t, name)
		e.mustPut(t, name, "warm", []byte("w"))
		if err := e.svc.DeleteObject(ctx, name, "warm"); err != nil {
			t.Fatal(err)
		}
		size := 10
		if i%2 == 1 {
			size = 3000 // a blob: longer between the hint and the commit
		}
		var putErr, delErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, putErr = e.svc.PutObject(ctx, PutInput{Bucket: name, Key: "k", Body: bytes.NewReader(make([]byte, size)), Size: -1})
		}()
		go func() { defer wg.Done(); delErr = e.svc.DeleteBucket(ctx, name) }()
		wg.Wait()
		switch {
		case putErr == nil && delErr == nil:
			t.Fatalf("round %d: both PutObject and DeleteBucket succeeded", i)
		case putErr == nil && !errors.Is(delErr, ErrBucketNotEmpty):
			t.Fatalf("round %d: put won, DeleteBucket = %v, want ErrBucketNotEmpty", i, delErr)
		case delErr == nil && !errors.Is(putErr, ErrNoSuchBucket):
			t.Fatalf("round %d: delete won, PutObject = %v, want ErrNoSuchBucket", i, putErr)
		}
		if delErr == nil {
			if e.svc.buckets.known(name) {
				t.Fatalf("round %d: the deleted bucket is still hinted", i)
			}
			err := e.store.View(ctx, func(tx storage.ReadTx) error {
				empty, err := rangeEmpty(tx, objectPrefix(name), prefixSuccessor(objectPrefix(name)))
				if err == nil && !empty {
					return errors.New("object records remain in the deleted bucket")
				}
				return err
			})
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
}

// TestBucketHintsEpoch: a read that began before a DeleteBucket's forget
// must not add the name back after it.
func TestBucketHintsEpoch(t *testing.T) {
	var h bucketHints
	if h.known("a") {
		t.Fatal("an empty hint set knows a")
	}
	e0 := h.current()
	h.add("a", e0)
	if !h.known("a") {
		t.Fatal("add with the current epoch did not record a")
	}
	stale := h.current()
	h.forget("a")
	if h.known("a") {
		t.Fatal("forget left a")
	}
	h.add("a", stale) // the read ran before the delete committed
	if h.known("a") {
		t.Fatal("add with an epoch from before forget recorded a")
	}
	h.add("a", h.current())
	if !h.known("a") {
		t.Fatal("add after forget with a fresh epoch did not record a")
	}
	for i := range maxBucketHints + 1 {
		h.add(fmt.Sprintf("b%d", i), h.current())
	}
	if n := len(h.names); n > maxBucketHints {
		t.Errorf("%d hints held, bound is %d", n, maxBucketHints)
	}
}
