package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"sluice/internal/awsproto"
	"sluice/internal/s3api"
)

// net/http answers a request it cannot read (headers over MaxHeaderBytes,
// headers that time out) itself, in plain text, straight on the
// connection, before any handler runs. S3 clients parse only S3's XML
// errors, so such answers are replaced with S3's on the way out. These
// are the exact bytes net/http writes (net/http/server.go, conn.serve),
// each in one Write.
var (
	netHTTP431 = []byte("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")
	netHTTP400 = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
)

// faultListener wraps every accepted connection in a faultConn.
type faultListener struct{ net.Listener }

func (l faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c}, nil
}

// faultConn replaces net/http's own error answers with S3's. It rewrites
// only while no handler is answering on the connection (between the end
// of one response and the start of the next handler), so a response body
// that happens to hold the same bytes is never touched.
type faultConn struct {
	net.Conn
	handling atomic.Bool // a handler is answering the current request
	timedOut atomic.Bool // the last read failed on its deadline
}

func (c *faultConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	ne, ok := err.(net.Error)
	c.timedOut.Store(ok && ne.Timeout())
	return n, err
}

func (c *faultConn) Write(p []byte) (int, error) {
	if !c.handling.Load() && len(p) < 256 {
		var fault s3api.ConnFault
		switch {
		case bytes.Equal(p, netHTTP431):
			fault = s3api.HeaderTooLarge
		case bytes.Equal(p, netHTTP400) && c.timedOut.Load():
			fault = s3api.HeaderTimeout
		}
		if fault != 0 {
			if _, err := c.Conn.Write(s3api.RawErrorResponse(fault, awsproto.NewRequestID(), awsproto.NewHostID())); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

type connKey struct{}

// connContext lets the handler find its connection (to mark it handling).
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// connState marks a connection idle again once its response is done.
func connState(c net.Conn, st http.ConnState) {
	if fc, ok := c.(*faultConn); ok && (st == http.StateActive || st == http.StateIdle) {
		fc.handling.Store(false)
	}
}

// markHandling records that a handler answers on r's connection.
func markHandling(r *http.Request) {
	if fc, ok := r.Context().Value(connKey{}).(*faultConn); ok {
		fc.handling.Store(true)
	}
}
