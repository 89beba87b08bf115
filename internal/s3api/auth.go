package s3api

import (
	"errors"
	"net/http"
	"strings"

	"sluice/internal/auth"
)

// authenticate verifies the request's signature and prepares its body.
// Anonymous requests get 403 AccessDenied, except the HeadBucket region
// probe (DESIGN.md, Security: the only anonymous S3 request served).
func (h *Handler) authenticate(w http.ResponseWriter, r *request, op operation) error {
	// SigV2 signs the bucket even when the Host names it, so the
	// verifier is told which bucket a virtual-hosted request addresses.
	res, err := h.cfg.Verifier.VerifyS3(r.Request, r.hostBucket)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) && ae.Kind == auth.KindMissingAuth {
			switch op.name {
			case "HeadBucket":
				return h.regionProbe(r)
			case "CreateBucket":
				return newError(errAnonymousDenied)
			}
			return newError(errAccessDenied)
		}
		if op.name == "HeadBucket" && errors.As(err, &ae) && ae.Status == http.StatusForbidden {
			// A refused HeadBucket still names the region of a bucket that
			// exists, as S3 does, so that clients can retry in the right one.
			if _, gerr := h.cfg.Objects.GetBucket(r.Context(), r.bucket); gerr == nil {
				e, _ := authError(err)
				return e.withHeader("x-amz-bucket-region", h.cfg.Region)
			}
		}
		return err
	}
	h.withOrigin(r, res)
	return h.preparePayload(r, res)
}

// preparePayload wraps the body with the payload verifier when the client
// signed a hex SHA-256 of it, and with the aws-chunked decoder when the
// body is aws-chunked (chunked.go).
func (h *Handler) preparePayload(r *request, res *auth.Result) error {
	payloadHash := res.PayloadHash
	if strings.HasPrefix(payloadHash, "STREAMING-") || hasToken(headerGet(r.Header, "Content-Encoding"), "aws-chunked") {
		return prepareChunked(r, res)
	}
	if isHexSHA256(payloadHash) {
		r.body = auth.VerifyPayload(r.Body, payloadHash)
	}
	return nil
}

// regionProbe answers an anonymous HeadBucket: tools send it to learn the
// bucket's region, and S3 tells them in a 403 (404 when there is no such
// bucket, with no region).
func (h *Handler) regionProbe(r *request) error {
	if _, err := h.cfg.Objects.GetBucket(r.Context(), r.bucket); err != nil {
		return err
	}
	return newError(errAccessDenied).withHeader("x-amz-bucket-region", h.cfg.Region)
}

// authError maps the verifier's errors, which already carry S3's code,
// status, message and extra elements.
func authError(err error) (*Error, bool) {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		return nil, false
	}
	e := &Error{Code: ae.Code, Status: ae.Status, Message: ae.Message}
	for _, f := range ae.Fields {
		e.Fields = append(e.Fields, field{f.Name, f.Value})
	}
	return e, true
}

// hasToken reports whether the comma-separated list header holds token
// (a non-empty token), without building the list: every PUT asks.
func hasToken(header, token string) bool {
	for header != "" {
		var t string
		t, header, _ = strings.Cut(header, ",")
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
