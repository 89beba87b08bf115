package function

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/clock"
	"sluice/internal/function/runtimes"
	"sluice/internal/storage"
)

// Defaults and Lambda's limits (Lambda Developer Guide, "Lambda quotas").
const (
	DefaultTimeout    = 3   // seconds
	MaxTimeout        = 900 // seconds
	DefaultMemorySize = 128 // MB
	MinMemorySize     = 128
	MaxMemorySize     = 10240
	// MaxZipSize is the largest zip CreateFunction/UpdateFunctionCode take
	// directly (50 MB) and MaxUnzippedSize the largest unpacked package.
	MaxZipSize      = 50 << 20
	MaxUnzippedSize = 250 << 20
	// MaxPayload is the synchronous request and response limit (6 MB).
	MaxPayload = 6 << 20
	// LogTailBytes is how much of an invocation's log LogType Tail returns.
	LogTailBytes = 4 << 10
	// DefaultMaxInstances is SLUICE_MAX_INSTANCES when unset: the account's
	// "ConcurrentExecutions" as GetAccountSettings reports it.
	DefaultMaxInstances = 64
	// DefaultLogBytes bounds each function's kept log.
	DefaultLogBytes = 1 << 20
	// Version names the unpublished, mutable version; published versions
	// are "1", "2", ... (version.go).
	Version = "$LATEST"
)

// Config is what New needs. Zero fields take the defaults given.
type Config struct {
	Store  storage.Store // function records, policies, tags, blob refs
	Blobs  storage.Blobs // zip packages
	Clock  clock.Clock   // LastModified and log timestamps; nil = wall clock
	Logger *slog.Logger
	// Registerer receives the package's metrics; nil means none.
	Registerer prometheus.Registerer
	Region     string // default us-east-1
	AccountID  string // default 000000000000

	// ProcessClock times real processes: Invoke timeouts, init timeouts,
	// idle instances, durations in REPORT lines and the deadline handed to
	// the function (Lambda-Runtime-Deadline-Ms, which runtimes compare with
	// their own wall clock, so it must be real time). Nil = wall clock.
	// Tests keep the wall clock here even when Clock is a fake.
	ProcessClock clock.Clock

	// RuntimeDir holds Sluice's language bootstraps, the Node SDK installed
	// by InstallNodeSDK, and the working directories of instances
	// (RuntimeDir/instances). Required to run functions.
	RuntimeDir string
	// Python and Node name the interpreters for python3.x and nodejs*
	// runtimes (SLUICE_PYTHON, SLUICE_NODE); empty means "python3" and
	// "node" looked up once in PATH at New. A runtime whose interpreter
	// is missing fails its invocations with Runtime.InvalidEntrypoint.
	Python, Node string

	// Runtime starts the Runtime API endpoint of a new instance (the server
	// wires runtimeapi.Listen). Required to run functions.
	Runtime RuntimeListener
	// Credentials mints the credentials an instance runs with (an assumed
	// role session of the function's role). Nil: instances get no
	// credentials.
	Credentials CredentialsFunc
	// RoleExists checks the Role of CreateFunction and
	// UpdateFunctionConfiguration; nil accepts any well-formed role ARN. It
	// returns nil when the role may be used.
	RoleExists func(ctx context.Context, roleARN string) error
	// Queues delivers invocation records and dead-letter messages to
	// Sluice's SQS queues (asynchronous invocation); nil refuses queue
	// destinations.
	Queues QueueSender
	// Tracker learns when events enqueued with EnqueueEventTx finish (the
	// wait API); nil: nobody is told.
	Tracker Tracker
	// EndpointURL is Sluice's plain-HTTP loopback URL
	// (http://127.0.0.1:PORT), given to instances as AWS_ENDPOINT_URL.
	EndpointURL string

	MaxInstances int           // SLUICE_MAX_INSTANCES; default DefaultMaxInstances
	IdleTimeout  time.Duration // an idle instance is stopped after it; default 5 minutes
	InitTimeout  time.Duration // a new instance must call /next within it; default 10 s (Lambda's init phase limit)
	// QueueWait is how long an Invoke waits for an instance when the
	// function is at its concurrency limit before ErrTooManyRequests;
	// default 1 s.
	QueueWait time.Duration
	LogBytes  int // per-function log bound; default DefaultLogBytes
	// MemoryLimit selects how MemorySize is enforced: MemoryAuto (cgroup
	// when usable, else sampling), MemoryCgroup, MemorySampling, MemoryOff.
	MemoryLimit MemoryMode
}

