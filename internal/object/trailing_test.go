package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// eofReader records whether its body was read to EOF.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// TestPutTrailingChecksum: a checksum known only at EOF (an aws-chunked
// trailer) is asked for after the body was consumed, verified, and a
// mismatch stores nothing, small (inline) or large (blob).
func TestPutTrailingChecksum(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{0, 9, 5000} {
		e := newEnv(t, testInline)
		e.mustCreateBucket(t, "bkt")
		body := randomBytes(7, size)
		want, _ := ComputeChecksum(CRC32, body)
		put := func(key string, sum Checksum) (Object, error) {
			rd := &eofReader{r: bytes.NewReader(body)}
			return e.svc.PutObject(ctx, PutInput{
				Bucket: "bkt", Key: key, Body: rd, Size: int64(size), ChecksumAlgorithm: CRC32,
				TrailingChecksum: func() *Checksum {
					if !rd.eof {
						t.Errorf("size %d: TrailingChecksum called before EOF", size)
					}
					return &sum
				},
			})
		}
		o, err := put("good", want)
		if err != nil || o.Checksum == nil || *o.Checksum != want {
			t.Errorf("size %d: PutObject = %+v, %v; want checksum %+v", size, o.Checksum, err, want)
		}
		var mm *ChecksumMismatchError
		if _, err := put("bad", Checksum{Algorithm: CRC32, Value: "AQIDBA=="}); !errors.As(err, &mm) || mm.Algorithm != CRC32 {
			t.Errorf("size %d: wrong trailer: PutObject = %v, want ChecksumMismatchError", size, err)
		}
		other, _ := ComputeChecksum(SHA256, body)
		if _, err := put("other-alg", other); !errors.As(err, &mm) {
			t.Errorf("size %d: trailer of another algorithm: PutObject = %v, want ChecksumMismatchError", size, err)
		}
		for _, k := range []string{"bad", "other-alg"} {
			if _, err := e.svc.HeadObject(ctx, "bkt", k); !errors.Is(err, ErrNoSuchKey) {
				t.Errorf("size %d: %s after a mismatch: HeadObject = %v, want ErrNoSuchKey", size, k, err)
			}
		}
		if refs := e.referencedBlobs(t); size > testInline && len(refs) != 1 {
			t.Errorf("size %d: referenced blobs %v, want only the good object's", size, refs)
		}
	}
}
