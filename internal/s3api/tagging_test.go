package s3api

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestObjectTaggingSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("bkt")
	_, err := e.vhost.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x"),
		Tagging: aws.String("b=2&a=1&empty&sp=a+b")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.vhost.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	want := "a=1 b=2 empty= sp=a b "
	if s := tagString(got.TagSet); s != want {
		t.Errorf("tags %q, want %q", s, want)
	}
	if h := e.do(rawRequest{method: "HEAD", path: "/bkt/k"}); h.header.Get("x-amz-tagging-count") != "4" {
		t.Errorf("HEAD x-amz-tagging-count %q, want 4", h.header.Get("x-amz-tagging-count"))
	}
	out, _ := e.get("bkt", "k")
	if aws.ToInt32(out.TagCount) != 4 {
		t.Errorf("GetObject TagCount %d, want 4", aws.ToInt32(out.TagCount))
	}
	_, err = e.path.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("z"), Value: aws.String("é/:+=@_.-")}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = e.path.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if s := tagString(got.TagSet); s != "z=é/:+=@_.- " {
		t.Errorf("after PutObjectTagging: %q", s)
	}
	if _, err := e.path.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.path.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if len(got.TagSet) != 0 {
		t.Errorf("after DeleteObjectTagging: %v", tagString(got.TagSet))
	}
	if out, _ := e.get("bkt", "k"); out.TagCount != nil {
		t.Errorf("untagged object has TagCount %d", *out.TagCount)
	}
	_, err = e.path.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	if sdkCode(err) != "NoSuchKey" {
		t.Errorf("GetObjectTagging of a missing key: %v", err)
	}
}

func tagString(tags []types.Tag) string {
	var b strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&b, "%s=%s ", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return b.String()
}

func taggingDoc(pairs ...string) string {
	var b strings.Builder
	b.WriteString("<Tagging><TagSet>")
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", pairs[i], pairs[i+1])
	}
	b.WriteString("</TagSet></Tagging>")
	return b.String()
}

func withMD5(body string) map[string]string {
	s := md5.Sum([]byte(body))
	return map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(s[:])}
}

func TestObjectTaggingErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	e.put("bkt", "k", "x")
	var eleven []string
	for i := 0; i < 11; i++ {
		eleven = append(eleven, fmt.Sprint("k", i), "")
	}
	long := strings.Repeat("k", 129)
	for _, tc := range []struct {
		name, body    string
		header        map[string]string
		status        int
		code, message string
		tagKey        string
	}{
		{"11 tags", taggingDoc(eleven...), nil, 400, "BadRequest", "Object tags cannot be greater than 10", ""},
		{"duplicate", taggingDoc("a", "1", "a", "2"), nil, 400, "InvalidTag", "Cannot provide multiple Tags with the same key", "a"},
		{"long key", taggingDoc(long, ""), nil, 400, "InvalidTag", "The TagKey you have provided is invalid", long},
		{"bad value", taggingDoc("k", "a*b"), nil, 400, "InvalidTag", "The TagValue you have provided is invalid", "k"},
		{"aws: key", taggingDoc("aws:x", "1"), nil, 400, "InvalidTag", "System tags cannot be added/updated by requester", "aws:x"},
		{"no TagSet", "<Tagging></Tagging>", nil, 400, "MalformedXML", "", ""},
		{"no Value", "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", nil, 400, "MalformedXML", "", ""},
		{"not XML", "<Tagging><TagSet>", nil, 400, "MalformedXML", "", ""},
		{"no digest", taggingDoc("a", "1"), map[string]string{}, 400, "InvalidRequest", "Missing required header for this request: Content-MD5.", ""},
		{"wrong MD5", taggingDoc("a", "1"), withMD5("other"), 400, "BadDigest", "", ""},
		{"wrong CRC32", taggingDoc("a", "1"), map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, 400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = withMD5(tc.body)
			}
			eb := e.wantError(e.do(rawRequest{method: "PUT", path: "/bkt/k?tagging", body: []byte(tc.body), header: h}), tc.status, tc.code, tc.message)
			if tc.tagKey != "" && !strings.Contains(string(e.do(rawRequest{method: "PUT", path: "/bkt/k?tagging", body: []byte(tc.body), header: h}).body), "<TagKey>"+tc.tagKey+"</TagKey>") {
				t.Errorf("error does not name TagKey %q (%+v)", tc.tagKey, eb)
			}
		})
	}
	obj, err := e.objects.HeadObject(context.Background(), "bkt", "k")
	if err != nil || len(obj.Tags) != 0 {
		t.Errorf("refused taggings changed the object: %v %v", obj.Tags, err)
	}
	// x-amz-tagging on PutObject.
	for _, tc := range []struct{ header, code string }{
		{"a=1&a=2", "InvalidArgument"}, {"=1", "InvalidArgument"}, {"a=%FF", "InvalidArgument"}, {"a=%zz", "InvalidArgument"},
		{"a,b=1", "InvalidTag"}, {"aws:cost=1", "InvalidTag"},
		{"k0&k1&k2&k3&k4&k5&k6&k7&k8&k9&k10", "BadRequest"},
	} {
		resp := e.do(rawRequest{method: "PUT", path: "/bkt/new", body: []byte("x"), header: map[string]string{"x-amz-tagging": tc.header}})
		e.wantError(resp, 400, tc.code, "")
		if e.exists("bkt", "new") {
			t.Fatalf("x-amz-tagging %q: object written", tc.header)
		}
	}
}

func TestConditionalPutSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("bkt")
	put := func(key, body string, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
		return e.path.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader(body),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	first, err := put("k", "one", nil, aws.String("*"))
	if err != nil {
		t.Fatalf("If-None-Match * create: %v", err)
	}
	if _, err := put("k", strings.Repeat("2", 200), nil, aws.String("*")); sdkCode(err) != "PreconditionFailed" {
		t.Errorf("If-None-Match * on an existing key: %v", err)
	}
	if _, err := put("k", "two", aws.String(`"0123"`), nil); sdkCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match another ETag: %v", err)
	}
	if _, err := put("missing", "two", first.ETag, nil); sdkCode(err) != "NoSuchKey" {
		t.Errorf("If-Match on a missing key: %v", err)
	}
	if _, data := e.get("bkt", "k"); data != "one" {
		t.Errorf("object %q after refused writes", data)
	}
	if _, err := put("k", "three", first.ETag, nil); err != nil {
		t.Errorf("If-Match the current ETag: %v", err)
	}
	resp := e.do(rawRequest{method: "PUT", path: "/bkt/k2", body: []byte("x"), header: map[string]string{"If-None-Match": `"abc"`}})
	e.wantError(resp, 501, "NotImplemented", "")

	// Racing creates: exactly one winner.
	const n = 12
	var wins, fails atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := put("race", fmt.Sprint(i), nil, aws.String("*"))
			switch sdkCode(err) {
			case "":
				if err != nil {
					t.Error(err)
				}
				wins.Add(1)
			case "PreconditionFailed":
				fails.Add(1)
			default:
				t.Errorf("racing create: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || fails.Load() != n-1 {
		t.Errorf("%d wins, %d 412s; want 1 and %d", wins.Load(), fails.Load(), n-1)
	}
}

// Conditional reads compare at one-second granularity: sending back the
// Last-Modified a GET returned gives 304 (If-Modified-Since) and passes
// If-Unmodified-Since.
func TestConditionalReadSecondGranularity(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	e.put("bkt", "k", "x")
	first := e.do(rawRequest{method: "GET", path: "/bkt/k"})
	lm, etag := first.header.Get("Last-Modified"), first.header.Get("ETag")
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"If-Modified-Since Last-Modified", map[string]string{"If-Modified-Since": lm}, http.StatusNotModified},
		{"If-Unmodified-Since Last-Modified", map[string]string{"If-Unmodified-Since": lm}, http.StatusOK},
		{"If-None-Match ETag", map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		{"If-Match ETag", map[string]string{"If-Match": etag}, http.StatusOK},
		{"If-Match other", map[string]string{"If-Match": `"x"`}, http.StatusPreconditionFailed},
		{"If-Match true beats If-Unmodified-Since false", map[string]string{"If-Match": etag, "If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, http.StatusOK},
		{"If-None-Match false beats If-Modified-Since true", map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": lm}, http.StatusOK},
	} {
		if resp := e.do(rawRequest{method: "GET", path: "/bkt/k", header: tc.header}); resp.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.status, tc.status)
		}
	}
}
