package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/arn"
	"sluice/internal/event"
	"sluice/internal/storage"
)

// Asynchronous invocation (InvocationType Event, what S3 uses; aws-wire
// 2.4, aws-facts 6). An accepted event is a message in the function's
// durable invocation queue, committed before the caller hears 202 (or
// inside the caller's own transaction: EnqueueInvocationTx). One pump per
// function leases messages from that queue, at most as many at once as
// the function may run (its reserved concurrency, else the server's
// MaxInstances), so a burst queues up instead of forking without bound.
//
// Lambda's rules, as Sluice applies them:
//   - A function error (an error response, a crash, a timeout) is retried
//     MaximumRetryAttempts times (default 2): 1 minute before the 2nd
//     attempt, 2 minutes before the 3rd.
//   - A throttle (no capacity within QueueWait) goes back on the queue
//     with exponential backoff from 1 s to 5 minutes, and does not count
//     as an attempt.
//   - An event older than MaximumEventAgeInSeconds (default 6 hours), or
//     out of retries, goes to the OnFailure destination and the function's
//     DeadLetterConfig queue; with neither it is discarded with a log line
//     and a counter (sluice_function_async_dropped_total).
//   - Reserved concurrency 0 sends events straight to the failure
//     destination, without an attempt.
//   - An event that would be the 17th invocation of one chain (its
//     lineage already holds MaxChainDepth) goes to the failure
//     destination without an attempt, unless the function's
//     RecursiveLoop is Allow (recursion.go).
//   - After a success the OnSuccess destination gets an invocation record.
//
// Attempts are counted before they run: the queue's receive count (Lease
// with Durable) plus the attempts of earlier messages of the same event
// (a retry is a new message that carries the count). A server crash in
// the middle of an attempt therefore counts that attempt, and an event
// that crashes the server every time still reaches its failure
// destination. The request id is the same for every attempt.

// MaxAsyncPayload is the largest Event payload (1 MB since October 2025;
// it was 256 KB before).
const MaxAsyncPayload = 1 << 20

// Lambda's defaults and bounds for asynchronous invocation.
const (
	DefaultMaximumRetryAttempts     = 2
	DefaultMaximumEventAgeInSeconds = 21600
	MinMaximumEventAgeInSeconds     = 60
)

// retryDelays are the waits before the 2nd and 3rd attempt after a
// function error.
var retryDelays = [...]time.Duration{time.Minute, 2 * time.Minute}

const (
	throttleBackoffMin = time.Second
	throttleBackoffMax = 5 * time.Minute
	// asyncPoll bounds how long an idle pump waits without a signal: a
	// safety net for a wake-up that raced with the pump going to sleep.
	asyncPoll = time.Second
	// leaseMargin is added to the function's timeout (and init time) for
	// the visibility of a leased invocation: a lease outlives any attempt,
	// so only a crash makes the message visible again.
	leaseMargin = time.Minute
)

// The conditions of an invocation record.
const (
	ConditionSuccess          = "Success"
	ConditionRetriesExhausted = "RetriesExhausted"
	ConditionEventAgeExceeded = "EventAgeExceeded"
)

// QueueSender enqueues a message into one of Sluice's SQS queues inside a
// transaction (destinations and dead-letter queues commit with the
// acknowledgement of the invocation). The server wires internal/queue.
// attrs are String message attributes. It returns an error when the
// queue does not exist.
type QueueSender interface {
	EnqueueTx(tx storage.Tx, queueARN string, body []byte, attrs map[string]string) error
}

// asyncQueue is the storage queue of a function's accepted events. Delete
// purges it in the transaction that removes the function, so a recreated
// function never sees its predecessor's events.
func asyncQueue(name string) string { return "fn/" + name }

// AsyncQueue names the durable invocation queue of the function name
// (for the delivery view and tests).
func AsyncQueue(name string) string { return asyncQueue(name) }

