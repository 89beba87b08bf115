package s3api

import (
	"encoding/xml"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sluice/internal/object"
)

// Multipart uploads at the edge (aws-wire.md 5.5, "Multipart"): the seven
// operations, GetObject/HeadObject with partNumber, and the errors of
// object/multipart.go.

// maxCompleteBody bounds a CompleteMultipartUpload document: 10,000
// <Part> elements with an ETag and a checksum each fit in well under
// 400 bytes apiece.
const maxCompleteBody = 4 << 20

// checksumXML holds the Checksum* elements S3 writes for a checksum.
type checksumXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

func newChecksumXML(c *object.Checksum) checksumXML {
	var x checksumXML
	if c == nil {
		return x
	}
	switch c.Algorithm {
	case object.CRC32:
		x.ChecksumCRC32 = c.Value
	case object.CRC32C:
		x.ChecksumCRC32C = c.Value
	case object.CRC64NVME:
		x.ChecksumCRC64NVME = c.Value
	case object.SHA1:
		x.ChecksumSHA1 = c.Value
	case object.SHA256:
		x.ChecksumSHA256 = c.Value
	}
	return x
}

// checksum returns the one checksum element set, nil if none, and
// whether more than one is set.
func (x checksumXML) checksum() (*object.Checksum, bool) {
	var out *object.Checksum
	for _, c := range []object.Checksum{
		{Algorithm: object.CRC32, Value: x.ChecksumCRC32},
		{Algorithm: object.CRC32C, Value: x.ChecksumCRC32C},
		{Algorithm: object.CRC64NVME, Value: x.ChecksumCRC64NVME},
		{Algorithm: object.SHA1, Value: x.ChecksumSHA1},
		{Algorithm: object.SHA256, Value: x.ChecksumSHA256},
	} {
		if c.Value == "" {
			continue
		}
		if out != nil {
			return nil, false
		}
		out = &c
	}
	return out, true
}

