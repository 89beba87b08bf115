package dispatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/storage"
)

// Key layout: every key starts with the table byte 'N' (object uses 'b',
// 'o', 'v'; queue 'Q'; function 'F'; role 'R').
//
//	"Nc/" bucket                     the bucket's configuration (notify.Encode)
//	"Ne"                             the sequencer epoch (8 bytes, big endian)
//	"Nr/" request-id 0x00 record-id  a request-id index entry (index.go)
//	"Nf/" function ARN               a function delivery queue in use
const (
	configPrefix   = "Nc/"
	epochKey       = "Ne"
	indexPrefix    = "Nr/"
	functionPrefix = "Nf/"
)

// Storage queues of the delivery path.
const (
	// HeldQueue holds the records of destinations that refuse, do not
	// exist (yet) or are not served (topics), with their reason.
	HeldQueue = "notify/held"
	// functionQueuePrefix + the function ARN is a function's delivery
	// queue.
	functionQueuePrefix = "notify/function/"
)

// FunctionQueue is the storage queue that holds the records for the
// function functionARN (the asynchronous invocation queue issue 8 drains).
func FunctionQueue(functionARN string) string { return functionQueuePrefix + functionARN }

// ErrNoSuchDestination is what Destinations.EnqueueTx returns when the
// destination does not exist (any more).
var ErrNoSuchDestination = errors.New("dispatch: no such destination")

// Destinations is what dispatch needs of the destination services; the
// server implements it over queue.Service and function.Service. Check is
// notify's: whether a destination exists and lets S3 deliver for a bucket.
type Destinations interface {
	notify.Destinations
	// EnqueueTx enqueues body into the local queue queueARN inside tx, as
	// the message S3 would send (no attributes). ErrNoSuchDestination when
	// the queue does not exist; any other error aborts tx.
	EnqueueTx(tx storage.Tx, queueARN string, body []byte) error
	// InvokeTx enqueues payload into the function functionARN's
	// invocation queue inside tx (asynchronous invocation, one durable
	// hop) for an event of bucket (whose access the function's policy
	// must still allow at delivery); ref is handed back to Settled when
	// the invocation finished. ErrNoSuchDestination when the function
	// does not exist; any other error aborts tx.
	InvokeTx(tx storage.Tx, functionARN string, payload []byte, lineage event.Lineage, bucket, ref string) error
}

// Buckets runs transactions in which a bucket exists (object.Service's
// UpdateBucket and ViewBucket). Both return the object domain's
// no-such-bucket error, which dispatch passes through.
type Buckets interface {
	UpdateBucket(ctx context.Context, bucket string, fn func(tx storage.Tx) error) error
	ViewBucket(ctx context.Context, bucket string, fn func(tx storage.ReadTx) error) error
}

// Store is the storage dispatch uses: the key-value store with its queue
// primitive (the held queue is leased by the delivery worker).
type Store interface {
	storage.Store
}

// Config is what New needs.
type Config struct {
	Store        Store
	Buckets      Buckets
	Destinations Destinations
	Clock        clock.Clock  // nil: the wall clock
	Logger       *slog.Logger // nil: discard
	// Registerer receives the metrics (the server's registry). Nil
	// registers nothing.
	Registerer prometheus.Registerer
	Region     string // awsRegion of records; default us-east-1
	// AccountID is the bucket owner's account: aws:SourceAccount of the
	// policy checks. Default 000000000000.
	AccountID string
	// OwnerID is the records' s3.bucket.ownerIdentity.principalId.
	// Default AccountID.
	OwnerID string
	// MaxHeld bounds the held records; beyond it the oldest are dropped.
	// Default 10000.
	MaxHeld int
	// MaxHeldAge bounds how long a record is held; default 24h.
	MaxHeldAge time.Duration
	// RetryMax caps the interval between two checks of a held record's
	// destination (they back off from one second); default 30s.
	RetryMax time.Duration
	// IndexRetention is how long final request-id index entries are kept;
	// default 1h.
	IndexRetention time.Duration
}

// Service publishes, holds, delivers and waits. One Service per store.
type Service struct {
	cfg   Config
	store Store
	dest  Destinations
	clock clock.Clock
	log   *slog.Logger
	seq   *event.Sequence
	m     *metrics

	// configs caches decoded configurations by bucket, keyed by the
	// stored bytes they came from, so that Publish decodes XML only when a
	// configuration changed; the stored bytes are read in every
	// transaction, so the cache can never serve a stale configuration.
	mu       sync.Mutex
	configs  map[string]cachedConfig
	progress chan struct{} // closed and replaced after each delivery commit; guarded by mu

	held heldCounts // the delivery worker's own
}

type cachedConfig struct {
	raw []byte
	cfg *notify.Configuration
}

// New returns the Service. It bumps the stored sequencer epoch with a
// durable commit first (event/doc.go, "Sequencer"), so it must be called
// once per opening of the store, before any object change is published.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
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
	if cfg.OwnerID == "" {
		cfg.OwnerID = cfg.AccountID
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 10000
	}
	if cfg.MaxHeldAge <= 0 {
		cfg.MaxHeldAge = 24 * time.Hour
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.IndexRetention <= 0 {
		cfg.IndexRetention = time.Hour
	}
	var epoch uint64
	err := cfg.Store.Update(ctx, func(tx storage.Tx) error {
		epoch = 0
		v, err := tx.Get([]byte(epochKey))
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		case len(v) != 8:
			return fmt.Errorf("dispatch: corrupt sequencer epoch (%d bytes)", len(v))
		default:
			epoch = binary.BigEndian.Uint64(v)
		}
		epoch++
		return tx.Set([]byte(epochKey), binary.BigEndian.AppendUint64(nil, epoch))
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: bump sequencer epoch: %w", err)
	}
	seq, err := event.NewSequence(epoch)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, store: cfg.Store, dest: cfg.Destinations, clock: cfg.Clock, log: cfg.Logger,
		seq: seq, configs: map[string]cachedConfig{}, progress: make(chan struct{}),
	}
	s.m = newMetrics(cfg.Registerer, func() float64 {
		st := s.store.Stats(HeldQueue)
		return float64(st.Visible + st.InFlight + st.Delayed)
	})
	return s, nil
}

// progressed wakes every Wait: a delivery, drop or settlement committed.
func (s *Service) progressed() {
	s.mu.Lock()
	close(s.progress)
	s.progress = make(chan struct{})
	s.mu.Unlock()
}

func (s *Service) progressChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress
}

type metrics struct {
	delivered   *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	eventBridge prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, held func() float64) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_notify_held_delivered_total",
			Help: "Held event records delivered once their destination accepted them, by destination kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_notify_dropped_total",
			Help: "Held event records dropped, by destination kind and reason (max_age, max_held, corrupt).",
		}, []string{"kind", "reason"}),
		eventBridge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_notify_eventbridge_configurations_total",
			Help: "Notification configurations saved with EventBridgeConfiguration, for which Sluice delivers nothing.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.delivered, m.dropped, m.eventBridge, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_notify_held",
			Help: "Event records currently held because their destination refuses, is missing or is not served.",
		}, held))
	}
	return m
}
