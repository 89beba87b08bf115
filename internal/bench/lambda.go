package bench

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// The Lambda run (`sluice bench --service lambda`, issue 7 "Benchmarks"):
//
//   - invoke: synchronous Invoke (RequestResponse) of a warm echo function
//     at each concurrency, every answer checked to be the event sent;
//   - cold-go: CreateFunction of a fresh provided.al2023 function, then
//     its first Invoke, timed from the request to the response;
//   - cold-python: the same with a python3.12 handler (skipped, with a
//     note, when this machine has no python3).
//
// Beside them, measured in the same run before and after the steps:
//
//   - P: p50 of a loopback HTTP round trip to another process (the echo
//     binary serving empty 200s), what one Runtime API hop costs;
//   - X: p50 of a bare fork+exec of the echo bootstrap that exits at once
//     (no AWS_LAMBDA_RUNTIME_API), wait included.
//
// The echo bootstrap is built here with `go build` from an embedded source
// (testdata/echo; the standard library only, so no module download), or
// taken from --bootstrap (an aws-lambda-go echo, for instance).

//go:embed testdata/echo/main.go
var echoSource []byte

// The aims of issue 7, as ratios to the limits of the same run.
const (
	aimWarmHops      = 4 // warm Invoke p50 @1 <= 4 P
	aimInvokeScaling = 2 // Invoke/s @8 >= 2 x Invoke/s @1, none refused
	aimInvokeConc    = 8
	aimColdForkExecs = 2 // Go cold start p50 <= 2 X
)

// pythonRuntime is the runtime of the Python cold start; Sluice runs any
// python3.x on the machine's interpreter.
const pythonRuntime = "python3.12"

// pythonHandler is the Python function: the event back, unchanged.
const pythonHandler = "def handler(event, context):\n    return event\n"

// LambdaRun is what a Lambda run adds to the report.
type LambdaRun struct {
	// Bootstrap says where the echo bootstrap came from; BootstrapBytes
	// is its size (the zip holds it deflated).
	Bootstrap      string `json:"bootstrap"`
	BootstrapBytes int64  `json:"bootstrap_bytes"`
	Function       string `json:"function"`
	// PythonNote says why the Python cold start was not measured.
	PythonNote   string       `json:"python_note,omitempty"`
	LimitsBefore LambdaLimits `json:"limits_before"`
	LimitsAfter  LambdaLimits `json:"limits_after"`
	Limits       LambdaLimits `json:"limits_mean"`
}

// LambdaLimits are the baselines of a Lambda run.
type LambdaLimits struct {
	// ProcessLoopbackP50Ms is P: p50 of an HTTP round trip over loopback
	// to another process.
	ProcessLoopbackP50Ms float64 `json:"process_loopback_p50_ms"`
	ProcessLoopbackP99Ms float64 `json:"process_loopback_p99_ms"`
	// ForkExecP50Ms is X: p50 of starting the echo bootstrap with os/exec
	// and waiting for it to exit.
	ForkExecP50Ms float64 `json:"fork_exec_p50_ms"`
	ForkExecP99Ms float64 `json:"fork_exec_p99_ms"`
}

func meanLambdaLimits(a, b LambdaLimits) LambdaLimits {
	return LambdaLimits{
		ProcessLoopbackP50Ms: (a.ProcessLoopbackP50Ms + b.ProcessLoopbackP50Ms) / 2,
		ProcessLoopbackP99Ms: (a.ProcessLoopbackP99Ms + b.ProcessLoopbackP99Ms) / 2,
		ForkExecP50Ms:        (a.ForkExecP50Ms + b.ForkExecP50Ms) / 2,
		ForkExecP99Ms:        (a.ForkExecP99Ms + b.ForkExecP99Ms) / 2,
	}
}

// forkExecPerColdSample is how many fork+exec samples X takes per cold
// start sample: they are cheap, and X is the aim's yardstick.
const forkExecPerColdSample = 10

