package arn

import (
	"strconv"
	"strings"
)

// Bucket returns the ARN of an S3 bucket: arn:aws:s3:::name. Bucket ARNs
// carry neither region nor account, which is why policies match them with
// "arn:aws:s3:*:*:name" or "arn:aws:s3:::name".
func Bucket(name string) ARN {
	return ARN{Partition: Partition, Service: "s3", Resource: name}
}

// Queue returns the ARN of an SQS queue: arn:aws:sqs:region:account:name.
func Queue(region, account, name string) ARN {
	return ARN{Partition: Partition, Service: "sqs", Region: region, AccountID: account, Resource: name}
}

// Topic returns the ARN of an SNS topic: arn:aws:sns:region:account:name.
func Topic(region, account, name string) ARN {
	return ARN{Partition: Partition, Service: "sns", Region: region, AccountID: account, Resource: name}
}

// Function returns the ARN of a Lambda function,
// arn:aws:lambda:region:account:function:name, with ":qualifier" appended
// when qualifier (a version, an alias or $LATEST) is not empty.
func Function(region, account, name, qualifier string) ARN {
	res := "function:" + name
	if qualifier != "" {
		res += ":" + qualifier
	}
	return ARN{Partition: Partition, Service: "lambda", Region: region, AccountID: account, Resource: res}
}

// Account returns the ARN of an account's root principal,
// arn:aws:iam::account:root, the form policies use for "the whole account".
func Account(account string) ARN {
	return ARN{Partition: Partition, Service: "iam", AccountID: account, Resource: "root"}
}

// ParseBucket parses an S3 bucket ARN (arn:aws:s3:::name) and returns the
// bucket name. Object ARNs (arn:aws:s3:::bucket/key) are refused.
func ParseBucket(s string) (string, error) {
	a, err := Parse(s)
	if err != nil {
		return "", err
	}
	if a.Service != "s3" || a.Region != "" || a.AccountID != "" || strings.ContainsAny(a.Resource, "/:") {
		return "", &ParseError{Input: s, Reason: "not an S3 bucket ARN (want arn:aws:s3:::bucket)"}
	}
	return a.Resource, nil
}

// ParseQueue parses an SQS queue ARN and checks the queue name against
// SQS's rule: 1 to 80 letters, digits, '-' or '_', with an optional ".fifo"
// suffix (counted in the 80).
func ParseQueue(s string) (ARN, error) {
	a, err := parseRegional(s, "sqs", "an SQS queue")
	if err != nil {
		return ARN{}, err
	}
	if !validName(a.Resource, 80, true) {
		return ARN{}, &ParseError{Input: s, Reason: "invalid queue name " + quote(a.Resource)}
	}
	return a, nil
}

// ParseTopic parses an SNS topic ARN and checks the topic name against
// SNS's rule: 1 to 256 letters, digits, '-' or '_', with an optional
// ".fifo" suffix.
func ParseTopic(s string) (ARN, error) {
	a, err := parseRegional(s, "sns", "an SNS topic")
	if err != nil {
		return ARN{}, err
	}
	if !validName(a.Resource, 256, true) {
		return ARN{}, &ParseError{Input: s, Reason: "invalid topic name " + quote(a.Resource)}
	}
	return a, nil
}

// FunctionARN is a parsed Lambda function ARN.
type FunctionARN struct {
	ARN
	Name      string // the function name
	Qualifier string // "" (unqualified), "$LATEST", a version number, or an alias
}

// ParseFunction parses arn:aws:lambda:region:account:function:name[:qualifier].
// The name is 1 to 64 letters, digits, '-' or '_'. A qualifier is $LATEST,
// a version number (digits), or an alias (1 to 128 letters, digits, '-' or
// '_', not all digits), as Lambda's API model defines them.
func ParseFunction(s string) (FunctionARN, error) {
	a, err := parseRegional(s, "lambda", "a Lambda function")
	if err != nil {
		return FunctionARN{}, err
	}
	rest, ok := strings.CutPrefix(a.Resource, "function:")
	if !ok {
		return FunctionARN{}, &ParseError{Input: s, Reason: `resource does not start with "function:"`}
	}
	name, qualifier, qualified := strings.Cut(rest, ":")
	if !validName(name, 64, false) {
		return FunctionARN{}, &ParseError{Input: s, Reason: "invalid function name " + quote(name)}
	}
	if qualified && !ValidQualifier(qualifier) {
		return FunctionARN{}, &ParseError{Input: s, Reason: "invalid qualifier " + quote(qualifier)}
	}
	return FunctionARN{ARN: a, Name: name, Qualifier: qualifier}, nil
}

// ValidQualifier reports whether q is a Lambda qualifier: $LATEST, a version
// number, or an alias name.
func ValidQualifier(q string) bool {
	if q == "$LATEST" {
		return true
	}
	return validName(q, 128, false)
}

// parseRegional parses s and checks that it belongs to service and carries
// a region and a 12-digit account id, as every queue, topic and function
// ARN does.
func parseRegional(s, service, what string) (ARN, error) {
	a, err := Parse(s)
	if err != nil {
		return ARN{}, err
	}
	if a.Service != service {
		return ARN{}, &ParseError{Input: s, Reason: "not " + what + " ARN (service " + quote(a.Service) + ")"}
	}
	if a.Region == "" {
		return ARN{}, &ParseError{Input: s, Reason: "empty region"}
	}
	if !ValidAccountID(a.AccountID) {
		return ARN{}, &ParseError{Input: s, Reason: "account id " + quote(a.AccountID) + " is not 12 digits"}
	}
	return a, nil
}

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validName checks the name rule shared by queues, topics, functions and
// aliases: 1..max of [A-Za-z0-9_-], optionally (fifo) ending in ".fifo".
func validName(s string, max int, fifo bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	if fifo {
		s = strings.TrimSuffix(s, ".fifo")
		if s == "" {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func quote(s string) string { return strconv.Quote(s) }

// ResolveFunction accepts the three forms the Lambda API takes for a
// FunctionName: a name ("my-function", optionally "my-function:qualifier"),
// a partial ARN ("123456789012:function:my-function[:qualifier]"), or a
// full ARN. Names and partial ARNs are completed with region and account.
func ResolveFunction(s, region, account string) (FunctionARN, error) {
	if strings.HasPrefix(s, "arn:") {
		return ParseFunction(s)
	}
	if acct, rest, ok := strings.Cut(s, ":function:"); ok {
		return ParseFunction("arn:" + Partition + ":lambda:" + region + ":" + acct + ":function:" + rest)
	}
	return ParseFunction("arn:" + Partition + ":lambda:" + region + ":" + account + ":function:" + s)
}
