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
	mu      sync.Mutex
	buf     []byte // the last len(buf) bytes, len <= cap
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
	l.mu.Lock()
	l.end += int64(len(p))
	if len(p) >= l.cap {
		l.buf = append(l.buf[:0], p[len(p)-l.cap:]...)
	} else {
		if over := len(l.buf) + len(p) - l.cap; over > 0 {
			l.buf = append(l.buf[:0], l.buf[over:]...)
		}
		l.buf = append(l.buf, p...)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// since returns the bytes from offset off on, how many bytes before them
// were dropped, the new offset, and the channel that the next append closes.
func (l *logRing) since(off int64) (data []byte, dropped int64, next int64, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.end - int64(len(l.buf))
	if off < start {
		dropped = start - off
		off = start
	}
	data = append([]byte(nil), l.buf[off-start:]...)
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
