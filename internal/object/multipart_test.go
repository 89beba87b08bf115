package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"strconv"
	"testing"

	"sluice/internal/event"
	"sluice/internal/storage"
)

func randBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func (e *env) mustCreateUpload(t testing.TB, in CreateUploadInput) Upload {
	t.Helper()
	up, err := e.svc.CreateMultipartUpload(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateMultipartUpload(%+v): %v", in, err)
	}
	return up
}

func (e *env) mustUploadPart(t testing.TB, up Upload, n int, body []byte) Part {
	t.Helper()
	p, err := e.svc.UploadPart(context.Background(), UploadPartInput{Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID,
		PartNumber: n, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("UploadPart(%d, %d bytes): %v", n, len(body), err)
	}
	return p
}

func completeParts(ps ...Part) []CompletePart {
	out := make([]CompletePart, len(ps))
	for i, p := range ps {
		out[i] = CompletePart{PartNumber: p.PartNumber, ETag: `"` + p.ETag + `"`, Checksum: p.Checksum}
	}
	return out
}

// multipartETag computes S3's ETag of a multipart object from its parts.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

func (e *env) readAll(t testing.TB, bucket, key string, off, n int64) []byte {
	t.Helper()
	rd, err := e.svc.GetObject(context.Background(), GetInput{Bucket: bucket, Key: key, Offset: off, Length: n})
	if err != nil {
		t.Fatalf("GetObject(%q, %d, %d): %v", key, off, n, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

type recordingPublisher struct{ changes []event.Change }

func (p *recordingPublisher) Publish(_ context.Context, _ storage.Tx, c event.Change) error {
	p.changes = append(p.changes, c)
	return nil
}

func TestMultipartRoundTripSharesPartBlobs(t *testing.T) {
	e := newEnv(t, 64)
	pub := &recordingPublisher{}
	e.svc.events = pub
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "big", Meta: Meta{ContentType: "text/plain", User: map[string]string{"a": "1"}}})
	if len(up.UploadID) != UploadIDLength || !validUploadID(up.UploadID) {
		t.Fatalf("upload id %q", up.UploadID)
	}
	p1, p2, p3 := randBytes(1, MinPartSize), randBytes(2, MinPartSize+7), randBytes(3, 1000)
	// Parts may arrive out of order and be replaced.
	e.mustUploadPart(t, up, 3, p3)
	e.mustUploadPart(t, up, 1, randBytes(9, 100)) // replaced below
	e.mustUploadPart(t, up, 2, p2)
	parts := []Part{e.mustUploadPart(t, up, 1, p1)}
	page, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "big", UploadID: up.UploadID})
	if err != nil || len(page.Parts) != 3 {
		t.Fatalf("ListParts: %+v, %v", page, err)
	}
	parts = append(parts, page.Parts[1], page.Parts[2])
	partBlobs := e.referencedBlobs(t)
	if len(partBlobs) != 3 {
		t.Fatalf("referenced blobs before complete: %d, want 3 (the replaced part released)", len(partBlobs))
	}

	obj, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "big", UploadID: up.UploadID, Parts: completeParts(parts...)})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	whole := slices.Concat(p1, p2, p3)
	if want := multipartETag(p1, p2, p3); obj.ETag != want {
		t.Errorf("ETag %q, want %q", obj.ETag, want)
	}
	if obj.Size != int64(len(whole)) || obj.Meta.ContentType != "text/plain" || obj.Meta.User["a"] != "1" || obj.Checksum != nil {
		t.Errorf("object %+v", obj)
	}
	if got := e.referencedBlobs(t); !slices.Equal(sorted(got), sorted(partBlobs)) {
		t.Errorf("blobs after complete %v, want the parts' own %v (no copy)", got, partBlobs)
	}
	if got := e.readAll(t, "bkt", "big", 0, -1); !bytes.Equal(got, whole) {
		t.Fatalf("object bytes differ (len %d, want %d)", len(got), len(whole))
	}
	for _, r := range [][2]int64{{MinPartSize - 10, 20}, {5, 2*MinPartSize + 100}, {int64(len(whole)) - 1, 1}, {MinPartSize, MinPartSize + 7}} {
		if got := e.readAll(t, "bkt", "big", r[0], r[1]); !bytes.Equal(got, whole[r[0]:r[0]+r[1]]) {
			t.Errorf("range %v differs", r)
		}
	}
	head, err := e.svc.HeadObject(ctx, "bkt", "big")
	if err != nil || head.ETag != obj.ETag || head.Size != obj.Size {
		t.Errorf("HeadObject: %+v, %v", head, err)
	}
	_, pi, err := e.svc.ObjectPart(ctx, "bkt", "big", 2)
	if err != nil || pi != (PartInfo{Number: 2, Offset: MinPartSize, Length: MinPartSize + 7, Count: 3}) {
		t.Errorf("ObjectPart(2) = %+v, %v", pi, err)
	}
	if _, _, err := e.svc.ObjectPart(ctx, "bkt", "big", 4); !errors.Is(err, ErrInvalidPartNumber) {
		t.Errorf("ObjectPart(4): %v, want ErrInvalidPartNumber", err)
	}
	if len(pub.changes) != 1 || pub.changes[0].Name != event.ObjectCreatedCompleteMultipartUpload || pub.changes[0].ETag != obj.ETag || pub.changes[0].Size != obj.Size {
		t.Errorf("events %+v", pub.changes)
	}
	if _, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "big", UploadID: up.UploadID}); !errors.Is(err, ErrNoSuchUpload) {
		t.Errorf("ListParts after complete: %v, want ErrNoSuchUpload", err)
	}
	// A second complete finds no upload, and publishes nothing.
	if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "big", UploadID: up.UploadID, Parts: completeParts(parts...)}); !errors.Is(err, ErrNoSuchUpload) {
		t.Errorf("second Complete: %v", err)
	}
	if len(pub.changes) != 1 {
		t.Errorf("events after failed complete: %d", len(pub.changes))
	}
	// Overwriting the object releases every part blob.
	e.mustPut(t, "bkt", "big", []byte("small"))
	if got := e.referencedBlobs(t); len(got) != 0 {
		t.Errorf("blobs still referenced after overwrite: %v", got)
	}
}

