package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// StorageClassStandard is the only storage class Sluice has.
const StorageClassStandard = "STANDARD"

// DefaultContentType is what S3 stores when a PUT names no Content-Type.
const DefaultContentType = "binary/octet-stream"

// PutObject streams in.Body into the store and commits the object record
// (replacing any previous one) only once every check passed. ErrNoSuchBucket,
// ErrKeyTooLong, ErrInvalidKey, ErrBadDigest, *ChecksumMismatchError,
// ErrIncompleteBody, ErrEntityTooLarge, ErrInvalidChecksumAlgorithm, or the
// body reader's own error (wrapped); on any error nothing is visible.
//
// A body of at most InlineLimit bytes is kept in memory and stored inside
// the record (one commit). A longer one is streamed into a blob, so memory
// stays at InlineLimit+1 bytes plus the blob store's buffer whatever the
// size; the blob is referenced in the record's commit, or removed at once
// when a check fails.
func (s *Service) PutObject(ctx context.Context, in PutInput) (Object, error) {
	obj, err := s.putObject(ctx, in)
	if err != nil {
		return Object{}, fmt.Errorf("put object %q/%q: %w", in.Bucket, in.Key, err)
	}
	return obj, nil
}

func (s *Service) putObject(ctx context.Context, in PutInput) (Object, error) {
	if err := checkKey(in.Key); err != nil {
		return Object{}, err
	}
	if in.Size > MaxPutSize {
		return Object{}, ErrEntityTooLarge
	}
	alg := in.ChecksumAlgorithm
	if in.Checksum != nil {
		alg = in.Checksum.Algorithm
	}
	var sum hash.Hash
	if alg != "" || in.Checksum != nil {
		if sum = NewChecksumHash(alg); sum == nil {
			return Object{}, fmt.Errorf("%w %q", ErrInvalidChecksumAlgorithm, alg)
		}
	}
	// AWS answers NoSuchBucket without consuming the body; so do we. The
	// commit checks again, since the bucket may go while the body streams.
	// A bucket this Service saw existing and did not delete since needs
	// no read here (bucketHints); a conditional write still reads, since
	// a condition that already fails spares reading the body.
	if !in.Condition.IsZero() || !s.buckets.known(in.Bucket) {
		epoch := s.buckets.current()
		// The closure captures copies of the fields it needs, not in: a
		// captured in is moved to the heap, all of it, on every PUT.
		bucket, key, cond := in.Bucket, in.Key, in.Condition
		err := s.store.View(ctx, func(tx storage.ReadTx) error {
			if _, err := getBucket(tx, bucket); err != nil {
				return err
			}
			// The commit checks the condition again (condition.go).
			return cond.Check(tx, bucket, key)
		})
		if err != nil {
			return Object{}, err
		}
		s.buckets.add(in.Bucket, epoch)
	}

	body := &bodyReader{r: in.Body, md5: md5.New(), sum: sum, max: MaxPutSize}
	if in.Size >= 0 {
		body.max = in.Size
	}
	if in.Body == nil {
		body.r = bytes.NewReader(nil)
	}

	// Read up to InlineLimit+1 bytes: if the body ends within them the
	// object is inline, else these bytes are the start of the blob.
	bufLen := int64(s.inlineLimit) + 1
	if in.Size >= 0 && in.Size+1 < bufLen {
		bufLen = in.Size + 1 // a longer body fails on the size check anyway
	}
	// The buffer goes back to the pool once the record is committed:
	// encodeRecord copies the inline bytes, nothing else keeps them.
	pooled := s.readBufs.Get().(*[]byte)
	defer s.readBufs.Put(pooled)
	if int64(cap(*pooled)) < bufLen {
		*pooled = make([]byte, bufLen)
	}
	buf := (*pooled)[:bufLen]
	n, err := io.ReadFull(body, buf)
	var (
		inline []byte
		blob   storage.BlobID
	)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		inline = buf[:n]
	case err != nil:
		return Object{}, body.failure(err)
	default: // buf is full: more than InlineLimit bytes
		blob, _, err = s.blobs.Write(ctx, io.MultiReader(bytes.NewReader(buf[:n]), body))
		if err != nil {
			return Object{}, body.failure(err)
		}
	}

	obj, err := s.finishPut(ctx, in, body, inline, blob)
	if err != nil && blob != "" {
		s.discardBlob(ctx, blob)
	}
	return obj, err
}

