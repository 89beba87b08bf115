package object

import (
	"errors"
	"strings"
	"time"

	"sluice/internal/storage"
)

// PreconditionFailedError: a condition of the request does not hold for
// the current object (S3: 412 PreconditionFailed). Condition names the
// header that failed, as S3's <Condition> element does.
type PreconditionFailedError struct{ Condition string }

func (e *PreconditionFailedError) Error() string {
	return "precondition failed: " + e.Condition
}

// WriteCondition is a conditional write (S3 User Guide, "Conditional
// writes"): PutObject, CopyObject's destination and
// CompleteMultipartUpload take it. The zero value is unconditional.
type WriteCondition struct {
	// IfMatch is an ETag (quoted or not); the write happens only if the
	// current object has it. A missing object is ErrNoSuchKey, as S3
	// answers 404 for If-Match on a key that does not exist.
	IfMatch string
	// IfNoneMatch "*" writes only if the key has no object. (S3 accepts
	// no other value; the edge refuses others first.)
	IfNoneMatch string
}

// IsZero reports whether c asks for nothing.
func (c WriteCondition) IsZero() bool { return c.IfMatch == "" && c.IfNoneMatch == "" }

// Check evaluates c against the current object of (bucket, key) inside tx.
// Called inside the transaction that commits the write, it makes racing
// conditional writes serialisable: of two If-None-Match: * creates of
// one key, exactly one commits and the other gets the 412 (its retried
// transaction sees the winner's record). *PreconditionFailedError or
// ErrNoSuchKey; nil when the write may go ahead.
func (c WriteCondition) Check(tx storage.ReadTx, bucket, key string) error {
	if c.IsZero() {
		return nil
	}
	v, err := tx.Get(objectKey(bucket, key))
	exists := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if c.IfNoneMatch != "" && exists {
		return &PreconditionFailedError{Condition: "If-None-Match"}
	}
	if c.IfMatch == "" {
		return nil
	}
	if !exists {
		return ErrNoSuchKey
	}
	rec, err := decodeRecord(bucket, key, v, false)
	if err != nil {
		return err
	}
	if !ETagListMatches(c.IfMatch, rec.ETag) {
		return &PreconditionFailedError{Condition: "If-Match"}
	}
	return nil
}

// ETagListMatches reports whether a comma-separated If-Match or
// If-None-Match list names etag (hex, no quotes), quoted or not, or is
// "*".
func ETagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/") // a weak tag compares by its value (RFC 9110 8.8.3.2)
		if t == "*" || t == etag || t == `"`+etag+`"` {
			return true
		}
	}
	return false
}

// CopySourceCondition holds the x-amz-copy-source-if-* headers of
// CopyObject and UploadPartCopy. Zero fields are absent.
type CopySourceCondition struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
}

// Check evaluates the conditions against the source object as S3 pairs
// them (CopyObject API reference): a true If-Match overrides a false
// If-Unmodified-Since, and a false If-None-Match fails whatever
// If-Modified-Since says. Times compare at one-second granularity (an
// HTTP date has no fraction). *PreconditionFailedError or nil.
func (c CopySourceCondition) Check(obj Object) error {
	modified := obj.LastModified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !ETagListMatches(c.IfMatch, obj.ETag) {
			return &PreconditionFailedError{Condition: "x-amz-copy-source-If-Match"}
		}
	} else if !c.IfUnmodifiedSince.IsZero() && modified.After(c.IfUnmodifiedSince) {
		return &PreconditionFailedError{Condition: "x-amz-copy-source-If-Unmodified-Since"}
	}
	if c.IfNoneMatch != "" {
		if ETagListMatches(c.IfNoneMatch, obj.ETag) {
			return &PreconditionFailedError{Condition: "x-amz-copy-source-If-None-Match"}
		}
	} else if !c.IfModifiedSince.IsZero() && !modified.After(c.IfModifiedSince) {
		return &PreconditionFailedError{Condition: "x-amz-copy-source-If-Modified-Since"}
	}
	return nil
}
