package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/pprof"
	"sync"
	"time"
)

// The events run (`sluice bench --service events`, issue 6 "Benchmarks"):
// bucket notifications to a queue, consumed the way users consume them.
//
//   - put-plain @c: small PUTs to a bucket without notifications (the
//     baseline throughput), run again as put-plain-after once the
//     notifying steps are done; the baseline is the mean of the two;
//   - put-notify-idle @c: the same PUTs to a bucket that sends every
//     ObjectCreated event to a queue nobody consumes during the step
//     (what publishing costs the PUT path: the aim);
//   - put-notify @c: the same PUTs to a bucket whose configuration sends
//     every ObjectCreated event to a queue, while consumers drain it;
//   - event @c: for the PUTs of put-notify @c, the latency from the start
//     of the PUT to the moment a consumer's ReceiveMessage returned the
//     event, the events/s the consumers received over the step, and how
//     long after the load stopped the last event arrived;
//   - paced: one PUT every 10 ms (100/s, light load) to the notifying
//     bucket, with its own PUT and PUT-to-consumer latencies.
//
// Consumers are eventConsumers long pollers (WaitTimeSeconds 20, up to 10
// messages) that delete what they receive with DeleteMessageBatch. The
// in-process server commits every PUT and its event record with a synced
// write, and the queue's enqueue is durable too: durable all the way.

const (
	eventConsumers   = 4
	pacedRate        = 100 // PUTs per second in the paced step
	drainLimit       = 10 * time.Second
	aimLightExtraMs  = 0.5 // event p50 <= PUT p50 + 0.5 ms, paced
	aimEventP50C32Ms = 20.0
	aimDrainSeconds  = 1.0
	aimNotifyShare   = 0.8 // put-notify/s @32 >= 0.8 put-plain/s @32
)

// EventsRun is what an events or s3fn run adds to the report: per
// measured step, whether every acknowledged PUT's event arrived.
type EventsRun struct {
	Queue     string       `json:"queue,omitempty"`
	Function  string       `json:"function,omitempty"`
	Consumers int          `json:"consumers,omitempty"`
	Delivery  []Delivery   `json:"delivery"`
	Processes *ProcessSeen `json:"processes,omitempty"`
}

