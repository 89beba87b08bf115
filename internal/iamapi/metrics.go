package iamapi

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
			Name: "sluice_iam_requests_total",
			Help: "IAM and STS requests by service, action and result code (OK or the error code).",
		}, []string{"service", "action", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_iam_request_duration_seconds",
			Help:    "Time to answer an IAM or STS request, by service and action.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"service", "action"}),
	}
	if reg != nil {
		m.requests = awsproto.Register(reg, m.requests)
		m.duration = awsproto.Register(reg, m.duration)
	}
	return m
}

func (m *metrics) observe(service, action, code string, d time.Duration) {
	m.requests.WithLabelValues(service, action, code).Inc()
	m.duration.WithLabelValues(service, action).Observe(d.Seconds())
}
