package server

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestPutResponseOnTheWire: a signed PUT's response, byte for byte as the
// client reads it, except the values that change per request (ids, date,
// checksum). The S3 handler and the middleware write these headers by
// direct map assignment with canonical names; this checks what reaches
// the wire is what Header.Set wrote before.
func TestPutResponseOnTheWire(t *testing.T) {
	srv := start(t, Config{RootAccessKey: testAccessKey, RootSecretKey: testSecretKey})
	createBucket(t, srv.Server, "bkt")
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, req := range signedPuts(t, srv.Server, "bkt", 2, bytes.Repeat([]byte("x"), 1024)) {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		var head []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("PUT %d: reading the response: %v (so far %q)", i, err, head)
			}
			if line == "\r\n" {
				break
			}
			head = append(head, strings.TrimSuffix(line, "\r\n"))
		}
		if len(head) == 0 || head[0] != "HTTP/1.1 200 OK" {
			t.Fatalf("PUT %d: status line %q", i, head)
		}
		fields := head[1:]
		sort.Strings(fields)
		want := []string{
			`Content-Length: 0`,
			`Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT`,
			`Etag: "` + "7265f4d211b56873a381d321f586e4a9" + `"`, // MD5 of 1024 'x'
			`X-Amz-Checksum-Crc64nvme: [A-Za-z0-9+/]{11}=`,
			`X-Amz-Checksum-Type: FULL_OBJECT`,
			`X-Amz-Id-2: [A-Za-z0-9+/]{75}=`,
			`X-Amz-Request-Id: [0-9A-F]{16}`,
		}
		if len(fields) != len(want) {
			t.Fatalf("PUT %d: header fields\n%s\nwant %d matching\n%s", i, strings.Join(fields, "\n"), len(want), strings.Join(want, "\n"))
		}
		for j, f := range fields {
			if !regexp.MustCompile("^" + want[j] + "$").MatchString(f) {
				t.Errorf("PUT %d: header field %q, want /%s/", i, f, want[j])
			}
		}
	}
}
