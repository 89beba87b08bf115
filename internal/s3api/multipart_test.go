//lint:file-ignore SA1019 manager.Uploader and Downloader are deprecated for feature/s3/transfermanager, but they are what clients built on this SDK release use for multipart transfers, so they are what these tests drive.

package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"sluice/internal/object"
)

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// The SDK's own transfer manager uploads and downloads 40 MiB in 5 MiB
// parts, several transfers at once, byte-exact; the ETag is S3's "-N".
func TestManagerRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.createBucket("mpu")
	ctx := context.Background()
	const size, partSize = 40 << 20, 5 << 20
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("big/%d", i)
			data := randomBytes(int64(i), size)
			up := manager.NewUploader(e.path, func(u *manager.Uploader) { u.PartSize = partSize; u.Concurrency = 3 })
			out, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key), Body: bytes.NewReader(data)})
			if err != nil {
				t.Errorf("Upload %s: %v", key, err)
				return
			}
			h := md5.New()
			for off := 0; off < size; off += partSize {
				s := md5.Sum(data[off:min(off+partSize, size)])
				h.Write(s[:])
			}
			if want := `"` + hex.EncodeToString(h.Sum(nil)) + `-8"`; aws.ToString(out.ETag) != want {
				t.Errorf("ETag %s, want %s", aws.ToString(out.ETag), want)
			}
			buf := manager.NewWriteAtBuffer(make([]byte, 0, size))
			dl := manager.NewDownloader(e.path, func(d *manager.Downloader) { d.PartSize = partSize; d.Concurrency = 3 })
			n, err := dl.Download(ctx, buf, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key)})
			if err != nil || n != size || !bytes.Equal(buf.Bytes(), data) {
				t.Errorf("Download %s: n %d err %v, equal %v", key, n, err, bytes.Equal(buf.Bytes(), data))
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// partNumber reads the part back with the part count.
	data := randomBytes(0, size)
	got, err := e.path.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/0"), PartNumber: aws.Int32(3)})
	if err != nil {
		t.Fatalf("GetObject partNumber 3: %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(body, data[2*partSize:3*partSize]) || aws.ToInt32(got.PartsCount) != 8 ||
		aws.ToString(got.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", 2*partSize, 3*partSize-1, size) {
		t.Errorf("part 3: %d bytes, parts count %d, range %q", len(body), aws.ToInt32(got.PartsCount), aws.ToString(got.ContentRange))
	}
	head, err := e.path.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/0"), PartNumber: aws.Int32(8), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToInt64(head.ContentLength) != partSize || aws.ToInt32(head.PartsCount) != 8 {
		t.Errorf("HeadObject partNumber 8: %+v, %v", head, err)
	}
	_, err = e.path.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/0"), PartNumber: aws.Int32(9)})
	wantAPIError(t, err, "InvalidPartNumber")
	// A range across a part boundary.
	got, err = e.path.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/0"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", partSize-3, partSize+2))})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(body, data[partSize-3:partSize+3]) {
		t.Errorf("range across parts: %x", body)
	}
}

func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("error %v, want %s", err, code)
	}
}

