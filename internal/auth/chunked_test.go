package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// awsExampleSigning is the signing context of the examples in S3's
// "sigv4-streaming" and "sigv4-streaming-trailers" pages (20130524,
// us-east-1, the documentation's secret), seeded with seed.
func awsExampleSigning(seed string) *Result {
	return &Result{
		Credentials: docCred,
		AmzDate:     "20130524T000000Z",
		Scope:       "20130524/us-east-1/s3/aws4_request",
		SigningKey:  DerivedKey(docCred.SecretAccessKey, "20130524", "us-east-1", "s3"),
		Signature:   seed,
	}
}

// awsExampleBody is the documented 66560-byte body of 'a' in a 65536 and
// a 1024-byte chunk, with the given chunk signatures and tail.
func awsExampleBody(sigs [3]string, tail string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "10000;chunk-signature=%s\r\n", sigs[0])
	b.Write(bytes.Repeat([]byte("a"), 65536))
	fmt.Fprintf(&b, "\r\n400;chunk-signature=%s\r\n", sigs[1])
	b.Write(bytes.Repeat([]byte("a"), 1024))
	fmt.Fprintf(&b, "\r\n0;chunk-signature=%s\r\n", sigs[2])
	b.WriteString(tail)
	return b.Bytes()
}

var (
	awsExampleSigs = [3]string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	awsTrailerSigs = [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
)

const (
	awsExampleSeed        = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	awsTrailerSeed        = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	awsTrailerTail        = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
	awsExampleDecodedSize = 66560
)

func decodeAll(t *testing.T, body []byte, opt ChunkedOptions, wrap func(io.Reader) io.Reader) ([]byte, *ChunkedReader, error) {
	t.Helper()
	c, err := NewChunkedReader(wrap(bytes.NewReader(body)), opt)
	if err != nil {
		t.Fatalf("NewChunkedReader: %v", err)
	}
	out, err := io.ReadAll(c)
	return out, c, err
}

var readShapes = map[string]func(io.Reader) io.Reader{
	"whole":        func(r io.Reader) io.Reader { return r },
	"one byte":     iotest.OneByteReader,
	"half reads":   iotest.HalfReader,
	"data err eof": iotest.DataErrReader,
}

// TestChunkedAWSExample decodes S3's documented signed chunked upload
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), whatever the read sizes.
func TestChunkedAWSExample(t *testing.T) {
	body := awsExampleBody(awsExampleSigs, "\r\n")
	for name, wrap := range readShapes {
		t.Run(name, func(t *testing.T) {
			out, _, err := decodeAll(t, body, ChunkedOptions{
				Mode: StreamingPayload, Signing: awsExampleSigning(awsExampleSeed), DecodedLength: awsExampleDecodedSize,
			}, wrap)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(out, bytes.Repeat([]byte("a"), awsExampleDecodedSize)) {
				t.Fatalf("decoded %d bytes, not the example's payload", len(out))
			}
		})
	}
}

// TestChunkedAWSTrailerExample decodes S3's documented signed upload with
// a trailing CRC32C (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) and
// exposes the trailer.
func TestChunkedAWSTrailerExample(t *testing.T) {
	body := awsExampleBody(awsTrailerSigs, awsTrailerTail)
	out, c, err := decodeAll(t, body, ChunkedOptions{
		Mode: StreamingPayloadTrailer, Signing: awsExampleSigning(awsTrailerSeed),
		DecodedLength: awsExampleDecodedSize, Trailers: []string{"x-amz-checksum-crc32c"},
	}, iotest.HalfReader)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(out) != awsExampleDecodedSize {
		t.Fatalf("decoded %d bytes", len(out))
	}
	if v, ok := c.Trailer("X-Amz-Checksum-CRC32C"); !ok || v != "sOO8/Q==" {
		t.Fatalf("trailer = %q, %v", v, ok)
	}
	if got := c.Trailers(); len(got) != 1 {
		t.Fatalf("trailers %v: the signature is not a trailer", got)
	}
}

// TestChunkedSeedFromVerify verifies the documented request headers with
// Verify, then decodes the body with the Result Verify gave.
func TestChunkedSeedFromVerify(t *testing.T) {
	body := awsExampleBody(awsExampleSigs, "\r\n")
	r := serverReq("PUT", "s3.amazonaws.com", "/examplebucket/chunkObject.txt", map[string]string{
		"X-Amz-Date":                   "20130524T000000Z",
		"X-Amz-Storage-Class":          "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256":         StreamingPayload,
		"Content-Encoding":             "aws-chunked",
		"X-Amz-Decoded-Content-Length": "66560",
		"Content-Length":               "66824",
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
			"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
			"Signature=" + awsExampleSeed,
	})
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the page says 66824", len(body))
	}
	r.ContentLength = int64(len(body))
	res, err := newVerifier(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), docCred).Verify(r)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	out, _, err := decodeAll(t, body, ChunkedOptions{Mode: res.PayloadHash, Signing: res, DecodedLength: 66560}, readShapes["whole"])
	if err != nil || len(out) != 66560 {
		t.Fatalf("decode: %d bytes, %v", len(out), err)
	}
}

