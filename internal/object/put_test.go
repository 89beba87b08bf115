package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/storage"
)

const testInline = 1024

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func readAll(t *testing.T, e *env, in GetInput) ([]byte, Object) {
	t.Helper()
	r, err := e.svc.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("GetObject(%+v): %v", in, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %+v: %v", in, err)
	}
	return b, r.Object
}

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		size  int
		blobs int // blobs the object must make
	}{
		{"empty", 0, 0},
		{"one byte", 1, 0},
		{"inline limit", testInline, 0},
		{"inline limit plus one", testInline + 1, 1},
		{"several MiB", 3<<20 + 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testInline)
			e.mustCreateBucket(t, "bkt")
			body := randomBytes(uint64(tc.size), tc.size)
			e.clock.Advance(time.Second)
			for _, size := range []int64{int64(tc.size), -1} { // declared, then unknown length
				in := PutInput{Bucket: "bkt", Key: "dir/k", Body: bytes.NewReader(body), Size: size,
					Meta: Meta{User: map[string]string{"a": "1"}, CacheControl: "no-cache"}}
				put, err := e.svc.PutObject(ctx, in)
				if err != nil {
					t.Fatalf("PutObject(size %d, declared %d): %v", tc.size, size, err)
				}
				sum := md5.Sum(body)
				want := Object{Bucket: "bkt", Key: "dir/k", VersionID: NullVersion, Size: int64(tc.size),
					ETag: hex.EncodeToString(sum[:]), LastModified: testStart.Add(time.Second).Truncate(time.Millisecond),
					Meta: Meta{ContentType: "binary/octet-stream", User: map[string]string{"a": "1"}, CacheControl: "no-cache"}, StorageClass: "STANDARD"}
				checkObject(t, "PutObject", put, want)
				head, err := e.svc.HeadObject(ctx, "bkt", "dir/k")
				if err != nil {
					t.Fatal(err)
				}
				checkObject(t, "HeadObject", head, want)
				got, obj := readAll(t, e, GetInput{Bucket: "bkt", Key: "dir/k", Length: -1})
				checkObject(t, "GetObject", obj, want)
				if !bytes.Equal(got, body) {
					t.Errorf("GetObject returned %d bytes, not the %d put", len(got), len(body))
				}
				if n := len(e.referencedBlobs(t)); n != tc.blobs {
					t.Errorf("object of %d bytes: %d referenced blobs, want %d", tc.size, n, tc.blobs)
				}
			}
		})
	}
}

func checkObject(t *testing.T, op string, got, want Object) {
	t.Helper()
	g, w := got, want
	g.LastModified, w.LastModified = time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) || !got.LastModified.Equal(want.LastModified) {
		t.Errorf("%s = %+v\nwant %+v", op, got, want)
	}
}

func TestInlineObjectMakesNoBlob(t *testing.T) {
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	e.mustPut(t, "bkt", "small", randomBytes(1, testInline))
	if ids := e.blobIDs(t); len(ids) != 0 {
		t.Errorf("an object of InlineLimit bytes wrote blobs %v", ids)
	}
	e.mustPut(t, "bkt", "large", randomBytes(2, testInline+1))
	if ids := e.blobIDs(t); len(ids) != 1 {
		t.Errorf("an object of InlineLimit+1 bytes wrote blobs %v, want exactly one", ids)
	}
}

func TestOverwriteAndDeleteReleaseBlob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	e.mustPut(t, "bkt", "k", randomBytes(1, 5000))
	first := e.blobIDs(t)
	if len(first) != 1 || !e.referenced(t, first[0]) {
		t.Fatalf("after the first put: blobs %v, want one referenced", first)
	}
	e.mustPut(t, "bkt", "k", randomBytes(2, 6000))
	if e.referenced(t, first[0]) {
		t.Errorf("blob %s of the overwritten object is still referenced", first[0])
	}
	second := e.referencedBlobs(t)
	if len(second) != 1 || second[0] == first[0] {
		t.Fatalf("after the overwrite: referenced %v, want one new blob", second)
	}
	e.mustPut(t, "bkt", "k", []byte("small now"))
	if e.referenced(t, second[0]) {
		t.Errorf("blob %s is still referenced after an inline overwrite", second[0])
	}
	e.mustPut(t, "bkt", "k", randomBytes(3, 7000))
	third := e.referencedBlobs(t)
	if len(third) != 1 {
		t.Fatalf("referenced %v, want one", third)
	}
	if err := e.svc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if e.referenced(t, third[0]) {
		t.Errorf("blob %s is still referenced after DeleteObject", third[0])
	}
	if _, err := e.svc.HeadObject(ctx, "bkt", "k"); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("HeadObject after delete = %v, want ErrNoSuchKey", err)
	}
	if err := e.svc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Errorf("DeleteObject of a missing key = %v, want nil", err)
	}
	if err := e.svc.DeleteObject(ctx, "nobkt", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("DeleteObject in a missing bucket = %v, want ErrNoSuchBucket", err)
	}
}

func TestGetErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	for _, tc := range []struct {
		bucket, key string
		want        error
	}{
		{"nobkt", "k", ErrNoSuchBucket},
		{"bkt", "k", ErrNoSuchKey},
		{"NOT_VALID", "k", ErrNoSuchBucket},
	} {
		if _, err := e.svc.GetObject(ctx, GetInput{Bucket: tc.bucket, Key: tc.key, Length: -1}); !errors.Is(err, tc.want) {
			t.Errorf("GetObject(%q, %q) = %v, want %v", tc.bucket, tc.key, err, tc.want)
		}
		if _, err := e.svc.HeadObject(ctx, tc.bucket, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("HeadObject(%q, %q) = %v, want %v", tc.bucket, tc.key, err, tc.want)
		}
	}
}

func TestGetRanges(t *testing.T) {
	for _, size := range []int{100, 5000} { // inline, blob
		e := newEnv(t, testInline)
		e.mustCreateBucket(t, "bkt")
		body := randomBytes(9, size)
		e.mustPut(t, "bkt", "k", body)
		n := int64(size)
		for _, tc := range []struct{ off, length, wantOff, wantEnd int64 }{
			{0, -1, 0, n},
			{0, n, 0, n},
			{5, 10, 5, 15},
			{n - 1, 1, n - 1, n},
			{n - 1, -1, n - 1, n},
			{7, 0, 7, 7},
			{0, n + 50, 0, n}, // clamped
			{n + 3, 4, n, n},  // clamped
			{-2, 3, 0, 3},     // clamped
		} {
			got, obj := readAll(t, e, GetInput{Bucket: "bkt", Key: "k", Offset: tc.off, Length: tc.length})
			if !bytes.Equal(got, body[tc.wantOff:tc.wantEnd]) {
				t.Errorf("size %d: range (%d, %d) gave %d bytes, want bytes [%d, %d)", size, tc.off, tc.length, len(got), tc.wantOff, tc.wantEnd)
			}
			if obj.Size != n {
				t.Errorf("size %d: range read reports object size %d", size, obj.Size)
			}
		}
	}
}

// failingReader returns its data, then err.
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

type verifierError struct{ msg string }

func (e *verifierError) Error() string { return e.msg }

// untouchable fails the test if the body is read at all.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("body was read")
	return 0, io.EOF
}

func TestPutFailuresLeaveNothing(t *testing.T) {
	ctx := context.Background()
	good := func(n int) []byte { return randomBytes(uint64(n), n) }
	wrongMD5 := md5.Sum([]byte("something else"))
	for _, size := range []int{10, 5000} {
		body := good(size)
		otherCRC, _ := ComputeChecksum(CRC32, []byte("other"))
		for _, tc := range []struct {
			name  string
			in    PutInput
			check func(error) bool
		}{
			{"md5 mismatch", PutInput{Body: bytes.NewReader(body), Size: int64(size), ContentMD5: wrongMD5[:]},
				func(err error) bool { return errors.Is(err, ErrBadDigest) }},
			{"checksum mismatch", PutInput{Body: bytes.NewReader(body), Size: int64(size), Checksum: &otherCRC},
				func(err error) bool {
					var m *ChecksumMismatchError
					return errors.As(err, &m) && m.Algorithm == CRC32
				}},
			{"truncated body", PutInput{Body: bytes.NewReader(body), Size: int64(size) + 1},
				func(err error) bool { return errors.Is(err, ErrIncompleteBody) }},
			{"overlong body", PutInput{Body: bytes.NewReader(body), Size: int64(size) - 1},
				func(err error) bool { return errors.Is(err, ErrEntityTooLarge) }},
			{"reader error", PutInput{Body: &failingReader{bytes.NewReader(body), &verifierError{"sha256 mismatch"}}, Size: int64(size)},
				func(err error) bool {
					var v *verifierError
					return errors.As(err, &v) && v.msg == "sha256 mismatch"
				}},
			{"unknown checksum algorithm", PutInput{Body: bytes.NewReader(body), Size: int64(size), ChecksumAlgorithm: "MD5"},
				func(err error) bool { return errors.Is(err, ErrInvalidChecksumAlgorithm) }},
			{"checksum without algorithm", PutInput{Body: bytes.NewReader(body), Size: int64(size), Checksum: &Checksum{Value: "AAAAAA=="}},
				func(err error) bool { return errors.Is(err, ErrInvalidChecksumAlgorithm) }},
		} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				e := newEnv(t, testInline)
				e.mustCreateBucket(t, "bkt")
				tc.in.Bucket, tc.in.Key = "bkt", "k"
				if _, err := e.svc.PutObject(ctx, tc.in); !tc.check(err) {
					t.Fatalf("PutObject = %v, not the expected error", err)
				}
				if _, err := e.svc.HeadObject(ctx, "bkt", "k"); !errors.Is(err, ErrNoSuchKey) {
					t.Errorf("after a failed put, HeadObject = %v, want ErrNoSuchKey", err)
				}
				if ids := e.blobIDs(t); len(ids) != 0 {
					t.Errorf("after a failed put, blobs %v remain", ids)
				}
				// A failed overwrite keeps the old object.
				e.mustPut(t, "bkt", "k", []byte("old"))
				tc.in.Body = resetBody(tc.in.Body, body)
				if _, err := e.svc.PutObject(ctx, tc.in); !tc.check(err) {
					t.Fatalf("PutObject over an object = %v, not the expected error", err)
				}
				if got, _ := readAll(t, e, GetInput{Bucket: "bkt", Key: "k", Length: -1}); string(got) != "old" {
					t.Errorf("after a failed overwrite the object reads %q, want %q", got, "old")
				}
				if ids := e.blobIDs(t); len(ids) != 0 {
					t.Errorf("after a failed overwrite, blobs %v remain", ids)
				}
			})
		}
	}
}

