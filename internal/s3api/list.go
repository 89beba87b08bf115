package s3api

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sluice/internal/object"
)

// maxListKeys is the most keys S3 returns on one page, whatever max-keys
// asks for.
const maxListKeys = 1000

// listParams are the parameters ListObjects v1 and v2 share.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            bool // encoding-type=url
}

func parseListParams(q url.Values) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: maxListKeys}
	if v := q.Get("max-keys"); q.Has("max-keys") {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange), n > math.MaxInt32, errors.Is(err, strconv.ErrRange) && n > 0:
			return p, invalidArgument("Provided max-keys not an integer or within integer range", "max-keys", v)
		case n < 0:
			return p, invalidArgument("Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", strconv.FormatInt(n, 10))
		}
		p.maxKeys = int(min(n, maxListKeys))
	}
	if v := q.Get("encoding-type"); v != "" {
		if !strings.EqualFold(v, "url") {
			return p, invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", v)
		}
		p.encode = true
	}
	return p, nil
}

// enc percent-encodes a name for encoding-type=url as S3 does: form
// encoding (space as '+', so a literal '+' is %2B) with '/' kept.
// botocore decodes Key, Prefix, Delimiter, StartAfter, Marker and
// CommonPrefixes with unquote_plus.
func (p listParams) enc(s string) string {
	if !p.encode {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (h *Handler) listObjectsV2(w http.ResponseWriter, r *request) error {
	q := r.query
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	startAfter := q.Get("start-after")
	in := object.ListInput{Bucket: r.bucket, Prefix: p.prefix, Delimiter: p.delimiter, After: startAfter, MaxKeys: p.maxKeys}
	token := q.Get("continuation-token")
	if q.Has("continuation-token") {
		after, ok := decodeToken(token)
		// A token names a key or common prefix of this listing, so it
		// starts with the prefix; anything else is not one of ours.
		if !ok || !strings.HasPrefix(after, p.prefix) {
			return newError(errInvalidArgument, "ArgumentName", "continuation-token").withMessage(msgBadToken)
		}
		if after > in.After {
			in.After = after
		}
	}
	page, err := h.cfg.Objects.ListObjects(r.Context(), in)
	if err != nil {
		return err
	}
	var owner *ownerXML
	if q.Get("fetch-owner") == "true" {
		owner = &ownerXML{ID: h.cfg.Owner.ID, DisplayName: h.cfg.Owner.DisplayName}
	}
	out := h.listResult(r, p, page, owner)
	keyCount := len(out.Contents) + len(out.CommonPrefixes)
	out.KeyCount = &keyCount
	out.ContinuationToken = token
	out.StartAfter = p.enc(startAfter)
	if page.IsTruncated && page.Next != "" {
		out.NextContinuationToken = encodeToken(page.Next)
	}
	return writeXML(w, out)
}

func (h *Handler) listObjectsV1(w http.ResponseWriter, r *request) error {
	q := r.query
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	page, err := h.cfg.Objects.ListObjects(r.Context(), object.ListInput{
		Bucket: r.bucket, Prefix: p.prefix, Delimiter: p.delimiter, After: marker, MaxKeys: p.maxKeys,
	})
	if err != nil {
		return err
	}
	// Version 1 always lists the owner.
	out := h.listResult(r, p, page, &ownerXML{ID: h.cfg.Owner.ID, DisplayName: h.cfg.Owner.DisplayName})
	m := p.enc(marker)
	out.Marker = &m
	// S3 sends NextMarker only with a delimiter; without one, clients
	// continue from the last key of the page.
	if page.IsTruncated && p.delimiter != "" {
		out.NextMarker = p.enc(page.Next)
	}
	return writeXML(w, out)
}

// listResult fills what both versions share.
func (h *Handler) listResult(r *request, p listParams, page object.ListPage, owner *ownerXML) listBucketResult {
	out := listBucketResult{
		Name:        r.bucket,
		Prefix:      p.enc(p.prefix),
		Delimiter:   p.enc(p.delimiter),
		MaxKeys:     p.maxKeys,
		IsTruncated: page.IsTruncated,
	}
	if p.encode {
		out.EncodingType = "url"
	}
	for _, o := range page.Objects {
		ox := objectXML{
			Key:          p.enc(o.Key),
			LastModified: xmlTime(o.LastModified),
			ETag:         quoteETag(o.ETag),
			Size:         o.Size,
			Owner:        owner,
			StorageClass: o.StorageClass,
		}
		if ox.StorageClass == "" {
			ox.StorageClass = "STANDARD"
		}
		if o.Checksum != nil {
			ox.ChecksumAlgorithm, ox.ChecksumType = string(o.Checksum.Algorithm), "FULL_OBJECT"
		}
		out.Contents = append(out.Contents, ox)
	}
	for _, cp := range page.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefixXML{Prefix: p.enc(cp)})
	}
	return out
}
