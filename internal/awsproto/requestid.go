package awsproto

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// NewRequestID returns an S3-style request id (x-amz-request-id): 16
// upper-case hex characters.
func NewRequestID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// NewHostID returns an S3-style extended request id (x-amz-id-2): base64
// of 56 random bytes, 76 characters.
func NewHostID() string {
	var b [56]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// NewRequestIDs returns a NewRequestID and a NewHostID together, from one
// read of the random source and one allocation (both strings share it):
// the server gives every request both.
func NewRequestIDs() (id, hostID string) {
	const upperHex = "0123456789ABCDEF"
	var b [8 + 56]byte
	rand.Read(b[:])
	var out [16 + 76]byte
	for i, c := range b[:8] {
		out[2*i], out[2*i+1] = upperHex[c>>4], upperHex[c&15]
	}
	base64.StdEncoding.Encode(out[16:], b[8:])
	var sb strings.Builder
	sb.Write(out[:])
	s := sb.String()
	return s[:16], s[16:]
}

// NewUUID returns a random (version 4) UUID, the request id form of SQS,
// SNS, Lambda, IAM and STS (x-amzn-RequestId, <RequestId>).
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type requestIDKey struct{}

type requestIDs struct{ id, hostID string }

// idsContext carries the ids in the same allocation as the context itself:
// context.WithValue would box the two strings in a second one, on every
// request. Value hands out a pointer, which an interface holds without
// allocating.
type idsContext struct {
	context.Context
	ids requestIDs
}

func (c *idsContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return &c.ids
	}
	return c.Context.Value(key)
}

// WithRequestID returns ctx carrying the request's id and host id, so the
// server's middleware assigns them once and every handler, event record
// and log line uses the same ones.
func WithRequestID(ctx context.Context, id, hostID string) context.Context {
	return &idsContext{Context: ctx, ids: requestIDs{id, hostID}}
}

// RequestID returns the ids stored by WithRequestID, or "" and "".
func RequestID(ctx context.Context) (id, hostID string) {
	if v, ok := ctx.Value(requestIDKey{}).(*requestIDs); ok {
		return v.id, v.hostID
	}
	return "", ""
}
