package auth

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
)

// The aws-chunked body (S3 API Reference, "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks" and
// "... Including Trailing Headers"):
//
//	hex-size[;chunk-signature=<64 hex>]\r\n<data>\r\n   (repeated)
//	0[;chunk-signature=<64 hex>]\r\n
//	name:value\r\n ...                                  (trailer forms)
//	x-amz-trailer-signature:<64 hex>\r\n                (signed trailer form)
//	\r\n
//
// Bounds: a chunk header or trailer line is at most maxChunkLine bytes, a
// chunk at most maxChunkSize (S3's largest single PUT: no chunk can carry
// more), at most maxTrailers trailer lines. Data is streamed, never
// buffered whole: a chunk's signature is checked when its last byte has
// been read, so the caller must not commit anything before Read returned
// io.EOF (a failed check is an error from Read instead of io.EOF).
const (
	maxChunkLine = 4096
	maxChunkSize = 5 << 30
	maxTrailers  = 16
)

// S3's answers for a broken aws-chunked body: any framing fault is
// IncompleteBody, a trailer that is malformed or does not match
// X-Amz-Trailer is MalformedTrailerError (as recorded against S3 by
// versitygw issues #1660, #1666, #1691 and Arsenal PR #2596).
const (
	msgIncompleteBody   = "The request body terminated unexpectedly"
	msgMalformedTrailer = "The request contained trailing data that was not well-formed or did not conform to our published schema."
)

func errIncompleteBody() *Error {
	return newErr(KindIncompleteBody, "IncompleteBody", http.StatusBadRequest, msgIncompleteBody)
}

func errMalformedTrailer() *Error {
	return newErr(KindMalformedTrailer, "MalformedTrailerError", http.StatusBadRequest, msgMalformedTrailer)
}

// IsStreaming says whether an x-amz-content-sha256 value announces an
// aws-chunked body that ChunkedReader decodes.
func IsStreaming(payloadHash string) bool {
	switch payloadHash {
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return true
	}
	return false
}

// ChunkedOptions describe an aws-chunked request body.
type ChunkedOptions struct {
	// Mode is the x-amz-content-sha256 value: StreamingPayload,
	// StreamingPayloadTrailer or StreamingUnsignedTrailer.
	Mode string
	// Signing is the verified SigV4 request whose signature seeds the
	// chunk signatures; required for the two signed modes.
	Signing *Result
	// DecodedLength is X-Amz-Decoded-Content-Length, or -1 if not sent.
	DecodedLength int64
	// Trailers are the names announced in X-Amz-Trailer (any case). Each
	// must arrive as a trailer, and no other trailer may.
	Trailers []string
}

// ChunkedReader reads the decoded payload of an aws-chunked body. Read
// returns io.EOF only once the whole body was framed correctly, every
// chunk signature and the trailer signature matched, the decoded length
// equals DecodedLength and the trailers match X-Amz-Trailer; otherwise an
// *Error (IncompleteBody, MalformedTrailerError, SignatureDoesNotMatch) or
// the underlying reader's error. It is not safe for concurrent use.
type ChunkedReader struct {
	br        *bufio.Reader
	signing   *Result
	signed    bool // chunk signatures are present and checked
	trailing  bool // a trailer section may follow the final chunk
	announced []string
	declared  int64

	decoded   int64
	remaining int64     // data bytes left in the current chunk
	chunkSig  string    // signature announced for the current chunk
	prevSig   string    // the previous chunk's signature (seed first)
	h         hash.Hash // SHA-256 of the current chunk's data
	trailers  []Field
	err       error // sticky: io.EOF once done
}