// Delivery is one step's end-to-end account.
type Delivery struct {
	Op          string `json:"op"`
	Concurrency int    `json:"concurrency"`
	Acked       int    `json:"acked_puts"`
	Delivered   int    `json:"delivered"`
	Duplicates  int    `json:"duplicates"`
	Lost        int    `json:"lost"`
	// DrainMs is from the end of the load to the last event's arrival (0
	// when every event arrived before the load ended).
	DrainMs float64 `json:"drain_ms"`
	// Errors are the consumers' failed requests while draining a step
	// that had no latency row of its own (event-idle).
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// eventTracker matches arrivals to the starts of the PUTs that caused
// them.
type eventTracker struct {
	mu      sync.Mutex
	start   map[string]time.Time
	acked   map[string]bool
	got     map[string]bool
	lat     []time.Duration
	pending int // acked keys whose event has not arrived
	dups    int
	last    time.Time
	errs    int
	firstEr error
}

func newEventTracker() *eventTracker {
	t := &eventTracker{}
	t.reset()
	return t
}

func (t *eventTracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start, t.acked, t.got = map[string]time.Time{}, map[string]bool{}, map[string]bool{}
	t.lat, t.pending, t.dups, t.last = nil, 0, 0, time.Time{}
}

func (t *eventTracker) begin(key string, at time.Time) {
	t.mu.Lock()
	t.start[key] = at
	t.mu.Unlock()
}

func (t *eventTracker) ack(key string) {
	t.mu.Lock()
	if !t.acked[key] && !t.got[key] {
		t.pending++
	}
	t.acked[key] = true
	t.mu.Unlock()
}

// arrive records key's event seen at at; keys of other steps (late
// redeliveries) and repeats are not latency samples.
func (t *eventTracker) arrive(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.start[key]
	if !ok {
		return
	}
	if t.got[key] {
		t.dups++
		return
	}
	t.got[key] = true
	if t.acked[key] {
		t.pending--
	}
	t.lat = append(t.lat, at.Sub(s))
	if at.After(t.last) {
		t.last = at
	}
}

func (t *eventTracker) fail(err error) {
	t.mu.Lock()
	t.errs++
	if t.firstEr == nil {
		t.firstEr = err
	}
	t.mu.Unlock()
}

// waitAll waits until every acknowledged PUT's event arrived or limit
// passed, and returns the account.
func (t *eventTracker) waitAll(ctx context.Context, loadEnd time.Time, limit time.Duration) (Delivery, []time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		t.mu.Lock()
		done := t.pending == 0
		t.mu.Unlock()
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := Delivery{Acked: len(t.acked), Duplicates: t.dups}
	for k := range t.acked {
		if t.got[k] {
			d.Delivered++
		} else {
			d.Lost++
		}
	}
	if t.last.After(loadEnd) {
		d.DrainMs = ms(t.last.Sub(loadEnd))
	}
	return d, append([]time.Duration(nil), t.lat...)
}

// s3Record is the part of an S3 event message the consumers read.
type s3Record struct {
	Event   string `json:"Event"` // s3:TestEvent
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// eventKeys returns the object keys an S3 event message names (none for
// s3:TestEvent), decoded from S3's form encoding.
func eventKeys(body []byte) ([]string, error) {
	var r s3Record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("event message is not JSON: %w", err)
	}
	if r.Event == "s3:TestEvent" {
		return nil, nil
	}
	if len(r.Records) == 0 {
		return nil, fmt.Errorf("event message has no Records: %.200s", body)
	}
	keys := make([]string, 0, len(r.Records))
	for _, rec := range r.Records {
		k, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("event key %q: %w", rec.S3.Object.Key, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// receiveAny is receive without the check against the bench's own
// bodies (events are written by the server); MD5s are still checked.
func (c *sqsClient) receiveAny(ctx context.Context, queueURL string, max, wait int) ([]received, error) {
	body := []byte(`{"QueueUrl":` + jsonString(queueURL) + `,"MaxNumberOfMessages":` + fmt.Sprint(max) + `,"WaitTimeSeconds":` + fmt.Sprint(wait) + `}`)
	var out struct{ Messages []received }
	if err := c.call(ctx, "ReceiveMessage", body, "", &out); err != nil {
		return nil, err
	}
	for _, m := range out.Messages {
		sum := md5.Sum([]byte(m.Body))
		if got := hex.EncodeToString(sum[:]); got != m.MD5OfBody {
			return nil, fmt.Errorf("ReceiveMessage: message %s: MD5OfBody %q, body hashes to %q", m.MessageId, m.MD5OfBody, got)
		}
	}
	return out.Messages, nil
}

// createQueueWithPolicy creates a queue whose policy lets S3 send to it
// for bucket, and returns its URL and ARN.
func (c *sqsClient) createQueueForBucket(ctx context.Context, name, bucket string) (string, string, error) {
	q, err := c.createQueue(ctx, name)
	if err != nil {
		return "", "", err
	}
	var out struct{ Attributes map[string]string }
	if err := c.call(ctx, "GetQueueAttributes", []byte(`{"QueueUrl":`+jsonString(q)+`,"AttributeNames":["QueueArn"]}`), "", &out); err != nil {
		return "", "", err
	}
	arn := out.Attributes["QueueArn"]
	if arn == "" {
		return "", "", errors.New("GetQueueAttributes: no QueueArn")
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"` + arn + `","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::` + bucket + `"}}}]}`
	in := map[string]any{"QueueUrl": q, "Attributes": map[string]string{"Policy": pol}}
	b, _ := json.Marshal(in)
	if err := c.call(ctx, "SetQueueAttributes", b, "", nil); err != nil {
		return "", "", err
	}
	return q, arn, nil
}

// notifyingBucket creates bucket and a queue called queueName that it
// notifies of every ObjectCreated event; it returns the queue's URL and
// ARN.
func notifyingBucket(ctx context.Context, s3c *s3Client, sqsc *sqsClient, bucket, queueName string) (string, string, error) {
	if err := s3c.createBucket(ctx, bucket); err != nil {
		return "", "", fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	qURL, qARN, err := sqsc.createQueueForBucket(ctx, queueName, bucket)
	if err != nil {
		return "", "", fmt.Errorf("queue %s: %w", queueName, err)
	}
	doc := `<NotificationConfiguration><QueueConfiguration><Id>sluice-bench</Id><Queue>` + qARN +
		`</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`
	if err := s3c.putNotification(ctx, bucket, doc); err != nil {
		sqsc.deleteQueue(context.WithoutCancel(ctx), qURL)
		return "", "", err
	}
	return qURL, qARN, nil
}

// putNotification saves a bucket notification configuration document.
func (c *s3Client) putNotification(ctx context.Context, bucket, doc string) error {
	b := []byte(doc)
	resp, err := c.do(ctx, http.MethodPut, "/"+bucket+"?notification", bytes.NewReader(b), int64(len(b)), sha256Hex(b), http.StatusOK)
	if err != nil {
		return fmt.Errorf("PutBucketNotificationConfiguration: %w", err)
	}
	drainClose(resp.Body)
	return nil
}

// consumers are the bench's long pollers, which a step can detach.
type consumers struct {
	client   *sqsClient
	queueURL string
	tr       *eventTracker
	cancel   context.CancelFunc
	wg       *sync.WaitGroup
}

func (c *consumers) start(ctx context.Context) {
	cctx, cancel := context.WithCancel(ctx)
	c.cancel, c.wg = cancel, consume(cctx, c.client, c.queueURL, eventConsumers, c.tr)
}

func (c *consumers) stop() {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
		c.cancel = nil
	}
}

// consume runs the long pollers until ctx ends. Each poller hands what
// it received to its own deleter and polls again at once, as production
// consumers pipeline DeleteMessageBatch: a delete is a durable commit, and
// waiting for it before the next poll would leave the queue unwatched.
func consume(ctx context.Context, client *sqsClient, queueURL string, n int, tr *eventTracker) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		toDelete := make(chan []received, 8)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for msgs := range toDelete {
				if err := client.deleteBatch(ctx, queueURL, msgs); err != nil && ctx.Err() == nil {
					tr.fail(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer close(toDelete)
			for ctx.Err() == nil {
				msgs, err := client.receiveAny(ctx, queueURL, batchSize, 20)
				at := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						tr.fail(err)
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				for _, m := range msgs {
					keys, err := eventKeys([]byte(m.Body))
					if err != nil {
						tr.fail(err)
					}
					for _, k := range keys {
						tr.arrive(k, at)
					}
				}
				if len(msgs) > 0 {
					toDelete <- msgs
				}
			}
		}()
	}
	return &wg
}

// trackedPut PUTs one small object and tells the tracker about it.
func trackedPut(ctx context.Context, client *s3Client, bucket, key string, bodies bodySet, i int, tr *eventTracker, res *worker) {
	start := time.Now()
	if tr != nil {
		tr.begin(key, start)
	}
	if err := client.put(ctx, bucket, key, bodies.bodies[i], bodies.shas[i]); err != nil {
		res.fail(err)
		return
	}
	res.succeed(time.Since(start))
	if tr != nil {
		tr.ack(key)
	}
}

// closedPuts runs c workers PUTting back to back for d.
func closedPuts(ctx context.Context, op string, client *s3Client, bucket string, bodies bodySet, c int, d time.Duration, tr *eventTracker) Step {
	st, _ := runWorkers(op, c, d, func(w int, deadline time.Time, res *worker) {
		for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
			if res.consecutive >= consecutiveErrorLimit {
				return
			}
			trackedPut(ctx, client, bucket, op+"/"+smallKey(c, w, n), bodies, (w*7+n)%len(bodies.bodies), tr, res)
		}
	})
	return st
}

// pacedPuts PUTs one object every 1/rate seconds from one worker for d
// (a PUT that overruns its slot delays the next, never doubles it up).
func pacedPuts(ctx context.Context, op string, client *s3Client, bucket string, bodies bodySet, rate int, d time.Duration, tr *eventTracker) Step {
	every := time.Second / time.Duration(rate)
	st, _ := runWorkers(op, 1, d, func(w int, deadline time.Time, res *worker) {
		next := time.Now()
		for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
			if res.consecutive >= consecutiveErrorLimit {
				return
			}
			if wait := time.Until(next); wait > 0 {
				time.Sleep(wait)
			}
			next = next.Add(every)
			trackedPut(ctx, client, bucket, op+"/"+smallKey(1, w, n), bodies, n%len(bodies.bodies), tr, res)
		}
	})
	return st
}

// latencyStep turns a step's arrival latencies into a Step.
func latencyStep(op string, c int, lat []time.Duration, loadSeconds float64, tr *eventTracker) Step {
	s := summarize(lat, time.Duration(loadSeconds*float64(time.Second)))
	st := Step{Op: op, Concurrency: c, Requests: s.Requests, Messages: s.Requests, Seconds: loadSeconds,
		P50Ms: ms(s.P50), P99Ms: ms(s.P99)}
	if loadSeconds > 0 {
		st.PerSecond = float64(s.Requests) / loadSeconds
		st.MessagesPerSecond = st.PerSecond
	}
	st.Errors, st.FirstError = tr.takeErrors()
	return st
}

// takeErrors returns and clears the consumers' (or side channel's) error
// count and first error.
func (t *eventTracker) takeErrors() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, first := t.errs, ""
	if t.firstEr != nil {
		first = t.firstEr.Error()
	}
	t.errs, t.firstEr = 0, nil
	return n, first
}

func runEvents(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{
		Date:        cfg.Now().UTC(),
		Machine:     currentMachine(),
		Target:      cfg.Target,
		Service:     "events",
		Endpoint:    cfg.Endpoint,
		ObjectSize:  cfg.Size,
		StepSeconds: cfg.Duration.Seconds(),
		FsyncNote:   cfg.FsyncNote,
		Events:      &EventsRun{Consumers: eventConsumers},
	}
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	progress("measuring limits (before): f in %s, L, C for %v", cfg.FsyncDir, cfg.Duration)
	var err error
	if rep.LimitsBefore, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}

	maxC := 1
	for _, c := range cfg.Concurrency {
		maxC = max(maxC, c)
	}
	tr := newTransport(maxC + eventConsumers + 4)
	defer tr.CloseIdleConnections()
	s3c := newS3Client(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	sqsc := newSQSClient(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	name := "sluice-bench-" + randomHex(4)
	plain, notifying := name+"-plain", name+"-events"
	rep.Bucket = notifying
	if err := s3c.createBucket(ctx, plain); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", plain, err)
	}
	qURL, qARN, err := notifyingBucket(ctx, s3c, sqsc, notifying, name)
	if err != nil {
		return nil, err
	}
	rep.Events.Queue = qARN
	defer sqsc.deleteQueue(context.WithoutCancel(ctx), qURL)

	tracker := newEventTracker()
	cons := &consumers{client: sqsc, queueURL: qURL, tr: tracker}
	cons.start(ctx)
	defer cons.stop()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	stepErr := runEventSteps(ctx, cfg, s3c, sqsc, name, tracker, rep, progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if stepErr != nil {
		return nil, stepErr
	}

	progress("measuring limits (after)")
	if rep.LimitsAfter, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}
	rep.Limits = meanLimits(rep.LimitsBefore, rep.LimitsAfter)
	rep.Aims = evaluateEventAims(rep.Steps, rep.Events.Delivery, "event", aimLightExtraMs)
	return rep, nil
}

// runEventSteps runs the PUT baseline, the notifying PUTs with their
// event latencies at each concurrency, and the paced step.
func runEventSteps(ctx context.Context, cfg Config, s3c *s3Client, sqsc *sqsClient, name string, tr *eventTracker, rep *Report, progress func(string, ...any)) error {
	plain, notifying := name+"-plain", name+"-events"
	bodies := newBodySet(smallBodies, cfg.Size, 1)
	show := func(st Step) {
		progress("%-15s @%-3d %9.0f/s  p50 %.3f ms  p99 %.3f ms  errors %d", st.Op, st.Concurrency, st.PerSecond, st.P50Ms, st.P99Ms, st.Errors)
		rep.Steps = append(rep.Steps, st)
	}
	measured := func(op, evOp string, c int, put Step) error {
		show(put)
		if put.Requests == 0 {
			return fmt.Errorf("%s @%d: no PUT succeeded: %s", op, c, put.FirstError)
		}
		loadEnd := time.Now()
		d, lat := tr.waitAll(ctx, loadEnd, drainLimit)
		d.Op, d.Concurrency = evOp, c
		show(latencyStep(evOp, c, lat, put.Seconds, tr))
		progress("%-11s @%-3d acked %d delivered %d lost %d duplicates %d, last %.1f ms after the load", "", c, d.Acked, d.Delivered, d.Lost, d.Duplicates, d.DrainMs)
		rep.Events.Delivery = append(rep.Events.Delivery, d)
		return ctx.Err()
	}
	for _, c := range cfg.Concurrency {
		show(closedPuts(ctx, "put-plain", s3c, plain, bodies, c, cfg.Duration, nil))
		// Notifications on, no consumer: what publishing costs the PUT
		// path by itself. A bucket and queue of their own, whose
		// consumers start after the step (stopping the main ones could
		// leave a long poll parked in the server that takes a message
		// for a client that is gone, hidden for its visibility timeout);
		// the events are only counted.
		idleBucket := fmt.Sprintf("%s-idle%d", name, c)
		idleURL, _, err := notifyingBucket(ctx, s3c, sqsc, idleBucket, idleBucket)
		if err != nil {
			return err
		}
		defer sqsc.deleteQueue(context.WithoutCancel(ctx), idleURL)
		tr.reset()
		show(closedPuts(ctx, "put-notify-idle", s3c, idleBucket, bodies, c, cfg.Duration, tr))
		idleCons := &consumers{client: sqsc, queueURL: idleURL, tr: tr}
		idleCons.start(ctx)
		d, _ := tr.waitAll(ctx, time.Now(), 3*drainLimit)
		idleCons.stop()
		d.Op, d.Concurrency = "event-idle", c
		d.Errors, d.FirstError = tr.takeErrors()
		progress("%-11s @%-3d acked %d delivered %d lost %d duplicates %d (drained after the step), consumer errors %d", "", c, d.Acked, d.Delivered, d.Lost, d.Duplicates, d.Errors)
		rep.Events.Delivery = append(rep.Events.Delivery, d)
		tr.reset()
		if err := measured("put-notify", "event", c, closedPuts(ctx, "put-notify", s3c, notifying, bodies, c, cfg.Duration, tr)); err != nil {
			return err
		}
		// The baseline again, now that the store holds the notifying
		// steps' objects and events too: the notifying steps ran on a
		// larger LSM than the first baseline (more sstables per point
		// read, more compaction), so the ratio uses the mean of both.
		show(closedPuts(ctx, "put-plain-after", s3c, plain, bodies, c, cfg.Duration, nil))
	}
	tr.reset()
	return measured("put-paced", "event-paced", 1, pacedPuts(ctx, "put-paced", s3c, notifying, bodies, pacedRate, cfg.Duration, tr))
}

// evaluateEventAims computes issue 6's aims (ev is "event") or issue 8's
// (ev is "fn"): light-load event p50 against the paced PUT p50 plus
// extraMs, event p50 @32, delivery within 1 s of the load's end, and
// notifying PUT throughput against the plain one.
func evaluateEventAims(steps []Step, del []Delivery, ev string, extraMs float64) []Aim {
	var aims []Aim
	a := Aim{Name: ev + "_light_p50", Status: "n/a", Text: "light load: not measured"}
	if p, ok := findStep(steps, "put-paced", 1); ok {
		if e, ok := findStep(steps, ev+"-paced", 1); ok {
			a.Value, a.Bound = e.P50Ms, p.P50Ms+extraMs
			a.Status = status(e.P50Ms <= a.Bound && lostNone(del, ev+"-paced", 1), p, e)
			a.Text = fmt.Sprintf("paced %d/s: PUT-to-%s p50 = %.3f ms vs PUT p50 + %.1f ms = %.3f + %.1f = %.3f ms (p99 %.3f ms)%s",
				pacedRate, arrivalName(ev), e.P50Ms, extraMs, p.P50Ms, extraMs, a.Bound, e.P99Ms, errorNote(p, e))
		}
	}
	aims = append(aims, a)
	if ev != "event" {
		return aims
	}
	a = Aim{Name: "event_p50_c32", Status: "n/a", Bound: aimEventP50C32Ms, Text: "event p50 @32: not measured"}
	if e, ok := findStep(steps, "event", aimConcurrency); ok {
		a.Value = e.P50Ms
		a.Status = status(e.P50Ms <= aimEventP50C32Ms, e)
		a.Text = fmt.Sprintf("@32: PUT-to-consumer p50 = %.3f ms (p99 %.3f ms) vs %.0f ms, %s events/s%s",
			e.P50Ms, e.P99Ms, aimEventP50C32Ms, thousands(e.PerSecond), errorNote(e))
	}
	aims = append(aims, a)
	a = Aim{Name: "event_drain_c32", Status: "n/a", Bound: aimDrainSeconds * 1000, Text: "delivery after the load @32: not measured"}
	for _, d := range del {
		if d.Op == "event" && d.Concurrency == aimConcurrency {
			a.Value = d.DrainMs
			ok := d.Lost == 0 && d.DrainMs <= aimDrainSeconds*1000
			a.Status = "MISS"
			if ok {
				a.Status = "PASS"
			}
			a.Text = fmt.Sprintf("@32: %d of %d acknowledged PUTs' events delivered (%d lost), the last %.1f ms after the load stopped vs %.0f ms",
				d.Delivered, d.Acked, d.Lost, d.DrainMs, aimDrainSeconds*1000)
		}
	}
	aims = append(aims, a)
	// The aim is what publishing costs the PUT path: consumers detached.
	// The consumed row shares the two cores between the PUTs and a second
	// workload (consumers receiving, parsing and deleting every event over
	// HTTP, client side included), so it is reported beside the aim, not
	// judged by it.
	for _, v := range []struct {
		name, op, what string
		judged         bool
	}{
		{"notify_put_share_c32", "put-notify-idle", "consumers detached", true},
		{"notify_put_share_c32_consumed", "put-notify", "4 consumers receiving and deleting on the same cores", false},
	} {
		a = Aim{Name: v.name, Status: "n/a", Bound: aimNotifyShare, Text: "PUT/s with notifications @32 (" + v.what + "): not measured"}
		if p, base, ok := plainBaseline(steps, aimConcurrency); ok {
			if n, ok := findStep(steps, v.op, aimConcurrency); ok && base > 0 {
				a.Value = n.PerSecond / base
				a.Status = status(a.Value >= aimNotifyShare, append(p, n)...)
				bound := fmt.Sprintf("aim >= %.2f", aimNotifyShare)
				if !v.judged {
					a.Status, bound = "info", "not an aim: the cores are shared with the consumers' work"
				}
				a.Text = fmt.Sprintf("@32: PUT/s with notifications (%s) %s vs without %s = %.3f (%s)%s",
					v.what, thousands(n.PerSecond), thousands(base), a.Value, bound, errorNote(append(p, n)...))
			}
		}
		aims = append(aims, a)
	}
	return aims
}

// plainBaseline is the PUT/s without notifications at concurrency c: the
// mean of put-plain (before the notifying steps) and put-plain-after
// (after them) when both ran, else put-plain alone.
func plainBaseline(steps []Step, c int) ([]Step, float64, bool) {
	before, ok := findStep(steps, "put-plain", c)
	if !ok {
		return nil, 0, false
	}
	if after, ok := findStep(steps, "put-plain-after", c); ok {
		return []Step{before, after}, (before.PerSecond + after.PerSecond) / 2, true
	}
	return []Step{before}, before.PerSecond, true
}

func arrivalName(ev string) string {
	if ev == "event" {
		return "consumer"
	}
	return "function-start"
}

func lostNone(del []Delivery, op string, c int) bool {
	for _, d := range del {
		if d.Op == op && d.Concurrency == c {
			return d.Lost == 0
		}
	}
	return false
}

// writeEventsText is WriteText for an events or s3fn run.
func (r *Report) writeEventsText(w io.Writer) error {
	var b bytes.Buffer
	r.writeHeader(&b)
	ev := r.Events
	fmt.Fprintf(&b, "target: %s at %s, bucket %s", r.Target, r.Endpoint, r.Bucket)
	if ev.Queue != "" {
		fmt.Fprintf(&b, " -> queue %s (%d long-polling consumers, batches of 10, DeleteMessageBatch)", ev.Queue, ev.Consumers)
	}
	if ev.Function != "" {
		fmt.Fprintf(&b, " -> function %s", ev.Function)
	}
	fmt.Fprintf(&b, "\nobjects: %s, %s per step\n\n", formatSize(r.ObjectSize), time.Duration(r.StepSeconds*float64(time.Second)))
	r.writeLimits(&b)
	fmt.Fprintf(&b, "%-16s %11s %10s %9s %9s %9s %7s\n", "op", "concurrency", "/s", "p50 ms", "p99 ms", "count", "errors")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-16s %11d %10s %9.3f %9.3f %9d %7d\n", s.Op, s.Concurrency, thousands(s.PerSecond), s.P50Ms, s.P99Ms, s.Requests, s.Errors)
	}
	for _, s := range r.Steps {
		if s.FirstError != "" {
			fmt.Fprintf(&b, "first error, %s @%d: %s\n", s.Op, s.Concurrency, s.FirstError)
		}
	}
	fmt.Fprintf(&b, "\n%-16s %11s %9s %9s %9s %11s %10s\n", "delivery", "concurrency", "acked", "arrived", "lost", "duplicates", "drain ms")
	for _, d := range ev.Delivery {
		fmt.Fprintf(&b, "%-16s %11d %9d %9d %9d %11d %10.1f\n", d.Op, d.Concurrency, d.Acked, d.Delivered, d.Lost, d.Duplicates, d.DrainMs)
	}
	if p := ev.Processes; p != nil {
		fmt.Fprintf(&b, "function processes: %d distinct over the run (reserved concurrency, the cap: %d)\n", p.Distinct, p.Cap)
	}
	b.WriteString("\nevent/fn rows: latency from the start of the PUT to the arrival (consumer's ReceiveMessage returned / function\n")
	b.WriteString("process received the invocation), /s = arrivals per second of load; drain = last arrival after the load stopped\n")
	b.WriteString("\naims\n")
	for _, a := range r.Aims {
		fmt.Fprintf(&b, "  %-4s  %s\n", a.Status, a.Text)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ProcessSeen is what the s3fn run saw of the function's processes.
type ProcessSeen struct {
	// Distinct is how many process ids reported to the side channel: no
	// more processes than that ever ran an invocation at once.
	Distinct int `json:"distinct"`
	Cap      int `json:"cap"`
}
