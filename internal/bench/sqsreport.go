package bench

import (
	"bytes"
	"fmt"
	"io"
	"time"
)

// evaluateSQSAims computes issue 5's two aims: the send-to-waiting-receive
// p50 against f + 4 L, and durable single sends/s at concurrency 32
// against 0.25 C. An aim whose step was not run is n/a.
func evaluateSQSAims(steps []Step, lim Limits) []Aim {
	var aims []Aim
	bound := lim.FsyncP50Ms + aimPollLoopbacks*lim.LoopbackP50Ms
	a := Aim{Name: "poll_p50", Status: "n/a", Bound: bound,
		Text: "send-to-waiting-receive p50: not measured"}
	if p, ok := findStep(steps, "poll", 1); ok {
		a.Value = p.P50Ms
		a.Status = status(p.P50Ms <= bound, p)
		a.Text = fmt.Sprintf("send-to-waiting-receive p50 = %.3f ms vs f + 4L = %.3f + 4 x %.3f = %.3f ms (p99 %.3f ms)%s%s",
			p.P50Ms, lim.FsyncP50Ms, lim.LoopbackP50Ms, bound, p.P99Ms, idleNote(lim), errorNote(p))
	}
	aims = append(aims, a)

	a = Aim{Name: "send_rate_c32", Status: "n/a", Bound: aimSendShare,
		Text: "durable sends/s @32: not measured (concurrency 32 not in the list)"}
	if s, ok := findStep(steps, "send", aimConcurrency); ok {
		ratio := 0.0
		if lim.PostCeiling > 0 {
			ratio = s.PerSecond / lim.PostCeiling
		}
		a.Value = ratio
		a.Status = status(ratio >= aimSendShare, s)
		a.Text = fmt.Sprintf("durable SendMessage/s @32 = %s = %.3f x C (C = %s/s; aim >= %.2f)%s",
			thousands(s.PerSecond), ratio, thousands(lim.PostCeiling), aimSendShare, errorNote(s))
	}
	return append(aims, a)
}

// writeSQSText is WriteText for an SQS run.
func (r *Report) writeSQSText(w io.Writer) error {
	var b bytes.Buffer
	r.writeHeader(&b)
	fmt.Fprintf(&b, "target: %s at %s, SQS (AWS JSON 1.0), queue %s\n", r.Target, r.Endpoint, r.Queue)
	fmt.Fprintf(&b, "messages: %s, %s per step\n\n", formatSize(r.ObjectSize), time.Duration(r.StepSeconds*float64(time.Second)))
	r.writeLimits(&b)

	fmt.Fprintf(&b, "%-12s %11s %10s %10s %9s %9s %9s %7s\n", "op", "concurrency", "req/s", "msg/s", "p50 ms", "p99 ms", "requests", "errors")
	for _, s := range r.Steps {
		note := ""
		if s.Drained {
			note = "  queue drained"
		}
		fmt.Fprintf(&b, "%-12s %11d %10s %10s %9.3f %9.3f %9d %7d%s\n", s.Op, s.Concurrency, thousands(s.PerSecond),
			thousands(s.MessagesPerSecond), s.P50Ms, s.P99Ms, s.Requests, s.Errors, note)
	}
	for _, s := range r.Steps {
		if s.FirstError != "" {
			fmt.Fprintf(&b, "first error, %s @%d: %s\n", s.Op, s.Concurrency, s.FirstError)
		}
	}
	b.WriteString("\nsend: SendMessage; send10: SendMessageBatch of 10; recv+del: ReceiveMessage + DeleteMessage;\n")
	b.WriteString("recv10+del10: ReceiveMessage of up to 10 + DeleteMessageBatch (latency per request pair);\n")
	b.WriteString("poll: start of SendMessage to a receiver already waiting in a 20 s long poll holding the message\n")

	b.WriteString("\naims (ratios to the mean of the limits before and after)\n")
	for _, a := range r.Aims {
		fmt.Fprintf(&b, "  %-4s  %s\n", a.Status, a.Text)
	}
	_, err := w.Write(b.Bytes())
	return err
}
