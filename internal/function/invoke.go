package function

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"sluice/internal/event"
)

// pool is one function's instances. Guarded by Service.mu.
type pool struct {
	idle  []*instance // warm and waiting, most recently used last
	total int         // alive or starting
}

func (p *pool) remove(inst *instance) {
	for i, x := range p.idle {
		if x == inst {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

func (s *Service) poolLocked(name string) *pool {
	p := s.pools[name]
	if p == nil {
		p = &pool{}
		s.pools[name] = p
	}
	return p
}

// wake tells Invokes waiting for capacity to look again.
func (s *Service) wake() {
	s.mu.Lock()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// retire stops the idle instances of a function whose code or
// configuration changed (or that was deleted); busy ones stop when their
// invocation ends, because their generation no longer matches.
func (s *Service) retire(name string) {
	s.mu.Lock()
	p := s.pools[name]
	var stop []*instance
	if p != nil {
		stop = append(stop, p.idle...)
		p.idle = nil
	}
	s.mu.Unlock()
	for _, inst := range stop {
		s.kill(inst)
	}
}

var (
	errTimeout = errors.New("function: task timed out")
	errExited  = errors.New("function: runtime exited")
)

// acquire returns a warm instance of r's generation, or reserves a slot for
// a new one (cold true, inst nil). It waits up to QueueWait for capacity,
// then fails with ErrTooManyRequests.
func (s *Service) acquire(ctx context.Context, r *record) (inst *instance, cold bool, err error) {
	gen := generation(r)
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, newErr(ErrClosed, "the service is shutting down")
		}
		p := s.poolLocked(r.Name)
		var stale []*instance
		limit, reason := s.cfg.MaxInstances, "ConcurrentInvocationLimitExceeded"
		if r.Reserved != nil {
			limit, reason = *r.Reserved, "ReservedFunctionConcurrentInvocationLimitExceeded"
		}
		// Reserved concurrency bounds invocations in flight, not warm
		// instances: an idle one is handed out only below the limit.
		// Instances are per version: an idle instance of another version
		// (or alias target) stays warm for it; one of this version with
		// another generation is stale.
		for i := len(p.idle) - 1; i >= 0 && p.total-len(p.idle) < limit; i-- {
			inst = p.idle[i]
			if inst.ver != r.Version && !inst.gone {
				continue
			}
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			if inst.gen == gen && !inst.gone {
				inst.busy = true
				s.mu.Unlock()
				for _, x := range stale {
					s.kill(x)
				}
				return inst, false, nil
			}
			stale = append(stale, inst)
		}
		if p.total >= limit && p.total-len(p.idle) < limit && len(p.idle) > 0 {
			// At the function's limit with idle instances of other
			// versions only: the least recently used gives its slot up.
			// reap frees its slot and wakes this loop.
			stale = append(stale, p.idle[0])
			p.idle = p.idle[1:]
		}
		if p.total < limit && s.running >= s.cfg.MaxInstances {
			// The server is at its cap: an idle instance of another
			// function gives its slot up (the least recently used one).
			var victim *instance
			for _, q := range s.pools {
				for _, x := range q.idle {
					if victim == nil || x.idleSince.Before(victim.idleSince) {
						victim = x
					}
				}
			}
			if victim != nil {
				s.pools[victim.fn].remove(victim)
				stale = append(stale, victim)
			}
		}
		if p.total < limit && s.running < s.cfg.MaxInstances {
			p.total++
			s.running++
			s.mu.Unlock()
			for _, x := range stale {
				s.kill(x)
			}
			return nil, true, nil
		}
		changed := s.changed
		s.mu.Unlock()
		for _, x := range stale {
			s.kill(x)
		}
		if limit == 0 {
			return nil, false, &Error{Kind: ErrTooManyRequests, Message: "Rate Exceeded.", Reason: reason}
		}
		if timeout == nil {
			timeout = s.pclock.After(s.cfg.QueueWait)
		}
		select {
		case <-changed:
		case <-timeout:
			s.metrics.invokes.WithLabelValues("throttled").Inc()
			return nil, false, &Error{Kind: ErrTooManyRequests, Message: "Rate Exceeded.", Reason: reason}
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-s.done:
			return nil, false, newErr(ErrClosed, "the service is shutting down")
		}
	}
}

// releaseSlot gives back a slot reserved by acquire for an instance that
// never started.
func (s *Service) releaseSlot(name string) {
	s.mu.Lock()
	if p := s.pools[name]; p != nil {
		p.total--
	}
	s.running--
	s.mu.Unlock()
	s.wake()
}

// park returns a healthy instance to the warm pool.
func (s *Service) park(inst *instance, r *record) {
	s.mu.Lock()
	inst.busy = false
	inst.current = Current{FunctionName: inst.fn, FunctionARN: s.arnOf(inst.fn)}
	inst.idleSince = s.pclock.Now()
	stale := inst.gone || s.closed || inst.gen != s.currentGen(r)
	if !stale && !inst.gone {
		s.poolLocked(inst.fn).idle = append(s.poolLocked(inst.fn).idle, inst)
	}
	s.mu.Unlock()
	if stale {
		s.kill(inst)
	}
	s.wake()
}

func (s *Service) currentGen(r *record) string { return generation(r) }

// Invoke runs the function synchronously (RequestResponse, or DryRun which
// only checks that the function exists). A function error, a timeout and
// a crash are not Go errors: they come back as FunctionError "Unhandled"
// with the error JSON as Payload. Errors: ErrNotFound, ErrValidation,
// ErrRequestTooLarge (payload over 6 MB), ErrInvalidRequestContent (a
// payload that is not JSON, a bad client context), ErrTooManyRequests
// (no capacity within QueueWait), ErrClosed.
//
// The core (runRecord) takes a record and a request id, so that issue 8's
// asynchronous workers can run invocations pulled from a durable queue.
func (s *Service) Invoke(ctx context.Context, in InvokeInput) (InvokeOutput, error) {
	name, q, err := s.resolveQualified(in.Name, in.Qualifier)
	if err != nil {
		return InvokeOutput{}, err
	}
	if len(in.Payload) > MaxPayload {
		return InvokeOutput{}, newErr(ErrRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload)
	}
	if len(in.Payload) > 0 && !in.PayloadChecked && !json.Valid(in.Payload) {
		return InvokeOutput{}, newErr(ErrInvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	clientCtx := ""
	if in.ClientContext != "" {
		b, err := base64.StdEncoding.DecodeString(in.ClientContext)
		if err != nil || !json.Valid(b) || len(in.ClientContext) > 3583 {
			return InvokeOutput{}, newErr(ErrInvalidRequestContent, "Client context must be a valid Base64-encoded JSON object.")
		}
		clientCtx = string(b)
	}
	// A version runs its own snapshot; an alias the version it points at
	// (drawn by its routing weights).
	r, _, err := s.loadTarget(ctx, name, q, true)
	if err != nil {
		return InvokeOutput{}, err
	}
	if in.DryRun {
		return InvokeOutput{ExecutedVersion: r.version()}, nil
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	reqID := in.RequestID
	if reqID == "" {
		reqID = newRevisionID()
	}
	invoked := s.arnOf(name)
	if q != "" {
		invoked = s.qualifiedARN(name, q)
	}
	return s.run(ctx, r, invocation{requestID: reqID, payload: payload, clientContext: clientCtx, traceID: in.TraceID,
		logTail: in.LogTail, invokedARN: invoked, lineage: in.Lineage})
}

type invocation struct {
	// invokedARN is the ARN the caller named (with its qualifier), which
	// the function sees as its context's InvokedFunctionArn; "" means the
	// unqualified ARN.
	invokedARN    string
	requestID     string
	payload       []byte
	clientContext string
	traceID       string
	logTail       bool
	// lineage is what caused the invocation (an S3 request, the
	// invocations before it); the function's own requests carry it on
	// with this invocation appended (Current.Lineage).
	lineage event.Lineage
}

// traceID makes the Lambda-Runtime-Trace-Id of an invocation in X-Ray's
// format (Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0); a
// caller's trace header is kept when it has a Root.
func (s *Service) traceID(given string) string {
	if given != "" && len(given) < 256 {
		return given
	}
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", s.clock.Now().Unix(), randHex(12), randHex(8))
}

// run is the core of an invocation: an instance (warm or new), the
// Runtime API exchange with its timeout, and the log lines.
func (s *Service) run(ctx context.Context, r *record, iv invocation) (InvokeOutput, error) {
	// Once started, an invocation runs to its end even if the caller goes
	// away, as on Lambda; the caller's context only bounds the wait for
	// capacity.
	for attempt := 0; ; attempt++ {
		inst, cold, err := s.acquire(ctx, r)
		if err != nil {
			return InvokeOutput{}, err
		}
		ring := s.ring(r.Name)
		var initDur time.Duration
		if cold {
			t0 := s.pclock.Now()
			inst, err = s.start(context.WithoutCancel(ctx), r, iv.requestID)
			initDur = s.pclock.Now().Sub(t0)
			if err != nil {
				var se *startError
				// Until a process started, the slot is ours to give
				// back; after, reap releases it.
				if !errors.As(err, &se) || !se.procStarted {
					s.releaseSlot(r.Name)
				}
				if errors.As(err, &se) {
					return s.failedStart(r, iv, se, ring, initDur), nil
				}
				return InvokeOutput{}, err
			}
			s.mu.Lock()
			inst.busy = true
			s.mu.Unlock()
		}
		out, retry := s.serve(ctx, r, inst, iv, initDur, cold)
		if retry && attempt < 3 {
			continue // the instance died before taking the invocation
		}
		return out, nil
	}
}

// failedStart answers an invocation whose instance did not start.
func (s *Service) failedStart(r *record, iv invocation, se *startError, ring *logRing, initDur time.Duration) InvokeOutput {
	payload := se.payload
	if len(payload) == 0 {
		payload, _ = json.Marshal(map[string]string{"errorType": se.errType, "errorMessage": se.message})
	}
	errType := se.errType
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	var tail tailBuf
	lines := []string{
		fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s\n", ms(initDur), errType),
		fmt.Sprintf("START RequestId: %s Version: %s\n", iv.requestID, r.version()),
		fmt.Sprintf("%s\n", oneLine(payload)),
		fmt.Sprintf("END RequestId: %s\n", iv.requestID),
		fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: %s\n",
			iv.requestID, ms(initDur), billed(initDur), r.MemorySize, errType),
	}
	for _, l := range lines {
		ring.append([]byte(l))
		tail.append([]byte(l))
	}
	s.metrics.invokes.WithLabelValues("error").Inc()
	out := InvokeOutput{RequestID: iv.requestID, Payload: payload, FunctionError: "Unhandled", ExecutedVersion: r.version()}
	if iv.logTail {
		out.LogResult = base64.StdEncoding.EncodeToString(tail.bytes())
	}
	return out
}

func oneLine(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == '\n' || c == '\r' {
			c = ' '
		}
		out = append(out, c)
	}
	return string(out)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func billed(d time.Duration) int64 {
	return int64(math.Ceil(ms(d)))
}

// serve runs one invocation on inst. retry is true when the process died
// before it took the invocation (the caller tries another instance).
func (s *Service) serve(ctx context.Context, r *record, inst *instance, iv invocation, initDur time.Duration, cold bool) (InvokeOutput, bool) {
	trace := s.traceID(iv.traceID)
	s.mu.Lock()
	inst.current = Current{FunctionName: r.Name, FunctionARN: s.arnOf(r.Name), RequestID: iv.requestID, TraceID: trace,
		Lineage: iv.lineage.Then(iv.requestID, trace)}
	s.mu.Unlock()
	o := inst.out
	o.tail.reset()
	o.platform(fmt.Sprintf("START RequestId: %s Version: %s\n", iv.requestID, r.version()))
	timeout := time.Duration(r.Timeout) * time.Second
	start := s.pclock.Now()
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	go func() {
		select {
		case <-s.pclock.After(timeout):
			cancel(errTimeout)
		case <-inst.exited:
			cancel(errExited)
		case <-sctx.Done():
		}
	}()
	invoked := iv.invokedARN
	if invoked == "" {
		invoked = s.arnOf(r.Name)
	}
	res, err := inst.ep.Serve(sctx, Invocation{RequestID: iv.requestID, Payload: iv.payload, Deadline: start.Add(timeout),
		FunctionARN: invoked, TraceID: trace, ClientContext: iv.clientContext})
	dur := s.pclock.Now().Sub(start)
	healthy := true
	status := ""
	out := InvokeOutput{RequestID: iv.requestID, ExecutedVersion: r.version()}
	switch {
	case err == nil && res.Init:
		healthy = false
		status = "error"
		out.Payload, out.FunctionError = res.Payload, "Unhandled"
	case err == nil:
		out.Payload = res.Payload
		if res.Error {
			out.FunctionError = "Unhandled"
		}
	case errors.Is(err, ErrUndelivered) && !errors.Is(err, errTimeout):
		// Died (or was stopped) before taking the invocation: nothing ran.
		s.kill(inst)
		<-inst.exited
		o.platform(fmt.Sprintf("END RequestId: %s\n", iv.requestID))
		return InvokeOutput{}, true
	case errors.Is(err, errTimeout):
		healthy = false
		status = "timeout"
		s.kill(inst)
		msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds", s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"), iv.requestID, timeout.Seconds())
		o.platform(msg + "\n")
		out.Payload, _ = json.Marshal(map[string]string{"errorType": "Sandbox.Timedout",
			"errorMessage": fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", iv.requestID, timeout.Seconds())})
		out.FunctionError = "Unhandled"
	default:
		healthy = false
		status = "error"
		<-inst.exited
		typ, text := "Runtime.ExitError", exitText(inst.exitErr)
		if inst.mem != nil && inst.mem.oomKilled() {
			typ = "Runtime.OutOfMemory"
		}
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", iv.requestID, text)
		o.platform(msg + "\n" + typ + "\n")
		out.Payload, _ = json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
		out.FunctionError = "Unhandled"
	}
	// Everything the function printed before answering is logged before END.
	o.sync(s.pclock.After(time.Second))
	var peak int64
	if inst.mem != nil {
		peak = inst.mem.peakBytes()
	}
	o.platform(fmt.Sprintf("END RequestId: %s\n", iv.requestID))
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		iv.requestID, ms(dur), billed(dur), r.MemorySize, (peak+(1<<20)-1)>>20)
	if cold {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", ms(initDur))
	}
	if status != "" {
		report += "Status: " + status
	}
	o.platform(report + "\n")
	if iv.logTail {
		out.LogResult = base64.StdEncoding.EncodeToString(o.tail.bytes())
	}
	s.metrics.duration.Observe(dur.Seconds())
	switch {
	case status == "timeout":
		s.metrics.invokes.WithLabelValues("timeout").Inc()
	case status == "error" && !res.Init:
		s.metrics.invokes.WithLabelValues("crash").Inc()
	case out.FunctionError != "":
		s.metrics.invokes.WithLabelValues("error").Inc()
	default:
		s.metrics.invokes.WithLabelValues("ok").Inc()
	}
	if healthy {
		s.park(inst, r)
	} else {
		s.kill(inst)
	}
	return out, false
}

// CurrentInvocation finds the instance whose credentials carry
// accessKeyID and what it is serving (RequestID "" while idle). It is how
// a request signed by a function is tied to its invocation (lineage).
func (s *Service) CurrentInvocation(accessKeyID string) (Current, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.keys[accessKeyID]
	if !ok {
		return Current{}, false
	}
	c := inst.current
	if c.FunctionName == "" {
		c = Current{FunctionName: inst.fn, FunctionARN: s.arnOf(inst.fn)}
	}
	return c, true
}

// Instances counts the live instances of a function (for tests and the
// delivery view).
func (s *Service) Instances(name string) (total, idle int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pools[name]; p != nil {
		return p.total, len(p.idle)
	}
	return 0, 0
}

// reaper stops instances idle for longer than IdleTimeout.
func (s *Service) reaper() {
	defer s.wg.Done()
	every := min(s.cfg.IdleTimeout/2, 30*time.Second)
	if every <= 0 {
		every = time.Millisecond
	}
	for {
		select {
		case <-s.done:
			return
		case <-s.pclock.After(every):
		}
		now := s.pclock.Now()
		var stop []*instance
		s.mu.Lock()
		for _, p := range s.pools {
			kept := p.idle[:0]
			for _, inst := range p.idle {
				if now.Sub(inst.idleSince) >= s.cfg.IdleTimeout {
					stop = append(stop, inst)
				} else {
					kept = append(kept, inst)
				}
			}
			p.idle = kept
		}
		s.mu.Unlock()
		for _, inst := range stop {
			s.log.Debug("function instance idle, stopping", "function", inst.fn, "instance", inst.id)
			s.kill(inst)
		}
	}
}

// Close stops every instance (killing their process groups) and waits
// until they are reaped. Invokes in flight end with a crash result;
// later Invokes get ErrClosed. Idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	})
	s.mu.Lock()
	all := make([]*instance, 0, len(s.live))
	for inst := range s.live {
		all = append(all, inst)
	}
	s.mu.Unlock()
	for _, inst := range all {
		s.kill(inst)
	}
	s.wg.Wait()
	if s.code != nil {
		_ = s.code.close()
	}
	return nil
}