func sorted(ids []storage.BlobID) []storage.BlobID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestCompleteErrors(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "k"})
	p1 := e.mustUploadPart(t, up, 1, randBytes(1, MinPartSize))
	small := e.mustUploadPart(t, up, 2, randBytes(2, 10))
	p3 := e.mustUploadPart(t, up, 3, randBytes(3, 10))
	complete := func(parts []CompletePart, cond WriteCondition) error {
		_, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID, Parts: parts, Condition: cond})
		return err
	}
	var invalidPart *InvalidPartError
	var tooSmall *EntityTooSmallError
	var precond *PreconditionFailedError
	cases := []struct {
		name  string
		parts []CompletePart
		cond  WriteCondition
		check func(error) bool
	}{
		{"no parts", nil, WriteCondition{}, func(err error) bool { return errors.Is(err, ErrNoParts) }},
		{"descending", completeParts(small, p1), WriteCondition{}, func(err error) bool { return errors.Is(err, ErrInvalidPartOrder) }},
		{"duplicate", completeParts(p1, p1), WriteCondition{}, func(err error) bool { return errors.Is(err, ErrInvalidPartOrder) }},
		{"part number 0", []CompletePart{{PartNumber: 0, ETag: p1.ETag}}, WriteCondition{}, func(err error) bool { return errors.Is(err, ErrInvalidPartNumber) }},
		{"missing part", []CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 4, ETag: p3.ETag}}, WriteCondition{},
			func(err error) bool { return errors.As(err, &invalidPart) && invalidPart.PartNumber == 4 }},
		{"wrong etag", []CompletePart{{PartNumber: 1, ETag: `"` + p3.ETag + `"`}}, WriteCondition{},
			func(err error) bool { return errors.As(err, &invalidPart) && invalidPart.PartNumber == 1 }},
		{"wrong checksum", []CompletePart{{PartNumber: 1, ETag: p1.ETag, Checksum: &Checksum{Algorithm: CRC32, Value: "AAAAAA=="}}}, WriteCondition{},
			func(err error) bool { return errors.As(err, &invalidPart) }},
		{"small part not last", completeParts(p1, small, p3), WriteCondition{},
			func(err error) bool {
				return errors.As(err, &tooSmall) && tooSmall.PartNumber == 2 && tooSmall.Size == 10
			}},
		{"if-match on missing key", completeParts(p1), WriteCondition{IfMatch: `"abc"`}, func(err error) bool { return errors.Is(err, ErrNoSuchKey) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := complete(tc.parts, tc.cond); !tc.check(err) {
				t.Fatalf("Complete: %v", err)
			}
		})
	}
	// Nothing was written by any failure; the upload is whole.
	if _, err := e.svc.HeadObject(ctx, "bkt", "k"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("object after failed completes: %v", err)
	}
	page, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID})
	if err != nil || len(page.Parts) != 3 {
		t.Fatalf("parts after failed completes: %+v, %v", page.Parts, err)
	}
	// If-None-Match: * against an existing object.
	e.mustPut(t, "bkt", "k", []byte("old"))
	if err := complete(completeParts(p1, small), WriteCondition{IfNoneMatch: "*"}); !errors.As(err, &precond) {
		t.Fatalf("If-None-Match *: %v", err)
	}
	if err := complete(completeParts(p1), WriteCondition{IfMatch: `"0123"`}); !errors.As(err, &precond) {
		t.Fatalf("If-Match mismatch: %v", err)
	}
	if got := e.readAll(t, "bkt", "k", 0, -1); string(got) != "old" {
		t.Fatalf("object after failed conditional complete: %q", got)
	}
	old, _ := e.svc.HeadObject(ctx, "bkt", "k")
	// Completing with a subset is allowed: the last part may be small, and
	// unused parts are released.
	if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID,
		Parts: completeParts(p1, small), Condition: WriteCondition{IfMatch: old.ETag}}); err != nil {
		t.Fatalf("Complete subset with If-Match: %v", err)
	}
	if got := e.referencedBlobs(t); len(got) != 2 {
		t.Errorf("referenced blobs after subset complete: %d, want 2", len(got))
	}
	// Unknown and malformed upload ids.
	for _, id := range []string{"", "nope", up.UploadID, "../" + up.UploadID[3:]} {
		if _, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "k", UploadID: id, PartNumber: 1, Body: bytes.NewReader(nil)}); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("UploadPart(id %q): %v, want ErrNoSuchUpload", id, err)
		}
	}
	if err := e.svc.AbortMultipartUpload(ctx, "nob", "k", up.UploadID); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("Abort in missing bucket: %v", err)
	}
}

