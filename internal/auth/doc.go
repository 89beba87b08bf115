// Package auth verifies AWS Signature Version 4 requests for every service
// Sluice serves (s3, sqs, sns, lambda, iam, sts): the Authorization header
// form and presigned URLs (X-Amz-Algorithm=AWS4-HMAC-SHA256 in the query).
//
// What it guarantees:
//   - A nil error from Verifier.Verify means the request's method, path,
//     query, every header named in SignedHeaders, the date and the payload
//     hash were signed with the secret of the access key in the credential
//     scope, within the clock-skew window (or, presigned, before expiry).
//   - Every failure is an *Error carrying S3's code, status, message and
//     the extra elements S3 puts in its error body; Error.ForService gives
//     the code the query services and Lambda use for the same fault.
//   - For S3 the body itself is not read: the payload hash is the
//     x-amz-content-sha256 value the client signed, and the S3 handler wraps
//     the body with VerifyPayload when that value is a hex digest. For the
//     other services the body is read (bounded) and hashed here, and put
//     back on the request for the handler.
//
// Canonicalisation follows aws-sdk-go-v2's signer (aws/signer/v4) and
// botocore: S3 encodes the path once and never normalises it; other
// services encode the already-encoded path a second time (go-v2 does not
// normalise it, botocore does; both forms are accepted).
//
// Signature Version 2 (header "AWS AKID:sig" and presigned
// AWSAccessKeyId/Signature/Expires) is verified too, for S3 only
// (sigv2.go); VerifyS3 takes the bucket of a virtual-hosted request since
// SigV2 signs it. aws-chunked bodies (the three STREAMING forms) are
// decoded by ChunkedReader (chunked.go), which checks every chunk
// signature and the trailer signature against the request's seed
// signature, and hands the trailers to the caller after EOF.
package auth
