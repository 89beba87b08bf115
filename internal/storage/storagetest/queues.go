package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice/internal/clock"
	"sluice/internal/storage"
)

// queueStart is the fake clock's start in the queue suite.
var queueStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// TestQueues runs the conformance suite of the queue primitive (Lease,
// Stats, Ack, Extend, Move, Purge, WaitEnqueued). open returns a new, empty
// store whose clock is clk; the suite closes it.
func TestQueues(t *testing.T, open func(t *testing.T, clk clock.Clock) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, clk *clock.Fake)
	}{
		{"Basics", testQueueBasics},
		{"BadOptions", testQueueBadOptions},
		{"Visibility", testQueueVisibility},
		{"Delayed", testQueueDelayed},
		{"Extend", testQueueExtend},
		{"Move", testQueueMove},
		{"Purge", testQueuePurge},
		{"ExpireBefore", testQueueExpire},
		{"InvalidReceipts", testQueueInvalidReceipts},
		{"Atomicity", testQueueAtomic},
		{"WaitEnqueued", testQueueWait},
		{"ExactlyOnceConcurrent", testQueueExactlyOnce},
		{"ShortVisibilityConcurrent", testQueueShortVisibility},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(queueStart)
			s := open(t, clk)
			defer s.Close()
			tc.fn(t, s, clk)
		})
	}
	t.Run("Closed", func(t *testing.T) {
		s := open(t, clock.NewFake(queueStart))
		enqueue(t, s, "q", "m")
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := s.Lease(context.Background(), "q", storage.LeaseOptions{Max: 1, Visibility: time.Second}); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Lease after Close = %v, want ErrClosed", err)
		}
	})
}

func enqueue(t *testing.T, s storage.Store, queue, body string) string {
	t.Helper()
	return enqueueMsg(t, s, queue, storage.Message{Body: []byte(body)})
}

func enqueueMsg(t *testing.T, s storage.Store, queue string, m storage.Message) string {
	t.Helper()
	var id string
	mustUpdate(t, s, func(tx storage.Tx) error {
		var err error
		id, err = tx.Enqueue(queue, m)
		return err
	})
	return id
}

func lease(t *testing.T, s storage.Store, queue string, max int, vis time.Duration) []storage.Leased {
	t.Helper()
	got, err := s.Lease(context.Background(), queue, storage.LeaseOptions{Max: max, Visibility: vis})
	if err != nil {
		t.Fatalf("Lease(%s, max %d): %v", queue, max, err)
	}
	return got
}

func ack(s storage.Store, queue, receipt string) error {
	return s.Update(context.Background(), func(tx storage.Tx) error { return tx.Ack(queue, receipt) })
}

func extend(s storage.Store, queue, receipt string, at time.Time) error {
	return s.Update(context.Background(), func(tx storage.Tx) error { return tx.Extend(queue, receipt, at) })
}

func move(s storage.Store, queue, receipt, dest string) error {
	return s.Update(context.Background(), func(tx storage.Tx) error { return tx.Move(queue, receipt, dest) })
}

func wantStats(t *testing.T, s storage.Store, queue string, want storage.QueueStats) {
	t.Helper()
	got := s.Stats(queue)
	if !got.NextVisible.Equal(want.NextVisible) || got.Visible != want.Visible || got.InFlight != want.InFlight || got.Delayed != want.Delayed {
		t.Errorf("Stats(%s) = %+v, want %+v", queue, got, want)
	}
}

func bodies(ls []storage.Leased) []string {
	var out []string
	for _, l := range ls {
		out = append(out, string(l.Body))
	}
	return out
}

