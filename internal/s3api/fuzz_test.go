package s3api

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/object"
	"sluice/internal/storage/pebblestore"
)

// Fuzz targets for every input the S3 API parses so far beyond the SigV4
// header and query (internal/auth) and routing (internal/awsproto): the
// CreateBucketConfiguration body, the listing parameters and the Range
// header. Seeds are in testdata/fuzz/<target>. Each asserts properties,
// not only the absence of a panic.

// wantClientError fails unless err is an S3 error a client caused: a
// 4xx status with a code, as toAPIError maps it.
func wantClientError(t *testing.T, err error, codes ...string) *Error {
	t.Helper()
	apiErr, clientFault := toAPIError(err, target{})
	if !clientFault || apiErr.Status < 400 || apiErr.Status >= 500 || apiErr.Code == "" {
		t.Fatalf("error %v maps to %d %s (client fault %v); want a 4xx S3 error", err, apiErr.Status, apiErr.Code, clientFault)
	}
	for _, c := range codes {
		if apiErr.Code == c {
			return apiErr
		}
	}
	t.Fatalf("error code %s, want one of %v", apiErr.Code, codes)
	return nil
}

// The CreateBucketConfiguration body: any bytes give either a constraint
// this server accepts or MalformedXML, InvalidLocationConstraint or
// IllegalLocationConstraintException; an accepted constraint survives a
// round trip through the XML Sluice itself would write.
func FuzzCreateBucketConfiguration(f *testing.F) {
	f.Add([]byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`))
	h := New(Config{Region: "eu-west-1"})
	f.Fuzz(func(t *testing.T, body []byte) {
		constraint, err := readLocationConstraint(&request{body: bytes.NewReader(body)})
		if err != nil {
			wantClientError(t, err, "MalformedXML")
			return
		}
		if len(body) > maxXMLBody {
			t.Fatalf("a body of %d bytes (limit %d) was read", len(body), maxXMLBody)
		}
		if err := h.checkLocationConstraint(constraint); err != nil {
			wantClientError(t, err, "InvalidLocationConstraint", "IllegalLocationConstraintException")
			return
		}
		if constraint != "" && constraint != "eu-west-1" && constraint != "EU" {
			t.Fatalf("constraint %q accepted by a server in eu-west-1", constraint)
		}
		out, err := xml.Marshal(createBucketConfiguration{LocationConstraint: constraint})
		if err != nil {
			t.Fatal(err)
		}
		again, err := readLocationConstraint(&request{body: bytes.NewReader(out)})
		if err != nil || again != constraint {
			t.Fatalf("round trip of %q through %s gave %q, %v", constraint, out, again, err)
		}
	})
}

// The Range header against an object of any size: the whole object
// (unparsable or multiple ranges, as S3 ignores them), a range inside the
// object, or 416 InvalidRange with Content-Range "bytes */size"; a simple
// "bytes=first-last" matches RFC 9110's arithmetic.
func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-99", int64(1000))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		size %= 1 << 50
		rg, err := parseRange(header, size)
		if err != nil {
			e := wantClientError(t, err, "InvalidRange")
			if e.Status != http.StatusRequestedRangeNotSatisfiable || e.Header.Get("Content-Range") != "bytes */"+strconv.FormatInt(size, 10) {
				t.Fatalf("Range %q size %d: status %d Content-Range %q", header, size, e.Status, e.Header.Get("Content-Range"))
			}
			return
		}
		if rg != nil && (rg.offset < 0 || rg.length < 1 || rg.offset+rg.length > size || rg.size != size) {
			t.Fatalf("Range %q size %d gave offset %d length %d size %d: outside the object", header, size, rg.offset, rg.length, rg.size)
		}
		// The model, for the simple form only.
		spec, ok := strings.CutPrefix(header, "bytes=")
		first, last, ok2 := strings.Cut(spec, "-")
		if !ok || !ok2 || !digits(first) || !digits(last) || len(first) > 15 || len(last) > 15 {
			return
		}
		a, _ := strconv.ParseInt(first, 10, 64)
		b, _ := strconv.ParseInt(last, 10, 64)
		switch {
		case b < a:
			if rg != nil {
				t.Fatalf("Range %q (last < first) gave a range; S3 ignores it", header)
			}
		case a >= size:
			t.Fatalf("Range %q on %d bytes: want 416, got %+v", header, size, rg)
		case rg == nil || rg.offset != a || rg.offset+rg.length-1 != min(b, size-1):
			t.Fatalf("Range %q on %d bytes: got %+v, want %d-%d", header, size, rg, a, min(b, size-1))
		}
	})
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fuzzObjects is a store with a few keys for the listing target.
func fuzzObjects(f *testing.F) *object.Service {
	fs := vfs.NewMem()
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clock.Real{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	objects := object.New(object.Config{Store: st, Blobs: newTestBlobs(f, fs), Clock: clock.Real{}, InlineLimit: 1 << 10})
	ctx := context.Background()
	if err := objects.CreateBucket(ctx, "fuzz", testOwnerID); err != nil {
		f.Fatal(err)
	}
	for _, k := range []string{"a", "a/b", "a/c/d", "a+b", "b c", "é/ü", "z%2F", "zz"} {
		if _, err := objects.PutObject(ctx, object.PutInput{Bucket: "fuzz", Key: k, Body: strings.NewReader("x"), Size: 1}); err != nil {
			f.Fatal(err)
		}
	}
	return objects
}

// ListObjectsV2's parameters (max-keys, continuation-token,
// encoding-type, start-after, prefix, delimiter) against a real store:
// the answer is InvalidArgument or a listing whose every key is in range
// (after start-after and the token, under the prefix), at most max-keys
// long, decodable with encoding-type=url, and whose continuation token,
// when there is one, resumes after the last key.
func FuzzListObjectsV2(f *testing.F) {
	f.Add("2", "", "", "", "", "", true)
	h := New(Config{Objects: fuzzObjects(f)})
	f.Fuzz(func(t *testing.T, maxKeys, token, encoding, startAfter, prefix, delimiter string, hasMaxKeys bool) {
		q := url.Values{"list-type": {"2"}}
		if hasMaxKeys {
			q.Set("max-keys", maxKeys)
		}
		for name, v := range map[string]string{"continuation-token": token, "encoding-type": encoding, "start-after": startAfter, "prefix": prefix, "delimiter": delimiter} {
			if v != "" {
				q.Set(name, v)
			}
		}
		out, err := fuzzList(h, q)
		if err != nil {
			wantClientError(t, err, "InvalidArgument")
			return
		}
		if out.MaxKeys < 0 || out.MaxKeys > maxListKeys || len(out.Contents)+len(out.CommonPrefixes) > out.MaxKeys {
			t.Fatalf("query %v: %d keys and %d prefixes for MaxKeys %d", q, len(out.Contents), len(out.CommonPrefixes), out.MaxKeys)
		}
		if n, err := strconv.ParseInt(maxKeys, 10, 64); hasMaxKeys && err == nil && n >= 0 && n <= math.MaxInt32 && out.MaxKeys != int(min(n, maxListKeys)) {
			t.Fatalf("max-keys %q answered with MaxKeys %d", maxKeys, out.MaxKeys)
		}
		decode := func(s string) string {
			if out.EncodingType != "url" {
				return s
			}
			d, err := url.QueryUnescape(s)
			if err != nil {
				t.Fatalf("encoding-type=url answer %q does not decode: %v", s, err)
			}
			return d
		}
		if (out.EncodingType == "url") != strings.EqualFold(encoding, "url") {
			t.Fatalf("encoding-type %q answered with EncodingType %q", encoding, out.EncodingType)
		}
		after := startAfter
		if tok, ok := decodeToken(token); ok && tok > after {
			after = tok
		}
		last := ""
		for _, c := range out.Contents {
			k := decode(c.Key)
			if !strings.HasPrefix(k, prefix) || k <= after || k <= last {
				t.Fatalf("query %v listed %q (after %q, previous %q)", q, k, after, last)
			}
			if out.EncodingType == "url" && !utf8.ValidString(c.Key) {
				t.Fatalf("encoded key %q is not UTF-8", c.Key)
			}
			last = k
		}
		if out.IsTruncated && out.NextContinuationToken != "" {
			q.Set("continuation-token", out.NextContinuationToken)
			q.Del("start-after")
			next, err := fuzzList(h, q)
			if err != nil {
				t.Fatalf("the token Sluice handed out (%q) was refused: %v", out.NextContinuationToken, err)
			}
			for _, c := range next.Contents {
				if k := decode(c.Key); k <= last {
					t.Fatalf("the next page repeats or goes back: %q after %q", k, last)
				}
			}
		}
	})
}

// fuzzList runs ListObjectsV2 on bucket fuzz without authentication and
// decodes its answer.
func fuzzList(h *Handler, q url.Values) (listBucketResult, error) {
	hr := httptest.NewRequest(http.MethodGet, "/fuzz?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	var out listBucketResult
	if err := h.listObjectsV2(rec, &request{Request: hr, bucket: "fuzz", query: q}); err != nil {
		return out, err
	}
	if rec.Code != http.StatusOK {
		return out, errors.New("status " + strconv.Itoa(rec.Code))
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return out, errors.New("answer is not XML: " + err.Error())
	}
	return out, nil
}
