package queue

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"sluice/internal/clock"
	"sluice/internal/storage/pebblestore"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	t     *testing.T
	svc   *Service
	store *pebblestore.Store
	clock *clock.Fake
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fc := clock.NewFake(t0)
	st, err := pebblestore.Open(pebblestore.Options{Dir: t.TempDir(), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st, Clock: fc})
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	return &env{t: t, svc: svc, store: st, clock: fc, ctx: context.Background()}
}

func (e *env) create(name string, attrs map[string]string) {
	e.t.Helper()
	if err := e.svc.Create(e.ctx, name, attrs, nil); err != nil {
		e.t.Fatalf("Create(%s, %v): %v", name, attrs, err)
	}
}

func (e *env) send(name, body string) SendResult {
	e.t.Helper()
	res, err := e.svc.Send(e.ctx, name, SendInput{Body: body, SenderID: "000000000000"})
	if err != nil {
		e.t.Fatalf("Send(%s, %q): %v", name, body, err)
	}
	return res
}

var zero time.Duration

// receiveNow receives without waiting.
func (e *env) receiveNow(name string, max int, visibility *time.Duration) []Message {
	e.t.Helper()
	msgs, err := e.svc.Receive(e.ctx, name, ReceiveInput{Max: max, Wait: &zero, Visibility: visibility})
	if err != nil {
		e.t.Fatalf("Receive(%s): %v", name, err)
	}
	return msgs
}

func (e *env) visible(name string) int {
	e.t.Helper()
	attrs, err := e.svc.Attributes(e.ctx, name, []string{AttrApproximateNumberOfMessages})
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := strconv.Atoi(attrs[AttrApproximateNumberOfMessages])
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func dur(d time.Duration) *time.Duration { return &d }