// queued is one accepted event as stored in the invocation queue.
type queued struct {
	RequestID string          `json:"id"`
	Qualifier string          `json:"q,omitempty"`
	Payload   json.RawMessage `json:"p"`
	Accepted  int64           `json:"t"`           // unix ms when first accepted
	Attempts  int             `json:"n,omitempty"` // attempts made under earlier messages
	Throttles int             `json:"th,omitempty"`
	// Lineage of the request that caused the event.
	Lineage event.Lineage `json:"l"`
	// LastError is the last attempt's error response, for the failure
	// record of an event whose next attempt never finished.
	LastError json.RawMessage `json:"e,omitempty"`
	// Source is set for events a service (S3) sent.
	Source EventSource `json:"src,omitempty"`
}

// asyncState is the Service's asynchronous side.
type asyncState struct {
	queues QueueSender
	m      *asyncMetrics

	mu    sync.Mutex
	pumps map[string]*pump
}

type pump struct {
	name string
	stop chan struct{}
	kick chan struct{} // capacity or configuration changed

	mu       sync.Mutex
	inflight int
	peak     int
}

func (p *pump) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

type asyncMetrics struct {
	accepted   prometheus.Counter
	attempts   *prometheus.CounterVec
	retries    *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	delivered  *prometheus.CounterVec
	queueDepth *prometheus.GaugeVec
	// recursive counts invocations stopped as a recursive loop, per
	// function: Lambda's RecursiveInvocationsDropped metric.
	recursive *prometheus.CounterVec
}

func newAsyncMetrics(reg prometheus.Registerer) *asyncMetrics {
	m := &asyncMetrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_function_async_accepted_total",
			Help: "Asynchronous invocations accepted into function invocation queues."}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_async_attempts_total",
			Help: "Asynchronous invocation attempts by outcome: ok, error, throttled."}, []string{"outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_async_retries_total",
			Help: "Asynchronous invocations put back on the queue, by reason: function_error, throttle."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_async_dropped_total",
			Help: "Asynchronous invocations discarded, by reason (no failure destination, destination refused, function deleted, unreadable)."}, []string{"reason"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_async_destination_deliveries_total",
			Help: "Invocation records and dead-letter messages delivered, by kind: on_success, on_failure, dead_letter."}, []string{"kind"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_function_async_queue_depth",
			Help: "Events waiting in a function's invocation queue (visible and delayed), sampled by its pump."}, []string{"function"}),
		recursive: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_function_recursive_invocations_dropped_total",
			Help: "Invocations stopped because their chain already ran 16 invocations (Lambda's RecursiveInvocationsDropped): asynchronous events, and SQS messages an event source mapping did not pass to the function."}, []string{"function"}),
	}
	if reg != nil {
		m.accepted = register(reg, m.accepted)
		m.attempts = register(reg, m.attempts)
		m.retries = register(reg, m.retries)
		m.dropped = register(reg, m.dropped)
		m.delivered = register(reg, m.delivered)
		m.queueDepth = register(reg, m.queueDepth)
		m.recursive = register(reg, m.recursive)
	}
	return m
}

// startAsync builds the asynchronous side and starts one pump per stored
// function (events accepted before a restart run again).
func (s *Service) startAsync() error {
	s.async = &asyncState{queues: s.cfg.Queues, m: newAsyncMetrics(s.cfg.Registerer), pumps: map[string]*pump{}}
	var names []string
	err := s.store.View(context.Background(), func(tx storage.ReadTx) error {
		names = names[:0]
		it, err := tx.NewIterator([]byte(functionPrefix), []byte{tableByte, 'f' + 1})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			names = append(names, string(it.Key()[len(functionPrefix):]))
		}
		return it.Close()
	})
	if err != nil {
		return fmt.Errorf("function: list functions: %w", err)
	}
	for _, n := range names {
		s.startPump(n)
	}
	return nil
}

