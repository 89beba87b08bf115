package s3api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"sluice/internal/object"
)

// errCode names one row of the error table. Rows are data (code, status,
// message) so that every S3 error Sluice can send is visible in one place;
// the model is versity/versitygw s3err/s3err.go.
type errCode int

const (
	errAccessDenied errCode = iota
	errAnonymousDenied
	errBadDigest
	errBucketAlreadyOwnedByYou
	errBucketNotEmpty
	errEntityTooLarge
	errIllegalLocationConstraint
	errIncompleteBody
	errInternalError
	errInvalidArgument
	errInvalidBucketName
	errInvalidDigest
	errInvalidLocationConstraint
	errInvalidRange
	errInvalidRequest
	errInvalidURI
	errKeyTooLong
	errMalformedXML
	errMetadataTooLarge
	errMethodNotAllowed
	errMissingContentLength
	errNoSuchBucket
	errNoSuchKey
	errNotImplemented
	errPreconditionFailed
	errChecksumMismatch
	errRequestHeaderSectionTooLarge
	errRequestTimeout
	// Copy, conditional writes, DeleteObjects, tagging (copy.go,
	// deleteobjects.go, tagging.go).
	errBadRequest
	errInvalidTag
	errConditionalRequestConflict
	errMissingRequestBody
	// POST Object (post.go, postpolicy.go).
	errEntityTooSmall
	errInvalidPolicyDocument
	errMalformedPOSTRequest
	errMaxPostPreDataLengthExceeded
	errIncorrectNumberOfFilesInPostRequest
	// Multipart uploads (multipart.go).
	errNoSuchUpload
	errInvalidPart
	errInvalidPartOrder
	errInvalidPartNumber
)

// errorSpec is one row: the AWS code, HTTP status and default message.
type errorSpec struct {
	Code    string
	Status  int
	Message string
}

