package dispatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

// fakeDest is a set of local queues (storage queues "q/<arn>") with a
// per-destination verdict the test changes.
type fakeDest struct {
	mu       sync.Mutex
	verdicts map[string]notify.Verdict
}

func (d *fakeDest) set(arn string, v notify.Verdict) {
	d.mu.Lock()
	d.verdicts[arn] = v
	d.mu.Unlock()
}

func (d *fakeDest) Check(_ context.Context, _ notify.Kind, arn, _ string) (notify.Verdict, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.verdicts[arn]
	if !ok {
		return notify.Verdict{Status: notify.Missing, Reason: "no such queue"}, nil
	}
	return v, nil
}

func (d *fakeDest) EnqueueTx(tx storage.Tx, arn string, body []byte) error {
	if v, _ := d.Check(context.Background(), event.Queue, arn, ""); v.Status == notify.Missing {
		return ErrNoSuchDestination
	}
	_, err := tx.Enqueue("q/"+arn, storage.Message{Body: body})
	return err
}

// InvokeTx enqueues into "fn/<arn>" with the ref as an attribute.
func (d *fakeDest) InvokeTx(tx storage.Tx, arn string, payload []byte, _ event.Lineage, _, ref string) error {
	if v, _ := d.Check(context.Background(), event.Function, arn, ""); v.Status == notify.Missing {
		return ErrNoSuchDestination
	}
	_, err := tx.Enqueue("fn/"+arn, storage.Message{Body: payload, Attributes: map[string]string{"ref": ref}})
	return err
}

type bucketsOf struct{ store storage.Store }

func (b bucketsOf) UpdateBucket(ctx context.Context, _ string, fn func(storage.Tx) error) error {
	return b.store.Update(ctx, fn)
}
func (b bucketsOf) ViewBucket(ctx context.Context, _ string, fn func(storage.ReadTx) error) error {
	return b.store.View(ctx, fn)
}

type env struct {
	store *pebblestore.Store
	clk   *clock.Fake
	dest  *fakeDest
	svc   *Service
	reg   *prometheus.Registry
}

const qARN = "arn:aws:sqs:us-east-1:000000000000:q"

func newEnv(t *testing.T, fs vfs.FS, cfg Config) *env {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{store: st, clk: clk, dest: &fakeDest{verdicts: map[string]notify.Verdict{}}, reg: prometheus.NewRegistry()}
	cfg.Store, cfg.Buckets, cfg.Destinations, cfg.Clock, cfg.Registerer = st, bucketsOf{st}, e.dest, clk, e.reg
	e.svc, err = New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) configure(t *testing.T, prefix string) {
	t.Helper()
	cfg := &notify.Configuration{Rules: []notify.Rule{{ID: "r1", Kind: event.Queue, ARN: qARN,
		Events: []event.Name{event.ObjectCreatedAll}, Filter: []notify.FilterRule{{Name: "prefix", Value: prefix}}}}}
	if err := e.svc.PutConfiguration(context.Background(), "b", cfg, PutOptions{SkipDestinationValidation: true}); err != nil {
		t.Fatalf("PutConfiguration: %v", err)
	}
}

