package crashtest

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// OpKind is what an operation does to its key.
type OpKind int

const (
	OpPut OpKind = iota
	OpDelete
)

func (k OpKind) String() string {
	if k == OpDelete {
		return "DELETE"
	}
	return "PUT"
}

// Op is one operation on a key as the client saw it.
type Op struct {
	ID    uint64
	Kind  OpKind
	Key   string
	Size  int               // PUT: body length
	Sum   [sha256.Size]byte // PUT: SHA-256 of the body
	Start uint64            // tick before the request was sent
	End   uint64            // tick after it was acknowledged; 0 if it never was
	Err   error             // why it was not acknowledged, if it ended in an error
}

// State is a key's content: absent, or the body of one PUT.
type State struct {
	Present bool
	Op      uint64 // the PUT whose body it is
	Size    int
	Sum     [sha256.Size]byte
}

func (s State) String() string {
	if !s.Present {
		return "absent"
	}
	return fmt.Sprintf("op %d (%d bytes)", s.Op, s.Size)
}

func stateOf(op *Op) State {
	if op.Kind == OpDelete {
		return State{}
	}
	return State{Present: true, Op: op.ID, Size: op.Size, Sum: op.Sum}
}

// Model holds, per key, the last state a check confirmed and every operation
// issued since. It is safe for concurrent use by workers.
//
// After a crash a key may hold (Candidates):
//   - the confirmed state, unless an acknowledged operation followed it;
//   - an acknowledged operation's result, unless another acknowledged
//     operation started after it ended (then the later one replaced it);
//   - any unacknowledged operation's result: it may have been applied
//     before the crash, at any point after it was sent, or not at all;
//     unless it was sent after the crash.
type Model struct {
	mu     sync.Mutex
	nextID uint64
	keys   map[string]*keyModel
}

type keyModel struct {
	base State
	ops  []*Op
}

// NewModel returns an empty model: every key absent.
func NewModel() *Model { return &Model{keys: map[string]*keyModel{}} }

func (m *Model) key(k string) *keyModel {
	km := m.keys[k]
	if km == nil {
		km = &keyModel{}
		m.keys[k] = km
	}
	return km
}

// NextID returns a new operation id (unique across the model's life, so
// across restarts of the server).
func (m *Model) NextID() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	return m.nextID
}

// Begin records op as sent. op.ID, Kind, Key, Size, Sum and Start are set
// by the caller.
func (m *Model) Begin(op *Op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	km := m.key(op.Key)
	km.ops = append(km.ops, op)
}

// End records op's outcome: acknowledged at tick end, or failed with err
// (then it stays unacknowledged: it may or may not have happened).
func (m *Model) End(op *Op, end uint64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		op.Err = err
		return
	}
	op.End = end
}

// Keys returns every key the model knows, sorted.
func (m *Model) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.keys))
	for k := range m.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Candidate is one state a key may hold after the crash, and why.
type Candidate struct {
	State State
	Why   string
}

// Candidates returns the states key may hold after a crash at crashTick:
// operations that ended at or after crashTick count as unacknowledged.
func (m *Model) Candidates(key string, crashTick uint64) []Candidate {
	m.mu.Lock()
	defer m.mu.Unlock()
	km := m.key(key)
	acked := func(op *Op) bool { return op.End != 0 && op.End < crashTick }
	var out []Candidate
	anyAcked := false
	for _, op := range km.ops {
		if acked(op) {
			anyAcked = true
		}
	}
	if !anyAcked {
		out = append(out, Candidate{State: km.base, Why: "state confirmed by the last check"})
	}
	for _, op := range km.ops {
		if op.Start > crashTick {
			continue // sent after the crash: it cannot have happened
		}
		if !acked(op) {
			why := fmt.Sprintf("%s op %d in flight at the crash", op.Kind, op.ID)
			if op.Err != nil {
				why += fmt.Sprintf(" (failed: %v)", op.Err)
			}
			out = append(out, Candidate{State: stateOf(op), Why: why})
			continue
		}
		superseded := false
		for _, later := range km.ops {
			if acked(later) && later.Start > op.End {
				superseded = true
				break
			}
		}
		if !superseded {
			out = append(out, Candidate{State: stateOf(op), Why: fmt.Sprintf("%s op %d acknowledged", op.Kind, op.ID)})
		}
	}
	return out
}

// Counts returns how many operations the model holds that were
// acknowledged before crashTick and how many were sent before it and not
// acknowledged.
func (m *Model) Counts(crashTick uint64) (acked, unacked int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, km := range m.keys {
		for _, op := range km.ops {
			switch {
			case op.End != 0 && op.End < crashTick:
				acked++
			case op.Start < crashTick:
				unacked++
			}
		}
	}
	return acked, unacked
}

// Failures returns up to n distinct errors of operations sent before
// crashTick that failed: after a kill, connection errors; anything else
// hints at a server bug that the "may or may not have happened" rule hides.
func (m *Model) Failures(crashTick uint64, n int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, km := range m.keys {
		for _, op := range km.ops {
			if op.Err == nil || op.Start > crashTick || len(out) >= n {
				continue
			}
			if msg := op.Err.Error(); !seen[msg] {
				seen[msg] = true
				out = append(out, msg)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Confirm makes s the key's known state and forgets its operations: the
// check saw s, so whatever was uncertain is now settled.
func (m *Model) Confirm(key string, s State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	km := m.key(key)
	km.base = s
	km.ops = nil
}

// Judge compares what a key holds after the crash (present and its body)
// with the candidates and returns the matching state, or an error that
// names the key, the candidates and a summary of the bytes found.
func (m *Model) Judge(key string, crashTick uint64, present bool, body []byte) (State, error) {
	cands := m.Candidates(key, crashTick)
	var got State
	var damage error
	if present {
		got = State{Present: true, Size: len(body), Sum: sha256.Sum256(body)}
		info, err := ParseBody(body)
		got.Op = info.Op
		damage = err
		if err == nil && info.Key != key {
			damage = fmt.Errorf("body of op %d belongs to key %q", info.Op, info.Key)
		}
	}
	if damage == nil {
		for _, c := range cands {
			if c.State == got {
				return got, nil
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "key %q holds %s", key, got)
	if damage != nil {
		fmt.Fprintf(&b, " [%v]", damage)
	}
	b.WriteString("; allowed:")
	for _, c := range cands {
		fmt.Fprintf(&b, " {%s: %s}", c.State, c.Why)
	}
	return got, fmt.Errorf("%s", b.String())
}