func testQueueBasics(t *testing.T, s storage.Store, clk *clock.Fake) {
	wantStats(t, s, "q", storage.QueueStats{})
	if got := lease(t, s, "q", 1, time.Minute); len(got) != 0 {
		t.Fatalf("Lease on an empty queue = %v, want none", got)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, enqueueMsg(t, s, "q", storage.Message{
			Body: fmt.Appendf(nil, "m%d", i), Attributes: map[string]string{"i": fmt.Sprint(i)},
		}))
	}
	wantStats(t, s, "q", storage.QueueStats{Visible: 3})
	got := lease(t, s, "q", 2, time.Minute)
	if len(got) != 2 || string(got[0].Body) != "m0" || string(got[1].Body) != "m1" {
		t.Fatalf("Lease(max 2) = %v, want [m0 m1] (oldest first)", bodies(got))
	}
	for i, l := range got {
		if l.ID != ids[i] || l.Attributes["i"] != fmt.Sprint(i) || l.ReceiveCount != 1 ||
			!l.FirstLeased.Equal(queueStart) || l.Receipt == "" || l.EnqueuedAt.IsZero() {
			t.Errorf("leased %d = %+v, want id %s, attribute i=%d, ReceiveCount 1, FirstLeased %v, a receipt", i, l, ids[i], i, queueStart)
		}
	}
	if got[0].Receipt == got[1].Receipt {
		t.Errorf("two leases share receipt %q", got[0].Receipt)
	}
	wantStats(t, s, "q", storage.QueueStats{Visible: 1, InFlight: 2, NextVisible: queueStart.Add(time.Minute)})
	if err := ack(s, "q", got[0].Receipt); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := ack(s, "q", got[0].Receipt); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("second Ack of one receipt = %v, want ErrStaleReceipt", err)
	}
	wantStats(t, s, "q", storage.QueueStats{Visible: 1, InFlight: 1, NextVisible: queueStart.Add(time.Minute)})
	rest := lease(t, s, "q", 10, time.Minute)
	if len(rest) != 1 || string(rest[0].Body) != "m2" {
		t.Fatalf("Lease(max 10) = %v, want [m2]", bodies(rest))
	}
	if again := lease(t, s, "q", 10, time.Minute); len(again) != 0 {
		t.Errorf("Lease with everything in flight = %v, want none", bodies(again))
	}
	for _, r := range []string{got[1].Receipt, rest[0].Receipt} {
		if err := ack(s, "q", r); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	wantStats(t, s, "q", storage.QueueStats{})
	mustView(t, s, func(tx storage.ReadTx) error {
		if ids := messageIDs(t, tx, "q"); len(ids) != 0 {
			t.Errorf("after acking all, Messages = %v, want none", ids)
		}
		return nil
	})
}

func testQueueBadOptions(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "m")
	ctx := context.Background()
	for _, opts := range []storage.LeaseOptions{{Max: 0, Visibility: time.Second}, {Max: -1}, {Max: 1, Visibility: -time.Second}} {
		if got, err := s.Lease(ctx, "q", opts); err == nil {
			t.Errorf("Lease(%+v) = %v, nil; want an error", opts, bodies(got))
		}
	}
	if _, err := s.Lease(ctx, "", storage.LeaseOptions{Max: 1}); err == nil {
		t.Error("Lease on queue \"\" succeeded, want an error")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Lease(canceled, "q", storage.LeaseOptions{Max: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Lease with a canceled context = %v, want context.Canceled", err)
	}
	wantStats(t, s, "q", storage.QueueStats{Visible: 1})
}

func testQueueVisibility(t *testing.T, s storage.Store, clk *clock.Fake) {
	id := enqueue(t, s, "q", "m")
	first := lease(t, s, "q", 1, 30*time.Second)
	if len(first) != 1 {
		t.Fatalf("Lease = %v, want one", bodies(first))
	}
	clk.Advance(29 * time.Second)
	if got := lease(t, s, "q", 1, 30*time.Second); len(got) != 0 {
		t.Fatalf("Lease 29s into a 30s lease = %v, want none", bodies(got))
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: queueStart.Add(30 * time.Second)})
	clk.Advance(time.Second)
	wantStats(t, s, "q", storage.QueueStats{Visible: 1})
	second := lease(t, s, "q", 1, 30*time.Second)
	if len(second) != 1 || second[0].ID != id {
		t.Fatalf("Lease after the lease ran out = %v, want the message again", bodies(second))
	}
	if second[0].ReceiveCount != 2 || second[0].Receipt == first[0].Receipt || !second[0].FirstLeased.Equal(queueStart) {
		t.Errorf("second lease = ReceiveCount %d, receipt %q (first %q), FirstLeased %v; want 2, a new receipt, %v",
			second[0].ReceiveCount, second[0].Receipt, first[0].Receipt, second[0].FirstLeased, queueStart)
	}
	old := first[0].Receipt
	if err := ack(s, "q", old); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Ack with the first receipt = %v, want ErrStaleReceipt", err)
	}
	if err := extend(s, "q", old, clk.Now().Add(time.Hour)); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Extend with the first receipt = %v, want ErrStaleReceipt", err)
	}
	if err := move(s, "q", old, "dlq"); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Move with the first receipt = %v, want ErrStaleReceipt", err)
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: clk.Now().Add(30 * time.Second)})
	wantStats(t, s, "dlq", storage.QueueStats{})
	if err := ack(s, "q", second[0].Receipt); err != nil {
		t.Errorf("Ack with the current receipt: %v", err)
	}
	wantStats(t, s, "q", storage.QueueStats{})
}

