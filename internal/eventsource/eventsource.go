package eventsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"sluice/internal/arn"
	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/storage"
)

// Limits of CreateEventSourceMapping for SQS (Lambda API reference).
const (
	DefaultBatchSize = 10
	MaxBatchSize     = 10000
	MaxWindow        = 300 // MaximumBatchingWindowInSeconds
	// DefaultPollers is how many batches a mapping runs at once when no
	// ScalingConfig.MaximumConcurrency is set: Lambda starts SQS polling
	// with five concurrent batches.
	DefaultPollers = 5
	// ReportBatchItemFailures is the one FunctionResponseTypes value.
	ReportBatchItemFailures = "ReportBatchItemFailures"
)

// Key layout: table byte 'L' (Lambda event source mappings), "Lm/<uuid>".
const mappingPrefix = "Lm/"

func mappingKey(id string) []byte { return []byte(mappingPrefix + id) }

// Queues is what the pollers need from the SQS domain.
type Queues interface {
	// QueueName returns the local queue a queue ARN names, or an error
	// when the ARN is not a queue of this server or the queue does not
	// exist.
	QueueName(ctx context.Context, queueARN string) (string, error)
	// Receive long-polls up to max (1..10) messages, waiting at most wait,
	// and hides them for the queue's visibility timeout. It returns no
	// messages and no error when the wait ends empty.
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]Message, error)
	// Delete deletes the messages the receipt handles name (a stale handle
	// deletes nothing and is no error).
	Delete(ctx context.Context, queue string, handles []string) error
}

// Message is a received SQS message as the SQS event shows it.
type Message struct {
	ID, ReceiptHandle, Body string
	SenderID, TraceHeader   string
	Sent, FirstReceive      time.Time
	ReceiveCount            int
	MD5OfBody               string
	MD5OfAttributes         string // "" without attributes
	Attributes              map[string]Attribute
	// Lineage is the invocation chain of the function that sent the
	// message (empty when none did); it never goes into the event.
	Lineage event.Lineage
}

// Attribute is a message attribute (DataType String, Number or Binary).
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Functions is what the pollers need from the function domain.
type Functions interface {
	// FunctionARN resolves a FunctionName parameter (name, partial ARN or
	// ARN, with an optional qualifier) to the function's ARN, qualified
	// when a qualifier was given; the function's own errors otherwise
	// (not found, malformed).
	FunctionARN(ctx context.Context, name string) (string, error)
	// Invoke runs the function synchronously as caused by lineage, so
	// that what the function sends carries the chain on. functionError
	// is true for a function error, timeout or crash (the payload is the
	// error JSON).
	Invoke(ctx context.Context, functionARN string, payload []byte, lineage event.Lineage) (result []byte, functionError bool, err error)
	// StopsRecursion reports whether a message caused by lineage must not
	// be passed to the function: its chain already ran 16 invocations and
	// the function's RecursiveLoop is Terminate.
	StopsRecursion(ctx context.Context, functionARN string, lineage event.Lineage) (bool, error)
	// CountRecursionStopped counts n messages not passed to the function
	// as a recursive loop (RecursiveInvocationsDropped).
	CountRecursionStopped(functionARN string, n int)
}

// Config is what New needs.
type Config struct {
	Store     storage.Store
	Queues    Queues
	Functions Functions
	Clock     clock.Clock // the batching window and back-off; nil = wall clock
	Logger    *slog.Logger
	Region    string // default us-east-1
	AccountID string // default 000000000000
	// Backoff is how long a poller waits after an error (a deleted queue or
	// function, a throttle); default 10 s.
	Backoff time.Duration
}

