package object

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"sluice/internal/storage"
)

// Record formats. Every stored value starts with a format byte so that a
// later format can be read next to this one without a migration.
//
// Object record, format 1:
//
//	0x01, uvarint(len(header)), header (JSON of objectHeader), inline bytes
//
// The object's bytes follow the JSON header raw (not base64 inside the JSON)
// so an inline object costs its own size. A record with a Blob id has no
// inline bytes; a record without one is inline (possibly empty).
//
// Bucket record, format 1: 0x01, JSON of bucketRecord.
const recordFormat1 byte = 0x01

// errBadRecord: a stored value is not in a format this code reads.
var errBadRecord = errors.New("object: malformed record")

// objectHeader is the JSON part of an object record. Bucket and key are not
// stored: they are the record's storage key.
type objectHeader struct {
	VersionID    string         `json:"versionId"`
	Size         int64          `json:"size"`
	ETag         string         `json:"etag"`
	LastModified time.Time      `json:"lastModified"`
	Meta         Meta           `json:"meta"`
	Checksum     *Checksum      `json:"checksum,omitempty"`
	StorageClass string         `json:"storageClass"`
	Blob         storage.BlobID `json:"blob,omitempty"`
	Tags         []Tag          `json:"tags,omitempty"`
	// Parts counts the segments of a multipart object, which follow the
	// header instead of inline bytes (multipart_record.go).
	Parts int `json:"parts,omitempty"`
}

// record is a decoded object record.
type record struct {
	Object
	Blob   storage.BlobID // "" for an inline object
	Inline []byte         // the bytes of an inline object
	Parts  []segment      // a multipart object's bytes, one segment per part
}

func encodeRecord(r *record) ([]byte, error) {
	// The common case writes the header in place, after the format byte
	// and room for a two-byte uvarint of its length (any header of 128 to
	// 16383 bytes; the usual one is about 350): one buffer for the whole
	// record instead of a header buffer, its regrowth and a copy.
	const lenRoom = 2
	buf := make([]byte, 1+lenRoom, 1+lenRoom+512+len(r.Inline))
	buf[0] = recordFormat1
	if b, ok := appendHeaderFast(buf, r); ok {
		if n := len(b) - 1 - lenRoom; n >= 1<<7 && n < 1<<14 && len(r.Parts) == 0 {
			binary.PutUvarint(b[1:1+lenRoom], uint64(n))
			return append(b, r.Inline...), nil
		}
	}
	h, ok := appendHeaderFast(make([]byte, 0, 512), r)
	if !ok {
		var err error
		h, err = json.Marshal(objectHeader{
			VersionID:    r.VersionID,
			Size:         r.Size,
			ETag:         r.ETag,
			LastModified: r.LastModified,
			Meta:         r.Meta,
			Checksum:     r.Checksum,
			StorageClass: r.StorageClass,
			Blob:         r.Blob,
			Tags:         r.Tags,
			Parts:        len(r.Parts),
		})
		if err != nil {
			return nil, fmt.Errorf("encode object record: %w", err)
		}
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(h)+len(r.Inline))
	out = append(out, recordFormat1)
	out = binary.AppendUvarint(out, uint64(len(h)))
	out = append(out, h...)
	if len(r.Parts) > 0 {
		return appendSegments(out, r.Parts), nil
	}
	return append(out, r.Inline...), nil
}

