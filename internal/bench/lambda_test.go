package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEvaluateLambdaAims(t *testing.T) {
	lim := LambdaLimits{ProcessLoopbackP50Ms: 0.1, ForkExecP50Ms: 2}
	steps := []Step{
		{Op: "invoke", Concurrency: 1, Requests: 100, PerSecond: 1000, P50Ms: 0.39},
		{Op: "invoke", Concurrency: 8, Requests: 300, PerSecond: 2000, P50Ms: 3},
		{Op: "cold-go", Concurrency: 1, Requests: 5, P50Ms: 4},
	}
	byName := func(aims []Aim) map[string]Aim {
		m := map[string]Aim{}
		for _, a := range aims {
			m[a.Name] = a
		}
		return m
	}
	got := byName(evaluateLambdaAims(steps, lim))
	for name, want := range map[string]string{"invoke_p50_c1": "PASS", "invoke_rate_c8": "PASS", "cold_go_p50": "PASS"} {
		if got[name].Status != want {
			t.Errorf("%s = %s (%s), want %s", name, got[name].Status, got[name].Text, want)
		}
	}

	// Just over each bound, and one refused invoke at 8: every aim misses.
	steps[0].P50Ms, steps[1].PerSecond, steps[2].P50Ms = 0.41, 2100, 4.01
	steps[1].Errors = 1
	got = byName(evaluateLambdaAims(steps, lim))
	for _, name := range []string{"invoke_p50_c1", "invoke_rate_c8", "cold_go_p50"} {
		if got[name].Status != "MISS" {
			t.Errorf("%s = %s (%s), want MISS", name, got[name].Status, got[name].Text)
		}
	}
	if !strings.Contains(got["invoke_rate_c8"].Text, "1 failed requests") {
		t.Errorf("rate aim text %q does not say an invoke failed", got["invoke_rate_c8"].Text)
	}

	got = byName(evaluateLambdaAims(steps[:1], lim))
	if got["invoke_rate_c8"].Status != "n/a" || got["cold_go_p50"].Status != "n/a" {
		t.Errorf("aims without their steps = %+v, want n/a", got)
	}
}

// TestLambdaRunAgainstSluice runs the Lambda bench, tiny, against the real
// server in this process: the echo is built, every step is reported with
// no failed invoke (each answer was checked to be its event), the limits
// are measured, and the report renders as text and JSON.
func TestLambdaRunAgainstSluice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the echo bootstrap and starts processes")
	}
	srv, _ := runSluice(t)
	root := srv.RootCredentials()
	o := DefaultOptions()
	o.Service, o.Endpoint, o.AccessKey, o.SecretKey = "lambda", srv.URL(), root.AccessKeyID, root.SecretAccessKey
	o.Duration, o.Concurrency, o.ColdSamples, o.RoundTrips = 200*time.Millisecond, []int{1, 2}, 2, 20
	rep, err := Run(context.Background(), Config{Options: o, Target: "in-process sluice"})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	want := []struct {
		op string
		c  int
	}{{"invoke", 1}, {"invoke", 2}, {"cold-go", 1}}
	for i, w := range want {
		if i >= len(rep.Steps) {
			t.Fatalf("only %d steps", len(rep.Steps))
		}
		s := rep.Steps[i]
		if s.Op != w.op || s.Concurrency != w.c || s.Requests == 0 || s.Errors != 0 || s.P50Ms <= 0 {
			t.Errorf("step %d = %+v, want %s @%d with requests and no errors", i, s, w.op, w.c)
		}
	}
	if cold := rep.Steps[2]; cold.Requests != 2 {
		t.Errorf("cold-go sampled %d cold starts, want 2", cold.Requests)
	}
	if rep.Lambda.PythonNote == "" && (len(rep.Steps) != 4 || rep.Steps[3].Op != "cold-python" || rep.Steps[3].Errors != 0) {
		t.Errorf("python3 is on PATH but the steps are %+v", rep.Steps)
	}
	l := rep.Lambda.Limits
	if l.ProcessLoopbackP50Ms <= 0 || l.ForkExecP50Ms <= 0 || rep.Lambda.BootstrapBytes == 0 {
		t.Errorf("limits %+v, bootstrap %d bytes: want P, X and a bootstrap", l, rep.Lambda.BootstrapBytes)
	}
	if len(rep.Aims) != 3 {
		t.Fatalf("%d aims, want 3", len(rep.Aims))
	}
	for _, a := range rep.Aims[:2] {
		if a.Name == "invoke_rate_c8" && a.Status != "n/a" {
			t.Errorf("rate aim without concurrency 8 = %s, want n/a", a.Status)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Lambda == nil || back.Lambda.Function != rep.Lambda.Function {
		t.Errorf("JSON round trip: %v, %+v", err, back.Lambda)
	}
}

func TestParseFlagsLambda(t *testing.T) {
	o, err := ParseFlags([]string{"--service", "lambda"}, &bytes.Buffer{})
	if err != nil || len(o.Concurrency) != 2 || o.Concurrency[0] != 1 || o.Concurrency[1] != 8 || o.ColdSamples != 20 {
		t.Fatalf("--service lambda = %+v, %v; want concurrency 1,8 and 20 cold samples", o, err)
	}
	o, err = ParseFlags([]string{"--service", "lambda", "--concurrency", "4", "--cold-samples", "3", "--bootstrap", "/x/bootstrap"}, &bytes.Buffer{})
	if err != nil || len(o.Concurrency) != 1 || o.Concurrency[0] != 4 || o.ColdSamples != 3 || o.Bootstrap != "/x/bootstrap" {
		t.Fatalf("explicit lambda flags = %+v, %v", o, err)
	}
	if _, err := ParseFlags([]string{"--service", "lambda", "--cold-samples", "0"}, &bytes.Buffer{}); err == nil {
		t.Fatal("--cold-samples 0 accepted")
	}
}