// checksumTypeOf is the x-amz-checksum-type of a stored checksum.
func checksumTypeOf(c *object.Checksum) string {
	if c.Type != "" {
		return c.Type
	}
	return object.ChecksumTypeFullObject
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// createMultipartUpload is POST /bucket/key?uploads.
func (h *Handler) createMultipartUpload(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	meta, err := parseMeta(r.Header)
	if err != nil {
		return err
	}
	in := object.CreateUploadInput{Bucket: r.bucket, Key: r.key, Meta: meta}
	if v := headerGet(r.Header, "X-Amz-Checksum-Algorithm"); v != "" {
		alg, ok := object.ParseChecksumAlgorithm(v)
		if !ok {
			return newError(errInvalidRequest).withMessage("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
		in.ChecksumAlgorithm = alg
	}
	if v := headerGet(r.Header, "X-Amz-Checksum-Type"); v != "" {
		in.ChecksumType = strings.ToUpper(v)
		if in.ChecksumType != object.ChecksumTypeComposite && in.ChecksumType != object.ChecksumTypeFullObject {
			return newError(errInvalidRequest).withMessage("Value for x-amz-checksum-type header is invalid.")
		}
		if in.ChecksumAlgorithm == "" {
			return newError(errInvalidRequest).withMessage("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
	}
	if v := headerGet(r.Header, "X-Amz-Tagging"); v != "" {
		if in.Tags, err = parseTaggingHeader(v); err != nil {
			return err
		}
	}
	up, err := h.cfg.Objects.CreateMultipartUpload(r.Context(), in)
	if err != nil {
		return mpError(err, r)
	}
	if up.ChecksumAlgorithm != "" {
		w.Header().Set("x-amz-checksum-algorithm", string(up.ChecksumAlgorithm))
		w.Header().Set("x-amz-checksum-type", up.ChecksumType)
	}
	return writeXML(w, &initiateMultipartUploadResult{Bucket: r.bucket, Key: r.key, UploadID: up.UploadID})
}

// parsePartNumber reads partNumber: an integer in 1..10000.
func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > object.MaxPartNumber {
		return 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", v)
	}
	return n, nil
}

// uploadPart is PUT /bucket/key?partNumber=N&uploadId=U.
func (h *Handler) uploadPart(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	n, err := parsePartNumber(r.query.Get("partNumber"))
	if err != nil {
		return err
	}
	size, err := putLength(r)
	if err != nil {
		return err
	}
	if size > object.MaxPartSize {
		return newError(errEntityTooLarge,
			"ProposedSize", strconv.FormatInt(size, 10),
			"MaxSizeAllowed", strconv.FormatInt(object.MaxPartSize, 10))
	}
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
	p, err := h.cfg.Objects.UploadPart(r.Context(), object.UploadPartInput{
		Bucket: r.bucket, Key: r.key, UploadID: r.query.Get("uploadId"), PartNumber: n,
		Body: r.body, Size: size, ContentMD5: contentMD5,
		Checksum: sum, ChecksumAlgorithm: algorithm, TrailingChecksum: trailing,
	})
	if err != nil {
		return mpError(err, r)
	}
	hd := w.Header()
	hd.Set("ETag", quoteETag(p.ETag))
	if p.Checksum != nil {
		hd.Set("x-amz-checksum-"+strings.ToLower(string(p.Checksum.Algorithm)), p.Checksum.Value)
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumXML
}

// parseCopySourceRange reads x-amz-copy-source-range: "bytes=first-last",
// both given (S3 accepts no open or suffix range here).
func parseCopySourceRange(v string) (first, last int64, err error) {
	bad := invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
		"x-amz-copy-source-range", v)
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < 0 {
		return 0, 0, bad
	}
	return first, last, nil
}

// uploadPartCopy is PUT /bucket/key?partNumber=N&uploadId=U with
// x-amz-copy-source.
func (h *Handler) uploadPartCopy(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	n, err := parsePartNumber(r.query.Get("partNumber"))
	if err != nil {
		return err
	}
	src, err := parseCopySource(headerGet(r.Header, "X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	in := object.UploadPartCopyInput{
		Bucket: r.bucket, Key: r.key, UploadID: r.query.Get("uploadId"), PartNumber: n,
		SourceBucket: src.bucket, SourceKey: src.key, Condition: parseCopySourceCondition(r.Header),
	}
	if v := headerGet(r.Header, "X-Amz-Copy-Source-Range"); v != "" {
		in.HasRange = true
		if in.RangeFirst, in.RangeLast, err = parseCopySourceRange(v); err != nil {
			return err
		}
	}
	p, _, err := h.cfg.Objects.UploadPartCopy(r.Context(), in)
	var rangeErr *object.InvalidCopyRangeError
	switch {
	case errors.As(err, &rangeErr):
		return invalidArgument("Range specified is not valid for source object of size: "+strconv.FormatInt(rangeErr.Size, 10),
			"x-amz-copy-source-range", headerGet(r.Header, "X-Amz-Copy-Source-Range"))
	case errors.Is(err, object.ErrNoSuchKey):
		return newError(errNoSuchKey, "Key", src.key)
	case errors.Is(err, object.ErrNoSuchBucket):
		bucket := r.bucket
		if _, gerr := h.cfg.Objects.GetBucket(r.Context(), src.bucket); gerr != nil {
			bucket = src.bucket
		}
		return newError(errNoSuchBucket, "BucketName", bucket)
	case errors.Is(err, object.ErrCopySourceTooLarge):
		return newError(errInvalidRequest).withMessage("The specified copy source is larger than the maximum allowable size for a copy source: %d", object.MaxPartSize)
	case err != nil:
		return mpError(err, r)
	}
	if src.versionID != "" {
		w.Header().Set("x-amz-copy-source-version-id", src.versionID)
	}
	if p.Checksum != nil {
		w.Header().Set("x-amz-checksum-"+strings.ToLower(string(p.Checksum.Algorithm)), p.Checksum.Value)
	}
	return writeXML(w, &copyPartResult{ETag: quoteETag(p.ETag), LastModified: xmlTime(p.LastModified), checksumXML: newChecksumXML(p.Checksum)})
}

// completeRequest is the CompleteMultipartUpload document.
type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber *int   `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumXML
	} `xml:"Part"`
}

// parseCompleteRequest decodes a CompleteMultipartUpload body into the
// parts it lists, in document order. An empty body is InvalidRequest
// ("You must specify at least one part", as S3 answers); a document that
// does not parse, has another root, lists no part or more than 10,000, or
// a part without a PartNumber or ETag or with two checksums, is
// MalformedXML. Part numbers and their order are checked by the domain.
func parseCompleteRequest(body []byte) ([]object.CompletePart, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, newError(errInvalidRequest).withMessage("You must specify at least one part")
	}
	var doc completeRequest
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, newError(errMalformedXML)
	}
	if len(doc.Parts) == 0 || len(doc.Parts) > object.MaxPartNumber {
		return nil, newError(errMalformedXML)
	}
	parts := make([]object.CompletePart, len(doc.Parts))
	for i, p := range doc.Parts {
		sum, ok := p.checksum()
		if p.PartNumber == nil || p.ETag == "" || !ok {
			return nil, newError(errMalformedXML)
		}
		parts[i] = object.CompletePart{PartNumber: *p.PartNumber, ETag: strings.TrimSpace(p.ETag), Checksum: sum}
	}
	return parts, nil
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// completeMultipartUpload is POST /bucket/key?uploadId=U.
func (h *Handler) completeMultipartUpload(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	cond, err := parseWriteCondition(r.Header)
	if err != nil {
		return err
	}
	body, err := readDigestedBody(withoutObjectChecksums(r), maxCompleteBody, false)
	if err != nil {
		return err
	}
	parts, err := parseCompleteRequest(body)
	if err != nil {
		return err
	}
	obj, err := h.cfg.Objects.CompleteMultipartUpload(r.Context(), object.CompleteInput{
		Bucket: r.bucket, Key: r.key, UploadID: r.query.Get("uploadId"), Parts: parts, Condition: cond,
	})
	if err != nil {
		return mpError(writeConditionError(err, cond), r)
	}
	out := completeMultipartUploadResult{
		Location: h.objectURL(r, r.key), Bucket: r.bucket, Key: r.key, ETag: quoteETag(obj.ETag),
		checksumXML: newChecksumXML(obj.Checksum),
	}
	if obj.Checksum != nil {
		out.ChecksumType = checksumTypeOf(obj.Checksum)
	}
	return writeXML(w, &out)
}

// abortMultipartUpload is DELETE /bucket/key?uploadId=U.
func (h *Handler) abortMultipartUpload(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	if err := h.cfg.Objects.AbortMultipartUpload(r.Context(), r.bucket, r.key, r.query.Get("uploadId")); err != nil {
		return mpError(err, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type initiatorXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumXML
}

type listPartsResult struct {
	XMLName              xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string       `xml:"Bucket"`
	Key                  string       `xml:"Key"`
	UploadID             string       `xml:"UploadId"`
	PartNumberMarker     int          `xml:"PartNumberMarker"`
	NextPartNumberMarker int          `xml:"NextPartNumberMarker"`
	MaxParts             int          `xml:"MaxParts"`
	IsTruncated          bool         `xml:"IsTruncated"`
	Parts                []partXML    `xml:"Part"`
	Initiator            initiatorXML `xml:"Initiator"`
	Owner                ownerXML     `xml:"Owner"`
	StorageClass         string       `xml:"StorageClass"`
	ChecksumAlgorithm    string       `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string       `xml:"ChecksumType,omitempty"`
}

// parseMaxInt reads a non-negative integer parameter (max-parts,
// max-uploads, part-number-marker) and clamps it to limit.
func parseMaxInt(q url.Values, name string, def, limit int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	v := q.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, invalidArgument("Provided "+name+" not an integer or within integer range", name, v)
	}
	return int(min(n, int64(limit))), nil
}

// listParts is GET /bucket/key?uploadId=U.
func (h *Handler) listParts(w http.ResponseWriter, r *request) error {
	if len(r.key) > object.MaxKeyLength {
		return keyTooLong(r.key)
	}
	maxParts, err := parseMaxInt(r.query, "max-parts", object.MaxListParts, object.MaxListParts)
	if err != nil {
		return err
	}
	marker, err := parseMaxInt(r.query, "part-number-marker", 0, object.MaxPartNumber)
	if err != nil {
		return err
	}
	page := object.ListPartsPage{}
	if maxParts > 0 {
		page, err = h.cfg.Objects.ListParts(r.Context(), object.ListPartsInput{
			Bucket: r.bucket, Key: r.key, UploadID: r.query.Get("uploadId"), PartNumberMarker: marker, MaxParts: maxParts,
		})
	} else {
		// max-parts=0: an empty page, once the upload is known to exist.
		page, err = h.cfg.Objects.ListParts(r.Context(), object.ListPartsInput{
			Bucket: r.bucket, Key: r.key, UploadID: r.query.Get("uploadId"), PartNumberMarker: object.MaxPartNumber,
		})
	}
	if err != nil {
		return mpError(err, r)
	}
	owner := ownerXML{ID: h.cfg.Owner.ID, DisplayName: h.cfg.Owner.DisplayName}
	out := listPartsResult{
		Bucket: r.bucket, Key: r.key, UploadID: page.Upload.UploadID,
		PartNumberMarker: marker, NextPartNumberMarker: page.NextPartNumberMarker, MaxParts: maxParts,
		IsTruncated: page.IsTruncated, Initiator: initiatorXML(owner), Owner: owner,
		StorageClass: page.Upload.StorageClass, ChecksumAlgorithm: string(page.Upload.ChecksumAlgorithm),
		ChecksumType: page.Upload.ChecksumType,
	}
	for _, p := range page.Parts {
		out.Parts = append(out.Parts, partXML{PartNumber: p.PartNumber, LastModified: xmlTime(p.LastModified),
			ETag: quoteETag(p.ETag), Size: p.Size, checksumXML: newChecksumXML(p.Checksum)})
	}
	return writeXML(w, &out)
}

type uploadXML struct {
	Key               string       `xml:"Key"`
	UploadID          string       `xml:"UploadId"`
	Initiator         initiatorXML `xml:"Initiator"`
	Owner             ownerXML     `xml:"Owner"`
	StorageClass      string       `xml:"StorageClass"`
	Initiated         string       `xml:"Initiated"`
	ChecksumAlgorithm string       `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string       `xml:"ChecksumType,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name          `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string            `xml:"Bucket"`
	KeyMarker          string            `xml:"KeyMarker"`
	UploadIDMarker     string            `xml:"UploadIdMarker"`
	NextKeyMarker      string            `xml:"NextKeyMarker"`
	NextUploadIDMarker string            `xml:"NextUploadIdMarker"`
	Prefix             string            `xml:"Prefix"`
	Delimiter          string            `xml:"Delimiter,omitempty"`
	MaxUploads         int               `xml:"MaxUploads"`
	EncodingType       string            `xml:"EncodingType,omitempty"`
	IsTruncated        bool              `xml:"IsTruncated"`
	Uploads            []uploadXML       `xml:"Upload"`
	CommonPrefixes     []commonPrefixXML `xml:"CommonPrefixes"`
}

// listMultipartUploads is GET /bucket?uploads.
func (h *Handler) listMultipartUploads(w http.ResponseWriter, r *request) error {
	q := r.query
	maxUploads, err := parseMaxInt(q, "max-uploads", object.MaxListUploads, object.MaxListUploads)
	if err != nil {
		return err
	}
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter")}
	if v := q.Get("encoding-type"); v != "" {
		if !strings.EqualFold(v, "url") {
			return invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", v)
		}
		p.encode = true
	}
	in := object.ListUploadsInput{
		Bucket: r.bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads,
	}
	if in.KeyMarker == "" {
		in.UploadIDMarker = "" // S3 ignores upload-id-marker without key-marker
	}
	var page object.ListUploadsPage
	if maxUploads > 0 {
		page, err = h.cfg.Objects.ListMultipartUploads(r.Context(), in)
	} else {
		_, err = h.cfg.Objects.GetBucket(r.Context(), r.bucket)
	}
	if err != nil {
		return err
	}
	owner := ownerXML{ID: h.cfg.Owner.ID, DisplayName: h.cfg.Owner.DisplayName}
	out := listMultipartUploadsResult{
		Bucket: r.bucket, KeyMarker: p.enc(in.KeyMarker), UploadIDMarker: in.UploadIDMarker,
		Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter), MaxUploads: maxUploads, IsTruncated: page.IsTruncated,
	}
	if page.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = p.enc(page.NextKeyMarker), page.NextUploadIDMarker
	}
	if p.encode {
		out.EncodingType = "url"
	}
	for _, u := range page.Uploads {
		out.Uploads = append(out.Uploads, uploadXML{Key: p.enc(u.Key), UploadID: u.UploadID, Initiator: initiatorXML(owner), Owner: owner,
			StorageClass: u.StorageClass, Initiated: xmlTime(u.Initiated),
			ChecksumAlgorithm: string(u.ChecksumAlgorithm), ChecksumType: u.ChecksumType})
	}
	for _, cp := range page.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefixXML{Prefix: p.enc(cp)})
	}
	return writeXML(w, &out)
}