// Low-level calls with a CRC32 upload: composite checksum "-N", part
// checksums in ListParts, ListMultipartUploads, UploadPartCopy with a
// range, Abort, and every refusal with S3's code.
func TestMultipartOperations(t *testing.T) {
	e := newEnv(t)
	e.createBucket("mpo")
	ctx := context.Background()
	c := e.path
	b := aws.String("mpo")
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("k"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, ContentType: aws.String("text/csv"), Metadata: map[string]string{"m": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if cr.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 || cr.ChecksumType != types.ChecksumTypeComposite || len(aws.ToString(cr.UploadId)) != object.UploadIDLength {
		t.Errorf("CreateMultipartUpload: alg %q type %q id %q", cr.ChecksumAlgorithm, cr.ChecksumType, aws.ToString(cr.UploadId))
	}
	id := cr.UploadId
	p1, p2 := randomBytes(1, object.MinPartSize), randomBytes(2, 1000)
	e.put("mpo", "src", string(p2))
	u1, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("k"), UploadId: id, PartNumber: aws.Int32(1), Body: bytes.NewReader(p1), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u1.ChecksumCRC32) == "" {
		t.Errorf("UploadPart echoed no CRC32")
	}
	u2, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("k"), UploadId: id, PartNumber: aws.Int32(2),
		CopySource: aws.String("mpo/src"), CopySourceRange: aws.String("bytes=100-899")})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("k"), UploadId: id})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[1].Size) != 800 || aws.ToString(lp.Parts[1].ChecksumCRC32) == "" || lp.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
		t.Fatalf("ListParts: %+v, %v", lp, err)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) || aws.ToString(lu.Uploads[0].Key) != "k" {
		t.Fatalf("ListMultipartUploads: %+v, %v", lu, err)
	}

	parts := []types.CompletedPart{
		{PartNumber: aws.Int32(1), ETag: u1.ETag, ChecksumCRC32: u1.ChecksumCRC32},
		{PartNumber: aws.Int32(2), ETag: u2.CopyPartResult.ETag, ChecksumCRC32: u2.CopyPartResult.ChecksumCRC32},
	}
	complete := func(ps []types.CompletedPart, opt ...func(*s3.CompleteMultipartUploadInput)) (*s3.CompleteMultipartUploadOutput, error) {
		in := &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("k"), UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: ps}}
		for _, o := range opt {
			o(in)
		}
		return c.CompleteMultipartUpload(ctx, in)
	}
	_, err = complete([]types.CompletedPart{parts[1], parts[0]})
	wantAPIError(t, err, "InvalidPartOrder")
	_, err = complete([]types.CompletedPart{parts[0], {PartNumber: aws.Int32(2), ETag: u1.ETag, ChecksumCRC32: u2.CopyPartResult.ChecksumCRC32}})
	wantAPIError(t, err, "InvalidPart")
	_, err = complete([]types.CompletedPart{{PartNumber: aws.Int32(2), ETag: u2.CopyPartResult.ETag}})
	wantAPIError(t, err, "InvalidRequest") // a CRC32 upload needs each part's CRC32
	e.put("mpo", "k", "old")
	_, err = complete(parts, func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") })
	wantAPIError(t, err, "PreconditionFailed")

	out, err := complete(parts)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	whole := append(append([]byte{}, p1...), p2[100:900]...)
	if !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) || !strings.HasSuffix(aws.ToString(out.ChecksumCRC32), "-2") || out.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("Complete: ETag %s CRC32 %s type %s", aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32), out.ChecksumType)
	}
	if want := "http://127.0.0.1:" + e.port + "/mpo/k"; aws.ToString(out.Location) != want {
		t.Errorf("Location %q, want %q", aws.ToString(out.Location), want)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(body, whole) || aws.ToString(got.ChecksumCRC32) != aws.ToString(out.ChecksumCRC32) || got.ChecksumType != types.ChecksumTypeComposite ||
		aws.ToString(got.ContentType) != "text/csv" || got.Metadata["m"] != "v" {
		t.Errorf("GetObject: %d bytes (want %d), crc %s, type %s, content type %s, meta %v", len(body), len(whole),
			aws.ToString(got.ChecksumCRC32), got.ChecksumType, aws.ToString(got.ContentType), got.Metadata)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("k"), UploadId: id})
	wantAPIError(t, err, "NoSuchUpload")

	// Abort, and what follows it.
	cr2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("k2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("k2"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("k2"), UploadId: cr2.UploadId})
	wantAPIError(t, err, "NoSuchUpload")
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("k2"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	wantAPIError(t, err, "NoSuchUpload")
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
	wantAPIError(t, err, "NoSuchBucket")
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("k"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeFullObject})
	wantAPIError(t, err, "InvalidRequest")
}

