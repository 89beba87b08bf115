package pebblestore

import (
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// stalls tracks Pebble's write stalls: moments when Pebble holds every
// commit back because flushes or L0 compactions fell behind (too many
// memtables queued, too many L0 files). A stall delays every PUT at once,
// which is what a sudden p99 in a benchmark or in production looks like
// from outside; Pebble only reports it through its event listener.
type stalls struct {
	mu      sync.Mutex
	count   uint64
	total   time.Duration
	started time.Time // zero when no stall is in progress
}

// listener is the Pebble event listener of a Store: write stalls are
// logged and counted.
func (s *Store) listener() *pebble.EventListener {
	return &pebble.EventListener{
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			now := s.clock.Now()
			s.stalls.mu.Lock()
			s.stalls.count++
			s.stalls.started = now
			s.stalls.mu.Unlock()
			s.log.Warn("pebblestore: write stall: commits are held back", "reason", info.Reason)
		},
		WriteStallEnd: func() {
			s.stalls.mu.Lock()
			d := time.Duration(0)
			if !s.stalls.started.IsZero() {
				d = s.clock.Now().Sub(s.stalls.started)
				s.stalls.total += d
				s.stalls.started = time.Time{}
			}
			s.stalls.mu.Unlock()
			s.log.Warn("pebblestore: write stall over", "duration", d)
		},
	}
}

// Collector returns the store's Prometheus metrics, read when scraped:
// the transaction layer's counters, write stalls, and the WAL fsync
// latency Pebble measures (every durable commit waits for one).
func (s *Store) Collector() prometheus.Collector { return storeCollector{s} }

type storeCollector struct{ s *Store }

var (
	descCommits     = prometheus.NewDesc("sluice_storage_commits_total", "Storage transactions that committed writes.", nil, nil)
	descConflicts   = prometheus.NewDesc("sluice_storage_conflicts_total", "Transaction attempts discarded because of a conflict (each was run again).", nil, nil)
	descFailures    = prometheus.NewDesc("sluice_storage_conflict_failures_total", "Transactions that gave up after too many conflicts.", nil, nil)
	descStalls      = prometheus.NewDesc("sluice_storage_write_stalls_total", "Times Pebble held every commit back because flushes or compactions fell behind.", nil, nil)
	descStallTime   = prometheus.NewDesc("sluice_storage_write_stall_seconds_total", "Time spent in finished write stalls.", nil, nil)
	descWALFsync    = prometheus.NewDesc("sluice_storage_wal_fsync_seconds", "Latency of the WAL syncs that make commits durable.", nil, nil)
	descL0Files     = prometheus.NewDesc("sluice_storage_l0_files", "Sstables in level 0 (many make every read and the next compaction slower).", nil, nil)
	descMemtables   = prometheus.NewDesc("sluice_storage_memtables", "Memtables held in memory (queued ones are waiting to be flushed).", nil, nil)
	storeCollectors = []*prometheus.Desc{descCommits, descConflicts, descFailures, descStalls, descStallTime, descWALFsync, descL0Files, descMemtables}
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range storeCollectors {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.Metrics()
	ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(m.Commits))
	ch <- prometheus.MustNewConstMetric(descConflicts, prometheus.CounterValue, float64(m.Conflicts))
	ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(m.Failures))
	c.s.stalls.mu.Lock()
	count, total := c.s.stalls.count, c.s.stalls.total
	c.s.stalls.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descStalls, prometheus.CounterValue, float64(count))
	ch <- prometheus.MustNewConstMetric(descStallTime, prometheus.CounterValue, total.Seconds())

	// Like an Update, registered in ops so that Close waits for it
	// (Pebble panics when used after Close).
	c.s.mu.Lock()
	if c.s.closed {
		c.s.mu.Unlock()
		return
	}
	c.s.ops.Add(1)
	c.s.mu.Unlock()
	defer c.s.ops.Done()
	pm := c.s.db.Metrics()
	ch <- prometheus.MustNewConstMetric(descL0Files, prometheus.GaugeValue, float64(pm.Levels[0].TablesCount))
	ch <- prometheus.MustNewConstMetric(descMemtables, prometheus.GaugeValue, float64(pm.MemTable.Count))
	if h := pm.LogWriter.FsyncLatency; h != nil {
		if hist, ok := secondsHistogram(h); ok {
			ch <- hist
		}
	}
}

// secondsHistogram re-exposes Pebble's fsync histogram (observed in
// nanoseconds, unnamed) under our name in seconds.
func secondsHistogram(h prometheus.Histogram) (prometheus.Metric, bool) {
	var pb dto.Metric
	if err := h.Write(&pb); err != nil || pb.Histogram == nil {
		return nil, false
	}
	buckets := make(map[float64]uint64, len(pb.Histogram.Bucket))
	for _, b := range pb.Histogram.Bucket {
		buckets[b.GetUpperBound()/1e9] = b.GetCumulativeCount()
	}
	m, err := prometheus.NewConstHistogram(descWALFsync, pb.Histogram.GetSampleCount(), pb.Histogram.GetSampleSum()/1e9, buckets)
	return m, err == nil
}
