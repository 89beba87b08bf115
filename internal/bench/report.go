package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Report is everything one run measured, in the form the text and JSON
// outputs share.
type Report struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	Target  string    `json:"target"`
	// Service is "sqs" for an SQS run (Queue, the sqs steps and aims),
	// "lambda" for a Lambda run (Lambda, the invoke and cold steps);
	// empty for S3.
	Service     string  `json:"service,omitempty"`
	Queue       string  `json:"queue,omitempty"`
	Endpoint    string  `json:"endpoint"`
	Bucket      string  `json:"bucket"`
	ObjectSize  int64   `json:"object_size"`
	StepSeconds float64 `json:"step_seconds"`
	FsyncNote   string  `json:"fsync_note,omitempty"`

	LimitsBefore Limits `json:"limits_before"`
	LimitsAfter  Limits `json:"limits_after"`
	// Limits is the mean of before and after; the aims are ratios to it.
	Limits Limits `json:"limits_mean"`

	Steps []Step     `json:"steps"`
	Large []Transfer `json:"large,omitempty"`
	Huge  *Huge      `json:"huge,omitempty"`
	// Lambda is the Lambda run's bootstrap, function and limits (P, X).
	Lambda *LambdaRun `json:"lambda,omitempty"`
	// Events is an events or s3fn run's delivery account (issues 6, 8).
	Events *EventsRun `json:"events,omitempty"`
	// Multipart is a multipart run's uploads, reads and cp (issue 4).
	Multipart *MultipartRun `json:"multipart,omitempty"`
	Aims      []Aim         `json:"aims"`
}

// Machine is where the run happened.
type Machine struct {
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
}

// Step is one timed small-object PUT or GET step at one concurrency.
type Step struct {
	Op          string  `json:"op"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"` // successful ones
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	// Messages and MessagesPerSecond count SQS messages (ten per batch
	// request); Drained says the queue ran empty and the step ended early.
	Messages          int     `json:"messages,omitempty"`
	MessagesPerSecond float64 `json:"messages_per_second,omitempty"`
	Drained           bool    `json:"drained,omitempty"`
}

// Transfer is the large-object PUT or GET step.
type Transfer struct {
	Op          string  `json:"op"`
	Size        int64   `json:"size"`
	Count       int     `json:"count"` // successful transfers
	Concurrency int     `json:"concurrency"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_second"` // 10^6 bytes
}

func (t *Transfer) fail(err error) {
	t.Errors++
	if t.FirstError == "" {
		t.FirstError = err.Error()
	}
}

func (t *Transfer) finish(n int, d time.Duration) {
	t.Count, t.Seconds = n, d.Seconds()
	t.MBPerSecond = mbPerSecond(int64(n)*t.Size, d)
}

// Huge is the opt-in round trip of one very large object.
type Huge struct {
	Size            int64   `json:"size"`
	PutMBPerSecond  float64 `json:"put_mb_per_second"`
	GetMBPerSecond  float64 `json:"get_mb_per_second"`
	RSSSource       string  `json:"rss_source,omitempty"`
	RSSBeforeBytes  int64   `json:"rss_before_bytes"`
	RSSPeakPutBytes int64   `json:"rss_peak_put_bytes"`
	RSSPeakGetBytes int64   `json:"rss_peak_get_bytes"`
	RSSAfterBytes   int64   `json:"rss_after_bytes"`
	// RSSGrowthBytes is the highest RSS seen during or after the round
	// trip minus RSS before it.
	RSSGrowthBytes int64 `json:"rss_growth_bytes"`
}

// Aim is one of the aims evaluated against this run's limits.
type Aim struct {
	Name   string  `json:"name"`
	Status string  `json:"status"` // PASS, MISS or n/a
	Value  float64 `json:"value"`
	Bound  float64 `json:"bound"`
	Text   string  `json:"text"`
}

// The aims of issue 3, as ratios to the limits of the same run.
const (
	aimLatencyLoopbacks = 10  // PUT p50 @1 <= f + 10 L
	aimCeilingShare     = 0.2 // PUT/s @32 >= 0.2 C
	aimConcurrency      = 32
)

func meanLimits(a, b Limits) Limits {
	return Limits{
		FsyncP50Ms:          (a.FsyncP50Ms + b.FsyncP50Ms) / 2,
		FsyncP99Ms:          (a.FsyncP99Ms + b.FsyncP99Ms) / 2,
		FsyncIdleP50Ms:      (a.FsyncIdleP50Ms + b.FsyncIdleP50Ms) / 2,
		FsyncOverwriteP50Ms: (a.FsyncOverwriteP50Ms + b.FsyncOverwriteP50Ms) / 2,
		LoopbackIdleP50Ms:   (a.LoopbackIdleP50Ms + b.LoopbackIdleP50Ms) / 2,
		FsyncDir:            a.FsyncDir,
		LoopbackP50Ms:       (a.LoopbackP50Ms + b.LoopbackP50Ms) / 2,
		PostCeiling:         (a.PostCeiling + b.PostCeiling) / 2,
	}
}

