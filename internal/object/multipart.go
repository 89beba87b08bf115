package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// Multipart uploads (S3 API reference: CreateMultipartUpload, UploadPart,
// UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
// ListMultipartUploads).
//
// Key layout (beside layout.go's tables):
//
//	'u' uploads  'u' + bucket + 0x00 + escape(key) + uploadID
//	'p' parts    'p' + uploadID + BE16(partNumber)
//
// An upload id is UploadIDLength hex digits: the clock's nanoseconds (so the
// uploads of one key list in initiation order, as S3 lists them) followed
// by 24 bytes of crypto/rand (so an id cannot be guessed). Its fixed width
// lets the upload key be parsed after the escaped key. Part keys need no
// bucket or key: an upload id is unique in the store.
//
// Bytes: every part is a blob of its own (UploadPart) or a slice of the
// blob of an existing object (UploadPartCopy, when the range lies in one
// blob), referenced with the part key as owner (storage.Tx.RefBlob), so the
// Sweeper keeps it. CompleteMultipartUpload copies no byte: the object
// record lists its parts as (blob, offset, length) segments, references
// each blob with the object's owner and drops the parts' references in the
// same transaction; the upload and its unused parts go in it too. Abort and
// DeleteBucket drop the references of every part of the upload; the Sweeper
// removes the blobs nothing references any more.
const (
	tableUpload byte = 'u'
	tablePart   byte = 'p'
)

// Multipart limits (S3 User Guide, "Amazon S3 multipart upload limits").
const (
	MaxPartNumber = 10000
	// MinPartSize is the smallest part allowed before the last one.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part (and UploadPartCopy range).
	MaxPartSize = 5 << 30
	// MaxListParts and MaxListUploads are the page size limits of
	// ListParts and ListMultipartUploads.
	MaxListParts   = 1000
	MaxListUploads = 1000
	// UploadIDLength is the length of every upload id.
	UploadIDLength = 64
)

// Multipart errors. s3api maps each to its AWS error.
var (
	// ErrNoSuchUpload: the upload id names no upload of this bucket and
	// key (never created, aborted, or completed).
	ErrNoSuchUpload = errors.New("no such upload")
	// ErrInvalidPartOrder: CompleteMultipartUpload's parts are not in
	// strictly ascending part number order.
	ErrInvalidPartOrder = errors.New("parts not in ascending order")
	// ErrNoParts: CompleteMultipartUpload lists no part.
	ErrNoParts = errors.New("no parts")
	// ErrInvalidPartNumber: a part number outside 1..MaxPartNumber.
	ErrInvalidPartNumber = errors.New("invalid part number")
)

// InvalidPartError: a part of CompleteMultipartUpload was not uploaded, or
// its ETag or checksum differs from the uploaded part's.
type InvalidPartError struct {
	PartNumber int
	ETag       string
}

func (e *InvalidPartError) Error() string { return fmt.Sprintf("invalid part %d", e.PartNumber) }

// EntityTooSmallError: a part other than the last is below MinPartSize.
type EntityTooSmallError struct {
	PartNumber int
	ETag       string
	Size       int64
}

func (e *EntityTooSmallError) Error() string {
	return fmt.Sprintf("part %d is %d bytes, below the minimum part size", e.PartNumber, e.Size)
}

// MissingPartChecksumError: the upload was created with a checksum
// algorithm and CompleteMultipartUpload gave no checksum for a part.
type MissingPartChecksumError struct {
	Algorithm  ChecksumAlgorithm
	PartNumber int
}

func (e *MissingPartChecksumError) Error() string {
	return fmt.Sprintf("missing %s checksum of part %d", e.Algorithm, e.PartNumber)
}

// ChecksumTypeMismatchError: a part carries a checksum of another
// algorithm than its upload's.
type ChecksumTypeMismatchError struct{ Expected, Actual ChecksumAlgorithm }

func (e *ChecksumTypeMismatchError) Error() string {
	return fmt.Sprintf("checksum type mismatch: expected %s, got %s", e.Expected, e.Actual)
}

// InvalidCopyRangeError: UploadPartCopy's range lies outside the source.
type InvalidCopyRangeError struct{ Size int64 }

func (e *InvalidCopyRangeError) Error() string {
	return fmt.Sprintf("range not valid for a source of %d bytes", e.Size)
}

// Checksum types of a multipart object (x-amz-checksum-type).
const (
	ChecksumTypeComposite  = "COMPOSITE"
	ChecksumTypeFullObject = "FULL_OBJECT"
)

// Upload is an in-progress multipart upload.
type Upload struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	Meta      Meta
	Tags      []Tag
	// ChecksumAlgorithm is the algorithm every part is checksummed with
	// ("" when the upload was created without one), and ChecksumType
	// how the object's checksum is made of them.
	ChecksumAlgorithm ChecksumAlgorithm
	ChecksumType      string
	StorageClass      string
}

// Part is an uploaded part.
type Part struct {
	PartNumber   int
	Size         int64
	ETag         string // hex MD5 of the part, no quotes
	LastModified time.Time
	Checksum     *Checksum // the upload's algorithm, or what the client sent
}

