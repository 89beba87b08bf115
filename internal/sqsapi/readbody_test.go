package sqsapi

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// readBody returns the whole body whatever Content-Length claims, and at
// most maxBody+1 bytes (so the caller can refuse a body too large).
func TestReadBody(t *testing.T) {
	big := strings.Repeat("b", maxBody+10)
	for _, tc := range []struct {
		body string
		cl   int64
		want int
	}{
		{"hello", 5, 5},
		{"hello", 3, 5},  // longer than declared
		{"hello", 50, 5}, // shorter than declared
		{"hello", -1, 5}, // unknown length
		{"", 0, 0},
		{big, int64(len(big)), maxBody + 1},
		{big, 100, maxBody + 1},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Body = io.NopCloser(iotest.OneByteReader(strings.NewReader(tc.body)))
		if len(tc.body) > 1000 {
			r.Body = io.NopCloser(strings.NewReader(tc.body))
		}
		r.ContentLength = tc.cl
		got, err := readBody(r)
		if err != nil || len(got) != tc.want || !bytes.Equal(got, []byte(tc.body[:tc.want])) {
			t.Errorf("body %d bytes, Content-Length %d: got %d bytes, %v; want %d", len(tc.body), tc.cl, len(got), err, tc.want)
		}
	}
}
