package object

import (
	"context"
	"errors"
	"fmt"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// MaxCopySize is the largest source CopyObject copies in one request
// (5 GiB); larger objects are copied with UploadPartCopy.
const MaxCopySize = 5 << 30

// Copy errors. s3api maps each to S3's InvalidRequest with its message.
var (
	// ErrCopyToItself: the source is the destination and nothing about
	// the object would change (no REPLACE directive).
	ErrCopyToItself = errors.New("copy to itself without changing anything")
	// ErrCopySourceTooLarge: the source is larger than MaxCopySize.
	ErrCopySourceTooLarge = errors.New("copy source larger than 5 GiB")
)

// CopyInput is a CopyObject request.
type CopyInput struct {
	SourceBucket, SourceKey string
	Bucket, Key             string
	// SourceCondition is checked against the source inside the copy's
	// transaction.
	SourceCondition CopySourceCondition
	// Condition is a conditional write on the destination.
	Condition WriteCondition
	// ReplaceMeta is x-amz-metadata-directive: REPLACE (Meta is stored);
	// else the source's metadata is copied.
	ReplaceMeta bool
	Meta        Meta
	// ReplaceTags is x-amz-tagging-directive: REPLACE (Tags, checked with
	// ValidateTags, are stored); else the source's tags are copied.
	ReplaceTags bool
	Tags        []Tag
}

// CopyObject copies a source object to the destination and reports
// s3:ObjectCreated:Copy in the same commit. ErrNoSuchBucket (source or
// destination bucket), ErrNoSuchKey (the source), ErrKeyTooLong,
// ErrInvalidKey, *PreconditionFailedError, ErrCopyToItself,
// ErrCopySourceTooLarge. It returns the new object.
//
// No byte is copied: a blob-backed copy adds a reference to the source's
// blob, an inline copy carries the source's bytes into its own record.
// The source is read and the destination written in one transaction, so
// a concurrent overwrite of the source gives either the old bytes or the
// new ones, whole, with their own ETag and metadata.
func (s *Service) CopyObject(ctx context.Context, in CopyInput) (Object, error) {
	obj, err := s.copyObject(ctx, in)
	if err != nil {
		return Object{}, fmt.Errorf("copy object %q/%q to %q/%q: %w", in.SourceBucket, in.SourceKey, in.Bucket, in.Key, err)
	}
	return obj, nil
}

func (s *Service) copyObject(ctx context.Context, in CopyInput) (Object, error) {
	if !ValidBucketName(in.SourceBucket) || !ValidBucketName(in.Bucket) {
		return Object{}, ErrNoSuchBucket
	}
	if err := checkKey(in.Key); err != nil {
		return Object{}, err
	}
	if err := checkKey(in.SourceKey); err != nil {
		return Object{}, err
	}
	srcK := objectKey(in.SourceBucket, in.SourceKey)
	dstK := objectKey(in.Bucket, in.Key)
	self := in.SourceBucket == in.Bucket && in.SourceKey == in.Key
	var out Object
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		src, err := currentRecord(tx, in.SourceBucket, in.SourceKey, srcK, true)
		if err != nil {
			return err
		}
		if err := in.SourceCondition.Check(src.Object); err != nil {
			return err
		}
		if src.Size > MaxCopySize {
			return ErrCopySourceTooLarge
		}
		if self && !in.ReplaceMeta {
			// S3 refuses this whatever the tagging directive says.
			return ErrCopyToItself
		}
		if !self {
			if _, err := getBucket(tx, in.Bucket); err != nil {
				return err
			}
		}
		if err := in.Condition.Check(tx, in.Bucket, in.Key); err != nil {
			return err
		}
		rec := &record{
			Object: Object{
				Bucket:       in.Bucket,
				Key:          in.Key,
				VersionID:    NullVersion,
				Size:         src.Size,
				ETag:         src.ETag,
				LastModified: s.now(),
				Meta:         src.Meta,
				Checksum:     src.Checksum,
				StorageClass: StorageClassStandard,
				Tags:         src.Tags,
			},
			Blob:   src.Blob,
			Inline: src.Inline,
			Parts:  src.Parts,
		}
		if in.ReplaceMeta {
			rec.Meta = in.Meta
			if rec.Meta.ContentType == "" {
				rec.Meta.ContentType = DefaultContentType
			}
		}
		if in.ReplaceTags {
			rec.Tags = in.Tags
		}
		v, err := encodeRecord(rec)
		if err != nil {
			return err
		}
		// Release the destination's old blob first: on a copy onto itself
		// the same reference is then taken again, in the same commit.
		if err := releaseCurrent(tx, in.Bucket, in.Key, dstK); err != nil {
			return err
		}
		if err := tx.Set(dstK, v); err != nil {
			return err
		}
		if err := refRecord(tx, rec, blobOwner(tableObject, in.Bucket, in.Key, NullVersion)); err != nil {
			return err
		}
		out = rec.Object
		return s.publish(ctx, tx, event.Change{Name: event.ObjectCreatedCopy, Bucket: in.Bucket, Key: in.Key,
			Size: rec.Size, ETag: rec.ETag, Time: rec.LastModified})
	})
	return out, err
}
