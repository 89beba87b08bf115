package lambdaapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sluice/internal/function"
)

// SluicePrefix is where Sluice's own function endpoints live:
//
//	GET /_sluice/functions/<name>/code            the zip package (GetFunction's Code.Location)
//	GET /_sluice/functions/<name>/logs[?follow=true&tail=N]
//	                                              the function's kept log, as text
//
// They take the root credentials only (SigV4 header or presigned URL, or
// HTTP Basic with the access key and secret, for curl); a function's own
// session credentials are refused (DESIGN "Functions": no access to
// /_sluice/).
const SluicePrefix = "/_sluice/functions/"

// codeURLExpiry is how long a Code.Location URL is valid: Lambda's are
// valid for 10 minutes.
const codeURLExpiry = 10 * time.Minute

// codeLocation presigns the code download URL of a function with the root
// credentials.
func (h *Handler) codeLocation(name string) (string, error) {
	u := h.base + SluicePrefix + url.PathEscape(name) + "/code"
	q := url.Values{"X-Amz-Expires": {strconv.Itoa(int(codeURLExpiry / time.Second))}}
	req, err := http.NewRequest(http.MethodGet, u+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	region := h.fn.Region()
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: h.root.AccessKeyID, SecretAccessKey: h.root.SecretAccessKey},
		req, emptySHA256, "lambda", region, h.clock.Now())
	if err != nil {
		return "", err
	}
	return signed, nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// ServeSluice serves /_sluice/functions/.
func (h *Handler) ServeSluice(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), SluicePrefix)
	parts := strings.Split(rest, "/")
	if len(parts) != 2 || parts[0] == "" {
		sluiceError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	name, err := url.PathUnescape(parts[0])
	if err != nil {
		sluiceError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		sluiceError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if status, msg := h.rootOnly(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="sluice"`)
		}
		sluiceError(w, status, msg)
		return
	}
	switch parts[1] {
	case "code":
		h.serveCode(w, r, name)
	case "logs":
		h.serveLogs(w, r, name)
	default:
		sluiceError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}
}

// rootOnly authenticates a /_sluice/ request: the root credentials by
// HTTP Basic or SigV4. It returns 0 when the request may proceed.
func (h *Handler) rootOnly(r *http.Request) (int, string) {
	if user, pass, ok := r.BasicAuth(); ok {
		if subtle.ConstantTimeCompare([]byte(user), []byte(h.root.AccessKeyID)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(h.root.SecretAccessKey)) == 1 {
			return 0, ""
		}
		return http.StatusForbidden, "the access key or secret is wrong"
	}
	res, err := h.verify.Verify(r)
	if err != nil {
		var ae interface{ Error() string }
		if errors.As(err, &ae) && r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Credential") == "" {
			return http.StatusUnauthorized, "credentials required: the root access key and secret, by SigV4 or HTTP Basic"
		}
		return http.StatusForbidden, err.Error()
	}
	if res.AccessKeyID != h.root.AccessKeyID {
		return http.StatusForbidden, "only the root credentials may use /_sluice/"
	}
	return 0, ""
}

func sluiceError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (h *Handler) serveCode(w http.ResponseWriter, r *http.Request, name string) {
	blob, err := h.fn.OpenCode(r.Context(), name)
	if err != nil {
		e := toAPIError(err)
		sluiceError(w, e.Status, e.Message)
		return
	}
	defer blob.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.FormatInt(blob.Size(), 10))
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.zip"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	io.Copy(w, io.NewSectionReader(blob, 0, blob.Size()))
}

// serveLogs streams the function's kept log as text; with follow=true it
// keeps the response open and writes new lines as they come, until the
// client goes away or the server shuts down.
func (h *Handler) serveLogs(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	opts := function.LogOptions{}
	opts.Follow, _ = strconv.ParseBool(q.Get("follow"))
	if t := q.Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			sluiceError(w, http.StatusBadRequest, "tail must be a number of bytes")
			return
		}
		opts.Tail = n
	}
	// Check the function exists first, so a wrong name is a 404 and not
	// an empty stream.
	if _, err := h.fn.GetConfiguration(r.Context(), name, ""); err != nil {
		e := toAPIError(err)
		sluiceError(w, e.Status, e.Message)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := h.fn.Logs(r.Context(), name, opts, fw); err != nil && !fw.wrote && r.Context().Err() == nil {
		e := toAPIError(err)
		sluiceError(w, e.Status, e.Message)
		return
	}
	if !fw.wrote {
		w.WriteHeader(http.StatusOK)
	}
}

// flushWriter flushes after every write, so a followed log reaches the
// client line by line.
type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.wrote = true
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}
