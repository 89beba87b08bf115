package event

import (
	"strings"
	"sync"
	"testing"
)

func TestFormatSequencer(t *testing.T) {
	cases := []struct {
		epoch, counter uint64
		want           string
	}{
		{0, 0, "000000000000000000"},
		{1, 1, "000001000000000001"},
		{0xABC, 0xdeadbeef, "000ABC0000DEADBEEF"},
		{MaxEpoch, MaxCounter, "FFFFFFFFFFFFFFFFFF"},
	}
	for _, tc := range cases {
		got, err := FormatSequencer(tc.epoch, tc.counter)
		if err != nil || got != tc.want {
			t.Fatalf("FormatSequencer(%d, %d) = %q, %v; want %q", tc.epoch, tc.counter, got, err, tc.want)
		}
		e, c, err := ParseSequencer(got)
		if err != nil || e != tc.epoch || c != tc.counter {
			t.Fatalf("ParseSequencer(%q) = %d, %d, %v", got, e, c, err)
		}
	}
	if s, err := FormatSequencer(MaxEpoch+1, 0); err == nil {
		t.Fatalf("epoch overflow accepted: %q", s)
	}
	if s, err := FormatSequencer(0, MaxCounter+1); err == nil {
		t.Fatalf("counter overflow accepted: %q", s)
	}
	for _, bad := range []string{"", "00000100000000000", "00000100000000000a", "0000010000000000001", "00000100000000000G"} {
		if _, _, err := ParseSequencer(bad); err == nil {
			t.Errorf("ParseSequencer(%q) accepted", bad)
		}
	}
}

// greater compares two sequencers both ways S3's documentation has given:
// right-pad the shorter with zeros, or left-pad it; for fixed-width values
// the two must agree with plain string comparison.
func greater(t *testing.T, a, b string) bool {
	t.Helper()
	if len(a) != SequencerLen || len(b) != SequencerLen {
		t.Fatalf("sequencers %q, %q are not %d wide", a, b, SequencerLen)
	}
	right := a+strings.Repeat("0", len(b)-min(len(a), len(b))) > b+strings.Repeat("0", len(a)-min(len(a), len(b)))
	left := strings.Repeat("0", len(b)-min(len(a), len(b)))+a > strings.Repeat("0", len(a)-min(len(a), len(b)))+b
	if right != left || right != (a > b) {
		t.Fatalf("padding rules disagree on %q vs %q", a, b)
	}
	return a > b
}

func TestSequenceGrowsWithinAndAcrossEpochs(t *testing.T) {
	// A run of epoch 7 that hands out many values, then a restart with
	// epoch 8 (the stored high-water mark bumped at open): every value of
	// the second run is greater than every value of the first, even though
	// the second run's counter starts again from 1.
	first, err := NewSequence(7)
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for i := 0; i < 1000; i++ {
		s, err := first.Next()
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" && !greater(t, s, prev) {
			t.Fatalf("Next %q not greater than previous %q", s, prev)
		}
		prev = s
	}
	second, _ := NewSequence(8)
	s, err := second.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !greater(t, s, prev) {
		t.Fatalf("first value after restart %q not greater than last before %q", s, prev)
	}
	if second.Epoch() != 8 {
		t.Fatalf("Epoch = %d", second.Epoch())
	}
	if _, err := NewSequence(MaxEpoch + 1); err == nil {
		t.Fatal("NewSequence accepted an epoch that does not fit")
	}
}

func TestSequenceExhausted(t *testing.T) {
	s, _ := NewSequence(1)
	s.counter = MaxCounter - 1
	last, err := s.Next()
	if err != nil || last != "000001FFFFFFFFFFFF" {
		t.Fatalf("last value = %q, %v", last, err)
	}
	if v, err := s.Next(); err == nil {
		t.Fatalf("Next past the end = %q, want an error (never wrap)", v)
	}
}

func TestSequenceConcurrentValuesAreUnique(t *testing.T) {
	s, _ := NewSequence(3)
	const workers, each = 8, 500
	var mu sync.Mutex
	seen := make(map[string]bool, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]string, 0, each)
			for i := 0; i < each; i++ {
				v, err := s.Next()
				if err != nil {
					t.Error(err)
					return
				}
				if len(local) > 0 && v <= local[len(local)-1] {
					t.Errorf("one goroutine saw %q after %q", v, local[len(local)-1])
				}
				local = append(local, v)
			}
			mu.Lock()
			for _, v := range local {
				if seen[v] {
					t.Errorf("duplicate sequencer %q", v)
				}
				seen[v] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct values, want %d", len(seen), workers*each)
	}
}
