package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiCode returns the AWS error code and HTTP status of an SDK error.
func apiCode(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestBucketLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []*s3.Client{e.path, e.vhost} {
		name := "life-path"
		if c == e.vhost {
			name = "life-vhost"
		}
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatalf("CreateBucket %s: %v", name, err)
		}
		hb, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
		if err != nil {
			t.Fatalf("HeadBucket %s: %v", name, err)
		}
		if aws.ToString(hb.BucketRegion) != "us-east-1" {
			t.Errorf("HeadBucket region %q, want us-east-1", aws.ToString(hb.BucketRegion))
		}
		loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(name)})
		if err != nil {
			t.Fatalf("GetBucketLocation: %v", err)
		}
		if loc.LocationConstraint != "" {
			t.Errorf("LocationConstraint %q, want empty for us-east-1", loc.LocationConstraint)
		}
		// us-east-1 answers 200 to its owner creating the bucket again.
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("second CreateBucket in us-east-1: %v", err)
		}
	}
	lb, err := e.path.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Errorf("bucket %s has no CreationDate", aws.ToString(b.Name))
		}
	}
	if strings.Join(names, ",") != "life-path,life-vhost" {
		t.Errorf("ListBuckets %v", names)
	}
	if lb.Owner == nil || aws.ToString(lb.Owner.ID) != testOwnerID {
		t.Errorf("ListBuckets owner %+v", lb.Owner)
	}

	e.put("life-path", "k", "x")
	_, err = e.path.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("life-path")})
	if code, status := apiCode(t, err); code != "BucketNotEmpty" || status != 409 {
		t.Errorf("DeleteBucket non-empty: %s %d", code, status)
	}
	if _, err := e.path.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("life-path"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	resp := e.do(rawRequest{method: "DELETE", path: "/life-path"})
	if resp.status != http.StatusNoContent {
		t.Errorf("DeleteBucket status %d, want 204", resp.status)
	}
	_, err = e.path.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("life-path")})
	if _, status := apiCode(t, err); status != 404 {
		t.Errorf("HeadBucket of a deleted bucket: status %d", status)
	}
	resp = e.do(rawRequest{method: "HEAD", path: "/life-path"})
	if resp.status != 404 || len(resp.body) != 0 || resp.header.Get("x-amz-bucket-region") != "" {
		t.Errorf("HeadBucket 404: status %d body %q region %q", resp.status, resp.body, resp.header.Get("x-amz-bucket-region"))
	}
	e.wantError(e.do(rawRequest{method: "DELETE", path: "/life-path"}), 404, "NoSuchBucket", "The specified bucket does not exist")
}

func TestCreateBucketOtherRegion(t *testing.T) {
	e := newEnvRegion(t, "eu-west-1")
	body := `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`
	if resp := e.do(rawRequest{method: "PUT", path: "/eu-bucket", body: []byte(body)}); resp.status != 200 || resp.header.Get("Location") != "/eu-bucket" {
		t.Fatalf("CreateBucket: %d %q %s", resp.status, resp.header.Get("Location"), resp.body)
	}
	e.wantError(e.do(rawRequest{method: "PUT", path: "/eu-bucket"}), 409, "BucketAlreadyOwnedByYou",
		"Your previous request to create the named bucket succeeded and you already own it.")
	resp := e.do(rawRequest{method: "GET", path: "/eu-bucket?location"})
	var loc struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	if err := xml.Unmarshal(resp.body, &loc); err != nil || loc.Value != "eu-west-1" || loc.XMLName.Local != "LocationConstraint" {
		t.Errorf("GetBucketLocation %s (%v)", resp.body, err)
	}
	resp = e.do(rawRequest{method: "HEAD", path: "/eu-bucket"})
	if resp.status != 200 || resp.header.Get("x-amz-bucket-region") != "eu-west-1" {
		t.Errorf("HeadBucket %d region %q", resp.status, resp.header.Get("x-amz-bucket-region"))
	}
}