// Refusals as raw requests: exact status, code and message.
func TestMultipartRawErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("mpr")
	ctx := context.Background()
	cr, err := e.path.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpr"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(cr.UploadId)
	small, err := e.path.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpr"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("tiny")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.path.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpr"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(2), Body: strings.NewReader("tail")}); err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(small.ETag)
	completeBody := func(parts ...string) []byte {
		return []byte("<CompleteMultipartUpload>" + strings.Join(parts, "") + "</CompleteMultipartUpload>")
	}
	part := func(n int, etag string) string {
		return "<Part><PartNumber>" + strconv.Itoa(n) + "</PartNumber><ETag>" + etag + "</ETag></Part>"
	}
	for _, tc := range []struct {
		name                   string
		rr                     rawRequest
		status                 int
		code, message, element string
	}{
		{"part number 0", rawRequest{method: "PUT", path: "/mpr/k?partNumber=0&uploadId=" + id, body: []byte("x")}, 400, "InvalidArgument",
			"Part number must be an integer between 1 and 10000, inclusive", ""},
		{"part number 10001", rawRequest{method: "PUT", path: "/mpr/k?partNumber=10001&uploadId=" + id, body: []byte("x")}, 400, "InvalidArgument", "", ""},
		{"unknown upload", rawRequest{method: "PUT", path: "/mpr/k?partNumber=1&uploadId=abc", body: []byte("x")}, 404, "NoSuchUpload",
			"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", "<UploadId>abc</UploadId>"},
		{"empty complete", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id}, 400, "InvalidRequest", "You must specify at least one part", ""},
		{"malformed complete", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: []byte("<CompleteMultipartUpload><Part>")}, 400, "MalformedXML", "", ""},
		{"no parts", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: completeBody()}, 400, "MalformedXML", "", ""},
		{"part without etag", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: completeBody("<Part><PartNumber>1</PartNumber></Part>")}, 400, "MalformedXML", "", ""},
		{"order", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: completeBody(part(2, etag), part(1, etag))}, 400, "InvalidPartOrder",
			"The list of parts was not in ascending order. Parts must be ordered by part number.", ""},
		{"unknown part", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: completeBody(part(3, etag))}, 400, "InvalidPart",
			"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", "<PartNumber>3</PartNumber>"},
		{"entity too small", rawRequest{method: "POST", path: "/mpr/k?uploadId=" + id, body: completeBody(part(1, etag), part(2, `"`+partMD5("tail")+`"`))}, 400, "EntityTooSmall",
			"Your proposed upload is smaller than the minimum allowed object size.", "<MinSizeAllowed>5242880</MinSizeAllowed>"},
		{"copy range malformed", rawRequest{method: "PUT", path: "/mpr/k?partNumber=3&uploadId=" + id, header: map[string]string{"x-amz-copy-source": "mpr/k", "x-amz-copy-source-range": "bytes=1-"}},
			400, "InvalidArgument", "", ""},
		{"copy source missing", rawRequest{method: "PUT", path: "/mpr/k?partNumber=3&uploadId=" + id, header: map[string]string{"x-amz-copy-source": "mpr/none"}}, 404, "NoSuchKey", "", ""},
		{"bad checksum algorithm", rawRequest{method: "POST", path: "/mpr/k2?uploads", header: map[string]string{"x-amz-checksum-algorithm": "MD4"}}, 400, "InvalidRequest", "", ""},
		{"max-parts", rawRequest{method: "GET", path: "/mpr/k?uploadId=" + id + "&max-parts=x"}, 400, "InvalidArgument", "", ""},
		{"range and part", rawRequest{method: "GET", path: "/mpr/none?partNumber=1", header: map[string]string{"Range": "bytes=0-1"}}, 400, "InvalidRequest",
			"Cannot specify both Range header and partNumber query parameter", ""},
		{"abort unknown", rawRequest{method: "DELETE", path: "/mpr/k?uploadId=" + strings.Repeat("0", 64)}, 404, "NoSuchUpload", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(tc.rr)
			e.wantError(resp, tc.status, tc.code, tc.message)
			if tc.element != "" && !strings.Contains(string(resp.body), tc.element) {
				t.Errorf("body %s lacks %s", resp.body, tc.element)
			}
		})
	}
	// Nothing above completed or dropped the upload.
	lp, err := e.path.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpr"), Key: aws.String("k"), UploadId: cr.UploadId, MaxParts: aws.Int32(1)})
	if err != nil || len(lp.Parts) != 1 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "1" {
		t.Fatalf("ListParts page: %+v, %v", lp, err)
	}
	if e.exists("mpr", "k") {
		t.Fatal("a refused complete wrote the object")
	}
	// Abort answers 204.
	resp := e.do(rawRequest{method: "DELETE", path: "/mpr/k?uploadId=" + id})
	if resp.status != 204 {
		t.Fatalf("abort: %d %s", resp.status, resp.body)
	}
}

// ListMultipartUploads pages with the SDK's paginator and url encoding.
func TestListMultipartUploadsPaging(t *testing.T) {
	e := newEnv(t)
	e.createBucket("mpl")
	ctx := context.Background()
	keys := []string{"a b", "a+b", "dir/x", "dir/y", "z%"}
	for _, k := range keys {
		for range 2 {
			if _, err := e.path.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpl"), Key: aws.String(k)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	p := s3.NewListMultipartUploadsPaginator(e.path, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpl"), MaxUploads: aws.Int32(3), Delimiter: aws.String("/")})
	for i := 0; p.HasMorePages() && i < 20; i++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Uploads {
			got = append(got, aws.ToString(u.Key))
		}
		for _, cp := range page.CommonPrefixes {
			got = append(got, "CP:"+aws.ToString(cp.Prefix))
		}
	}
	// Pages of 3: [a b, a b, a+b], [a+b, dir/, z%], [z%]; each page's
	// uploads are listed before its common prefixes here.
	want := []string{"a b", "a b", "a+b", "a+b", "z%", "CP:dir/", "z%"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("paged uploads %q, want %q", got, want)
	}
}

func partMD5(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
