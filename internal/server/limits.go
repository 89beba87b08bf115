package server

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// Defaults of the per-phase timeouts (issue 3, "Bounds and bad input").
// Each phase of a request has its own bound, so that a slow client is cut
// off in the phase where it stalls, while a long transfer that keeps
// making progress is never cut: the body and response bounds are idle
// bounds, extended on every successful read or write, not totals.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers
	// (slowloris). S3 clients send their headers in one write.
	DefaultReadHeaderTimeout = 15 * time.Second
	// DefaultBodyIdleTimeout is how long a request body may make no
	// progress. S3 closes such uploads with RequestTimeout after about 20 s
	// ("Your socket connection to the server was not read from or written
	// to within the timeout period").
	DefaultBodyIdleTimeout = 20 * time.Second
	// DefaultWriteIdleTimeout is how long a response write may block (a
	// client that stopped reading a download).
	DefaultWriteIdleTimeout = 60 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes is net/http's bound on a request's headers.
	// It is well above S3's 8 KiB header section limit so that a request
	// over S3's limit still reaches the S3 handler and gets S3's
	// RequestHeaderSectionTooLarge XML; only beyond this bound does
	// net/http answer its own plain-text 431 and close.
	DefaultMaxHeaderBytes = 64 << 10
)

// deadlineRefresh is the fraction of an idle timeout that must pass before
// a read or write pushes the deadline out again: setting a deadline on
// every 32 KiB of a multi-GiB transfer would cost a timer update per call
// for no gain.
const deadlineRefresh = 8

// withPhaseTimeouts applies the body and response idle timeouts to every
// request. net/http's ReadHeaderTimeout and IdleTimeout cover the other
// two phases (set in New).
func (s *Server) withPhaseTimeouts(next http.Handler) http.Handler {
	bodyIdle, writeIdle := s.cfg.BodyIdleTimeout, s.cfg.WriteIdleTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		markHandling(r)
		// Both wrappers in one allocation: every request with a body needs
		// both, and each small object costs a malloc.
		p := &phase{rc: http.NewResponseController(w)}
		// A deadline left by an earlier response on this keep-alive
		// connection must not cut this request short (net/http clears the
		// read deadline itself once the headers are read; it never clears
		// a write deadline it did not set).
		_ = p.rc.SetWriteDeadline(time.Time{})
		if r.Body != nil && r.Body != http.NoBody && bodyIdle > 0 {
			p.body = idleBody{rc: p.rc, body: r.Body, idle: bodyIdle}
			r.Body = &p.body
		}
		if writeIdle > 0 {
			p.writer = idleWriter{ResponseWriter: w, rc: p.rc, idle: writeIdle}
			w = &p.writer
		}
		next.ServeHTTP(w, r)
	})
}

// phase holds what withPhaseTimeouts attaches to one request.
type phase struct {
	rc     *http.ResponseController
	body   idleBody
	writer idleWriter
}

// idleBody extends the connection's read deadline as the body makes
// progress; a body that stalls for longer than idle fails its Read with a
// timeout (os.ErrDeadlineExceeded), which the S3 handler answers with
// RequestTimeout and nothing is stored.
type idleBody struct {
	rc   *http.ResponseController
	body io.ReadCloser
	idle time.Duration

	mu       sync.Mutex // Read and Close may race (net/http closes after the handler)
	deadline time.Time  // the read deadline last set; zero when none
	done     bool       // EOF seen: the deadline was cleared for good
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.done {
		now := time.Now()
		if b.deadline.IsZero() || b.deadline.Sub(now) < b.idle-b.idle/deadlineRefresh {
			b.deadline = now.Add(b.idle)
			_ = b.rc.SetReadDeadline(b.deadline)
		}
	}
	b.mu.Unlock()
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.finish()
	}
	return n, err
}

// finish clears the read deadline once the body is fully read: net/http
// then reads the connection in the background to notice a client that
// goes away, and a deadline left set would fire during a long commit and
// cancel the request's context as if the client had gone.
func (b *idleBody) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

func (b *idleBody) Close() error { return b.body.Close() }

// idleWriter extends the connection's write deadline on every write, so a
// download that keeps flowing is never cut, while one whose client stopped
// reading fails after idle and the connection is closed.
type idleWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	idle     time.Duration
	deadline time.Time
}

func (w *idleWriter) extend() {
	now := time.Now()
	if w.deadline.IsZero() || w.deadline.Sub(now) < w.idle-w.idle/deadlineRefresh {
		w.deadline = now.Add(w.idle)
		_ = w.rc.SetWriteDeadline(w.deadline)
	}
}

func (w *idleWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *idleWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// Flush keeps http.Flusher reachable for handlers that type-assert it.
func (w *idleWriter) Flush() {
	w.extend()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
