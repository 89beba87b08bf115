package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sluice/internal/auth"
)

// formField is one field of a hand-built form, in order.
type formField struct{ name, value string }

// multipartBody builds a form: fields, then the file part (unless
// filename is "-"), then trailing fields (which S3 ignores).
func multipartBody(t *testing.T, fields []formField, filename string, file []byte, after ...formField) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "-" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	for _, f := range after {
		mw.WriteField(f.name, f.value)
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// postForm sends a form, unsigned as browsers do, to path on host ("" is
// the path-style address).
func (e *env) postForm(host, path string, fields []formField, filename string, file []byte, after ...formField) response {
	e.t.Helper()
	body, ct := multipartBody(e.t, fields, filename, file, after...)
	return e.do(rawRequest{method: "POST", host: host, path: path, body: body, unsigned: true,
		header: map[string]string{"Content-Type": ct}})
}

// presignPost is aws-sdk-go-v2's PresignPostObject for bucket/key with
// extra conditions, as its fields in a stable order (key first).
func (e *env) presignPost(bucket, key string, expires time.Duration, conditions ...any) []formField {
	e.t.Helper()
	pc := s3.NewPresignClient(e.path)
	req, err := pc.PresignPostObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = expires
			o.Conditions = conditions
		})
	if err != nil {
		e.t.Fatalf("PresignPostObject: %v", err)
	}
	fields := []formField{{"key", req.Values["key"]}}
	for _, name := range []string{"bucket", "policy", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature",
		"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
		if v, ok := req.Values[name]; ok {
			fields = append(fields, formField{name, v})
		}
	}
	if len(fields) != len(req.Values) {
		e.t.Fatalf("presigned fields %v: some not sent", req.Values)
	}
	return fields
}

// signedV2Form builds a SigV2 form as boto3's generate_presigned_post
// does in us-east-1: key, AWSAccessKeyId, policy, signature.
func signedV2Form(t *testing.T, policy map[string]any, extra ...formField) []formField {
	t.Helper()
	doc, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	p := base64.StdEncoding.EncodeToString(doc)
	fields := append([]formField{}, extra...)
	return append(fields,
		formField{"AWSAccessKeyId", testAccessKey},
		formField{"policy", p},
		formField{"signature", auth.SignV2(testSecretKey, p)})
}

func (e *env) wantNoObject(bucket, key string) {
	e.t.Helper()
	if e.exists(bucket, key) {
		e.t.Errorf("object %s/%s was written by a failed POST", bucket, key)
	}
}

func (e *env) wantObject(bucket, key string, body []byte) *s3.GetObjectOutput {
	e.t.Helper()
	out, err := e.path.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		e.t.Fatalf("GetObject(%s/%s) = %d bytes %.40q, want %d bytes %.40q", bucket, key, len(got), got, len(body), body)
	}
	return out
}

