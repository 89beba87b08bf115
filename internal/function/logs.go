package function

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// logRing keeps the last cap bytes of a function's log (instances' output
// plus the START/END/REPORT lines), and wakes followers on every append.
// Offsets count every byte ever appended, so a follower knows what it
// missed when it fell more than cap behind.
type logRing struct {
	mu  sync.Mutex
	buf []byte // linear (the held bytes in order) until full, then circular with len == cap
	// full: buf is circular, the byte at offset o is buf[o%cap], and the
	// ring holds exactly cap bytes. Before that, buf holds the bytes from
	// offset 0 in order. A circular buffer, not a sliding slice, because a
	// full ring is the normal state of a busy function, and shifting cap
	// bytes under the lock on every log line made each invocation's
	// START/END/REPORT lines cost three 1 MiB copies and serialized the
	// function's instances (issue 7's Invoke @8 benchmark).
	full    bool
	cap     int
	end     int64         // offset just after the last byte
	changed chan struct{} // closed and replaced on every append
}

func newLogRing(capacity int) *logRing {
	return &logRing{cap: capacity, changed: make(chan struct{})}
}

func (l *logRing) append(p []byte) {
	if len(p) == 0 {
		return
	}
	total := int64(len(p))
	l.mu.Lock()
	if !l.full && len(l.buf)+len(p) <= l.cap {
		l.buf = append(l.buf, p...)
	} else {
		if !l.full {
			// Becoming full: lay the held bytes out at their circular
			// positions (they start at offset 0).
			ring := make([]byte, l.cap)
			l.put(ring, 0, l.buf)
			l.buf, l.full = ring, true
		}
		off := l.end
		if len(p) > l.cap {
			off += int64(len(p) - l.cap)
			p = p[len(p)-l.cap:]
		}
		l.put(l.buf, off, p)
	}
	l.end += total
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// put writes p (at most cap bytes) at offset off of the circular buffer.
func (l *logRing) put(ring []byte, off int64, p []byte) {
	i := int(off % int64(l.cap))
	n := copy(ring[i:], p)
	copy(ring, p[n:])
}

// held is how many bytes the ring holds, ending at end.
func (l *logRing) held() int {
	if l.full {
		return l.cap
	}
	return len(l.buf)
}

// since returns the bytes from offset off on, how many bytes before them
// were dropped, the new offset, and the channel that the next append closes.
func (l *logRing) since(off int64) (data []byte, dropped int64, next int64, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.end - int64(l.held())
	if off < start {
		dropped = start - off
		off = start
	}
	if off >= l.end {
		return nil, dropped, l.end, l.changed
	}
	if !l.full {
		data = append([]byte(nil), l.buf[off-start:]...)
		return data, dropped, l.end, l.changed
	}
	data = make([]byte, int(l.end-off))
	i := int(off % int64(l.cap))
	n := copy(data, l.buf[i:])
	copy(data[n:], l.buf)
	return data, dropped, l.end, l.changed
}

func (s *Service) ring(name string) *logRing {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.logs[name]
	if r == nil {
		r = newLogRing(s.cfg.LogBytes)
		s.logs[name] = r
	}
	return r
}

// Logs writes the function's kept log (the last LogBytes bytes: its
// instances' stdout and stderr and Lambda's START, END and REPORT lines)
// to w. With opts.Tail only the last Tail bytes are written first. With
// opts.Follow it then keeps writing new log data as it comes until ctx
// ends (returning nil); a follower that falls more than LogBytes behind
// gets a line saying how many bytes it missed. ErrNotFound when there is
// no such function.
func (s *Service) Logs(ctx context.Context, name string, opts LogOptions, w io.Writer) error {
	n, err := s.resolve(name, "")
	if err != nil {
		return err
	}
	if _, err := s.load(ctx, n); err != nil {
		return err
	}
	r := s.ring(n)
	data, _, off, changed := r.since(0)
	if opts.Tail > 0 && len(data) > opts.Tail {
		data = data[len(data)-opts.Tail:]
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if fl, ok := w.(interface{ Flush() }); ok {
		fl.Flush()
	}
	for opts.Follow {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-changed:
		}
		var dropped int64
		data, dropped, off, changed = r.since(off)
		if dropped > 0 {
			if _, err := fmt.Fprintf(w, "[sluice: %d bytes of log dropped; the follower was too slow]\n", dropped); err != nil {
				return err
			}
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if fl, ok := w.(interface{ Flush() }); ok {
			fl.Flush()
		}
	}
	return nil
}

// tailBuf keeps the last LogTailBytes of one invocation's log.
type tailBuf struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuf) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

func (t *tailBuf) append(p []byte) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - LogTailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.mu.Unlock()
}

func (t *tailBuf) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}
