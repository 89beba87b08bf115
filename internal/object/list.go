package object

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"sluice/internal/storage"
)

// MaxListKeys is the most entries (keys plus common prefixes) S3 returns in
// one page, whatever max-keys asks for.
const MaxListKeys = 1000

// ListObjects returns one page of the bucket's objects. ErrNoSuchBucket.
//
// The page is read from one snapshot. Keys come in UTF-8 byte order (the
// order of the 'o' table, see layout.go). With a Delimiter, every key whose
// rest after Prefix contains it is rolled into the common prefix that ends
// at its first occurrence; the common prefix counts toward MaxKeys like a
// key, and the listing seeks past all its keys instead of reading them.
// MaxKeys above MaxListKeys is MaxListKeys; 0 (or less) returns an empty,
// untruncated page once the bucket is known to exist.
func (s *Service) ListObjects(ctx context.Context, in ListInput) (ListPage, error) {
	page, err := s.listObjects(ctx, in)
	if err != nil {
		return ListPage{}, fmt.Errorf("list objects %q: %w", in.Bucket, err)
	}
	return page, nil
}

func (s *Service) listObjects(ctx context.Context, in ListInput) (ListPage, error) {
	maxKeys := min(in.MaxKeys, MaxListKeys)
	base := objectPrefix(in.Bucket)
	lower := append(bytes.Clone(base), in.Prefix...)
	upper := prefixSuccessor(lower) // never nil: base holds 0x00
	start := listStart(base, lower, in)

	var page ListPage
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		page = ListPage{}
		if _, err := getBucket(tx, in.Bucket); err != nil {
			return err
		}
		if maxKeys <= 0 || start == nil {
			return nil
		}
		return withIterator(tx, lower, upper, func(it storage.Iterator) error {
			return listPage(it, in, base, start, maxKeys, &page)
		})
	})
	return page, err
}

// listStart is the first storage key a page may return: just after After,
// and past the whole common prefix After lies under (ListInput.After). Nil
// means nothing can follow.
func listStart(base, lower []byte, in ListInput) []byte {
	start := lower
	if in.After == "" {
		return start
	}
	if a := keyAfter(append(bytes.Clone(base), in.After...)); bytes.Compare(a, start) > 0 {
		start = a
	}
	if cp, ok := commonPrefix(in.After, in.Prefix, in.Delimiter); ok {
		skip := prefixSuccessor(append(bytes.Clone(base), cp...))
		if skip == nil {
			return nil
		}
		if bytes.Compare(skip, start) > 0 {
			start = skip
		}
	}
	return start
}

// commonPrefix returns the common prefix key rolls into: key up to and
// including the first delimiter after prefix.
func commonPrefix(key, prefix, delimiter string) (string, bool) {
	if delimiter == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delimiter)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delimiter)], true
}

// listPage fills page from it, starting at start.
func listPage(it storage.Iterator, in ListInput, base, start []byte, maxKeys int, page *ListPage) error {
	count := 0
	for ok := it.SeekGE(start); ok; {
		if count == maxKeys {
			// Whatever key is here yields an entry of its own: the keys of
			// the last common prefix were skipped by the seek.
			page.IsTruncated = true
			return nil
		}
		key := objectKeyName(in.Bucket, it.Key())
		if cp, isCP := commonPrefix(key, in.Prefix, in.Delimiter); isCP {
			page.CommonPrefixes = append(page.CommonPrefixes, cp)
			page.Next = cp
			count++
			skip := prefixSuccessor(append(bytes.Clone(base), cp...))
			if skip == nil {
				return nil
			}
			ok = it.SeekGE(skip)
			continue
		}
		v, err := it.Value()
		if err != nil {
			return err
		}
		rec, err := decodeRecord(in.Bucket, key, v, false)
		if err != nil {
			return err
		}
		page.Objects = append(page.Objects, rec.Object)
		page.Next = key
		count++
		ok = it.Next()
	}
	return nil
}
