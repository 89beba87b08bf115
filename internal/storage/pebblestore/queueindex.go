package pebblestore

import (
	"cmp"
	"slices"
	"sync"
)

// The in-memory queue index (see doc.go, "Queue index"). It is a hint that
// lets Lease find visible messages without scanning the store; the message
// records stay the truth, and Lease re-reads each record it picks.

// Entry states. A message whose visible-at time has come is still stored as
// stInFlight or stDelayed until settle moves it: expiry is computed lazily
// by the clock at Lease and Stats, never by timers.
const (
	stVisible uint8 = iota
	stInFlight
	stDelayed
)

type qentry struct {
	state uint8
	// leasing: Lease picked the message and has not yet committed; it has
	// no item in the timed heap until Lease finishes.
	leasing bool
	at      int64  // unix nanos when it becomes visible (timed states)
	num     uint64 // commit number of the last change applied to it
}

type timedItem struct {
	at  int64
	seq uint64
}

// queueIndex indexes one queue. Lock order: leaseMu, then (Store.gate,
// Store.mu, which Lease takes and releases), then mu; mu is a leaf lock,
// never held while taking another.
type queueIndex struct {
	// leaseMu serializes Lease calls on this queue, so that two leases
	// never race for the same messages (no OCC conflicts between leases).
	leaseMu sync.Mutex

	mu      sync.Mutex
	entries map[uint64]*qentry
	// visible holds the seqs of visible messages (min-heap: oldest first);
	// timed holds (visible-at, seq) of in-flight and delayed ones. Both
	// may hold stale items (the entry changed or went away since): an item
	// counts only if its entry still matches it.
	visible heap[uint64]
	timed   heap[timedItem]
	counts  [3]int // by state
	// purged is the commit number of the last Purge: changes from commits
	// before it are ignored (Purge removed what they added).
	purged uint64
}

func newQueueIndex() *queueIndex {
	return &queueIndex{
		entries: map[uint64]*qentry{},
		visible: heap[uint64]{less: func(a, b uint64) bool { return a < b }},
		timed: heap[timedItem]{less: func(a, b timedItem) bool {
			return a.at < b.at || (a.at == b.at && a.seq < b.seq)
		}},
	}
}

// queueIndexes maps queue names to their indexes. The zero value is ready.
type queueIndexes struct {
	mu sync.RWMutex
	m  map[string]*queueIndex
}

