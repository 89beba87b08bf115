package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/function"
	"sluice/internal/runtimeapi"
	"sluice/internal/storage"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// destQueues is the test's QueueSender: a destination ARN is a storage
// queue "dest/<arn>"; an ARN containing "missing" refuses.
type destQueues struct{}

func (destQueues) EnqueueTx(tx storage.Tx, queueARN string, body []byte, attrs map[string]string) error {
	if strings.Contains(queueARN, "missing") {
		return errors.New("no such queue")
	}
	_, err := tx.Enqueue("dest/"+queueARN, storage.Message{Body: body, Attributes: attrs})
	return err
}

type asyncEnv struct {
	*env
	clk *clock.Fake
	st  *pebblestore.Store
}

var asyncStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newAsyncEnv(t *testing.T, dir string, mod func(*function.Config)) *asyncEnv {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	clk := clock.NewFake(asyncStart)
	st, err := pebblestore.Open(pebblestore.Options{Dir: filepath.Join(dir, "db"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	bl, err := blobstore.Open(blobstore.Options{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := function.Config{Store: st, Blobs: bl, RuntimeDir: filepath.Join(dir, "rt"), Runtime: runtimeapi.Listen,
		QueueWait: 300 * time.Millisecond, InitTimeout: 5 * time.Second, Clock: clk, Queues: destQueues{}}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := function.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			svc.Close()
			st.Close()
		}
	})
	return &asyncEnv{env: &env{t: t, svc: svc, ctx: context.Background(), dir: dir}, clk: clk, st: st}
}

const (
	okQueue   = "arn:aws:sqs:us-east-1:000000000000:ok"
	failQueue = "arn:aws:sqs:us-east-1:000000000000:failed"
	dlqQueue  = "arn:aws:sqs:us-east-1:000000000000:dlq"
)

// messages returns what the destination queue arn received.
func (e *asyncEnv) messages(arn string) []storage.Message {
	e.t.Helper()
	var out []storage.Message
	err := e.st.View(e.ctx, func(tx storage.ReadTx) error {
		out = nil
		return tx.Messages("dest/"+arn, func(m storage.Message) bool {
			out = append(out, m)
			return true
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitFor polls cond (real time; the function processes are real) for up
// to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (e *asyncEnv) invokeAsync(name string, payload any) string {
	e.t.Helper()
	b, _ := json.Marshal(payload)
	out, err := e.svc.InvokeAsync(e.ctx, function.InvokeInput{Name: name, Payload: b})
	if err != nil {
		e.t.Fatalf("InvokeAsync(%s, %s): %v", name, b, err)
	}
	if len(out.RequestID) != 36 {
		e.t.Fatalf("request id %q is not a UUID", out.RequestID)
	}
	return out.RequestID
}

func (e *asyncEnv) starts(name, requestID string) int {
	return strings.Count(e.logs(name), "START RequestId: "+requestID+" ")
}

func (e *asyncEnv) putConfig(name string, retries, age *int, onSuccess, onFailure string) {
	e.t.Helper()
	_, err := e.svc.PutEventInvokeConfig(e.ctx, name, "", function.EventInvokeConfigInput{
		MaximumRetryAttempts: retries, MaximumEventAgeInSeconds: age,
		DestinationConfig: &function.DestinationConfig{OnSuccess: function.OnDestination{Destination: onSuccess},
			OnFailure: function.OnDestination{Destination: onFailure}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func decodeRecord(t *testing.T, b []byte) function.InvocationRecord {
	t.Helper()
	var r function.InvocationRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("record %s: %v", b, err)
	}
	return r
}

func TestAsyncSuccessGoesToOnSuccess(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("ok", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("ok", nil, nil, okQueue, failQueue)
	id := e.invokeAsync("ok", map[string]string{"op": "echo", "text": "hello"})
	waitFor(t, "OnSuccess record", func() bool { return len(e.messages(okQueue)) == 1 })
	m := e.messages(okQueue)[0]
	// Member order and names as Lambda writes them (aws-wire 2.4).
	if !strings.HasPrefix(string(m.Body), `{"version":"1.0","timestamp":"2026-03-01T12:00:00.000Z","requestContext":{"requestId":"`+id+`","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:ok:$LATEST","condition":"Success","approximateInvokeCount":1},"requestPayload":{"op":"echo","text":"hello"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":{`) {
		t.Fatalf("OnSuccess record = %s", m.Body)
	}
	r := decodeRecord(t, m.Body)
	var resp map[string]any
	json.Unmarshal(r.ResponsePayload, &resp)
	if resp["text"] != "hello" || resp["request_id"] != id {
		t.Fatalf("responsePayload = %s, want the echo with request id %s", r.ResponsePayload, id)
	}
	if n := len(e.messages(failQueue)); n != 0 {
		t.Fatalf("OnFailure got %d records after a success", n)
	}
	waitFor(t, "the queue to empty", func() bool {
		st := e.st.Stats(function.AsyncQueue("ok"))
		return st.Visible+st.InFlight+st.Delayed == 0
	})
}

func TestAsyncRetriesOnLambdaSchedule(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("bad", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("bad", nil, nil, okQueue, failQueue)
	id := e.invokeAsync("bad", map[string]string{"op": "error", "text": "always"})
	q := function.AsyncQueue("bad")
	t0 := e.clk.Now()
	retryAt := func(n int) time.Time {
		waitFor(t, "attempt to be scheduled", func() bool {
			st := e.st.Stats(q)
			return e.starts("bad", id) == n && st.Delayed == 1 && st.InFlight == 0
		})
		return e.st.Stats(q).NextVisible
	}
	if got, want := retryAt(1), t0.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("2nd attempt scheduled at %v, want 1 minute after the 1st (%v)", got, want)
	}
	e.clk.Advance(59 * time.Second)
	if got := e.st.Stats(q).Delayed; got != 1 {
		t.Fatalf("after 59 s the retry is not delayed any more (delayed %d)", got)
	}
	e.clk.Advance(time.Second)
	if got, want := retryAt(2), t0.Add(3*time.Minute); !got.Equal(want) {
		t.Fatalf("3rd attempt scheduled at %v, want 2 minutes after the 2nd (%v)", got, want)
	}
	e.clk.Advance(2 * time.Minute)
	waitFor(t, "OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.Condition != function.ConditionRetriesExhausted || r.RequestContext.ApproximateInvokeCount != 3 {
		t.Fatalf("requestContext = %+v, want RetriesExhausted after 3 attempts", r.RequestContext)
	}
	if r.RequestContext.RequestID != id {
		t.Fatalf("record request id %s, want %s", r.RequestContext.RequestID, id)
	}
	if r.ResponseContext == nil || r.ResponseContext.FunctionError != "Unhandled" || r.ResponseContext.StatusCode != 200 {
		t.Fatalf("responseContext = %+v", r.ResponseContext)
	}
	if !strings.Contains(string(r.ResponsePayload), "boom: always") {
		t.Fatalf("responsePayload = %s, want the function's error", r.ResponsePayload)
	}
	// The same request id ran three times (Lambda keeps it across retries).
	if n := e.starts("bad", id); n != 3 {
		t.Fatalf("%d attempts logged with request id %s, want 3", n, id)
	}
	if r.Timestamp != "2026-03-01T12:03:00.000Z" {
		t.Fatalf("timestamp %s, want the time of the last attempt", r.Timestamp)
	}
}

func TestAsyncMaximumRetryAttemptsZero(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("once", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("once", ptr(0), nil, "", failQueue)
	id := e.invokeAsync("once", map[string]string{"op": "error", "text": "x"})
	waitFor(t, "OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.Condition != function.ConditionRetriesExhausted || r.RequestContext.ApproximateInvokeCount != 1 {
		t.Fatalf("requestContext = %+v, want RetriesExhausted after 1 attempt", r.RequestContext)
	}
	if n := e.starts("once", id); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestAsyncEventAgeExceeded(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("old", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("old", nil, ptr(60), "", failQueue)
	id := e.invokeAsync("old", map[string]string{"op": "error", "text": "x"})
	q := function.AsyncQueue("old")
	waitFor(t, "the 1st attempt", func() bool { return e.starts("old", id) == 1 && e.st.Stats(q).Delayed == 1 })
	// The 2nd attempt (at 60 s) is within the age; the 3rd (at 180 s)
	// would not be, so the event fails after the 2nd.
	e.clk.Advance(time.Minute)
	waitFor(t, "OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.Condition != function.ConditionEventAgeExceeded || r.RequestContext.ApproximateInvokeCount != 2 {
		t.Fatalf("requestContext = %+v, want EventAgeExceeded after 2 attempts", r.RequestContext)
	}
}

func TestAsyncEventTooOldInQueue(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("slow", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("slow", nil, ptr(60), "", failQueue)
	// Reserved concurrency 1 and a long first event: the second waits in
	// the queue past its age and never runs.
	if _, err := e.svc.PutConcurrency(e.ctx, "slow", 1); err != nil {
		t.Fatal(err)
	}
	first := e.invokeAsync("slow", map[string]any{"op": "sleep", "ms": 1500})
	waitFor(t, "the 1st event to start", func() bool { return e.starts("slow", first) == 1 })
	second := e.invokeAsync("slow", map[string]string{"op": "echo"})
	e.clk.Advance(61 * time.Second)
	waitFor(t, "OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.RequestID != second || r.RequestContext.Condition != function.ConditionEventAgeExceeded ||
		r.RequestContext.ApproximateInvokeCount != 0 || r.ResponseContext != nil {
		t.Fatalf("record = %s, want EventAgeExceeded for %s with no attempt", e.messages(failQueue)[0].Body, second)
	}
	if n := e.starts("slow", second); n != 0 {
		t.Fatalf("the expired event ran %d times", n)
	}
}

func TestAsyncDeadLetterQueue(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("dl", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.DeadLetterTarget = dlqQueue })
	if c, err := e.svc.GetConfiguration(e.ctx, "dl", ""); err != nil || c.DeadLetterConfig == nil || c.DeadLetterConfig.TargetArn != dlqQueue {
		t.Fatalf("DeadLetterConfig = %+v, %v", c.DeadLetterConfig, err)
	}
	e.putConfig("dl", ptr(0), nil, "", "")
	payload := `{"op":"error","text":"to the dlq"}`
	out, err := e.svc.InvokeAsync(e.ctx, function.InvokeInput{Name: "dl", Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead-letter message", func() bool { return len(e.messages(dlqQueue)) == 1 })
	m := e.messages(dlqQueue)[0]
	if string(m.Body) != payload {
		t.Fatalf("DLQ body = %s, want the original payload %s", m.Body, payload)
	}
	if m.Attributes["RequestID"] != out.RequestID || m.Attributes["ErrorCode"] != "200" ||
		!strings.Contains(m.Attributes["ErrorMessage"], "boom: to the dlq") {
		t.Fatalf("DLQ attributes = %v", m.Attributes)
	}
	// UpdateFunctionConfiguration removes it.
	c, err := e.svc.UpdateConfiguration(e.ctx, "dl", function.UpdateConfigInput{DeadLetterTarget: ptr("")})
	if err != nil || c.DeadLetterConfig != nil {
		t.Fatalf("after removal DeadLetterConfig = %+v, %v", c.DeadLetterConfig, err)
	}
	_, err = e.svc.UpdateConfiguration(e.ctx, "dl", function.UpdateConfigInput{DeadLetterTarget: ptr("arn:aws:sns:us-east-1:000000000000:t")})
	if !errors.Is(err, function.ErrInvalidParameter) {
		t.Fatalf("an SNS dead-letter target: %v, want InvalidParameterValue", err)
	}
}

func TestAsyncReservedConcurrencyZero(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("off", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("off", nil, nil, "", failQueue)
	if _, err := e.svc.PutConcurrency(e.ctx, "off", 0); err != nil {
		t.Fatal(err)
	}
	id := e.invokeAsync("off", map[string]string{"op": "echo"})
	waitFor(t, "OnFailure record", func() bool { return len(e.messages(failQueue)) == 1 })
	r := decodeRecord(t, e.messages(failQueue)[0].Body)
	if r.RequestContext.RequestID != id || r.RequestContext.ApproximateInvokeCount != 0 {
		t.Fatalf("requestContext = %+v, want no attempt", r.RequestContext)
	}
	if n := e.starts("off", id); n != 0 {
		t.Fatalf("ran %d times with reserved concurrency 0", n)
	}
}

func TestAsyncBurstRespectsConcurrency(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("burst", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("burst", nil, nil, okQueue, failQueue)
	if _, err := e.svc.PutConcurrency(e.ctx, "burst", 2); err != nil {
		t.Fatal(err)
	}
	const n = 24
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		ids[e.invokeAsync("burst", map[string]any{"op": "sleep", "ms": 20})] = true
	}
	var mu sync.Mutex
	maxTotal := 0
	waitFor(t, "every event", func() bool {
		total, _ := e.svc.Instances("burst")
		mu.Lock()
		maxTotal = max(maxTotal, total)
		mu.Unlock()
		return len(e.messages(okQueue)) == n
	})
	for _, m := range e.messages(okQueue) {
		r := decodeRecord(t, m.Body)
		if !ids[r.RequestContext.RequestID] {
			t.Fatalf("record for unknown or repeated request %s", r.RequestContext.RequestID)
		}
		delete(ids, r.RequestContext.RequestID)
	}
	if peak := e.svc.AsyncPeak("burst"); peak > 2 || peak < 1 {
		t.Fatalf("%d attempts ran at once, want at most the reserved 2", peak)
	}
	if maxTotal > 2 {
		t.Fatalf("%d instances alive at once, want at most 2", maxTotal)
	}
}

func TestAsyncDestinationFunction(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("src", "provided.al2023", "bootstrap", goZip(t), nil)
	e.create("sink", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("src", nil, nil, "arn:aws:lambda:us-east-1:000000000000:function:sink", "")
	// The sink is invoked with src's record as its payload; the test
	// function refuses a payload without "op", so the sink's own failure
	// record carries that payload as its requestPayload.
	e.putConfig("sink", ptr(0), nil, "", failQueue)
	id := e.invokeAsync("src", map[string]string{"op": "echo", "text": "chained"})
	waitFor(t, "the sink's failure record", func() bool { return len(e.messages(failQueue)) == 1 })
	outer := decodeRecord(t, e.messages(failQueue)[0].Body)
	if !strings.HasSuffix(outer.RequestContext.FunctionArn, ":function:sink:$LATEST") {
		t.Fatalf("failure record of %s, want sink", outer.RequestContext.FunctionArn)
	}
	inner := decodeRecord(t, outer.RequestPayload)
	if inner.RequestContext.RequestID != id || inner.RequestContext.Condition != function.ConditionSuccess ||
		!strings.Contains(string(inner.ResponsePayload), `"text":"chained"`) {
		t.Fatalf("sink payload = %s, want src's Success record", outer.RequestPayload)
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func TestAsyncRefusedDestinationIsCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newAsyncEnv(t, "", func(c *function.Config) { c.Registerer = reg })
	e.create("lost", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("lost", nil, nil, "arn:aws:sqs:us-east-1:000000000000:missing", "")
	e.invokeAsync("lost", map[string]string{"op": "echo"})
	waitFor(t, "the refusal to be counted", func() bool {
		return metricValue(t, reg, "sluice_function_async_dropped_total", "destination_refused") == 1
	})
	st := e.st.Stats(function.AsyncQueue("lost"))
	if st.Visible+st.InFlight+st.Delayed != 0 {
		t.Fatalf("event still queued: %+v", st)
	}
	// A failure with no destination at all is counted too.
	e.create("nowhere", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("nowhere", ptr(0), nil, "", "")
	e.invokeAsync("nowhere", map[string]string{"op": "error"})
	waitFor(t, "the discard to be counted", func() bool {
		return metricValue(t, reg, "sluice_function_async_dropped_total", "no_failure_destination") == 1
	})
	if got := metricValue(t, reg, "sluice_function_async_attempts_total", "error"); got != 1 {
		t.Fatalf("error attempts = %v, want 1", got)
	}
}

func TestEventInvokeConfigAPI(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("cfg", "provided.al2023", "bootstrap", goZip(t), nil)
	_, err := e.svc.GetEventInvokeConfig(e.ctx, "cfg", "")
	var fe *function.Error
	if !errors.As(err, &fe) || !errors.Is(err, function.ErrNotFound) ||
		fe.Message != "The function arn:aws:lambda:us-east-1:000000000000:function:cfg:$LATEST doesn't have an EventInvokeConfig" {
		t.Fatalf("Get before Put: %v", err)
	}
	if _, err := e.svc.UpdateEventInvokeConfig(e.ctx, "cfg", "", function.EventInvokeConfigInput{MaximumRetryAttempts: ptr(1)}); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("Update before Put: %v, want ResourceNotFound", err)
	}
	bad := []struct {
		name string
		in   function.EventInvokeConfigInput
		kind error
		msg  string
	}{
		{"retries 3", function.EventInvokeConfigInput{MaximumRetryAttempts: ptr(3)}, function.ErrValidation,
			"1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
		{"retries -1", function.EventInvokeConfigInput{MaximumRetryAttempts: ptr(-1)}, function.ErrValidation,
			"1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"age 59", function.EventInvokeConfigInput{MaximumEventAgeInSeconds: ptr(59)}, function.ErrValidation,
			"1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"},
		{"age 21601", function.EventInvokeConfigInput{MaximumEventAgeInSeconds: ptr(21601)}, function.ErrValidation,
			"1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"},
		{"not an arn", function.EventInvokeConfigInput{DestinationConfig: &function.DestinationConfig{OnFailure: function.OnDestination{Destination: "queue"}}},
			function.ErrValidation, ""},
		{"sns", function.EventInvokeConfigInput{DestinationConfig: &function.DestinationConfig{OnSuccess: function.OnDestination{Destination: "arn:aws:sns:us-east-1:000000000000:t"}}},
			function.ErrInvalidParameter, ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.PutEventInvokeConfig(e.ctx, "cfg", "", tc.in)
			var fe *function.Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &fe) || (tc.msg != "" && fe.Message != tc.msg) {
				t.Fatalf("Put(%s) = %v, want %v %q", tc.name, err, tc.kind, tc.msg)
			}
		})
	}
	out, err := e.svc.PutEventInvokeConfig(e.ctx, "cfg", "", function.EventInvokeConfigInput{MaximumRetryAttempts: ptr(1),
		DestinationConfig: &function.DestinationConfig{OnFailure: function.OnDestination{Destination: failQueue}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if want := `{"LastModified":1772366400,"FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:cfg:$LATEST","MaximumRetryAttempts":1,"DestinationConfig":{"OnSuccess":{},"OnFailure":{"Destination":"` + failQueue + `"}}}`; string(b) != want {
		t.Fatalf("Put = %s\nwant  %s", b, want)
	}
	e.clk.Advance(1500 * time.Millisecond)
	up, err := e.svc.UpdateEventInvokeConfig(e.ctx, "cfg", "", function.EventInvokeConfigInput{MaximumEventAgeInSeconds: ptr(120)})
	if err != nil {
		t.Fatal(err)
	}
	if *up.MaximumRetryAttempts != 1 || *up.MaximumEventAgeInSeconds != 120 || up.DestinationConfig.OnFailure.Destination != failQueue ||
		up.LastModified != 1772366401.5 {
		t.Fatalf("Update kept %+v", up)
	}
	// Put replaces everything: what it leaves out is removed.
	put, err := e.svc.PutEventInvokeConfig(e.ctx, "cfg", "$LATEST", function.EventInvokeConfigInput{MaximumEventAgeInSeconds: ptr(300)})
	if err != nil || put.MaximumRetryAttempts != nil || put.DestinationConfig.OnFailure.Destination != "" {
		t.Fatalf("Put after Update = %+v, %v", put, err)
	}
	list, err := e.svc.ListEventInvokeConfigs(e.ctx, "cfg")
	if err != nil || len(list) != 1 || *list[0].MaximumEventAgeInSeconds != 300 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := e.svc.DeleteEventInvokeConfig(e.ctx, "cfg", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteEventInvokeConfig(e.ctx, "cfg", ""); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if list, err := e.svc.ListEventInvokeConfigs(e.ctx, "cfg"); err != nil || len(list) != 0 {
		t.Fatalf("List after Delete = %+v, %v", list, err)
	}
	if _, err := e.svc.PutEventInvokeConfig(e.ctx, "nope", "", function.EventInvokeConfigInput{}); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("Put on a missing function: %v", err)
	}
}

// An attempt is counted before it runs: an event whose attempt never
// finished (the server stopped) comes back after its lease with that
// attempt counted, and with MaximumRetryAttempts 0 it goes to the failure
// destination without running again.
func TestAsyncAttemptCountedBeforeItRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newAsyncEnv(t, dir, nil)
	e.create("crash", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.Timeout = ptr(30) })
	e.putConfig("crash", ptr(0), nil, "", failQueue)
	id := e.invokeAsync("crash", map[string]any{"op": "sleep", "ms": 20000})
	waitFor(t, "the attempt to start", func() bool { return e.starts("crash", id) == 1 })
	// Stop mid-attempt, as a crash would.
	e.svc.Close()
	e.st.Close()

	clk := clock.NewFake(e.clk.Now())
	st, err := pebblestore.Open(pebblestore.Options{Dir: filepath.Join(dir, "db"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bl, err := blobstore.Open(blobstore.Options{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := function.New(function.Config{Store: st, Blobs: bl, RuntimeDir: filepath.Join(dir, "rt2"), Runtime: runtimeapi.Listen,
		Clock: clk, Queues: destQueues{}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	e2 := &asyncEnv{env: &env{t: t, svc: svc, ctx: context.Background(), dir: dir}, clk: clk, st: st}
	if n := len(e2.messages(failQueue)); n != 0 {
		t.Fatalf("failure record before the lease ran out: %d", n)
	}
	clk.Advance(30*time.Second + 10*time.Second + time.Minute + time.Second) // timeout + init + margin
	waitFor(t, "OnFailure record", func() bool { return len(e2.messages(failQueue)) == 1 })
	r := decodeRecord(t, e2.messages(failQueue)[0].Body)
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != function.ConditionRetriesExhausted || r.RequestContext.ApproximateInvokeCount != 1 {
		t.Fatalf("requestContext = %+v", r.RequestContext)
	}
	if n := strings.Count(e2.logs("crash"), "START RequestId"); n != 0 {
		t.Fatalf("the event ran again (%d) although its one attempt was used", n)
	}
}

func TestEnqueueInvocationTxCommitsWithCaller(t *testing.T) {
	t.Parallel()
	e := newAsyncEnv(t, "", nil)
	e.create("tx", "provided.al2023", "bootstrap", goZip(t), nil)
	e.putConfig("tx", nil, nil, okQueue, "")
	// A rolled-back transaction enqueues nothing.
	boom := errors.New("caller failed")
	err := e.st.Update(e.ctx, func(tx storage.Tx) error {
		if _, err := e.svc.EnqueueInvocationTx(tx, "arn:aws:lambda:us-east-1:000000000000:function:tx", []byte(`{"op":"echo"}`), event.Lineage{RequestID: "r1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var id string
	err = e.st.Update(e.ctx, func(tx storage.Tx) error {
		if err := tx.Set([]byte("caller-key"), []byte("v")); err != nil {
			return err
		}
		var err error
		id, err = e.svc.EnqueueInvocationTx(tx, "arn:aws:lambda:us-east-1:000000000000:function:tx", []byte(`{"op":"echo","text":"t"}`), event.Lineage{RequestID: "r2"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "OnSuccess record", func() bool { return len(e.messages(okQueue)) == 1 })
	if r := decodeRecord(t, e.messages(okQueue)[0].Body); r.RequestContext.RequestID != id {
		t.Fatalf("record for %s, want %s", r.RequestContext.RequestID, id)
	}
	err = e.st.Update(e.ctx, func(tx storage.Tx) error {
		_, err := e.svc.EnqueueInvocationTx(tx, "arn:aws:lambda:us-east-1:000000000000:function:none", []byte(`{}`), event.Lineage{})
		return err
	})
	if !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("enqueue for a missing function: %v", err)
	}
}
