package queue

import (
	"errors"
	"strings"
	"testing"
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