func testQueueDelayed(t *testing.T, s storage.Store, clk *clock.Fake) {
	at := queueStart.Add(10 * time.Second)
	enqueueMsg(t, s, "q", storage.Message{Body: []byte("later"), VisibleAt: at})
	enqueue(t, s, "q", "now")
	wantStats(t, s, "q", storage.QueueStats{Visible: 1, Delayed: 1, NextVisible: at})
	got := lease(t, s, "q", 10, time.Hour)
	if len(got) != 1 || string(got[0].Body) != "now" {
		t.Fatalf("Lease = %v, want [now] (the delayed one is not visible yet)", bodies(got))
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, Delayed: 1, NextVisible: at})
	clk.Advance(9 * time.Second)
	if got := lease(t, s, "q", 10, time.Hour); len(got) != 0 {
		t.Fatalf("Lease 1s before VisibleAt = %v, want none", bodies(got))
	}
	clk.Advance(time.Second)
	wantStats(t, s, "q", storage.QueueStats{Visible: 1, InFlight: 1, NextVisible: queueStart.Add(time.Hour)})
	got = lease(t, s, "q", 10, time.Hour)
	if len(got) != 1 || string(got[0].Body) != "later" || got[0].ReceiveCount != 1 || !got[0].FirstLeased.Equal(at) {
		t.Fatalf("Lease at VisibleAt = %+v, want [later] with ReceiveCount 1, FirstLeased %v", got, at)
	}
}

func testQueueExtend(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "m")
	l := lease(t, s, "q", 1, 30*time.Second)[0]
	// Later.
	if err := extend(s, "q", l.Receipt, queueStart.Add(time.Minute)); err != nil {
		t.Fatalf("Extend to later: %v", err)
	}
	clk.Advance(31 * time.Second)
	if got := lease(t, s, "q", 1, time.Minute); len(got) != 0 {
		t.Fatalf("Lease after the original deadline but before the extended one = %v, want none", bodies(got))
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: queueStart.Add(time.Minute)})
	// Earlier.
	earlier := clk.Now().Add(5 * time.Second)
	if err := extend(s, "q", l.Receipt, earlier); err != nil {
		t.Fatalf("Extend to earlier: %v", err)
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: earlier})
	clk.Advance(5 * time.Second)
	l2 := lease(t, s, "q", 1, time.Minute)
	if len(l2) != 1 || l2[0].ReceiveCount != 2 {
		t.Fatalf("Lease at the earlier deadline = %+v, want the message with ReceiveCount 2", l2)
	}
	// Now: visible at once, and the receipt is no longer in flight.
	if err := extend(s, "q", l2[0].Receipt, clk.Now()); err != nil {
		t.Fatalf("Extend to now: %v", err)
	}
	wantStats(t, s, "q", storage.QueueStats{Visible: 1})
	if err := extend(s, "q", l2[0].Receipt, clk.Now().Add(time.Minute)); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Extend of a released message = %v, want ErrStaleReceipt", err)
	}
	// The latest receipt still acknowledges a message nobody leased since
	// (SQS DeleteMessage).
	if err := ack(s, "q", l2[0].Receipt); err != nil {
		t.Errorf("Ack with the latest receipt after release: %v", err)
	}
	wantStats(t, s, "q", storage.QueueStats{})
	// A lease that ran out cannot be extended.
	enqueue(t, s, "q", "n")
	l3 := lease(t, s, "q", 1, time.Second)[0]
	clk.Advance(time.Second)
	if err := extend(s, "q", l3.Receipt, clk.Now().Add(time.Minute)); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Extend after the lease ran out = %v, want ErrStaleReceipt", err)
	}
}