// startPump starts the pump of name unless it runs.
func (s *Service) startPump(name string) {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.pumps[name]; ok {
		return
	}
	p := &pump{name: name, stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	a.pumps[name] = p
	s.wg.Add(1)
	go s.pumpLoop(p)
}

// stopPump stops the pump of a deleted function (its attempts in flight
// finish; their acknowledgements fail because Delete purged the queue).
func (s *Service) stopPump(name string) {
	a := s.async
	a.mu.Lock()
	p := a.pumps[name]
	delete(a.pumps, name)
	a.mu.Unlock()
	if p != nil {
		close(p.stop)
	}
	a.m.queueDepth.DeleteLabelValues(name)
}

// pokeAsync tells the pump of name that its limits changed.
func (s *Service) pokeAsync(name string) {
	s.async.mu.Lock()
	p := s.async.pumps[name]
	s.async.mu.Unlock()
	if p != nil {
		p.poke()
	}
}

// AsyncPeak returns the largest number of asynchronous attempts of a
// function that ran at once since its pump started (tests and the
// delivery view).
func (s *Service) AsyncPeak(name string) int {
	s.async.mu.Lock()
	p := s.async.pumps[name]
	s.async.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// asyncLimit is how many attempts of r may run at once.
func (s *Service) asyncLimit(r *record) int {
	if r.Reserved != nil {
		return min(*r.Reserved, s.cfg.MaxInstances)
	}
	return s.cfg.MaxInstances
}

func (s *Service) leaseFor(r *record) time.Duration {
	return time.Duration(r.Timeout)*time.Second + s.cfg.InitTimeout + leaseMargin
}

// pumpLoop leases events of one function while it has capacity for them
// and hands each to a worker goroutine.
func (s *Service) pumpLoop(p *pump) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
		case <-s.done:
		}
		cancel()
	}()
	q := asyncQueue(p.name)
	for {
		wake := s.store.WaitEnqueued(q)
		r, err := s.load(ctx, p.name)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, ErrNotFound) {
				s.log.Error("async pump: read function", "function", p.name, "err", err)
			}
			// A function not (or no longer) there: wait for Delete to
			// stop us or for a record to appear.
			r = nil
		}
		var leased []storage.Leased
		free := 0
		if r != nil {
			limit := s.asyncLimit(r)
			p.mu.Lock()
			free = limit - p.inflight
			p.mu.Unlock()
			if limit == 0 {
				free = 10 // drained straight to the failure destination
			}
			if free > 0 {
				leased, err = s.store.Lease(ctx, q, storage.LeaseOptions{Max: min(free, 10), Visibility: s.leaseFor(r), Durable: true})
				if err != nil && ctx.Err() == nil {
					s.log.Error("async pump: lease", "function", p.name, "err", err)
				}
			}
			st := s.store.Stats(q)
			s.async.m.queueDepth.WithLabelValues(p.name).Set(float64(st.Visible + st.Delayed))
			for _, l := range leased {
				p.mu.Lock()
				p.inflight++
				p.peak = max(p.peak, p.inflight)
				p.mu.Unlock()
				s.wg.Add(1)
				go s.attempt(ctx, p, r, l, limit == 0)
			}
			if len(leased) > 0 {
				continue
			}
		}
		var timer <-chan time.Time
		if free > 0 {
			if nv := s.store.Stats(q).NextVisible; !nv.IsZero() {
				timer = s.clock.After(nv.Sub(s.clock.Now()))
			}
		}
		select {
		case <-wake:
		case <-timer:
		case <-p.kick:
		case <-s.pclock.After(asyncPoll):
		case <-ctx.Done():
			return
		}
	}
}

