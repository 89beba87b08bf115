package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"sluice/internal/object"
)

// maxDeleteBody bounds a DeleteObjects document: 1,000 keys of up to
// 1,024 bytes each, with room for XML escaping and whitespace.
const maxDeleteBody = 4 << 20

// readDigestedBody reads a small XML request body of at most limit bytes
// and verifies the digests the client sent: Content-MD5 and an
// x-amz-checksum-* (header or aws-chunked trailer). With required, one of
// them must be there, as S3 demands for the operations whose model says
// httpChecksumRequired (DeleteObjects, PutObjectTagging); botocore and
// aws-sdk-go-v2 now send a CRC32 instead of Content-MD5. A body over the
// limit is MalformedXML (it cannot be a valid document).
func readDigestedBody(r *request, limit int64, required bool) ([]byte, error) {
	contentMD5, err := parseContentMD5(r.Header)
	if err != nil {
		return nil, err
	}
	trailerAlg, trailing, err := trailingChecksum(r)
	if err != nil {
		return nil, err
	}
	sum, _, err := parseChecksum(r.Header, trailerAlg)
	if err != nil {
		return nil, err
	}
	if required && contentMD5 == nil && sum == nil && trailing == nil {
		return nil, newError(errInvalidRequest).withMessage("Missing required header for this request: Content-MD5.")
	}
	body, err := io.ReadAll(io.LimitReader(r.body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, newError(errMalformedXML)
	}
	if contentMD5 != nil {
		if got := md5.Sum(body); !bytes.Equal(got[:], contentMD5) {
			return nil, newError(errBadDigest)
		}
	}
	want := sum
	if want == nil && trailing != nil {
		want = trailing()
	}
	if want != nil {
		got, ok := object.ComputeChecksum(want.Algorithm, body)
		if !ok || got.Value != want.Value {
			return nil, &object.ChecksumMismatchError{Algorithm: want.Algorithm}
		}
	}
	return body, nil
}

// deleteRequest is the DeleteObjects document.
type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Objects []struct {
		Key       *string `xml:"Key"`
		VersionID string  `xml:"VersionId"`
	} `xml:"Object"`
	Quiet string `xml:"Quiet"`
}

// parseDeleteRequest decodes a DeleteObjects body: a <Delete> root with 1
// to 1,000 <Object> elements, each with a <Key>, and an optional <Quiet>
// true|false. Anything else is MalformedXML, as S3 answers.
func parseDeleteRequest(body []byte) (*deleteRequest, error) {
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil {
		return nil, newError(errMalformedXML)
	}
	if len(d.Objects) == 0 || len(d.Objects) > object.MaxDeleteObjects {
		return nil, newError(errMalformedXML)
	}
	for _, o := range d.Objects {
		if o.Key == nil {
			return nil, newError(errMalformedXML)
		}
	}
	switch strings.TrimSpace(d.Quiet) {
	case "", "true", "false", "True", "False", "TRUE", "FALSE":
	default:
		return nil, newError(errMalformedXML)
	}
	return &d, nil
}

type deleteResult struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

type deletedXML struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
}

type deleteErrorXML struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// deleteObjects is DeleteObjects (POST /bucket?delete): every key is
// deleted in one commit; a missing key counts as deleted; keys S3 would
// refuse get an <Error> entry of their own; Quiet lists only the errors.
func (h *Handler) deleteObjects(w http.ResponseWriter, r *request) error {
	body, err := readDigestedBody(r, maxDeleteBody, true)
	if err != nil {
		return err
	}
	d, err := parseDeleteRequest(body)
	if err != nil {
		return err
	}
	quiet := strings.EqualFold(strings.TrimSpace(d.Quiet), "true")
	var (
		keys []string
		idx  []int // request position of each key sent to the domain
		out  deleteResult
	)
	versionErr := make(map[int]deleteErrorXML)
	for i, o := range d.Objects {
		if v := o.VersionID; v != "" && v != object.NullVersion {
			// Versioning does not exist yet: only the null version does.
			versionErr[i] = deleteErrorXML{Key: *o.Key, VersionID: v, Code: "NoSuchVersion",
				Message: "The specified version does not exist."}
			continue
		}
		keys = append(keys, *o.Key)
		idx = append(idx, i)
	}
	results, err := h.cfg.Objects.DeleteObjects(r.Context(), r.bucket, keys)
	if err != nil {
		return err
	}
	perKey := make(map[int]object.DeleteResult, len(results))
	for j, res := range results {
		perKey[idx[j]] = res
	}
	for i, o := range d.Objects {
		if e, ok := versionErr[i]; ok {
			out.Errors = append(out.Errors, e)
			continue
		}
		res := perKey[i]
		if res.Err != nil {
			apiErr, _ := toAPIError(res.Err, target{Bucket: r.bucket, Key: res.Key})
			out.Errors = append(out.Errors, deleteErrorXML{Key: res.Key, VersionID: o.VersionID, Code: apiErr.Code, Message: apiErr.Message})
			continue
		}
		if !quiet {
			out.Deleted = append(out.Deleted, deletedXML{Key: res.Key, VersionID: o.VersionID})
		}
	}
	return writeXML(w, &out)
}
