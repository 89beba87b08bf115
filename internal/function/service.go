package function

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/clock"
	"sluice/internal/function/runtimes"
)

var (
	sidRE    = regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`)
	actionRE = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// New returns the function service. It resolves the python3 and node
// interpreters once (from Config or PATH) and picks the memory limiter;
// it starts no process until the first Invoke.
func New(cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.ProcessClock == nil {
		cfg.ProcessClock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = time.Second
	}
	if cfg.LogBytes <= 0 {
		cfg.LogBytes = DefaultLogBytes
	}
	if cfg.RuntimeDir != "" {
		// Instances run in their own task directory, so a relative path
		// (from a relative --data) would resolve against the wrong one.
		abs, err := filepath.Abs(cfg.RuntimeDir)
		if err != nil {
			return nil, err
		}
		cfg.RuntimeDir = abs
	}
	s := &Service{
		store: cfg.Store, blobs: cfg.Blobs, clock: cfg.Clock, pclock: cfg.ProcessClock,
		log: cfg.Logger, region: cfg.Region, acct: cfg.AccountID, cfg: cfg,
		metrics: newMetrics(cfg.Registerer),
		done:    make(chan struct{}),
		pools:   map[string]*pool{}, logs: map[string]*logRing{}, keys: map[string]*instance{},
		live: map[*instance]bool{}, changed: make(chan struct{}),
	}
	s.interp = resolveInterpreters(cfg, s.log)
	if cfg.RuntimeDir != "" {
		paths, err := runtimes.Install(cfg.RuntimeDir)
		if err != nil {
			return nil, err
		}
		s.paths = paths
		s.code = newCodeCache(codeCacheDir(cfg.RuntimeDir))
	}
	mem, err := newMemoryLimiter(cfg.MemoryLimit, s.pclock, s.log)
	if err != nil {
		return nil, err
	}
	s.memory = mem
	s.wg.Add(1)
	go s.reaper()
	if err := s.startAsync(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Region is the region every function lives in; AccountID its account.
func (s *Service) Region() string    { return s.region }
func (s *Service) AccountID() string { return s.acct }

// ARN returns the unqualified ARN of the function called name.
func (s *Service) ARN(name string) string { return s.arnOf(name) }

// MemoryEnforcement names how MemorySize is enforced on this machine:
// "cgroup v2", "cgroup v1", "sampling" or "off".
func (s *Service) MemoryEnforcement() string { return s.memory.name() }

// metrics are the service's Prometheus collectors.
type metrics struct {
	functions prometheus.Gauge
	instances prometheus.Gauge
	invokes   *prometheus.CounterVec
	starts    prometheus.Counter
	duration  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		functions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_functions", Help: "Functions created since start (minus deleted)."}),
		instances: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_function_instances", Help: "Function instances (processes) alive or starting."}),
		invokes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_invocations_total",
			Help: "Invocations by outcome: ok, error (function error), timeout, crash, throttled."}, []string{"outcome"}),
		starts: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_function_cold_starts_total", Help: "Instances started."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_function_invocation_duration_seconds",
			Help: "Invocation duration as REPORT measures it.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}),
	}
	if reg != nil {
		m.functions = register(reg, m.functions)
		m.instances = register(reg, m.instances)
		m.invokes = register(reg, m.invokes)
		m.starts = register(reg, m.starts)
		m.duration = register(reg, m.duration)
	}
	return m
}

// register adds c to reg, or shares the equal collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex
			}
		}
	}
	return c
}