// Mapping is Lambda's EventSourceMappingConfiguration, with its JSON names.
type Mapping struct {
	UUID                           string         `json:"UUID"`
	EventSourceMappingArn          string         `json:"EventSourceMappingArn"`
	BatchSize                      int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int            `json:"MaximumBatchingWindowInSeconds"`
	EventSourceArn                 string         `json:"EventSourceArn"`
	FunctionArn                    string         `json:"FunctionArn"`
	LastModified                   float64        `json:"LastModified"` // epoch seconds
	LastProcessingResult           string         `json:"LastProcessingResult,omitempty"`
	State                          string         `json:"State"`
	StateTransitionReason          string         `json:"StateTransitionReason"`
	FunctionResponseTypes          []string       `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig `json:"ScalingConfig,omitempty"`
}

// ScalingConfig bounds how many batches of one mapping run at once.
type ScalingConfig struct {
	MaximumConcurrency *int `json:"MaximumConcurrency,omitempty"`
}

// Input is CreateEventSourceMapping's and UpdateEventSourceMapping's
// request; nil fields keep their value (Update) or take the default
// (Create).
type Input struct {
	EventSourceArn                 string // Create only
	FunctionName                   *string
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	Enabled                        *bool
	FunctionResponseTypes          *[]string
	ScalingConfig                  *ScalingConfig
}

// Sentinel errors; each *Error matches one with errors.Is and carries
// Lambda's message. lambdaapi maps them to the Lambda error codes.
var (
	ErrNotFound         = errors.New("eventsource: not found")               // ResourceNotFoundException 404
	ErrConflict         = errors.New("eventsource: conflict")                // ResourceConflictException 409
	ErrInvalidParameter = errors.New("eventsource: invalid parameter value") // InvalidParameterValueException 400
	ErrValidation       = errors.New("eventsource: validation error")        // ValidationException 400
)

// Error is a refused operation with the message Lambda gives for it.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// record is a mapping as stored (JSON).
type record struct {
	UUID          string   `json:"id"`
	Source        string   `json:"src"` // queue ARN
	Function      string   `json:"fn"`  // function ARN, qualified or not
	BatchSize     int      `json:"batch"`
	Window        int      `json:"window"`
	Enabled       bool     `json:"enabled"`
	ResponseTypes []string `json:"rtypes,omitempty"`
	MaxConc       *int     `json:"maxconc,omitempty"`
	Modified      int64    `json:"modified"` // unix ms
}

// Service keeps the mappings and runs their pollers. Two Services in one
// process are independent.
type Service struct {
	store   storage.Store
	queues  Queues
	fns     Functions
	clock   clock.Clock
	log     *slog.Logger
	region  string
	acct    string
	backoff time.Duration

	// mu guards running and closed.
	mu      sync.Mutex
	running map[string]*poller // by UUID
	closed  bool
	wg      sync.WaitGroup

	// lastResult is each mapping's LastProcessingResult, guarded by mu.
	lastResult map[string]string
}

// poller is the goroutines of one enabled mapping.
type poller struct {
	cancel context.CancelFunc
	rec    record
}

// New returns the service; Start begins polling the stored mappings.
func New(cfg Config) *Service {
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
	if cfg.Backoff <= 0 {
		cfg.Backoff = 10 * time.Second
	}
	return &Service{store: cfg.Store, queues: cfg.Queues, fns: cfg.Functions, clock: cfg.Clock, log: cfg.Logger,
		region: cfg.Region, acct: cfg.AccountID, backoff: cfg.Backoff,
		running: map[string]*poller{}, lastResult: map[string]string{}}
}

// Start starts the pollers of every stored, enabled mapping (after a
// restart mappings go on where they were).
func (s *Service) Start(ctx context.Context) error {
	recs, err := s.all(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		s.sync(r)
	}
	return nil
}

// Close stops every poller and waits for batches in flight.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	for id, p := range s.running {
		p.cancel()
		delete(s.running, id)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Service) out(r *record, state string) Mapping {
	m := Mapping{UUID: r.UUID, EventSourceMappingArn: fmt.Sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s", s.region, s.acct, r.UUID),
		BatchSize: r.BatchSize, MaximumBatchingWindowInSeconds: r.Window, EventSourceArn: r.Source, FunctionArn: r.Function,
		LastModified: float64(r.Modified) / 1000, State: state, StateTransitionReason: "USER_INITIATED",
		FunctionResponseTypes: append([]string{}, r.ResponseTypes...)}
	if r.MaxConc != nil {
		v := *r.MaxConc
		m.ScalingConfig = &ScalingConfig{MaximumConcurrency: &v}
	}
	s.mu.Lock()
	m.LastProcessingResult = s.lastResult[r.UUID]
	s.mu.Unlock()
	if m.LastProcessingResult == "" {
		m.LastProcessingResult = "No records processed"
	}
	return m
}

func state(r *record) string {
	if r.Enabled {
		return "Enabled"
	}
	return "Disabled"
}

// validate checks the fields of r that Create and Update share.
func validate(r *record) error {
	if r.BatchSize < 1 || r.BatchSize > MaxBatchSize {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'batchSize' failed to satisfy constraint: Member must have value %s", r.BatchSize,
			map[bool]string{true: "greater than or equal to 1", false: "less than or equal to 10000"}[r.BatchSize < 1])
	}
	if r.Window < 0 || r.Window > MaxWindow {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value %s", r.Window,
			map[bool]string{true: "greater than or equal to 0", false: "less than or equal to 300"}[r.Window < 0])
	}
	if r.BatchSize > 10 && r.Window < 1 {
		return newErr(ErrInvalidParameter, "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	for _, t := range r.ResponseTypes {
		if t != ReportBatchItemFailures {
			return newErr(ErrValidation, "1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]", t)
		}
	}
	if len(r.ResponseTypes) > 1 {
		return newErr(ErrValidation, "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy constraint: Member must have length less than or equal to 1")
	}
	if r.MaxConc != nil && (*r.MaxConc < 2 || *r.MaxConc > 1000) {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value %s", *r.MaxConc,
			map[bool]string{true: "greater than or equal to 2", false: "less than or equal to 1000"}[*r.MaxConc < 2])
	}
	return nil
}

func (s *Service) apply(r *record, in Input) {
	if in.BatchSize != nil {
		r.BatchSize = *in.BatchSize
	}
	if in.MaximumBatchingWindowInSeconds != nil {
		r.Window = *in.MaximumBatchingWindowInSeconds
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if in.FunctionResponseTypes != nil {
		r.ResponseTypes = append([]string{}, (*in.FunctionResponseTypes)...)
	}
	if in.ScalingConfig != nil {
		r.MaxConc = in.ScalingConfig.MaximumConcurrency
	}
}

// Create is CreateEventSourceMapping for an SQS queue of this server. It
// answers State "Creating"; the mapping is Enabled (or Disabled) at once.
// Errors: ErrInvalidParameter for a source that is not one of Sluice's
// queues, the function domain's errors for the function, ErrConflict for
// a second mapping of the same queue and function, ErrValidation for
// values outside the API's ranges.
func (s *Service) Create(ctx context.Context, in Input) (Mapping, error) {
	if in.EventSourceArn == "" {
		return Mapping{}, newErr(ErrInvalidParameter, "Unrecognized event source, must be kafka or specify an event source ARN")
	}
	if in.FunctionName == nil || *in.FunctionName == "" {
		return Mapping{}, newErr(ErrValidation, "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	a, err := arn.Parse(in.EventSourceArn)
	if err != nil {
		return Mapping{}, newErr(ErrValidation, "1 validation error detected: Value '%s' at 'eventSourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", in.EventSourceArn)
	}
	if a.Service != "sqs" {
		return Mapping{}, newErr(ErrInvalidParameter, "Sluice serves event source mappings for SQS queues only; %s is not a queue", in.EventSourceArn)
	}
	if _, err := s.queues.QueueName(ctx, in.EventSourceArn); err != nil {
		return Mapping{}, newErr(ErrInvalidParameter, "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.")
	}
	fnARN, err := s.fns.FunctionARN(ctx, *in.FunctionName)
	if err != nil {
		return Mapping{}, err
	}
	r := &record{UUID: newUUID(), Source: in.EventSourceArn, Function: fnARN, BatchSize: DefaultBatchSize, Enabled: true,
		Modified: s.clock.Now().UnixMilli()}
	s.apply(r, in)
	if err := validate(r); err != nil {
		return Mapping{}, err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		recs, err := scan(tx)
		if err != nil {
			return err
		}
		for _, o := range recs {
			if o.Source == r.Source && o.Function == r.Function {
				return newErr(ErrConflict, "An event source mapping with SQS arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s", r.Source, functionName(r.Function), o.UUID)
			}
		}
		return put(tx, r)
	})
	if err != nil {
		return Mapping{}, err
	}
	s.log.Info("event source mapping created", "uuid", r.UUID, "source", r.Source, "function", r.Function)
	s.sync(r)
	return s.out(r, "Creating"), nil
}

func functionName(fnARN string) string {
	parts := strings.Split(fnARN, ":")
	if len(parts) >= 7 {
		return parts[6]
	}
	return fnARN
}

func put(tx storage.Tx, r *record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Set(mappingKey(r.UUID), v)
}

func (s *Service) notFound(id string) error {
	return newErr(ErrNotFound, "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: %s)", id)
}

func (s *Service) get(tx storage.ReadTx, id string) (*record, error) {
	v, err := tx.Get(mappingKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, s.notFound(id)
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("eventsource: decode mapping %s: %w", id, err)
	}
	return &r, nil
}

func scan(tx storage.ReadTx) ([]*record, error) {
	it, err := tx.NewIterator([]byte(mappingPrefix), []byte("Lm0"))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*record
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			return nil, err
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, it.Close()
}

func (s *Service) all(ctx context.Context) ([]*record, error) {
	var out []*record
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		out, err = scan(tx)
		return err
	})
	return out, err
}

// Get is GetEventSourceMapping. ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Mapping, error) {
	var r *record
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		r, err = s.get(tx, id)
		return err
	})
	if err != nil {
		return Mapping{}, err
	}
	return s.out(r, state(r)), nil
}

// List is ListEventSourceMappings, filtered by source ARN and function
// (name or ARN) when given, in UUID order, up to max (1..10000, 0 = 100)
// after marker (the previous page's NextMarker, a UUID).
func (s *Service) List(ctx context.Context, sourceARN, fn, marker string, max int) ([]Mapping, string, error) {
	if max <= 0 {
		max = 100
	}
	fnARN := ""
	if fn != "" {
		var err error
		if fnARN, err = s.fns.FunctionARN(ctx, fn); err != nil {
			return nil, "", err
		}
	}
	recs, err := s.all(ctx)
	if err != nil {
		return nil, "", err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].UUID < recs[j].UUID })
	out := []Mapping{}
	next := ""
	for _, r := range recs {
		if (marker != "" && r.UUID <= marker) || (sourceARN != "" && r.Source != sourceARN) || (fnARN != "" && r.Function != fnARN) {
			continue
		}
		if len(out) == max {
			next = out[len(out)-1].UUID
			break
		}
		out = append(out, s.out(r, state(r)))
	}
	return out, next, nil
}

// Update is UpdateEventSourceMapping: the fields that are set change
// (FunctionName moves the mapping to another function). It answers State
// "Updating" (or "Enabling"/"Disabling" when Enabled changes). ErrNotFound,
// the checks of Create.
func (s *Service) Update(ctx context.Context, id string, in Input) (Mapping, error) {
	fnARN := ""
	if in.FunctionName != nil && *in.FunctionName != "" {
		var err error
		if fnARN, err = s.fns.FunctionARN(ctx, *in.FunctionName); err != nil {
			return Mapping{}, err
		}
	}
	var out *record
	st := "Updating"
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := s.get(tx, id)
		if err != nil {
			return err
		}
		was := r.Enabled
		s.apply(r, in)
		if fnARN != "" {
			r.Function = fnARN
		}
		if err := validate(r); err != nil {
			return err
		}
		switch {
		case !was && r.Enabled:
			st = "Enabling"
		case was && !r.Enabled:
			st = "Disabling"
		}
		r.Modified = s.clock.Now().UnixMilli()
		out = r
		return put(tx, r)
	})
	if err != nil {
		return Mapping{}, err
	}
	s.sync(out)
	return s.out(out, st), nil
}

// Delete is DeleteEventSourceMapping: the mapping is removed and its
// pollers stop (a batch in flight finishes). It answers State "Deleting".
func (s *Service) Delete(ctx context.Context, id string) (Mapping, error) {
	var r *record
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		if r, err = s.get(tx, id); err != nil {
			return err
		}
		return tx.Delete(mappingKey(id))
	})
	if err != nil {
		return Mapping{}, err
	}
	s.stop(id)
	s.log.Info("event source mapping deleted", "uuid", id)
	return s.out(r, "Deleting"), nil
}

// stop cancels a mapping's pollers.
func (s *Service) stop(id string) {
	s.mu.Lock()
	if p := s.running[id]; p != nil {
		p.cancel()
		delete(s.running, id)
	}
	s.mu.Unlock()
}

// sync makes the running pollers match r: none when disabled, a fresh set
// when anything changed.
func (s *Service) sync(r *record) {
	s.stop(r.UUID)
	if !r.Enabled {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{cancel: cancel, rec: *r}
	s.running[r.UUID] = p
	n := DefaultPollers
	if r.MaxConc != nil && *r.MaxConc < n {
		n = *r.MaxConc
	}
	for i := 0; i < n; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.poll(ctx, p.rec)
		}()
	}
}
