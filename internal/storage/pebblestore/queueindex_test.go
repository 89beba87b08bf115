package pebblestore

import (
	"slices"
	"testing"
)

// TestQueueIndexCompact: with a backlog of visible messages, leases that
// are acknowledged leave stale items in the timed heap until compact
// drops them; the index must answer as before (the same messages in the
// same order, the same counts and next visible time) and the heaps stay
// within their bound.
func TestQueueIndexCompact(t *testing.T) {
	qi := newQueueIndex()
	const backlog = 5000
	num := uint64(1)
	for seq := uint64(1); seq <= backlog; seq++ {
		qi.insert(seq, 0, false, num, 0)
		num++
	}
	// A delayed message, which compaction must keep in the timed heap.
	qi.insert(backlog+1, 1e12, false, num, 0)
	num++
	now := int64(1000)
	deadline := now + 30e9
	var taken []uint64
	for range 300 {
		qi.settle(now)
		ps := qi.take(10, deadline)
		for _, p := range ps {
			taken = append(taken, p.seq)
			e := qi.entries[p.seq]
			e.num = num
			qi.place(p.seq, e, deadline, true, now) // the lease commits
			num++
		}
		// The first half of each batch is acknowledged; the rest stay in
		// flight.
		for _, p := range ps[:5] {
			qi.remove(p.seq, num)
			num++
		}
		if max := 2*(qi.counts[stInFlight]+qi.counts[stDelayed]) + 1024 + 10; qi.timed.len() > max {
			t.Fatalf("timed heap holds %d items, over its bound %d", qi.timed.len(), max)
		}
	}
	if want := seqRange(1, 3000); !slices.Equal(taken, want) {
		t.Fatalf("taken %v..., want seqs 1..3000 in order", taken[:20])
	}
	if got, want := qi.counts, [3]int{backlog - 3000, 1500, 1}; got != want {
		t.Fatalf("counts (visible, in flight, delayed) = %v, want %v", got, want)
	}
	qi.settle(now)
	if got := qi.nextVisible(); got != deadline {
		t.Fatalf("nextVisible = %d, want the leases' deadline %d", got, deadline)
	}
	// Past the deadline the unacknowledged leased ones are visible again,
	// oldest first, before the rest of the backlog; then the delayed one.
	qi.settle(deadline)
	var again []uint64
	for _, p := range qi.take(backlog, deadline+30e9) {
		again = append(again, p.seq)
	}
	var want []uint64
	for i := uint64(0); i < 300; i++ {
		want = append(want, seqRange(i*10+6, i*10+10)...)
	}
	want = append(want, seqRange(3001, backlog)...)
	if !slices.Equal(again, want) {
		t.Fatalf("after the deadline took %d messages, want %d: the unacknowledged then the backlog, in seq order", len(again), len(want))
	}
	// What take marked leasing has no timed item until its lease
	// commits: the delayed message is next.
	if got := qi.nextVisible(); got != 1e12 {
		t.Fatalf("nextVisible = %d, want the delayed message's 1e12", got)
	}
}

// TestQueueIndexCompactVisible: stale and duplicate items of the visible
// heap are dropped once they outnumber the live ones, and take still
// answers in seq order.
func TestQueueIndexCompactVisible(t *testing.T) {
	qi := newQueueIndex()
	for seq := uint64(1); seq <= 3000; seq++ {
		qi.insert(seq, 0, false, seq, 0)
	}
	// Duplicates: an update that makes a visible message visible again.
	for seq := uint64(1); seq <= 3000; seq += 2 {
		qi.update(seq, 0, true, 5000+seq, 0)
	}
	// Stale items: messages removed while visible.
	for seq := uint64(1); seq <= 3000; seq++ {
		if seq%3 != 0 {
			qi.remove(seq, 10000)
		}
	}
	qi.settle(0)
	if max := 2*qi.counts[stVisible] + 1024; qi.visible.len() > max {
		t.Fatalf("visible heap holds %d items, over its bound %d", qi.visible.len(), max)
	}
	var got []uint64
	for _, p := range qi.take(3000, 1) {
		got = append(got, p.seq)
	}
	var want []uint64
	for seq := uint64(3); seq <= 3000; seq += 3 {
		want = append(want, seq)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("took %d messages, want the %d left, in seq order", len(got), len(want))
	}
}

func seqRange(lo, hi uint64) []uint64 {
	var s []uint64
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// BenchmarkQueueIndexLeaseAck is the index's part of ReceiveMessage of
// ten and DeleteMessageBatch on a queue with a backlog of 100,000
// messages: settle, take, the lease's place, the acks' remove.
func BenchmarkQueueIndexLeaseAck(b *testing.B) {
	qi := newQueueIndex()
	const backlog = 100000
	num := uint64(1)
	for seq := uint64(1); seq <= backlog; seq++ {
		qi.insert(seq, 0, false, num, 0)
		num++
	}
	next := uint64(backlog + 1)
	now := int64(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		qi.settle(now)
		ps := qi.take(10, now+30e9)
		for _, p := range ps {
			e := qi.entries[p.seq]
			e.num = num
			qi.place(p.seq, e, now+30e9, true, now)
			num++
		}
		for _, p := range ps {
			qi.remove(p.seq, num)
			num++
			qi.insert(next, 0, false, num, now) // keep the backlog
			next++
			num++
		}
	}
}
