package eventsource

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/event"
)

// fakeQueues records the deletes; the tests call deliver directly.
type fakeQueues struct {
	mu      sync.Mutex
	deleted []string
}

func (q *fakeQueues) QueueName(context.Context, string) (string, error) { return "q", nil }
func (q *fakeQueues) Receive(context.Context, string, int, time.Duration) ([]Message, error) {
	return nil, nil
}
func (q *fakeQueues) Delete(_ context.Context, _ string, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = append(q.deleted, handles...)
	return nil
}

// fakeFunctions applies the function service's rule (a chain of 16 stops
// the function unless allow) and records what it was asked.
type fakeFunctions struct {
	allow    bool
	invoked  [][]byte
	lineages []event.Lineage
	stopped  map[string]int
}

func (f *fakeFunctions) FunctionARN(_ context.Context, name string) (string, error) { return name, nil }
func (f *fakeFunctions) Invoke(_ context.Context, _ string, payload []byte, l event.Lineage) ([]byte, bool, error) {
	f.invoked = append(f.invoked, payload)
	f.lineages = append(f.lineages, l)
	return nil, false, nil
}
func (f *fakeFunctions) StopsRecursion(_ context.Context, _ string, l event.Lineage) (bool, error) {
	return len(l.Chain) >= 16 && !f.allow, nil
}
func (f *fakeFunctions) CountRecursionStopped(fn string, n int) {
	if f.stopped == nil {
		f.stopped = map[string]int{}
	}
	f.stopped[fn] += n
}

// chained is a message sent by the depth-th invocation of a chain.
func chained(id string, depth int) Message {
	m := Message{ID: id, ReceiptHandle: "rh-" + id, Body: id, Sent: time.Unix(1, 0)}
	if depth > 0 {
		m.Lineage = event.Lineage{RequestID: "root", TraceID: "trace-" + id}
		for i := range depth {
			m.Lineage.Chain = append(m.Lineage.Chain, fmt.Sprintf("%s-inv-%d", id, i+1))
		}
	}
	return m
}

func TestDeliverStopsRecursiveMessages(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:000000000000:function:loop"
	for _, tc := range []struct {
		name        string
		allow       bool
		batch       []Message
		wantInvoked []string // message ids in the one event, nil for no invocation
		wantDeleted []string
		wantStopped int
		wantLineage string // id of the message whose lineage the function runs with; "" for none
	}{
		{name: "no lineage", batch: []Message{chained("a", 0), chained("b", 0)},
			wantInvoked: []string{"a", "b"}, wantDeleted: []string{"rh-a", "rh-b"}},
		{name: "fifteen deep runs", batch: []Message{chained("a", 15)},
			wantInvoked: []string{"a"}, wantDeleted: []string{"rh-a"}, wantLineage: "a"},
		{name: "sixteen deep is left in the queue", batch: []Message{chained("a", 2), chained("loop", 16), chained("c", 5)},
			wantInvoked: []string{"a", "c"}, wantDeleted: []string{"rh-a", "rh-c"}, wantStopped: 1, wantLineage: "c"},
		{name: "all stopped: no invocation", batch: []Message{chained("x", 16), chained("y", 30)},
			wantStopped: 2},
		{name: "allow lets it go on", allow: true, batch: []Message{chained("a", 1), chained("loop", 16)},
			wantInvoked: []string{"a", "loop"}, wantDeleted: []string{"rh-a", "rh-loop"}, wantLineage: "loop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, f := &fakeQueues{}, &fakeFunctions{allow: tc.allow}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			s := New(Config{Queues: q, Functions: f, Logger: log})
			s.deliver(context.Background(), "q", record{UUID: "u", Function: fn, Source: "arn:aws:sqs:us-east-1:000000000000:q"}, tc.batch, log)

			if tc.wantInvoked == nil {
				if len(f.invoked) != 0 {
					t.Fatalf("invoked %d times, want none", len(f.invoked))
				}
			} else {
				if len(f.invoked) != 1 {
					t.Fatalf("invoked %d times, want 1", len(f.invoked))
				}
				var ids []string
				for _, m := range tc.batch {
					if bytes.Contains(f.invoked[0], []byte(`"messageId":"`+m.ID+`"`)) {
						ids = append(ids, m.ID)
					}
				}
				if !reflect.DeepEqual(ids, tc.wantInvoked) {
					t.Errorf("event holds %v, want %v", ids, tc.wantInvoked)
				}
				if bytes.Contains(f.invoked[0], []byte("-inv-")) || bytes.Contains(f.invoked[0], []byte("root")) {
					t.Errorf("the event shows a lineage: %s", f.invoked[0])
				}
				var want event.Lineage
				for _, m := range tc.batch {
					if m.ID == tc.wantLineage {
						want = m.Lineage
					}
				}
				if !reflect.DeepEqual(f.lineages[0], want) {
					t.Errorf("invoked with lineage %+v, want %+v", f.lineages[0], want)
				}
			}
			if !slices.Equal(q.deleted, tc.wantDeleted) {
				t.Errorf("deleted %v, want %v", q.deleted, tc.wantDeleted)
			}
			if got := f.stopped[fn]; got != tc.wantStopped {
				t.Errorf("counted %d stopped, want %d", got, tc.wantStopped)
			}
			if n := strings.Count(logs.String(), "recursive loop detected"); n != tc.wantStopped {
				t.Errorf("%d warnings, want %d: %s", n, tc.wantStopped, logs.String())
			}
		})
	}
}