func TestUploadPartChecksAndNumbers(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "k", ChecksumAlgorithm: CRC32})
	other := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "other"})
	body := []byte("hello")
	good, _ := ComputeChecksum(CRC32, body)
	c32c, _ := ComputeChecksum(CRC32C, body)
	var mismatch *ChecksumMismatchError
	var typeMismatch *ChecksumTypeMismatchError
	cases := []struct {
		name  string
		in    UploadPartInput
		check func(error) bool
	}{
		{"part 0", UploadPartInput{PartNumber: 0}, func(err error) bool { return errors.Is(err, ErrInvalidPartNumber) }},
		{"part 10001", UploadPartInput{PartNumber: 10001}, func(err error) bool { return errors.Is(err, ErrInvalidPartNumber) }},
		{"short body", UploadPartInput{PartNumber: 1, Size: 6}, func(err error) bool { return errors.Is(err, ErrIncompleteBody) }},
		{"long body", UploadPartInput{PartNumber: 1, Size: 4}, func(err error) bool { return errors.Is(err, ErrEntityTooLarge) }},
		{"bad md5", UploadPartInput{PartNumber: 1, Size: 5, ContentMD5: make([]byte, 16)}, func(err error) bool { return errors.Is(err, ErrBadDigest) }},
		{"bad crc32", UploadPartInput{PartNumber: 1, Size: 5, Checksum: &Checksum{Algorithm: CRC32, Value: "AAAAAA=="}}, func(err error) bool { return errors.As(err, &mismatch) }},
		{"bad trailer", UploadPartInput{PartNumber: 1, Size: 5, ChecksumAlgorithm: CRC32, TrailingChecksum: func() *Checksum { return &Checksum{Algorithm: CRC32, Value: "AAAAAA=="} }},
			func(err error) bool { return errors.As(err, &mismatch) }},
		{"other algorithm", UploadPartInput{PartNumber: 1, Size: 5, Checksum: &c32c}, func(err error) bool {
			return errors.As(err, &typeMismatch) && typeMismatch.Expected == CRC32 && typeMismatch.Actual == CRC32C
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key, in.UploadID, in.Body = "bkt", "k", up.UploadID, bytes.NewReader(body)
			if _, err := e.svc.UploadPart(ctx, in); !tc.check(err) {
				t.Fatalf("UploadPart: %v", err)
			}
		})
	}
	if got := e.referencedBlobs(t); len(got) != 0 {
		t.Fatalf("referenced blobs after failed parts: %v", got)
	}
	if got := e.blobIDs(t); len(got) != 0 {
		t.Fatalf("blobs left by failed parts: %v", got)
	}
	// Without a checksum from the client, the upload's algorithm is computed.
	p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID, PartNumber: 1, Body: bytes.NewReader(body), Size: 5})
	if err != nil || p.Checksum == nil || *p.Checksum != good {
		t.Fatalf("UploadPart: %+v, %v; want checksum %v", p, err, good)
	}
	// The upload id belongs to its key only.
	if _, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "other", UploadID: up.UploadID, PartNumber: 1, Body: bytes.NewReader(body), Size: 5}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("UploadPart on another key: %v", err)
	}
	// A part whose upload is aborted while it streams is not recorded.
	if err := e.svc.AbortMultipartUpload(ctx, "bkt", "other", other.UploadID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AbortMultipartUpload(ctx, "bkt", "other", other.UploadID); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("second abort: %v", err)
	}
}

