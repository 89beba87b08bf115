package lambdaapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/awsproto"
)

// metrics are the handler's Prometheus collectors, registered on the
// server's own registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_lambda_requests_total",
			Help: "Lambda API requests by operation and result code (OK or the error code).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_lambda_request_duration_seconds",
			Help:    "Time to answer a Lambda API request, by operation (Invoke includes the function run).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"operation"}),
	}
	if reg != nil {
		m.requests = awsproto.Register(reg, m.requests)
		m.duration = awsproto.Register(reg, m.duration)
	}
	return m
}

func (m *metrics) observe(op, code string, d time.Duration) {
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}
