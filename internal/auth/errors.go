package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Kind says what went wrong with a request's credentials, independently of
// the service. S3 and the query/JSON services name the same fault with
// different codes (S3 InvalidAccessKeyId is SQS InvalidClientTokenId and
// Lambda UnrecognizedClientException), so the verifier reports a Kind and
// Error.ForService picks the code of the service that answers.
type Kind int

// The kinds of authentication failure.
const (
	KindMissingAuth        Kind = iota + 1 // no credentials at all (anonymous)
	KindMalformedHeader                    // Authorization header unreadable or its scope wrong
	KindMalformedQuery                     // presigned query parameters unreadable or wrong
	KindUnsupportedAuth                    // unknown scheme, or two mechanisms at once
	KindMissingDate                        // neither X-Amz-Date nor Date
	KindSkewed                             // request time too far from the server's clock
	KindExpired                            // presigned URL past its X-Amz-Expires
	KindNotYetValid                        // presigned URL dated in the future
	KindUnknownKey                         // access key not in the keyring
	KindSignatureMismatch                  // signature does not match
	KindUnsignedHeaders                    // host (or an x-amz-* header) present but not signed
	KindBadToken                           // session token missing or wrong
	KindMissingContentSHA                  // S3: x-amz-content-sha256 absent
	KindBadContentSHA                      // S3: x-amz-content-sha256 not a valid value
	KindContentSHAMismatch                 // body does not hash to x-amz-content-sha256
	KindBodyTooLarge                       // body too large to hash for a non-S3 service
	KindIncompleteBody                     // S3: aws-chunked body framed wrongly or cut short
	KindMalformedTrailer                   // S3: aws-chunked trailers malformed or not as announced
)

// Field is one extra element of an AWS error body, in the order AWS writes
// them (S3 puts e.g. <StringToSign> and <CanonicalRequest> after
// <Message>).
type Field struct {
	Name, Value string
}

