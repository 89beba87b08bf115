package s3api

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/awsproto"
)

// metrics are the handler's Prometheus collectors, registered on the
// server's own registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// byOp caches the children of the vectors per operation and status:
	// WithLabelValues hashes the labels and takes the vector's lock on
	// every call, which showed in the per-request cost.
	mu   sync.RWMutex
	byOp map[string]*opMetrics
}

type opMetrics struct {
	duration prometheus.Observer
	requests map[int]prometheus.Counter // by status; guarded by metrics.mu
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_s3_requests_total",
			Help: "S3 requests by operation (as AWS names it) and HTTP status.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_s3_request_duration_seconds",
			Help:    "Time to answer an S3 request, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"operation"}),
	}
	if reg != nil {
		m.requests = awsproto.Register(reg, m.requests)
		m.duration = awsproto.Register(reg, m.duration)
	}
	return m
}

func (m *metrics) observe(operation string, status int, d time.Duration) {
	m.mu.RLock()
	om := m.byOp[operation]
	var c prometheus.Counter
	if om != nil {
		c = om.requests[status]
	}
	m.mu.RUnlock()
	if c == nil {
		om, c = m.children(operation, status)
	}
	c.Inc()
	om.duration.Observe(d.Seconds())
}

// children looks up and caches the collectors of (operation, status).
func (m *metrics) children(operation string, status int) (*opMetrics, prometheus.Counter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byOp == nil {
		m.byOp = map[string]*opMetrics{}
	}
	om := m.byOp[operation]
	if om == nil {
		om = &opMetrics{duration: m.duration.WithLabelValues(operation), requests: map[int]prometheus.Counter{}}
		m.byOp[operation] = om
	}
	c := om.requests[status]
	if c == nil {
		c = m.requests.WithLabelValues(operation, strconv.Itoa(status))
		om.requests[status] = c
	}
	return om, c
}