// attempt runs one leased event and settles it.
func (s *Service) attempt(ctx context.Context, p *pump, r *record, l storage.Leased, straightToFailure bool) {
	defer s.wg.Done()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
		p.poke()
	}()
	q := asyncQueue(p.name)
	var inv queued
	if err := json.Unmarshal(l.Body, &inv); err != nil {
		s.log.Error("async invocation unreadable, discarded", "function", p.name, "message", l.ID, "err", err)
		s.async.m.dropped.WithLabelValues("unreadable").Inc()
		s.settle(ctx, q, l.Receipt, nil, nil)
		return
	}
	cfg, err := s.eventConfig(ctx, p.name)
	if err != nil {
		s.log.Error("async invocation: read event invoke config", "function", p.name, "err", err)
		return // the lease runs out and the event comes back
	}
	now := s.clock.Now()
	made := inv.Attempts + l.ReceiveCount - 1 // attempts that ran before this one
	age := now.Sub(time.UnixMilli(inv.Accepted))
	switch {
	case straightToFailure:
		s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionRetriesExhausted, attempts: made,
			status: 429, errType: "TooManyRequestsException", errMsg: "Reserved concurrency is 0"})
		return
	case age > time.Duration(cfg.maxAge)*time.Second:
		s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionEventAgeExceeded, attempts: made,
			status: 200, response: inv.LastError, errType: "EventAgeExceeded", errMsg: "Event age exceeded"})
		return
	case made > cfg.maxRetries:
		// The server stopped during the last allowed attempt.
		s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionRetriesExhausted, attempts: made,
			status: 200, response: inv.LastError, errType: "Unhandled", errMsg: "Retries exhausted"})
		return
	}
	if src := inv.Source; src.Service != "" {
		// The source must still be allowed (DESIGN, Functions: checked
		// when the notification is saved and again at delivery).
		res, err := s.Allows(ctx, s.qualifiedOrPlain(p.name, inv.Qualifier), src.Service, src.SourceArn, src.SourceAccount)
		if err == nil && !res.Allowed() {
			if err := s.settleAs(ctx, q, l.Receipt, &inv, false, res.Reason, nil); err == nil {
				s.async.m.dropped.WithLabelValues("refused_by_policy").Inc()
				s.log.Warn("asynchronous invocation refused by the function's policy at delivery; discarded",
					"function", p.name, "request_id", inv.RequestID, "source", src.SourceArn, "reason", res.Reason)
			}
			return
		}
	}
	if AtLoopLimit(inv.Lineage) && cfg.recursiveLoop != RecursiveLoopAllow {
		s.stopRecursive(ctx, p.name, q, l.Receipt, &inv, cfg, made)
		return
	}
	invoked := s.arnOf(p.name)
	if inv.Qualifier != "" {
		invoked = s.qualifiedARN(p.name, inv.Qualifier)
		tr, _, err := s.loadTarget(ctx, p.name, inv.Qualifier, true)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The version or alias was deleted after the event was accepted.
			s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionRetriesExhausted, attempts: made,
				status: 404, response: inv.LastError, errType: "ResourceNotFoundException", errMsg: err.Error()})
			return
		}
		r = tr
	}
	out, err := s.run(ctx, r, invocation{requestID: inv.RequestID, payload: inv.Payload, traceID: inv.Lineage.TraceID, invokedARN: invoked, lineage: inv.Lineage})
	now = s.clock.Now()
	if err != nil || out.FunctionError != "" {
		select {
		case <-s.done:
			// Close killed the instance: not the function's failure. The
			// event comes back when its lease runs out (with this attempt
			// counted, as after a crash).
			return
		default:
		}
	}
	switch {
	case err != nil && (errors.Is(err, ErrClosed) || ctx.Err() != nil):
		// Shutting down: the attempt never ran, but its receive count is
		// stored; the event comes back when its lease runs out.
		return
	case err != nil:
		// A throttle or a system error: back on the queue with backoff;
		// it is not an attempt.
		s.async.m.attempts.WithLabelValues("throttled").Inc()
		backoff := throttleBackoffMin << min(inv.Throttles, 10)
		backoff = min(backoff, throttleBackoffMax)
		next := now.Add(backoff)
		if next.Sub(time.UnixMilli(inv.Accepted)) > time.Duration(cfg.maxAge)*time.Second {
			s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionEventAgeExceeded, attempts: made,
				status: 429, response: inv.LastError, errType: "TooManyRequestsException", errMsg: err.Error()})
			return
		}
		nv := inv
		nv.Attempts = made
		nv.Throttles++
		s.requeue(ctx, q, l.Receipt, &nv, next, "throttle")
		return
	case out.FunctionError == "":
		s.async.m.attempts.WithLabelValues("ok").Inc()
		s.succeed(ctx, p.name, q, l.Receipt, &inv, cfg, made+1, out)
		return
	}
	s.async.m.attempts.WithLabelValues("error").Inc()
	attempts := made + 1
	if attempts > cfg.maxRetries {
		s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionRetriesExhausted, attempts: attempts,
			status: 200, ran: true, response: out.Payload, errType: errorType(out.Payload), errMsg: errorMessage(out.Payload)})
		return
	}
	next := now.Add(retryDelays[min(attempts, len(retryDelays))-1])
	if next.Sub(time.UnixMilli(inv.Accepted)) > time.Duration(cfg.maxAge)*time.Second {
		s.fail(ctx, p.name, q, l.Receipt, &inv, cfg, failure{condition: ConditionEventAgeExceeded, attempts: attempts,
			status: 200, ran: true, response: out.Payload, errType: errorType(out.Payload), errMsg: errorMessage(out.Payload)})
		return
	}
	nv := inv
	nv.Attempts = attempts
	nv.LastError = jsonOrString(out.Payload)
	s.requeue(ctx, q, l.Receipt, &nv, next, "function_error")
}

