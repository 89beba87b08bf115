package runtimeapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice/internal/function"
)

func TestNextResponseAndLateAnswer(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr() + "/2018-06-01/runtime/invocation/"
	dl := time.UnixMilli(1700000000123)
	done := make(chan function.Outcome, 1)
	go func() {
		out, _ := s.Serve(context.Background(), function.Invocation{RequestID: "r1", Payload: []byte(`{"a":1}`), Deadline: dl, FunctionARN: "arn:x"})
		done <- out
	}()
	resp, err := http.Get(base + "next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "r1" || resp.Header.Get("Lambda-Runtime-Deadline-Ms") != "1700000000123" {
		t.Fatalf("next: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = http.Post(base+"r1/response", "application/octet-stream", strings.NewReader(`"ok"`))
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("response status %d", resp.StatusCode)
	}
	if out := <-done; string(out.Payload) != `"ok"` || out.Error {
		t.Fatalf("outcome %+v", out)
	}
	resp, _ = http.Post(base+"r1/response", "application/octet-stream", strings.NewReader(`"again"`))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("second response status %d, want 403", resp.StatusCode)
	}
	resp, _ = http.Post(base+"zzz/error", "application/json", strings.NewReader(`{}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown id status %d, want 400", resp.StatusCode)
	}
	// Timeout: Serve's context ends; the late answer is refused.
	ctx, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Serve(ctx, function.Invocation{RequestID: "r2", Deadline: dl})
		errc <- err
	}()
	resp, _ = http.Get(base + "next")
	resp.Body.Close()
	cause := errors.New("timed out")
	cancel(cause)
	if err := <-errc; !errors.Is(err, cause) || errors.Is(err, function.ErrUndelivered) {
		t.Fatalf("Serve after timeout: %v", err)
	}
	resp, _ = http.Post(base+"r2/response", "application/json", strings.NewReader(`1`))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("late response status %d, want 403", resp.StatusCode)
	}
}

func FuzzRouter(f *testing.F) {
	for _, seed := range []string{"/2018-06-01/runtime/invocation/next", "/2018-06-01/runtime/invocation/x/response",
		"/2018-06-01/runtime/init/error", "/2020-01-01/extension/register", "/", "/2018-06-01/runtime/invocation//error"} {
		f.Add("POST", seed)
	}
	s := &Server{invCh: make(chan *pending), closed: make(chan struct{}), ready: make(chan struct{}), initErr: make(chan struct{})}
	close(s.closed) // /next returns at once instead of blocking
	f.Fuzz(func(t *testing.T, method, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader("{}"))
		req.Method, req.URL.Path = method, path
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case 200, 202, 400, 403, 404, 405, 413, 500:
		default:
			t.Fatalf("%s %q: status %d", method, path, w.Code)
		}
	})
}
