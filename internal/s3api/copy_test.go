package s3api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func (e *env) get(bucket, key string) (*s3.GetObjectOutput, string) {
	e.t.Helper()
	out, err := e.path.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatalf("GetObject(%q, %q): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return out, string(b)
}

func TestCopyObjectSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("src-bkt")
	e.createBucket("dst-bkt")
	for _, size := range []int{10, 200} { // inline and blob (InlineLimit 64)
		body := strings.Repeat("c", size)
		_, err := e.path.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src-bkt"), Key: aws.String("dir/a b+c"),
			Body: strings.NewReader(body), ContentType: aws.String("text/plain"), Metadata: map[string]string{"m": "1"},
			Tagging: aws.String("t1=v1&t2=v%202")})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*s3.Client{e.path, e.vhost} {
			out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bkt"), Key: aws.String("copy"),
				CopySource: aws.String("src-bkt/dir/a%20b%2Bc")})
			if err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			got, data := e.get("dst-bkt", "copy")
			if data != body || aws.ToString(got.ContentType) != "text/plain" || got.Metadata["m"] != "1" {
				t.Errorf("copy: %d bytes, type %q, meta %v", len(data), aws.ToString(got.ContentType), got.Metadata)
			}
			if aws.ToString(out.CopyObjectResult.ETag) != aws.ToString(got.ETag) || out.CopyObjectResult.LastModified == nil {
				t.Errorf("CopyObjectResult %+v, object ETag %s", out.CopyObjectResult, aws.ToString(got.ETag))
			}
			if out.CopyObjectResult.ChecksumCRC32 == nil {
				t.Errorf("CopyObjectResult has no CRC32 although the source has one")
			}
			if aws.ToInt32(got.TagCount) != 2 {
				t.Errorf("copy TagCount %d, want 2 (tagging directive COPY)", aws.ToInt32(got.TagCount))
			}
		}
	}

	// REPLACE: new metadata and tags from the request.
	_, err := e.path.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bkt"), Key: aws.String("r"),
		CopySource: aws.String("/src-bkt/dir/a%20b%2Bc?versionId=null"), MetadataDirective: types.MetadataDirectiveReplace,
		ContentType: aws.String("image/png"), Metadata: map[string]string{"n": "2"},
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("x=y")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.get("dst-bkt", "r")
	if aws.ToString(got.ContentType) != "image/png" || got.Metadata["n"] != "2" || got.Metadata["m"] != "" || aws.ToInt32(got.TagCount) != 1 {
		t.Errorf("REPLACE copy: type %q meta %v tags %d", aws.ToString(got.ContentType), got.Metadata, aws.ToInt32(got.TagCount))
	}

	// Onto itself: refused without REPLACE, allowed with it.
	_, err = e.path.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bkt"), Key: aws.String("r"), CopySource: aws.String("dst-bkt/r")})
	if sdkCode(err) != "InvalidRequest" {
		t.Errorf("copy onto itself: %v, want InvalidRequest", err)
	}
	_, err = e.path.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bkt"), Key: aws.String("r"), CopySource: aws.String("dst-bkt/r"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/csv")})
	if err != nil {
		t.Errorf("copy onto itself with REPLACE: %v", err)
	}
}

func TestCopyObjectErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("bkt")
	e.put("bkt", "a", "hello")
	head, err := e.path.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	lm := head.LastModified.UTC().Format(http.TimeFormat)
	etag := aws.ToString(head.ETag)
	copyReq := func(h map[string]string) rawRequest {
		return rawRequest{method: "PUT", path: "/bkt/dst", header: h}
	}
	self := "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
	for _, tc := range []struct {
		name          string
		path          string
		header        map[string]string
		status        int
		code, message string
	}{
		{"no slash", "", map[string]string{"x-amz-copy-source": "bkt"}, 400, "InvalidArgument", "Invalid copy source object key"},
		{"bad escape", "", map[string]string{"x-amz-copy-source": "bkt/%zz"}, 400, "InvalidArgument", "Invalid copy source encoding"},
		{"other version", "", map[string]string{"x-amz-copy-source": "bkt/a?versionId=abc"}, 400, "InvalidArgument", "Invalid version id specified"},
		{"missing source", "", map[string]string{"x-amz-copy-source": "bkt/nope"}, 404, "NoSuchKey", ""},
		{"missing source bucket", "", map[string]string{"x-amz-copy-source": "nobkt/a"}, 404, "NoSuchBucket", ""},
		{"bad metadata directive", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-metadata-directive": "MOVE"}, 400, "InvalidArgument", "Unknown metadata directive."},
		{"bad tagging directive", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-tagging-directive": "x"}, 400, "InvalidArgument", "Unknown tagging directive."},
		{"onto itself", "/bkt/a", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-tagging-directive": "REPLACE"}, 400, "InvalidRequest", self},
		{"if-match", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-copy-source-if-match": `"nope"`}, 412, "PreconditionFailed", ""},
		{"if-none-match", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-copy-source-if-none-match": etag}, 412, "PreconditionFailed", ""},
		{"if-modified-since Last-Modified", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-copy-source-if-modified-since": lm}, 412, "PreconditionFailed", ""},
		{"if-unmodified-since earlier", "", map[string]string{"x-amz-copy-source": "bkt/a",
			"x-amz-copy-source-if-unmodified-since": head.LastModified.Add(-time.Hour).UTC().Format(http.TimeFormat)}, 412, "PreconditionFailed", ""},
		{"bad tagging header", "", map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "a=1&a=2"}, 400, "InvalidArgument", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := copyReq(tc.header)
			if tc.path != "" {
				rr.path = tc.path
			}
			eb := e.wantError(e.do(rr), tc.status, tc.code, tc.message)
			if tc.code == "NoSuchKey" && eb.Key != "nope" {
				t.Errorf("NoSuchKey names key %q, want the source's", eb.Key)
			}
			if tc.code == "NoSuchBucket" && eb.BucketName != "nobkt" {
				t.Errorf("NoSuchBucket names %q, want the source's", eb.BucketName)
			}
			if e.exists("bkt", "dst") {
				t.Fatalf("a refused copy wrote the destination")
			}
		})
	}
	// A true If-Match wins over a false If-Unmodified-Since (S3's pairing).
	resp := e.do(copyReq(map[string]string{"x-amz-copy-source": "bkt/a", "x-amz-copy-source-if-match": etag,
		"x-amz-copy-source-if-unmodified-since": head.LastModified.Add(-time.Hour).UTC().Format(http.TimeFormat)}))
	if resp.status != 200 || !strings.Contains(string(resp.body), "<CopyObjectResult") {
		t.Errorf("paired conditions: %d %s", resp.status, resp.body)
	}
}

// Copies racing with overwrites of the source always get one whole
// version: its bytes with its own ETag.
func TestCopyVersusOverwriteSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("bkt")
	body := func(i int) string { return strings.Repeat(fmt.Sprint(i%10), 50+i%3*50) }
	e.put("bkt", "src", body(0))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i <= 20; i++ {
			if _, err := e.path.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("src"), Body: strings.NewReader(body(i))}); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			key := fmt.Sprint("c", i)
			out, err := e.path.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), CopySource: aws.String("bkt/src")})
			if err != nil {
				t.Error(err)
				return
			}
			got, data := e.get("bkt", key)
			if aws.ToString(got.ETag) != aws.ToString(out.CopyObjectResult.ETag) || strings.Trim(data, data[:1]) != "" {
				t.Errorf("%s: torn copy: %q with ETag %s", key, data, aws.ToString(got.ETag))
			}
		}
	}()
	wg.Wait()
}

// sdkCode returns the S3 error code of an SDK error, or "" (also for nil).
func sdkCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