// stopRecursive finishes an event that would run one invocation too many
// in its chain: it is not run, and goes to the failure destination and
// dead-letter queue like an event out of retries (aws-facts 6: "Lambda
// will stop the next invocation and sends the event to a Dead-Letter
// Queue or on-failure destination, if configured"). fail settles it, so
// the request index sees it finished.
func (s *Service) stopRecursive(ctx context.Context, name, q, receipt string, inv *queued, cfg eventConfig, made int) {
	s.async.m.recursive.WithLabelValues(name).Inc()
	s.log.Warn("recursive loop detected: asynchronous invocation stopped",
		"function", name, "request_id", inv.RequestID, "chain_depth", len(inv.Lineage.Chain), "trace_id", inv.Lineage.TraceID)
	// AWS does not document the record's condition for a stopped loop.
	// Sluice says RetriesExhausted: consumers of destination records
	// branch on the documented values (Success, RetriesExhausted,
	// EventAgeExceeded), and this is "no attempt will be made" without
	// the event being expired, as for reserved concurrency 0 above. The
	// cause is in responsePayload's errorType, RecursiveInvocationException,
	// and responseContext carries the 400 Lambda's Invoke answers it with,
	// with no functionError: the function did not fail, it never ran.
	resp, _ := json.Marshal(map[string]string{"errorMessage": recursiveErrMsg, "errorType": recursiveErrType})
	s.fail(ctx, name, q, receipt, inv, cfg, failure{condition: ConditionRetriesExhausted, attempts: made,
		status: 400, response: resp, errType: recursiveErrType, errMsg: recursiveErrMsg,
		context: &ResponseContext{StatusCode: 400, ExecutedVersion: Version},
		dropped: fmt.Sprintf("stopped as a recursive loop: the chain already ran %d invocations (PutFunctionRecursionConfig RecursiveLoop=Allow lets it go on)", len(inv.Lineage.Chain))})
}

// requeue replaces the leased message by a new one that becomes visible
// at next, in one commit.
func (s *Service) requeue(ctx context.Context, q, receipt string, inv *queued, next time.Time, reason string) {
	body, err := json.Marshal(inv)
	if err != nil {
		s.log.Error("async requeue: encode", "err", err)
		return
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Ack(q, receipt); err != nil {
			return err
		}
		_, err := tx.Enqueue(q, storage.Message{Body: body, VisibleAt: next})
		return err
	})
	switch {
	case err == nil:
		s.async.m.retries.WithLabelValues(reason).Inc()
	case errors.Is(err, storage.ErrStaleReceipt):
		// Purged by Delete, or leased again after a lease ran out.
	default:
		s.log.Error("async requeue", "queue", q, "request_id", inv.RequestID, "err", err)
	}
}

