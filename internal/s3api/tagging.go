package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"sluice/internal/object"
)

// maxTaggingBody bounds a PutObjectTagging document (10 tags of 128 and
// 256 characters are under 10 KiB even fully escaped).
const maxTaggingBody = 64 << 10

// taggingXML is the Tagging document of Get/PutObjectTagging.
type taggingXML struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	TagSet  struct {
		Tags []tagXML `xml:"Tag"`
	} `xml:"TagSet"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// taggingIn is the document as read: every element a pointer, so that a
// missing TagSet, Key or Value is told from an empty one.
type taggingIn struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  *struct {
		Tags []struct {
			Key   *string `xml:"Key"`
			Value *string `xml:"Value"`
		} `xml:"Tag"`
	} `xml:"TagSet"`
}

// parseTagging decodes a PutObjectTagging body. A document that is not
// <Tagging><TagSet> with a Key and a Value in every Tag is MalformedXML;
// the tags themselves are checked by object.ValidateTags.
func parseTagging(body []byte) ([]object.Tag, error) {
	var in taggingIn
	if err := xml.Unmarshal(body, &in); err != nil || in.TagSet == nil {
		return nil, newError(errMalformedXML)
	}
	tags := make([]object.Tag, 0, len(in.TagSet.Tags))
	for _, t := range in.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, newError(errMalformedXML)
		}
		tags = append(tags, object.Tag{Key: *t.Key, Value: *t.Value})
	}
	return tags, nil
}

// taggingHeaderError is S3's answer to an x-amz-tagging header it cannot
// read as a URL query.
func taggingHeaderError(v string) *Error {
	return invalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
		"x-amz-tagging", v)
}

// parseTaggingHeader reads x-amz-tagging (PutObject, CopyObject with
// REPLACE): "k1=v1&k2=v2", form-encoded. A pair without '=' is a key with
// the empty value. An empty key, a duplicate key, a bad escape or
// decoded bytes that are not UTF-8 are InvalidArgument; the tags then go
// through object.ValidateTags (count, characters, lengths).
func parseTaggingHeader(v string) ([]object.Tag, error) {
	if v == "" {
		return nil, nil
	}
	var tags []object.Tag
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil || key == "" || seen[key] || !utf8.ValidString(key) || !utf8.ValidString(value) {
			return nil, taggingHeaderError(v)
		}
		seen[key] = true
		tags = append(tags, object.Tag{Key: key, Value: value})
		if len(tags) > 4*object.MaxTags {
			break // already too many; ValidateTags says so without reading the rest
		}
	}
	return validTags(tags)
}

// validTags runs object.ValidateTags and returns its set.
func validTags(tags []object.Tag) ([]object.Tag, error) {
	out, err := object.ValidateTags(tags)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// taggingError maps the domain's tag errors to S3's answers (recorded
// S3 responses: 11 tags is BadRequest, the rest InvalidTag with the tag).
func taggingError(err error) (*Error, bool) {
	var te *object.InvalidTagError
	switch {
	case errors.Is(err, object.ErrTooManyTags):
		return newError(errBadRequest).withMessage("Object tags cannot be greater than 10"), true
	case errors.As(err, &te):
		switch te.Problem {
		case object.TagValueInvalid:
			return newError(errInvalidTag, "TagKey", te.Key, "TagValue", te.Value).withMessage("The TagValue you have provided is invalid"), true
		case object.TagKeyDuplicate:
			return newError(errInvalidTag, "TagKey", te.Key).withMessage("Cannot provide multiple Tags with the same key"), true
		case object.TagKeySystem:
			return newError(errInvalidTag, "TagKey", te.Key).withMessage("System tags cannot be added/updated by requester"), true
		}
		return newError(errInvalidTag, "TagKey", te.Key).withMessage("The TagKey you have provided is invalid"), true
	}
	return nil, false
}

func (h *Handler) getObjectTagging(w http.ResponseWriter, r *request) error {
	if err := checkVersionID(r); err != nil {
		return err
	}
	obj, err := h.cfg.Objects.HeadObject(r.Context(), r.bucket, r.key)
	if err != nil {
		return err
	}
	var out taggingXML
	out.TagSet.Tags = make([]tagXML, 0, len(obj.Tags))
	for _, t := range obj.Tags {
		out.TagSet.Tags = append(out.TagSet.Tags, tagXML(t))
	}
	return writeXML(w, &out)
}

func (h *Handler) putObjectTagging(w http.ResponseWriter, r *request) error {
	if err := checkVersionID(r); err != nil {
		return err
	}
	body, err := readDigestedBody(r, maxTaggingBody, true)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return newError(errMissingRequestBody)
	}
	tags, err := parseTagging(body)
	if err != nil {
		return err
	}
	if tags, err = validTags(tags); err != nil {
		return err
	}
	if _, err := h.cfg.Objects.PutObjectTagging(r.Context(), r.bucket, r.key, tags); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteObjectTagging(w http.ResponseWriter, r *request) error {
	if err := checkVersionID(r); err != nil {
		return err
	}
	if _, err := h.cfg.Objects.DeleteObjectTagging(r.Context(), r.bucket, r.key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setTaggingCount adds x-amz-tagging-count to a GetObject or HeadObject
// answer of a tagged object, as S3 does.
func setTaggingCount(hd http.Header, obj object.Object) {
	if len(obj.Tags) > 0 {
		hd.Set("x-amz-tagging-count", strconv.Itoa(len(obj.Tags)))
	}
}
