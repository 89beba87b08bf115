package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", []time.Duration{7}, 50, 7},
		{"one sample p99", []time.Duration{7}, 99, 7},
		{"two samples p50 is the lower", []time.Duration{1, 2}, 50, 1},
		{"two samples p99 is the upper", []time.Duration{1, 2}, 99, 2},
		{"odd count p50 is the middle", []time.Duration{1, 2, 3, 4, 5}, 50, 3},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p100", hundred, 100, 100 * time.Millisecond},
		{"tiny p clamps to first", hundred, 0.0001, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeSortsAndCounts(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3}
	s := summarize(lat, 2*time.Second)
	if s.Requests != 5 || s.P50 != 3 || s.P99 != 5 || s.Elapsed != 2*time.Second {
		t.Errorf("summarize = %+v, want 5 requests, p50 3, p99 5, elapsed 2s", s)
	}
	if got := perSecond(s.Requests, s.Elapsed); got != 2.5 {
		t.Errorf("perSecond(5, 2s) = %v, want 2.5", got)
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("perSecond(5, 0) = %v, want 0", got)
	}
}