// readObjectPart answers GetObject and HeadObject with ?partNumber=N:
// the part's bytes as a 206 with Content-Range and, for a multipart
// object, x-amz-mp-parts-count. A part of an object not made of parts is
// part 1, the whole object.
func (h *Handler) readObjectPart(w http.ResponseWriter, r *request, withBody bool) error {
	v := r.query.Get("partNumber")
	n, err := parsePartNumber(v)
	if err != nil {
		return err
	}
	if headerGet(r.Header, "Range") != "" {
		return newError(errInvalidRequest).withMessage("Cannot specify both Range header and partNumber query parameter")
	}
	for attempt := 0; ; attempt++ {
		obj, pi, err := h.cfg.Objects.ObjectPart(r.Context(), r.bucket, r.key, n)
		if errors.Is(err, object.ErrInvalidPartNumber) {
			return newError(errInvalidPartNumber, "PartNumberRequested", v, "ActualPartCount", strconv.Itoa(max(pi.Count, 1)))
		}
		if err != nil {
			return err
		}
		if done, err := checkPreconditions(w, r, obj); done || err != nil {
			return err
		}
		if pi.Count > 0 {
			w.Header().Set("x-amz-mp-parts-count", strconv.Itoa(pi.Count))
		}
		rg := &byteRange{offset: pi.Offset, length: pi.Length, size: obj.Size}
		if !withBody {
			writeObjectHeaders(w, r, obj, rg)
			return nil
		}
		in := object.GetInput{Bucket: r.bucket, Key: r.key, Offset: pi.Offset, Length: pi.Length}
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

// mpError maps the domain errors of multipart uploads where the upload id
// is known (it is an element of several of them); others pass through to
// toAPIError.
func mpError(err error, r *request) error {
	if e, ok := multipartError(err, r.query.Get("uploadId")); ok {
		return e
	}
	return err
}

func multipartError(err error, uploadID string) (*Error, bool) {
	var (
		invalidPart *object.InvalidPartError
		tooSmall    *object.EntityTooSmallError
		missing     *object.MissingPartChecksumError
		typeMis     *object.ChecksumTypeMismatchError
		typeErr     *object.ChecksumTypeError
	)
	switch {
	case errors.Is(err, object.ErrNoSuchUpload):
		return newError(errNoSuchUpload, "UploadId", uploadID), true
	case errors.Is(err, object.ErrInvalidPartOrder):
		return newError(errInvalidPartOrder, "UploadId", uploadID), true
	case errors.Is(err, object.ErrNoParts):
		return newError(errMalformedXML), true
	case errors.Is(err, object.ErrInvalidPartNumber):
		return invalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", ""), true
	case errors.As(err, &invalidPart):
		return newError(errInvalidPart, "UploadId", uploadID, "PartNumber", strconv.Itoa(invalidPart.PartNumber), "ETag", invalidPart.ETag), true
	case errors.As(err, &tooSmall):
		return newError(errEntityTooSmall, "ProposedSize", strconv.FormatInt(tooSmall.Size, 10),
			"MinSizeAllowed", strconv.Itoa(object.MinPartSize), "PartNumber", strconv.Itoa(tooSmall.PartNumber), "ETag", tooSmall.ETag), true
	case errors.As(err, &missing):
		return newError(errInvalidRequest).withMessage("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.",
			strings.ToLower(string(missing.Algorithm)), missing.PartNumber), true
	case errors.As(err, &typeMis):
		return newError(errInvalidRequest).withMessage("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
			strings.ToLower(string(typeMis.Expected)), strings.ToLower(string(typeMis.Actual))), true
	case errors.As(err, &typeErr):
		return newError(errInvalidRequest).withMessage("The %s checksum type cannot be used with the %s checksum algorithm.",
			typeErr.Type, strings.ToLower(string(typeErr.Algorithm))), true
	}
	return nil, false
}

// withoutObjectChecksums is r without its x-amz-checksum-<algorithm>
// headers. On CompleteMultipartUpload they name the whole object's checksum
// (minio-go sends the composite value there, with x-amz-checksum-type),
// not the XML body's, so they must not be checked against the body; only
// Content-MD5 and a trailer describe the body. (They are not yet checked
// against the object either.)
func withoutObjectChecksums(r *request) *request {
	hr := *r.Request
	hr.Header = r.Header.Clone()
	for _, alg := range []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"} {
		hr.Header.Del("x-amz-checksum-" + alg)
	}
	rr := *r
	rr.Request = &hr
	return &rr
}
