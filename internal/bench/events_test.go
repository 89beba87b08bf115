package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestEventKeys(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
		err        string
	}{
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}`, nil, ""},
		{"form-encoded key", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"a/b+c%40d"}}}]}`, []string{"a/b c@d"}, ""},
		{"two records", `{"Records":[{"s3":{"object":{"key":"x"}}},{"s3":{"object":{"key":"y"}}}]}`, []string{"x", "y"}, ""},
		{"no records", `{"Records":[]}`, nil, "no Records"},
		{"not json", `nope`, nil, "not JSON"},
		{"bad escape", `{"Records":[{"s3":{"object":{"key":"%zz"}}}]}`, nil, "%zz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventKeys([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("eventKeys(%s) err = %v, want one containing %q", tc.body, err, tc.err)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("eventKeys(%s) = %q, %v; want %q", tc.body, got, err, tc.want)
			}
		})
	}
}

func TestEventTracker(t *testing.T) {
	tr := newEventTracker()
	t0 := time.Now()
	for i, k := range []string{"a", "b", "c"} {
		tr.begin(k, t0.Add(time.Duration(i)*time.Millisecond))
	}
	tr.ack("a")
	tr.ack("b")
	tr.ack("c")
	loadEnd := t0.Add(10 * time.Millisecond)
	tr.arrive("a", t0.Add(3*time.Millisecond))                               // 3 ms
	tr.arrive("a", t0.Add(4*time.Millisecond))                               // duplicate
	tr.arrive("zzz", t0)                                                     // not this step's
	tr.arrive("b", loadEnd.Add(5*time.Millisecond))                          // 14 ms, 5 ms after the load
	d, lat := tr.waitAll(context.Background(), loadEnd, 20*time.Millisecond) // c never arrives
	if d.Acked != 3 || d.Delivered != 2 || d.Lost != 1 || d.Duplicates != 1 {
		t.Fatalf("delivery = %+v, want 3 acked, 2 delivered, 1 lost, 1 duplicate", d)
	}
	if d.DrainMs != 5 {
		t.Fatalf("drain = %v ms, want 5", d.DrainMs)
	}
	if len(lat) != 2 || lat[0] != 3*time.Millisecond || lat[1] != 14*time.Millisecond {
		t.Fatalf("latencies = %v, want [3ms 14ms]", lat)
	}
}

func TestEvaluateEventAims(t *testing.T) {
	steps := []Step{
		{Op: "put-plain", Concurrency: 32, Requests: 100, PerSecond: 1000},
		{Op: "put-notify", Concurrency: 32, Requests: 100, PerSecond: 790},
		{Op: "put-notify-idle", Concurrency: 32, Requests: 100, PerSecond: 700},
		{Op: "event", Concurrency: 32, Requests: 100, P50Ms: 19.5},
		{Op: "put-paced", Concurrency: 1, Requests: 100, P50Ms: 1.0},
		{Op: "event-paced", Concurrency: 1, Requests: 100, P50Ms: 1.6},
	}
	del := []Delivery{{Op: "event", Concurrency: 32, Acked: 100, Delivered: 100, DrainMs: 1200},
		{Op: "event-paced", Concurrency: 1, Acked: 100, Delivered: 100}}
	want := map[string]string{"event_light_p50": "MISS", "event_p50_c32": "PASS", "event_drain_c32": "MISS", "notify_put_share_c32": "MISS", "notify_put_share_c32_consumed": "info"}
	for _, a := range evaluateEventAims(steps, del, "event", aimLightExtraMs) {
		if want[a.Name] != a.Status {
			t.Errorf("%s = %s (%s), want %s", a.Name, a.Status, a.Text, want[a.Name])
		}
		delete(want, a.Name)
	}
	if len(want) != 0 {
		t.Errorf("aims not evaluated: %v", want)
	}
	steps[5].P50Ms, steps[1].PerSecond, steps[2].PerSecond, del[0].DrainMs = 1.4, 500, 850, 900
	for _, a := range evaluateEventAims(steps, del, "event", aimLightExtraMs) {
		if want := map[bool]string{true: "info", false: "PASS"}[a.Name == "notify_put_share_c32_consumed"]; a.Status != want {
			t.Errorf("%s = %s (%s), want %s", a.Name, a.Status, a.Text, want)
		}
	}
	// The baseline is the mean of the plain steps before and after the
	// notifying ones: 850 against (1000 + 1200) / 2 = 1100 is 0.77.
	withAfter := append(steps[:len(steps):len(steps)], Step{Op: "put-plain-after", Concurrency: 32, Requests: 100, PerSecond: 1200})
	for _, a := range evaluateEventAims(withAfter, del, "event", aimLightExtraMs) {
		if a.Name == "notify_put_share_c32" && (a.Status != "MISS" || a.Value < 0.772 || a.Value > 0.773) {
			t.Errorf("%s with a plain step after = %s %.4f (%s), want MISS 0.7727", a.Name, a.Status, a.Value, a.Text)
		}
	}
	del[1].Lost = 1 // an event lost under light load fails its aim
	if a := evaluateEventAims(steps, del, "event", aimLightExtraMs)[0]; a.Status != "MISS" {
		t.Errorf("light aim with a lost event = %s, want MISS", a.Status)
	}
}

func TestEvaluateS3FunctionAims(t *testing.T) {
	steps := []Step{
		{Op: "event-paced", Concurrency: 1, Requests: 10, P50Ms: 2.0},
		{Op: "fn-paced", Concurrency: 1, Requests: 10, P50Ms: 2.9},
		{Op: "put-burst", Concurrency: fnBurstConc, Requests: fnBurst},
		{Op: "fn-burst", Concurrency: fnBurstConc, Requests: fnBurst, PerSecond: 400},
	}
	ev := &EventsRun{Delivery: []Delivery{{Op: "fn-paced", Concurrency: 1, Acked: 10, Delivered: 10},
		{Op: "fn-burst", Concurrency: fnBurstConc, Acked: fnBurst, Delivered: fnBurst}},
		Processes: &ProcessSeen{Distinct: fnCap, Cap: fnCap}}
	for _, a := range evaluateS3FunctionAims(steps, ev) {
		if a.Status != "PASS" {
			t.Errorf("%s = %s (%s), want PASS", a.Name, a.Status, a.Text)
		}
	}
	ev.Processes.Distinct = fnCap + 1
	steps[1].P50Ms = 3.1
	for _, a := range evaluateS3FunctionAims(steps, ev) {
		if a.Status != "MISS" {
			t.Errorf("%s = %s (%s), want MISS", a.Name, a.Status, a.Text)
		}
	}
}

// TestEventTrackerArrivalBeforeAck: an event may reach a consumer before
// its PUT's response reaches the client; it still counts once.
func TestEventTrackerArrivalBeforeAck(t *testing.T) {
	tr := newEventTracker()
	t0 := time.Now()
	tr.begin("k", t0)
	tr.arrive("k", t0.Add(time.Millisecond))
	tr.ack("k")
	d, lat := tr.waitAll(context.Background(), t0, time.Second)
	if d.Acked != 1 || d.Delivered != 1 || d.Lost != 0 || len(lat) != 1 {
		t.Fatalf("delivery = %+v with %d latencies, want one delivered", d, len(lat))
	}
}
