// Package runtimeapi serves the Lambda Runtime API (2018-06-01) for one
// function instance: a net/http server on 127.0.0.1:0 whose port is the
// instance's identity (the Runtime API carries none). The function domain
// drives it through function.RuntimeEndpoint: Serve hands one invocation to
// the process's GET .../next and waits for its POST .../response or
// .../error.
//
// Wire behaviour follows aws-wire.md section 1, read from aws-lambda-go,
// the Python and Node runtime interface clients and the Runtime Interface
// Emulator:
//   - GET /2018-06-01/runtime/invocation/next blocks until an invocation
//     exists, answers exactly 200 with the event as body and the headers
//     Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (an integer
//     of Unix milliseconds: aws-lambda-go fails every invoke otherwise),
//     Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id and,
//     when set, Lambda-Runtime-Client-Context.
//   - POST .../{id}/response and .../{id}/error answer exactly 202
//     {"status":"OK"}; bodies may be chunked with trailers (aws-lambda-go
//     sends them so) and are bounded by the 6 MB synchronous limit (413
//     RequestEntityTooLarge, and the invoker gets
//     Function.ResponseSizeTooLarge). An unknown id is 400
//     InvalidRequestID; a second answer, or an answer after the invoker
//     stopped waiting (timeout), is 403 InvalidStateTransition.
//   - POST /2018-06-01/runtime/init/error answers 202 and fails the
//     pending invocation with what was posted.
//   - Everything else (extensions, logs and telemetry APIs) is 404 with
//     the RIE's error body; stock runtimes do not need them.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/internal/function"
)

const (
	prefix = "/2018-06-01/runtime/"
	// maxBody is the synchronous response limit Lambda reports in its
	// error text (6 MB plus the 100 bytes Lambda allows for framing).
	maxBody = 6291556
	// maxErrorBody bounds an /init/error body.
	maxErrorBody = 1 << 20
)

// Options tune a Server.
type Options struct {
	Logger *slog.Logger
}

// Server is one instance's Runtime API. It implements
// function.RuntimeEndpoint.
type Server struct {
	ln   net.Listener
	http *http.Server
	log  *slog.Logger

	invCh  chan *pending // unbuffered: a send completes when /next takes it
	closed chan struct{}

	ready     chan struct{}
	readyOnce sync.Once
	initErr   chan struct{}
	initOnce  sync.Once

	mu      sync.Mutex
	current *pending // the invocation handed out last; guarded by mu
	initOut function.Outcome
}

// pending is one invocation between Serve and its answer.
type pending struct {
	inv      function.Invocation
	done     chan function.Outcome // buffered 1; written once under Server.mu
	finished bool                  // answered, or the invoker stopped waiting; guarded by Server.mu
}

// Listen starts a Runtime API server on 127.0.0.1:0. It matches
// function.RuntimeListener.
func Listen() (function.RuntimeEndpoint, error) { return New(Options{}) }

// New starts a Runtime API server on 127.0.0.1:0.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: listen: %w", err)
	}
	s := &Server{ln: ln, log: opts.Logger, invCh: make(chan *pending),
		closed: make(chan struct{}), ready: make(chan struct{}), initErr: make(chan struct{})}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed at the first GET .../next.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// InitError is closed when the process posts /runtime/init/error.
func (s *Server) InitError() <-chan struct{} { return s.initErr }

// InitOutcome is what /runtime/init/error carried.
func (s *Server) InitOutcome() function.Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initOut
}

// Close stops the server; blocked /next calls and Serve return.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

var errClosed = errors.New("runtimeapi: closed")

