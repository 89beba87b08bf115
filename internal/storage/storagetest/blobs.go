package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"sluice/internal/storage"
)

// TestBlobs runs the Blobs conformance suite. open returns a new, empty
// blob store.
func TestBlobs(t *testing.T, open func(t *testing.T) storage.Blobs) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b storage.Blobs)
	}{
		{"RoundTrip", testBlobRoundTrip},
		{"OpenMissing", testBlobOpenMissing},
		{"FailingReader", testBlobFailingReader},
		{"Remove", testBlobRemove},
		{"Walk", testBlobWalk},
		{"Concurrent", testBlobConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func readAll(t *testing.T, b storage.Blobs, id storage.BlobID) []byte {
	t.Helper()
	blob, err := b.Open(id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	defer blob.Close()
	got, err := io.ReadAll(io.NewSectionReader(blob, 0, blob.Size()))
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return got
}

func testBlobRoundTrip(t *testing.T, b storage.Blobs) {
	for _, size := range []int{0, 1, 4096, 3<<20 + 17} {
		want := randomBytes(uint64(size), size)
		// iotest-style small reads exercise the copy loop across chunks.
		id, n, err := b.Write(context.Background(), io.LimitReader(bytes.NewReader(want), int64(size)))
		if err != nil {
			t.Fatalf("Write(%d bytes): %v", size, err)
		}
		if n != int64(size) {
			t.Errorf("Write(%d bytes) size = %d", size, n)
		}
		blob, err := b.Open(id)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if blob.Size() != int64(size) {
			t.Errorf("Size = %d, want %d", blob.Size(), size)
		}
		blob.Close()
		if got := readAll(t, b, id); !bytes.Equal(got, want) {
			t.Errorf("blob of %d bytes read back %d bytes, not equal", size, len(got))
		}
		if size > 100 {
			// ReadAt at an offset.
			blob, _ := b.Open(id)
			p := make([]byte, 50)
			if _, err := blob.ReadAt(p, int64(size-60)); err != nil || !bytes.Equal(p, want[size-60:size-10]) {
				t.Errorf("ReadAt(%d) = %v, bytes equal %v", size-60, err, bytes.Equal(p, want[size-60:size-10]))
			}
			blob.Close()
		}
	}
	id1, _, _ := b.Write(context.Background(), bytes.NewReader([]byte("x")))
	id2, _, _ := b.Write(context.Background(), bytes.NewReader([]byte("x")))
	if id1 == id2 {
		t.Errorf("two writes got the same id %s", id1)
	}
}

func testBlobOpenMissing(t *testing.T, b storage.Blobs) {
	id, _, err := b.Write(context.Background(), bytes.NewReader([]byte("present")))
	if err != nil {
		t.Fatal(err)
	}
	for _, missing := range []storage.BlobID{"", "nope", "../../etc/passwd", id[:len(id)-1] + "0"} {
		if missing == id {
			continue
		}
		if _, err := b.Open(missing); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open(%q) error = %v, want ErrNotFound", missing, err)
		}
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func listBlobs(t *testing.T, b storage.Blobs) map[storage.BlobID]time.Time {
	t.Helper()
	got := map[storage.BlobID]time.Time{}
	if err := b.Walk(func(id storage.BlobID, written time.Time) error {
		got[id] = written
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func testBlobFailingReader(t *testing.T, b storage.Blobs) {
	cause := errors.New("client went away")
	_, _, err := b.Write(context.Background(), &failingReader{r: bytes.NewReader(randomBytes(1, 1<<20)), err: cause})
	if !errors.Is(err, cause) {
		t.Fatalf("Write with failing reader = %v, want it to wrap the reader's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.Write(ctx, bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with canceled ctx = %v, want context.Canceled", err)
	}
	if got := listBlobs(t, b); len(got) != 0 {
		t.Errorf("blobs after failed writes = %v, want none", got)
	}
}

func testBlobRemove(t *testing.T, b storage.Blobs) {
	want := []byte("keep reading me")
	id, _, err := b.Write(context.Background(), bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	open, err := b.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := b.Remove(id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := b.Remove(id); err != nil {
		t.Errorf("second Remove = %v, want nil", err)
	}
	if err := b.Remove("never-existed"); err != nil {
		t.Errorf("Remove of unknown id = %v, want nil", err)
	}
	if _, err := b.Open(id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open after Remove = %v, want ErrNotFound", err)
	}
	// A blob opened before Remove stays readable.
	got, err := io.ReadAll(io.NewSectionReader(open, 0, open.Size()))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read of removed open blob = %q, %v; want %q", got, err, want)
	}
	if ids := listBlobs(t, b); len(ids) != 0 {
		t.Errorf("Walk after Remove = %v, want none", ids)
	}
}

func testBlobWalk(t *testing.T, b storage.Blobs) {
	want := map[storage.BlobID]bool{}
	for i := 0; i < 20; i++ {
		id, _, err := b.Write(context.Background(), bytes.NewReader(randomBytes(uint64(i), 10)))
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	got := listBlobs(t, b)
	if len(got) != len(want) {
		t.Errorf("Walk listed %d blobs, want %d", len(got), len(want))
	}
	for id, written := range got {
		if !want[id] {
			t.Errorf("Walk listed unknown blob %s", id)
		}
		if written.IsZero() {
			t.Errorf("blob %s has no write time", id)
		}
	}
	// An error from fn stops the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	if err := b.Walk(func(storage.BlobID, time.Time) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk with failing fn = %v after %d calls, want stop after 1", err, calls)
	}
}

func testBlobConcurrent(t *testing.T, b storage.Blobs) {
	const n = 8
	ids := make([]storage.BlobID, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], _, errs[i] = b.Write(context.Background(), bytes.NewReader(randomBytes(uint64(100+i), 64<<10)))
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("Write %d: %v", i, errs[i])
		}
		if got := readAll(t, b, ids[i]); !bytes.Equal(got, randomBytes(uint64(100+i), 64<<10)) {
			t.Errorf("concurrent blob %d read back different bytes", i)
		}
	}
}
