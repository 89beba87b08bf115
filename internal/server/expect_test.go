package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// A PUT of an empty body with Expect: 100-continue gets "100 Continue"
// and then its final response, and the connection then carries a second
// PUT with a body whose response is read whole: the sequence that left
// botocore reading a response without its status line.
func TestEmptyBodyExpectContinueGets100First(t *testing.T) {
	srv := startSmallTimeouts(t, 5*time.Second, 5*time.Second, 5*time.Second)
	createBucket(t, srv.Server, "expect")
	c := dial(t, srv.Server)
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))

	expect := map[string]string{"Expect": "100-continue"}
	if _, err := c.Write(signedHead(t, srv.Server, "PUT", "/expect/empty.txt", 0, expect)); err != nil {
		t.Fatal(err)
	}
	interim, err := http.ReadResponse(br, &http.Request{Method: "PUT"})
	if err != nil {
		t.Fatal(err)
	}
	if interim.StatusCode != http.StatusContinue {
		t.Fatalf("first response to an empty PUT with Expect: %d, want 100", interim.StatusCode)
	}
	final, err := http.ReadResponse(br, &http.Request{Method: "PUT"})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, final.Body)
	if final.StatusCode != http.StatusOK || final.Header.Get("ETag") != `"d41d8cd98f00b204e9800998ecf8427e"` {
		t.Fatalf("final response: %d ETag %q, want 200 and the empty MD5", final.StatusCode, final.Header.Get("ETag"))
	}

	// The same connection: a PUT with a body gets 100 from net/http once
	// the body is read, then 200 with its own ETag.
	body := []byte("hello")
	if _, err := c.Write(signedHead(t, srv.Server, "PUT", "/expect/hello.txt", int64(len(body)), expect)); err != nil {
		t.Fatal(err)
	}
	if interim, err = http.ReadResponse(br, &http.Request{Method: "PUT"}); err != nil || interim.StatusCode != http.StatusContinue {
		t.Fatalf("second PUT's interim response: %v %v, want 100", interim, err)
	}
	if _, err := c.Write(body); err != nil {
		t.Fatal(err)
	}
	final, err = http.ReadResponse(br, &http.Request{Method: "PUT"})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, final.Body)
	if final.StatusCode != http.StatusOK || final.Header.Get("ETag") != `"5d41402abc4b2a76b9719d911017c592"` {
		t.Fatalf("second PUT: %d ETag %q, want 200 and md5(hello)", final.StatusCode, final.Header.Get("ETag"))
	}
	if br.Buffered() != 0 {
		rest, _ := br.Peek(br.Buffered())
		t.Fatalf("bytes after the last response: %q", bytes.TrimSpace(rest))
	}
}

// Without Expect, an empty PUT gets no interim response.
func TestEmptyBodyWithoutExpectGetsNo100(t *testing.T) {
	srv := startSmallTimeouts(t, 5*time.Second, 5*time.Second, 5*time.Second)
	createBucket(t, srv.Server, "noexpect")
	c := dial(t, srv.Server)
	if _, err := c.Write(signedHead(t, srv.Server, "PUT", "/noexpect/empty.txt", 0, nil)); err != nil {
		t.Fatal(err)
	}
	resp, _ := readResponse(t, c, "PUT", 5*time.Second)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("empty PUT without Expect: %d, want 200", resp.StatusCode)
	}
}