// Serve hands inv to the runtime and waits for the answer (see
// function.RuntimeEndpoint).
func (s *Server) Serve(ctx context.Context, inv function.Invocation) (function.Outcome, error) {
	p := &pending{inv: inv, done: make(chan function.Outcome, 1)}
	select {
	case s.invCh <- p:
	case <-s.initErr:
		return s.InitOutcome(), nil
	case <-ctx.Done():
		return function.Outcome{}, fmt.Errorf("%w: %w", function.ErrUndelivered, context.Cause(ctx))
	case <-s.closed:
		return function.Outcome{}, fmt.Errorf("%w: %w", function.ErrUndelivered, errClosed)
	}
	select {
	case out := <-p.done:
		return out, nil
	case <-ctx.Done():
	case <-s.closed:
	}
	s.mu.Lock()
	if !p.finished {
		p.finished = true
		s.mu.Unlock()
		if ctx.Err() != nil {
			return function.Outcome{}, context.Cause(ctx)
		}
		return function.Outcome{}, errClosed
	}
	s.mu.Unlock()
	return <-p.done, nil // the answer raced the end of ctx and won
}

// ServeHTTP routes the Runtime API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		writeErr(w, http.StatusNotFound, "UnknownAPI", "Sluice serves only the Runtime API 2018-06-01 here")
		return
	}
	switch {
	case rest == "invocation/next":
		if r.Method != http.MethodGet {
			writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
			return
		}
		s.next(w, r)
	case rest == "init/error":
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
			return
		}
		s.initError(w, r)
	case strings.HasPrefix(rest, "invocation/"):
		id, kind, ok := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
		if !ok || id == "" || (kind != "response" && kind != "error") {
			writeErr(w, http.StatusNotFound, "UnknownAPI", "unknown Runtime API path")
			return
		}
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
			return
		}
		s.answer(w, r, id, kind == "error")
	default:
		writeErr(w, http.StatusNotFound, "UnknownAPI", "unknown Runtime API path")
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() { close(s.ready) })
	var p *pending
	select {
	case p = <-s.invCh:
	case <-r.Context().Done():
		return
	case <-s.closed:
		writeErr(w, http.StatusInternalServerError, "ServiceShutdown", "the instance is stopping")
		return
	}
	s.mu.Lock()
	s.current = p
	s.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", p.inv.RequestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(p.inv.Deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", p.inv.FunctionARN)
	if p.inv.TraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", p.inv.TraceID)
	}
	if p.inv.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", p.inv.ClientContext)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(p.inv.Payload)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(p.inv.Payload); err != nil {
		// The process went away while taking the event; the instance's
		// exit watcher ends Serve.
		s.log.Debug("runtime api: next write failed", "request_id", p.inv.RequestID, "err", err)
	}
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	s.mu.Lock()
	p := s.current
	s.mu.Unlock()
	if p == nil || p.inv.RequestID != id {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		writeErr(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidRequestBody", "could not read the body: "+err.Error())
		return
	}
	out := function.Outcome{Payload: body, Error: isErr, ErrType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
	// aws-lambda-go reports an error met while streaming a response in
	// trailers; the trailer values are known once the body is read.
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		out.Error, out.ErrType = true, t
		if b := r.Trailer.Get("Lambda-Runtime-Function-Error-Body"); b != "" {
			out.Payload = []byte(b)
		}
	}
	tooLarge := len(body) > maxBody
	if tooLarge {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxBody)
		eb, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "Function.ResponseSizeTooLarge"})
		out = function.Outcome{Payload: eb, Error: true, ErrType: "Function.ResponseSizeTooLarge"}
	}
	s.mu.Lock()
	if p.finished {
		s.mu.Unlock()
		writeErr(w, http.StatusForbidden, "InvalidStateTransition", "State transition from Ready to InvocationResponse failed for runtime: the invocation is no longer waiting for an answer")
		return
	}
	p.finished = true
	p.done <- out
	s.mu.Unlock()
	if tooLarge {
		writeErr(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", maxBody))
		return
	}
	writeAccepted(w)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	s.mu.Lock()
	s.initOut = function.Outcome{Payload: body, Error: true, Init: true, ErrType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
	s.mu.Unlock()
	s.initOnce.Do(func() { close(s.initErr) })
	writeAccepted(w)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": typ})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