func TestCreateBucketErrors(t *testing.T) {
	e := newEnv(t)
	cfg := func(c string) []byte {
		return []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` + c + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	tests := []struct {
		name, bucket string
		body         []byte
		status       int
		code, msg    string
	}{
		{"us-east-1 named explicitly", "b-east", cfg("us-east-1"), 400, "InvalidLocationConstraint", "The specified location-constraint is not valid"},
		{"another region", "b-west", cfg("eu-west-1"), 400, "IllegalLocationConstraintException",
			"The eu-west-1 location constraint is incompatible for the region specific endpoint this request was sent to. This server serves us-east-1."},
		{"not a region", "b-bogus", cfg("nowhere"), 400, "InvalidLocationConstraint", ""},
		{"malformed XML", "b-xml", []byte("<CreateBucketConfiguration><Loc"), 400, "MalformedXML", ""},
		{"wrong root element", "b-root", []byte("<Other/>"), 400, "MalformedXML", ""},
		{"oversized body", "b-big", []byte("<CreateBucketConfiguration>" + strings.Repeat(" ", maxXMLBody) + "</CreateBucketConfiguration>"), 400, "MalformedXML", ""},
		{"invalid name", "Bad_Name", nil, 400, "InvalidBucketName", "The specified bucket is not valid."},
		{"too short", "ab", nil, 400, "InvalidBucketName", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.wantError(e.do(rawRequest{method: "PUT", path: "/" + tc.bucket, body: tc.body}), tc.status, tc.code, tc.msg)
			if _, err := e.objects.GetBucket(context.Background(), tc.bucket); err == nil {
				t.Errorf("bucket %s was created", tc.bucket)
			}
		})
	}
}

func TestListBucketsPaging(t *testing.T) {
	e := newEnv(t)
	for _, b := range []string{"pa-1", "pa-2", "pa-3", "pb-1"} {
		e.createBucket(b)
	}
	ctx := context.Background()
	var got []string
	p := s3.NewListBucketsPaginator(e.path, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), Prefix: aws.String("pa-")})
	pages := 0
	for p.HasMorePages() && pages < 10 {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListBuckets page: %v", err)
		}
		pages++
		if aws.ToString(out.Prefix) != "pa-" {
			t.Errorf("Prefix %q", aws.ToString(out.Prefix))
		}
		for _, b := range out.Buckets {
			got = append(got, aws.ToString(b.Name))
			if aws.ToString(b.BucketRegion) != "us-east-1" {
				t.Errorf("BucketRegion %q", aws.ToString(b.BucketRegion))
			}
		}
	}
	if strings.Join(got, ",") != "pa-1,pa-2,pa-3" || pages != 2 {
		t.Errorf("paged buckets %v in %d pages", got, pages)
	}

	tests := []struct {
		query, msg, argName, argValue string
	}{
		{"max-buckets=abc", msgMaxBucketsParse, "max-buckets", "abc"},
		{"max-buckets=0", msgMaxBucketsRange, "max-buckets", "0"},
		{"max-buckets=010001", msgMaxBucketsRange, "max-buckets", "10001"},
		{"continuation-token=garbage", msgBadToken, "continuation-token", ""},
		{"bucket-region=zz", "Argument value zz is not a valid AWS Region", "bucket-region", ""},
	}
	for _, tc := range tests {
		eb := e.wantError(e.do(rawRequest{method: "GET", path: "/?" + tc.query}), 400, "InvalidArgument", tc.msg)
		if eb.ArgumentName != tc.argName || eb.ArgumentValue != tc.argValue {
			t.Errorf("%s: argument %q=%q, want %q=%q", tc.query, eb.ArgumentName, eb.ArgumentValue, tc.argName, tc.argValue)
		}
	}
}

func TestAnonymousRequests(t *testing.T) {
	e := newEnv(t)
	e.createBucket("anon")
	// The region probe: 403 with the region for a bucket that exists.
	resp := e.do(rawRequest{method: "HEAD", path: "/anon", unsigned: true})
	if resp.status != 403 || resp.header.Get("x-amz-bucket-region") != "us-east-1" || len(resp.body) != 0 {
		t.Errorf("anonymous HeadBucket: %d region %q body %q", resp.status, resp.header.Get("x-amz-bucket-region"), resp.body)
	}
	resp = e.do(rawRequest{method: "HEAD", path: "/missing-bucket", unsigned: true})
	if resp.status != 404 || resp.header.Get("x-amz-bucket-region") != "" {
		t.Errorf("anonymous HeadBucket of a missing bucket: %d region %q", resp.status, resp.header.Get("x-amz-bucket-region"))
	}
	// Virtual-hosted too.
	resp = e.do(rawRequest{method: "HEAD", path: "/", host: "anon.localhost:" + e.port, unsigned: true})
	if resp.status != 403 || resp.header.Get("x-amz-bucket-region") != "us-east-1" {
		t.Errorf("anonymous virtual-hosted HeadBucket: %d region %q", resp.status, resp.header.Get("x-amz-bucket-region"))
	}
	e.wantError(e.do(rawRequest{method: "GET", path: "/anon?list-type=2", unsigned: true}), 403, "AccessDenied", "Access Denied")
	e.wantError(e.do(rawRequest{method: "GET", path: "/", unsigned: true}), 403, "AccessDenied", "Access Denied")
	e.wantError(e.do(rawRequest{method: "PUT", path: "/anon/k", body: []byte("x"), unsigned: true}), 403, "AccessDenied", "")
	if e.exists("anon", "k") {
		t.Errorf("anonymous PUT stored an object")
	}
}

func TestWrongSignature(t *testing.T) {
	e := newEnv(t)
	e.createBucket("sig")
	bad := e.client("not-the-secret", e.srv.URL, true)
	_, err := bad.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("sig"), Key: aws.String("k"), Body: strings.NewReader("x")})
	if code, status := apiCode(t, err); code != "SignatureDoesNotMatch" || status != 403 {
		t.Errorf("wrong secret: %s %d", code, status)
	}
	if e.exists("sig", "k") {
		t.Errorf("an object was stored with a wrong signature")
	}
	e.wantError(e.do(rawRequest{method: "GET", path: "/sig?list-type=2", secret: "wrong"}), 403, "SignatureDoesNotMatch", "")
	resp := e.do(rawRequest{method: "HEAD", path: "/sig", secret: "wrong"})
	if resp.status != 403 || resp.header.Get("x-amz-bucket-region") != "us-east-1" {
		t.Errorf("HeadBucket with a wrong signature: %d region %q", resp.status, resp.header.Get("x-amz-bucket-region"))
	}
	resp = e.do(rawRequest{method: "GET", path: "/sig?list-type=2", secret: "wrong"})
	if !strings.Contains(string(resp.body), "<StringToSign>") || !strings.Contains(string(resp.body), "<CanonicalRequest>") {
		t.Errorf("SignatureDoesNotMatch without StringToSign/CanonicalRequest: %s", resp.body)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("route")
	eb := e.wantError(e.do(rawRequest{method: "PATCH", path: "/route/k"}), 405, "MethodNotAllowed",
		"The specified method is not allowed against this resource.")
	if eb.Method != "PATCH" || eb.ResourceType != "OBJECT" {
		t.Errorf("MethodNotAllowed elements %q %q", eb.Method, eb.ResourceType)
	}
	for _, rr := range []rawRequest{
		{method: "GET", path: "/route?cors"},
		{method: "PUT", path: "/route?versioning", body: []byte("<VersioningConfiguration/>")},
		{method: "POST", path: "/route/k?restore"},
	} {
		e.wantError(e.do(rr), 501, "NotImplemented", "")
	}
	resp := e.do(rawRequest{method: "GET", path: "/route?cors", secret: "wrong"})
	if resp.status != 403 {
		t.Errorf("an unimplemented operation must still be authenticated first: %d", resp.status)
	}
}

func TestVirtualHostedRaw(t *testing.T) {
	e := newEnv(t)
	e.createBucket("vh.dotted")
	resp := e.do(rawRequest{method: "PUT", path: "/dir//key/", host: "vh.dotted.localhost:" + e.port, body: []byte("vhost")})
	if resp.status != 200 {
		t.Fatalf("virtual-hosted PUT: %d %s", resp.status, resp.body)
	}
	if !e.exists("vh.dotted", "dir//key/") {
		t.Errorf("key with // and trailing / not stored verbatim")
	}
	out, err := e.path.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("vh.dotted"), Key: aws.String("dir//key/")})
	if err != nil {
		t.Fatalf("path-style GET of the virtual-hosted PUT: %v", err)
	}
	out.Body.Close()
	// x-id is ignored.
	resp = e.do(rawRequest{method: "GET", path: "/dir//key/?x-id=GetObject", host: "VH.DOTTED.LOCALHOST:" + e.port})
	if resp.status != 200 || string(resp.body) != "vhost" {
		t.Errorf("GET with x-id and upper-case host: %d %q", resp.status, resp.body)
	}
}
