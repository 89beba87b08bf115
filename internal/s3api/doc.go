// Package s3api is the S3 REST edge: it turns HTTP requests into calls on
// the object domain and answers exactly as Amazon S3 does, byte for byte
// where clients look (status, headers, XML bodies, error codes and
// messages).
//
// What it guarantees:
//   - Every request is authenticated with SigV4 before anything else runs,
//     except the anonymous HeadBucket region probe, which learns only the
//     bucket's region (403 with x-amz-bucket-region, or 404).
//   - Both addressing styles work: virtual-hosted (Host
//     "<bucket>.<base>[:port]" for a configured base host) and path style.
//     Keys are taken from the decoded path byte for byte ('//' and a
//     trailing '/' are part of the key).
//   - A body signed with a hex x-amz-content-sha256 is verified while it
//     streams; a PUT whose body, Content-MD5 or x-amz-checksum-* does not
//     match stores nothing.
//   - Every error is the S3 <Error> document with AWS's code, status and
//     message, from one table (errors.go), with x-amz-request-id and
//     x-amz-id-2 on every response; HEAD errors carry the status only.
//   - Operations Sluice does not implement yet answer 501 NotImplemented;
//     a method an S3 resource does not take answers 405 MethodNotAllowed.
//
// Requests are signed with SigV4 or SigV2 (header or presigned); a
// PutObject body may be aws-chunked (the three STREAMING-* forms, framed
// by Content-Length or HTTP chunked encoding), its chunk and trailer
// signatures and trailer checksum verified before anything is stored.
//
// Caveats: SigV4a (ECDSA) streaming, multipart uploads, copies, POST form
// uploads and notification configuration are later issues; they answer
// NotImplemented today.
package s3api