// MemoryMode is how an instance's MemorySize is enforced.
type MemoryMode int

// The memory modes.
const (
	MemoryAuto     MemoryMode = iota // cgroup v2 or v1 if writable, else sampling
	MemoryCgroup                     // cgroup only; New fails if none is usable
	MemorySampling                   // sample /proc and kill the process group
	MemoryOff                        // measure only
)

// RuntimeListener starts one instance's Runtime API endpoint on
// 127.0.0.1:0. The endpoint's port is the instance's identity.
type RuntimeListener func() (RuntimeEndpoint, error)

// RuntimeEndpoint is one instance's Lambda Runtime API server, as the
// function domain drives it. It is implemented by internal/runtimeapi.
type RuntimeEndpoint interface {
	// Addr is "127.0.0.1:port", the value of AWS_LAMBDA_RUNTIME_API.
	Addr() string
	// Serve hands inv to the process's next (or pending) GET .../next and
	// waits for its outcome:
	//   - a POST .../{id}/response: Outcome{Payload}, nil;
	//   - a POST .../{id}/error: Outcome{Payload: the error JSON, Error: true}, nil;
	//   - a POST /runtime/init/error before or while inv is pending:
	//     Outcome{Payload, Error: true, Init: true}, nil;
	//   - ctx ends first (timeout, process exit): zero Outcome and an error
	//     wrapping context.Cause(ctx), which also wraps ErrUndelivered when
	//     no GET .../next had taken inv; a later response for inv is
	//     refused (403).
	// One Serve at a time per endpoint.
	Serve(ctx context.Context, inv Invocation) (Outcome, error)
	// Ready is closed when the process first calls GET .../next (init done).
	Ready() <-chan struct{}
	// InitError is closed when the process posts /runtime/init/error
	// before its first invocation; InitOutcome then holds what it posted.
	InitError() <-chan struct{}
	InitOutcome() Outcome
	// Close stops the server and fails any pending request.
	Close() error
}

// Invocation is one event handed to an instance through the Runtime API.
type Invocation struct {
	RequestID   string
	Payload     []byte
	Deadline    time.Time // Lambda-Runtime-Deadline-Ms
	FunctionARN string    // Lambda-Runtime-Invoked-Function-Arn
	TraceID     string    // Lambda-Runtime-Trace-Id
	// ClientContext is the decoded X-Amz-Client-Context JSON, "" for none.
	ClientContext string
}

// Outcome is what the instance answered for an Invocation.
type Outcome struct {
	Payload []byte
	Error   bool   // posted to /error or /init/error
	Init    bool   // posted to /init/error
	ErrType string // Lambda-Runtime-Function-Error-Type header, if sent
}

// Credentials are what an instance's SDK signs with.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// Session describes the instance credentials are minted for.
type Session struct {
	FunctionName string
	FunctionARN  string
	Role         string // the function's execution role ARN
	InstanceID   string // the instance's Runtime API address
}

// CredentialsFunc mints credentials for a new instance.
type CredentialsFunc func(ctx context.Context, s Session) (Credentials, error)

// Service is the function domain: function records, code packages,
// policies, concurrency, tags, the instances that run functions, and their
// logs. One Service serves concurrent callers; two Services in one process
// are independent.
type Service struct {
	store  storage.Store
	blobs  storage.Blobs
	clock  clock.Clock
	pclock clock.Clock
	log    *slog.Logger
	region string
	acct   string
	cfg    Config // normalised copy (defaults filled in)

	metrics *metrics
	async   *asyncState // asynchronous invocation (async.go)
	interp  *interpreters
	paths   runtimes.Paths
	memory  memoryLimiter
	code    *codeCache  // unpacked packages shared by instances (codecache.go); nil without RuntimeDir
	recs    recordCache // decoded records for Invoke (record.go)

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// mu guards everything below it: the pools and their instances, the
	// server-wide instance count, the logs and the access key index. One
	// lock for all pools keeps capacity decisions (which may stop an idle
	// instance of another function) simple; it is never held across I/O
	// or process start.
	mu      sync.Mutex
	pools   map[string]*pool     // by function name
	running int                  // instances alive or starting, all functions
	logs    map[string]*logRing  // by function name
	keys    map[string]*instance // access key id -> instance
	live    map[*instance]bool   // started and not yet reaped
	changed chan struct{}        // closed and replaced when capacity may have freed
	closed  bool
}
