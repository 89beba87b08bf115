package s3api

import (
	"strconv"
	"strings"

	"sluice/internal/auth"
	"sluice/internal/object"
)

// aws-chunked request bodies (aws-wire.md 5.4): the three STREAMING forms
// of x-amz-content-sha256, or Content-Encoding: aws-chunked, framed by
// Content-Length or by HTTP chunked transfer encoding alike (net/http
// removes the latter before the handler reads).

// prepareChunked replaces the body of an aws-chunked request with its
// decoder. The decoder checks chunk and trailer signatures against the
// verified request; its errors surface from the body's reads, so the
// operation fails before it commits anything.
func prepareChunked(r *request, res *auth.Result) error {
	mode := res.PayloadHash
	body := r.body
	if !auth.IsStreaming(mode) {
		if strings.HasPrefix(mode, "STREAMING-") {
			// SigV4a (ECDSA) streaming: SigV4a is not supported.
			return newError(errNotImplemented, "Header", "x-amz-content-sha256").
				withMessage("x-amz-content-sha256: %s is not supported (Signature Version 4A).", mode)
		}
		// Content-Encoding: aws-chunked with a plain payload hash: the
		// hash (if any) covers the encoded body; the chunks are unsigned.
		if isHexSHA256(mode) {
			body = auth.VerifyPayload(body, mode)
		}
		mode = auth.StreamingUnsignedTrailer
	}
	v := headerGet(r.Header, "X-Amz-Decoded-Content-Length")
	if v == "" {
		// "For all requests, you must include the
		// x-amz-decoded-content-length header" (S3 API, sigv4-streaming).
		return newError(errMissingContentLength)
	}
	decoded, err := strconv.ParseInt(v, 10, 64)
	if err != nil || decoded < 0 {
		return invalidArgument("x-amz-decoded-content-length is invalid.", "x-amz-decoded-content-length", v)
	}
	var trailers []string
	for _, t := range r.Header["X-Amz-Trailer"] {
		trailers = append(trailers, strings.Split(t, ",")...)
	}
	cr, err := auth.NewChunkedReader(body, auth.ChunkedOptions{
		Mode: mode, Signing: res, DecodedLength: decoded, Trailers: trailers,
	})
	if err != nil {
		return err
	}
	r.body = cr
	return nil
}

// putLength is the size of the object a PUT carries: the decoded length
// of an aws-chunked body (its Content-Length, if any, counts the
// framing), else Content-Length, which S3 requires.
func putLength(r *request) (int64, error) {
	if cr, ok := r.body.(*auth.ChunkedReader); ok {
		return cr.DecodedLength(), nil
	}
	if r.ContentLength < 0 || !hasContentLength(r.Request) {
		return 0, newError(errMissingContentLength)
	}
	return r.ContentLength, nil
}

// trailingChecksum reads X-Amz-Trailer of an aws-chunked PUT: the
// checksum algorithm it announces and a function that returns the
// trailer's value once the body has been read (object.PutInput calls it
// after EOF). No checksum trailer: "", nil.
func trailingChecksum(r *request) (object.ChecksumAlgorithm, func() *object.Checksum, error) {
	cr, ok := r.body.(*auth.ChunkedReader)
	if !ok {
		return "", nil, nil
	}
	var alg object.ChecksumAlgorithm
	var name string
	for _, v := range r.Header["X-Amz-Trailer"] {
		for _, t := range strings.Split(v, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			rest, ok := strings.CutPrefix(t, "x-amz-checksum-")
			if !ok {
				continue
			}
			a, known := object.ParseChecksumAlgorithm(rest)
			if !known {
				return "", nil, newError(errInvalidRequest).withMessage("The value specified in the x-amz-trailer header is not supported")
			}
			if alg != "" {
				return "", nil, newError(errInvalidRequest).withMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			alg, name = a, t
		}
	}
	if alg == "" {
		return "", nil, nil
	}
	return alg, func() *object.Checksum {
		v, ok := cr.Trailer(name)
		if !ok {
			return nil
		}
		return &object.Checksum{Algorithm: alg, Value: v}
	}, nil
}

// storedContentEncoding drops aws-chunked from Content-Encoding: it
// describes the request, not the object ("Amazon S3 stores the resulting
// object without the aws-chunked value", sigv4-streaming).
func storedContentEncoding(v string) string {
	if !strings.Contains(strings.ToLower(v), "aws-chunked") {
		return v
	}
	var keep []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "aws-chunked") {
			keep = append(keep, t)
		}
	}
	return strings.Join(keep, ",")
}
