package crashtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// A body written by the harness is self-describing, so that whatever a
// restarted server returns can be judged on its own: a header naming the
// operation, the key and the length, deterministic filler, and a SHA-256 of
// everything before it. A torn body (cut short, zero-filled, or mixing two
// writes) fails the checksum or the length, and is reported with what it
// claims to be.
const (
	bodyMagic  = "sluice-crashtest"
	minBodyLen = 96 // room for the header and the trailer
)

// MakeBody returns the body of PUT op on key, size bytes long (at least
// minBodyLen).
func MakeBody(op uint64, key string, size int) []byte {
	size = max(size, minBodyLen)
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, "%s op=%d len=%d key=%q\n", bodyMagic, op, size, key)
	if len(b)+sha256.Size > size {
		// A long key: grow rather than fail; the header is what matters.
		size = len(b) + sha256.Size
	}
	r := rand.New(rand.NewPCG(op, uint64(size)))
	for len(b) < size-sha256.Size {
		b = append(b, byte('a'+r.IntN(26)))
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// BodyInfo is what a body says about itself.
type BodyInfo struct {
	Op  uint64
	Key string
	Len int // the length the header claims
}

// ParseBody checks b's header, length and checksum and returns what it
// claims to be, or an error that describes the damage.
func ParseBody(b []byte) (BodyInfo, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || !bytes.HasPrefix(b, []byte(bodyMagic+" ")) {
		return BodyInfo{}, fmt.Errorf("no harness header (%d bytes, starting %q)", len(b), prefix(b, 32))
	}
	var info BodyInfo
	header := string(b[:nl])
	head, quoted, ok := strings.Cut(header, " key=")
	if !ok {
		return BodyInfo{}, fmt.Errorf("bad harness header %q", header)
	}
	if _, err := fmt.Sscanf(head, bodyMagic+" op=%d len=%d", &info.Op, &info.Len); err != nil {
		return BodyInfo{}, fmt.Errorf("bad harness header %q: %v", header, err)
	}
	key, err := strconv.Unquote(quoted)
	if err != nil {
		return BodyInfo{}, fmt.Errorf("bad key in harness header %q: %v", header, err)
	}
	info.Key = key
	if len(b) != info.Len {
		return info, fmt.Errorf("torn body of op %d: %d bytes, header says %d", info.Op, len(b), info.Len)
	}
	if len(b) < sha256.Size || sha256.Sum256(b[:len(b)-sha256.Size]) != [sha256.Size]byte(b[len(b)-sha256.Size:]) {
		return info, fmt.Errorf("torn body of op %d: %d bytes, checksum mismatch", info.Op, len(b))
	}
	return info, nil
}

func prefix(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