// CreateUploadInput is a CreateMultipartUpload request.
type CreateUploadInput struct {
	Bucket string
	Key    string
	Meta   Meta
	Tags   []Tag
	// ChecksumAlgorithm and ChecksumType as x-amz-checksum-algorithm and
	// x-amz-checksum-type ask; an empty type means S3's default for the
	// algorithm (ValidateChecksumType).
	ChecksumAlgorithm ChecksumAlgorithm
	ChecksumType      string
}

// ChecksumTypeError: an algorithm and checksum type S3 does not combine.
type ChecksumTypeError struct {
	Algorithm ChecksumAlgorithm
	Type      string
}

func (e *ChecksumTypeError) Error() string {
	return fmt.Sprintf("the %s checksum type cannot be used with the %s checksum algorithm", e.Type, e.Algorithm)
}

// ValidateChecksumType resolves the checksum type of an upload: CRC64NVME
// allows only FULL_OBJECT, SHA1 and SHA256 only COMPOSITE, the CRC32s both
// (default COMPOSITE), as S3 does ("Checking object integrity", using
// part-level checksums for multipart uploads). *ChecksumTypeError.
func ValidateChecksumType(alg ChecksumAlgorithm, typ string) (string, error) {
	if alg == "" {
		if typ != "" {
			return "", &ChecksumTypeError{Algorithm: alg, Type: typ}
		}
		return "", nil
	}
	def := ChecksumTypeComposite
	if alg == CRC64NVME {
		def = ChecksumTypeFullObject
	}
	switch {
	case typ == "":
		return def, nil
	case typ == ChecksumTypeFullObject && (alg == SHA1 || alg == SHA256),
		typ == ChecksumTypeComposite && alg == CRC64NVME,
		typ != ChecksumTypeFullObject && typ != ChecksumTypeComposite:
		return "", &ChecksumTypeError{Algorithm: alg, Type: typ}
	}
	return typ, nil
}

// CreateMultipartUpload starts an upload and returns it with its new id.
// ErrNoSuchBucket, ErrKeyTooLong, ErrInvalidKey, ErrInvalidChecksumAlgorithm,
// *ChecksumTypeError.
func (s *Service) CreateMultipartUpload(ctx context.Context, in CreateUploadInput) (Upload, error) {
	up, err := s.createUpload(ctx, in)
	if err != nil {
		return Upload{}, fmt.Errorf("create multipart upload %q/%q: %w", in.Bucket, in.Key, err)
	}
	return up, nil
}

func (s *Service) createUpload(ctx context.Context, in CreateUploadInput) (Upload, error) {
	if err := checkKey(in.Key); err != nil {
		return Upload{}, err
	}
	if in.ChecksumAlgorithm != "" && NewChecksumHash(in.ChecksumAlgorithm) == nil {
		return Upload{}, fmt.Errorf("%w %q", ErrInvalidChecksumAlgorithm, in.ChecksumAlgorithm)
	}
	typ, err := ValidateChecksumType(in.ChecksumAlgorithm, in.ChecksumType)
	if err != nil {
		return Upload{}, err
	}
	now := s.now()
	id, err := newUploadID(s.uploadNanos(now))
	if err != nil {
		return Upload{}, err
	}
	meta := in.Meta
	if meta.ContentType == "" {
		meta.ContentType = DefaultContentType
	}
	up := Upload{
		Bucket: in.Bucket, Key: in.Key, UploadID: id, Initiated: now, Meta: meta, Tags: in.Tags,
		ChecksumAlgorithm: in.ChecksumAlgorithm, ChecksumType: typ, StorageClass: StorageClassStandard,
	}
	v, err := encodeUpload(up)
	if err != nil {
		return Upload{}, err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, in.Bucket); err != nil {
			return err
		}
		return tx.Set(uploadKey(in.Bucket, in.Key, id), v)
	})
	if err != nil {
		return Upload{}, err
	}
	return up, nil
}

// newUploadID returns a fresh upload id (see the layout above).
// uploadNanos is now in nanoseconds, or one more than the last upload's
// when the clock has not moved since (a coarse or fake clock), so that two
// uploads of one key started in turn list in that order.
func (s *Service) uploadNanos(now time.Time) int64 {
	for {
		last, n := s.lastUploadNanos.Load(), now.UnixNano()
		if n <= last {
			n = last + 1
		}
		if s.lastUploadNanos.CompareAndSwap(last, n) {
			return n
		}
	}
}

