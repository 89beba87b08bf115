package awsproto

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"
)

// TestNewRequestIDs: the pair has NewRequestID's and NewHostID's formats,
// and no id repeats over many draws.
func TestNewRequestIDs(t *testing.T) {
	idRE := regexp.MustCompile(`^[0-9A-F]{16}$`)
	hostRE := regexp.MustCompile(`^[A-Za-z0-9+/]{75}=$`) // 56 bytes: one pad
	seen := map[string]bool{}
	for range 1000 {
		id, host := NewRequestIDs()
		if !idRE.MatchString(id) {
			t.Fatalf("request id %q", id)
		}
		if !hostRE.MatchString(host) {
			t.Fatalf("host id %q (%d chars)", host, len(host))
		}
		if seen[id] || seen[host] {
			t.Fatalf("id repeated: %q %q", id, host)
		}
		seen[id], seen[host] = true, true
	}
}

// TestWithRequestID: the ids come back out, through contexts derived
// later too, while the parent's values, deadline and cancellation still
// reach through.
func TestWithRequestID(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx := WithRequestID(parent, "ID", "HOST")
	child, stop := context.WithTimeout(context.WithValue(ctx, key{}, "w"), time.Hour)
	defer stop()
	for _, c := range []context.Context{ctx, child} {
		if id, host := RequestID(c); id != "ID" || host != "HOST" {
			t.Errorf("RequestID = %q, %q, want ID, HOST", id, host)
		}
	}
	if got := ctx.Value(key{}); got != "v" {
		t.Errorf("parent value through WithRequestID = %v, want v", got)
	}
	if id, host := RequestID(parent); id != "" || host != "" {
		t.Errorf("RequestID without ids = %q, %q, want empty", id, host)
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the parent did not reach a context derived from WithRequestID's")
	}
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("child.Err() = %v, want context.Canceled", child.Err())
	}
}
