package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"sluice/internal/storage"
)

// MaxListBuckets is the largest page ListBuckets returns (S3's max-buckets).
const MaxListBuckets = 10000

// CreateBucket creates a bucket owned by owner. ErrInvalidBucketName,
// ErrBucketAlreadyOwnedByYou (Sluice has one account, so every existing
// bucket is the caller's).
func (s *Service) CreateBucket(ctx context.Context, name, owner string) error {
	if !ValidBucketName(name) {
		return fmt.Errorf("create bucket %q: %w", name, ErrInvalidBucketName)
	}
	v, err := encodeBucket(Bucket{Name: name, Created: s.now(), Owner: owner})
	if err != nil {
		return err
	}
	k := bucketKey(name)
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		switch _, err := tx.Get(k); {
		case err == nil:
			return ErrBucketAlreadyOwnedByYou
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		return tx.Set(k, v)
	})
	if err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// GetBucket returns the bucket's record, or ErrNoSuchBucket.
func (s *Service) GetBucket(ctx context.Context, name string) (Bucket, error) {
	var b Bucket
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		b, err = getBucket(tx, name)
		return err
	})
	if err != nil {
		return Bucket{}, fmt.Errorf("get bucket %q: %w", name, err)
	}
	return b, nil
}

// DeleteBucket removes an empty bucket. ErrNoSuchBucket, ErrBucketNotEmpty.
// The emptiness check is a range read inside the deleting transaction, so a
// PutObject committing concurrently either lands first (and the delete fails)
// or sees the bucket gone.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := getBucket(tx, name); err != nil {
			return err
		}
		for _, lower := range [][]byte{objectPrefix(name), versionBucketPrefix(name)} {
			empty, err := rangeEmpty(tx, lower, prefixSuccessor(lower))
			if err != nil {
				return err
			}
			if !empty {
				return ErrBucketNotEmpty
			}
		}
		if err := deleteBucketUploads(tx, name); err != nil {
			return err
		}
		if err := s.bucketDeleted(ctx, tx, name); err != nil {
			return err
		}
		return tx.Delete(bucketKey(name))
	})
	if err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	s.buckets.forget(name)
	return nil
}

// ListBuckets returns one page of buckets in name order.
func (s *Service) ListBuckets(ctx context.Context, in ListBucketsInput) (ListBucketsPage, error) {
	max := in.MaxBuckets
	if max <= 0 || max > MaxListBuckets {
		max = MaxListBuckets
	}
	lower := bucketKey(in.Prefix)
	upper := prefixSuccessor(lower)
	start := lower
	if in.After != "" {
		if a := keyAfter(bucketKey(in.After)); bytes.Compare(a, start) > 0 {
			start = a
		}
	}
	var page ListBucketsPage
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		page = ListBucketsPage{}
		return withIterator(tx, lower, upper, func(it storage.Iterator) error {
			for ok := it.SeekGE(start); ok; ok = it.Next() {
				if len(page.Buckets) == max {
					page.IsTruncated = true
					page.Next = page.Buckets[len(page.Buckets)-1].Name
					break
				}
				v, err := it.Value()
				if err != nil {
					return err
				}
				b, err := decodeBucket(bucketKeyName(it.Key()), v)
				if err != nil {
					return err
				}
				page.Buckets = append(page.Buckets, b)
			}
			return nil
		})
	})
	if err != nil {
		return ListBucketsPage{}, fmt.Errorf("list buckets: %w", err)
	}
	return page, nil
}

// getBucket reads a bucket record in tx: ErrNoSuchBucket when absent.
func getBucket(tx storage.ReadTx, name string) (Bucket, error) {
	if !ValidBucketName(name) {
		// No such bucket can exist; the key would not even be well formed
		// (a name with 0x00 would alias another bucket's keys).
		return Bucket{}, ErrNoSuchBucket
	}
	v, err := tx.Get(bucketKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return Bucket{}, ErrNoSuchBucket
	}
	if err != nil {
		return Bucket{}, err
	}
	return decodeBucket(name, v)
}

// versionBucketPrefix is the common prefix of every 'v' key of bucket.
func versionBucketPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	k = append(k, tableVersion)
	k = append(k, bucket...)
	return append(k, 0x00)
}

// rangeEmpty reports whether [lower, upper) holds no key (and, inside an
// Update, registers the range as read).
func rangeEmpty(tx storage.ReadTx, lower, upper []byte) (bool, error) {
	var found bool
	err := withIterator(tx, lower, upper, func(it storage.Iterator) error {
		found = it.First()
		return nil
	})
	return !found, err
}

// withIterator runs fn over a new iterator of [lower, upper) and closes it
// exactly once, returning fn's error or else the iterator's.
func withIterator(tx storage.ReadTx, lower, upper []byte, fn func(storage.Iterator) error) error {
	it, err := tx.NewIterator(lower, upper)
	if err != nil {
		return err
	}
	err = fn(it)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// now is the clock's time as S3 keeps it: UTC, millisecond precision.
func (s *Service) now() time.Time {
	return s.clock.Now().UTC().Truncate(time.Millisecond)
}

// maxBucketHints bounds bucketHints; past it the hints start over, so a
// server with many buckets only pays the read it paid before.
const maxBucketHints = 4096

// bucketHints remembers buckets that PutObject saw existing, so that its
// early NoSuchBucket check (answered before the body is read, as S3 does)
// costs no snapshot and no point read for a bucket that is written to
// again and again. A hint is never what makes a write correct: the
// commit reads the bucket record in its own transaction and fails with
// ErrNoSuchBucket if it is gone (that read is what serializes PutObject
// against DeleteBucket). A stale hint would only make a PUT to a deleted
// bucket read its body before answering NoSuchBucket, so hints are kept
// exact for this Service: DeleteBucket forgets the name after its commit,
// and the epoch stops a PutObject whose read ran before that commit from
// adding the name back afterwards (see add).
type bucketHints struct {
	mu    sync.RWMutex
	names map[string]struct{}
	// epoch counts forget calls.
	epoch uint64
}

// known reports whether name was seen existing and not deleted since.
func (h *bucketHints) known(name string) bool {
	h.mu.RLock()
	_, ok := h.names[name]
	h.mu.RUnlock()
	return ok
}

// current returns the epoch to pass to add; read it before reading the
// bucket record.
func (h *bucketHints) current() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.epoch
}

// add records that name existed in a read that began after current
// returned epoch. If a bucket was deleted since (the epoch moved), that
// read may have preceded the delete's commit, so nothing is added.
func (h *bucketHints) add(name string, epoch uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.epoch != epoch {
		return
	}
	if h.names == nil || len(h.names) >= maxBucketHints {
		h.names = map[string]struct{}{}
	}
	h.names[name] = struct{}{}
}

// forget drops name once its deletion has committed.
func (h *bucketHints) forget(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.names, name)
	h.epoch++
}
