// Package server is Sluice's composition root: it opens the storage engine,
// builds every part with its dependencies, owns the metrics registry, and
// serves S3 (and, in later issues, SQS, SNS, Lambda, IAM and STS) on one
// port, routing each request to its service as DESIGN.md ("One port, four
// services") describes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/dispatch"
	"sluice/internal/eventsource"
	"sluice/internal/function"
	"sluice/internal/lambdaapi"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/role"
	"sluice/internal/s3api"
	"sluice/internal/sqsapi"
	"sluice/internal/storage"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// Config is everything the server needs; cmd/sluice fills it from flags and
// the environment (SLUICE_*).
type Config struct {
	Addr string // listen address; "127.0.0.1:0" picks a free port
	// Listener, when set, is served instead of listening on Addr (socket
	// activation; tests that shape the accepted sockets). Close closes it.
	Listener  net.Listener
	DataDir   string
	Region    string // default us-east-1
	AccountID string // default 000000000000
	// PublicURL is the base of URLs Sluice hands out; default the
	// listener's own http://127.0.0.1:PORT address.
	PublicURL string
	// Domains are the base hosts of virtual-hosted style requests
	// (<bucket>.<domain>); default "localhost" plus PublicURL's host.
	Domains []string
	// Root credentials; when empty they are created on first start and
	// kept in the data directory.
	RootAccessKey string
	RootSecretKey string

	Logger *slog.Logger // default discards
	Clock  clock.Clock  // default the wall clock

	// BlobGrace is how long an unreferenced blob is kept before the sweeper
	// removes it (it protects uploads whose commit is still to come).
	BlobGrace time.Duration // default 1h
	// SweepEvery is the sweeper's period; default 10m.
	SweepEvery time.Duration
	// ShutdownTimeout bounds the graceful shutdown; default 10s.
	ShutdownTimeout time.Duration

	// Per-phase timeouts (limits.go): a zero field takes its Default*
	// value, a negative one disables that bound.
	ReadHeaderTimeout time.Duration // reading the request headers
	BodyIdleTimeout   time.Duration // a request body making no progress
	WriteIdleTimeout  time.Duration // a response write that cannot proceed
	IdleTimeout       time.Duration // a keep-alive connection between requests
	// Functions (issue 7): RuntimeDir holds Sluice's runtime bootstraps
	// and the instances' working directories (default DataDir/runtime);
	// Python and Node name the interpreters (SLUICE_PYTHON, SLUICE_NODE;
	// default from PATH); MaxInstances caps running instances
	// (SLUICE_MAX_INSTANCES; default function.DefaultMaxInstances).
	RuntimeDir   string
	Python, Node string
	MaxInstances int

	// MaxHeaderBytes bounds the request headers net/http reads; default
	// DefaultMaxHeaderBytes. S3's own 8 KiB limit is checked by the S3
	// handler, with S3's error.
	MaxHeaderBytes int
}

// Server is a running Sluice: its storage, its parts and its listener.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	listener net.Listener
	http     *http.Server
	store    *pebblestore.Store
	blobs    *blobstore.Store
	sweeper  *storage.Sweeper
	queues   *queue.Service
	// keys resolves the root key and function instances' session keys
	// for every service's verifier.
	keys      *keyring
	sessions  *role.Sessions
	roles     *role.Service
	functions *function.Service
	// mappings are the event source mappings (SQS queue -> function).
	mappings *eventsource.Service
	// dispatch publishes, holds and delivers S3 event records (issue 6).
	dispatch *dispatch.Service
	iam      http.Handler
	lambda   *lambdaapi.Handler
	registry *prometheus.Registry
	root     auth.Credentials
	url      string

	closeOnce sync.Once
	closeErr  error
}