func newUploadID(nanos int64) (string, error) {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(nanos))
	if _, err := rand.Read(b[8:]); err != nil {
		return "", fmt.Errorf("upload id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validUploadID reports whether id has the shape of an id this package
// hands out; anything else is NoSuchUpload without a look-up (and can never
// make a malformed storage key).
func validUploadID(id string) bool {
	if len(id) != UploadIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// uploadBucketPrefix is the common prefix of every upload key of bucket.
func uploadBucketPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	k = append(k, tableUpload)
	k = append(k, bucket...)
	return append(k, 0x00)
}

// uploadKey is the key of an upload record.
func uploadKey(bucket, key, uploadID string) []byte {
	k := escapeKey(uploadBucketPrefix(bucket), key)
	return append(k, uploadID...)
}

// escapePrefix appends p escaped as escapeKey does, without the
// terminator: every escaped key that starts with p starts with it.
func escapePrefix(dst []byte, p string) []byte {
	e := escapeKey(dst, p)
	return e[:len(e)-len(keyTerminator)]
}

// partPrefix is the common prefix of the part keys of an upload.
func partPrefix(uploadID string) []byte {
	k := make([]byte, 0, 3+len(uploadID))
	k = append(k, tablePart)
	return append(k, uploadID...)
}

// partKey is the key of a part record; it is also the part's blob owner.
func partKey(uploadID string, n int) []byte {
	return binary.BigEndian.AppendUint16(partPrefix(uploadID), uint16(n))
}

// uploadRecord is the stored form of an upload (format 1: 0x01 + JSON).
type uploadRecord struct {
	Initiated         time.Time         `json:"initiated"`
	Meta              Meta              `json:"meta"`
	Tags              []Tag             `json:"tags,omitempty"`
	ChecksumAlgorithm ChecksumAlgorithm `json:"checksumAlgorithm,omitempty"`
	ChecksumType      string            `json:"checksumType,omitempty"`
	StorageClass      string            `json:"storageClass"`
}

// partRecord is the stored form of a part (format 1: 0x01 + JSON). Its
// bytes are [Offset, Offset+Size) of Blob.
type partRecord struct {
	Size         int64          `json:"size"`
	ETag         string         `json:"etag"`
	LastModified time.Time      `json:"lastModified"`
	Checksum     *Checksum      `json:"checksum,omitempty"`
	Blob         storage.BlobID `json:"blob"`
	Offset       int64          `json:"offset,omitempty"`
}

func encodeUpload(u Upload) ([]byte, error) {
	return encodeJSONRecord(uploadRecord{
		Initiated: u.Initiated, Meta: u.Meta, Tags: u.Tags,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType, StorageClass: u.StorageClass,
	})
}

func decodeUpload(bucket, key, id string, v []byte) (Upload, error) {
	var r uploadRecord
	if err := decodeJSONRecord(v, &r); err != nil {
		return Upload{}, err
	}
	return Upload{
		Bucket: bucket, Key: key, UploadID: id, Initiated: r.Initiated, Meta: r.Meta, Tags: r.Tags,
		ChecksumAlgorithm: r.ChecksumAlgorithm, ChecksumType: r.ChecksumType, StorageClass: r.StorageClass,
	}, nil
}

func (p *partRecord) part(n int) Part {
	return Part{PartNumber: n, Size: p.Size, ETag: p.ETag, LastModified: p.LastModified, Checksum: p.Checksum}
}

// getUpload reads the upload in tx. ErrNoSuchBucket, ErrNoSuchUpload.
func getUpload(tx storage.ReadTx, bucket, key, id string) (Upload, error) {
	if _, err := getBucket(tx, bucket); err != nil {
		return Upload{}, err
	}
	if !validUploadID(id) || checkKey(key) != nil {
		return Upload{}, ErrNoSuchUpload
	}
	v, err := tx.Get(uploadKey(bucket, key, id))
	if errors.Is(err, storage.ErrNotFound) {
		return Upload{}, ErrNoSuchUpload
	}
	if err != nil {
		return Upload{}, err
	}
	return decodeUpload(bucket, key, id, v)
}

// viewUpload reads the upload in its own snapshot.
func (s *Service) viewUpload(ctx context.Context, bucket, key, id string) (Upload, error) {
	var up Upload
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		up, err = getUpload(tx, bucket, key, id)
		return err
	})
	return up, err
}

// UploadPartInput is an UploadPart request. Body, Size, ContentMD5,
// Checksum, ChecksumAlgorithm and TrailingChecksum mean what they mean in
// PutInput.
type UploadPartInput struct {
	Bucket, Key, UploadID string
	PartNumber            int
	Body                  io.Reader
	Size                  int64
	ContentMD5            []byte
	Checksum              *Checksum
	ChecksumAlgorithm     ChecksumAlgorithm
	TrailingChecksum      func() *Checksum
}

// UploadPart streams a part into a blob of its own and records it under
// the upload, replacing a part of the same number (whose blob reference
// goes in the same commit). ErrNoSuchBucket, ErrNoSuchUpload,
// ErrInvalidPartNumber, ErrEntityTooLarge, ErrIncompleteBody, ErrBadDigest,
// *ChecksumMismatchError, *ChecksumTypeMismatchError, or the body's error;
// on any error the upload is unchanged. The part is checksummed with the
// upload's algorithm whether or not the client sent one.
func (s *Service) UploadPart(ctx context.Context, in UploadPartInput) (Part, error) {
	p, err := s.uploadPart(ctx, in)
	if err != nil {
		return Part{}, fmt.Errorf("upload part %d of %q/%q: %w", in.PartNumber, in.Bucket, in.Key, err)
	}
	return p, nil
}