// Error is an authentication failure with the AWS code, HTTP status and
// message the service answers with. The zero Service is S3's vocabulary;
// ForService translates it for the other services. Error() is short; the
// XML or JSON envelope is rendered by the *api package.
type Error struct {
	Kind    Kind
	Code    string
	Status  int
	Message string
	// Fields are extra elements for S3's <Error> body (query and JSON
	// services ignore them).
	Fields []Field
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Field returns the value of the named extra field, or "".
func (e *Error) Field(name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Messages, as real S3 sends them. Sources: AWS S3 API "Error responses"
// (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), minio
// cmd/api-errors.go, versity/versitygw s3err/s3err.go, and a recording
// of s3.us-east-1.amazonaws.com kept in a public S3 emulator's sigv4
// module (order of checks, "Request is not yet valid",
// "the region ... is wrong", the X-Amz-Expires texts).
const (
	msgAccessDenied     = "Access Denied"
	msgNoDate           = "AWS authentication requires a valid Date or x-amz-date header"
	msgUnknownKey       = "The AWS Access Key Id you provided does not exist in our records."
	msgMismatch         = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgSkewed           = "The difference between the request time and the current time is too large."
	msgExpired          = "Request has expired"
	msgNotYetValid      = "Request is not yet valid"
	msgHeaderMalformed  = "The authorization header is malformed; "
	msgQueryCredential  = "Error parsing the X-Amz-Credential parameter; "
	msgCredentialFormat = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`
	msgThreeComponents  = "the authorization header requires three components: Credential, SignedHeaders, and Signature."
	msgEmptyRegion      = "a non-empty region must be provided in the credential."
	msgHeaderDate       = "Invalid credential date. Date is not the same as X-Amz-Date."
	msgQueryParams      = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	msgQueryAlgorithm   = `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"`
	msgQueryDate        = `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`
	msgExpiresNumber    = "X-Amz-Expires should be a number"
	msgExpiresNegative  = "X-Amz-Expires must be non-negative"
	msgExpiresWeek      = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
	msgOneMechanism     = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgUnsupportedType  = "Unsupported Authorization Type"
	msgUnsignedHeaders  = "There were headers present in the request which were not signed"
	msgMissingSHA       = "Missing required header for this request: x-amz-content-sha256"
	msgBadSHA           = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
	msgSHAMismatch      = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgBadToken         = "The provided token is malformed or otherwise invalid."
	msgTooLarge         = "Request body is too large to authenticate."
)

func newErr(k Kind, code string, status int, msg string, fields ...Field) *Error {
	return &Error{Kind: k, Code: code, Status: status, Message: msg, Fields: fields}
}

func errMalformedHeader(detail string, fields ...Field) *Error {
	return newErr(KindMalformedHeader, "AuthorizationHeaderMalformed", http.StatusBadRequest, msgHeaderMalformed+detail, fields...)
}

func errQuery(msg string, fields ...Field) *Error {
	return newErr(KindMalformedQuery, "AuthorizationQueryParametersError", http.StatusBadRequest, msg, fields...)
}

// ErrMissingAuth is what an anonymous request gets until bucket policies
// can grant anonymous access: S3's plain 403 AccessDenied.
func ErrMissingAuth() *Error {
	return newErr(KindMissingAuth, "AccessDenied", http.StatusForbidden, msgAccessDenied)
}

// ErrContentSHA256Mismatch is returned at EOF by the reader of VerifyPayload
// when the body does not hash to the value the client signed.
func ErrContentSHA256Mismatch(clientHex, computedHex string) *Error {
	return newErr(KindContentSHAMismatch, "XAmzContentSHA256Mismatch", http.StatusBadRequest, msgSHAMismatch,
		Field{"ClientComputedContentSHA256", clientHex},
		Field{"S3ComputedContentSHA256", computedHex})
}

// hexBytes renders s as S3 renders <StringToSignBytes>: lower-case hex
// bytes separated by spaces.
func hexBytes(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02x", s[i])
	}
	return b.String()
}

// ForService returns the error as the named service reports it. S3 (and
// any service Sluice does not know) keeps S3's vocabulary. The query
// services (sqs, sns, iam, sts) and Lambda use the codes of the AWS
// "Common Errors" pages (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html,
// docs.aws.amazon.com/lambda/latest/api/CommonErrors.html): IncompleteSignature,
// InvalidClientTokenId / UnrecognizedClientException, MissingAuthenticationToken,
// SignatureDoesNotMatch / InvalidSignatureException. Extra fields are
// dropped: those protocols carry only a code and a message.
func (e *Error) ForService(service string) *Error {
	switch service {
	case "sqs", "sns", "iam", "sts":
		return e.forQuery()
	case "lambda":
		return e.forLambda()
	}
	return e
}

func (e *Error) forQuery() *Error {
	out := &Error{Kind: e.Kind, Status: e.Status, Message: e.Message}
	switch e.Kind {
	case KindMissingAuth:
		out.Code, out.Status, out.Message = "MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token"
	case KindMalformedHeader, KindMalformedQuery, KindUnsupportedAuth, KindMissingDate:
		out.Code, out.Status = "IncompleteSignature", http.StatusBadRequest
	case KindUnknownKey, KindBadToken:
		out.Code, out.Status, out.Message = "InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid."
	case KindSignatureMismatch, KindUnsignedHeaders, KindContentSHAMismatch, KindBadContentSHA, KindMissingContentSHA:
		out.Code, out.Status = "SignatureDoesNotMatch", http.StatusForbidden
		if e.Kind == KindSignatureMismatch {
			out.Message = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
		}
	case KindSkewed, KindExpired, KindNotYetValid:
		// SQS, SNS, IAM and STS report clock faults as 400 RequestExpired
		// (CommonErrors: "The request reached the service more than 15
		// minutes after the date stamp on the request").
		out.Code, out.Status = "RequestExpired", http.StatusBadRequest
	case KindBodyTooLarge:
		out.Code, out.Status = "RequestEntityTooLarge", http.StatusRequestEntityTooLarge
	default:
		out.Code = e.Code
	}
	return out
}

func (e *Error) forLambda() *Error {
	out := &Error{Kind: e.Kind, Status: e.Status, Message: e.Message}
	switch e.Kind {
	case KindMissingAuth:
		out.Code, out.Status, out.Message = "MissingAuthenticationTokenException", http.StatusForbidden, "Missing Authentication Token"
	case KindMalformedHeader, KindMalformedQuery, KindUnsupportedAuth, KindMissingDate:
		out.Code, out.Status = "IncompleteSignatureException", http.StatusForbidden
	case KindUnknownKey, KindBadToken:
		out.Code, out.Status, out.Message = "UnrecognizedClientException", http.StatusForbidden, "The security token included in the request is invalid."
	case KindSignatureMismatch, KindUnsignedHeaders, KindContentSHAMismatch, KindBadContentSHA, KindMissingContentSHA,
		KindSkewed, KindExpired, KindNotYetValid:
		out.Code, out.Status = "InvalidSignatureException", http.StatusForbidden
		if e.Kind == KindSignatureMismatch {
			out.Message = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
		}
	case KindBodyTooLarge:
		out.Code, out.Status = "RequestTooLargeException", http.StatusRequestEntityTooLarge
	default:
		out.Code = e.Code
	}
	return out
}