// settle acknowledges a message with extra writes in the same commit: the
// event is finished. An event enqueued with a Ref (an S3 notification)
// tells the Tracker in that commit, so "wait until request X is
// delivered" sees the invocation finish.
func (s *Service) settle(ctx context.Context, q, receipt string, inv *queued, also func(tx storage.Tx) error) error {
	return s.settleAs(ctx, q, receipt, inv, true, "", also)
}

func (s *Service) settleAs(ctx context.Context, q, receipt string, inv *queued, delivered bool, reason string, also func(tx storage.Tx) error) error {
	tracked := inv != nil && inv.Source.Ref != "" && s.cfg.Tracker != nil
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Ack(q, receipt); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if tracked {
			return s.cfg.Tracker.SettledTx(tx, inv.Source.Ref, delivered, reason)
		}
		return nil
	})
	if err == nil && tracked {
		s.cfg.Tracker.Progressed()
	}
	return err
}

// EventSource describes the AWS service an event came from, for the
// policy check at delivery (the function's resource policy must still
// allow Service for SourceArn and SourceAccount) and for tracking (Ref is
// handed back to Config.Tracker when the event is finished).
type EventSource struct {
	Service       string `json:"svc,omitempty"` // e.g. s3.amazonaws.com
	SourceArn     string `json:"arn,omitempty"` // e.g. arn:aws:s3:::bucket
	SourceAccount string `json:"acct,omitempty"`
	Ref           string `json:"ref,omitempty"`
}

// Tracker learns when events enqueued with EnqueueEventTx are finished
// (the server wires the notification dispatcher's request index).
type Tracker interface {
	// SettledTx runs in the commit that finishes the event: delivered is
	// true when the invocation ran to success or its final failure was
	// handled (destination, dead-letter queue or discard), false when the
	// function's policy refused the source at delivery (reason says why).
	// An error aborts the commit.
	SettledTx(tx storage.Tx, ref string, delivered bool, reason string) error
	// Progressed is called after such a commit.
	Progressed()
}

// InvokeAsync is Invoke with InvocationType Event: the event is committed
// to the function's invocation queue and InvokeOutput.RequestID names it
// (HTTP 202). The event's lineage is in.Lineage when that names a chain
// (the caller is a function invocation), else a new one rooted at
// in.RequestID. Errors: ErrNotFound, ErrValidation, ErrRequestTooLarge
// (payload over MaxAsyncPayload), ErrInvalidRequestContent (not JSON).
func (s *Service) InvokeAsync(ctx context.Context, in InvokeInput) (InvokeOutput, error) {
	if len(in.Payload) > MaxAsyncPayload {
		return InvokeOutput{}, newErr(ErrRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxAsyncPayload)
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		return InvokeOutput{}, newErr(ErrInvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	name, q, err := s.resolveQualified(in.Name, in.Qualifier)
	if err != nil {
		return InvokeOutput{}, err
	}
	lin := event.Lineage{RequestID: in.RequestID, TraceID: in.TraceID}
	if len(in.Lineage.Chain) > 0 {
		// A function invoking a function: the event continues the
		// caller's chain, so the worker's depth check stops a loop through
		// Invoke at the 17th invocation as it does one through S3.
		lin = in.Lineage
	}
	var id string
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		id, err = s.enqueueTx(tx, name, q, in.Payload, lin, EventSource{})
		return err
	})
	if err != nil {
		return InvokeOutput{}, err
	}
	s.async.m.accepted.Inc()
	return InvokeOutput{RequestID: id, ExecutedVersion: Version}, nil
}