// NewChunkedReader returns a reader of body's decoded payload. An unknown
// Mode, or a signed Mode without a SigV4 signing context (a SigV2
// request cannot sign chunks), is an *Error.
func NewChunkedReader(body io.Reader, opt ChunkedOptions) (*ChunkedReader, error) {
	c := &ChunkedReader{br: bufio.NewReaderSize(body, 32<<10), declared: opt.DecodedLength}
	switch opt.Mode {
	case StreamingPayload:
		c.signed = true
	case StreamingPayloadTrailer:
		c.signed, c.trailing = true, true
	case StreamingUnsignedTrailer:
		c.trailing = true
	default:
		return nil, newErr(KindBadContentSHA, "InvalidArgument", http.StatusBadRequest, msgBadSHA,
			Field{"ArgumentName", "x-amz-content-sha256"}, Field{"ArgumentValue", opt.Mode})
	}
	if c.signed {
		if opt.Signing == nil || opt.Signing.SigV2 || len(opt.Signing.SigningKey) == 0 {
			return nil, newErr(KindBadContentSHA, "InvalidArgument", http.StatusBadRequest,
				"Signed aws-chunked payloads require a Signature Version 4 Authorization header.",
				Field{"ArgumentName", "x-amz-content-sha256"}, Field{"ArgumentValue", opt.Mode})
		}
		c.signing = opt.Signing
		c.prevSig = opt.Signing.Signature
		c.h = sha256.New()
	}
	for _, n := range opt.Trailers {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			c.announced = append(c.announced, n)
		}
	}
	return c, nil
}

// Trailers returns the trailers received (names lower-cased, without
// x-amz-trailer-signature), in order. Complete only after Read returned
// io.EOF.
func (c *ChunkedReader) Trailers() []Field { return c.trailers }

// Trailer returns one trailer's value (name in any case); see Trailers.
func (c *ChunkedReader) Trailer(name string) (string, bool) {
	name = strings.ToLower(name)
	for _, f := range c.trailers {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Read implements io.Reader.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	for c.err == nil && c.remaining == 0 {
		c.err = c.nextChunk()
	}
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.remaining -= int64(n)
	c.decoded += int64(n)
	if c.signed {
		c.h.Write(p[:n])
	}
	switch {
	case c.declared >= 0 && c.decoded > c.declared:
		c.err = errIncompleteBody()
	case c.remaining == 0:
		c.err = c.endChunk()
	case err == io.EOF:
		c.err = errIncompleteBody()
	case err != nil:
		c.err = err
	}
	if c.err != nil {
		return n, c.err
	}
	return n, nil
}

// readLine returns the next line without its CRLF. A line without CR,
// longer than maxChunkLine, or cut by EOF is IncompleteBody; a transport
// error is returned as it is.
func (c *ChunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF || err == bufio.ErrBufferFull || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", errIncompleteBody()
		}
		return "", err
	}
	if len(line) > maxChunkLine || len(line) < 2 || line[len(line)-2] != '\r' {
		return "", errIncompleteBody()
	}
	return string(line[:len(line)-2]), nil
}

// readTrailerLine is readLine for the trailer section, which also takes a
// line ended by a bare \n (lf true), as minio-go writes its trailers.
func (c *ChunkedReader) readTrailerLine() (line string, lf bool, err error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF || err == bufio.ErrBufferFull || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", false, errIncompleteBody()
		}
		return "", false, err
	}
	if len(b) > maxChunkLine {
		return "", false, errIncompleteBody()
	}
	if len(b) >= 2 && b[len(b)-2] == '\r' {
		return string(b[:len(b)-2]), false, nil
	}
	if len(b) < 2 {
		// A lone \n is not an empty line in either form.
		return "", false, errIncompleteBody()
	}
	return string(b[:len(b)-1]), true, nil
}

// nextChunk reads a chunk header; for the final chunk, the trailers and
// the end of the body too (returning io.EOF when all is well).
func (c *ChunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, ok := parseChunkSize(sizeHex)
	if !ok {
		return errIncompleteBody()
	}
	c.chunkSig = ""
	for ext != "" {
		var e string
		e, ext, _ = strings.Cut(ext, ";")
		if name, val, _ := strings.Cut(e, "="); strings.TrimSpace(name) == "chunk-signature" {
			c.chunkSig = strings.TrimSpace(val)
		}
	}
	if c.signed && !isSHA256Hex(c.chunkSig) {
		return errIncompleteBody()
	}
	if size > 0 {
		c.remaining = size
		if c.signed {
			c.h.Reset()
		}
		return nil
	}
	if c.signed {
		if err := c.checkChunk(emptySHA256); err != nil {
			return err
		}
	}
	return c.finish()
}