func (s *Service) uploadPart(ctx context.Context, in UploadPartInput) (Part, error) {
	if in.PartNumber < 1 || in.PartNumber > MaxPartNumber {
		return Part{}, ErrInvalidPartNumber
	}
	if in.Size > MaxPartSize {
		return Part{}, ErrEntityTooLarge
	}
	// As PutObject: refuse before reading the body.
	up, err := s.viewUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return Part{}, err
	}
	alg := in.ChecksumAlgorithm
	if in.Checksum != nil {
		alg = in.Checksum.Algorithm
	}
	if up.ChecksumAlgorithm != "" {
		if alg != "" && alg != up.ChecksumAlgorithm {
			return Part{}, &ChecksumTypeMismatchError{Expected: up.ChecksumAlgorithm, Actual: alg}
		}
		alg = up.ChecksumAlgorithm
	}
	var sum hash.Hash
	if alg != "" {
		if sum = NewChecksumHash(alg); sum == nil {
			return Part{}, fmt.Errorf("%w %q", ErrInvalidChecksumAlgorithm, alg)
		}
	}
	body := &bodyReader{r: in.Body, md5: md5.New(), sum: sum, max: MaxPartSize}
	if in.Size >= 0 {
		body.max = in.Size
	}
	if in.Body == nil {
		body.r = bytes.NewReader(nil)
	}
	blob, _, err := s.blobs.Write(ctx, body)
	if err != nil {
		return Part{}, body.failure(err)
	}
	p, err := s.finishPart(ctx, in, body, alg, blob)
	if err != nil {
		s.discardBlob(ctx, blob)
	}
	return p, err
}

// verifyBody checks a body read to its end against the declared size,
// Content-MD5 and checksum, and returns its MD5 and computed checksum.
func verifyBody(body *bodyReader, size int64, contentMD5 []byte, alg ChecksumAlgorithm, sent *Checksum, trailing func() *Checksum) ([]byte, *Checksum, error) {
	if size >= 0 && body.n < size {
		return nil, nil, fmt.Errorf("%w: read %d of %d bytes", ErrIncompleteBody, body.n, size)
	}
	md5sum := body.md5.Sum(nil)
	if contentMD5 != nil && !bytes.Equal(contentMD5, md5sum) {
		return nil, nil, ErrBadDigest
	}
	want := sent
	if want == nil && trailing != nil {
		want = trailing()
	}
	if body.sum == nil {
		if want != nil {
			return nil, nil, fmt.Errorf("%w %q", ErrInvalidChecksumAlgorithm, want.Algorithm)
		}
		return md5sum, nil, nil
	}
	cs := &Checksum{Algorithm: alg, Value: ChecksumValue(body.sum)}
	if want != nil && (want.Algorithm != alg || want.Value != cs.Value) {
		return nil, nil, &ChecksumMismatchError{Algorithm: want.Algorithm}
	}
	return md5sum, cs, nil
}

func (s *Service) finishPart(ctx context.Context, in UploadPartInput, body *bodyReader, alg ChecksumAlgorithm, blob storage.BlobID) (Part, error) {
	md5sum, cs, err := verifyBody(body, in.Size, in.ContentMD5, alg, in.Checksum, in.TrailingChecksum)
	if err != nil {
		return Part{}, err
	}
	pr := partRecord{Size: body.n, ETag: hex.EncodeToString(md5sum), LastModified: s.now(), Checksum: cs, Blob: blob}
	return pr.part(in.PartNumber), s.commitPart(ctx, in.Bucket, in.Key, in.UploadID, in.PartNumber, pr, nil)
}

// commitPart records a part under its upload, replacing any part of the
// same number. check, when set, runs inside the transaction first (the
// source blob of a shared UploadPartCopy must still be referenced).
func (s *Service) commitPart(ctx context.Context, bucket, key, id string, n int, pr partRecord, check func(storage.Tx) error) error {
	v, err := encodeJSONRecord(pr)
	if err != nil {
		return err
	}
	k := partKey(id, n)
	return s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getUpload(tx, bucket, key, id); err != nil {
			return err
		}
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		if err := releasePart(tx, k); err != nil {
			return err
		}
		if err := tx.Set(k, v); err != nil {
			return err
		}
		return tx.RefBlob(pr.Blob, k)
	})
}

// releasePart drops the blob reference of the part stored under k, if
// any (the caller then overwrites or deletes k).
func releasePart(tx storage.Tx, k []byte) error {
	v, err := tx.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var old partRecord
	if err := decodeJSONRecord(v, &old); err != nil {
		return err
	}
	return tx.UnrefBlob(old.Blob, k)
}

// UploadPartCopyInput is an UploadPartCopy request.
type UploadPartCopyInput struct {
	Bucket, Key, UploadID string
	PartNumber            int
	SourceBucket          string
	SourceKey             string
	// HasRange selects bytes [RangeFirst, RangeLast] of the source
	// (x-amz-copy-source-range); without it the whole source is copied.
	HasRange              bool
	RangeFirst, RangeLast int64
	Condition             CopySourceCondition
}

