package object

import (
	"context"
	"io"
	"runtime"
	"testing"

	"sluice/internal/storage"
)

// discardBlobs stores nothing: it drains what it is given, so that a
// measurement of PutObject's allocations is not the blob store's bytes.
type discardBlobs struct{ storage.Blobs }

func (discardBlobs) Write(ctx context.Context, r io.Reader) (storage.BlobID, int64, error) {
	n, err := io.Copy(io.Discard, r)
	return "discarded", n, err
}

// patternReader yields n bytes without holding them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range b[:n] {
		b[i] = byte(p.left - int64(i))
	}
	p.left -= n
	return int(n), nil
}

func TestPutMemoryDoesNotGrowWithSize(t *testing.T) {
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	svc := New(Config{Store: e.store, Blobs: discardBlobs{e.blobs}, Clock: e.clock, InlineLimit: testInline})
	const size = 16 << 20
	put := func() {
		_, err := svc.PutObject(context.Background(), PutInput{Bucket: "bkt", Key: "big", Body: &patternReader{left: size}, Size: -1, ChecksumAlgorithm: CRC64NVME})
		if err != nil {
			t.Fatal(err)
		}
	}
	put() // warm up pools and the store
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	put()
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("a %d MiB PUT allocated %d KiB; the body is being buffered", size>>20, grew>>10)
	}
}
