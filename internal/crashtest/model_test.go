package crashtest

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestBodyRoundTrip(t *testing.T) {
	for _, size := range []int{0, minBodyLen, 1000, 8 << 10, 8<<10 + 1, 256 << 10} {
		b := MakeBody(42, "dir/k01", size)
		if want := max(size, minBodyLen); len(b) != want {
			t.Errorf("size %d: body is %d bytes, want %d", size, len(b), want)
		}
		info, err := ParseBody(b)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if info.Op != 42 || info.Key != "dir/k01" || info.Len != len(b) {
			t.Errorf("size %d: parsed %+v", size, info)
		}
	}
	// A key with spaces and quotes survives the header.
	if info, err := ParseBody(MakeBody(7, `a "b" c`, 200)); err != nil || info.Key != `a "b" c` {
		t.Errorf("odd key: %+v, %v", info, err)
	}
}

// Every kind of damage a crash could leave is reported, never accepted.
func TestParseBodyDetectsDamage(t *testing.T) {
	a := MakeBody(1, "k", 20000)
	b := MakeBody(2, "k", 20000)
	mixed := append(bytes.Clone(a[:8192]), b[8192:]...)
	zeroed := bytes.Clone(a)
	clear(zeroed[4096:8192])
	flipped := bytes.Clone(a)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, "no harness header"},
		{"truncated", a[:10000], "torn body of op 1: 10000 bytes, header says 20000"},
		{"extended", append(bytes.Clone(a), 'x'), "torn body of op 1: 20001 bytes"},
		{"two writes mixed", mixed, "checksum mismatch"},
		{"zeroed block", zeroed, "checksum mismatch"},
		{"one bit flipped", flipped, "checksum mismatch"},
		{"foreign bytes", []byte("hello world\n"), "no harness header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBody(tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseBody: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func putOp(m *Model, key string, size int, start uint64) (*Op, []byte) {
	op := &Op{ID: m.NextID(), Kind: OpPut, Key: key, Start: start}
	body := MakeBody(op.ID, key, size)
	op.Size, op.Sum = len(body), sha256.Sum256(body)
	m.Begin(op)
	return op, body
}

func TestModelJudge(t *testing.T) {
	m := NewModel()
	const key = "k"
	m.Confirm(key, State{})
	p1, b1 := putOp(m, key, 500, 1)
	m.End(p1, 2, nil) // acknowledged
	p2, b2 := putOp(m, key, 500, 3)
	m.End(p2, 4, nil) // acknowledged, started after p1 ended: p1 is replaced
	p3, b3 := putOp(m, key, 500, 5)
	_ = p3 // in flight at the crash
	del := &Op{ID: m.NextID(), Kind: OpDelete, Key: key, Start: 6}
	m.Begin(del)
	m.End(del, 9, nil) // acknowledged, but after the crash at tick 8

	for _, tc := range []struct {
		name    string
		present bool
		body    []byte
		ok      bool
		want    string
	}{
		{"last acknowledged put", true, b2, true, ""},
		{"in-flight put", true, b3, true, ""},
		{"delete acked after the crash tick counts as in flight", false, nil, true, ""},
		{"replaced put", true, b1, false, "holds op 1"},
		{"torn latest put", true, b2[:300], false, "torn body of op 2"},
		{"another key's body", true, MakeBody(p2.ID, "other", 500), false, `belongs to key "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Judge(key, 8, tc.present, tc.body)
			if tc.ok && err != nil {
				t.Fatalf("rejected an allowed state: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Judge: %v, want an error containing %q", err, tc.want)
			}
			if !tc.ok && !strings.Contains(err.Error(), `key "k"`) {
				t.Errorf("error does not name the key: %v", err)
			}
		})
	}

	// With the crash after every acknowledgement, only the delete is allowed
	// besides the in-flight put... and the delete started after p2 ended, so
	// p2 is replaced too.
	if _, err := m.Judge(key, 100, true, b2); err == nil {
		t.Error("a put replaced by an acknowledged delete was accepted")
	}
	if _, err := m.Judge(key, 100, false, nil); err != nil {
		t.Errorf("acknowledged delete rejected: %v", err)
	}
	if _, err := m.Judge(key, 100, true, b3); err != nil {
		t.Errorf("in-flight put rejected: %v", err)
	}

	// An operation sent after the crash cannot have happened.
	late, bLate := putOp(m, key, 500, 101)
	_ = late
	if _, err := m.Judge(key, 100, true, bLate); err == nil {
		t.Error("a put sent after the crash was accepted")
	}

	// Confirm settles the key: only what was seen is allowed now.
	m.Confirm(key, State{})
	if _, err := m.Judge(key, 100, true, b3); err == nil {
		t.Error("after Confirm(absent), an old body was accepted")
	}
}

// Two acknowledged operations that overlapped in time may commit in either
// order, so both results are allowed; the confirmed state is not.
func TestModelOverlappingAcks(t *testing.T) {
	m := NewModel()
	old, bOld := putOp(m, "k", 200, 1)
	m.End(old, 2, nil)
	m.Confirm("k", State{Present: true, Op: old.ID, Size: old.Size, Sum: old.Sum})
	a, ba := putOp(m, "k", 200, 3)
	b, bb := putOp(m, "k", 200, 4)
	m.End(a, 6, nil)
	m.End(b, 5, nil)
	for name, body := range map[string][]byte{"a": ba, "b": bb} {
		if _, err := m.Judge("k", 10, true, body); err != nil {
			t.Errorf("%s rejected: %v", name, err)
		}
	}
	if _, err := m.Judge("k", 10, true, bOld); err == nil {
		t.Error("the state before two acknowledged puts was accepted")
	}
	if _, err := m.Judge("k", 10, false, nil); err == nil {
		t.Error("absent accepted although puts were acknowledged and no delete was sent")
	}
}
