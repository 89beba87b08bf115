package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestListObjectsV2Paginator(t *testing.T) {
	e := newEnv(t)
	e.createBucket("lst")
	var want []string
	for i := 0; i < 23; i++ {
		k := fmt.Sprintf("p/%02d", i)
		want = append(want, k)
		e.put("lst", k, "x")
	}
	e.put("lst", "q/other", "x")
	ctx := context.Background()
	for _, c := range []*s3.Client{e.path, e.vhost} {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("lst"), Prefix: aws.String("p/"), MaxKeys: aws.Int32(5)})
		var got []string
		pages := 0
		for p.HasMorePages() && pages < 20 {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			if int(aws.ToInt32(out.KeyCount)) != len(out.Contents) {
				t.Errorf("KeyCount %d with %d contents", aws.ToInt32(out.KeyCount), len(out.Contents))
			}
			for _, o := range out.Contents {
				got = append(got, aws.ToString(o.Key))
				if o.ChecksumAlgorithm == nil || o.StorageClass != "STANDARD" || aws.ToInt64(o.Size) != 1 {
					t.Errorf("object %s: checksum %v class %q size %d", aws.ToString(o.Key), o.ChecksumAlgorithm, o.StorageClass, aws.ToInt64(o.Size))
				}
				if o.Owner != nil {
					t.Errorf("Owner listed without fetch-owner")
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || pages != 5 {
			t.Errorf("paginated %d pages: %v", pages, got)
		}
	}
}

func TestListObjectsV2Shape(t *testing.T) {
	e := newEnv(t)
	e.createBucket("shape")
	for _, k := range []string{"a/1", "a/2", "b/1", "c", "d/x/y"} {
		e.put("shape", k, "x")
	}
	ctx := context.Background()
	out, err := e.path.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shape"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(3), FetchOwner: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range out.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if strings.Join(prefixes, ",") != "a/,b/" || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "c" {
		t.Errorf("page 1: prefixes %v contents %d", prefixes, len(out.Contents))
	}
	if aws.ToInt32(out.KeyCount) != 3 || !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
		t.Errorf("page 1: KeyCount %d truncated %v next %v", aws.ToInt32(out.KeyCount), aws.ToBool(out.IsTruncated), out.NextContinuationToken)
	}
	if out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) != testOwnerID {
		t.Errorf("fetch-owner: %+v", out.Contents[0].Owner)
	}
	out2, err := e.path.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shape"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(3), ContinuationToken: out.NextContinuationToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(out2.CommonPrefixes) != 1 || aws.ToString(out2.CommonPrefixes[0].Prefix) != "d/" || aws.ToBool(out2.IsTruncated) ||
		aws.ToString(out2.ContinuationToken) != aws.ToString(out.NextContinuationToken) {
		t.Errorf("page 2: %+v", out2)
	}
	// start-after, and max-keys=0.
	out3, err := e.path.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shape"), StartAfter: aws.String("b/1")})
	if err != nil || len(out3.Contents) != 2 || aws.ToString(out3.Contents[0].Key) != "c" || aws.ToString(out3.StartAfter) != "b/1" {
		t.Errorf("start-after: %v %+v", err, out3)
	}
	out4, err := e.path.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shape"), MaxKeys: aws.Int32(0)})
	if err != nil || len(out4.Contents) != 0 || aws.ToBool(out4.IsTruncated) || aws.ToInt32(out4.MaxKeys) != 0 {
		t.Errorf("max-keys=0: %v %+v", err, out4)
	}

	tests := []struct {
		query, msg, argName, argValue string
	}{
		{"max-keys=abc", "Provided max-keys not an integer or within integer range", "max-keys", "abc"},
		{"max-keys=-1", "Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", "-1"},
		{"max-keys=99999999999", "Provided max-keys not an integer or within integer range", "max-keys", "99999999999"},
		{"continuation-token=garbage", "The continuation token provided is incorrect", "continuation-token", ""},
		{"continuation-token=", "The continuation token provided is incorrect", "continuation-token", ""},
		{"encoding-type=base64", "Invalid Encoding Method specified in Request", "encoding-type", "base64"},
	}
	for _, tc := range tests {
		eb := e.wantError(e.do(rawRequest{method: "GET", path: "/shape?list-type=2&" + tc.query}), 400, "InvalidArgument", tc.msg)
		if eb.ArgumentName != tc.argName || eb.ArgumentValue != tc.argValue {
			t.Errorf("%s: argument %q=%q, want %q=%q", tc.query, eb.ArgumentName, eb.ArgumentValue, tc.argName, tc.argValue)
		}
	}
	// A token from another prefix's listing is not this listing's.
	tok := url.QueryEscape(aws.ToString(out.NextContinuationToken))
	e.wantError(e.do(rawRequest{method: "GET", path: "/shape?list-type=2&prefix=zzz&continuation-token=" + tok}), 400, "InvalidArgument", msgBadToken)
	e.wantError(e.do(rawRequest{method: "GET", path: "/nobucket?list-type=2"}), 404, "NoSuchBucket", "")
}