// appendHeaderFast appends the JSON of r's objectHeader exactly as
// encoding/json writes it (same fields, order and escaping; tested byte
// for byte), without reflection: encoding the header was a measurable
// share of a small PUT's CPU. It handles the common case, strings of
// printable ASCII that need no escaping and a time encoding/json can
// write; anything else reports !ok and goes through json.Marshal.
func appendHeaderFast(b []byte, r *record) ([]byte, bool) {
	ok := true
	str := func(b []byte, s string) []byte {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
				ok = false
				return b
			}
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if len(r.Parts) > 0 || (r.Checksum != nil && r.Checksum.Type != "") {
		return nil, false // multipart objects are rare: the reflective path
	}
	if y := r.LastModified.Year(); y < 0 || y > 9999 {
		return nil, false // encoding/json refuses these
	}
	if _, off := r.LastModified.Zone(); off%60 != 0 {
		return nil, false // likewise
	}
	b = append(b, `{"versionId":`...)
	b = str(b, r.VersionID)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, r.Size, 10)
	b = append(b, `,"etag":`...)
	b = str(b, r.ETag)
	b = append(b, `,"lastModified":"`...)
	b = r.LastModified.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","meta":{"ContentType":`...)
	m := &r.Meta
	b = str(b, m.ContentType)
	b = append(b, `,"ContentEncoding":`...)
	b = str(b, m.ContentEncoding)
	b = append(b, `,"ContentDisposition":`...)
	b = str(b, m.ContentDisposition)
	b = append(b, `,"ContentLanguage":`...)
	b = str(b, m.ContentLanguage)
	b = append(b, `,"CacheControl":`...)
	b = str(b, m.CacheControl)
	b = append(b, `,"Expires":`...)
	b = str(b, m.Expires)
	b = append(b, `,"User":`...)
	if m.User == nil {
		b = append(b, "null"...)
	} else {
		names := make([]string, 0, len(m.User))
		for k := range m.User {
			names = append(names, k)
		}
		sort.Strings(names)
		b = append(b, '{')
		for i, k := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = str(b, k)
			b = append(b, ':')
			b = str(b, m.User[k])
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if r.Checksum != nil {
		b = append(b, `,"checksum":{"Algorithm":`...)
		b = str(b, string(r.Checksum.Algorithm))
		b = append(b, `,"Value":`...)
		b = str(b, r.Checksum.Value)
		b = append(b, '}')
	}
	b = append(b, `,"storageClass":`...)
	b = str(b, r.StorageClass)
	if r.Blob != "" {
		b = append(b, `,"blob":`...)
		b = str(b, string(r.Blob))
	}
	if len(r.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range r.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Key":`...)
			b = str(b, t.Key)
			b = append(b, `,"Value":`...)
			b = str(b, t.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return b, ok
}

// decodeRecord decodes v, which it does not retain: with wantData the inline
// bytes are copied (storage values die with their transaction); without it
// (listing, HEAD) they are checked and left out.
func decodeRecord(bucket, key string, v []byte, wantData bool) (*record, error) {
	if len(v) == 0 || v[0] != recordFormat1 {
		return nil, errBadRecord
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return nil, errBadRecord
	}
	hdr := v[1+w : 1+w+int(n)]
	var h objectHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	r := &record{
		Object: Object{
			Bucket:       bucket,
			Key:          key,
			VersionID:    h.VersionID,
			Size:         h.Size,
			ETag:         h.ETag,
			LastModified: h.LastModified,
			Meta:         h.Meta,
			Checksum:     h.Checksum,
			StorageClass: h.StorageClass,
			Tags:         h.Tags,
		},
		Blob: h.Blob,
	}
	if h.Parts > 0 {
		segs, err := decodeSegments(v[1+w+int(n):], h.Parts, h.Size)
		if err != nil {
			return nil, err
		}
		r.Parts = segs
		return r, nil
	}
	if h.Blob == "" {
		data := v[1+w+int(n):]
		if int64(len(data)) != h.Size {
			return nil, fmt.Errorf("%w: inline size %d, header says %d", errBadRecord, len(data), h.Size)
		}
		if wantData {
			r.Inline = append([]byte{}, data...)
		}
	}
	return r, nil
}

// bucketRecord is the JSON part of a bucket record.
type bucketRecord struct {
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

func encodeBucket(b Bucket) ([]byte, error) {
	j, err := json.Marshal(bucketRecord{Created: b.Created, Owner: b.Owner})
	if err != nil {
		return nil, fmt.Errorf("encode bucket record: %w", err)
	}
	return append([]byte{recordFormat1}, j...), nil
}

func decodeBucket(name string, v []byte) (Bucket, error) {
	if len(v) == 0 || v[0] != recordFormat1 {
		return Bucket{}, errBadRecord
	}
	if b, ok := decodeBucketFast(name, v[1:]); ok {
		return b, nil
	}
	var r bucketRecord
	if err := json.Unmarshal(v[1:], &r); err != nil {
		return Bucket{}, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return Bucket{Name: name, Created: r.Created, Owner: r.Owner}, nil
}

// decodeBucketFast decodes the exact JSON that encodeBucket writes,
// {"created":"<RFC 3339>","owner":"<string without escapes>"}, without
// encoding/json: the bucket record is read by every PutObject (twice) and
// its reflection-based decoding was a measurable share of a small PUT's
// CPU. Anything else (escapes, other field order, extra fields) reports
// !ok and goes through encoding/json.
func decodeBucketFast(name string, j []byte) (Bucket, bool) {
	const createdField, ownerField = `{"created":"`, `,"owner":"`
	rest, ok := bytes.CutPrefix(j, []byte(createdField))
	if !ok {
		return Bucket{}, false
	}
	created, rest, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return Bucket{}, false
	}
	rest, ok = bytes.CutPrefix(rest, []byte(ownerField))
	if !ok {
		return Bucket{}, false
	}
	owner, ok := bytes.CutSuffix(rest, []byte(`"}`))
	if !ok || bytes.IndexByte(owner, '"') >= 0 || bytes.IndexByte(owner, '\\') >= 0 {
		return Bucket{}, false
	}
	for _, c := range owner {
		if c < 0x20 {
			return Bucket{}, false
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(created))
	if err != nil {
		return Bucket{}, false
	}
	return Bucket{Name: name, Created: t, Owner: string(owner)}, true
}