// New opens the data directory and the listener and builds every part. When
// New returns, the address is bound (Addr is final) and connections queue
// until Run serves them.
func New(cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	root, err := rootCredentials(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: cfg.Logger, root: root, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.store, err = pebblestore.Open(pebblestore.Options{Dir: filepath.Join(cfg.DataDir, "db"), Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	s.registry.MustRegister(s.store.Collector())
	s.blobs, err = blobstore.Open(blobstore.Options{Dir: filepath.Join(cfg.DataDir, "blobs"), Clock: cfg.Clock})
	if err != nil {
		s.store.Close()
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s.sweeper = &storage.Sweeper{Store: s.store, Blobs: s.blobs, Clock: cfg.Clock, Grace: cfg.BlobGrace, Logger: cfg.Logger}

	s.listener = cfg.Listener
	if s.listener == nil {
		s.listener, err = net.Listen("tcp", cfg.Addr)
	}
	if err != nil {
		s.closeStorage()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.url = cfg.PublicURL
	if s.url == "" {
		s.url = "http://" + endpointHost(s.listener.Addr())
	}
	if len(cfg.Domains) == 0 {
		s.cfg.Domains = defaultDomains(cfg.PublicURL)
	}

	s.sessions = role.NewSessions(cfg.Clock)
	s.keys = &keyring{root: root, sessions: s.sessions}
	// dispatch bumps the sequencer epoch before any object change can be
	// published; its destinations reach the queue and function services
	// through s, which are built below and before the first request.
	s.dispatch, err = dispatch.New(context.Background(), dispatch.Config{
		Store: s.store, Destinations: notifyDestinations{s}, Clock: cfg.Clock, Logger: cfg.Logger,
		Registerer: s.registry, Region: cfg.Region, AccountID: cfg.AccountID,
	})
	if err != nil {
		s.listener.Close()
		s.closeStorage()
		return nil, err
	}
	objects := object.New(object.Config{Store: s.store, Blobs: s.blobs, Clock: cfg.Clock, Events: s.dispatch})
	s.dispatch.SetBuckets(objects)
	s3 := s3api.New(s3api.Config{
		Objects:       objects,
		Notifications: s.dispatch,
		Lineage:       invocationLineage{s},
		Verifier:      &auth.Verifier{Keys: s.keys, Clock: cfg.Clock},
		Region:        cfg.Region,
		Domains:       s.cfg.Domains,
		Owner:         s3api.Owner{ID: cfg.AccountID, DisplayName: "sluice"},
		Clock:         cfg.Clock,
		Logger:        cfg.Logger,
		Registerer:    s.registry,
	})
	s.queues = queue.New(queue.Config{Store: s.store, Clock: cfg.Clock, Logger: cfg.Logger, Region: cfg.Region, AccountID: cfg.AccountID})
	sqs := sqsapi.New(sqsapi.Config{
		Queues:     s.queues,
		Verifier:   &auth.Verifier{Keys: s.keys, Clock: cfg.Clock},
		PublicURL:  s.url,
		Lineage:    invocationLineage{s},
		Logger:     cfg.Logger,
		Registerer: s.registry,
	})
	if err := s.buildFunctions(objects); err != nil {
		s.listener.Close()
		s.closeStorage()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           withEmptyBodyContinue(s.withPhaseTimeouts(s.routes(s3, sqs))),
		ReadHeaderTimeout: max(cfg.ReadHeaderTimeout, 0),
		IdleTimeout:       max(cfg.IdleTimeout, 0),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnContext:       connContext,
		ConnState:         connState,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	// Long polls end (empty) as soon as shutdown starts, instead of
	// holding Shutdown for up to 20 s each.
	s.http.RegisterOnShutdown(s.queues.Close)
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:9000"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "sluice-data"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.BlobGrace == 0 {
		cfg.BlobGrace = time.Hour
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = 10 * time.Minute
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.BodyIdleTimeout == 0 {
		cfg.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if cfg.WriteIdleTimeout == 0 {
		cfg.WriteIdleTimeout = DefaultWriteIdleTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return cfg
}

// endpointHost is the host:port clients should use for addr: 127.0.0.1 for
// an unspecified or loopback address, never "localhost" (bucket.localhost
// does not resolve on every machine, and aws-sdk-go-v2 uses
// virtual-hosted addressing for any hostname endpoint).
func endpointHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP.IsUnspecified() || tcp.IP.IsLoopback() && tcp.IP.To4() == nil {
		return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	return tcp.String()
}

func defaultDomains(publicURL string) []string {
	domains := []string{"localhost"}
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" && u.Hostname() != "localhost" {
		domains = append(domains, u.Hostname())
	}
	return domains
}

// URL is the endpoint URL clients use (SLUICE_PUBLIC_URL or the listener's).
func (s *Server) URL() string { return s.url }

// Addr is the bound listen address.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// DataDir is the data directory in use.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// RootCredentials are the account's root access key and secret.
func (s *Server) RootCredentials() auth.Credentials { return s.root }

// Registry is the server's own metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// waits up to ShutdownTimeout for requests in flight, and closes storage.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.sweeper.Run(ctx, s.cfg.SweepEvery)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.dispatch.Run(ctx)
	}()
	if err := s.mappings.Start(ctx); err != nil {
		s.logger.Error("event source mappings not started", "err", err)
	}
	go func() {
		// Pollers stop before shutdown closes the queues' long polls.
		<-ctx.Done()
		s.mappings.Close()
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(faultListener{s.listener}) }()
	s.logger.Info("serving", "url", s.url, "data", s.cfg.DataDir, "region", s.cfg.Region)

	var err error
	select {
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	case <-ctx.Done():
		s.logger.Info("shutting down")
		shutdownCtx, done := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		err = s.http.Shutdown(shutdownCtx)
		done()
	}
	cancel()
	wg.Wait()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops serving at once and closes storage. Run calls it; tests that
// never ran the server call it themselves.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.http.Close()
		s.listener.Close()
		s.mappings.Close() // pollers first: they read queues and run functions
		s.queues.Close()   // stops move tasks before storage closes
		s.functions.Close()
		s.closeErr = s.closeStorage()
	})
	return s.closeErr
}

func (s *Server) closeStorage() error {
	return errors.Join(s.store.Close())
}