// errorTable holds AWS's exact codes, statuses and messages (from the S3
// API reference "Error responses" and responses recorded from S3). It is
// read-only.
var errorTable = map[errCode]errorSpec{
	errAccessDenied:              {"AccessDenied", http.StatusForbidden, "Access Denied"},
	errAnonymousDenied:           {"AccessDenied", http.StatusForbidden, "Anonymous users cannot invoke this API. Please authenticate."},
	errBadDigest:                 {"BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."},
	errBucketAlreadyOwnedByYou:   {"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	errBucketNotEmpty:            {"BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty"},
	errEntityTooLarge:            {"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size"},
	errIllegalLocationConstraint: {"IllegalLocationConstraintException", http.StatusBadRequest, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."},
	errIncompleteBody:            {"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header"},
	errInternalError:             {"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	errInvalidArgument:           {"InvalidArgument", http.StatusBadRequest, "Invalid Argument"},
	errInvalidBucketName:         {"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."},
	errInvalidDigest:             {"InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified was invalid."},
	errInvalidLocationConstraint: {"InvalidLocationConstraint", http.StatusBadRequest, "The specified location-constraint is not valid"},
	errInvalidRange:              {"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	errInvalidRequest:            {"InvalidRequest", http.StatusBadRequest, "Invalid Request"},
	errInvalidURI:                {"InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI."},
	errKeyTooLong:                {"KeyTooLongError", http.StatusBadRequest, "Your key is too long"},
	errMalformedXML:              {"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema"},
	errMetadataTooLarge:          {"MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size"},
	errMethodNotAllowed:          {"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	errMissingContentLength:      {"MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	errNoSuchBucket:              {"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist"},
	errNoSuchKey:                 {"NoSuchKey", http.StatusNotFound, "The specified key does not exist."},
	errNotImplemented:            {"NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"},
	errPreconditionFailed:        {"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	// The message names the algorithm: "The CRC32 you specified did not
	// match the calculated checksum." (recorded S3 answers for CRC32, SHA1
	// and SHA256); newError's caller fills it in.
	errChecksumMismatch: {"BadDigest", http.StatusBadRequest, "The %s you specified did not match the calculated checksum."},
	// Both from the S3 API reference "Error responses" list; the message
	// of the first as S3 sends it (versity/versitygw issue 2180).
	errRequestHeaderSectionTooLarge: {"RequestHeaderSectionTooLarge", http.StatusBadRequest, "Your request header section exceeds the maximum allowed size."},
	errRequestTimeout:               {"RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."},
	// Tagging: S3's answers as recorded (11 tags is BadRequest; the
	// others InvalidTag with their own messages, set by taggingError).
	errBadRequest: {"BadRequest", http.StatusBadRequest, "Bad Request"},
	errInvalidTag: {"InvalidTag", http.StatusBadRequest, "The TagKey you have provided is invalid"},
	// A conditional write that lost to a concurrent one (S3 User Guide,
	// "Conditional writes").
	errConditionalRequestConflict: {"ConditionalRequestConflict", http.StatusConflict, "A conflicting conditional operation is currently in progress against this resource. Please try again."},
	errMissingRequestBody:         {"MissingRequestBodyError", http.StatusBadRequest, "Request Body is empty"},
	// POST Object: codes and messages from the S3 API reference "Error
	// responses" list.
	// Multipart uploads: S3 API reference "Error responses" (the two
	// spaces in InvalidPart's message are S3's).
	errNoSuchUpload:                        {"NoSuchUpload", http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	errInvalidPart:                         {"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	errInvalidPartOrder:                    {"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."},
	errInvalidPartNumber:                   {"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"},
	errEntityTooSmall:                      {"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	errInvalidPolicyDocument:               {"InvalidPolicyDocument", http.StatusBadRequest, "The content of the form does not meet the conditions specified in the policy document."},
	errMalformedPOSTRequest:                {"MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."},
	errMaxPostPreDataLengthExceeded:        {"MaxPostPreDataLengthExceededError", http.StatusBadRequest, "Your POST request fields preceding the upload file were too large."},
	errIncorrectNumberOfFilesInPostRequest: {"IncorrectNumberOfFilesInPostRequest", http.StatusBadRequest, "POST requires exactly one file upload per request."},
}

// field is one extra element of the <Error> document (BucketName, Key,
// ArgumentName, ...), kept in the order S3 writes them.
type field struct{ Name, Value string }

// Error is an S3 error response. Error() is short; the XML envelope is
// rendered only by writeError.
type Error struct {
	Code    string
	Status  int
	Message string
	Fields  []field
	// Header holds response headers the error carries (x-amz-bucket-region
	// on HeadBucket, Content-Range on InvalidRange).
	Header http.Header
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// newError builds the error of row c with extra elements given as
// name, value pairs.
func newError(c errCode, nameValues ...string) *Error {
	spec, ok := errorTable[c]
	if !ok {
		spec = errorTable[errInternalError]
	}
	e := &Error{Code: spec.Code, Status: spec.Status, Message: spec.Message}
	for i := 0; i+1 < len(nameValues); i += 2 {
		e.Fields = append(e.Fields, field{nameValues[i], nameValues[i+1]})
	}
	return e
}

// withMessage replaces the row's default message.
func (e *Error) withMessage(format string, args ...any) *Error {
	e.Message = fmt.Sprintf(format, args...)
	return e
}

// withHeader adds a response header to the error.
func (e *Error) withHeader(name, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(name, value)
	return e
}

// invalidArgument is S3's InvalidArgument with the offending parameter.
func invalidArgument(message, name, value string) *Error {
	return newError(errInvalidArgument, "ArgumentName", name, "ArgumentValue", value).withMessage("%s", message)
}

// target is what an operation acts on, for the extra elements of errors.
type target struct{ Bucket, Key string }

// toAPIError maps any error a handler returns to the S3 error to send: it
// is the one place where domain, auth and transport errors meet the table.
// The boolean is false for errors that are not the client's fault (they
// are logged by the caller).
func toAPIError(err error, t target) (*Error, bool) {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr, apiErr.Status < 500
	}
	if e, ok := authError(err); ok {
		return e, true
	}
	if e, ok := conditionOrTaggingError(err); ok {
		return e, true
	}
	var sum *object.ChecksumMismatchError
	switch {
	case errors.As(err, &sum):
		return newError(errChecksumMismatch).withMessage(errorTable[errChecksumMismatch].Message, sum.Algorithm), true
	case errors.Is(err, object.ErrNoSuchBucket):
		return newError(errNoSuchBucket, "BucketName", t.Bucket), true
	case errors.Is(err, object.ErrNoSuchKey):
		return newError(errNoSuchKey, "Key", t.Key), true
	case errors.Is(err, object.ErrBucketNotEmpty):
		return newError(errBucketNotEmpty, "BucketName", t.Bucket), true
	case errors.Is(err, object.ErrBucketAlreadyOwnedByYou):
		return newError(errBucketAlreadyOwnedByYou, "BucketName", t.Bucket), true
	case errors.Is(err, object.ErrInvalidBucketName):
		return newError(errInvalidBucketName, "BucketName", t.Bucket), true
	case errors.Is(err, object.ErrKeyTooLong):
		return keyTooLong(t.Key), true
	case errors.Is(err, object.ErrInvalidKey):
		return newError(errInvalidURI), true
	case errors.Is(err, object.ErrBadDigest):
		return newError(errBadDigest), true
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's body idle timeout fired (a client that stopped
		// sending mid-body): S3 answers RequestTimeout.
		return newError(errRequestTimeout), true
	case errors.Is(err, object.ErrIncompleteBody), errors.Is(err, io.ErrUnexpectedEOF):
		// A client that closes the connection before Content-Length bytes
		// arrive makes net/http's body reader fail with ErrUnexpectedEOF.
		return newError(errIncompleteBody), true
	case errors.Is(err, object.ErrInvalidChecksumAlgorithm):
		return newError(errInvalidRequest).withMessage("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"), true
	case errors.Is(err, object.ErrEntityTooLarge):
		return newError(errEntityTooLarge, "MaxSizeAllowed", strconv.Itoa(object.MaxPutSize)), true
	}
	return newError(errInternalError), false
}

func keyTooLong(key string) *Error {
	return newError(errKeyTooLong, "Size", strconv.Itoa(len(key)), "MaxSizeAllowed", strconv.Itoa(object.MaxKeyLength))
}

// writeError sends e. HEAD responses carry the status only, as S3 does
// (botocore then reports the status as the code).
func writeError(w http.ResponseWriter, r *http.Request, e *Error, requestID, hostID string) {
	h := w.Header()
	for name, values := range e.Header {
		h[name] = values
	}
	// Headers a successful answer may have set before failing (ETag of a
	// body that then failed verification) must not go out with the error.
	h.Del("ETag")
	h.Del("Last-Modified")
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := renderError(e, requestID, hostID)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// renderError writes the <Error> document: Code, Message, the extra
// elements in order, RequestId, HostId.
func renderError(e *Error, requestID, hostID string) []byte {
	var b []byte
	b = append(b, xml.Header...)
	b = append(b, "<Error>"...)
	b = appendElement(b, "Code", e.Code)
	b = appendElement(b, "Message", e.Message)
	for _, f := range e.Fields {
		b = appendElement(b, f.Name, f.Value)
	}
	b = appendElement(b, "RequestId", requestID)
	b = appendElement(b, "HostId", hostID)
	b = append(b, "</Error>"...)
	return b
}

func appendElement(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, value)
	b = append(b, "</"...)
	b = append(b, name...)
	b = append(b, '>')
	return b
}

type byteWriter struct{ b *[]byte }

func (w byteWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func appendEscaped(b []byte, s string) []byte {
	_ = xml.EscapeText(byteWriter{&b}, []byte(s))
	return b
}
