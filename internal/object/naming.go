package object

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidBucketName reports whether name follows S3's bucket naming rules for
// general purpose buckets
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
// 3 to 63 characters of lowercase letters, digits, '.' and '-'; beginning and
// ending with a letter or digit; no two adjacent periods; not formatted as an
// IPv4 address; none of the prefixes and suffixes S3 reserves.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || isIPv4Form(name) {
		return false
	}
	for _, p := range reservedBucketPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range reservedBucketSuffixes {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// Prefixes and suffixes S3 reserves for its own features (IDN labels, access
// point aliases, Object Lambda, Multi-Region Access Points, directory and
// table buckets, documentation examples).
var (
	reservedBucketPrefixes = [...]string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = [...]string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// isIPv4Form reports whether name looks like a dotted-quad address
// (four groups of 1-3 digits), which S3 refuses as a bucket name.
func isIPv4Form(name string) bool {
	// Four runs of one to three digits between three dots, checked in
	// place: every request that names a bucket asks.
	parts := 0
	for rest := name; ; {
		p, after, more := strings.Cut(rest, ".")
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
		if parts++; !more {
			return parts == 4
		}
		if parts == 4 {
			return false
		}
		rest = after
	}
}

// checkKey applies S3's limits on an object key: not empty, at most
// MaxKeyLength bytes of UTF-8.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key: %w", ErrInvalidKey)
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("key of %d bytes: %w", len(key), ErrKeyTooLong)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("key is not valid utf-8: %w", ErrInvalidKey)
	}
	return nil
}