func testQueueMove(t *testing.T, s storage.Store, clk *clock.Fake) {
	id := enqueueMsg(t, s, "q", storage.Message{Body: []byte("poison"), Attributes: map[string]string{"a": "1"}})
	enqueue(t, s, "dlq", "earlier")
	l1 := lease(t, s, "q", 1, time.Second)[0]
	clk.Advance(time.Second)
	l2 := lease(t, s, "q", 1, time.Second)[0]
	if err := move(s, "q", l2.Receipt, "dlq"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if err := move(s, "q", l2.Receipt, "dlq"); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("second Move = %v, want ErrStaleReceipt", err)
	}
	if err := ack(s, "q", l1.Receipt); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Ack of an older receipt after Move = %v, want ErrStaleReceipt", err)
	}
	wantStats(t, s, "q", storage.QueueStats{})
	wantStats(t, s, "dlq", storage.QueueStats{Visible: 2})
	got := lease(t, s, "dlq", 10, time.Minute)
	if len(got) != 2 || string(got[0].Body) != "earlier" {
		t.Fatalf("dlq lease = %v, want [earlier poison] (the moved message goes to the end)", bodies(got))
	}
	m := got[1]
	if m.ID != id || string(m.Body) != "poison" || m.Attributes["a"] != "1" || m.ReceiveCount != 3 ||
		!m.FirstLeased.Equal(queueStart) || !m.EnqueuedAt.Equal(queueStart) {
		t.Errorf("moved message = %+v; want id %s, body poison, a=1, ReceiveCount 3 (2 in q + 1), FirstLeased and EnqueuedAt %v", m, id, queueStart)
	}
	if err := ack(s, "dlq", l2.Receipt); !errors.Is(err, storage.ErrInvalidReceipt) {
		t.Errorf("Ack in dlq with q's receipt = %v, want ErrInvalidReceipt", err)
	}
	if err := ack(s, "dlq", m.Receipt); err != nil {
		t.Errorf("Ack in dlq: %v", err)
	}
}

func testQueuePurge(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "a")
	enqueue(t, s, "q", "b")
	enqueueMsg(t, s, "q", storage.Message{Body: []byte("c"), VisibleAt: queueStart.Add(time.Hour)})
	enqueue(t, s, "other", "x")
	l := lease(t, s, "q", 1, time.Minute)[0]
	wantStats(t, s, "q", storage.QueueStats{Visible: 1, InFlight: 1, Delayed: 1, NextVisible: queueStart.Add(time.Minute)})
	var n int
	mustUpdate(t, s, func(tx storage.Tx) error {
		var err error
		n, err = tx.Purge("q")
		return err
	})
	if n != 3 {
		t.Errorf("Purge = %d, want 3", n)
	}
	wantStats(t, s, "q", storage.QueueStats{})
	wantStats(t, s, "other", storage.QueueStats{Visible: 1})
	if got := lease(t, s, "q", 10, time.Minute); len(got) != 0 {
		t.Errorf("Lease after Purge = %v, want none", bodies(got))
	}
	if err := ack(s, "q", l.Receipt); !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Ack after Purge = %v, want ErrStaleReceipt", err)
	}
	clk.Advance(2 * time.Hour)
	if got := lease(t, s, "q", 10, time.Minute); len(got) != 0 {
		t.Errorf("Lease after Purge, past every deadline = %v, want none", bodies(got))
	}
	enqueue(t, s, "q", "d")
	if got := lease(t, s, "q", 10, time.Minute); len(got) != 1 || string(got[0].Body) != "d" {
		t.Errorf("Lease after Purge and a new Enqueue = %v, want [d]", bodies(got))
	}
}

