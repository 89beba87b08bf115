package object

import (
	"context"
	"fmt"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// MaxDeleteObjects is the most keys one DeleteObjects request names.
const MaxDeleteObjects = 1000

// DeleteResult is the outcome of one key of DeleteObjects: Err is nil
// when the key is deleted (or had no object), else ErrKeyTooLong or
// ErrInvalidKey.
type DeleteResult struct {
	Key string
	Err error
}

// DeleteObjects deletes up to MaxDeleteObjects keys of one bucket in one
// commit and returns one result per key, in the order given. A key that
// has no object counts as deleted, as in S3. Every deleted key reports
// s3:ObjectRemoved:Delete in that commit, whether or not it had an
// object, as DeleteObject does (S3 answers and reports a delete of a
// missing key like any other). ErrNoSuchBucket fails the whole request.
//
// One commit for the batch is one durable write instead of up to a
// thousand; a failed commit deletes nothing.
func (s *Service) DeleteObjects(ctx context.Context, bucket string, keys []string) ([]DeleteResult, error) {
	if len(keys) > MaxDeleteObjects {
		return nil, fmt.Errorf("delete objects %q: %d keys, at most %d", bucket, len(keys), MaxDeleteObjects)
	}
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("delete objects %q: %w", bucket, ErrNoSuchBucket)
	}
	results := make([]DeleteResult, len(keys))
	for i, key := range keys {
		results[i] = DeleteResult{Key: key, Err: checkKey(key)}
	}
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		now := s.now()
		done := make(map[string]bool, len(keys))
		for _, r := range results {
			if r.Err != nil || done[r.Key] {
				continue // a key named twice is deleted, and reported, once
			}
			done[r.Key] = true
			k := objectKey(bucket, r.Key)
			if err := releaseCurrent(tx, bucket, r.Key, k); err != nil {
				return err
			}
			if err := tx.Delete(k); err != nil {
				return err
			}
			if err := s.publish(ctx, tx, event.Change{Name: event.ObjectRemovedDelete, Bucket: bucket, Key: r.Key, Time: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete objects %q: %w", bucket, err)
	}
	return results, nil
}
