package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"sluice/internal/object"
)

// maxUserMetadata is S3's limit on user metadata: "the sum of the number
// of bytes in the UTF-8 encoding of each key and value" is at most 2 KB
// (S3 User Guide, "Working with object metadata").
const maxUserMetadata = 2 << 10

const metaPrefix = "x-amz-meta-"

func (h *Handler) putObject(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	size, err := putLength(r)
	if err != nil {
		return err
	}
	if size > object.MaxPutSize {
		return newError(errEntityTooLarge,
			"ProposedSize", strconv.FormatInt(size, 10),
			"MaxSizeAllowed", strconv.FormatInt(object.MaxPutSize, 10))
	}
	meta, err := parseMeta(r.Header)
	if err != nil {
		return err
	}
	meta.ContentEncoding = storedContentEncoding(meta.ContentEncoding)
	contentMD5, err := parseContentMD5(r.Header)
	if err != nil {
		return err
	}
	trailerAlg, trailing, err := trailingChecksum(r)
	if err != nil {
		return err
	}
	sum, algorithm, err := parseChecksum(r.Header, trailerAlg)
	if err != nil {
		return err
	}
	tags, err := parseTaggingHeader(headerGet(r.Header, "X-Amz-Tagging"))
	if err != nil {
		return err
	}
	cond, err := parseWriteCondition(r.Header)
	if err != nil {
		return err
	}
	if sum == nil && algorithm == "" {
		// S3 gives every new object a full-object CRC64NVME when the
		// client sent no checksum (S3 User Guide, "Checking object
		// integrity", since December 2024).
		algorithm = object.CRC64NVME
	}
	obj, err := h.cfg.Objects.PutObject(r.Context(), object.PutInput{
		Bucket:            r.bucket,
		Key:               r.key,
		Body:              r.body,
		Size:              size,
		Meta:              meta,
		ContentMD5:        contentMD5,
		Checksum:          sum,
		ChecksumAlgorithm: algorithm,
		TrailingChecksum:  trailing,
		Tags:              tags,
		Condition:         cond,
	})
	if err != nil {
		return writeConditionError(err, cond)
	}
	hd := w.Header()
	// One backing array for both values, each slice capped at its one
	// element (an Add to either cannot write into the other).
	v := []string{quoteETag(obj.ETag), "0"}
	hd["Etag"] = v[0:1:1] // ETag, canonicalised
	if obj.Checksum != nil {
		setChecksumHeaders(hd, obj.Checksum)
	}
	hd["Content-Length"] = v[1:2:2]
	w.WriteHeader(http.StatusOK)
	return nil
}

// parseMeta reads the headers PutObject stores with the object.
//
// The six standard headers are picked up in the same pass over the
// headers as the user metadata, by their canonical names (what Header.Get
// would find): six lookups, each canonicalising its name first, cost more
// than that pass, and most of these headers are absent.
func parseMeta(hd http.Header) (object.Meta, error) {
	var m object.Meta
	size := 0
	for name, values := range hd {
		var std *string
		switch name {
		case "Content-Type":
			std = &m.ContentType
		case "Content-Encoding":
			std = &m.ContentEncoding
		case "Content-Disposition":
			std = &m.ContentDisposition
		case "Content-Language":
			std = &m.ContentLanguage
		case "Cache-Control":
			std = &m.CacheControl
		case "Expires":
			std = &m.Expires
		}
		if std != nil {
			if len(values) > 0 {
				*std = values[0]
			}
			continue
		}
		_, k, ok := cutPrefixLower(name, metaPrefix)
		if !ok || k == "" {
			continue
		}
		if m.User == nil {
			m.User = map[string]string{}
		}
		v := strings.Join(values, ",")
		m.User[k] = v
		size += len(k) + len(v)
	}
	if size > maxUserMetadata {
		return m, newError(errMetadataTooLarge, "Size", strconv.Itoa(size), "MaxSizeAllowed", strconv.Itoa(maxUserMetadata))
	}
	return m, nil
}

// cutPrefixLower is strings.CutPrefix(strings.ToLower(name), prefix) for
// a lower-case ASCII prefix, also returning the lower-cased name; it
// lower-cases (allocates) only names that have the prefix. PutObject
// looks through every request header twice for prefixes, and most
// headers have neither.
func cutPrefixLower(name, prefix string) (lname, rest string, ok bool) {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 { // ToLower's Unicode rules; net/http never lets one through
			lname = strings.ToLower(name)
			rest, ok = strings.CutPrefix(lname, prefix)
			return lname, rest, ok
		}
	}
	if len(name) < len(prefix) {
		return "", "", false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return "", "", false
		}
	}
	lname = strings.ToLower(name)
	return lname, lname[len(prefix):], true
}

