// Package awsproto holds the small pieces of the AWS wire that every
// *api package and the server share: which service a request is for
// (Detect), the error for a service Sluice does not serve (NotServed), and
// request ids carried in the context (NewRequestID, NewHostID,
// WithRequestID, RequestID).
package awsproto

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"sluice/internal/auth"
)

// Service is the name of an AWS service as it appears in a SigV4
// credential scope (its signing name): "s3", "sqs", "sns", "lambda",
// "iam", "sts", or any other name for a service Sluice does not serve.
type Service string

// The services Sluice routes to (the names are SigV4 signing names).
const (
	S3     Service = "s3"
	SQS    Service = "sqs"
	SNS    Service = "sns"
	Lambda Service = "lambda"
	IAM    Service = "iam"
	STS    Service = "sts"
)

// maxFormPeek bounds how much of a form body Detect reads to find Action
// and Version. Query-protocol bodies (SNS Publish with 256 KiB messages,
// SQS SendMessageBatch) fit; a longer body is passed on untouched and is
// routed as if it had no Action.
const maxFormPeek = 1 << 20

// targetPrefixes maps the prefix of X-Amz-Target (before the '.') of AWS
// JSON protocol services to their signing names. Only SQS is served; the
// others are listed so that an unsigned request gets the right "not
// served" answer instead of an S3 error.
var targetPrefixes = map[string]Service{
	"AmazonSQS":                         SQS,
	"DynamoDB_20120810":                 "dynamodb",
	"DynamoDBStreams_20120810":          "dynamodb",
	"Kinesis_20131202":                  "kinesis",
	"Logs_20140328":                     "logs",
	"AWSEvents":                         "events",
	"AmazonSSM":                         "ssm",
	"secretsmanager":                    "secretsmanager",
	"TrentService":                      "kms",
	"AWSStepFunctions":                  "states",
	"AWSCognitoIdentityProviderService": "cognito-idp",
}

// queryVersions maps the Version of a query-protocol request (form or
// URL) to its service (botocore service models' apiVersion).
var queryVersions = map[string]Service{
	"2010-03-31": SNS,
	"2012-11-05": SQS,
	"2010-05-08": IAM,
	"2011-06-15": STS,
}

// Detect decides which service a request is for, in the order of
// DESIGN.md "One port, four services":
//  1. the service of the SigV4 credential scope (Authorization header or
//     X-Amz-Credential query), whatever its name;
//  2. the X-Amz-Target header's prefix (AmazonSQS. is sqs);
//  3. an Action parameter with a known Version, in the URL query or in a
//     POST form body (SNS 2010-03-31, SQS 2012-11-05, IAM 2010-05-08, STS
//     2011-06-15); also Action=ConfirmSubscription or Unsubscribe on "/"
//     without Version, which are the unsigned links SNS hands out;
//  4. anything else (SigV2, anonymous) is S3.
//
// A form body that Detect reads is put back on r.Body so the handler
// reads it whole.
func Detect(r *http.Request) Service {
	if svc, _, ok := auth.ParseScope(r); ok {
		return Service(svc)
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, _, _ := strings.Cut(t, ".")
		if svc, ok := targetPrefixes[prefix]; ok {
			return svc
		}
		if prefix != "" {
			return Service(strings.ToLower(prefix))
		}
	}
	if svc, ok := detectQuery(r.URL.RawQuery, r.URL.Path); ok {
		return svc
	}
	if r.Method == http.MethodPost && isForm(r.Header.Get("Content-Type")) {
		if body := peekBody(r, maxFormPeek); body != nil {
			if svc, ok := detectQuery(string(body), r.URL.Path); ok {
				return svc
			}
		}
	}
	return S3
}

func detectQuery(raw, path string) (Service, bool) {
	if raw == "" || !strings.Contains(raw, "Action=") {
		return "", false
	}
	vals, _ := url.ParseQuery(raw) // a bad pair is skipped; the rest still counts
	action := vals.Get("Action")
	if action == "" {
		return "", false
	}
	if svc, ok := queryVersions[vals.Get("Version")]; ok {
		return svc, true
	}
	if vals.Get("Version") == "" && (path == "/" || path == "") &&
		(action == "ConfirmSubscription" || action == "Unsubscribe") {
		return SNS, true
	}
	return "", false
}

func isForm(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// peekBody reads up to limit bytes of r.Body and puts them back in front
// of the rest, so the handler sees the same stream. It returns the bytes
// only if that was the whole body.
func peekBody(r *http.Request, limit int64) []byte {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > limit {
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), rest), rest}
	if err != nil || int64(len(buf)) > limit {
		return nil
	}
	return buf
}

type readCloser struct {
	io.Reader
	io.Closer
}
