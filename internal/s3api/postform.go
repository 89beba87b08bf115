package s3api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
)

// Bounds of a POST Object form before its file. S3 allows 20 KB of fields
// before the file ("MaxPostPreDataLengthExceededError: Your POST request
// fields preceding the upload file were too large."); the names and values
// count against it. The raw bytes before the file (part headers,
// boundaries, and what the multipart reader buffers ahead) get a looser
// bound of their own, so that part headers cannot grow without limit
// either.
const (
	maxPostPreData    = 20 << 10
	maxPostPreDataRaw = maxPostPreData + 64<<10
	maxPostFields     = 1000
)

// postForm is a form read up to its file part. The file is not read: the
// caller streams it.
type postForm struct {
	// fields maps each lower-cased field name to its first value (S3's
	// field names are case-insensitive). names are the fields' names as
	// sent, each once, in order (for "Extra input fields").
	fields map[string]string
	names  []string
	// file is the file part, positioned at its first byte; filename its
	// file name as the browser sent it.
	file     io.Reader
	filename string
}

// preDataReader counts the raw bytes read before the file part and refuses
// more than its limit; once the file is found the limit is lifted.
type preDataReader struct {
	r     io.Reader
	n     int64
	limit int64 // < 0: none
}

var errPreDataTooLarge = errors.New("post form: fields before the file too large")

func (p *preDataReader) Read(b []byte) (int, error) {
	if p.limit >= 0 {
		if p.n >= p.limit {
			return 0, errPreDataTooLarge
		}
		if room := p.limit - p.n; int64(len(b)) > room {
			b = b[:room]
		}
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// readPostForm reads a multipart/form-data body up to its file part.
// Outcomes:
//   - a Content-Type other than multipart/form-data: 412 PreconditionFailed
//     with the Condition S3 names;
//   - no boundary, or a body that is not well-formed multipart: 400
//     MalformedPOSTRequest;
//   - more than maxPostPreData bytes of field names and values (or
//     maxPostPreDataRaw raw bytes, or maxPostFields fields) before the
//     file: 400 MaxPostPreDataLengthExceededError;
//   - no file part: 400 IncorrectNumberOfFilesInPostRequest.
//
// Fields after the file are never read (S3 ignores them).
func readPostForm(contentType string, body io.Reader) (*postForm, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.EqualFold(mt, "multipart/form-data") {
		return nil, newError(errPreconditionFailed, "Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, newError(errMalformedPOSTRequest)
	}
	raw := &preDataReader{r: body, limit: maxPostPreDataRaw}
	mr := multipart.NewReader(raw, boundary)
	f := &postForm{fields: map[string]string{}}
	used := 0
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		switch {
		case errors.Is(err, io.EOF) && parts == 0:
			// Not one boundary: this is no multipart body at all.
			return nil, newError(errMalformedPOSTRequest)
		case errors.Is(err, io.EOF):
			return nil, newError(errIncorrectNumberOfFilesInPostRequest, "ArgumentName", "file", "ArgumentValue", "0")
		case errors.Is(err, errPreDataTooLarge):
			return nil, newError(errMaxPostPreDataLengthExceeded)
		case err != nil:
			return nil, newError(errMalformedPOSTRequest)
		}
		if parts >= maxPostFields {
			return nil, newError(errMaxPostPreDataLengthExceeded)
		}
		name := part.FormName()
		if strings.EqualFold(name, "file") {
			raw.limit = -1
			f.file, f.filename = part, part.FileName()
			return f, nil
		}
		used += len(name)
		if used > maxPostPreData {
			return nil, newError(errMaxPostPreDataLengthExceeded)
		}
		value, err := io.ReadAll(io.LimitReader(part, int64(maxPostPreData-used+1)))
		switch {
		case errors.Is(err, errPreDataTooLarge):
			return nil, newError(errMaxPostPreDataLengthExceeded)
		case err != nil:
			return nil, newError(errMalformedPOSTRequest)
		}
		used += len(value)
		if used > maxPostPreData {
			return nil, newError(errMaxPostPreDataLengthExceeded)
		}
		if name == "" {
			continue // not a form-data field; browsers never send one
		}
		l := strings.ToLower(name)
		if _, dup := f.fields[l]; dup {
			continue // the first value counts, for the policy and the object alike
		}
		f.fields[l] = string(value)
		f.names = append(f.names, name)
	}
}

// postFieldNames are the S3 names of the signing fields, as S3 writes them
// in "Bucket POST must contain a field named '...'".
var postFieldNames = map[string]string{
	"x-amz-algorithm":  "X-Amz-Algorithm",
	"x-amz-credential": "X-Amz-Credential",
	"x-amz-date":       "X-Amz-Date",
	"x-amz-signature":  "X-Amz-Signature",
	"awsaccesskeyid":   "AWSAccessKeyId",
	"signature":        "Signature",
	"key":              "key",
}

// missingField is S3's answer to a form without a field it needs (the
// two spaces are S3's).
func missingField(lname string) *Error {
	name := postFieldNames[lname]
	return newError(errInvalidArgument, "ArgumentName", name, "ArgumentValue", "").
		withMessage("Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", name)
}

// postSuccessStatus reads success_action_status: 200 and 201 as given,
// anything else (or nothing) 204, as S3 documents.
func postSuccessStatus(v string) int {
	switch n, _ := strconv.Atoi(strings.TrimSpace(v)); n {
	case 200, 201:
		return n
	}
	return 204
}