// parseContentMD5 decodes Content-MD5; anything but the base64 of 16
// bytes is InvalidDigest.
func parseContentMD5(hd http.Header) ([]byte, error) {
	values, ok := hd["Content-Md5"]
	if !ok {
		return nil, nil
	}
	v := strings.Join(values, ",")
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != md5.Size {
		return nil, newError(errInvalidDigest, "Content-MD5", v)
	}
	return b, nil
}

// checksumSizes are the digest sizes of S3's checksum algorithms, to tell
// a malformed x-amz-checksum-* value before reading the body.
var checksumSizes = map[object.ChecksumAlgorithm]int{
	object.CRC32: 4, object.CRC32C: 4, object.CRC64NVME: 8, object.SHA1: 20, object.SHA256: 32,
}

// parseChecksum reads x-amz-checksum-<algorithm> and
// x-amz-sdk-checksum-algorithm as S3 does: at most one checksum header,
// a value of the algorithm's size, and an announced algorithm must come
// with its value, in a header or as the aws-chunked trailer trailerAlg
// names (whose value is verified at the end of the body).
func parseChecksum(hd http.Header, trailerAlg object.ChecksumAlgorithm) (*object.Checksum, object.ChecksumAlgorithm, error) {
	var sum *object.Checksum
	for name, values := range hd {
		lname, rest, ok := cutPrefixLower(name, "x-amz-checksum-")
		if !ok {
			continue
		}
		alg, known := object.ParseChecksumAlgorithm(rest)
		if !known {
			continue // x-amz-checksum-mode, -type, -algorithm
		}
		if sum != nil {
			return nil, "", newError(errInvalidRequest).withMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		v := strings.Join(values, ",")
		if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) != checksumSizes[alg] {
			return nil, "", newError(errInvalidRequest).withMessage("Value for %s header is invalid.", lname)
		}
		sum = &object.Checksum{Algorithm: alg, Value: v}
	}
	if trailerAlg != "" {
		if sum != nil {
			return nil, "", newError(errInvalidRequest).withMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		if a := headerGet(hd, "X-Amz-Sdk-Checksum-Algorithm"); a != "" && !strings.EqualFold(a, string(trailerAlg)) {
			return nil, "", newError(errInvalidRequest).withMessage("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		return nil, trailerAlg, nil
	}
	announced := headerGet(hd, "X-Amz-Sdk-Checksum-Algorithm")
	if announced == "" {
		return sum, "", nil
	}
	alg, ok := object.ParseChecksumAlgorithm(announced)
	if !ok {
		return nil, "", newError(errInvalidRequest).withMessage("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	if sum == nil {
		return nil, "", newError(errInvalidRequest).withMessage("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
	}
	if sum.Algorithm != alg {
		return nil, "", newError(errInvalidRequest).withMessage("Value for x-amz-sdk-checksum-algorithm header is invalid.")
	}
	return sum, alg, nil
}

func setChecksumHeaders(hd http.Header, c *object.Checksum) {
	// The canonical names of S3's five algorithms, so that a PUT does not
	// build and canonicalise the name on every response.
	name := ""
	switch c.Algorithm {
	case object.CRC64NVME:
		name = "X-Amz-Checksum-Crc64nvme"
	case object.CRC32:
		name = "X-Amz-Checksum-Crc32"
	case object.CRC32C:
		name = "X-Amz-Checksum-Crc32c"
	case object.SHA1:
		name = "X-Amz-Checksum-Sha1"
	case object.SHA256:
		name = "X-Amz-Checksum-Sha256"
	default:
		name = http.CanonicalHeaderKey("x-amz-checksum-" + strings.ToLower(string(c.Algorithm)))
	}
	// One backing array for both values (each slice capped at its one
	// element, so an Add to either cannot write into the other).
	v := []string{c.Value, checksumTypeOf(c)} // the type is COMPOSITE for some multipart objects
	hd[name] = v[0:1:1]
	hd["X-Amz-Checksum-Type"] = v[1:2:2]
}

func quoteETag(etag string) string { return `"` + etag + `"` }

func (h *Handler) getObject(w http.ResponseWriter, r *request) error {
	return h.readObject(w, r, true)
}

func (h *Handler) headObject(w http.ResponseWriter, r *request) error {
	return h.readObject(w, r, false)
}

// readObject answers GetObject (withBody) and HeadObject: the same
// headers, ranges and preconditions.
func (h *Handler) readObject(w http.ResponseWriter, r *request, withBody bool) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	if err := checkVersionID(r); err != nil {
		return err
	}
	if r.query.Has("partNumber") {
		return h.readObjectPart(w, r, withBody) // multipart.go
	}
	if withBody && headerGet(r.Header, "Range") == "" {
		// No range to resolve against the size: one look-up opens the
		// object, and the preconditions are checked on what was opened.
		rd, err := h.cfg.Objects.GetObject(r.Context(), object.GetInput{Bucket: r.bucket, Key: r.key, Offset: 0, Length: -1})
		if err != nil {
			return err
		}
		defer rd.Close()
		if done, err := checkPreconditions(w, r, rd.Object); done || err != nil {
			return err
		}
		writeObjectHeaders(w, r, rd.Object, nil)
		return h.copyBody(w, rd)
	}
	// The object may be replaced between the look-up that resolves the
	// range and the open; then the range is resolved again against the
	// new one (bounded: a key rewritten without pause gets an error).
	for attempt := 0; ; attempt++ {
		obj, err := h.cfg.Objects.HeadObject(r.Context(), r.bucket, r.key)
		if err != nil {
			return err
		}
		if done, err := checkPreconditions(w, r, obj); done || err != nil {
			return err
		}
		rg, err := parseRange(headerGet(r.Header, "Range"), obj.Size)
		if err != nil {
			return err
		}
		if !withBody {
			writeObjectHeaders(w, r, obj, rg)
			return nil
		}
		in := object.GetInput{Bucket: r.bucket, Key: r.key, Offset: 0, Length: -1}
		if rg != nil {
			in.Offset, in.Length = rg.offset, rg.length
		}
		changed, err := h.writeOpened(w, r, obj, in, rg)
		if changed {
			if attempt < 3 {
				continue
			}
			return newError(errInternalError)
		}
		return err
	}
}

// writeOpened opens in and writes the object's headers and bytes, when
// what it opened is still obj, the version the conditions and the range
// were checked against. changed reports that it was not (a write replaced
// the object in between): the caller looks it up again.
func (h *Handler) writeOpened(w http.ResponseWriter, r *request, obj object.Object, in object.GetInput, rg *byteRange) (changed bool, err error) {
	rd, err := h.cfg.Objects.GetObject(r.Context(), in)
	if err != nil {
		return false, err
	}
	defer rd.Close()
	if rd.ETag != obj.ETag || rd.Size != obj.Size || !rd.LastModified.Equal(obj.LastModified) {
		return true, nil
	}
	writeObjectHeaders(w, r, rd.Object, rg)
	return false, h.copyBody(w, rd)
}

// copyBody writes the opened object's bytes to w. An inline object's
// reader writes itself in one call; a blob is copied through a pooled
// buffer. (io.Copy would allocate and zero 32 KiB per GET: w is wrapped
// in recorders that hide net/http's pooled ReadFrom.)
func (h *Handler) copyBody(w io.Writer, rd *object.Reader) error {
	if wt, ok := rd.ReadCloser.(io.WriterTo); ok {
		_, err := wt.WriteTo(w)
		return err
	}
	bp := h.copyBufs.Get().(*[]byte)
	defer h.copyBufs.Put(bp)
	_, err := io.CopyBuffer(w, rd, *bp)
	return err
}

// checkVersionID accepts no versionId or "null" (every object is the null
// version until versioning exists).
func checkVersionID(r *request) error {
	if !r.query.Has("versionId") {
		return nil
	}
	v := r.query.Get("versionId")
	if v == object.NullVersion {
		return nil
	}
	if v == "" {
		return newError(errInvalidArgument, "ArgumentName", "versionId", "ArgumentValue", "").withMessage("Version id cannot be the empty string")
	}
	return newError(errInvalidArgument, "ArgumentName", "versionId", "ArgumentValue", v).withMessage("Invalid version id specified")
}

// byteRange is a satisfiable range of an object.
type byteRange struct{ offset, length, size int64 }

// parseRange resolves a Range header against an object of size bytes. A
// header S3 cannot parse (or several ranges) is ignored and the whole
// object is sent, as S3 does (RFC 9110, section 14.2); a range that
// starts past the end is 416 InvalidRange.
func parseRange(header string, size int64) (*byteRange, error) {
	if header == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, nil
	}
	unsatisfiable := func() error {
		return newError(errInvalidRange, "RangeRequested", header, "ActualObjectSize", strconv.FormatInt(size, 10)).
			withHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	}
	if first == "" { // suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, nil
		}
		if n == 0 || size == 0 {
			return nil, unsatisfiable()
		}
		n = min(n, size)
		return &byteRange{offset: size - n, length: n, size: size}, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return nil, nil
	}
	b := size - 1
	if last != "" {
		b, err = strconv.ParseInt(last, 10, 64)
		if err != nil || b < a {
			return nil, nil
		}
		b = min(b, size-1)
	}
	if a >= size {
		return nil, unsatisfiable()
	}
	return &byteRange{offset: a, length: b - a + 1, size: size}, nil
}

// responseOverrides are the GetObject query parameters that replace a
// stored header in the response.
var responseOverrides = [][2]string{
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
	{"response-content-language", "Content-Language"},
	{"response-content-type", "Content-Type"},
	{"response-expires", "Expires"},
}

// writeObjectHeaders sends the status line and headers of a GetObject or
// HeadObject answer.
func writeObjectHeaders(w http.ResponseWriter, r *request, obj object.Object, rg *byteRange) {
	hd := w.Header()
	hd.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
	hd.Set("ETag", quoteETag(obj.ETag))
	hd.Set("Accept-Ranges", "bytes")
	ct := obj.Meta.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	hd.Set("Content-Type", ct)
	for _, kv := range [][2]string{
		{"Content-Encoding", obj.Meta.ContentEncoding},
		{"Content-Disposition", obj.Meta.ContentDisposition},
		{"Content-Language", obj.Meta.ContentLanguage},
		{"Cache-Control", obj.Meta.CacheControl},
		{"Expires", obj.Meta.Expires},
	} {
		if kv[1] != "" {
			hd.Set(kv[0], kv[1])
		}
	}
	names := make([]string, 0, len(obj.Meta.User))
	for k := range obj.Meta.User {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// Lower-case on the wire, as S3 sends them (set directly: Set
		// would canonicalise the name).
		hd[metaPrefix+k] = []string{obj.Meta.User[k]}
	}
	for _, o := range responseOverrides {
		if v := r.query.Get(o[0]); v != "" {
			hd.Set(o[1], v)
		}
	}
	setTaggingCount(hd, obj)
	if obj.StorageClass != "" && obj.StorageClass != "STANDARD" {
		hd.Set("x-amz-storage-class", obj.StorageClass)
	}
	status, length := http.StatusOK, obj.Size
	if rg != nil {
		status, length = http.StatusPartialContent, rg.length
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(rg.offset, 10)+"-"+
			strconv.FormatInt(rg.offset+rg.length-1, 10)+"/"+strconv.FormatInt(rg.size, 10))
	} else if obj.Checksum != nil && strings.EqualFold(headerGet(r.Header, "X-Amz-Checksum-Mode"), "ENABLED") {
		// A checksum covers the whole object, so a range never gets one
		// (clients would fail to validate it).
		setChecksumHeaders(hd, obj.Checksum)
	}
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
}

// checkPreconditions applies If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since in RFC 9110's order, as S3 does. done reports
// that the answer (304) was sent.
func checkPreconditions(w http.ResponseWriter, r *request, obj object.Object) (done bool, err error) {
	etag := quoteETag(obj.ETag)
	modified := obj.LastModified.Truncate(time.Second)
	if v := headerGet(r.Header, "If-Match"); v != "" {
		if !etagListMatches(v, etag) {
			return false, newError(errPreconditionFailed, "Condition", "If-Match")
		}
	} else if v := headerGet(r.Header, "If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && modified.After(t) {
			return false, newError(errPreconditionFailed, "Condition", "If-Unmodified-Since")
		}
	}
	notModified := false
	if v := headerGet(r.Header, "If-None-Match"); v != "" {
		notModified = etagListMatches(v, etag)
	} else if v := headerGet(r.Header, "If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !modified.After(t) {
			notModified = true
		}
	}
	if notModified {
		hd := w.Header()
		hd.Set("ETag", etag)
		hd.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusNotModified)
		return true, nil
	}
	return false, nil
}

func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

func (h *Handler) deleteObject(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	if err := checkVersionID(r); err != nil {
		return err
	}
	if err := h.cfg.Objects.DeleteObject(r.Context(), r.bucket, r.key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