// UploadPartCopy makes a part of bytes of an existing object. When the
// range lies inside one blob of the source (a blob object, or one part of
// a multipart object), the part shares that blob by reference with an
// offset and length: no byte is written, though all are read once for the
// part's MD5 ETag. Otherwise (an inline source, or a range spanning parts)
// the bytes are copied into a new blob: sharing would need a part made of
// several segments, for ranges that are rare and small enough to copy.
//
// It returns the part and the source object. ErrNoSuchBucket,
// ErrNoSuchUpload, ErrInvalidPartNumber, ErrNoSuchKey (source),
// *PreconditionFailedError, *InvalidCopyRangeError, ErrCopySourceTooLarge.
func (s *Service) UploadPartCopy(ctx context.Context, in UploadPartCopyInput) (Part, Object, error) {
	p, src, err := s.uploadPartCopy(ctx, in)
	if err != nil {
		return Part{}, Object{}, fmt.Errorf("upload part copy %d of %q/%q: %w", in.PartNumber, in.Bucket, in.Key, err)
	}
	return p, src, nil
}

// errSourceChanged: the source's blob lost its last reference between
// reading the source and committing the part; the copy starts over.
var errSourceChanged = errors.New("copy source changed")

func (s *Service) uploadPartCopy(ctx context.Context, in UploadPartCopyInput) (Part, Object, error) {
	if in.PartNumber < 1 || in.PartNumber > MaxPartNumber {
		return Part{}, Object{}, ErrInvalidPartNumber
	}
	for attempt := 0; ; attempt++ {
		p, src, err := s.copyPartOnce(ctx, in)
		if errors.Is(err, errSourceChanged) && attempt < 3 {
			continue
		}
		return p, src, err
	}
}

func (s *Service) copyPartOnce(ctx context.Context, in UploadPartCopyInput) (Part, Object, error) {
	up, err := s.viewUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return Part{}, Object{}, err
	}
	src, err := s.readRecord(ctx, in.SourceBucket, in.SourceKey, true)
	if err != nil {
		return Part{}, Object{}, err
	}
	if err := in.Condition.Check(src.Object); err != nil {
		return Part{}, Object{}, err
	}
	off, n := int64(0), src.Size
	if in.HasRange {
		if in.RangeFirst < 0 || in.RangeLast < in.RangeFirst || in.RangeLast >= src.Size {
			return Part{}, Object{}, &InvalidCopyRangeError{Size: src.Size}
		}
		off, n = in.RangeFirst, in.RangeLast-in.RangeFirst+1
	}
	if n > MaxPartSize {
		return Part{}, Object{}, ErrCopySourceTooLarge
	}
	var sum hash.Hash
	if up.ChecksumAlgorithm != "" {
		sum = NewChecksumHash(up.ChecksumAlgorithm)
	}
	rd, err := s.openRange(src, off, n)
	if err != nil {
		return Part{}, Object{}, err
	}
	defer rd.Close()
	body := &bodyReader{r: rd, md5: md5.New(), sum: sum, max: n}

	pr := partRecord{LastModified: s.now()}
	var check func(storage.Tx) error
	shared, shareOK := src.segmentOf(off, n)
	if shareOK {
		// Read the bytes only for their digests.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return Part{}, Object{}, body.failure(err)
		}
		pr.Blob, pr.Offset = shared.Blob, shared.Offset
		check = func(tx storage.Tx) error {
			ok, err := tx.BlobReferenced(shared.Blob)
			if err == nil && !ok {
				err = errSourceChanged
			}
			return err
		}
	} else {
		blob, _, err := s.blobs.Write(ctx, body)
		if err != nil {
			return Part{}, Object{}, body.failure(err)
		}
		pr.Blob = blob
	}
	if body.n != n {
		// The source's bytes are shorter than its record says: corruption.
		err = fmt.Errorf("%w: copy source has %d of %d bytes", errBadRecord, body.n, n)
	}
	if err == nil {
		pr.Size, pr.ETag = n, hex.EncodeToString(body.md5.Sum(nil))
		if sum != nil {
			pr.Checksum = &Checksum{Algorithm: up.ChecksumAlgorithm, Value: ChecksumValue(sum)}
		}
		err = s.commitPart(ctx, in.Bucket, in.Key, in.UploadID, in.PartNumber, pr, check)
	}
	if err != nil {
		if !shareOK {
			s.discardBlob(ctx, pr.Blob)
		}
		return Part{}, Object{}, err
	}
	return pr.part(in.PartNumber), src.Object, nil
}

// CompletePart is one <Part> of a CompleteMultipartUpload request.
type CompletePart struct {
	PartNumber int
	ETag       string // quoted or not
	// Checksum is the part's <Checksum*> element, if any.
	Checksum *Checksum
}

// CompleteInput is a CompleteMultipartUpload request.
type CompleteInput struct {
	Bucket, Key, UploadID string
	Parts                 []CompletePart
	Condition             WriteCondition
}

