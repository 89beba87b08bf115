package function_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/event"
	"sluice/internal/function"
	"sluice/internal/storage"
)

// settledLog is the test's Tracker: what finished, and how.
type settledLog struct {
	mu      sync.Mutex
	m       map[string]bool   // ref -> delivered
	reasons map[string]string // ref -> why it was dropped
}

func (l *settledLog) SettledTx(_ storage.Tx, ref string, delivered bool, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[ref] = delivered
	if l.reasons == nil {
		l.reasons = map[string]string{}
	}
	l.reasons[ref] = reason
	return nil
}

func (l *settledLog) reason(ref string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reasons[ref]
}

func (l *settledLog) Progressed() {}

func (l *settledLog) get(ref string) (delivered, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delivered, ok = l.m[ref]
	return delivered, ok
}

// chainOf is the lineage of an S3 event caused by the depth-th invocation
// of a chain: it holds depth invocation ids.
func chainOf(depth int) event.Lineage {
	l := event.Lineage{RequestID: "root-request", TraceID: "Root=1-00000000-000000000000000000000000"}
	for i := range depth {
		l.Chain = append(l.Chain, fmt.Sprintf("invocation-%d", i+1))
	}
	return l
}

// enqueueChained queues an S3-like event for fn with the lineage of a
// chain of depth invocations, tracked under ref.
func (e *asyncEnv) enqueueChained(fn string, depth int, payload, ref string) string {
	e.t.Helper()
	var id string
	err := e.st.Update(e.ctx, func(tx storage.Tx) error {
		var err error
		id, err = e.svc.EnqueueEventTx(tx, fn, []byte(payload), chainOf(depth), function.EventSource{Ref: ref})
		return err
	})
	if err != nil {
		e.t.Fatalf("EnqueueEventTx(%s, depth %d): %v", fn, depth, err)
	}
	return id
}

func TestAsyncRecursiveLoopStoppedAt17th(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	tracker := &settledLog{m: map[string]bool{}}
	e := newAsyncEnv(t, "", func(c *function.Config) { c.Registerer = reg; c.Tracker = tracker })
	e.create("loop", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.DeadLetterTarget = dlqQueue })
	e.putConfig("loop", nil, nil, okQueue, failQueue)
	if got, err := e.svc.GetRecursionConfig(e.ctx, "loop"); err != nil || got != function.RecursiveLoopTerminate {
		t.Fatalf("default RecursiveLoop = %q, %v, want Terminate", got, err)
	}

	// The 16th invocation of a chain runs (its cause is 15 deep); the
	// 17th (cause 16 deep) is stopped.
	const payload16 = `{"op":"echo","text":"sixteenth"}`
	id16 := e.enqueueChained("loop", 15, payload16, "ref-16")
	const payload17 = `{"op":"echo","text":"seventeenth"}`
	id17 := e.enqueueChained("loop", 16, payload17, "ref-17")

	waitFor(t, "the 16th invocation's OnSuccess record", func() bool { return len(e.messages(okQueue)) == 1 })
	waitFor(t, "the 17th invocation's OnFailure record and dead letter", func() bool {
		return len(e.messages(failQueue)) == 1 && len(e.messages(dlqQueue)) == 1
	})
	if r := decodeRecord(t, e.messages(okQueue)[0].Body); r.RequestContext.RequestID != id16 {
		t.Fatalf("OnSuccess record for %s, want the 16th invocation %s", r.RequestContext.RequestID, id16)
	}
	if n := e.starts("loop", id16); n != 1 {
		t.Fatalf("the 16th invocation ran %d times, want 1", n)
	}
	if n := e.starts("loop", id17); n != 0 {
		t.Fatalf("the 17th invocation ran %d times, want 0", n)
	}

	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.RequestID != id17 || r.RequestContext.Condition != function.ConditionRetriesExhausted ||
		r.RequestContext.ApproximateInvokeCount != 0 {
		t.Fatalf("OnFailure requestContext = %+v, want %s, RetriesExhausted, no attempt", r.RequestContext, id17)
	}
	if string(r.RequestPayload) != payload17 {
		t.Fatalf("requestPayload = %s, want %s", r.RequestPayload, payload17)
	}
	if rc := r.ResponseContext; rc == nil || rc.StatusCode != 400 || rc.FunctionError != "" {
		t.Fatalf("responseContext = %+v, want status 400 and no function error", rc)
	}
	var resp struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(r.ResponsePayload, &resp); err != nil || resp.ErrorType != "RecursiveInvocationException" ||
		resp.ErrorMessage != "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation." {
		t.Fatalf("responsePayload = %s (%v), want RecursiveInvocationException", r.ResponsePayload, err)
	}

	dl := e.messages(dlqQueue)[0]
	if string(dl.Body) != payload17 || dl.Attributes["RequestID"] != id17 || dl.Attributes["ErrorCode"] != "400" ||
		dl.Attributes["ErrorMessage"] != resp.ErrorMessage {
		t.Fatalf("dead letter = %s %v, want the 17th payload with RecursiveInvocationException's message", dl.Body, dl.Attributes)
	}

	if got := metricValue(t, reg, "sluice_function_recursive_invocations_dropped_total", "loop"); got != 1 {
		t.Fatalf("recursive invocations dropped = %v, want 1", got)
	}
	// Both events are finished for the request index: the one that ran
	// as delivered, the stopped one as dropped with the loop as its
	// reason (what Lambda's rules drop is visible, DESIGN, Events).
	waitFor(t, "both events to be settled", func() bool {
		_, ok16 := tracker.get("ref-16")
		_, ok17 := tracker.get("ref-17")
		return ok16 && ok17
	})
	if d, _ := tracker.get("ref-16"); !d {
		t.Fatalf("the event at depth 15 settled as not delivered, want delivered")
	}
	if d, _ := tracker.get("ref-17"); d {
		t.Fatalf("the stopped event settled as delivered, want dropped")
	}
	if r := tracker.reason("ref-17"); !strings.Contains(r, "recursive loop") || !strings.Contains(r, "16 invocations") {
		t.Fatalf("the stopped event's reason = %q, want the recursive loop and its 16 invocations", r)
	}
	st := e.st.Stats(function.AsyncQueue("loop"))
	if st.Visible+st.InFlight+st.Delayed != 0 {
		t.Fatalf("events still queued: %+v", st)
	}
}

