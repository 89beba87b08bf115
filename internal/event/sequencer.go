package event

import (
	"fmt"
	"strconv"
	"sync"
)

// SequencerLen is the width of every sequencer Sluice emits: 18 upper-case
// hex digits, the length of the sequencers in AWS's published examples
// ("0055AED6DCD90281E5", "0C0F6F405D6ED209E1"). Fixed width makes S3's two
// documented comparison rules (pad the shorter value on the right, or on the
// left, then compare as strings) give the same order.
const SequencerLen = 18

// The 72 bits of a sequencer are an epoch (high 24 bits, 6 hex digits) and a
// counter within the epoch (low 48 bits, 12 hex digits).
const (
	epochBits   = 24
	counterBits = 48
	// MaxEpoch is the largest epoch a sequencer can carry.
	MaxEpoch = 1<<epochBits - 1
	// MaxCounter is the largest counter value within one epoch.
	MaxCounter = 1<<counterBits - 1
)

// FormatSequencer encodes (epoch, counter) as the fixed-width hex string a
// record carries. A larger epoch always sorts later, whatever the counters;
// within an epoch a larger counter sorts later. It returns an error when
// either part is out of range rather than wrapping, because a wrapped value
// would go back.
func FormatSequencer(epoch, counter uint64) (string, error) {
	if epoch > MaxEpoch {
		return "", fmt.Errorf("event: sequencer epoch %d exceeds %d", epoch, MaxEpoch)
	}
	if counter > MaxCounter {
		return "", fmt.Errorf("event: sequencer counter %d exceeds %d", counter, MaxCounter)
	}
	e := strconv.FormatUint(epoch, 16)
	c := strconv.FormatUint(counter, 16)
	b := make([]byte, 0, SequencerLen)
	for i := len(e); i < epochBits/4; i++ {
		b = append(b, '0')
	}
	b = append(b, e...)
	for i := len(c); i < counterBits/4; i++ {
		b = append(b, '0')
	}
	b = append(b, c...)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b), nil
}

// ParseSequencer is the inverse of FormatSequencer.
func ParseSequencer(s string) (epoch, counter uint64, err error) {
	if len(s) != SequencerLen {
		return 0, 0, fmt.Errorf("event: sequencer %q is not %d hex digits", s, SequencerLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return 0, 0, fmt.Errorf("event: sequencer %q is not upper-case hex", s)
		}
	}
	epoch, _ = strconv.ParseUint(s[:epochBits/4], 16, 64)
	counter, _ = strconv.ParseUint(s[epochBits/4:], 16, 64)
	return epoch, counter, nil
}

// Sequence hands out the sequencers of one running store. It is the
// in-memory half of the design in doc.go ("Sequencer"): the epoch is a
// stored high-water mark that the integration bumps durably each time the
// store is opened, before any event is written, and the counter grows within
// the process. Because every epoch is larger than every earlier one, values
// never go back: not across restarts, and not when the wall clock steps,
// since no clock is involved.
//
// A Sequence is safe for concurrent use. Next must be called inside the
// storage transaction that writes the record, after the transaction has
// locked or read the object's key (see doc.go for why).
type Sequence struct {
	epoch uint64

	mu      sync.Mutex
	counter uint64
}

// NewSequence returns a Sequence for epoch, which must be larger than the
// epoch of every earlier run of the same store.
func NewSequence(epoch uint64) (*Sequence, error) {
	if epoch > MaxEpoch {
		return nil, fmt.Errorf("event: sequencer epoch %d exceeds %d", epoch, MaxEpoch)
	}
	return &Sequence{epoch: epoch}, nil
}

// Epoch returns the epoch this Sequence was created with.
func (s *Sequence) Epoch() uint64 { return s.epoch }

// Next returns the next sequencer: strictly greater than every value this
// Sequence returned before. It fails only when the epoch's 2^48 counter
// values are used up; the caller then opens a new epoch.
func (s *Sequence) Next() (string, error) {
	s.mu.Lock()
	if s.counter >= MaxCounter {
		s.mu.Unlock()
		return "", fmt.Errorf("event: sequencer counter exhausted in epoch %d", s.epoch)
	}
	s.counter++
	c := s.counter
	s.mu.Unlock()
	return FormatSequencer(s.epoch, c)
}
