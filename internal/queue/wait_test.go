package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

type receiveResult struct {
	msgs []Message
	err  error
}

func (e *env) receiveAsync(ctx context.Context, name string, wait time.Duration) <-chan receiveResult {
	ch := make(chan receiveResult, 1)
	go func() {
		msgs, err := e.svc.Receive(ctx, name, ReceiveInput{Max: 10, Wait: &wait})
		ch <- receiveResult{msgs, err}
	}()
	return ch
}

// await waits (bounded, in real time) for a long poll to answer.
func await(t *testing.T, ch <-chan receiveResult) receiveResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not answer")
	}
	return receiveResult{}
}

func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	ch := e.receiveAsync(e.ctx, "q", 20*time.Second)
	res := e.send("q", "wake up")
	// The fake clock never moves: only the enqueue can end the wait.
	r := await(t, ch)
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].ID != res.MessageID {
		t.Fatalf("long poll = %+v, %v", r.msgs, r.err)
	}
}

func TestLongPollEndsEmptyAtItsWait(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	ch := e.receiveAsync(e.ctx, "q", 5*time.Second)
	for i := 0; i < 1000; i++ {
		e.clock.Advance(time.Second)
		select {
		case r := <-ch:
			if r.err != nil || len(r.msgs) != 0 {
				t.Fatalf("long poll = %+v, %v; want empty", r.msgs, r.err)
			}
			if now := e.clock.Now(); now.Sub(t0) < 5*time.Second {
				t.Fatalf("long poll ended after %v, before its 5 s wait", now.Sub(t0))
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("long poll never ended")
}

func TestLongPollWakesWhenADelayedMessageBecomesVisible(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	three := 3
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: "later", DelaySeconds: &three}); err != nil {
		t.Fatal(err)
	}
	ch := e.receiveAsync(e.ctx, "q", 20*time.Second)
	for i := 0; i < 1000; i++ {
		e.clock.Advance(time.Second)
		select {
		case r := <-ch:
			if r.err != nil || len(r.msgs) != 1 {
				t.Fatalf("long poll = %+v, %v", r.msgs, r.err)
			}
			if d := e.clock.Now().Sub(t0); d >= 20*time.Second {
				t.Fatalf("delayed message came only at the end of the wait (%v)", d)
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("long poll never ended")
}

func TestLongPollEndsOnCloseAndOnCancel(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	ctx, cancel := context.WithCancel(e.ctx)
	byCancel := e.receiveAsync(ctx, "q", 20*time.Second)
	cancel()
	if r := await(t, byCancel); !errors.Is(r.err, context.Canceled) || len(r.msgs) != 0 {
		t.Fatalf("cancelled long poll = %+v, %v", r.msgs, r.err)
	}

	byClose := e.receiveAsync(e.ctx, "q", 20*time.Second)
	e.svc.Close()
	if r := await(t, byClose); r.err != nil || len(r.msgs) != 0 {
		t.Fatalf("long poll at Close = %+v, %v; want empty", r.msgs, r.err)
	}
}

func TestGoneClientTakesNothing(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "keep me")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.svc.Receive(ctx, "q", ReceiveInput{Wait: &zero}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive with a gone client: %v", err)
	}
	if n := e.visible("q"); n != 1 {
		t.Fatalf("a gone client took the message (visible = %d)", n)
	}
}

func TestMoveTaskRedrivesBackToSource(t *testing.T) {
	e := newEnv(t)
	e.create("dlq", nil)
	e.create("src", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}`})
	for _, b := range []string{"a", "b", "c"} {
		e.send("src", b)
	}
	e.receiveNow("src", 10, dur(0))
	if got := e.receiveNow("src", 10, dur(0)); len(got) != 0 {
		t.Fatalf("messages not redriven: %+v", got)
	}
	if n := e.visible("dlq"); n != 3 {
		t.Fatalf("dead-letter queue holds %d, want 3", n)
	}
	if _, err := e.svc.StartMoveTask(e.ctx, e.svc.ARN("src"), "", 0); !errors.As(err, new(*ParameterError)) {
		t.Fatalf("move task from a queue that is no dead-letter queue: %v", err)
	}
	handle, err := e.svc.StartMoveTask(e.ctx, e.svc.ARN("dlq"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var task MoveTask
	for i := 0; i < 1000; i++ {
		tasks, err := e.svc.MoveTasks(e.ctx, e.svc.ARN("dlq"), 10)
		if err != nil || len(tasks) != 1 || tasks[0].Handle != handle {
			t.Fatalf("MoveTasks = %+v, %v", tasks, err)
		}
		if task = tasks[0]; task.Status != TaskRunning {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if task.Status != TaskCompleted || task.Moved != 3 || task.ToMove != 3 {
		t.Fatalf("task = %+v", task)
	}
	got := e.receiveNow("src", 10, nil)
	if len(got) != 3 {
		t.Fatalf("source got %d messages back, want 3", len(got))
	}
	for _, m := range got {
		if m.ReceiveCount != 1 || m.DeadLetterSourceARN != "" {
			t.Fatalf("moved-back message %+v: want a fresh receive count and no dead-letter source", m)
		}
	}
	if _, err := e.svc.CancelMoveTask(handle); !errors.As(err, new(*UnsupportedError)) {
		t.Fatalf("cancel of a completed task: %v", err)
	}
	if _, err := e.svc.CancelMoveTask("nope"); !errors.Is(err, ErrNoSuchTask) {
		t.Fatalf("cancel of an unknown task: %v", err)
	}
}
