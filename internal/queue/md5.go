package queue

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
)

// MD5OfBody is MD5OfMessageBody: the lower-case hex MD5 of the body's
// bytes.
func MD5OfBody(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// MD5OfAttributes is MD5OfMessageAttributes as SQS computes it and the
// SDKs check it: for each attribute in byte order of its name,
// len32(name) name len32(DataType) DataType, then the transport byte (1
// for String and Number types, 2 for Binary types), len32(value) value,
// where len32 is a 4-byte big-endian length and the value is the string's
// UTF-8 bytes or the decoded binary. "" when there are no attributes (the
// field is then left out).
func MD5OfAttributes(attrs map[string]Attribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var l [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if isBinaryType(a.DataType) {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// baseType is the type of a DataType without its custom label
// ("Number.float" is a Number).
func baseType(dataType string) string {
	t, _, _ := strings.Cut(dataType, ".")
	return t
}

func isBinaryType(dataType string) bool { return baseType(dataType) == "Binary" }