func resetBody(r io.Reader, body []byte) io.Reader {
	if f, ok := r.(*failingReader); ok {
		return &failingReader{bytes.NewReader(body), f.err}
	}
	return bytes.NewReader(body)
}

func TestPutRejectsBeforeReading(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	for _, tc := range []struct {
		name string
		in   PutInput
		want error
	}{
		{"no bucket", PutInput{Bucket: "nobkt", Key: "k", Size: 3}, ErrNoSuchBucket},
		{"empty key", PutInput{Bucket: "bkt", Key: "", Size: 3}, ErrInvalidKey},
		{"key too long", PutInput{Bucket: "bkt", Key: strings.Repeat("k", 1025), Size: 3}, ErrKeyTooLong},
		{"key not utf-8", PutInput{Bucket: "bkt", Key: "\xc3\x28", Size: 3}, ErrInvalidKey},
		{"over 5 GiB", PutInput{Bucket: "bkt", Key: "k", Size: MaxPutSize + 1}, ErrEntityTooLarge},
	} {
		tc.in.Body = untouchable{t}
		if _, err := e.svc.PutObject(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: PutObject = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestPutChecksums(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{0, 9, 5000} {
		e := newEnv(t, testInline)
		e.mustCreateBucket(t, "bkt")
		body := randomBytes(4, size)
		for _, alg := range checksumAlgorithms {
			want, _ := ComputeChecksum(alg, body)
			// Verified when sent.
			o, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "sent", Body: bytes.NewReader(body), Size: int64(size), Checksum: &want})
			if err != nil || o.Checksum == nil || *o.Checksum != want {
				t.Errorf("size %d %s sent: PutObject = %+v, %v; want checksum %+v", size, alg, o.Checksum, err, want)
			}
			// Computed and stored when only the algorithm is named.
			o, err = e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "asked", Body: bytes.NewReader(body), Size: -1, ChecksumAlgorithm: alg})
			if err != nil || o.Checksum == nil || *o.Checksum != want {
				t.Errorf("size %d %s asked: PutObject = %+v, %v; want checksum %+v", size, alg, o.Checksum, err, want)
			}
			h, err := e.svc.HeadObject(ctx, "bkt", "asked")
			if err != nil || h.Checksum == nil || *h.Checksum != want {
				t.Errorf("size %d %s: HeadObject checksum = %+v, %v; want %+v", size, alg, h.Checksum, err, want)
			}
		}
		sum := md5.Sum(body)
		if _, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "md5", Body: bytes.NewReader(body), Size: int64(size), ContentMD5: sum[:]}); err != nil {
			t.Errorf("size %d: PutObject with the right Content-MD5 = %v", size, err)
		}
		o, _ := e.svc.HeadObject(ctx, "bkt", "md5")
		if o.Checksum != nil {
			t.Errorf("size %d: no checksum asked, HeadObject has %+v", size, o.Checksum)
		}
	}
}

func TestConcurrentPutsToOneKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	const writers = 8
	bodies := make([][]byte, writers)
	var wg sync.WaitGroup
	for i := range writers {
		bodies[i] = randomBytes(uint64(100+i), 20000+i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "k", Body: bytes.NewReader(bodies[i]), Size: -1}); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, obj := readAll(t, e, GetInput{Bucket: "bkt", Key: "k", Length: -1})
	winner := slices.IndexFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) })
	if winner < 0 {
		t.Fatalf("the object (%d bytes) is none of the bodies written", len(got))
	}
	if obj.Size != int64(len(bodies[winner])) {
		t.Errorf("record size %d, body %d", obj.Size, len(bodies[winner]))
	}
	if refs := e.referencedBlobs(t); len(refs) != 1 {
		t.Errorf("after %d concurrent puts, referenced blobs %v, want exactly one", writers, refs)
	}
}

func TestDeleteBucketRacingPut(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	for i := range 20 {
		name := fmt.Sprintf("race-%d", i)
		e.mustCreateBucket(t, name)
		var putErr, delErr error
		var wg sync.WaitGroup
		wg.Add(2)
		size := 10
		if i%2 == 1 {
			size = 3000 // the blob path takes longer between its checks
		}
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
	// Every blob left is referenced by a live object.
	for _, id := range e.blobIDs(t) {
		if !e.referenced(t, id) {
			t.Errorf("unreferenced blob %s left behind by a failed put", id)
		}
	}
}
