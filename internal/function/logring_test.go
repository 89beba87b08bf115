package function

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestLogRingMatchesSlidingWindow drives the circular ring and a naive
// model (all bytes ever appended, the last cap kept) with random appends
// and reads, and checks since against the model at every step.
func TestLogRingMatchesSlidingWindow(t *testing.T) {
	for _, capacity := range []int{1, 7, 64} {
		r := rand.New(rand.NewPCG(uint64(capacity), 1))
		l := newLogRing(capacity)
		var all []byte
		for step := 0; step < 2000; step++ {
			p := make([]byte, r.IntN(2*capacity+2))
			for i := range p {
				p[i] = byte('a' + r.IntN(26))
			}
			l.append(p)
			all = append(all, p...)
			off := int64(r.IntN(len(all) + 2))
			data, dropped, next, _ := l.since(off)
			keepFrom := int64(max(0, len(all)-capacity))
			wantDropped, from := int64(0), off
			if off < keepFrom {
				wantDropped, from = keepFrom-off, keepFrom
			}
			var want []byte
			if from < int64(len(all)) {
				want = all[from:]
			}
			if next != int64(len(all)) || dropped != wantDropped || !bytes.Equal(data, want) {
				t.Fatalf("cap %d step %d since(%d) = %q, %d, %d; want %q, %d, %d", capacity, step, off,
					data, dropped, next, want, wantDropped, len(all))
			}
		}
	}
}
