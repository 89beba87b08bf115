package awsproto

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Register adds c to reg and returns it; when an equal collector is there
// already (a second handler built on the same server registry, as tests
// do) it returns that one, so both handlers count into the same series.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// RequestMetrics counts an API's requests by operation and result code
// and times them by operation: the two series every API edge of the
// server exports (sluice_<service>_requests_total and
// sluice_<service>_request_duration_seconds).
type RequestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// The children are kept per operation and code: WithLabelValues
	// hashes the labels and takes the vector's lock on every call, which
	// shows in a small request's cost. Callers keep both label values to
	// a bounded set (unknown operations under one name).
	mu   sync.RWMutex
	byOp map[string]*opMetrics
}

type opMetrics struct {
	duration prometheus.Observer
	byCode   map[string]prometheus.Counter // guarded by RequestMetrics.mu
}

// RequestMetricsOpts names an API's series and labels.
type RequestMetricsOpts struct {
	Service      string // "sqs" makes sluice_sqs_requests_total
	OpLabel      string // "action" or "operation"
	CodeLabel    string // the result's label; "" means "code"
	RequestsHelp string
	DurationHelp string
}

// NewRequestMetrics registers the series on reg (nil: not registered;
// already registered: the existing ones are shared, see Register).
func NewRequestMetrics(reg prometheus.Registerer, o RequestMetricsOpts) *RequestMetrics {
	if o.CodeLabel == "" {
		o.CodeLabel = "code"
	}
	m := &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_" + o.Service + "_requests_total",
			Help: o.RequestsHelp,
		}, []string{o.OpLabel, o.CodeLabel}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_" + o.Service + "_request_duration_seconds",
			Help:    o.DurationHelp,
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{o.OpLabel}),
		byOp: map[string]*opMetrics{},
	}
	if reg != nil {
		m.requests = Register(reg, m.requests)
		m.duration = Register(reg, m.duration)
	}
	return m
}

// Observe counts one request of op that ended with code and took d.
func (m *RequestMetrics) Observe(op, code string, d time.Duration) {
	m.mu.RLock()
	om := m.byOp[op]
	var c prometheus.Counter
	if om != nil {
		c = om.byCode[code]
	}
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if om = m.byOp[op]; om == nil {
			om = &opMetrics{duration: m.duration.WithLabelValues(op), byCode: map[string]prometheus.Counter{}}
			m.byOp[op] = om
		}
		if c = om.byCode[code]; c == nil {
			c = m.requests.WithLabelValues(op, code)
			om.byCode[code] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
	om.duration.Observe(d.Seconds())
}

// statusCodes holds the decimal text of every HTTP status, so that a
// status label costs no allocation per request. Written once, at init.
var statusCodes = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// StatusCode is status as a label value ("200", "404").
func StatusCode(status int) string {
	if status >= 0 && status < len(statusCodes) {
		return statusCodes[status]
	}
	return strconv.Itoa(status)
}