func findStep(steps []Step, op string, c int) (Step, bool) {
	for _, s := range steps {
		if s.Op == op && s.Concurrency == c {
			return s, true
		}
	}
	return Step{}, false
}

// status is PASS or MISS; a step that had errors misses whatever its
// figures say, since failed requests are not counted in them.
func status(ok bool, steps ...Step) string {
	for _, s := range steps {
		if s.Errors > 0 {
			return "MISS"
		}
	}
	if ok {
		return "PASS"
	}
	return "MISS"
}

func errorNote(steps ...Step) string {
	n := 0
	for _, s := range steps {
		n += s.Errors
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d failed requests)", n)
}

// idleNote shows f after an idle pause beside a latency aim's bound (it
// is not a term of the bound).
func idleNote(lim Limits) string {
	if lim.FsyncIdleP50Ms <= 0 {
		return ""
	}
	return fmt.Sprintf(" (after %v idle: f %.3f ms, L %.3f ms)", fsyncIdlePause, lim.FsyncIdleP50Ms, lim.LoopbackIdleP50Ms)
}

// evaluateAims computes the three aims from the steps and limits.
// An aim whose step was not run (its concurrency not in the list) is n/a.
func evaluateAims(steps []Step, lim Limits) []Aim {
	var aims []Aim

	bound := lim.FsyncP50Ms + aimLatencyLoopbacks*lim.LoopbackP50Ms
	a := Aim{Name: "put_p50_c1", Status: "n/a", Bound: bound,
		Text: "PUT p50 @1: not measured (concurrency 1 not in the list)"}
	if put, ok := findStep(steps, "PUT", 1); ok {
		a.Value = put.P50Ms
		a.Status = status(put.P50Ms <= bound, put)
		a.Text = fmt.Sprintf("PUT p50 @1 = %.3f ms vs f + 10L = %.3f + 10 x %.3f = %.3f ms%s%s",
			put.P50Ms, lim.FsyncP50Ms, lim.LoopbackP50Ms, bound, idleNote(lim), errorNote(put))
	}
	aims = append(aims, a)

	a = Aim{Name: "put_rate_c32", Status: "n/a", Bound: aimCeilingShare,
		Text: "PUT/s @32: not measured (concurrency 32 not in the list)"}
	put32, havePut32 := findStep(steps, "PUT", aimConcurrency)
	if havePut32 {
		ratio := 0.0
		if lim.PostCeiling > 0 {
			ratio = put32.PerSecond / lim.PostCeiling
		}
		a.Value = ratio
		a.Status = status(ratio >= aimCeilingShare, put32)
		a.Text = fmt.Sprintf("PUT/s @32 = %s = %.3f x C (C = %s/s; aim >= %.1f)%s",
			thousands(put32.PerSecond), ratio, thousands(lim.PostCeiling), aimCeilingShare, errorNote(put32))
	}
	aims = append(aims, a)

	a = Aim{Name: "get_rate_c32", Status: "n/a",
		Text: "GET/s @32 >= PUT/s @32: not measured (concurrency 32 not in the list)"}
	if get32, ok := findStep(steps, "GET", aimConcurrency); ok && havePut32 {
		a.Value, a.Bound = get32.PerSecond, put32.PerSecond
		a.Status = status(get32.PerSecond >= put32.PerSecond, get32, put32)
		a.Text = fmt.Sprintf("GET/s @32 = %s >= PUT/s @32 = %s%s",
			thousands(get32.PerSecond), thousands(put32.PerSecond), errorNote(get32, put32))
	}
	aims = append(aims, a)
	return aims
}