func TestMultipartChecksums(t *testing.T) {
	ctx := context.Background()
	p1, p2 := randBytes(1, MinPartSize), randBytes(2, 12345)
	whole := slices.Concat(p1, p2)
	for _, tc := range []struct {
		alg  ChecksumAlgorithm
		typ  string
		want func() string
	}{
		{CRC32, "", func() string { return composite(CRC32, p1, p2) }},
		{SHA256, ChecksumTypeComposite, func() string { return composite(SHA256, p1, p2) }},
		{CRC32C, ChecksumTypeFullObject, func() string { c, _ := ComputeChecksum(CRC32C, whole); return c.Value }},
		{CRC32, ChecksumTypeFullObject, func() string { c, _ := ComputeChecksum(CRC32, whole); return c.Value }},
		{CRC64NVME, "", func() string { c, _ := ComputeChecksum(CRC64NVME, whole); return c.Value }},
	} {
		t.Run(string(tc.alg)+"/"+tc.typ, func(t *testing.T) {
			e := newEnv(t, 64)
			e.mustCreateBucket(t, "bkt")
			up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "k", ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
			a, b := e.mustUploadPart(t, up, 1, p1), e.mustUploadPart(t, up, 2, p2)
			obj, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID, Parts: completeParts(a, b)})
			if err != nil {
				t.Fatal(err)
			}
			wantType := up.ChecksumType
			if obj.Checksum == nil || obj.Checksum.Algorithm != tc.alg || obj.Checksum.Value != tc.want() || obj.Checksum.Type != wantType {
				t.Fatalf("checksum %+v, want %s %s %s", obj.Checksum, tc.alg, tc.want(), wantType)
			}
			head, _ := e.svc.HeadObject(ctx, "bkt", "k")
			if head.Checksum == nil || *head.Checksum != *obj.Checksum {
				t.Fatalf("stored checksum %+v, want %+v", head.Checksum, obj.Checksum)
			}
			if wantType == ChecksumTypeComposite {
				// Composite uploads need every part's checksum at Complete.
				up2 := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "k2", ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
				c := e.mustUploadPart(t, up2, 1, p2)
				parts := completeParts(c)
				parts[0].Checksum = nil
				var missing *MissingPartChecksumError
				if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "k2", UploadID: up2.UploadID, Parts: parts}); !errors.As(err, &missing) || missing.PartNumber != 1 {
					t.Fatalf("complete without part checksum: %v", err)
				}
			}
		})
	}
	var typeErr *ChecksumTypeError
	for _, bad := range []struct {
		alg ChecksumAlgorithm
		typ string
	}{{SHA1, ChecksumTypeFullObject}, {CRC64NVME, ChecksumTypeComposite}, {CRC32, "OTHER"}, {"", ChecksumTypeComposite}} {
		if _, err := ValidateChecksumType(bad.alg, bad.typ); !errors.As(err, &typeErr) {
			t.Errorf("ValidateChecksumType(%s, %s): %v", bad.alg, bad.typ, err)
		}
	}
}

