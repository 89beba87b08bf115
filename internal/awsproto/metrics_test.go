package awsproto

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Observe counts by operation and code and times by operation, from
// concurrent requests; a second RequestMetrics on the same registry
// counts into the same series.
func TestRequestMetricsObserve(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	opts := RequestMetricsOpts{Service: "test", OpLabel: "action", RequestsHelp: "Requests.", DurationHelp: "Durations."}
	m := NewRequestMetrics(reg, opts)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				m.Observe("Send", "OK", time.Millisecond)
				if i%2 == 0 {
					m.Observe("Send", "InvalidParameterValue", time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	NewRequestMetrics(reg, opts).Observe("Receive", "OK", 2*time.Second)

	want := `
# HELP sluice_test_requests_total Requests.
# TYPE sluice_test_requests_total counter
sluice_test_requests_total{action="Receive",code="OK"} 1
sluice_test_requests_total{action="Send",code="InvalidParameterValue"} 400
sluice_test_requests_total{action="Send",code="OK"} 800
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_test_requests_total"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_test_request_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			counts[mt.GetLabel()[0].GetValue()] = mt.GetHistogram().GetSampleCount()
		}
	}
	if counts["Send"] != 1200 || counts["Receive"] != 1 {
		t.Fatalf("durations observed = %v, want Send 1200 and Receive 1", counts)
	}
}

// StatusCode is the decimal text of a status, in and out of the table.
func TestStatusCode(t *testing.T) {
	for status, want := range map[int]string{200: "200", 404: "404", 0: "0", 599: "599", 600: "600", 1000: "1000", -1: "-1"} {
		if got := StatusCode(status); got != want {
			t.Errorf("StatusCode(%d) = %q, want %q", status, got, want)
		}
	}
}
