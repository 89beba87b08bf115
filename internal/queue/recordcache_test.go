package queue

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The record cache must never serve a record that changed: each change
// below is seen by the very next send or receive.
func TestRecordCacheSeesChanges(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", strings.Repeat("a", 2000)) // caches the record
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrMaximumMessageSize: "1024"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Send(e.ctx, "q", SendInput{Body: strings.Repeat("a", 2000)})
	var pe *ParameterError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "shorter than 1024 bytes") {
		t.Fatalf("send over the new MaximumMessageSize: err = %v, want the 1024-byte ParameterError", err)
	}
	if got := e.receiveNow("q", 10, nil); len(got) != 1 {
		t.Fatalf("received %d messages, want the 1 sent before the change", len(got))
	}

	if err := e.svc.Delete(e.ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: "x"}); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("send after delete: err = %v, want ErrNoSuchQueue", err)
	}
	// Created again (same name, same attributes, likely the same second):
	// a new incarnation, whose messages are not the old queue's.
	e.create("q", nil)
	e.send("q", "new")
	got := e.receiveNow("q", 10, &zero)
	if len(got) != 1 || got[0].Body != "new" {
		t.Fatalf("after re-create received %v, want only the new message", got)
	}
}

// Tags hands out a copy: a caller changing it does not change the
// (possibly shared) cached record.
func TestRecordCacheTagsCopy(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.Create(e.ctx, "q", nil, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.svc.Tags(e.ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	tags["k"] = "changed"
	tags["extra"] = "x"
	again, err := e.svc.Tags(e.ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again["k"] != "v" {
		t.Fatalf("Tags after the caller changed its copy = %v, want map[k:v]", again)
	}
}

// The paths that read the record outside a transaction (load: Receive,
// Attributes, Tags, Exists) cache it too: each change is seen by the
// very next call, and a deleted queue is gone at once.
func TestLoadCacheSeesChanges(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	attr := func() string {
		t.Helper()
		got, err := e.svc.Attributes(e.ctx, "q", []string{AttrVisibilityTimeout})
		if err != nil {
			t.Fatal(err)
		}
		return got[AttrVisibilityTimeout]
	}
	if got := attr(); got != "30" { // caches the record
		t.Fatalf("VisibilityTimeout = %q, want 30", got)
	}
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrVisibilityTimeout: "7"}); err != nil {
		t.Fatal(err)
	}
	if got := attr(); got != "7" {
		t.Fatalf("VisibilityTimeout after SetAttributes = %q, want 7", got)
	}
	if err := e.svc.Tag(e.ctx, "q", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if tags, err := e.svc.Tags(e.ctx, "q"); err != nil || tags["k"] != "v" {
		t.Fatalf("Tags after Tag = %v, %v; want k:v", tags, err)
	}
	if err := e.svc.Untag(e.ctx, "q", []string{"k"}); err != nil {
		t.Fatal(err)
	}
	if tags, err := e.svc.Tags(e.ctx, "q"); err != nil || len(tags) != 0 {
		t.Fatalf("Tags after Untag = %v, %v; want none", tags, err)
	}
	// Receive takes its visibility timeout from the cached record.
	e.send("q", "m")
	if got := e.receiveNow("q", 1, nil); len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	e.clock.Advance(7 * time.Second)
	if got := e.receiveNow("q", 1, nil); len(got) != 1 {
		t.Fatalf("7s after the receive, received %d messages, want 1 (the new VisibilityTimeout is 7s)", len(got))
	}
	if err := e.svc.Delete(e.ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Exists(e.ctx, "q"); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("Exists after Delete: %v, want ErrNoSuchQueue", err)
	}
	if _, err := e.svc.Receive(e.ctx, "q", ReceiveInput{Wait: &zero}); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("Receive after Delete: %v, want ErrNoSuchQueue", err)
	}
	e.create("q", nil)
	if got := attr(); got != "30" {
		t.Fatalf("VisibilityTimeout of the re-created queue = %q, want 30", got)
	}
}

// TestLoadCacheRace: loads racing SetAttributes never leave a stale
// record behind once SetAttributes returned (run with -race).
func TestLoadCacheRace(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	for i := range 30 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					e.svc.Attributes(e.ctx, "q", []string{AttrDelaySeconds})
				}
			}()
		}
		want := strconv.Itoa(i + 1)
		if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrDelaySeconds: want}); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Attributes(e.ctx, "q", []string{AttrDelaySeconds})
		close(stop)
		wg.Wait()
		if err != nil || got[AttrDelaySeconds] != want {
			t.Fatalf("round %d: DelaySeconds right after SetAttributes = %v, %v; want %s", i, got, err, want)
		}
	}
}