func runLambda(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{
		Date:        cfg.Now().UTC(),
		Machine:     currentMachine(),
		Target:      cfg.Target,
		Service:     "lambda",
		Endpoint:    cfg.Endpoint,
		StepSeconds: cfg.Duration.Seconds(),
		Lambda:      &LambdaRun{},
	}
	lr := rep.Lambda
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	work, err := os.MkdirTemp("", "sluice-bench-lambda-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	// The echo is built even with --bootstrap: its serve mode is the
	// other end of P.
	progress("building the echo bootstrap (go build)")
	echo, err := buildEcho(ctx, work)
	if err != nil {
		return nil, err
	}
	bootstrap := cfg.Bootstrap
	if bootstrap == "" {
		bootstrap = echo
		lr.Bootstrap = "echo built from internal/bench/testdata/echo (standard library only)"
	} else {
		lr.Bootstrap = bootstrap
	}
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	lr.BootstrapBytes = int64(len(bin))
	goZip, err := zipOf(zipEntry{"bootstrap", bin, 0o755})
	if err != nil {
		return nil, err
	}
	pyZip, err := zipOf(zipEntry{"handler.py", []byte(pythonHandler), 0o644})
	if err != nil {
		return nil, err
	}

	samples := cfg.ColdSamples * forkExecPerColdSample
	progress("measuring limits (before): P (%d round trips to another process), X (%d fork+exec)", cfg.RoundTrips, samples)
	if lr.LimitsBefore, err = measureLambdaLimits(ctx, echo, bootstrap, cfg.RoundTrips, samples); err != nil {
		return nil, err
	}

	tr := newTransport(slices.Max(cfg.Concurrency))
	defer tr.CloseIdleConnections()
	client := newLambdaClient(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	prefix := "sluice-bench-" + randomHex(4)
	roleARN, err := client.createRole(ctx, prefix)
	if err != nil {
		return nil, err
	}
	lr.Function = prefix + "-echo"
	cleanup := []string{lr.Function}
	defer func() {
		cctx := context.WithoutCancel(ctx)
		for _, name := range cleanup {
			client.deleteFunction(cctx, name)
		}
		client.deleteRole(cctx, prefix)
	}()
	if err := client.createFunction(ctx, functionSpec{Name: lr.Function, Runtime: "provided.al2023", Handler: "bootstrap", Role: roleARN, Zip: goZip}); err != nil {
		return nil, err
	}

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	stepErr := func() error {
		for _, c := range cfg.Concurrency {
			st, err := warmInvokes(ctx, client, lr.Function, c, cfg.Duration)
			if err != nil {
				return err
			}
			progress("invoke       @%-3d %9.0f/s  p50 %.3f ms  p99 %.3f ms  errors %d", c, st.PerSecond, st.P50Ms, st.P99Ms, st.Errors)
			rep.Steps = append(rep.Steps, st)
		}
		spec := functionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: roleARN, Zip: goZip}
		st, names := coldStarts(ctx, client, "cold-go", prefix+"-go", spec, cfg.ColdSamples)
		cleanup = append(cleanup, names...)
		progress("cold-go      x%-3d p50 %.3f ms  p99 %.3f ms  errors %d", st.Requests, st.P50Ms, st.P99Ms, st.Errors)
		rep.Steps = append(rep.Steps, st)
		if st.Requests == 0 {
			return fmt.Errorf("cold-go: no cold start succeeded: %s", st.FirstError)
		}
		// The server resolves python3 from its own PATH; the bench runs
		// on the server's machine (the bootstrap it builds must run
		// there too), so this PATH is the one that matters.
		if _, err := exec.LookPath("python3"); err != nil {
			lr.PythonNote = "not measured: no python3 on PATH"
			progress("cold-python  skipped: no python3 on PATH")
		} else {
			spec := functionSpec{Runtime: pythonRuntime, Handler: "handler.handler", Role: roleARN, Zip: pyZip}
			st, names := coldStarts(ctx, client, "cold-python", prefix+"-py", spec, cfg.ColdSamples)
			cleanup = append(cleanup, names...)
			progress("cold-python  x%-3d p50 %.3f ms  p99 %.3f ms  errors %d", st.Requests, st.P50Ms, st.P99Ms, st.Errors)
			rep.Steps = append(rep.Steps, st)
		}
		return ctx.Err()
	}()
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if stepErr != nil {
		return nil, stepErr
	}

	progress("measuring limits (after)")
	if lr.LimitsAfter, err = measureLambdaLimits(ctx, echo, bootstrap, cfg.RoundTrips, samples); err != nil {
		return nil, err
	}
	lr.Limits = meanLambdaLimits(lr.LimitsBefore, lr.LimitsAfter)
	rep.Aims = evaluateLambdaAims(rep.Steps, lr.Limits)
	return rep, nil
}

// buildEcho writes the embedded echo source into a module of its own under
// dir and builds it as dir/bootstrap, statically (CGO_ENABLED=0), as one
// builds a bootstrap for provided.al2023.
func buildEcho(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "echo")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), echoSource, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module sluicebenchecho\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("building the echo bootstrap needs the go command on PATH (or give --bootstrap)")
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, ".")
	cmd.Dir = src
	// The temporary module is its own: no workspace, no flags of the
	// caller's module.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the echo bootstrap: %v\n%s", err, b)
	}
	return out, nil
}