func composite(alg ChecksumAlgorithm, parts ...[]byte) string {
	var raw []byte
	for _, p := range parts {
		h := NewChecksumHash(alg)
		h.Write(p)
		raw = h.Sum(raw)
	}
	h := NewChecksumHash(alg)
	h.Write(raw)
	return ChecksumValue(h) + "-" + strconv.Itoa(len(parts))
}

// combineCRC agrees with hashing the concatenation, for every algorithm
// and for lengths around the byte and power-of-two boundaries.
func TestCombineCRC(t *testing.T) {
	for _, alg := range []ChecksumAlgorithm{CRC32, CRC32C, CRC64NVME} {
		for _, n := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {7, 9}, {64, 1000}, {4096, 3}, {1, 65537}} {
			a, b := randBytes(int64(n[0]), n[0]), randBytes(int64(n[1]+7), n[1])
			sum := func(p []byte) uint64 {
				h := NewChecksumHash(alg)
				h.Write(p)
				return crcValue(h.Sum(nil))
			}
			got := combineCRC(alg, sum(a), sum(b), int64(len(b)), false)
			if want := sum(slices.Concat(a, b)); got != want {
				t.Errorf("%s %v: combine %x, want %x", alg, n, got, want)
			}
		}
	}
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	blobSrc := randBytes(5, 3000)
	e.mustPut(t, "bkt", "blob", blobSrc)
	e.mustPut(t, "bkt", "inline", []byte("tiny"))
	// A multipart source of two parts.
	mp := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "mp"})
	m1, m2 := randBytes(6, MinPartSize), randBytes(7, 100)
	a, b := e.mustUploadPart(t, mp, 1, m1), e.mustUploadPart(t, mp, 2, m2)
	if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "mp", UploadID: mp.UploadID, Parts: completeParts(a, b)}); err != nil {
		t.Fatal(err)
	}
	mpWhole := slices.Concat(m1, m2)

	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "dst", ChecksumAlgorithm: CRC32})
	cases := []struct {
		n           int
		src         string
		hasRange    bool
		first, last int64
		want        []byte
		shared      bool
	}{
		{1, "blob", true, 10, 2009, blobSrc[10:2010], true},
		{2, "inline", false, 0, 0, []byte("tiny"), false},
		{3, "mp", true, MinPartSize - 50, MinPartSize + 49, mpWhole[MinPartSize-50 : MinPartSize+50], false},
		{4, "mp", true, MinPartSize + 1, MinPartSize + 10, m2[1:11], true},
		{5, "blob", false, 0, 0, blobSrc, true},
	}
	for _, tc := range cases {
		before := len(e.blobIDs(t))
		p, src, err := e.svc.UploadPartCopy(ctx, UploadPartCopyInput{Bucket: "bkt", Key: "dst", UploadID: up.UploadID, PartNumber: tc.n,
			SourceBucket: "bkt", SourceKey: tc.src, HasRange: tc.hasRange, RangeFirst: tc.first, RangeLast: tc.last})
		if err != nil {
			t.Fatalf("part %d: %v", tc.n, err)
		}
		sum := md5.Sum(tc.want)
		want, _ := ComputeChecksum(CRC32, tc.want)
		if p.ETag != hex.EncodeToString(sum[:]) || p.Size != int64(len(tc.want)) || p.Checksum == nil || *p.Checksum != want || src.Key != tc.src {
			t.Errorf("part %d: %+v (source %q)", tc.n, p, src.Key)
		}
		if grew := len(e.blobIDs(t)) - before; (grew == 0) != tc.shared {
			t.Errorf("part %d: %d new blobs; shared=%v", tc.n, grew, tc.shared)
		}
	}
	// Complete with the parts whose order of sizes allows it: the big
	// shared one is not last, so use parts 5 (3000 bytes) last only.
	bigUp := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "dst2"})
	p1, _, err := e.svc.UploadPartCopy(ctx, UploadPartCopyInput{Bucket: "bkt", Key: "dst2", UploadID: bigUp.UploadID, PartNumber: 1, SourceBucket: "bkt", SourceKey: "mp",
		HasRange: true, RangeFirst: 0, RangeLast: MinPartSize - 1})
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := e.svc.UploadPartCopy(ctx, UploadPartCopyInput{Bucket: "bkt", Key: "dst2", UploadID: bigUp.UploadID, PartNumber: 2, SourceBucket: "bkt", SourceKey: "blob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "dst2", UploadID: bigUp.UploadID, Parts: completeParts(p1, p2)}); err != nil {
		t.Fatal(err)
	}
	// The sources can go: the copies hold their own references.
	for _, k := range []string{"blob", "mp"} {
		if err := e.svc.DeleteObject(ctx, "bkt", k); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := e.readAll(t, "bkt", "dst2", 0, -1), slices.Concat(m1, blobSrc); !bytes.Equal(got, want) {
		t.Fatalf("dst2 bytes differ")
	}

	var rangeErr *InvalidCopyRangeError
	var precond *PreconditionFailedError
	for _, tc := range []struct {
		name  string
		in    UploadPartCopyInput
		check func(error) bool
	}{
		{"range past end", UploadPartCopyInput{SourceKey: "inline", HasRange: true, RangeFirst: 0, RangeLast: 4}, func(err error) bool { return errors.As(err, &rangeErr) && rangeErr.Size == 4 }},
		{"range reversed", UploadPartCopyInput{SourceKey: "inline", HasRange: true, RangeFirst: 2, RangeLast: 1}, func(err error) bool { return errors.As(err, &rangeErr) }},
		{"no source", UploadPartCopyInput{SourceKey: "gone"}, func(err error) bool { return errors.Is(err, ErrNoSuchKey) }},
		{"no source bucket", UploadPartCopyInput{SourceBucket: "nob", SourceKey: "inline"}, func(err error) bool { return errors.Is(err, ErrNoSuchBucket) }},
		{"source if-match", UploadPartCopyInput{SourceKey: "inline", Condition: CopySourceCondition{IfMatch: `"x"`}}, func(err error) bool { return errors.As(err, &precond) }},
		{"no upload", UploadPartCopyInput{SourceKey: "inline", UploadID: "x"}, func(err error) bool { return errors.Is(err, ErrNoSuchUpload) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key, in.PartNumber = "bkt", "dst", 9
			if in.UploadID == "" {
				in.UploadID = up.UploadID
			}
			if in.SourceBucket == "" {
				in.SourceBucket = "bkt"
			}
			if _, _, err := e.svc.UploadPartCopy(ctx, in); !tc.check(err) {
				t.Fatalf("UploadPartCopy: %v", err)
			}
		})
	}
}

func TestListPartsAndUploads(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "k"})
	for _, n := range []int{1, 2, 3, 10, 10000} {
		e.mustUploadPart(t, up, n, []byte(strconv.Itoa(n)))
	}
	var got []int
	marker := 0
	for i := 0; i < 10; i++ {
		page, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "k", UploadID: up.UploadID, MaxParts: 2, PartNumberMarker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Parts {
			got = append(got, p.PartNumber)
			if p.Size != int64(len(strconv.Itoa(p.PartNumber))) {
				t.Errorf("part %d size %d", p.PartNumber, p.Size)
			}
		}
		if !page.IsTruncated {
			break
		}
		marker = page.NextPartNumberMarker
	}
	if !slices.Equal(got, []int{1, 2, 3, 10, 10000}) {
		t.Fatalf("paged parts %v", got)
	}

	keys := []string{"a/1", "a/2", "a/2", "bkt", "c/x/y", "c/z", "d\x00e", "d"}
	ids := map[string][]string{}
	for _, k := range keys {
		u := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: k})
		e.clock.Advance(1)
		ids[k] = append(ids[k], u.UploadID)
	}
	list := func(in ListUploadsInput) ListUploadsPage {
		t.Helper()
		in.Bucket = "bkt"
		p, err := e.svc.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	names := func(p ListUploadsPage) []string {
		var out []string
		for _, u := range p.Uploads {
			out = append(out, u.Key)
		}
		for _, cp := range p.CommonPrefixes {
			out = append(out, "CP:"+cp)
		}
		return out
	}
	all := list(ListUploadsInput{})
	if want := []string{"a/1", "a/2", "a/2", "bkt", "c/x/y", "c/z", "d", "d\x00e", "k"}; !slices.Equal(names(all), want) {
		t.Fatalf("all uploads %q, want %q", names(all), want)
	}
	if all.Uploads[1].UploadID != ids["a/2"][0] || all.Uploads[2].UploadID != ids["a/2"][1] {
		t.Errorf("uploads of one key not in initiation order")
	}
	if got := names(list(ListUploadsInput{Delimiter: "/"})); !slices.Equal(got, []string{"bkt", "d", "d\x00e", "k", "CP:a/", "CP:c/"}) {
		t.Errorf("delimiter listing %q", got)
	}
	if got := names(list(ListUploadsInput{Prefix: "c/", Delimiter: "/"})); !slices.Equal(got, []string{"c/z", "CP:c/x/"}) {
		t.Errorf("prefix+delimiter listing %q", got)
	}
	if got := names(list(ListUploadsInput{KeyMarker: "a/2"})); !slices.Equal(got, []string{"bkt", "c/x/y", "c/z", "d", "d\x00e", "k"}) {
		t.Errorf("key-marker listing %q", got)
	}
	if got := names(list(ListUploadsInput{KeyMarker: "a/2", UploadIDMarker: ids["a/2"][0]})); !slices.Equal(got, []string{"a/2", "bkt", "c/x/y", "c/z", "d", "d\x00e", "k"}) {
		t.Errorf("upload-id-marker listing %q", got)
	}
	// Paging with a delimiter never repeats a common prefix.
	var paged []string
	in := ListUploadsInput{Delimiter: "/", MaxUploads: 1}
	for i := 0; i < 20; i++ {
		p := list(in)
		paged = append(paged, names(p)...)
		if !p.IsTruncated {
			break
		}
		in.KeyMarker, in.UploadIDMarker = p.NextKeyMarker, p.NextUploadIDMarker
	}
	if want := []string{"CP:a/", "bkt", "CP:c/", "d", "d\x00e", "k"}; !slices.Equal(paged, want) {
		t.Errorf("paged delimiter listing %q, want %q", paged, want)
	}
	if _, err := e.svc.ListMultipartUploads(ctx, ListUploadsInput{Bucket: "nob"}); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
}

