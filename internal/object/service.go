package object

import "context"

// SCAFFOLD: the signatures below are the object domain's API; the bodies are
// being written (this file is replaced by the implementation).

// CreateBucket creates a bucket owned by owner. ErrInvalidBucketName,
// ErrBucketAlreadyOwnedByYou (Sluice has one account, so every existing
// bucket is the caller's).
func (s *Service) CreateBucket(ctx context.Context, name, owner string) error { panic("todo") }

// GetBucket returns the bucket's record, or ErrNoSuchBucket.
func (s *Service) GetBucket(ctx context.Context, name string) (Bucket, error) { panic("todo") }

// DeleteBucket removes an empty bucket. ErrNoSuchBucket, ErrBucketNotEmpty.
func (s *Service) DeleteBucket(ctx context.Context, name string) error { panic("todo") }

// ListBuckets returns one page of buckets in name order.
func (s *Service) ListBuckets(ctx context.Context, in ListBucketsInput) (ListBucketsPage, error) {
	panic("todo")
}

// PutObject streams in.Body into the store and commits the object record
// (replacing any previous one) only once every check passed. ErrNoSuchBucket,
// ErrKeyTooLong, ErrInvalidKey, ErrBadDigest, *ChecksumMismatchError,
// ErrIncompleteBody, ErrEntityTooLarge, or the body reader's own error
// (wrapped); on any error nothing is visible.
func (s *Service) PutObject(ctx context.Context, in PutInput) (Object, error) { panic("todo") }

// GetObject opens the object for reading. ErrNoSuchBucket, ErrNoSuchKey.
// The caller closes the Reader.
func (s *Service) GetObject(ctx context.Context, in GetInput) (*Reader, error) { panic("todo") }

// HeadObject returns the object's record. ErrNoSuchBucket, ErrNoSuchKey.
func (s *Service) HeadObject(ctx context.Context, bucket, key string) (Object, error) {
	panic("todo")
}

// DeleteObject removes the object; a missing key is not an error (S3 answers
// 204 either way). ErrNoSuchBucket.
func (s *Service) DeleteObject(ctx context.Context, bucket, key string) error { panic("todo") }

// ListObjects returns one page of the bucket's objects. ErrNoSuchBucket.
func (s *Service) ListObjects(ctx context.Context, in ListInput) (ListPage, error) {
	panic("todo")
}

// ValidBucketName reports whether name follows S3's bucket naming rules
// (general purpose buckets).
func ValidBucketName(name string) bool { panic("todo") }
