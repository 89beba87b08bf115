package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sluice/internal/object"
	"sluice/internal/storage"
)

// copySource is a parsed x-amz-copy-source.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource reads x-amz-copy-source: "bucket/key" URL-encoded, an
// optional leading '/', an optional "?versionId=". (Access point ARNs
// are not served.)
func parseCopySource(v string) (copySource, error) {
	bad := func(msg string) error {
		return invalidArgument(msg, "x-amz-copy-source", v)
	}
	path, query, _ := strings.Cut(v, "?")
	p, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return copySource{}, bad("Invalid copy source encoding")
	}
	var cs copySource
	var ok bool
	cs.bucket, cs.key, ok = strings.Cut(p, "/")
	if !ok || cs.bucket == "" || cs.key == "" {
		return copySource{}, bad("Invalid copy source object key")
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, bad("Invalid copy source encoding")
		}
		if q.Has("versionId") {
			cs.versionID = q.Get("versionId")
			switch cs.versionID {
			case object.NullVersion:
			case "":
				return copySource{}, bad("Version id cannot be the empty string")
			default:
				return copySource{}, bad("Invalid version id specified")
			}
		}
	}
	return cs, nil
}

// parseDirective reads x-amz-metadata-directive or x-amz-tagging-directive:
// COPY (the default) or REPLACE; replace reports REPLACE.
func parseDirective(hd http.Header, name, what string) (replace bool, err error) {
	switch v := hd.Get(name); v {
	case "", "COPY":
		return false, nil
	case "REPLACE":
		return true, nil
	default:
		return false, invalidArgument("Unknown "+what+" directive.", name, v)
	}
}

// parseWriteCondition reads If-Match and If-None-Match of a write. S3
// implements If-None-Match only as "*" (create if absent): another value
// is 501 NotImplemented, as S3 answers it.
func parseWriteCondition(hd http.Header) (object.WriteCondition, error) {
	c := object.WriteCondition{IfMatch: headerGet(hd, "If-Match"), IfNoneMatch: headerGet(hd, "If-None-Match")}
	if c.IfNoneMatch != "" && strings.TrimSpace(c.IfNoneMatch) != "*" {
		return c, newError(errNotImplemented, "Header", "If-None-Match")
	}
	return c, nil
}

// writeConditionError maps what a conditional write can fail with.
// Serializable commits order racing writes, so the loser normally sees
// the winner and gets 412; a commit that keeps conflicting until the
// engine gives up is S3's 409 ConditionalRequestConflict.
func writeConditionError(err error, c object.WriteCondition) error {
	if !c.IsZero() && errors.Is(err, storage.ErrConflict) {
		return newError(errConditionalRequestConflict)
	}
	return err
}

// parseCopySourceCondition reads the x-amz-copy-source-if-* headers; a
// date that does not parse is ignored, as for GetObject.
func parseCopySourceCondition(hd http.Header) object.CopySourceCondition {
	date := func(name string) time.Time {
		t, err := http.ParseTime(hd.Get(name))
		if err != nil {
			return time.Time{}
		}
		return t
	}
	return object.CopySourceCondition{
		IfMatch:           headerGet(hd, "X-Amz-Copy-Source-If-Match"),
		IfNoneMatch:       headerGet(hd, "X-Amz-Copy-Source-If-None-Match"),
		IfModifiedSince:   date("x-amz-copy-source-if-modified-since"),
		IfUnmodifiedSince: date("x-amz-copy-source-if-unmodified-since"),
	}
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	ChecksumType string   `xml:"ChecksumType,omitempty"`
	checksumXML
}

// copyObject is CopyObject (PUT with x-amz-copy-source).
func (h *Handler) copyObject(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	src, err := parseCopySource(headerGet(r.Header, "X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	replaceMeta, err := parseDirective(r.Header, "x-amz-metadata-directive", "metadata")
	if err != nil {
		return err
	}
	replaceTags, err := parseDirective(r.Header, "x-amz-tagging-directive", "tagging")
	if err != nil {
		return err
	}
	in := object.CopyInput{
		SourceBucket: src.bucket, SourceKey: src.key,
		Bucket: r.bucket, Key: r.key,
		SourceCondition: parseCopySourceCondition(r.Header),
		ReplaceMeta:     replaceMeta,
		ReplaceTags:     replaceTags,
	}
	if in.Condition, err = parseWriteCondition(r.Header); err != nil {
		return err
	}
	if replaceMeta {
		if in.Meta, err = parseMeta(r.Header); err != nil {
			return err
		}
	}
	if replaceTags {
		if in.Tags, err = parseTaggingHeader(headerGet(r.Header, "X-Amz-Tagging")); err != nil {
			return err
		}
	}
	obj, err := h.cfg.Objects.CopyObject(r.Context(), in)
	switch {
	case errors.Is(err, object.ErrNoSuchKey) && in.Condition.IfMatch == "":
		return newError(errNoSuchKey, "Key", src.key)
	case errors.Is(err, object.ErrNoSuchBucket):
		bucket := r.bucket
		if _, gerr := h.cfg.Objects.GetBucket(r.Context(), src.bucket); gerr != nil {
			bucket = src.bucket
		}
		return newError(errNoSuchBucket, "BucketName", bucket)
	case errors.Is(err, object.ErrCopyToItself):
		return newError(errInvalidRequest).withMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	case errors.Is(err, object.ErrCopySourceTooLarge):
		return newError(errInvalidRequest).withMessage("The specified copy source is larger than the maximum allowable size for a copy source: %d", object.MaxCopySize)
	case err != nil:
		return writeConditionError(err, in.Condition)
	}
	out := copyObjectResult{ETag: quoteETag(obj.ETag), LastModified: xmlTime(obj.LastModified)}
	if c := obj.Checksum; c != nil {
		out.ChecksumType = checksumTypeOf(c)
		out.checksumXML = newChecksumXML(c)
	}
	if src.versionID != "" {
		w.Header().Set("x-amz-copy-source-version-id", src.versionID)
	}
	return writeXML(w, &out)
}

// conditionOrTaggingError maps the domain errors of copy, conditional writes and tagging
// (toAPIError calls it).
func conditionOrTaggingError(err error) (*Error, bool) {
	var pf *object.PreconditionFailedError
	if errors.As(err, &pf) {
		return newError(errPreconditionFailed, "Condition", pf.Condition), true
	}
	if e, ok := taggingError(err); ok {
		return e, true
	}
	return nil, false
}