// WriteText writes the report as the tables a human reads.
func (r *Report) WriteText(w io.Writer) error {
	switch r.Service {
	case "sqs":
		return r.writeSQSText(w)
	case "lambda":
		return r.writeLambdaText(w)
	case "events", "s3fn":
		return r.writeEventsText(w)
	case "multipart":
		return r.writeMultipartText(w)
	}
	var b bytes.Buffer
	r.writeHeader(&b)
	fmt.Fprintf(&b, "target: %s at %s, bucket %s\n", r.Target, r.Endpoint, r.Bucket)
	fmt.Fprintf(&b, "small objects: %s, %s per step\n\n", formatSize(r.ObjectSize), time.Duration(r.StepSeconds*float64(time.Second)))
	r.writeLimits(&b)

	fmt.Fprintf(&b, "%-5s %11s %10s %9s %9s %9s %7s\n", "op", "concurrency", "req/s", "p50 ms", "p99 ms", "requests", "errors")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-5s %11d %10s %9.3f %9.3f %9d %7d\n", s.Op, s.Concurrency, thousands(s.PerSecond), s.P50Ms, s.P99Ms, s.Requests, s.Errors)
	}
	for _, s := range r.Steps {
		if s.FirstError != "" {
			fmt.Fprintf(&b, "first error, %s @%d: %s\n", s.Op, s.Concurrency, s.FirstError)
		}
	}

	if len(r.Large) > 0 {
		fmt.Fprintf(&b, "\n%-5s %11s %10s %9s %9s %7s\n", "large", "size", "objects", "conc.", "MB/s", "errors")
		for _, t := range r.Large {
			fmt.Fprintf(&b, "%-5s %11s %10d %9d %9.1f %7d\n", t.Op, formatSize(t.Size), t.Count, t.Concurrency, t.MBPerSecond, t.Errors)
		}
		for _, t := range r.Large {
			if t.FirstError != "" {
				fmt.Fprintf(&b, "first error, large %s: %s\n", t.Op, t.FirstError)
			}
		}
	}

	if h := r.Huge; h != nil {
		fmt.Fprintf(&b, "\nhuge %s: PUT %.1f MB/s, GET %.1f MB/s\n", formatSize(h.Size), h.PutMBPerSecond, h.GetMBPerSecond)
		if h.RSSSource == "" {
			b.WriteString("server RSS: not known (give --server-pid for an external server)\n")
		} else {
			fmt.Fprintf(&b, "server RSS (%s): before %s, peak during PUT %s, peak during GET %s, after %s; growth %s\n",
				h.RSSSource, formatBytes(h.RSSBeforeBytes), formatBytes(h.RSSPeakPutBytes), formatBytes(h.RSSPeakGetBytes),
				formatBytes(h.RSSAfterBytes), formatBytes(h.RSSGrowthBytes))
		}
	}

	b.WriteString("\naims (ratios to the mean of the limits before and after)\n")
	for _, a := range r.Aims {
		fmt.Fprintf(&b, "  %-4s  %s\n", a.Status, a.Text)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Report) writeHeader(b *bytes.Buffer) {
	m := r.Machine
	fmt.Fprintf(b, "sluice bench  %s  %s %s/%s  nproc %d  GOMAXPROCS %d\n",
		r.Date.Format(time.RFC3339), m.GoVersion, m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS)
}

// writeLimits writes the table of f, L and C before, after and mean.
func (r *Report) writeLimits(b *bytes.Buffer) {
	lb, la, lm := r.LimitsBefore, r.LimitsAfter, r.Limits
	fmt.Fprintf(b, "%-40s %10s %10s %10s\n", "limit", "before", "after", "mean")
	fmt.Fprintf(b, "%-40s %10.3f %10.3f %10.3f\n", fmt.Sprintf("f  append %d B + fdatasync p50 (ms)", fsyncRecordBytes), lb.FsyncP50Ms, la.FsyncP50Ms, lm.FsyncP50Ms)
	fmt.Fprintf(b, "%-40s %10.3f %10.3f %10.3f\n", fmt.Sprintf("   the same after %v idle, p50 (ms)", fsyncIdlePause), lb.FsyncIdleP50Ms, la.FsyncIdleP50Ms, lm.FsyncIdleP50Ms)
	fmt.Fprintf(b, "%-40s %10.3f %10.3f %10.3f\n", "   over written blocks, p50 (ms)", lb.FsyncOverwriteP50Ms, la.FsyncOverwriteP50Ms, lm.FsyncOverwriteP50Ms)
	fmt.Fprintf(b, "%-40s %10.3f %10.3f %10.3f\n", "L  loopback HTTP round trip p50 (ms)", lb.LoopbackP50Ms, la.LoopbackP50Ms, lm.LoopbackP50Ms)
	fmt.Fprintf(b, "%-40s %10.3f %10.3f %10.3f\n", fmt.Sprintf("   the same after %v idle, p50 (ms)", fsyncIdlePause), lb.LoopbackIdleP50Ms, la.LoopbackIdleP50Ms, lm.LoopbackIdleP50Ms)
	fmt.Fprintf(b, "%-40s %10s %10s %10s\n", fmt.Sprintf("C  loopback 1 KiB POST/s @%d", ceilingConcurrency), thousands(lb.PostCeiling), thousands(la.PostCeiling), thousands(lm.PostCeiling))
	fmt.Fprintf(b, "f measured in %s", lm.FsyncDir)
	if r.FsyncNote != "" {
		fmt.Fprintf(b, " (%s)", r.FsyncNote)
	}
	b.WriteString("\n\n")

}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// thousands renders a rate as a whole number with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// formatBytes renders a byte count in MiB (or KiB when small), for RSS.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 || n <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
}

// ProcRSS returns a reader of a process's resident set size from
// /proc/<pid>/status (VmRSS); pid 0 means this process (/proc/self).
func ProcRSS(pid int) func() (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	return func() (int64, error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return parseVmRSS(f)
	}
}

// parseVmRSS finds the "VmRSS:   1234 kB" line of a /proc status file.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		return n << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line")
}