// CompleteMultipartUpload makes the listed parts the object's bytes, in
// one transaction that checks the parts and the write condition, writes
// the object record (replacing any previous object), moves the parts' blob
// references to the object, deletes the upload with all its parts (unused
// ones release their blobs) and publishes ObjectCreated:CompleteMultipartUpload.
// No byte is copied. ErrNoSuchBucket, ErrNoSuchUpload, ErrNoParts,
// ErrInvalidPartOrder, *InvalidPartError, *EntityTooSmallError,
// *MissingPartChecksumError, *PreconditionFailedError, ErrNoSuchKey
// (If-Match on a missing key); on any error nothing changes.
//
// The ETag is hex(md5(concatenated binary part MD5s))-N, as S3 computes
// it. With a COMPOSITE upload checksum the object's checksum is
// base64(hash(concatenated binary part checksums))-N; with FULL_OBJECT
// (the CRCs) it is the CRC of the whole object, combined from the parts'.
func (s *Service) CompleteMultipartUpload(ctx context.Context, in CompleteInput) (Object, error) {
	obj, err := s.completeUpload(ctx, in)
	if err != nil {
		return Object{}, fmt.Errorf("complete multipart upload %q/%q: %w", in.Bucket, in.Key, err)
	}
	return obj, nil
}

// FailpointCompleteBeforeCommit: CompleteMultipartUpload's transaction is
// about to run (crash tests: the upload must stay whole, no object).
const FailpointCompleteBeforeCommit = "object.complete.before-commit"

func (s *Service) completeUpload(ctx context.Context, in CompleteInput) (Object, error) {
	if len(in.Parts) == 0 {
		return Object{}, ErrNoParts
	}
	for i, p := range in.Parts {
		if p.PartNumber < 1 || p.PartNumber > MaxPartNumber {
			return Object{}, ErrInvalidPartNumber
		}
		if i > 0 && p.PartNumber <= in.Parts[i-1].PartNumber {
			return Object{}, ErrInvalidPartOrder
		}
	}
	s.fail(FailpointCompleteBeforeCommit)
	var rec *record
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		up, err := getUpload(tx, in.Bucket, in.Key, in.UploadID)
		if err != nil {
			return err
		}
		if err := in.Condition.Check(tx, in.Bucket, in.Key); err != nil {
			return err
		}
		rec, err = assemble(tx, up, in.Parts)
		if err != nil {
			return err
		}
		rec.LastModified = s.now()
		v, err := encodeRecord(rec)
		if err != nil {
			return err
		}
		k := objectKey(in.Bucket, in.Key)
		if err := releaseCurrent(tx, in.Bucket, in.Key, k); err != nil {
			return err
		}
		if err := tx.Set(k, v); err != nil {
			return err
		}
		owner := blobOwner(tableObject, in.Bucket, in.Key, NullVersion)
		for _, seg := range rec.Parts {
			if err := tx.RefBlob(seg.Blob, owner); err != nil {
				return err
			}
		}
		if err := dropUpload(tx, in.Bucket, in.Key, in.UploadID); err != nil {
			return err
		}
		return s.publish(ctx, tx, event.Change{Name: event.ObjectCreatedCompleteMultipartUpload,
			Bucket: in.Bucket, Key: in.Key, Size: rec.Size, ETag: rec.ETag, Time: rec.LastModified})
	})
	if err != nil {
		return Object{}, err
	}
	s.fail(FailpointPutCommitted)
	return rec.Object, nil
}

// assemble checks the listed parts against the stored ones and builds the
// object record (without LastModified).
func assemble(tx storage.Tx, up Upload, parts []CompletePart) (*record, error) {
	etags := md5.New()
	var sums []byte
	var combined uint64
	var size int64
	segs := make([]segment, 0, len(parts))
	for i, cp := range parts {
		v, err := tx.Get(partKey(up.UploadID, cp.PartNumber))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, &InvalidPartError{PartNumber: cp.PartNumber, ETag: cp.ETag}
		}
		if err != nil {
			return nil, err
		}
		var pr partRecord
		if err := decodeJSONRecord(v, &pr); err != nil {
			return nil, err
		}
		if !strings.EqualFold(strings.Trim(cp.ETag, `"`), pr.ETag) {
			return nil, &InvalidPartError{PartNumber: cp.PartNumber, ETag: cp.ETag}
		}
		if cp.Checksum != nil && (pr.Checksum == nil || *cp.Checksum != *pr.Checksum) {
			return nil, &InvalidPartError{PartNumber: cp.PartNumber, ETag: cp.ETag}
		}
		if up.ChecksumAlgorithm != "" && up.ChecksumType == ChecksumTypeComposite && cp.Checksum == nil {
			return nil, &MissingPartChecksumError{Algorithm: up.ChecksumAlgorithm, PartNumber: cp.PartNumber}
		}
		if i < len(parts)-1 && pr.Size < MinPartSize {
			return nil, &EntityTooSmallError{PartNumber: cp.PartNumber, ETag: cp.ETag, Size: pr.Size}
		}
		raw, err := hex.DecodeString(pr.ETag)
		if err != nil {
			return nil, fmt.Errorf("%w: part etag %q", errBadRecord, pr.ETag)
		}
		etags.Write(raw)
		if up.ChecksumAlgorithm != "" {
			if pr.Checksum == nil || pr.Checksum.Algorithm != up.ChecksumAlgorithm {
				return nil, fmt.Errorf("%w: part %d has no %s checksum", errBadRecord, cp.PartNumber, up.ChecksumAlgorithm)
			}
			b, err := decodeChecksum(*pr.Checksum)
			if err != nil {
				return nil, err
			}
			if up.ChecksumType == ChecksumTypeComposite {
				sums = append(sums, b...)
			} else {
				combined = combineCRC(up.ChecksumAlgorithm, combined, crcValue(b), pr.Size, i == 0)
			}
		}
		size += pr.Size
		segs = append(segs, segment{Blob: pr.Blob, Offset: pr.Offset, Length: pr.Size})
	}
	n := len(parts)
	rec := &record{
		Object: Object{
			Bucket: up.Bucket, Key: up.Key, VersionID: NullVersion, Size: size,
			ETag: hex.EncodeToString(etags.Sum(nil)) + "-" + strconv.Itoa(n),
			Meta: up.Meta, StorageClass: up.StorageClass, Tags: up.Tags,
		},
		Parts: segs,
	}
	switch {
	case up.ChecksumAlgorithm == "":
	case up.ChecksumType == ChecksumTypeComposite:
		h := NewChecksumHash(up.ChecksumAlgorithm)
		h.Write(sums)
		rec.Checksum = &Checksum{Algorithm: up.ChecksumAlgorithm, Value: ChecksumValue(h) + "-" + strconv.Itoa(n), Type: ChecksumTypeComposite}
	default:
		rec.Checksum = &Checksum{Algorithm: up.ChecksumAlgorithm, Value: encodeCRC(up.ChecksumAlgorithm, combined), Type: ChecksumTypeFullObject}
	}
	return rec, nil
}