func TestPostObjectPresignedV4(t *testing.T) {
	e := newEnv(t)
	e.createBucket("forms")

	t.Run("default 204", func(t *testing.T) {
		fields := e.presignPost("forms", "up/one.txt", time.Hour)
		resp := e.postForm("", "/forms", fields, "one.txt", []byte("hello form"))
		if resp.status != 204 || len(resp.body) != 0 {
			t.Fatalf("status %d body %q, want 204 empty", resp.status, resp.body)
		}
		if resp.header.Get("ETag") != `"`+md5hex("hello form")+`"` {
			t.Errorf("ETag %q", resp.header.Get("ETag"))
		}
		if loc := resp.header.Get("Location"); loc != "http://127.0.0.1:"+e.port+"/forms/up/one.txt" {
			t.Errorf("Location %q", loc)
		}
		e.wantObject("forms", "up/one.txt", []byte("hello form"))
	})

	t.Run("201 PostResponse, metadata, content type, blob path", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: past the inline limit
		fields := e.presignPost("forms", "up/${filename}", time.Hour,
			[]any{"starts-with", "$key", "up/"},
			[]any{"content-length-range", 1, 2 << 20},
			map[string]string{"success_action_status": "201"},
			[]any{"starts-with", "$Content-Type", "image/"},
			[]any{"starts-with", "$x-amz-meta-note", ""},
		)
		fields = append(fields,
			formField{"success_action_status", "201"},
			formField{"Content-Type", "image/png"},
			formField{"X-Amz-Meta-Note", "hi there"},
		)
		resp := e.postForm("", "/forms", fields, "pic name.png", big, formField{"uncovered-after-file", "ignored"})
		if resp.status != 201 {
			t.Fatalf("status %d body %s, want 201", resp.status, resp.body)
		}
		var pr struct {
			XMLName                     xml.Name `xml:"PostResponse"`
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(resp.body, &pr); err != nil {
			t.Fatalf("PostResponse %q: %v", resp.body, err)
		}
		if pr.Bucket != "forms" || pr.Key != "up/pic name.png" || pr.ETag != `"`+md5hex(string(big))+`"` ||
			pr.Location != "http://127.0.0.1:"+e.port+"/forms/up/pic%20name.png" {
			t.Errorf("PostResponse %+v", pr)
		}
		out := e.wantObject("forms", "up/pic name.png", big)
		if aws.ToString(out.ContentType) != "image/png" || out.Metadata["note"] != "hi there" {
			t.Errorf("ContentType %q Metadata %v, want image/png and note", aws.ToString(out.ContentType), out.Metadata)
		}
	})

	t.Run("303 redirect", func(t *testing.T) {
		redirect := "https://app.example/done?x=1"
		fields := e.presignPost("forms", "up/r.txt", time.Hour, map[string]string{"success_action_redirect": redirect})
		fields = append(fields, formField{"success_action_redirect", redirect})
		body, ct := multipartBody(t, fields, "r.txt", []byte("r"))
		req := e.newRequest(rawRequest{method: "POST", path: "/forms", body: body, unsigned: true, header: map[string]string{"Content-Type": ct}})
		noFollow := *e.http
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		hr, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		hr.Body.Close()
		resp := response{status: hr.StatusCode, header: hr.Header}
		if resp.status != 303 {
			t.Fatalf("status %d body %s, want 303", resp.status, resp.body)
		}
		u, err := url.Parse(resp.header.Get("Location"))
		if err != nil || u.Host != "app.example" || u.Query().Get("x") != "1" || u.Query().Get("bucket") != "forms" ||
			u.Query().Get("key") != "up/r.txt" || u.Query().Get("etag") != `"`+md5hex("r")+`"` {
			t.Errorf("Location %q", resp.header.Get("Location"))
		}
		e.wantObject("forms", "up/r.txt", []byte("r"))
	})

	t.Run("virtual-hosted POST /", func(t *testing.T) {
		fields := e.presignPost("forms", "vh.txt", time.Hour)
		resp := e.postForm("forms.localhost:"+e.port, "/", fields, "vh.txt", []byte("vh"))
		if resp.status != 204 {
			t.Fatalf("status %d body %s", resp.status, resp.body)
		}
		if loc := resp.header.Get("Location"); loc != "http://forms.localhost:"+e.port+"/vh.txt" {
			t.Errorf("Location %q", loc)
		}
		e.wantObject("forms", "vh.txt", []byte("vh"))
	})
}