// A bucket whose only content is in-progress uploads can be deleted, as
// on S3; the uploads and their part references go with it.
func TestDeleteBucketDropsUploads(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	for i := range 3 {
		up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: fmt.Sprint("k", i)})
		e.mustUploadPart(t, up, 1, randBytes(int64(i), 100))
		e.mustUploadPart(t, up, 2, randBytes(int64(i+10), 100))
	}
	if got := e.referencedBlobs(t); len(got) != 6 {
		t.Fatalf("referenced part blobs %d, want 6", len(got))
	}
	if err := e.svc.DeleteBucket(ctx, "bkt"); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if got := e.referencedBlobs(t); len(got) != 0 {
		t.Fatalf("referenced blobs after DeleteBucket: %v", got)
	}
	e.mustCreateBucket(t, "bkt")
	if p, err := e.svc.ListMultipartUploads(ctx, ListUploadsInput{Bucket: "bkt"}); err != nil || len(p.Uploads) != 0 {
		t.Fatalf("uploads in the recreated bucket: %+v, %v", p, err)
	}
}

// CopyObject of a multipart object shares its parts.
func TestCopyMultipartSource(t *testing.T) {
	e := newEnv(t, 64)
	e.mustCreateBucket(t, "bkt")
	ctx := context.Background()
	up := e.mustCreateUpload(t, CreateUploadInput{Bucket: "bkt", Key: "mp"})
	p1, p2 := randBytes(1, MinPartSize), randBytes(2, 10)
	a, b := e.mustUploadPart(t, up, 1, p1), e.mustUploadPart(t, up, 2, p2)
	if _, err := e.svc.CompleteMultipartUpload(ctx, CompleteInput{Bucket: "bkt", Key: "mp", UploadID: up.UploadID, Parts: completeParts(a, b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CopyObject(ctx, CopyInput{SourceBucket: "bkt", SourceKey: "mp", Bucket: "bkt", Key: "copy"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteObject(ctx, "bkt", "mp"); err != nil {
		t.Fatal(err)
	}
	if got := e.readAll(t, "bkt", "copy", 0, -1); !bytes.Equal(got, slices.Concat(p1, p2)) {
		t.Fatal("copy of a multipart object differs")
	}
	if got := e.referencedBlobs(t); len(got) != 2 {
		t.Fatalf("referenced blobs %d, want the 2 parts", len(got))
	}
}