func parseChunkSize(s string) (int64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return 0, false
		}
		n = n<<4 | int64(unhex(s[i]))
		if n > maxChunkSize {
			return 0, false
		}
	}
	return n, true
}

// endChunk reads the CRLF after a chunk's data and checks its signature.
func (c *ChunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return errIncompleteBody()
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return errIncompleteBody()
	}
	if c.signed {
		return c.checkChunk(hex.EncodeToString(c.h.Sum(nil)))
	}
	return nil
}

func (c *ChunkedReader) checkChunk(dataSHA256 string) error {
	want := c.signing.ChunkSignature(c.prevSig, dataSHA256)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.chunkSig))) != 1 {
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.signing.AmzDate + "\n" + c.signing.Scope + "\n" +
			c.prevSig + "\n" + emptySHA256 + "\n" + dataSHA256
		return c.mismatch(sts, c.chunkSig)
	}
	c.prevSig = want
	return nil
}

func (c *ChunkedReader) mismatch(sts, provided string) *Error {
	return newErr(KindSignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden, msgMismatch,
		Field{"AWSAccessKeyId", c.signing.AccessKeyID},
		Field{"StringToSign", sts},
		Field{"SignatureProvided", provided},
		Field{"StringToSignBytes", hexBytes(sts)})
}

// finish reads what follows the final chunk: trailer lines (trailer forms
// only) up to the empty line, and then nothing else.
func (c *ChunkedReader) finish() error {
	var canonical strings.Builder
	trailerSig, sawSig, bareLF := "", false, false
	for {
		line, lf, err := c.readTrailerLine()
		if err != nil {
			return err
		}
		if line == "" {
			// minio-go ends its trailer lines with a bare \n and then
			// writes \r\n before x-amz-trailer-signature; AWS accepts
			// that (minio/minio#16484), so the empty line after a bare-\n
			// line is a separator, not the end, until the signature came.
			if bareLF && c.signed && c.trailing && !sawSig && !lf {
				bareLF = false
				continue
			}
			break
		}
		bareLF = lf
		if !c.trailing || sawSig || len(c.trailers) >= maxTrailers {
			return errMalformedTrailer()
		}
		name, val, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if !ok || name == "" {
			return errMalformedTrailer()
		}
		if name == "x-amz-trailer-signature" {
			trailerSig, sawSig = val, true
			continue
		}
		c.trailers = append(c.trailers, Field{name, val})
		canonical.WriteString(name + ":" + val + "\n")
	}
	// Nothing may follow the body's end.
	if _, err := c.br.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return errIncompleteBody()
	}
	if c.signed && c.trailing {
		if !sawSig {
			return errMalformedTrailer()
		}
		sum := sha256.Sum256([]byte(canonical.String()))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.signing.AmzDate + "\n" + c.signing.Scope + "\n" +
			c.prevSig + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(c.signing.SigningKey, []byte(sts)))
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(trailerSig))) != 1 {
			return c.mismatch(sts, trailerSig)
		}
	}
	if len(c.trailers) != len(c.announced) {
		return errMalformedTrailer()
	}
	for _, n := range c.announced {
		if _, ok := c.Trailer(n); !ok {
			return errMalformedTrailer()
		}
	}
	if c.declared >= 0 && c.decoded != c.declared {
		return errIncompleteBody()
	}
	return io.EOF
}

// DecodedLength is the X-Amz-Decoded-Content-Length the reader enforces,
// or -1.
func (c *ChunkedReader) DecodedLength() int64 { return c.declared }
