package s3api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestDeleteObjectsSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("bkt")
	e.put("bkt", "a", "1")
	e.put("bkt", "b c+d", strings.Repeat("2", 200))
	e.put("bkt", "keep", "3")
	ids := func(keys ...string) []types.ObjectIdentifier {
		var out []types.ObjectIdentifier
		for _, k := range keys {
			out = append(out, types.ObjectIdentifier{Key: aws.String(k)})
		}
		return out
	}
	// The SDK sends a CRC32, not Content-MD5.
	out, err := e.vhost.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"),
		Delete: &types.Delete{Objects: ids("a", "b c+d", "missing")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range out.Deleted {
		got = append(got, aws.ToString(d.Key))
	}
	if fmt.Sprint(got) != "[a b c+d missing]" || len(out.Errors) != 0 {
		t.Errorf("Deleted %q, Errors %v", got, out.Errors)
	}
	if e.exists("bkt", "a") || e.exists("bkt", "b c+d") || !e.exists("bkt", "keep") {
		t.Errorf("wrong objects deleted")
	}
	// Quiet: only errors; a per-key error does not fail the rest.
	long := strings.Repeat("k", 1025)
	out, err = e.path.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"),
		Delete: &types.Delete{Objects: append(ids("keep", long), types.ObjectIdentifier{Key: aws.String("x"), VersionId: aws.String("v1")}), Quiet: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 0 || len(out.Errors) != 2 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" || aws.ToString(out.Errors[1].Code) != "NoSuchVersion" {
		t.Errorf("quiet: Deleted %v, Errors %+v", out.Deleted, out.Errors)
	}
	if e.exists("bkt", "keep") {
		t.Errorf("keep survived")
	}
	_, err = e.path.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("nobkt"), Delete: &types.Delete{Objects: ids("a")}})
	if sdkCode(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestDeleteObjectsErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	e.put("bkt", "a", "1")
	doc := func(n int) string {
		var b strings.Builder
		b.WriteString(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "<Object><Key>k%d</Key></Object>", i)
		}
		b.WriteString("</Delete>")
		return b.String()
	}
	for _, tc := range []struct {
		name, body    string
		header        map[string]string
		status        int
		code, message string
	}{
		{"no digest", doc(1), map[string]string{}, 400, "InvalidRequest", "Missing required header for this request: Content-MD5."},
		{"wrong MD5", doc(1), withMD5("x"), 400, "BadDigest", ""},
		{"wrong CRC32", doc(1), map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, 400, "BadDigest", ""},
		{"1001 keys", doc(1001), nil, 400, "MalformedXML", ""},
		{"no keys", doc(0), nil, 400, "MalformedXML", ""},
		{"object without key", "<Delete><Object></Object></Delete>", nil, 400, "MalformedXML", ""},
		{"other root", "<Remove><Object><Key>a</Key></Object></Remove>", nil, 400, "MalformedXML", ""},
		{"bad quiet", "<Delete><Object><Key>a</Key></Object><Quiet>maybe</Quiet></Delete>", nil, 400, "MalformedXML", ""},
		{"truncated", "<Delete><Object><Key>a</Key>", nil, 400, "MalformedXML", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = withMD5(tc.body)
			}
			e.wantError(e.do(rawRequest{method: "POST", path: "/bkt?delete", body: []byte(tc.body), header: h}), tc.status, tc.code, tc.message)
			if !e.exists("bkt", "a") {
				t.Fatalf("a refused request deleted an object")
			}
		})
	}
	resp := e.do(rawRequest{method: "POST", path: "/bkt?delete", body: []byte(doc(1000)), header: withMD5(doc(1000))})
	if resp.status != 200 || strings.Count(string(resp.body), "<Deleted>") != 1000 {
		t.Errorf("1000 keys: %d, %d deleted", resp.status, strings.Count(string(resp.body), "<Deleted>"))
	}
}
