package server

import (
	"net/http"
	"strings"
)

// withEmptyBodyContinue answers "Expect: 100-continue" on a request with
// an empty body with an interim "100 Continue" before the final response
// (RFC 9110, 10.1.1, lets a server send 100 whenever it will read the
// content, and an empty content is read at once).
//
// net/http sends 100 Continue only when a handler reads a non-empty body,
// so on its own it answers such a request with the final response alone.
// botocore (up to at least 1.43) sends Expect: 100-continue on every PUT
// with a file body, empty files included, and when the first response it
// sees to such a request is not 100 it keeps that status line for the
// next request on the same pooled connection: that next response is then
// parsed without its status line, its Content-Length is lost and the
// client waits for a close that never comes (boto/botocore#3755). `aws s3
// sync` of a tree with an empty file hung that way once in a few runs.
func withEmptyBodyContinue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 && r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			// Before any header is set: net/http writes the handler's
			// headers so far into a 1xx response too.
			w.WriteHeader(http.StatusContinue)
		}
		next.ServeHTTP(w, r)
	})
}
