package s3api

import (
	"net/http"
	"strconv"
)

// maxHeaderSection is S3's limit on a request's header section: 8 KiB,
// answered with 400 RequestHeaderSectionTooLarge and <MaxSizeAllowed>8192
// (responses recorded from S3, quoted in versity/versitygw issue 2180).
// net/http accepts more (server.DefaultMaxHeaderBytes) so that such a
// request reaches this check and gets S3's XML.
const maxHeaderSection = 8 << 10

// headerSectionSize is the size of r's header section as it came on the
// wire: "Name: value\r\n" for each field, Host included (net/http moves
// it out of r.Header). The request line is not part of it.
func headerSectionSize(r *http.Request) int {
	n := 0
	if r.Host != "" {
		n += len("Host: \r\n") + len(r.Host)
	}
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + len(": \r\n")
		}
	}
	return n
}

// checkHeaderSection refuses a request whose headers exceed S3's limit,
// before anything else is read from them.
func checkHeaderSection(r *http.Request) error {
	if headerSectionSize(r) > maxHeaderSection {
		return newError(errRequestHeaderSectionTooLarge, "MaxSizeAllowed", strconv.Itoa(maxHeaderSection))
	}
	return nil
}

// hasContentLength reports whether the client sent Content-Length:
// net/http reads a request with neither it nor Transfer-Encoding as an
// empty body (ContentLength 0), but S3 refuses such a PUT with 411
// MissingContentLength (curl -X PUT sends one).
func hasContentLength(r *http.Request) bool {
	_, ok := r.Header["Content-Length"]
	return ok
}

// ConnFault is a request net/http refuses itself, before any handler
// runs, with a plain-text answer of its own; the server replaces that
// answer with S3's (an S3 client parses only XML errors). Before the
// headers are read the service is unknown; S3 is the default service.
type ConnFault int

// The faults net/http answers itself.
const (
	// HeaderTooLarge: the headers exceed net/http's MaxHeaderBytes.
	HeaderTooLarge ConnFault = iota + 1
	// HeaderTimeout: the headers did not arrive within ReadHeaderTimeout.
	HeaderTimeout
)

// RawErrorResponse is the complete HTTP/1.1 response S3 gives for f,
// closing the connection as net/http does after such a request.
func RawErrorResponse(f ConnFault, requestID, hostID string) []byte {
	var e *Error
	switch f {
	case HeaderTooLarge:
		e = newError(errRequestHeaderSectionTooLarge, "MaxSizeAllowed", strconv.Itoa(maxHeaderSection))
	default:
		e = newError(errRequestTimeout)
	}
	body := renderError(e, requestID, hostID)
	head := "HTTP/1.1 " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + "\r\n" +
		"Content-Type: application/xml\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"x-amz-request-id: " + requestID + "\r\n" +
		"x-amz-id-2: " + hostID + "\r\n" +
		"Connection: close\r\n\r\n"
	return append([]byte(head), body...)
}
