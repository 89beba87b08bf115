// Package arn parses and formats Amazon Resource Names
// (arn:partition:service:region:account-id:resource) and builds the ARNs of
// the resources Sluice hosts: buckets, queues, topics and functions.
//
// What counts as parseable follows what S3's notification validation and
// the AWS SDKs accept (aws-sdk-go-v2 aws/arn): the literal prefix "arn:",
// at least six colon-separated sections, the resource being everything
// after the fifth colon (so it may itself hold ':' and '/'). Sluice is a
// little stricter than the SDK, because every ARN it parses names a
// resource: partition and service must be non-empty, the four header
// sections use only lower-case letters, digits and '-', and no section holds
// whitespace or control characters. So a typo such as
// "arn:aws:sqs:us-east-1:444455556666 s3notificationqueue" (a space for the
// last colon: five sections) or "arn:aws:snsus-west-2:444455556666:t" (a
// missing colon, seed 003) is unparseable, which S3 answers with
// InvalidArgument "The ARN could not be parsed".
package arn

import (
	"errors"
	"fmt"
	"strings"
)

// Partition is the partition of every ARN Sluice mints. Sluice serves one
// region of the standard partition.
const Partition = "aws"

// ARN is one parsed Amazon Resource Name. The zero value is not a valid ARN.
type ARN struct {
	Partition string // "aws"
	Service   string // "s3", "sqs", "sns", "lambda", "iam", ...
	Region    string // empty for global resources such as S3 buckets
	AccountID string // empty for S3 buckets
	Resource  string // everything after the fifth colon; may hold ':' and '/'
}

// ErrUnparseable is matched (errors.Is) by every error Parse returns.
var ErrUnparseable = errors.New("the ARN could not be parsed")

// ParseError says why a string is not an ARN. It matches ErrUnparseable.
type ParseError struct {
	Input  string // the string as given
	Reason string // short lower-case reason, e.g. "not enough sections"
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("arn: cannot parse %q: %s", e.Input, e.Reason)
}

// Is makes errors.Is(err, ErrUnparseable) true.
func (e *ParseError) Is(target error) bool { return target == ErrUnparseable }

// maxLen bounds the input: IAM documents 2048 characters as the longest ARN
// any API accepts; anything longer is garbage and must not cost more work.
const maxLen = 2048

// Parse parses s as an ARN. Errors are *ParseError.
func Parse(s string) (ARN, error) {
	fail := func(reason string) (ARN, error) {
		return ARN{}, &ParseError{Input: s, Reason: reason}
	}
	if len(s) > maxLen {
		return fail("longer than 2048 characters")
	}
	if !strings.HasPrefix(s, "arn:") {
		return fail(`does not start with "arn:"`)
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 {
		return fail("not enough sections (want arn:partition:service:region:account-id:resource)")
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}
	if a.Partition == "" {
		return fail("empty partition")
	}
	if a.Service == "" {
		return fail("empty service")
	}
	if a.Resource == "" {
		return fail("empty resource")
	}
	for _, h := range []struct{ name, v string }{
		{"partition", a.Partition}, {"service", a.Service}, {"region", a.Region}, {"account", a.AccountID},
	} {
		if !headerSection(h.v) {
			return fail(fmt.Sprintf("invalid character in %s %q", h.name, h.v))
		}
	}
	for _, r := range a.Resource {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' {
			return fail("whitespace or control character in resource")
		}
	}
	return a, nil
}

// headerSection reports whether v uses only the characters AWS uses in
// partitions, services, regions and account ids.
func headerSection(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// String formats a as arn:partition:service:region:account-id:resource.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// IsARN reports whether s parses as an ARN.
func IsARN(s string) bool {
	_, err := Parse(s)
	return err == nil
}