// get returns queue's index; with create false it returns nil for a queue
// that has none yet.
func (qs *queueIndexes) get(queue string, create bool) *queueIndex {
	qs.mu.RLock()
	qi := qs.m[queue]
	qs.mu.RUnlock()
	if qi != nil || !create {
		return qi
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if qi = qs.m[queue]; qi == nil {
		if qs.m == nil {
			qs.m = map[string]*queueIndex{}
		}
		qi = newQueueIndex()
		qs.m[queue] = qi
	}
	return qi
}

// The methods below are called with qi.mu held.

// place puts e into the state its visible-at time and lease history give
// at now, and indexes it there.
func (qi *queueIndex) place(seq uint64, e *qentry, at int64, leased bool, now int64) {
	st := stVisible
	if at > now {
		st = stDelayed
		if leased {
			st = stInFlight
		}
	}
	qi.counts[e.state]--
	e.state, e.at, e.leasing = st, at, false
	qi.counts[st]++
	if st == stVisible {
		qi.visible.push(seq)
	} else {
		qi.timed.push(timedItem{at: at, seq: seq})
	}
}

// insert adds a new message.
func (qi *queueIndex) insert(seq uint64, at int64, leased bool, num uint64, now int64) {
	if num < qi.purged {
		return
	}
	if _, ok := qi.entries[seq]; ok {
		return
	}
	e := &qentry{state: stVisible, num: num}
	qi.counts[stVisible]++
	qi.entries[seq] = e
	qi.place(seq, e, at, leased, now)
}

// update applies a change of commit num to an existing message, unless a
// later change was applied already (commits finish their syncs, and so
// reach the index, in any order).
func (qi *queueIndex) update(seq uint64, at int64, leased bool, num uint64, now int64) {
	e := qi.entries[seq]
	if e == nil || e.num >= num {
		return
	}
	e.num = num
	qi.place(seq, e, at, leased, now)
}

// remove drops a message (acknowledged, moved away, expired, purged).
func (qi *queueIndex) remove(seq uint64, num uint64) {
	e := qi.entries[seq]
	if e == nil || e.num > num {
		return
	}
	qi.counts[e.state]--
	delete(qi.entries, seq)
}

// purge drops every message that no commit after num changed.
func (qi *queueIndex) purge(num uint64) {
	if num <= qi.purged {
		return
	}
	qi.purged = num
	for seq, e := range qi.entries {
		if e.num < num {
			qi.counts[e.state]--
			delete(qi.entries, seq)
		}
	}
	qi.compact(true)
}

// settle makes every in-flight or delayed message whose time has come
// visible.
func (qi *queueIndex) settle(now int64) {
	for qi.timed.len() > 0 {
		it := qi.timed.top()
		if it.at > now {
			break
		}
		qi.timed.pop()
		e := qi.entries[it.seq]
		if e == nil || e.state == stVisible || e.leasing || e.at != it.at {
			continue // stale item
		}
		qi.counts[e.state]--
		e.state = stVisible
		qi.counts[stVisible]++
		qi.visible.push(it.seq)
	}
	qi.compact(false)
}

// nextVisible returns the earliest visible-at time of an in-flight or
// delayed message, 0 if none. Call after settle.
func (qi *queueIndex) nextVisible() int64 {
	for qi.timed.len() > 0 {
		it := qi.timed.top()
		e := qi.entries[it.seq]
		if e == nil || e.state == stVisible || e.leasing || e.at != it.at {
			qi.timed.pop()
			continue
		}
		return it.at
	}
	return 0
}

// take picks up to max visible messages, oldest first, and marks them
// leasing (in flight until the Lease that took them commits or gives up).
func (qi *queueIndex) take(max int, deadline int64) []picked {
	var out []picked
	for len(out) < max && qi.visible.len() > 0 {
		seq := qi.visible.pop()
		e := qi.entries[seq]
		if e == nil || e.state != stVisible {
			continue // stale item
		}
		qi.counts[stVisible]--
		e.state, e.at, e.leasing = stInFlight, deadline, true
		qi.counts[stInFlight]++
		out = append(out, picked{seq: seq, num: e.num})
	}
	return out
}

type picked struct {
	seq uint64
	num uint64 // entry's num when taken
}

// untake makes messages that a failed Lease took visible again, unless a
// commit changed them meanwhile.
func (qi *queueIndex) untake(ps []picked, now int64) {
	for _, p := range ps {
		if e := qi.entries[p.seq]; e != nil && e.leasing && e.num == p.num {
			qi.place(p.seq, e, 0, true, now)
		}
	}
}

// compact rebuilds the heaps when stale items outnumber live ones, so
// that acknowledged leases and repeated extends do not pile up items
// until their times come. An unforced compaction filters the heap that
// grew too large, which costs its own length: with a backlog, rebuilding
// from entries walked every message each time about a thousand leases
// had been acknowledged. A filtered heap is sorted and rid of duplicates
// (a sorted slice is a heap), so that it cannot stay over the bound and
// be compacted again at once.
func (qi *queueIndex) compact(force bool) {
	if force {
		qi.visible.s = qi.visible.s[:0]
		qi.timed.s = qi.timed.s[:0]
		for seq, e := range qi.entries {
			switch {
			case e.state == stVisible:
				qi.visible.s = append(qi.visible.s, seq)
			case !e.leasing:
				qi.timed.s = append(qi.timed.s, timedItem{at: e.at, seq: seq})
			}
		}
		qi.visible.init()
		qi.timed.init()
		return
	}
	if qi.visible.len() > 2*qi.counts[stVisible]+1024 {
		live := qi.visible.s[:0]
		for _, seq := range qi.visible.s {
			if e := qi.entries[seq]; e != nil && e.state == stVisible {
				live = append(live, seq)
			}
		}
		clear(qi.visible.s[len(live):])
		slices.Sort(live)
		qi.visible.s = slices.Compact(live)
	}
	if qi.timed.len() > 2*(qi.counts[stInFlight]+qi.counts[stDelayed])+1024 {
		live := qi.timed.s[:0]
		for _, it := range qi.timed.s {
			if e := qi.entries[it.seq]; e != nil && e.state != stVisible && !e.leasing && e.at == it.at {
				live = append(live, it)
			}
		}
		clear(qi.timed.s[len(live):])
		slices.SortFunc(live, func(a, b timedItem) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
		})
		qi.timed.s = slices.Compact(live)
	}
}

// heap is a binary min-heap ordered by less.
type heap[T any] struct {
	s    []T
	less func(a, b T) bool
}

func (h *heap[T]) len() int { return len(h.s) }
func (h *heap[T]) top() T   { return h.s[0] }

func (h *heap[T]) push(x T) {
	h.s = append(h.s, x)
	h.up(len(h.s) - 1)
}

func (h *heap[T]) pop() T {
	x := h.s[0]
	n := len(h.s) - 1
	h.s[0] = h.s[n]
	var zero T
	h.s[n] = zero
	h.s = h.s[:n]
	if n > 0 {
		h.down(0)
	}
	return x
}

func (h *heap[T]) init() {
	for i := len(h.s)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.s[i], h.s[p]) {
			return
		}
		h.s[i], h.s[p] = h.s[p], h.s[i]
		i = p
	}
}

func (h *heap[T]) down(i int) {
	n := len(h.s)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(h.s[r], h.s[l]) {
			m = r
		}
		if !h.less(h.s[m], h.s[i]) {
			return
		}
		h.s[i], h.s[m] = h.s[m], h.s[i]
		i = m
	}
}