// EnqueueInvocationTx accepts an asynchronous invocation of the function
// functionARN (an ARN, partial ARN or name, optionally qualified) with
// payload inside the caller's transaction: the S3 publisher calls it so
// that an object change and the invocations it causes commit together.
// lineage is what caused the event (lineage.RequestID the triggering
// request). It returns the invocation's request id. Errors: ErrNotFound
// (no such function), ErrValidation, ErrRequestTooLarge,
// ErrInvalidRequestContent. Like every Update function it has no effect
// outside tx.
func (s *Service) EnqueueInvocationTx(tx storage.Tx, functionARN string, payload []byte, lineage event.Lineage) (string, error) {
	if len(payload) > MaxAsyncPayload {
		return "", newErr(ErrRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxAsyncPayload)
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return "", newErr(ErrInvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	return s.EnqueueEventTx(tx, functionARN, payload, lineage, EventSource{})
}

// EnqueueEventTx is EnqueueInvocationTx for an event a service sent (S3):
// src names the source for the policy check made again at each attempt
// (a refused event is finished, logged and counted, and the Tracker told
// delivered=false), and src.Ref, when set, is handed to Config.Tracker
// once the event is finished.
func (s *Service) EnqueueEventTx(tx storage.Tx, functionARN string, payload []byte, lineage event.Lineage, src EventSource) (string, error) {
	if len(payload) > MaxAsyncPayload {
		return "", newErr(ErrRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxAsyncPayload)
	}
	name, q, err := s.resolveQualified(functionARN, "")
	if err != nil {
		return "", err
	}
	id, err := s.enqueueTx(tx, name, q, payload, lineage, src)
	if err == nil {
		// Counted when the caller's commit is likely; a rolled-back
		// transaction overcounts, which a counter tolerates.
		s.async.m.accepted.Inc()
	}
	return id, err
}

func (s *Service) enqueueTx(tx storage.Tx, name, qualifier string, payload []byte, lineage event.Lineage, src EventSource) (string, error) {
	// The qualifier ($LATEST, a version or an alias) must exist now; an
	// alias is resolved again at each attempt, as Lambda routes it then.
	if _, _, err := s.target(tx, name, qualifier, false); err != nil {
		return "", err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if qualifier == Version {
		qualifier = ""
	}
	inv := queued{RequestID: newRevisionID(), Qualifier: qualifier, Payload: append(json.RawMessage(nil), payload...),
		Accepted: s.clock.Now().UnixMilli(), Lineage: lineage, Source: src}
	body, err := json.Marshal(inv)
	if err != nil {
		return "", err
	}
	if _, err := tx.Enqueue(asyncQueue(name), storage.Message{Body: body}); err != nil {
		return "", err
	}
	return inv.RequestID, nil
}

// deleteAsyncTx drops a deleted function's queued events, event invoke
// configurations and recursion configuration in Delete's transaction and
// returns how many events were dropped (Delete logs and counts them).
func (s *Service) deleteAsyncTx(tx storage.Tx, name string) (int, error) {
	n, err := tx.Purge(asyncQueue(name))
	if err != nil {
		return 0, err
	}
	if err := deleteRecursionTx(tx, name); err != nil {
		return 0, err
	}
	return n, deleteEventConfigsTx(tx, name)
}

// afterDelete stops the pump of a deleted function and accounts for the
// events its deletion dropped.
func (s *Service) afterDelete(name string, dropped int) {
	s.stopPump(name)
	if dropped > 0 {
		s.async.m.dropped.WithLabelValues("function_deleted").Add(float64(dropped))
		s.log.Warn("function deleted with queued asynchronous events; they are discarded", "function", name, "events", dropped)
	}
}

// functionARNLatest is the ARN invocation records carry (":$LATEST").
func (s *Service) functionARNLatest(name string) string {
	return arn.Function(s.region, s.acct, name, Version).String()
}

func (s *Service) qualifiedOrPlain(name, q string) string {
	if q == "" {
		return s.arnOf(name)
	}
	return s.qualifiedARN(name, q)
}
