package queue

import (
	"errors"
	"testing"
	"time"
)

// TestDeleteBatchOneCommit: the valid entries of a batch are deleted in
// one commit, and each entry keeps DeleteMessage's own outcome (invalid
// handle fails, stale and repeated handles succeed with no effect).
func TestDeleteBatchOneCommit(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.create("other", nil)
	for _, b := range []string{"a", "b", "c"} {
		e.send("q", b)
	}
	e.send("other", "x")
	msgs := e.receiveNow("q", 10, nil)
	if len(msgs) != 3 {
		t.Fatalf("received %d, want 3", len(msgs))
	}
	foreign := e.receiveNow("other", 1, nil)[0].ReceiptHandle
	// A handle whose message is received again is stale.
	stale := msgs[2].ReceiptHandle
	e.clock.Advance(31 * time.Second)
	again := e.receiveNow("q", 10, nil)
	if len(again) != 3 {
		t.Fatalf("received again %d, want 3", len(again))
	}
	byBody := map[string]string{}
	for _, m := range again {
		byBody[m.Body] = m.ReceiptHandle
	}
	handles := []string{byBody["a"], "!!not-base64", byBody["b"], foreign, stale, byBody["a"]}
	before := e.store.Metrics().Commits
	errs, err := e.svc.DeleteBatch(e.ctx, "q", handles)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.store.Metrics().Commits - before; got != 1 {
		t.Fatalf("commits = %d, want 1", got)
	}
	want := []error{nil, ErrInvalidReceipt, nil, ErrInvalidReceipt, nil, nil}
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil && errs[i] != nil) {
			t.Fatalf("entry %d (%q): err = %v, want %v", i, handles[i], errs[i], want[i])
		}
	}
	// a and b are gone; c (only its stale handle was given) comes back.
	e.clock.Advance(31 * time.Second)
	left := e.receiveNow("q", 10, nil)
	if len(left) != 1 || left[0].Body != "c" {
		t.Fatalf("left = %+v, want only c", left)
	}
	if _, err := e.svc.DeleteBatch(e.ctx, "missing", []string{byBody["c"]}); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("DeleteBatch(missing) = %v, want ErrNoSuchQueue", err)
	}
}

// TestChangeVisibilityBatch: one commit; per-entry ErrNotInflight for a
// lease that ran out, *ParameterError for a bad timeout,
// ErrInvalidReceipt for a malformed handle; the good entries apply.
func TestChangeVisibilityBatch(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "short")
	e.send("q", "long")
	msgs := e.receiveNow("q", 10, dur(10*time.Second))
	if len(msgs) != 2 {
		t.Fatalf("received %d, want 2", len(msgs))
	}
	h := map[string]string{}
	for _, m := range msgs {
		h[m.Body] = m.ReceiptHandle
	}
	e.send("q", "expired")
	exp := e.receiveNow("q", 1, dur(1*time.Second))
	if len(exp) != 1 {
		t.Fatal("no third message")
	}
	e.clock.Advance(2 * time.Second)
	before := e.store.Metrics().Commits
	errs, err := e.svc.ChangeVisibilityBatch(e.ctx, "q", []VisibilityChange{
		{Handle: h["short"], Timeout: 0},
		{Handle: h["long"], Timeout: time.Hour},
		{Handle: exp[0].ReceiptHandle, Timeout: time.Minute},
		{Handle: h["long"], Timeout: 43201 * time.Second},
		{Handle: "bad", Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.store.Metrics().Commits - before; got != 1 {
		t.Fatalf("commits = %d, want 1", got)
	}
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrNotInflight) ||
		!errors.As(errs[3], new(*ParameterError)) || !errors.Is(errs[4], ErrInvalidReceipt) {
		t.Fatalf("errs = %v", errs)
	}
	// short is visible at once, expired was visible already, long is hidden.
	got := map[string]bool{}
	for _, m := range e.receiveNow("q", 10, nil) {
		got[m.Body] = true
	}
	if len(got) != 2 || !got["short"] || !got["expired"] {
		t.Fatalf("visible after batch = %v, want short and expired", got)
	}
}