// TestListEncodingTypeURL checks the encoding botocore asks for and
// decodes with unquote_plus.
func TestListEncodingTypeURL(t *testing.T) {
	e := newEnv(t)
	e.createBucket("enc")
	keys := []string{"a b/1", "a+b/2", "100%", "é"}
	for _, k := range keys {
		e.put("enc", k, "x")
	}
	var res struct {
		EncodingType   string
		Delimiter      string
		StartAfter     string
		Contents       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
	}
	resp := e.do(rawRequest{method: "GET", path: "/enc?list-type=2&encoding-type=url&delimiter=%2F&start-after=%20"})
	if resp.status != 200 {
		t.Fatalf("%d %s", resp.status, resp.body)
	}
	if err := xml.Unmarshal(resp.body, &res); err != nil {
		t.Fatal(err)
	}
	if res.EncodingType != "url" || res.Delimiter != "/" || res.StartAfter != "+" {
		t.Errorf("EncodingType %q Delimiter %q StartAfter %q", res.EncodingType, res.Delimiter, res.StartAfter)
	}
	var got []string
	for _, p := range res.CommonPrefixes {
		got = append(got, p.Prefix)
	}
	for _, c := range res.Contents {
		got = append(got, c.Key)
	}
	want := []string{"a+b/", "a%2Bb/", "100%25", "%C3%A9"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("encoded names %q, want %q", got, want)
	}
	for i, g := range got {
		if d, err := url.QueryUnescape(g); err != nil || d != []string{"a b/", "a+b/", "100%", "é"}[i] {
			t.Errorf("%q decodes to %q (%v)", g, d, err)
		}
	}
}

func TestListObjectsV1(t *testing.T) {
	e := newEnv(t)
	e.createBucket("v1list")
	for _, k := range []string{"a", "b/1", "b/2", "c", "d"} {
		e.put("v1list", k, "x")
	}
	ctx := context.Background()
	out, err := e.path.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("v1list"), MaxKeys: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 2 || !aws.ToBool(out.IsTruncated) || out.NextMarker != nil {
		t.Errorf("no delimiter: %d contents truncated %v NextMarker %v", len(out.Contents), aws.ToBool(out.IsTruncated), out.NextMarker)
	}
	if out.Contents[0].Owner == nil {
		t.Errorf("v1 lists the owner")
	}
	out, err = e.path.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("v1list"), Marker: aws.String("b/1")})
	if err != nil || len(out.Contents) != 3 || aws.ToString(out.Contents[0].Key) != "b/2" || aws.ToString(out.Marker) != "b/1" {
		t.Errorf("marker: %v %+v", err, out)
	}
	var all []string
	marker := ""
	for i := 0; i < 10; i++ {
		out, err := e.vhost.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("v1list"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), Marker: aws.String(marker)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			all = append(all, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			all = append(all, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		if out.NextMarker == nil {
			t.Fatalf("truncated page with a delimiter has no NextMarker")
		}
		marker = aws.ToString(out.NextMarker)
	}
	if strings.Join(all, ",") != "a,b/,c,d" {
		t.Errorf("v1 with delimiter: %v", all)
	}
}