// testSigner signs aws-chunked bodies like a client (for cases the AWS
// examples do not cover).
type testSigner struct {
	res  *Result
	prev string
}

func (s *testSigner) chunk(data []byte) string {
	sig := s.res.ChunkSignature(s.prev, sha(data))
	s.prev = sig
	return sig
}

func (s *testSigner) trailer(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.res.AmzDate + "\n" + s.res.Scope + "\n" + s.prev + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(s.res.SigningKey, []byte(sts)))
}

func signedBody(res *Result, chunks []string, trailers [][2]string) []byte {
	s := &testSigner{res: res, prev: res.Signature}
	var b strings.Builder
	for _, c := range append(chunks, "") {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s", len(c), s.chunk([]byte(c)), c)
		if c != "" {
			b.WriteString("\r\n")
		}
	}
	if trailers != nil {
		var canon strings.Builder
		for _, kv := range trailers {
			b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
			canon.WriteString(kv[0] + ":" + kv[1] + "\n")
		}
		b.WriteString("x-amz-trailer-signature:" + s.trailer(canon.String()) + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func TestChunkedUnsignedTrailer(t *testing.T) {
	// What botocore sends over https (aws-wire.md 5.4).
	body := "6\r\nhello\n\r\n0\r\nx-amz-checksum-crc32:NjowIA==\r\n\r\n"
	out, c, err := decodeAll(t, []byte(body), ChunkedOptions{
		Mode: StreamingUnsignedTrailer, DecodedLength: 6, Trailers: []string{"x-amz-checksum-crc32"},
	}, iotest.OneByteReader)
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("decode: %q, %v", out, err)
	}
	if v, _ := c.Trailer("x-amz-checksum-crc32"); v != "NjowIA==" {
		t.Fatalf("trailer %q", v)
	}
	// Without trailers and with no declared length.
	out, _, err = decodeAll(t, []byte("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: -1}, iotest.HalfReader)
	if err != nil || string(out) != "abcde" {
		t.Fatalf("decode: %q, %v", out, err)
	}
}

func TestChunkedErrors(t *testing.T) {
	res := awsExampleSigning(strings.Repeat("0", 64))
	good := signedBody(res, []string{"hello ", "world"}, nil)
	goodTrailer := signedBody(res, []string{"hello"}, [][2]string{{"x-amz-checksum-crc32", "NhCmhg=="}})
	signed := ChunkedOptions{Mode: StreamingPayload, Signing: res, DecodedLength: 11}
	signedTrailer := ChunkedOptions{Mode: StreamingPayloadTrailer, Signing: res, DecodedLength: 5, Trailers: []string{"x-amz-checksum-crc32"}}
	unsigned := ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: 5, Trailers: []string{"x-amz-checksum-crc32"}}
	unsignedBody := "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"

	if _, _, err := decodeAll(t, good, signed, readShapes["whole"]); err != nil {
		t.Fatalf("good signed body: %v", err)
	}
	if _, _, err := decodeAll(t, goodTrailer, signedTrailer, readShapes["whole"]); err != nil {
		t.Fatalf("good signed trailer body: %v", err)
	}
	flip := func(b []byte, old, new string) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	cases := []struct {
		name string
		body []byte
		opt  ChunkedOptions
		code string
	}{
		{"data changed", flip(good, "world", "World"), signed, "SignatureDoesNotMatch"},
		{"first chunk dropped", good[bytes.Index(good, []byte("\r\n5;"))+2:], ChunkedOptions{Mode: StreamingPayload, Signing: res, DecodedLength: -1}, "SignatureDoesNotMatch"},
		{"other seed", signedBody(awsExampleSigning(strings.Repeat("1", 64)), []string{"hello ", "world"}, nil), signed, "SignatureDoesNotMatch"},
		{"signature missing", []byte("5\r\nhello\r\n0\r\n\r\n"), signed, "IncompleteBody"},
		{"trailer changed", flip(goodTrailer, "NhCmhg==", "AAAAAA=="), signedTrailer, "SignatureDoesNotMatch"},
		{"trailer signature missing", []byte(strings.Split(string(goodTrailer), "x-amz-trailer-signature")[0] + "\r\n"), signedTrailer, "MalformedTrailerError"},
		{"truncated in data", good[:20], signed, "IncompleteBody"},
		{"truncated before end", good[:len(good)-2], signed, "IncompleteBody"},
		{"no final chunk", []byte("5\r\nhello\r\n"), unsigned, "IncompleteBody"},
		{"bad size", []byte("zz\r\nhello\r\n0\r\n\r\n"), unsigned, "IncompleteBody"},
		{"size too large", []byte("fffffffffffffffff\r\n"), unsigned, "IncompleteBody"},
		{"size shorter than data", []byte("3\r\nhello\r\n0\r\n\r\n"), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: -1}, "IncompleteBody"},
		{"LF only", []byte("5\nhello\n0\n\n"), unsigned, "IncompleteBody"},
		{"header line too long", []byte("5;" + strings.Repeat("x", 5000) + "\r\nhello\r\n0\r\n\r\n"), unsigned, "IncompleteBody"},
		{"decoded length short", []byte(unsignedBody), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: 6, Trailers: []string{"x-amz-checksum-crc32"}}, "IncompleteBody"},
		{"decoded length long", []byte(unsignedBody), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: 4, Trailers: []string{"x-amz-checksum-crc32"}}, "IncompleteBody"},
		{"data after the end", append([]byte(unsignedBody), 'x'), unsigned, "IncompleteBody"},
		{"trailer not announced", []byte(unsignedBody), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: 5}, "MalformedTrailerError"},
		{"announced trailer missing", []byte("5\r\nhello\r\n0\r\n\r\n"), unsigned, "MalformedTrailerError"},
		{"other trailer", []byte("5\r\nhello\r\n0\r\nx-amz-checksum-sha1:AAAA\r\n\r\n"), unsigned, "MalformedTrailerError"},
		{"trailer without colon", []byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n"), unsigned, "MalformedTrailerError"},
		{"trailer in a non-trailer form", flip(good, "\r\n\r\n", "\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), signed, "MalformedTrailerError"},
		{"too many trailers", []byte("5\r\nhello\r\n0\r\n" + strings.Repeat("x-a:b\r\n", 20) + "\r\n"), unsigned, "MalformedTrailerError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := decodeAll(t, tc.body, tc.opt, readShapes["whole"])
			wantCode(t, tc.name, err, tc.code, map[string]int{"SignatureDoesNotMatch": 403}[tc.code]+map[bool]int{true: 400}[tc.code != "SignatureDoesNotMatch"])
			if len(out) > 11 {
				t.Fatalf("returned %d bytes", len(out))
			}
		})
	}
}

func TestChunkedOptionsRefused(t *testing.T) {
	cases := []ChunkedOptions{
		{Mode: UnsignedPayload},
		{Mode: StreamingPayload},
		{Mode: StreamingPayloadTrailer, Signing: &Result{SigV2: true}},
	}
	for _, opt := range cases {
		_, err := NewChunkedReader(strings.NewReader(""), opt)
		wantCode(t, opt.Mode, err, "InvalidArgument", http.StatusBadRequest)
	}
}

// A transport error is passed on as it is, not turned into an S3 code.
func TestChunkedTransportError(t *testing.T) {
	boom := errors.New("connection reset")
	c, _ := NewChunkedReader(io.MultiReader(strings.NewReader("5\r\nhel"), iotest.ErrReader(boom)), ChunkedOptions{Mode: StreamingUnsignedTrailer, DecodedLength: -1})
	if _, err := io.ReadAll(c); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

// FuzzChunked feeds arbitrary bodies through the decoder in each mode:
// never a panic, never more bytes than the body, and a signed body the
// fuzzer made up never decodes without error.
func FuzzChunked(f *testing.F) {
	res := awsExampleSigning(strings.Repeat("0", 64))
	f.Add(signedBody(res, []string{"hello ", "world"}, nil), uint8(0))
	f.Add(signedBody(res, []string{"hello"}, [][2]string{{"x-amz-checksum-crc32", "NhCmhg=="}}), uint8(1))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(2))
	f.Add([]byte("6\r\nhello\n\r\n0\r\n\r\n"), uint8(2))
	f.Add([]byte("ffffffff;chunk-signature=00\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		modes := []string{StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer}
		opt := ChunkedOptions{Mode: modes[int(mode)%3], Signing: res, DecodedLength: -1}
		if mode&4 != 0 {
			opt.Trailers = []string{"x-amz-checksum-crc32"}
		}
		c, err := NewChunkedReader(bytes.NewReader(body), opt)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(c)
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(body))
		}
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Code == "" || ae.Status < 400 {
				t.Fatalf("error %v (%T) is not a complete *Error", err, err)
			}
		}
	})
}
