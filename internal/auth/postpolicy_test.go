package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"testing"
)

// docPostPolicy and docPostSignature are the example of AWS's "Example:
// Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)"
// page: the policy (with CRLF line ends) base64 as published, and its
// signature with the documentation key pair and scope
// 20151229/us-east-1/s3.
const (
	docPostPolicy    = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	docPostSignature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
)

func docPostForm() PostSignature {
	return PostSignature{
		Policy:     docPostPolicy,
		Algorithm:  Algorithm,
		Credential: "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
		Date:       "20151229T000000Z",
		Signature:  docPostSignature,
	}
}

func TestVerifyPostPolicyV4DocExample(t *testing.T) {
	v := newVerifier(t0, docCred)
	res, err := v.VerifyPostPolicy(docPostForm())
	if err != nil {
		t.Fatalf("VerifyPostPolicy(AWS example) = %v, want nil", err)
	}
	if res.AccessKeyID != docCred.AccessKeyID || res.Region != "us-east-1" || res.Scope != "20151229/us-east-1/s3/aws4_request" || res.SigV2 {
		t.Errorf("result = %+v, want the example's key and scope", res)
	}
}

func TestVerifyPostPolicyV4Faults(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*PostSignature)
		code       string
		status     int
		argName    string
		wantSTSPol bool
	}{
		{"tampered policy", func(p *PostSignature) { p.Policy = p.Policy[:len(p.Policy)-4] + "fQ==" }, "SignatureDoesNotMatch", http.StatusForbidden, "", true},
		{"tampered signature", func(p *PostSignature) { p.Signature = "0" + p.Signature[1:] }, "SignatureDoesNotMatch", http.StatusForbidden, "", true},
		{"upper-case hex signature", func(p *PostSignature) {
			p.Signature = "8AFDBF4008C03F22C2CD3CDB72E4AFBB1F6A588F3255AC628749A66D7F09699E"
		}, "SignatureDoesNotMatch", http.StatusForbidden, "", true},
		{"other region in scope", func(p *PostSignature) { p.Credential = "AKIAIOSFODNN7EXAMPLE/20151229/eu-west-1/s3/aws4_request" }, "SignatureDoesNotMatch", http.StatusForbidden, "", true},
		{"unknown key", func(p *PostSignature) { p.Credential = "AKIDNOPE/20151229/us-east-1/s3/aws4_request" }, "InvalidAccessKeyId", http.StatusForbidden, "", false},
		{"algorithm", func(p *PostSignature) { p.Algorithm = "AWS4-HMAC-SHA1" }, "InvalidArgument", http.StatusBadRequest, "X-Amz-Algorithm", false},
		{"credential shape", func(p *PostSignature) { p.Credential = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3" }, "InvalidArgument", http.StatusBadRequest, "X-Amz-Credential", false},
		{"credential terminal", func(p *PostSignature) { p.Credential = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws5_request" }, "InvalidArgument", http.StatusBadRequest, "X-Amz-Credential", false},
		{"date", func(p *PostSignature) { p.Date = "2015-12-29T00:00:00Z" }, "InvalidArgument", http.StatusBadRequest, "X-Amz-Date", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := docPostForm()
			tc.edit(&p)
			_, err := newVerifier(t0, docCred).VerifyPostPolicy(p)
			ae, ok := err.(*Error)
			if !ok {
				t.Fatalf("VerifyPostPolicy(%+v) = %v, want *Error %s", p, err, tc.code)
			}
			if ae.Code != tc.code || ae.Status != tc.status {
				t.Fatalf("got %s %d (%s), want %s %d", ae.Code, ae.Status, ae.Message, tc.code, tc.status)
			}
			if tc.argName != "" && ae.Field("ArgumentName") != tc.argName {
				t.Errorf("ArgumentName = %q, want %q", ae.Field("ArgumentName"), tc.argName)
			}
			if tc.wantSTSPol && ae.Field("StringToSign") != p.Policy {
				t.Errorf("StringToSign = %q, want the policy %q", ae.Field("StringToSign"), p.Policy)
			}
		})
	}
}

func TestVerifyPostPolicyV2(t *testing.T) {
	policy := base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},{"key":"k"}]}`))
	// Computed independently of SignV2: HMAC-SHA1 with the secret, base64.
	mac := hmac.New(sha1.New, []byte(rootCred.SecretAccessKey))
	mac.Write([]byte(policy))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	v := newVerifier(t0)

	res, err := v.VerifyPostPolicy(PostSignature{Policy: policy, AccessKeyID: rootCred.AccessKeyID, SignatureV2: sig})
	if err != nil || !res.SigV2 || res.AccessKeyID != rootCred.AccessKeyID || res.Principal != "root" {
		t.Fatalf("VerifyPostPolicy(V2) = %+v, %v; want the root key, SigV2", res, err)
	}
	_, err = v.VerifyPostPolicy(PostSignature{Policy: policy + "=", AccessKeyID: rootCred.AccessKeyID, SignatureV2: sig})
	if ae, ok := err.(*Error); !ok || ae.Code != "SignatureDoesNotMatch" {
		t.Errorf("tampered policy: %v, want SignatureDoesNotMatch", err)
	}
	_, err = v.VerifyPostPolicy(PostSignature{Policy: policy, AccessKeyID: "AKIDNOPE", SignatureV2: sig})
	if ae, ok := err.(*Error); !ok || ae.Code != "InvalidAccessKeyId" {
		t.Errorf("unknown key: %v, want InvalidAccessKeyId", err)
	}
}

func TestVerifyPostPolicySessionToken(t *testing.T) {
	temp := Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "s3cr3t", SessionToken: "tok"}
	v := newVerifier(t0, temp)
	policy := "eyJ9"
	sig := SignV2(temp.SecretAccessKey, policy)
	if _, err := v.VerifyPostPolicy(PostSignature{Policy: policy, AccessKeyID: temp.AccessKeyID, SignatureV2: sig}); err == nil {
		t.Fatal("temporary key without its token accepted")
	} else if ae := err.(*Error); ae.Code != "InvalidToken" {
		t.Fatalf("missing token: %v, want InvalidToken", err)
	}
	if _, err := v.VerifyPostPolicy(PostSignature{Policy: policy, AccessKeyID: temp.AccessKeyID, SignatureV2: sig, SecurityToken: "tok"}); err != nil {
		t.Fatalf("with token: %v", err)
	}
}
