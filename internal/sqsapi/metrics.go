package sqsapi

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
			Name: "sluice_sqs_requests_total",
			Help: "SQS requests by action and result code (OK or the SQS error code).",
		}, []string{"action", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_sqs_request_duration_seconds",
			Help:    "Time to answer an SQS request, by action (long polls included).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"action"}),
	}
	if reg != nil {
		m.requests = awsproto.Register(reg, m.requests)
		m.duration = awsproto.Register(reg, m.duration)
	}
	return m
}

func (m *metrics) observe(action, code string, d time.Duration) {
	if code == "" {
		code = "OK"
	}
	m.requests.WithLabelValues(action, code).Inc()
	m.duration.WithLabelValues(action).Observe(d.Seconds())
}