// dropUpload deletes an upload and all its parts, releasing their blobs.
func dropUpload(tx storage.Tx, bucket, key, id string) error {
	lower := partPrefix(id)
	var keys [][]byte
	err := withIterator(tx, lower, prefixSuccessor(lower), func(it storage.Iterator) error {
		for ok := it.First(); ok; ok = it.Next() {
			keys = append(keys, bytes.Clone(it.Key()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := releasePart(tx, k); err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Delete(uploadKey(bucket, key, id))
}

// AbortMultipartUpload deletes the upload and its parts; the Sweeper
// removes their blobs. ErrNoSuchBucket, ErrNoSuchUpload.
func (s *Service) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		return dropUpload(tx, bucket, key, uploadID)
	})
	if err != nil {
		return fmt.Errorf("abort multipart upload %q/%q: %w", bucket, key, err)
	}
	return nil
}

// deleteBucketUploads drops every upload of bucket inside DeleteBucket's
// transaction: S3 deletes a bucket that has only in-progress uploads, and
// the uploads go with it (ceph/ceph#15630 and scality/cloudserver#1591
// record AWS doing so).
func deleteBucketUploads(tx storage.Tx, bucket string) error {
	lower := uploadBucketPrefix(bucket)
	type ref struct{ key, id string }
	var ups []ref
	err := withIterator(tx, lower, prefixSuccessor(lower), func(it storage.Iterator) error {
		for ok := it.First(); ok; ok = it.Next() {
			key, id, err := parseUploadKey(lower, it.Key())
			if err != nil {
				return err
			}
			ups = append(ups, ref{key, id})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range ups {
		if err := dropUpload(tx, bucket, u.key, u.id); err != nil {
			return err
		}
	}
	return nil
}

// parseUploadKey splits an upload key of the bucket whose upload prefix is
// base into its object key and upload id.
func parseUploadKey(base, k []byte) (key, id string, err error) {
	key, rest, err := unescapeKey(k[len(base):])
	if err != nil || len(rest) != UploadIDLength {
		return "", "", errBadLayoutKey
	}
	return key, string(rest), nil
}

// ListPartsInput is one page request of ListParts.
type ListPartsInput struct {
	Bucket, Key, UploadID string
	PartNumberMarker      int // parts after this number
	MaxParts              int // 0 or more than MaxListParts: MaxListParts
}

// ListPartsPage is one page of an upload's parts, by part number.
type ListPartsPage struct {
	Upload               Upload
	Parts                []Part
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListParts returns one page of the upload's parts. ErrNoSuchBucket,
// ErrNoSuchUpload.
func (s *Service) ListParts(ctx context.Context, in ListPartsInput) (ListPartsPage, error) {
	limit := in.MaxParts
	if limit <= 0 || limit > MaxListParts {
		limit = MaxListParts
	}
	var page ListPartsPage
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		page = ListPartsPage{}
		up, err := getUpload(tx, in.Bucket, in.Key, in.UploadID)
		if err != nil {
			return err
		}
		page.Upload = up
		lower := partPrefix(in.UploadID)
		start := partKey(in.UploadID, min(max(in.PartNumberMarker, 0), MaxPartNumber)+1)
		return withIterator(tx, lower, prefixSuccessor(lower), func(it storage.Iterator) error {
			for ok := it.SeekGE(start); ok; ok = it.Next() {
				if len(page.Parts) == limit {
					page.IsTruncated = true
					break
				}
				k := it.Key()
				n := int(binary.BigEndian.Uint16(k[len(lower):]))
				v, err := it.Value()
				if err != nil {
					return err
				}
				var pr partRecord
				if err := decodeJSONRecord(v, &pr); err != nil {
					return err
				}
				page.Parts = append(page.Parts, pr.part(n))
				page.NextPartNumberMarker = n
			}
			return nil
		})
	})
	if err != nil {
		return ListPartsPage{}, fmt.Errorf("list parts %q/%q: %w", in.Bucket, in.Key, err)
	}
	return page, nil
}

// ListUploadsInput is one page request of ListMultipartUploads.
type ListUploadsInput struct {
	Bucket    string
	Prefix    string
	Delimiter string
	// KeyMarker and UploadIDMarker: the page starts after the uploads of
	// KeyMarker, or, with UploadIDMarker, after that upload of KeyMarker.
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int // 0 or more than MaxListUploads: MaxListUploads
}

// ListUploadsPage is one page of uploads, by key then initiation.
type ListUploadsPage struct {
	Uploads            []Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// ListMultipartUploads returns one page of the bucket's in-progress
// uploads. ErrNoSuchBucket.
func (s *Service) ListMultipartUploads(ctx context.Context, in ListUploadsInput) (ListUploadsPage, error) {
	max := in.MaxUploads
	if max <= 0 || max > MaxListUploads {
		max = MaxListUploads
	}
	base := uploadBucketPrefix(in.Bucket)
	lower := escapePrefix(bytes.Clone(base), in.Prefix)
	upper := prefixSuccessor(lower)
	start := lower
	if in.KeyMarker != "" {
		var after []byte
		if in.UploadIDMarker != "" {
			after = keyAfter(append(escapeKey(bytes.Clone(base), in.KeyMarker), in.UploadIDMarker...))
		} else {
			after = prefixSuccessor(escapeKey(bytes.Clone(base), in.KeyMarker))
		}
		if bytes.Compare(after, start) > 0 {
			start = after
		}
		if cp, ok := commonPrefix(in.KeyMarker, in.Prefix, in.Delimiter); ok {
			if skip := prefixSuccessor(escapePrefix(bytes.Clone(base), cp)); bytes.Compare(skip, start) > 0 {
				start = skip
			}
		}
	}
	var page ListUploadsPage
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		page = ListUploadsPage{}
		if _, err := getBucket(tx, in.Bucket); err != nil {
			return err
		}
		return withIterator(tx, lower, upper, func(it storage.Iterator) error {
			count := 0
			for ok := it.SeekGE(start); ok; {
				if count == max {
					page.IsTruncated = true
					return nil
				}
				key, id, err := parseUploadKey(base, it.Key())
				if err != nil {
					return err
				}
				if cp, isCP := commonPrefix(key, in.Prefix, in.Delimiter); isCP {
					page.CommonPrefixes = append(page.CommonPrefixes, cp)
					page.NextKeyMarker, page.NextUploadIDMarker = cp, ""
					count++
					ok = it.SeekGE(prefixSuccessor(escapePrefix(bytes.Clone(base), cp)))
					continue
				}
				v, err := it.Value()
				if err != nil {
					return err
				}
				up, err := decodeUpload(in.Bucket, key, id, v)
				if err != nil {
					return err
				}
				page.Uploads = append(page.Uploads, up)
				page.NextKeyMarker, page.NextUploadIDMarker = key, id
				count++
				ok = it.Next()
			}
			return nil
		})
	})
	if err != nil {
		return ListUploadsPage{}, fmt.Errorf("list multipart uploads %q: %w", in.Bucket, err)
	}
	return page, nil
}

// PartInfo locates one part of an object (GetObject/HeadObject with
// partNumber).
type PartInfo struct {
	Number int
	Offset int64 // of the part's first byte in the object
	Length int64
	Count  int // the object's number of parts (x-amz-mp-parts-count); 0 for a single-part object
}

// ObjectPart returns the object and where its part n lies. An object not
// made by CompleteMultipartUpload has one part, the whole object.
// ErrNoSuchBucket, ErrNoSuchKey, ErrInvalidPartNumber (n beyond the parts).
func (s *Service) ObjectPart(ctx context.Context, bucket, key string, n int) (Object, PartInfo, error) {
	rec, err := s.readRecord(ctx, bucket, key, false)
	if err != nil {
		return Object{}, PartInfo{}, fmt.Errorf("object part %q/%q: %w", bucket, key, err)
	}
	if len(rec.Parts) == 0 {
		if n != 1 {
			return rec.Object, PartInfo{}, ErrInvalidPartNumber
		}
		return rec.Object, PartInfo{Number: 1, Length: rec.Size}, nil
	}
	if n < 1 || n > len(rec.Parts) {
		return rec.Object, PartInfo{Count: len(rec.Parts)}, ErrInvalidPartNumber
	}
	var off int64
	for _, seg := range rec.Parts[:n-1] {
		off += seg.Length
	}
	return rec.Object, PartInfo{Number: n, Offset: off, Length: rec.Parts[n-1].Length, Count: len(rec.Parts)}, nil
}

// encodeJSONRecord and decodeJSONRecord are the format-1 framing of the
// multipart records: 0x01 then JSON.
func encodeJSONRecord(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{recordFormat1}, j...), nil
}

func decodeJSONRecord(b []byte, v any) error {
	if len(b) == 0 || b[0] != recordFormat1 {
		return errBadRecord
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return nil
}
