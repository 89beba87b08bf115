package auth

import (
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// PostSignature is the signature part of a browser form upload (S3 POST
// Object): the form carries its credentials as fields, and what is signed is
// the base64 policy document exactly as sent, not the request. Field values
// are as the form gave them.
//
// SigV4 (AWS "Authenticating Requests in Browser-Based Uploads Using POST"):
// x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-signature =
// hex(HMAC-SHA256(signing key of the credential's scope, policy)).
//
// SigV2 (the "Browser-Based Uploads Using POST (AWS Signature Version 2)"
// page; what boto3's generate_presigned_post emits by default in us-east-1):
// AWSAccessKeyId and signature = base64(HMAC-SHA1(secret, policy)).
type PostSignature struct {
	Policy string // the base64 policy field, as sent

	Algorithm  string // x-amz-algorithm
	Credential string // x-amz-credential
	Date       string // x-amz-date
	Signature  string // x-amz-signature

	AccessKeyID string // AWSAccessKeyId (SigV2)
	SignatureV2 string // signature (SigV2)

	// SecurityToken is x-amz-security-token, required when the key is a
	// temporary one.
	SecurityToken string
}

// V4 reports whether the form is signed with SigV4 (any of its fields is
// present), else SigV2 is assumed.
func (p PostSignature) V4() bool {
	return p.Algorithm != "" || p.Credential != "" || p.Date != "" || p.Signature != ""
}

// VerifyPostPolicy checks the signature of a form's policy. The caller has
// already made sure the form has the fields of one signature version (S3
// names a missing one in an InvalidArgument of its own); empty values are
// treated as wrong, not missing. Outcomes:
//   - a valid signature: the Result (Credentials; for SigV4 also Region,
//     Date, Scope and SigningKey; SigV2 set for SigV2), nil;
//   - SigV4 with an algorithm other than AWS4-HMAC-SHA256: 400
//     InvalidArgument naming X-Amz-Algorithm;
//   - a malformed x-amz-credential: 400 InvalidArgument naming
//     X-Amz-Credential;
//   - an x-amz-date that is not YYYYMMDDTHHMMSSZ: 400 InvalidArgument
//     naming X-Amz-Date;
//   - an unknown access key: 403 InvalidAccessKeyId;
//   - a temporary key without its token: 400 InvalidToken;
//   - a wrong signature: 403 SignatureDoesNotMatch, whose StringToSign is
//     the policy (as S3 reports it).
//
// The form's date is not checked against the clock: a policy carries its
// own expiration, which the S3 edge checks.
func (v *Verifier) VerifyPostPolicy(p PostSignature) (*Result, error) {
	if !p.V4() {
		return v.verifyPostV2(p)
	}
	if p.Algorithm != Algorithm {
		return nil, postArgument(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`, "X-Amz-Algorithm", p.Algorithm)
	}
	sc, fault, _ := parseCredential(p.Credential)
	if fault != "" {
		return nil, postArgument(msgQueryCredential+fault, "X-Amz-Credential", p.Credential)
	}
	t, ok := parseAmzDate(p.Date)
	if !ok {
		return nil, postArgument(msgQueryDate, "X-Amz-Date", p.Date)
	}
	creds, ok := v.Keys.Lookup(sc.AccessKeyID)
	if !ok {
		return nil, newErr(KindUnknownKey, "InvalidAccessKeyId", http.StatusForbidden, msgUnknownKey,
			Field{"AWSAccessKeyId", sc.AccessKeyID})
	}
	if err := checkPostToken(creds, p.SecurityToken); err != nil {
		return nil, err
	}
	key := v.signingKeys.get(creds.SecretAccessKey, sc.Date, sc.Region, sc.Service)
	want := hex.EncodeToString(hmacSHA256(key, []byte(p.Policy)))
	if subtle.ConstantTimeCompare([]byte(want), []byte(p.Signature)) != 1 {
		return nil, postMismatch(sc.AccessKeyID, p.Policy, p.Signature)
	}
	return &Result{
		Credentials: creds,
		Service:     sc.Service,
		Region:      sc.Region,
		Date:        sc.Date,
		AmzDate:     p.Date,
		Time:        t,
		Scope:       sc.Date + "/" + sc.Region + "/" + sc.Service + "/aws4_request",
		Signature:   p.Signature,
		SigningKey:  key,
		PayloadHash: UnsignedPayload,
	}, nil
}

func (v *Verifier) verifyPostV2(p PostSignature) (*Result, error) {
	creds, ok := v.Keys.Lookup(p.AccessKeyID)
	if !ok {
		return nil, newErr(KindUnknownKey, "InvalidAccessKeyId", http.StatusForbidden, msgUnknownKey,
			Field{"AWSAccessKeyId", p.AccessKeyID})
	}
	if err := checkPostToken(creds, p.SecurityToken); err != nil {
		return nil, err
	}
	want := SignV2(creds.SecretAccessKey, p.Policy)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p.SignatureV2)) != 1 {
		return nil, postMismatch(p.AccessKeyID, p.Policy, p.SignatureV2)
	}
	return &Result{Credentials: creds, Service: "s3", SigV2: true, Signature: p.SignatureV2, PayloadHash: UnsignedPayload}, nil
}

func checkPostToken(creds Credentials, token string) error {
	if creds.SessionToken != "" && subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(token)) != 1 {
		return newErr(KindBadToken, "InvalidToken", http.StatusBadRequest, msgBadToken, Field{"Token-0", token})
	}
	return nil
}

// postArgument is S3's 400 InvalidArgument for a malformed signing field of
// a form.
func postArgument(msg, name, value string) *Error {
	return newErr(KindMalformedQuery, "InvalidArgument", http.StatusBadRequest, msg,
		Field{"ArgumentName", name}, Field{"ArgumentValue", value})
}

// postMismatch is SignatureDoesNotMatch for a form: what was signed is the
// policy itself.
func postMismatch(akid, policy, sig string) *Error {
	return newErr(KindSignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden, msgMismatch,
		Field{"AWSAccessKeyId", akid},
		Field{"StringToSign", policy},
		Field{"SignatureProvided", sig},
		Field{"StringToSignBytes", hexBytes(policy)})
}