type zipEntry struct {
	name string
	data []byte
	mode os.FileMode
}

// zipOf is a deployment package, deflated as `zip` and the SDKs make them.
func zipOf(entries ...zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// payloadSet is a few distinct events per worker with their SHA-256s; each
// names its worker, so an answer meant for another caller is caught.
type payloadSet struct {
	bodies [][]byte
	shas   []string
}

const payloadsPerWorker = 8

func newPayloadSet(c int) payloadSet {
	var ps payloadSet
	for w := range c {
		for k := range payloadsPerWorker {
			b := fmt.Appendf(nil, `{"bench":"sluice","worker":%d,"k":%d,"text":"%s"}`, w, k, strings.Repeat("e", 64))
			sum := sha256.Sum256(b)
			ps.bodies = append(ps.bodies, b)
			ps.shas = append(ps.shas, hex.EncodeToString(sum[:]))
		}
	}
	return ps
}

// warmInvokes times synchronous Invokes of the echo function at
// concurrency c for d. It first warms c instances: c Invokes sent at once
// each find no idle instance and start one, then a short untimed run lets
// the pool settle, so the timed step measures warm instances only.
func warmInvokes(ctx context.Context, client *lambdaClient, name string, c int, d time.Duration) (Step, error) {
	ps := newPayloadSet(c)
	one := func(w, n int) error {
		i := w*payloadsPerWorker + n%payloadsPerWorker
		return client.invoke(ctx, name, ps.bodies[i], ps.shas[i])
	}
	errs := make(chan error, c)
	for w := range c {
		go func() { errs <- one(w, 0) }()
	}
	var firstErr error
	for range c {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return Step{}, fmt.Errorf("invoke @%d: warming %d instances: %w", c, c, firstErr)
	}
	loop := func(w int, deadline time.Time, res *worker) {
		for n := 0; ctx.Err() == nil && time.Now().Before(deadline); n++ {
			start := time.Now()
			if err := one(w, n); err != nil {
				if ctx.Err() != nil || res.fail(err) {
					return
				}
				continue
			}
			res.succeed(time.Since(start))
		}
	}
	runWorkers("warm-up", c, min(d/5, time.Second), loop)
	st, _ := runWorkers("invoke", c, d, loop)
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if st.Requests == 0 {
		return st, fmt.Errorf("invoke @%d: no invoke succeeded: %s", c, st.FirstError)
	}
	return st, nil
}

// coldStarts creates n functions of spec one after another and times the
// first Invoke of each, from the request to the checked response. It
// returns the step and the names it created (for the caller to delete);
// each function is deleted after its sample, so its instance stops.
func coldStarts(ctx context.Context, client *lambdaClient, op, prefix string, spec functionSpec, n int) (Step, []string) {
	st := Step{Op: op, Concurrency: 1}
	var lat []time.Duration
	var names []string
	payload := []byte(`{"bench":"sluice","cold":true}`)
	sum := sha256.Sum256(payload)
	sha := hex.EncodeToString(sum[:])
	fail := func(err error) {
		st.Errors++
		if st.FirstError == "" {
			st.FirstError = err.Error()
		}
	}
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil && st.Errors < consecutiveErrorLimit; i++ {
		spec.Name = fmt.Sprintf("%s-%d", prefix, i)
		if err := client.createFunction(ctx, spec); err != nil {
			fail(err)
			continue
		}
		names = append(names, spec.Name)
		t0 := time.Now()
		err := client.invoke(ctx, spec.Name, payload, sha)
		d := time.Since(t0)
		if err != nil {
			fail(err)
		} else {
			lat = append(lat, d)
		}
		if err := client.deleteFunction(ctx, spec.Name); err == nil {
			names = names[:len(names)-1]
		}
	}
	elapsed := time.Since(start)
	s := summarize(lat, elapsed)
	st.Requests, st.Seconds = s.Requests, elapsed.Seconds()
	st.PerSecond = perSecond(s.Requests, elapsed)
	st.P50Ms, st.P99Ms = ms(s.P50), ms(s.P99)
	return st, names
}

// measureLambdaLimits measures P against the echo's "serve" mode in a
// process of its own, and X by starting the benched bootstrap with no
// Runtime API in its environment.
func measureLambdaLimits(ctx context.Context, echo, bootstrap string, roundTrips, forkExecs int) (LambdaLimits, error) {
	var l LambdaLimits
	lat, err := measureProcessLoopback(ctx, echo, roundTrips)
	if err != nil {
		return l, err
	}
	s := summarize(lat, 0)
	l.ProcessLoopbackP50Ms, l.ProcessLoopbackP99Ms = ms(s.P50), ms(s.P99)
	if lat, err = measureForkExec(ctx, bootstrap, forkExecs); err != nil {
		return l, err
	}
	s = summarize(lat, 0)
	l.ForkExecP50Ms, l.ForkExecP99Ms = ms(s.P50), ms(s.P99)
	return l, nil
}

// measureProcessLoopback starts `bootstrap serve`, reads the address it
// prints and times n sequential GETs to it with the bench's transport.
func measureProcessLoopback(ctx context.Context, bootstrap string, n int) ([]time.Duration, error) {
	cmd := exec.CommandContext(ctx, bootstrap, "serve")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Env = withoutRuntimeAPI(os.Environ())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("process loopback (P): %w", err)
	}
	defer func() {
		stdin.Close() // the server exits when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("process loopback (P): the echo's serve mode printed no address: %v", err)
	}
	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	return measureLoopback(ctx, &http.Client{Transport: tr}, "http://"+strings.TrimSpace(addr)+"/", n, 0)
}

// measureForkExec times n runs of the bootstrap with no
// AWS_LAMBDA_RUNTIME_API: each exits at once (the echo with status 2,
// aws-lambda-go with 1), after the Go runtime has started.
func measureForkExec(ctx context.Context, bootstrap string, n int) ([]time.Duration, error) {
	env := withoutRuntimeAPI(os.Environ())
	const warmup = 3
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+warmup; i++ {
		cmd := exec.CommandContext(ctx, bootstrap)
		cmd.Env = env
		cmd.Dir = filepath.Dir(bootstrap)
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return nil, fmt.Errorf("fork+exec (X): %w", err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if i >= warmup {
			lat = append(lat, d)
		}
	}
	return lat, nil
}

// withoutRuntimeAPI drops what would make a bootstrap think it runs in
// Lambda.
func withoutRuntimeAPI(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "AWS_LAMBDA_RUNTIME_API=") || strings.HasPrefix(kv, "_LAMBDA_SERVER_PORT=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