func (e *env) put(t *testing.T, requestID, key string) {
	t.Helper()
	ctx := event.WithOrigin(context.Background(), event.Origin{RequestID: requestID, HostID: "h", PrincipalID: "p", SourceIP: "127.0.0.1"})
	err := e.store.Update(ctx, func(tx storage.Tx) error {
		return e.svc.Publish(ctx, tx, event.Change{Name: event.ObjectCreatedPut, Bucket: "b", Key: key, Size: 1, ETag: "e", Time: e.clk.Now()})
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func (e *env) queued(t *testing.T, queue string) []string {
	t.Helper()
	var out []string
	err := e.store.View(context.Background(), func(tx storage.ReadTx) error {
		return tx.Messages(queue, func(m storage.Message) bool { out = append(out, string(m.Body)); return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPublishDirectHeldAndFiltered(t *testing.T) {
	e := newEnv(t, nil, Config{})
	e.configure(t, "in/")
	e.dest.set(qARN, notify.Verdict{Status: notify.Deliverable})

	e.put(t, "R1", "in/a b")
	e.put(t, "R2", "out/x") // filtered out
	got := e.queued(t, "q/"+qARN)
	if len(got) != 1 || !strings.Contains(got[0], `"key":"in/a+b"`) || !strings.Contains(got[0], `"x-amz-request-id":"R1"`) {
		t.Fatalf("queue holds %q", got)
	}
	if res, _ := e.svc.Records(context.Background(), "R1"); !res.Complete || len(res.Records) != 1 || res.Records[0].State != "delivered" {
		t.Errorf("R1 index: %+v", res)
	}
	if res, _ := e.svc.Records(context.Background(), "R2"); !res.Complete || len(res.Records) != 0 {
		t.Errorf("R2 index: %+v", res)
	}

	// Refusing: held with the reason, not in the queue.
	e.dest.set(qARN, notify.Verdict{Status: notify.Refused, Reason: "statement 0 does not match"})
	e.put(t, "R3", "in/c")
	if n := len(e.queued(t, "q/"+qARN)); n != 1 {
		t.Errorf("refusing queue got a record: %d", n)
	}
	res, _ := e.svc.Records(context.Background(), "R3")
	if res.Complete || len(res.Pending) != 1 || !strings.Contains(res.Pending[0].Reason, "statement 0 does not match") {
		t.Errorf("R3 index: %+v", res)
	}
	if v, _ := e.svc.DeliveryView(context.Background(), 10); v.HeldCount != 1 || len(v.Records) != 1 || v.Records[0].Key != "in/c" {
		t.Errorf("delivery view: %+v", v)
	}
}

func TestHeldRecordDeliveredWhenAccepted(t *testing.T) {
	e := newEnv(t, nil, Config{})
	e.configure(t, "")
	e.put(t, "R1", "k") // no queue yet: held
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// The worker cannot deliver yet; the wait times out by the fake clock.
	waitDone := make(chan WaitResult)
	go func() { r, _ := e.svc.Wait(context.Background(), "R1", time.Hour); waitDone <- r }()
	e.dest.set(qARN, notify.Verdict{Status: notify.Deliverable})
	// Advance until the backoff lets the worker look again; Wait returns
	// as soon as the delivery commits.
	for i := 0; i < 200; i++ {
		select {
		case r := <-waitDone:
			if !r.Complete || r.Records[0].State != "delivered" {
				t.Fatalf("wait: %+v", r)
			}
			if got := e.queued(t, "q/"+qARN); len(got) != 1 {
				t.Fatalf("queue: %q", got)
			}
			if v := testutil.ToFloat64(e.svc.m.delivered.WithLabelValues("queue")); v != 1 {
				t.Errorf("delivered metric %v", v)
			}
			return
		case <-time.After(5 * time.Millisecond):
			e.clk.Advance(500 * time.Millisecond)
		}
	}
	t.Fatal("held record never delivered")
}

func TestHeldRecordsDroppedByAgeAndCount(t *testing.T) {
	e := newEnv(t, nil, Config{MaxHeld: 2, MaxHeldAge: time.Hour})
	e.configure(t, "")
	for _, id := range []string{"R1", "R2", "R3"} {
		e.put(t, id, "k-"+id)
	}
	// Three held, limit two: the oldest goes.
	if _, err := e.svc.deliverBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	r1, _ := e.svc.Records(context.Background(), "R1")
	r3, _ := e.svc.Records(context.Background(), "R3")
	if !r1.Complete || r1.Records[0].State != "dropped" || !strings.Contains(r1.Records[0].Reason, "limit") {
		t.Errorf("R1 after the count bound: %+v", r1)
	}
	if r3.Complete {
		t.Errorf("R3 should still be held: %+v", r3)
	}
	// Past the age bound, everything goes.
	e.clk.Advance(2 * time.Hour)
	if _, err := e.svc.deliverBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	r3, _ = e.svc.Records(context.Background(), "R3")
	if !r3.Complete || r3.Records[0].State != "dropped" || !strings.Contains(r3.Records[0].Reason, "held longer than") {
		t.Errorf("R3 after the age bound: %+v", r3)
	}
	if v := testutil.ToFloat64(e.svc.m.dropped.WithLabelValues("queue", "max_age")) + testutil.ToFloat64(e.svc.m.dropped.WithLabelValues("queue", "max_held")); v != 3 {
		t.Errorf("dropped metrics total %v, want 3", v)
	}
	if n := e.store.Stats(HeldQueue); n.Visible+n.InFlight+n.Delayed != 0 {
		t.Errorf("held queue not empty: %+v", n)
	}
	// Pruning removes final entries after the retention.
	e.clk.Advance(2 * time.Hour)
	n, err := e.svc.pruneIndex(context.Background(), e.clk.Now().Add(-time.Hour), 1)
	if err != nil || n != 3 {
		t.Errorf("prune: %d, %v", n, err)
	}
}

func TestEpochGrowsPerOpening(t *testing.T) {
	fs := vfs.NewMem()
	var epochs []uint64
	for i := 0; i < 2; i++ {
		st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(context.Background(), Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, svc.seq.Epoch())
		st.Close()
	}
	if epochs[1] <= epochs[0] {
		t.Errorf("epochs %v do not grow", epochs)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	in := entry{State: StateHeld, Kind: event.Queue, Time: time.Unix(5, 6).UTC(), Updated: time.Unix(7, 8).UTC(),
		Destination: "arn", Event: event.ObjectCreatedPut, Key: "k", Reason: "why"}
	out, err := decodeEntry(in.encode())
	if err != nil || out != in {
		t.Errorf("round trip: %+v, %v", out, err)
	}
	for _, bad := range [][]byte{nil, {9}, in.encode()[:10]} {
		if _, err := decodeEntry(bad); !errors.Is(err, errCorruptEntry) {
			t.Errorf("decode %v: %v", bad, err)
		}
	}
}

// Past MaxHeld, the destination holding the most records loses its oldest
// first: a flood for one refusing destination does not push out the
// single, older record held for another.
func TestHeldLimitDropsFromTheLargestDestination(t *testing.T) {
	e := newEnv(t, nil, Config{MaxHeld: 3, MaxHeldAge: time.Hour})
	const aARN, bARN = "arn:aws:sqs:us-east-1:000000000000:a", "arn:aws:sqs:us-east-1:000000000000:b"
	cfg := &notify.Configuration{Rules: []notify.Rule{
		{ID: "a", Kind: event.Queue, ARN: aARN, Events: []event.Name{event.ObjectCreatedAll}, Filter: []notify.FilterRule{{Name: "prefix", Value: "a/"}}},
		{ID: "b", Kind: event.Queue, ARN: bARN, Events: []event.Name{event.ObjectCreatedAll}, Filter: []notify.FilterRule{{Name: "prefix", Value: "b/"}}},
	}}
	if err := e.svc.PutConfiguration(context.Background(), "b", cfg, PutOptions{SkipDestinationValidation: true}); err != nil {
		t.Fatal(err)
	}
	// Neither queue exists: every record is held. B's comes first, then
	// a flood of four for A: five held, the limit is three.
	e.put(t, "B1", "b/1")
	for _, id := range []string{"A1", "A2", "A3", "A4"} {
		e.put(t, id, "a/"+id)
	}
	if _, err := e.svc.deliverBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	state := func(rid string) string {
		r, err := e.svc.Records(context.Background(), rid)
		if err != nil || len(r.Records) != 1 {
			t.Fatalf("Records(%s) = %+v, %v", rid, r, err)
		}
		return r.Records[0].State
	}
	if got := state("B1"); got != "held" {
		t.Errorf("B's only record is %s, want held (A holds the most)", got)
	}
	// A held four against B's one: A gives up its two oldest.
	var dropped []string
	for _, id := range []string{"A1", "A2", "A3", "A4"} {
		if state(id) == "dropped" {
			dropped = append(dropped, id)
		}
	}
	if strings.Join(dropped, ",") != "A1,A2" {
		t.Errorf("dropped %v, want A1,A2", dropped)
	}
	if n := e.store.Stats(HeldQueue); n.Visible+n.InFlight+n.Delayed != 3 {
		t.Errorf("held %+v, want 3 (the limit)", n)
	}

	// A service opened later on the same store counts what is held
	// already: one more record for A drops A's oldest, not B's.
	e2, err := New(context.Background(), Config{Store: e.store, Buckets: bucketsOf{e.store}, Destinations: e.dest,
		Clock: e.clk, MaxHeld: 3, MaxHeldAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = e2
	e.clk.Advance(time.Minute) // past every held record's back-off
	e.put(t, "A5", "a/5")
	if _, err := e2.deliverBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := state("B1"); got != "held" {
		t.Errorf("after reopening, B's record is %s, want held", got)
	}
	if got := state("A3"); got != "dropped" {
		t.Errorf("after reopening, A's oldest held record is %s, want dropped", got)
	}
}
