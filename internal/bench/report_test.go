package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEvaluateAims(t *testing.T) {
	lim := Limits{FsyncP50Ms: 0.4, LoopbackP50Ms: 0.06, PostCeiling: 14000}
	// f + 10L = 1.0 ms; 0.2 C = 2,800/s.
	steps := func(putP50, put32, get32 float64) []Step {
		return []Step{
			{Op: "PUT", Concurrency: 1, P50Ms: putP50, PerSecond: 1000},
			{Op: "GET", Concurrency: 1, P50Ms: 0.2, PerSecond: 3000},
			{Op: "PUT", Concurrency: 32, PerSecond: put32},
			{Op: "GET", Concurrency: 32, PerSecond: get32},
		}
	}
	tests := []struct {
		name  string
		steps []Step
		want  [3]string
	}{
		{"all pass", steps(0.9, 3000, 5000), [3]string{"PASS", "PASS", "PASS"}},
		{"on the bounds pass", steps(1.0, 2800, 2800), [3]string{"PASS", "PASS", "PASS"}},
		{"latency miss", steps(1.2, 3000, 5000), [3]string{"MISS", "PASS", "PASS"}},
		{"rate miss", steps(0.9, 2000, 5000), [3]string{"PASS", "MISS", "PASS"}},
		{"get slower than put", steps(0.9, 3000, 2900), [3]string{"PASS", "PASS", "MISS"}},
		{"no concurrency 32", steps(0.9, 3000, 5000)[:2], [3]string{"PASS", "n/a", "n/a"}},
		{"no concurrency 1", steps(0.9, 3000, 5000)[2:], [3]string{"n/a", "PASS", "PASS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aims := evaluateAims(tc.steps, lim)
			if len(aims) != 3 {
				t.Fatalf("got %d aims, want 3", len(aims))
			}
			for i, a := range aims {
				if a.Status != tc.want[i] {
					t.Errorf("aim %s: status %s, want %s (%s)", a.Name, a.Status, tc.want[i], a.Text)
				}
			}
		})
	}

	aims := evaluateAims(steps(0.9, 3000, 5000), lim)
	if want := "PUT p50 @1 = 0.900 ms vs f + 10L = 0.400 + 10 x 0.060 = 1.000 ms"; aims[0].Text != want {
		t.Errorf("latency text = %q, want %q", aims[0].Text, want)
	}
	if want := "PUT/s @32 = 3,000 = 0.214 x C (C = 14,000/s; aim >= 0.2)"; aims[1].Text != want {
		t.Errorf("rate text = %q, want %q", aims[1].Text, want)
	}
	if want := "GET/s @32 = 5,000 >= PUT/s @32 = 3,000"; aims[2].Text != want {
		t.Errorf("get text = %q, want %q", aims[2].Text, want)
	}

	// Failed requests are not in the figures, so a step with errors misses.
	bad := steps(0.9, 3000, 5000)
	bad[2].Errors = 3
	aims = evaluateAims(bad, lim)
	if aims[1].Status != "MISS" || aims[2].Status != "MISS" || !strings.Contains(aims[1].Text, "3 failed requests") {
		t.Errorf("with errors in PUT @32: %+v", aims)
	}
}

func TestMeanLimits(t *testing.T) {
	m := meanLimits(Limits{FsyncP50Ms: 1, LoopbackP50Ms: 0.1, PostCeiling: 1000, FsyncDir: "d"},
		Limits{FsyncP50Ms: 3, LoopbackP50Ms: 0.3, PostCeiling: 3000, FsyncDir: "d"})
	if m.FsyncP50Ms != 2 || m.LoopbackP50Ms < 0.1999 || m.LoopbackP50Ms > 0.2001 || m.PostCeiling != 2000 || m.FsyncDir != "d" {
		t.Errorf("meanLimits = %+v", m)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 7.4: "7", 999.5: "1,000", 1234: "1,234", 1234567.2: "1,234,567", 100000: "100,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tsluice\nVmPeak:\t  200000 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n"
	n, err := parseVmRSS(strings.NewReader(status))
	if err != nil || n != 12345*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", n, err, 12345*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\tlots kB\n", "VmRSS:\t12 MB\n"} {
		if _, err := parseVmRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("parseVmRSS(%q) succeeded, want an error", bad)
		}
	}
	self, err := ProcRSS(0)()
	if err != nil || self <= 0 {
		t.Errorf("ProcRSS(0)() = %d, %v; want this process's RSS", self, err)
	}
}

func TestWriteTextHasEveryRow(t *testing.T) {
	rep := &Report{
		Date:         time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Machine:      Machine{NumCPU: 2, GOMAXPROCS: 2, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"},
		Target:       "in-process sluice",
		Endpoint:     "http://127.0.0.1:1",
		Bucket:       "b",
		ObjectSize:   1024,
		StepSeconds:  5,
		LimitsBefore: Limits{FsyncP50Ms: 0.4, LoopbackP50Ms: 0.05, PostCeiling: 12000, FsyncDir: "/data"},
		LimitsAfter:  Limits{FsyncP50Ms: 0.6, LoopbackP50Ms: 0.07, PostCeiling: 14000, FsyncDir: "/data"},
		Steps: []Step{
			{Op: "PUT", Concurrency: 1, PerSecond: 1500, P50Ms: 0.61, P99Ms: 2, Requests: 7500},
			{Op: "GET", Concurrency: 1, PerSecond: 4000, P50Ms: 0.2, P99Ms: 1, Requests: 20000, Errors: 1, FirstError: "boom"},
		},
		Large: []Transfer{{Op: "PUT", Size: 64 << 20, Count: 8, Concurrency: 1, MBPerSecond: 300.5}},
		Huge:  &Huge{Size: 5 << 30, RSSSource: "/proc/self", RSSBeforeBytes: 50 << 20, RSSGrowthBytes: 3 << 20},
	}
	rep.Limits = meanLimits(rep.LimitsBefore, rep.LimitsAfter)
	rep.Aims = evaluateAims(rep.Steps, rep.Limits)
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"nproc 2", "GOMAXPROCS 2", "go1.26.8",
		"f  append 1300 B + fdatasync p50 (ms)", "0.400", "0.600", "0.500",
		"L  loopback HTTP round trip p50 (ms)", "C  loopback 1 KiB POST/s @32", "12,000", "14,000", "13,000",
		"f measured in /data",
		"1,500", "4,000", "first error, GET @1: boom",
		"64 MiB", "300.5",
		"huge 5 GiB", "growth 3.0 MiB",
		"PASS  PUT p50 @1 = 0.610 ms vs f + 10L = 0.500 + 10 x 0.060 = 1.100 ms",
		"n/a   PUT/s @32",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	var j bytes.Buffer
	if err := rep.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Steps) != 2 || back.Steps[0].PerSecond != 1500 || back.Limits.PostCeiling != 13000 || back.Huge == nil || len(back.Aims) != 3 {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
}