func TestPostObjectV2(t *testing.T) {
	e := newEnv(t)
	e.createBucket("forms")
	policy := map[string]any{
		"expiration": time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"),
		"conditions": []any{map[string]string{"bucket": "forms"}, map[string]string{"key": "v2.txt"}},
	}
	resp := e.postForm("", "/forms", signedV2Form(t, policy, formField{"key", "v2.txt"}), "v2.txt", []byte("v2 body"))
	if resp.status != 204 {
		t.Fatalf("status %d body %s, want 204", resp.status, resp.body)
	}
	e.wantObject("forms", "v2.txt", []byte("v2 body"))

	// The same form posted to another bucket fails its bucket condition.
	e.createBucket("other")
	resp = e.postForm("", "/other", signedV2Form(t, policy, formField{"key", "v2.txt"}), "v2.txt", []byte("x"))
	e.wantError(resp, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: {"bucket": "forms"}`)
	e.wantNoObject("other", "v2.txt")
}

func TestPostObjectRefusals(t *testing.T) {
	e := newEnv(t)
	e.createBucket("forms")
	exp := func(d time.Duration) string { return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
	v2 := func(conds ...any) map[string]any {
		return map[string]any{"expiration": exp(time.Hour), "conditions": append([]any{map[string]string{"bucket": "forms"}}, conds...)}
	}

	cases := []struct {
		name    string
		fields  []formField
		file    []byte
		status  int
		code    string
		message string
	}{
		{"wrong key prefix", e.presignPost("forms", "x", time.Hour, []any{"starts-with", "$key", "up/"}), []byte("x"),
			403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "up/"]`},
		{"too large", signedV2Form(t, v2([]any{"starts-with", "$key", ""}, []any{"content-length-range", 0, 10}), formField{"key", "x"}),
			bytes.Repeat([]byte("a"), 11), 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"},
		{"too large, blob path", signedV2Form(t, v2([]any{"starts-with", "$key", ""}, []any{"content-length-range", 0, 1000}), formField{"key", "x"}),
			bytes.Repeat([]byte("a"), 100000), 400, "EntityTooLarge", ""},
		{"too small", signedV2Form(t, v2([]any{"starts-with", "$key", ""}, []any{"content-length-range", 5, 10}), formField{"key", "x"}),
			[]byte("abc"), 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"},
		{"expired", signedV2Form(t, map[string]any{"expiration": exp(-time.Minute), "conditions": []any{map[string]string{"key": "x"}}}, formField{"key", "x"}),
			[]byte("x"), 403, "AccessDenied", "Invalid according to Policy: Policy expired."},
		{"tampered signature", func() []formField {
			f := e.presignPost("forms", "x", time.Hour)
			for i := range f {
				if strings.EqualFold(f[i].name, "x-amz-signature") {
					f[i].value = strings.Repeat("0", 64)
				}
			}
			return f
		}(), []byte("x"), 403, "SignatureDoesNotMatch", ""},
		{"tampered policy", func() []formField {
			f := signedV2Form(t, v2(map[string]string{"key": "x"}), formField{"key", "x"})
			other := signedV2Form(t, v2([]any{"starts-with", "$key", ""}))
			f[2].value = other[1].value // another policy, the first one's signature
			return f
		}(), []byte("x"), 403, "SignatureDoesNotMatch", ""},
		{"extra field not covered", append(e.presignPost("forms", "x", time.Hour), formField{"x-amz-meta-foo", "bar"}), []byte("x"),
			403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-foo"},
		{"eq fails", signedV2Form(t, v2(map[string]string{"key": "x"}, []any{"eq", "$Content-Type", "text/plain"}), formField{"key", "x"}, formField{"Content-Type", "text/html"}),
			[]byte("x"), 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "text/plain"]`},
		{"no key", e.presignPost("forms", "x", time.Hour)[1:], []byte("x"),
			400, "InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."},
		{"no policy", []formField{{"key", "x"}}, []byte("x"), 403, "AccessDenied", "Access Denied"},
		{"policy without signature", []formField{{"key", "x"}, {"policy", "e30="}}, []byte("x"), 403, "AccessDenied", "Access Denied"},
		{"V4 without x-amz-date", func() []formField {
			var out []formField
			for _, f := range e.presignPost("forms", "x", time.Hour) {
				if !strings.EqualFold(f.name, "x-amz-date") {
					out = append(out, f)
				}
			}
			return out
		}(), []byte("x"), 400, "InvalidArgument", "Bucket POST must contain a field named 'X-Amz-Date'.  If it is specified, please check the order of the fields."},
		{"policy not JSON", signedV2Raw("bm90IGpzb24=", formField{"key", "x"}), []byte("x"), 400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON."},
		{"policy without expiration", signedV2Raw(base64.StdEncoding.EncodeToString([]byte(`{"conditions":[]}`)), formField{"key", "x"}), []byte("x"),
			400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration."},
		{"key too long", signedV2Form(t, v2([]any{"starts-with", "$key", ""}), formField{"key", strings.Repeat("k", 1025)}), []byte("x"),
			400, "KeyTooLongError", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.postForm("", "/forms", tc.fields, "f.txt", tc.file)
			e.wantError(resp, tc.status, tc.code, tc.message)
			e.wantNoObject("forms", "x")
		})
	}

	t.Run("not multipart", func(t *testing.T) {
		resp := e.do(rawRequest{method: "POST", path: "/forms", body: []byte("key=x"), unsigned: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		eb := e.wantError(resp, 412, "PreconditionFailed", "")
		_ = eb
		if !bytes.Contains(resp.body, []byte("<Condition>Bucket POST must be of the enclosure-type multipart/form-data</Condition>")) {
			t.Errorf("body %s lacks the Condition", resp.body)
		}
	})
	t.Run("no file", func(t *testing.T) {
		resp := e.postForm("", "/forms", e.presignPost("forms", "x", time.Hour), "-", nil)
		e.wantError(resp, 400, "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request.")
	})
	t.Run("malformed body", func(t *testing.T) {
		resp := e.do(rawRequest{method: "POST", path: "/forms", body: []byte("garbage without boundaries"), unsigned: true,
			header: map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}})
		e.wantError(resp, 400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
	})
	t.Run("fields before the file too large", func(t *testing.T) {
		fields := append(e.presignPost("forms", "x", time.Hour), formField{"x-ignore-pad", strings.Repeat("p", 21<<10)})
		resp := e.postForm("", "/forms", fields, "f", []byte("x"))
		e.wantError(resp, 400, "MaxPostPreDataLengthExceededError", "Your POST request fields preceding the upload file were too large.")
	})
	t.Run("no such bucket", func(t *testing.T) {
		resp := e.postForm("", "/nobucket", signedV2Form(t, map[string]any{"expiration": exp(time.Hour),
			"conditions": []any{[]any{"starts-with", "$key", ""}}}, formField{"key", "x"}), "f", []byte("x"))
		e.wantError(resp, 404, "NoSuchBucket", "")
	})
	t.Run("x-ignore- fields need no condition", func(t *testing.T) {
		fields := append(e.presignPost("forms", "ign.txt", time.Hour), formField{"x-ignore-flash", "1"})
		resp := e.postForm("", "/forms", fields, "f", []byte("ok"))
		if resp.status != 204 {
			t.Fatalf("status %d body %s", resp.status, resp.body)
		}
	})
	t.Run("tagging field", func(t *testing.T) {
		fields := e.presignPost("forms", "tagged.txt", time.Hour, []any{"starts-with", "$tagging", ""})
		bad := append(fields, formField{"tagging", "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>"})
		e.wantError(e.postForm("", "/forms", bad, "f", []byte("t")), 400, "MalformedXML", "")
		e.wantNoObject("forms", "tagged.txt")
		good := append(fields, formField{"tagging", "<Tagging><TagSet><Tag><Key>team</Key><Value>red</Value></Tag></TagSet></Tagging>"})
		if resp := e.postForm("", "/forms", good, "f", []byte("t")); resp.status != 204 {
			t.Fatalf("status %d body %s", resp.status, resp.body)
		}
		out, err := e.path.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String("forms"), Key: aws.String("tagged.txt")})
		if err != nil || len(out.TagSet) != 1 || aws.ToString(out.TagSet[0].Key) != "team" || aws.ToString(out.TagSet[0].Value) != "red" {
			t.Fatalf("GetObjectTagging = %+v, %v; want team=red", out, err)
		}
	})
	t.Run("checksum field verified", func(t *testing.T) {
		fields := e.presignPost("forms", "sum.txt", time.Hour, []any{"starts-with", "$x-amz-checksum-crc32", ""})
		bad := append(fields, formField{"x-amz-checksum-crc32", "AAAAAA=="})
		e.wantError(e.postForm("", "/forms", bad, "f", []byte("hello")), 400, "BadDigest", "")
		e.wantNoObject("forms", "sum.txt")
		good := append(fields, formField{"x-amz-checksum-crc32", "NhCmhg=="})
		if resp := e.postForm("", "/forms", good, "f", []byte("hello")); resp.status != 204 ||
			resp.header.Get("x-amz-checksum-crc32") != "NhCmhg==" {
			t.Fatalf("status %d checksum %q body %s", resp.status, resp.header.Get("x-amz-checksum-crc32"), resp.body)
		}
	})
}

// signedV2Raw signs a policy given as base64, whatever it holds.
func signedV2Raw(policy string, extra ...formField) []formField {
	return append(append([]formField{}, extra...),
		formField{"AWSAccessKeyId", testAccessKey},
		formField{"policy", policy},
		formField{"signature", auth.SignV2(testSecretKey, policy)})
}

func md5hex(s string) string {
	return fmt.Sprintf("%x", md5Sum([]byte(s)))
}

func md5Sum(b []byte) [16]byte { return md5.Sum(b) }
