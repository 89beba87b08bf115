package s3api

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"sluice/internal/object"
)

// regionPattern recognises an AWS region name (us-east-1, us-gov-west-1,
// eu-central-2, ...), to tell "another region" from "not a region".
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

func (h *Handler) createBucket(w http.ResponseWriter, r *request) error {
	if !object.ValidBucketName(r.bucket) {
		return newError(errInvalidBucketName, "BucketName", r.bucket)
	}
	constraint, err := readLocationConstraint(r)
	if err != nil {
		return err
	}
	if err := h.checkLocationConstraint(constraint); err != nil {
		return err
	}
	err = h.cfg.Objects.CreateBucket(r.Context(), r.bucket, h.cfg.Owner.ID)
	// In us-east-1 S3 answers 200 to the owner creating an existing bucket
	// again (a legacy kept for compatibility); every other region says
	// BucketAlreadyOwnedByYou.
	if errors.Is(err, object.ErrBucketAlreadyOwnedByYou) && h.cfg.Region == "us-east-1" {
		err = nil
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/"+r.bucket)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// readLocationConstraint reads the optional CreateBucketConfiguration
// body, bounded.
func readLocationConstraint(r *request) (string, error) {
	body, err := io.ReadAll(io.LimitReader(r.body, maxXMLBody+1))
	if err != nil {
		return "", err
	}
	if len(body) > maxXMLBody {
		return "", newError(errMalformedXML)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "", nil
	}
	var cfg createBucketConfiguration
	if err := xml.Unmarshal(body, &cfg); err != nil {
		return "", newError(errMalformedXML)
	}
	return cfg.LocationConstraint, nil
}

// checkLocationConstraint accepts no constraint or this server's region.
// As on S3, "us-east-1" itself is not a valid explicit constraint (its
// buckets are created with none), and "EU" is eu-west-1.
func (h *Handler) checkLocationConstraint(c string) error {
	region := h.cfg.Region
	switch {
	case c == "":
		return nil
	case c == "us-east-1" && region == "us-east-1":
		return newError(errInvalidLocationConstraint, "LocationConstraint", c)
	case c == region, c == "EU" && region == "eu-west-1":
		return nil
	case !regionPattern.MatchString(c) && c != "EU":
		return newError(errInvalidLocationConstraint, "LocationConstraint", c)
	}
	// S3's text, which botocore parses for the region, then which region
	// this server serves (it serves one; DESIGN.md, One port).
	return newError(errIllegalLocationConstraint).withMessage(
		"The %s location constraint is incompatible for the region specific endpoint this request was sent to. This server serves %s.", c, region)
}

func (h *Handler) headBucket(w http.ResponseWriter, r *request) error {
	if _, err := h.cfg.Objects.GetBucket(r.Context(), r.bucket); err != nil {
		return err
	}
	w.Header().Set("x-amz-bucket-region", h.cfg.Region)
	w.Header().Set("x-amz-access-point-alias", "false")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *request) error {
	if err := h.cfg.Objects.DeleteBucket(r.Context(), r.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getBucketLocation(w http.ResponseWriter, r *request) error {
	if _, err := h.cfg.Objects.GetBucket(r.Context(), r.bucket); err != nil {
		return err
	}
	// us-east-1 is the empty constraint, as S3 answers it.
	v := h.cfg.Region
	if v == "us-east-1" {
		v = ""
	}
	return writeXML(w, locationConstraintXML{Value: v})
}

// Messages of ListBuckets' parameter errors, as S3 answers them.
const (
	msgMaxBucketsParse = "Provided max-buckets not an integer or within integer range"
	msgMaxBucketsRange = "Argument max-buckets must be an integer between 1 and 10000"
	msgBadToken        = "The continuation token provided is incorrect"
)

func (h *Handler) listBuckets(w http.ResponseWriter, r *request) error {
	q := r.query
	in := object.ListBucketsInput{Prefix: q.Get("prefix")}
	// Once any paging parameter is sent (even empty), S3 answers in the
	// newer shape: each bucket with its region and ARN.
	paged := q.Has("max-buckets") || q.Has("continuation-token") || q.Has("prefix") || q.Has("bucket-region")
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			var ne *strconv.NumError
			if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
				return invalidArgument(msgMaxBucketsParse, "max-buckets", v)
			}
		}
		if n < 1 || n > 10000 {
			return invalidArgument(msgMaxBucketsRange, "max-buckets", strconv.FormatInt(n, 10))
		}
		in.MaxBuckets = int(n)
	}
	if v := q.Get("bucket-region"); q.Has("bucket-region") && !strings.EqualFold(v, h.cfg.Region) {
		if !regionPattern.MatchString(strings.ToLower(v)) {
			return newError(errInvalidArgument, "ArgumentName", "bucket-region").
				withMessage("Argument value %s is not a valid AWS Region", v)
		}
		return newError(errInvalidArgument, "ArgumentName", "bucket-region").
			withMessage("Requests with bucket-region specified must be made to the corresponding regional endpoint")
	}
	if tok := q.Get("continuation-token"); tok != "" {
		after, ok := decodeToken(tok)
		if !ok || !object.ValidBucketName(after) {
			return newError(errInvalidArgument, "ArgumentName", "continuation-token").withMessage(msgBadToken)
		}
		in.After = after
	}
	page, err := h.cfg.Objects.ListBuckets(r.Context(), in)
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{Owner: ownerXML{ID: h.cfg.Owner.ID, DisplayName: h.cfg.Owner.DisplayName}}
	out.Buckets.Bucket = make([]bucketXML, 0, len(page.Buckets))
	for _, b := range page.Buckets {
		bx := bucketXML{Name: b.Name, CreationDate: xmlTime(b.Created)}
		if paged {
			bx.BucketRegion, bx.BucketArn = h.cfg.Region, "arn:aws:s3:::"+b.Name
		}
		out.Buckets.Bucket = append(out.Buckets.Bucket, bx)
	}
	if q.Has("prefix") {
		p := in.Prefix
		out.Prefix = &p
	}
	if page.IsTruncated && page.Next != "" {
		out.ContinuationToken = encodeToken(page.Next)
	}
	return writeXML(w, out)
}

// Continuation tokens are opaque to clients: a version byte and the name
// the next page starts after, base64url. A token that does not decode to
// that shape is "incorrect", as S3 says.
const tokenVersion = '1'

func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{tokenVersion}, after...))
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != tokenVersion {
		return "", false
	}
	return string(b[1:]), true
}
