package bench

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 for an empty slice. Nearest rank (no interpolation) keeps
// every reported figure a latency that was actually observed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// summary is what one timed step measured.
type summary struct {
	Requests int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// summarize sorts lat in place and reduces it to a summary.
func summarize(lat []time.Duration, elapsed time.Duration) summary {
	slices.Sort(lat)
	return summary{Requests: len(lat), Elapsed: elapsed, P50: percentile(lat, 50), P99: percentile(lat, 99)}
}

// perSecond is n events over d, or 0 when d is not positive.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ms is d in (fractional) milliseconds, the unit the report uses.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