func TestAsyncRecursiveLoopAllow(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newAsyncEnv(t, "", func(c *function.Config) { c.Registerer = reg })
	e.create("allowed", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("allowed", nil, nil, okQueue, failQueue)
	if got, err := e.svc.PutRecursionConfig(e.ctx, "allowed", function.RecursiveLoopAllow); err != nil || got != function.RecursiveLoopAllow {
		t.Fatalf("PutRecursionConfig(Allow) = %q, %v", got, err)
	}
	id := e.enqueueChained("allowed", 16, `{"op":"echo","text":"allowed"}`, "")
	deep := e.enqueueChained("allowed", 40, `{"op":"echo","text":"deeper"}`, "")
	waitFor(t, "both OnSuccess records", func() bool { return len(e.messages(okQueue)) == 2 })
	if e.starts("allowed", id) != 1 || e.starts("allowed", deep) != 1 {
		t.Fatalf("with Allow the 17th ran %d times and the 41st %d times, want 1 each", e.starts("allowed", id), e.starts("allowed", deep))
	}
	if n := len(e.messages(failQueue)); n != 0 {
		t.Fatalf("%d failure records with Allow", n)
	}
	if got := metricValue(t, reg, "sluice_function_recursive_invocations_dropped_total", "allowed"); got != 0 {
		t.Fatalf("recursive invocations dropped = %v with Allow", got)
	}

	// Terminate again stops the next one.
	if _, err := e.svc.PutRecursionConfig(e.ctx, "allowed", function.RecursiveLoopTerminate); err != nil {
		t.Fatal(err)
	}
	stopped := e.enqueueChained("allowed", 16, `{"op":"echo","text":"stopped"}`, "")
	waitFor(t, "the OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	if r := decodeRecord(t, e.messages(failQueue)[0].Body); r.RequestContext.RequestID != stopped {
		t.Fatalf("OnFailure record for %s, want %s", r.RequestContext.RequestID, stopped)
	}
	if n := e.starts("allowed", stopped); n != 0 {
		t.Fatalf("ran %d times after Terminate", n)
	}
}

// TestAsyncRecursiveLoopRetriesDoNotCount: the 16th invocation of a chain
// that fails is retried (the retry carries the same lineage, so it is not
// a 17th invocation) and ends as a function error, not as a stopped loop.
func TestAsyncRecursiveLoopRetriesDoNotCount(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newAsyncEnv(t, "", func(c *function.Config) { c.Registerer = reg })
	e.create("flaky", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("flaky", ptr(2), nil, "", failQueue)
	id := e.enqueueChained("flaky", 15, `{"op":"error","text":"again"}`, "")
	q := function.AsyncQueue("flaky")
	for attempt, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		waitFor(t, "the retry to be scheduled", func() bool {
			st := e.st.Stats(q)
			return e.starts("flaky", id) == attempt+1 && st.Delayed == 1 && st.InFlight == 0
		})
		e.clk.Advance(wait)
	}
	waitFor(t, "the OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if n := e.starts("flaky", id); n != 3 || r.RequestContext.ApproximateInvokeCount != 3 {
		t.Fatalf("ran %d times, record counts %d; want 3 attempts", n, r.RequestContext.ApproximateInvokeCount)
	}
	var resp struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(r.ResponsePayload, &resp)
	if resp.ErrorType == "RecursiveInvocationException" || resp.ErrorMessage != "boom: again" {
		t.Fatalf("responsePayload = %s, want the function's own error", r.ResponsePayload)
	}
	if got := metricValue(t, reg, "sluice_function_recursive_invocations_dropped_total", "flaky"); got != 0 {
		t.Fatalf("recursive invocations dropped = %v for retries", got)
	}
}

func TestRecursionConfigAPI(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("rc", "provided.al2023", "bootstrap", goZip(t), nil)
	for _, tc := range []struct {
		name, fn, value string
		kind            error
		msg             string
	}{
		{"bad value", "rc", "allow", function.ErrValidation,
			"1 validation error detected: Value 'allow' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]"},
		{"no value", "rc", "", function.ErrValidation,
			"1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null"},
		{"no function", "nope", "Allow", function.ErrNotFound,
			"Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"a version", "rc:1", "Allow", function.ErrNotFound,
			"Function not found: arn:aws:lambda:us-east-1:000000000000:function:rc:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.PutRecursionConfig(e.ctx, tc.fn, tc.value)
			var fe *function.Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &fe) || fe.Message != tc.msg {
				t.Fatalf("PutRecursionConfig(%q, %q) = %v, want %v %q", tc.fn, tc.value, err, tc.kind, tc.msg)
			}
		})
	}
	if _, err := e.svc.GetRecursionConfig(e.ctx, "nope"); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("GetRecursionConfig(nope) = %v, want ResourceNotFound", err)
	}
	if got, err := e.svc.GetRecursionConfig(e.ctx, "rc"); err != nil || got != function.RecursiveLoopTerminate {
		t.Fatalf("after refused Puts: %q, %v, want Terminate", got, err)
	}
	if _, err := e.svc.PutRecursionConfig(e.ctx, "arn:aws:lambda:us-east-1:000000000000:function:rc", function.RecursiveLoopAllow); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.GetRecursionConfig(e.ctx, "rc"); err != nil || got != function.RecursiveLoopAllow {
		t.Fatalf("after Put Allow by ARN: %q, %v", got, err)
	}
	// The setting goes with the function: a function created again under
	// the same name starts at Terminate.
	if err := e.svc.Delete(e.ctx, "rc", ""); err != nil {
		t.Fatal(err)
	}
	e.create("rc", "provided.al2023", "bootstrap", goZip(t), nil)
	if got, err := e.svc.GetRecursionConfig(e.ctx, "rc"); err != nil || got != function.RecursiveLoopTerminate {
		t.Fatalf("recreated function: %q, %v, want Terminate", got, err)
	}
}