func testQueueExpire(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "old")
	clk.Advance(10 * time.Second)
	enqueue(t, s, "q", "new")
	got, err := s.Lease(context.Background(), "q", storage.LeaseOptions{Max: 10, Visibility: time.Minute, ExpireBefore: queueStart.Add(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got[0].Body) != "new" {
		t.Fatalf("Lease with ExpireBefore = %v, want [new]", bodies(got))
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		var left []string
		err := tx.Messages("q", func(m storage.Message) bool { left = append(left, string(m.Body)); return true })
		if len(left) != 1 || left[0] != "new" {
			t.Errorf("Messages after expiry = %v, want [new] (old deleted)", left)
		}
		return err
	})
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: clk.Now().Add(time.Minute)})
}

func testQueueInvalidReceipts(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "m")
	enqueue(t, s, "q2", "m")
	l := lease(t, s, "q", 1, time.Minute)[0]
	l2 := lease(t, s, "q2", 1, time.Minute)[0]
	flipped := []byte(l.Receipt)
	if flipped[3] == 'A' {
		flipped[3] = 'B'
	} else {
		flipped[3] = 'A'
	}
	bad := []string{"", "x", "not a receipt at all, really", string(flipped), l.Receipt[:len(l.Receipt)-1], l.Receipt + "A", l2.Receipt}
	for _, r := range bad {
		if err := ack(s, "q", r); !errors.Is(err, storage.ErrInvalidReceipt) {
			t.Errorf("Ack(%q) = %v, want ErrInvalidReceipt", r, err)
		}
		if err := extend(s, "q", r, clk.Now().Add(time.Hour)); !errors.Is(err, storage.ErrInvalidReceipt) {
			t.Errorf("Extend(%q) = %v, want ErrInvalidReceipt", r, err)
		}
		if err := move(s, "q", r, "dlq"); !errors.Is(err, storage.ErrInvalidReceipt) {
			t.Errorf("Move(%q) = %v, want ErrInvalidReceipt", r, err)
		}
	}
	wantStats(t, s, "q", storage.QueueStats{InFlight: 1, NextVisible: clk.Now().Add(time.Minute)})
	if err := ack(s, "q", l.Receipt); err != nil {
		t.Errorf("Ack with the valid receipt after the invalid ones: %v", err)
	}
}

func testQueueAtomic(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "in", "m")
	l := lease(t, s, "in", 1, time.Minute)[0]
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		if err := tx.Ack("in", l.Receipt); err != nil {
			return err
		}
		if _, err := tx.Enqueue("out", storage.Message{Body: []byte("result")}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	wantStats(t, s, "in", storage.QueueStats{InFlight: 1, NextVisible: queueStart.Add(time.Minute)})
	wantStats(t, s, "out", storage.QueueStats{})
	mustView(t, s, func(tx storage.ReadTx) error {
		if ids := messageIDs(t, tx, "out"); len(ids) != 0 {
			t.Errorf("out after a failed Update = %v, want none", ids)
		}
		if ids := messageIDs(t, tx, "in"); len(ids) != 1 {
			t.Errorf("in after a failed Update = %v, want the message", ids)
		}
		return nil
	})
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.Ack("in", l.Receipt); err != nil {
			return err
		}
		_, err := tx.Enqueue("out", storage.Message{Body: []byte("result")})
		return err
	})
	wantStats(t, s, "in", storage.QueueStats{})
	wantStats(t, s, "out", storage.QueueStats{Visible: 1})
}

func waitFired(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Errorf("WaitEnqueued did not fire within 10s of %s", what)
	}
}

func notFired(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Errorf("WaitEnqueued fired on %s", what)
	default:
	}
}