// finishPut verifies the body that was read and commits the record.
func (s *Service) finishPut(ctx context.Context, in PutInput, body *bodyReader, inline []byte, blob storage.BlobID) (Object, error) {
	if in.Size >= 0 && body.n < in.Size {
		return Object{}, fmt.Errorf("%w: read %d of %d bytes", ErrIncompleteBody, body.n, in.Size)
	}
	md5sum := body.md5.Sum(body.md5sum[:0])
	if in.ContentMD5 != nil && !bytes.Equal(in.ContentMD5, md5sum) {
		return Object{}, ErrBadDigest
	}
	want := in.Checksum
	if want == nil && in.TrailingChecksum != nil {
		want = in.TrailingChecksum()
	}
	var cs *Checksum
	if body.sum != nil {
		alg := in.ChecksumAlgorithm
		if in.Checksum != nil {
			alg = in.Checksum.Algorithm
		}
		cs = &Checksum{Algorithm: alg, Value: ChecksumValue(body.sum)}
		if want != nil && (want.Algorithm != alg || want.Value != cs.Value) {
			return Object{}, &ChecksumMismatchError{Algorithm: want.Algorithm}
		}
	} else if want != nil {
		return Object{}, fmt.Errorf("%w %q", ErrInvalidChecksumAlgorithm, want.Algorithm)
	}

	meta := in.Meta
	if meta.ContentType == "" {
		meta.ContentType = DefaultContentType
	}
	rec := &record{
		Object: Object{
			Bucket:       in.Bucket,
			Key:          in.Key,
			VersionID:    NullVersion,
			Size:         body.n,
			ETag:         hex.EncodeToString(md5sum),
			LastModified: s.now(),
			Meta:         meta,
			Checksum:     cs,
			StorageClass: StorageClassStandard,
			Tags:         in.Tags,
		},
		Blob:   blob,
		Inline: inline,
	}
	v, err := encodeRecord(rec)
	if err != nil {
		return Object{}, err
	}
	k := objectKey(in.Bucket, in.Key)
	var owner []byte // only a blob has one to reference
	if blob != "" {
		owner = blobOwner(tableObject, in.Bucket, in.Key, NullVersion)
	}
	s.fail(FailpointPutBeforeCommit)
	// The closure captures copies of the fields it needs, not in (which
	// would be moved to the heap, all of it, on every PUT).
	bucket, key, cond, name := in.Bucket, in.Key, in.Condition, in.eventName()
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		if err := cond.Check(tx, bucket, key); err != nil {
			return err
		}
		if err := releaseCurrent(tx, bucket, key, k); err != nil {
			return err
		}
		if err := tx.Set(k, v); err != nil {
			return err
		}
		if blob != "" {
			if err := tx.RefBlob(blob, owner); err != nil {
				return err
			}
		}
		// The event records commit with the object (DESIGN.md, Events).
		return s.publish(ctx, tx, event.Change{Name: name, Bucket: bucket, Key: key,
			Size: rec.Size, ETag: rec.ETag, Time: rec.LastModified})
	})
	if err != nil {
		return Object{}, err
	}
	s.fail(FailpointPutCommitted)
	return rec.Object, nil
}

// releaseCurrent drops the blob reference of the current record under k, if
// there is one.
func releaseCurrent(tx storage.Tx, bucket, key string, k []byte) error {
	old, err := tx.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := decodeRecord(bucket, key, old, false)
	if err != nil {
		return err
	}
	return unrefRecord(tx, rec, blobOwner(tableObject, bucket, key, rec.VersionID))
}

// discardBlob removes a blob this PUT wrote and did not commit. It first
// checks that nothing references it: an Update that failed after committing
// (which the contract does not allow, but a remote engine might do) must not
// lose a visible object's bytes. Best effort: the Sweeper removes what is
// left after a crash or a failure here.
func (s *Service) discardBlob(ctx context.Context, id storage.BlobID) {
	ctx = context.WithoutCancel(ctx)
	var referenced bool
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		referenced, err = tx.BlobReferenced(id)
		return err
	})
	if err == nil && !referenced {
		err = s.blobs.Remove(id)
	}
	if err != nil {
		s.log.Warn("object: cannot remove an uncommitted blob; the sweeper will", "blob", string(id), "err", err)
	}
}

// bodyReader counts and hashes a PUT body and enforces its size limit. It
// keeps the first error of the client's reader so that it comes back out
// unchanged (errors.Is/As), however the blob store wrapped it.
type bodyReader struct {
	r   io.Reader
	md5 hash.Hash
	sum hash.Hash // the requested checksum, or nil
	n   int64
	max int64 // more bytes than this is ErrEntityTooLarge
	err error // the reader's error, or ErrEntityTooLarge
	// md5sum holds the final MD5, so that taking it allocates nothing.
	md5sum [md5.Size]byte
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Never read past max+1: one byte over proves the body too long, and an
	// endless body must not be drained.
	if room := b.max + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.md5.Write(p[:n])
	if b.sum != nil {
		b.sum.Write(p[:n])
	}
	b.n += int64(n)
	if b.n > b.max {
		b.err = ErrEntityTooLarge
		return n, b.err
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// failure is the error to return when reading or storing the body failed
// with err: the body's own error if it had one (wrapped for context), else
// err (a storage failure).
func (b *bodyReader) failure(err error) error {
	switch {
	case b.err == ErrEntityTooLarge:
		return fmt.Errorf("%w: body longer than %d bytes", ErrEntityTooLarge, b.max)
	case b.err != nil:
		return fmt.Errorf("read body: %w", b.err)
	}
	return err
}
