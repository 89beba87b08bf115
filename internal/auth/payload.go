package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// VerifyPayload returns a reader of body that, when body reaches EOF,
// returns an *Error XAmzContentSHA256Mismatch (400, with both digests)
// instead of io.EOF if the bytes read do not hash to wantHex. wantHex must
// be a 64-character hex digest (Result.PayloadHash when it is one); for
// any other value (UNSIGNED-PAYLOAD, STREAMING-*) body is returned as is.
// The S3 handler must not commit an object before it has seen EOF without
// error from this reader.
func VerifyPayload(body io.Reader, wantHex string) io.Reader {
	if !isSHA256Hex(wantHex) {
		return body
	}
	return &payloadReader{r: body, want: strings.ToLower(wantHex), h: sha256.New()}
}

type payloadReader struct {
	r    io.Reader
	want string
	h    hash.Hash
	err  error
	// sum and got hold the final digest and its hex, so that the check
	// allocates nothing when it passes.
	sum [sha256.Size]byte
	got [2 * sha256.Size]byte
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	if err == io.EOF {
		hex.Encode(p.got[:], p.h.Sum(p.sum[:0]))
		if string(p.got[:]) != p.want {
			err = ErrContentSHA256Mismatch(p.want, string(p.got[:]))
		}
	}
	if err != nil {
		p.err = err
	}
	return n, err
}
