package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// GetObject opens the object for reading. ErrNoSuchBucket, ErrNoSuchKey.
// The caller closes the Reader.
//
// The Reader yields the bytes [in.Offset, in.Offset+in.Length) of the object
// (Length -1: to the end). The caller resolves S3's Range header against the
// size first; a range that still reaches outside the object is clamped to
// it rather than failing.
func (s *Service) GetObject(ctx context.Context, in GetInput) (*Reader, error) {
	r, err := s.getObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get object %q/%q: %w", in.Bucket, in.Key, err)
	}
	return r, nil
}

func (s *Service) getObject(ctx context.Context, in GetInput) (*Reader, error) {
	// A blob can vanish between reading the record and opening the blob
	// only if the record was replaced meanwhile and the sweeper ran: the
	// record read again then names the new bytes. Twice in a row means
	// something is wrong, not a race.
	for attempt := 0; ; attempt++ {
		rec, err := s.readRecord(ctx, in.Bucket, in.Key, true)
		if err != nil {
			return nil, err
		}
		off, n := clampRange(rec.Size, in.Offset, in.Length)
		if len(rec.Parts) > 0 {
			body, err := s.openRange(rec, off, n)
			if errors.Is(err, storage.ErrNotFound) && attempt == 0 {
				continue
			}
			if err != nil {
				return nil, err
			}
			return &Reader{Object: rec.Object, ReadCloser: body}, nil
		}
		if rec.Blob == "" {
			body := io.NopCloser(bytes.NewReader(rec.Inline[off : off+n]))
			return &Reader{Object: rec.Object, ReadCloser: body}, nil
		}
		b, err := s.blobs.Open(rec.Blob)
		if errors.Is(err, storage.ErrNotFound) && attempt == 0 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open blob %s: %w", rec.Blob, err)
		}
		body := &blobReader{SectionReader: io.NewSectionReader(b, off, n), blob: b}
		return &Reader{Object: rec.Object, ReadCloser: body}, nil
	}
}

// clampRange resolves (offset, length) against size so that slicing and
// section reads can never go out of bounds.
func clampRange(size, offset, length int64) (off, n int64) {
	off = min(max(offset, 0), size)
	n = size - off
	if length >= 0 && length < n {
		n = length
	}
	return off, n
}

// blobReader reads a section of an open blob and closes the blob.
type blobReader struct {
	*io.SectionReader
	blob storage.Blob
}

func (r *blobReader) Close() error { return r.blob.Close() }

// HeadObject returns the object's record. ErrNoSuchBucket, ErrNoSuchKey.
func (s *Service) HeadObject(ctx context.Context, bucket, key string) (Object, error) {
	rec, err := s.readRecord(ctx, bucket, key, false)
	if err != nil {
		return Object{}, fmt.Errorf("head object %q/%q: %w", bucket, key, err)
	}
	return rec.Object, nil
}

// readRecord reads the current record of (bucket, key) in one snapshot.
//
// The object is read first and the bucket record only when the object is
// absent (to tell NoSuchBucket from NoSuchKey): an object record can only
// exist in a snapshot that also holds its bucket, since PutObject commits
// only while the bucket exists and DeleteBucket only while it is empty, both
// in serializable transactions. So the common case, a GET of an object that
// exists, costs one point read instead of two.
func (s *Service) readRecord(ctx context.Context, bucket, key string, wantData bool) (*record, error) {
	if !ValidBucketName(bucket) {
		// No such bucket can exist, and the object key of an invalid name
		// could alias another bucket's keys (a name with 0x00).
		return nil, ErrNoSuchBucket
	}
	var rec *record
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		v, err := tx.Get(objectKey(bucket, key))
		if errors.Is(err, storage.ErrNotFound) {
			if _, err := getBucket(tx, bucket); err != nil {
				return err
			}
			return ErrNoSuchKey
		}
		if err != nil {
			return err
		}
		rec, err = decodeRecord(bucket, key, v, wantData)
		return err
	})
	return rec, err
}

// DeleteObject removes the object; a missing key is not an error (S3 answers
// 204 either way). ErrNoSuchBucket. The record and its blob reference go in
// one commit; the Sweeper removes the blob once nothing references it.
func (s *Service) DeleteObject(ctx context.Context, bucket, key string) error {
	k := objectKey(bucket, key)
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		if err := releaseCurrent(tx, bucket, key, k); err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
		// S3 reports a delete whether or not the key existed (DeleteObject
		// is idempotent and answers 204 either way); the records commit
		// with the delete (DESIGN.md, Events).
		return s.publish(ctx, tx, event.Change{Name: event.ObjectRemovedDelete, Bucket: bucket, Key: key, Time: s.now()})
	})
	if err != nil {
		return fmt.Errorf("delete object %q/%q: %w", bucket, key, err)
	}
	return nil
}