func testQueueWait(t *testing.T, s storage.Store, clk *clock.Fake) {
	enqueue(t, s, "q", "m")
	ch := s.WaitEnqueued("q")
	dch := s.WaitEnqueued("dlq")
	l := lease(t, s, "q", 1, time.Minute)[0]
	if err := extend(s, "q", l.Receipt, clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	notFired(t, ch, "a lease and an Extend to later")
	if err := extend(s, "q", l.Receipt, clk.Now()); err != nil {
		t.Fatal(err)
	}
	waitFired(t, ch, "an Extend to now")
	if got := lease(t, s, "q", 1, time.Minute); len(got) != 1 {
		t.Fatalf("Lease after the wake-up = %v, want the released message", bodies(got))
	} else {
		l = got[0]
	}
	notFired(t, dch, "nothing into dlq")
	if err := move(s, "q", l.Receipt, "dlq"); err != nil {
		t.Fatal(err)
	}
	waitFired(t, dch, "a Move into the queue")
	if got := lease(t, s, "dlq", 1, time.Minute); len(got) != 1 {
		t.Errorf("Lease of dlq after the wake-up = %v, want the moved message", bodies(got))
	}
}

// Many receivers on one queue with a visibility no lease outlives: every
// message is delivered exactly once and none is lost.
func testQueueExactlyOnce(t *testing.T, s storage.Store, clk *clock.Fake) {
	const n, workers = 300, 8
	for i := 0; i < n; i += 50 {
		mustUpdate(t, s, func(tx storage.Tx) error {
			for j := i; j < i+50; j++ {
				if _, err := tx.Enqueue("hot", storage.Message{Body: fmt.Appendf(nil, "%d", j)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var mu sync.Mutex
	seen := map[string]int{}
	parallel(t, workers, func(w int) error {
		for {
			got, err := s.Lease(context.Background(), "hot", storage.LeaseOptions{Max: 1 + w%4, Visibility: time.Hour})
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return nil
			}
			for _, l := range got {
				mu.Lock()
				seen[string(l.Body)]++
				mu.Unlock()
				if l.ReceiveCount != 1 {
					return fmt.Errorf("message %s leased with ReceiveCount %d, want 1", l.Body, l.ReceiveCount)
				}
				if err := ack(s, "hot", l.Receipt); err != nil {
					return fmt.Errorf("ack of %s: %w", l.Body, err)
				}
			}
		}
	})
	for i := 0; i < n; i++ {
		if c := seen[fmt.Sprint(i)]; c != 1 {
			t.Errorf("message %d delivered %d times, want 1", i, c)
		}
	}
	wantStats(t, s, "hot", storage.QueueStats{})
}

// Receivers with a short visibility while the clock runs: delivery is at
// least once, a message is handed out again only after its previous lease
// ran out (never two holders of one lease window), and every message is
// acknowledged exactly once in the end.
func testQueueShortVisibility(t *testing.T, s storage.Store, clk *clock.Fake) {
	const n, workers, vis = 100, 6, 3 * time.Second
	mustUpdate(t, s, func(tx storage.Tx) error {
		for j := 0; j < n; j++ {
			if _, err := tx.Enqueue("hot", storage.Message{Body: fmt.Appendf(nil, "%d", j)}); err != nil {
				return err
			}
		}
		return nil
	})
	// leaseRec brackets a lease by the clock: it began at or after before
	// and at or before after.
	type leaseRec struct{ before, after time.Time }
	var mu sync.Mutex
	leases := map[string]map[int]leaseRec{} // body -> ReceiveCount -> lease
	acked := map[string]int{}
	var remaining atomic.Int64
	remaining.Store(n)
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
				clk.Advance(time.Second)
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	parallel(t, workers, func(w int) error {
		for remaining.Load() > 0 && time.Now().Before(deadline) {
			before := clk.Now()
			got, err := s.Lease(context.Background(), "hot", storage.LeaseOptions{Max: 2, Visibility: vis})
			if err != nil {
				return err
			}
			after := clk.Now()
			if len(got) == 0 {
				time.Sleep(50 * time.Microsecond) // let the clock move
			}
			for _, l := range got {
				key := string(l.Body)
				mu.Lock()
				if leases[key] == nil {
					leases[key] = map[int]leaseRec{}
				}
				if _, dup := leases[key][l.ReceiveCount]; dup {
					mu.Unlock()
					return fmt.Errorf("message %s handed out twice with ReceiveCount %d", key, l.ReceiveCount)
				}
				leases[key][l.ReceiveCount] = leaseRec{before, after}
				mu.Unlock()
				// Every other lease is abandoned, to be handed out again.
				if (l.ReceiveCount+w)%2 == 0 {
					continue
				}
				err := ack(s, "hot", l.Receipt)
				if errors.Is(err, storage.ErrStaleReceipt) {
					continue // leased again meanwhile; the new holder acks
				}
				if err != nil {
					return err
				}
				mu.Lock()
				acked[key]++
				mu.Unlock()
				remaining.Add(-1)
			}
		}
		return nil
	})
	close(stop)
	<-ticked
	for i := 0; i < n; i++ {
		key := fmt.Sprint(i)
		if c := acked[key]; c != 1 {
			t.Errorf("message %d acknowledged %d times, want 1", i, c)
		}
		ls := leases[key]
		for c := 1; c <= len(ls); c++ {
			cur, ok := ls[c]
			if !ok {
				t.Errorf("message %d: leases %v have no ReceiveCount %d", i, ls, c)
				break
			}
			// Lease c+1 began at or after lease c's deadline, which is at
			// least before_c + vis; it began no later than after_{c+1}.
			if next, ok := ls[c+1]; ok && next.after.Before(cur.before.Add(vis)) {
				t.Errorf("message %d leased again (ReceiveCount %d) by %v, before lease %d (begun at or after %v) ran out",
					i, c+1, next.after, c, cur.before)
			}
		}
	}
	total := 0
	for _, ls := range leases {
		total += len(ls)
	}
	if total <= n {
		t.Errorf("%d leases of %d messages: none was handed out again, so expiry was not exercised", total, n)
	}
	wantStats(t, s, "hot", storage.QueueStats{})
}

// TestQueuesReopen checks that a queue comes back after Close and Open:
// visible and delayed messages as they were, leased ones either still in
// flight until their deadline or visible again, receive counts kept by a
// Durable lease. open returns a function that opens the same store (on the
// same clock) each time it is called.
func TestQueuesReopen(t *testing.T, open func(t *testing.T, clk clock.Clock) func() storage.Store) {
	clk := clock.NewFake(queueStart)
	reopen := open(t, clk)
	s := reopen()
	enqueue(t, s, "q", "leased")
	enqueue(t, s, "q", "visible")
	enqueueMsg(t, s, "q", storage.Message{Body: []byte("delayed"), VisibleAt: queueStart.Add(time.Hour)})
	got, err := s.Lease(context.Background(), "q", storage.LeaseOptions{Max: 1, Visibility: time.Minute, Durable: true})
	if err != nil || len(got) != 1 {
		t.Fatalf("Lease = %v, %v; want one", bodies(got), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	defer s.Close()
	st := s.Stats("q")
	if st.Delayed != 1 || st.Visible+st.InFlight != 2 || st.Visible < 1 {
		t.Errorf("Stats after reopen = %+v, want 1 delayed, 1 visible and the leased one visible or in flight", st)
	}
	clk.Advance(time.Minute)
	got = lease(t, s, "q", 10, time.Minute)
	if len(got) != 2 || string(got[0].Body) != "leased" || string(got[1].Body) != "visible" {
		t.Fatalf("Lease after reopen = %v, want [leased visible]", bodies(got))
	}
	if got[0].ReceiveCount != 2 || got[1].ReceiveCount != 1 {
		t.Errorf("receive counts after reopen = %d, %d; want 2 (Durable lease kept), 1", got[0].ReceiveCount, got[1].ReceiveCount)
	}
	clk.Advance(time.Hour)
	if got := lease(t, s, "q", 10, time.Minute); len(got) != 3 || string(got[2].Body) != "delayed" {
		t.Errorf("Lease an hour later = %v, want all three", bodies(got))
	}
}
