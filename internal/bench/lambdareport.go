package bench

import (
	"bytes"
	"fmt"
	"io"
	"time"
)

// evaluateLambdaAims computes issue 7's three aims from the steps and the
// limits. An aim whose step was not run is n/a.
func evaluateLambdaAims(steps []Step, lim LambdaLimits) []Aim {
	var aims []Aim

	bound := aimWarmHops * lim.ProcessLoopbackP50Ms
	a := Aim{Name: "invoke_p50_c1", Status: "n/a", Bound: bound,
		Text: "warm Invoke p50 @1: not measured (concurrency 1 not in the list)"}
	one, haveOne := findStep(steps, "invoke", 1)
	if haveOne {
		a.Value = one.P50Ms
		a.Status = status(one.P50Ms <= bound, one)
		a.Text = fmt.Sprintf("warm Invoke p50 @1 = %.3f ms vs 4P = 4 x %.3f = %.3f ms%s",
			one.P50Ms, lim.ProcessLoopbackP50Ms, bound, errorNote(one))
	}
	aims = append(aims, a)

	a = Aim{Name: "invoke_rate_c8", Status: "n/a", Bound: aimInvokeScaling,
		Text: "Invoke/s @8 >= 2 x Invoke/s @1: not measured (concurrency 1 or 8 not in the list)"}
	if eight, ok := findStep(steps, "invoke", aimInvokeConc); ok && haveOne {
		ratio := 0.0
		if one.PerSecond > 0 {
			ratio = eight.PerSecond / one.PerSecond
		}
		a.Value = ratio
		// Every invoke at 8 answered: status misses a step with any error.
		a.Status = status(ratio >= aimInvokeScaling, eight, one)
		a.Text = fmt.Sprintf("Invoke/s @8 = %s = %.2f x Invoke/s @1 (%s/s; aim >= %d x, every invoke answered)%s",
			thousands(eight.PerSecond), ratio, thousands(one.PerSecond), aimInvokeScaling, errorNote(eight, one))
	}
	aims = append(aims, a)

	bound = aimColdForkExecs * lim.ForkExecP50Ms
	a = Aim{Name: "cold_go_p50", Status: "n/a", Bound: bound, Text: "Go cold start p50: not measured"}
	if cold, ok := findStep(steps, "cold-go", 1); ok {
		a.Value = cold.P50Ms
		a.Status = status(cold.Requests > 0 && cold.P50Ms <= bound, cold)
		a.Text = fmt.Sprintf("Go cold start p50 = %.3f ms vs 2X = 2 x %.3f = %.3f ms%s",
			cold.P50Ms, lim.ForkExecP50Ms, bound, errorNote(cold))
	}
	return append(aims, a)
}

// writeLambdaText is WriteText for a Lambda run.
func (r *Report) writeLambdaText(w io.Writer) error {
	var b bytes.Buffer
	lr := r.Lambda
	if lr == nil {
		lr = &LambdaRun{}
	}
	r.writeHeader(&b)
	fmt.Fprintf(&b, "target: %s at %s, Lambda (REST JSON), function %s\n", r.Target, r.Endpoint, lr.Function)
	fmt.Fprintf(&b, "bootstrap: %s, %s; %s per invoke step\n\n", lr.Bootstrap, formatBytes(lr.BootstrapBytes),
		time.Duration(r.StepSeconds*float64(time.Second)))

	lb, la, lm := lr.LimitsBefore, lr.LimitsAfter, lr.Limits
	fmt.Fprintf(&b, "%-44s %10s %10s %10s\n", "limit", "before", "after", "mean")
	fmt.Fprintf(&b, "%-44s %10.3f %10.3f %10.3f\n", "P  loopback round trip to a process p50 (ms)", lb.ProcessLoopbackP50Ms, la.ProcessLoopbackP50Ms, lm.ProcessLoopbackP50Ms)
	fmt.Fprintf(&b, "%-44s %10.3f %10.3f %10.3f\n", "   p99 (ms)", lb.ProcessLoopbackP99Ms, la.ProcessLoopbackP99Ms, lm.ProcessLoopbackP99Ms)
	fmt.Fprintf(&b, "%-44s %10.3f %10.3f %10.3f\n", "X  fork+exec of the bootstrap p50 (ms)", lb.ForkExecP50Ms, la.ForkExecP50Ms, lm.ForkExecP50Ms)
	fmt.Fprintf(&b, "%-44s %10.3f %10.3f %10.3f\n\n", "   p99 (ms)", lb.ForkExecP99Ms, la.ForkExecP99Ms, lm.ForkExecP99Ms)

	fmt.Fprintf(&b, "%-12s %11s %10s %9s %9s %9s %7s\n", "op", "concurrency", "req/s", "p50 ms", "p99 ms", "requests", "errors")
	for _, s := range r.Steps {
		rate := thousands(s.PerSecond)
		if s.Op != "invoke" {
			rate = "-" // cold starts are sampled one at a time with set-up between
		}
		fmt.Fprintf(&b, "%-12s %11d %10s %9.3f %9.3f %9d %7d\n", s.Op, s.Concurrency, rate, s.P50Ms, s.P99Ms, s.Requests, s.Errors)
	}
	if lr.PythonNote != "" {
		fmt.Fprintf(&b, "%-12s %s\n", "cold-python", lr.PythonNote)
	}
	for _, s := range r.Steps {
		if s.FirstError != "" {
			fmt.Fprintf(&b, "first error, %s @%d: %s\n", s.Op, s.Concurrency, s.FirstError)
		}
	}
	b.WriteString("\ninvoke: synchronous Invoke of a warm echo function, answer checked;\n")
	b.WriteString("cold-go / cold-python: first Invoke of a just-created function (provided.al2023 / " + pythonRuntime + "), request to response\n")

	b.WriteString("\naims (ratios to the mean of the limits before and after)\n")
	for _, a := range r.Aims {
		fmt.Fprintf(&b, "  %-4s  %s\n", a.Status, a.Text)
	}
	_, err := w.Write(b.Bytes())
	return err
}