// TestStopsRecursion is the check an event source mapping makes for each
// SQS message: a chain of 16 stops the function unless RecursiveLoop is
// Allow, whatever qualifier the mapping names; CountRecursionStopped
// counts under the function's name.
func TestStopsRecursion(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newAsyncEnv(t, "", func(c *function.Config) { c.Registerer = reg })
	e.create("looper", "provided.al2023", "bootstrap", goZip(t), nil)
	const qualified = "arn:aws:lambda:us-east-1:000000000000:function:looper:$LATEST"
	for _, tc := range []struct {
		fn    string
		depth int
		want  bool
	}{
		{"looper", 0, false},
		{"looper", 15, false},
		{"looper", 16, true},
		{qualified, 16, true},
		{"looper", 40, true},
	} {
		got, err := e.svc.StopsRecursion(e.ctx, tc.fn, chainOf(tc.depth))
		if err != nil || got != tc.want {
			t.Errorf("StopsRecursion(%s, depth %d) = %v, %v, want %v", tc.fn, tc.depth, got, err, tc.want)
		}
	}
	if _, err := e.svc.PutRecursionConfig(e.ctx, "looper", function.RecursiveLoopAllow); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.StopsRecursion(e.ctx, qualified, chainOf(16)); err != nil || got {
		t.Errorf("StopsRecursion with Allow = %v, %v, want false", got, err)
	}
	if _, err := e.svc.StopsRecursion(e.ctx, "not a name!", chainOf(16)); err == nil {
		t.Errorf("StopsRecursion of a malformed name: no error")
	}
	e.svc.CountRecursionStopped(qualified, 2)
	e.svc.CountRecursionStopped("looper", 1)
	if got := metricValue(t, reg, "sluice_function_recursive_invocations_dropped_total", "looper"); got != 3 {
		t.Fatalf("recursive invocations dropped = %v, want 3", got)
	}
}
