package object

import (
	"context"
	"fmt"

	"sluice/internal/storage"
)

// BucketRemover is implemented by a Publisher that keeps per-bucket state
// (the notification configuration): DeleteBucket calls BucketDeleted inside
// its own transaction, so that the state goes with the bucket and a bucket
// created again under the same name starts without it.
type BucketRemover interface {
	BucketDeleted(ctx context.Context, tx storage.Tx, bucket string) error
}

// UpdateBucket runs fn in a read-write transaction after checking, inside
// that transaction, that the bucket exists (ErrNoSuchBucket otherwise). It
// is how bucket subresources that other packages store (the notification
// configuration) are written: a concurrent DeleteBucket either commits
// first, and fn is not run, or sees fn's writes and removes them.
func (s *Service) UpdateBucket(ctx context.Context, bucket string, fn func(tx storage.Tx) error) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		return fn(tx)
	})
	if err != nil {
		return fmt.Errorf("update bucket %q: %w", bucket, err)
	}
	return nil
}

// ViewBucket runs fn on a snapshot in which the bucket exists
// (ErrNoSuchBucket otherwise).
func (s *Service) ViewBucket(ctx context.Context, bucket string, fn func(tx storage.ReadTx) error) error {
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		return fn(tx)
	})
	if err != nil {
		return fmt.Errorf("view bucket %q: %w", bucket, err)
	}
	return nil
}

// bucketDeleted tells the Publisher, if it keeps per-bucket state, that
// the bucket is being deleted in tx.
func (s *Service) bucketDeleted(ctx context.Context, tx storage.Tx, bucket string) error {
	if r, ok := s.events.(BucketRemover); ok {
		return r.BucketDeleted(ctx, tx, bucket)
	}
	return nil
}
