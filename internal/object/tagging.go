package object

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// Tag is one object tag.
type Tag struct {
	Key   string
	Value string
}

// Object tag limits (S3 User Guide, "Categorizing your storage using
// tags": up to 10 tags, keys of 1 to 128 and values of 0 to 256 Unicode
// characters, counted in UTF-16 as S3 stores them).
const (
	MaxTags           = 10
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

// ErrTooManyTags: more than MaxTags tags (S3: 400 BadRequest).
var ErrTooManyTags = errors.New("object tags cannot be greater than 10")

// TagProblem says what is wrong with a tag.
type TagProblem int

// The problems ValidateTags reports, each an InvalidTag answer of S3's.
const (
	TagKeyInvalid   TagProblem = iota + 1 // empty, too long or a character outside the set
	TagValueInvalid                       // too long or a character outside the set
	TagKeyDuplicate                       // two tags with one key
	TagKeySystem                          // a key in the reserved "aws:" namespace
)

// InvalidTagError: a tag breaks one of S3's rules; Key and Value are the
// offending tag's.
type InvalidTagError struct {
	Problem    TagProblem
	Key, Value string
}

func (e *InvalidTagError) Error() string {
	switch e.Problem {
	case TagKeyDuplicate:
		return fmt.Sprintf("duplicate tag key %q", e.Key)
	case TagKeySystem:
		return fmt.Sprintf("system tag key %q", e.Key)
	case TagValueInvalid:
		return fmt.Sprintf("invalid tag value %q", e.Value)
	}
	return fmt.Sprintf("invalid tag key %q", e.Key)
}

// ValidateTags checks a tag set against S3's rules, in the order S3
// applies them as recorded: the count (ErrTooManyTags), then each tag's
// key and value, then duplicates (*InvalidTagError). It returns the set
// sorted by key, the order S3 answers GetObjectTagging in.
func ValidateTags(tags []Tag) ([]Tag, error) {
	if len(tags) > MaxTags {
		return nil, ErrTooManyTags
	}
	out := append([]Tag(nil), tags...)
	seen := make(map[string]bool, len(tags))
	for _, t := range out {
		if !validTagText(t.Key, 1, MaxTagKeyLength) {
			return nil, &InvalidTagError{Problem: TagKeyInvalid, Key: t.Key, Value: t.Value}
		}
		if !validTagText(t.Value, 0, MaxTagValueLength) {
			return nil, &InvalidTagError{Problem: TagValueInvalid, Key: t.Key, Value: t.Value}
		}
		if len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:") {
			return nil, &InvalidTagError{Problem: TagKeySystem, Key: t.Key, Value: t.Value}
		}
		if seen[t.Key] {
			return nil, &InvalidTagError{Problem: TagKeyDuplicate, Key: t.Key, Value: t.Value}
		}
		seen[t.Key] = true
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}

// validTagText reports whether s is UTF-8 of min to max UTF-16 code units
// made only of letters, numbers, white space and _ . : / = + - @ (the
// set S3's tag rules name).
func validTagText(s string, min, max int) bool {
	n := 0
	for _, r := range s {
		if r == unicode.ReplacementChar {
			return false // invalid UTF-8 (or a literal U+FFFD, not a letter either)
		}
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Zs, r) || r == ' ' ||
			strings.ContainsRune("_.:/=+-@", r)) {
			return false
		}
		n += utf16.RuneLen(r)
	}
	return n >= min && n <= max
}

// PutObjectTagging replaces the object's tag set with tags (already
// checked with ValidateTags) and reports s3:ObjectTagging:Put in the same
// commit. ErrNoSuchBucket, ErrNoSuchKey. It returns the object as tagged.
func (s *Service) PutObjectTagging(ctx context.Context, bucket, key string, tags []Tag) (Object, error) {
	obj, err := s.retag(ctx, bucket, key, tags, event.ObjectTaggingPut)
	if err != nil {
		return Object{}, fmt.Errorf("put object tagging %q/%q: %w", bucket, key, err)
	}
	return obj, nil
}

// DeleteObjectTagging removes every tag of the object and reports
// s3:ObjectTagging:Delete in the same commit (also when it had none).
// ErrNoSuchBucket, ErrNoSuchKey.
func (s *Service) DeleteObjectTagging(ctx context.Context, bucket, key string) (Object, error) {
	obj, err := s.retag(ctx, bucket, key, nil, event.ObjectTaggingDelete)
	if err != nil {
		return Object{}, fmt.Errorf("delete object tagging %q/%q: %w", bucket, key, err)
	}
	return obj, nil
}

// retag rewrites the current record with new tags in one transaction:
// the bytes, the blob reference and the Last-Modified stay (S3 does not
// change an object's Last-Modified or ETag when its tags change).
func (s *Service) retag(ctx context.Context, bucket, key string, tags []Tag, name event.Name) (Object, error) {
	if !ValidBucketName(bucket) {
		return Object{}, ErrNoSuchBucket
	}
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	k := objectKey(bucket, key)
	var obj Object
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		rec, err := currentRecord(tx, bucket, key, k, true)
		if err != nil {
			return err
		}
		rec.Tags = tags
		v, err := encodeRecord(rec)
		if err != nil {
			return err
		}
		if err := tx.Set(k, v); err != nil {
			return err
		}
		obj = rec.Object
		return s.publish(ctx, tx, event.Change{Name: name, Bucket: bucket, Key: key,
			Size: rec.Size, ETag: rec.ETag, Time: s.now()})
	})
	return obj, err
}

// currentRecord reads the record under k inside tx: ErrNoSuchKey when
// there is none (ErrNoSuchBucket when the bucket is missing too).
func currentRecord(tx storage.ReadTx, bucket, key string, k []byte, wantData bool) (*record, error) {
	v, err := tx.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		if _, err := getBucket(tx, bucket); err != nil {
			return nil, err
		}
		return nil, ErrNoSuchKey
	}
	if err != nil {
		return nil, err
	}
	return decodeRecord(bucket, key, v, wantData)
}
