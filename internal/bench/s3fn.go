package bench

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The S3-to-function run (`sluice bench --service s3fn`, issue 8
// "Benchmarks"):
//
//   - put-paced / event-paced: the issue 6 reference in the same run, one
//     PUT every 10 ms to a bucket notifying a queue, PUT-to-consumer
//     latency through long pollers;
//   - put-fn-paced / fn-paced: one PUT every 10 ms to a bucket notifying a
//     function (CloudFunctionConfiguration, the function's resource policy
//     granting s3.amazonaws.com), latency from the start of the PUT to the
//     moment the function's process received the invocation from the
//     Runtime API; the instance is warmed first;
//   - put-burst / fn-burst: fnBurst uploads at concurrency 32 as fast as
//     they go, then the function starts per second from the first PUT to
//     the last start, every key accounted for, and the function's distinct
//     process ids against its reserved concurrency (the cap).
//
// The function is testdata/s3start, built here: it reports "pid unixnano
// key" for every record to an HTTP side channel the bench serves on
// 127.0.0.1 (BENCH_SINK), before it answers. Bench and function share the
// machine and its wall clock.

//go:embed testdata/s3start/main.go
var s3startSource []byte

const (
	fnBurst      = 2000
	fnBurstConc  = 32
	fnCap        = 8   // the function's reserved concurrency in the run
	aimFnExtraMs = 1.0 // fn-paced p50 <= event-paced p50 + 1 ms
)

// functionSink is the side channel: it feeds arrivals to the tracker and
// remembers the process ids seen.
type functionSink struct {
	tr   *eventTracker
	srv  *http.Server
	url  string
	mu   sync.Mutex
	pids map[string]bool
}

func startFunctionSink(tr *eventTracker) (*functionSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fs := &functionSink{tr: tr, url: "http://" + ln.Addr().String() + "/", pids: map[string]bool{}}
	fs.srv = &http.Server{Handler: http.HandlerFunc(fs.serve), ReadHeaderTimeout: 10 * time.Second}
	go fs.srv.Serve(ln)
	return fs, nil
}

func (fs *functionSink) serve(w http.ResponseWriter, r *http.Request) {
	sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, 1<<20))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			fs.tr.fail(fmt.Errorf("function side channel: bad line %q", sc.Text()))
			continue
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			fs.tr.fail(fmt.Errorf("function side channel: bad time in %q", sc.Text()))
			continue
		}
		key, err := urlUnescapeKey(f[2])
		if err != nil {
			fs.tr.fail(err)
			continue
		}
		fs.mu.Lock()
		fs.pids[f[0]] = true
		fs.mu.Unlock()
		fs.tr.arrive(key, time.Unix(0, ns))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (fs *functionSink) distinctPIDs() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.pids)
}

func urlUnescapeKey(k string) (string, error) {
	keys, err := eventKeys([]byte(`{"Records":[{"s3":{"object":{"key":` + jsonString(k) + `}}}]}`))
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// buildBootstrap builds src as a static provided.al2023 bootstrap in a
// module of its own under dir.
func buildBootstrap(ctx context.Context, dir, name string, src []byte) (string, error) {
	mod := filepath.Join(dir, name)
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), src, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module sluicebench"+name+"\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("building the function needs the go command on PATH")
	}
	out := filepath.Join(dir, name+".bootstrap")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// createS3Function creates the function with BENCH_SINK set, reserves
// fnCap concurrency, lets S3 invoke it for bucket, and returns its ARN.
func (c *lambdaClient) createS3Function(ctx context.Context, name, role string, zip []byte, sink, bucket string) (string, error) {
	in := map[string]any{
		"FunctionName": name, "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role,
		"Code":    map[string]string{"ZipFile": base64.StdEncoding.EncodeToString(zip)},
		"Timeout": 30, "MemorySize": 128,
		"Environment": map[string]any{"Variables": map[string]string{"BENCH_SINK": sink}},
	}
	body, _ := json.Marshal(in)
	_, out, err := c.do(ctx, "lambda", http.MethodPost, "/2015-03-31/functions", "application/json", body, "", http.StatusCreated)
	if err != nil {
		return "", fmt.Errorf("CreateFunction %s: %w", name, err)
	}
	var fn struct{ FunctionArn string }
	if err := json.Unmarshal(out, &fn); err != nil || fn.FunctionArn == "" {
		return "", fmt.Errorf("CreateFunction %s: no FunctionArn (%v)", name, err)
	}
	body = fmt.Appendf(nil, `{"ReservedConcurrentExecutions":%d}`, fnCap)
	if _, _, err := c.do(ctx, "lambda", http.MethodPut, "/2017-10-31/functions/"+name+"/concurrency", "application/json", body, "", http.StatusOK); err != nil {
		return "", fmt.Errorf("PutFunctionConcurrency %s: %w", name, err)
	}
	body, _ = json.Marshal(map[string]string{"StatementId": "s3", "Action": "lambda:InvokeFunction",
		"Principal": "s3.amazonaws.com", "SourceArn": "arn:aws:s3:::" + bucket})
	if _, _, err := c.do(ctx, "lambda", http.MethodPost, "/2015-03-31/functions/"+name+"/policy", "application/json", body, "", http.StatusCreated); err != nil {
		return "", fmt.Errorf("AddPermission %s: %w", name, err)
	}
	return fn.FunctionArn, nil
}

func runS3Function(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{
		Date:        cfg.Now().UTC(),
		Machine:     currentMachine(),
		Target:      cfg.Target,
		Service:     "s3fn",
		Endpoint:    cfg.Endpoint,
		ObjectSize:  cfg.Size,
		StepSeconds: cfg.Duration.Seconds(),
		FsyncNote:   cfg.FsyncNote,
		Events:      &EventsRun{Consumers: eventConsumers},
	}
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	work, err := os.MkdirTemp("", "sluice-bench-s3fn-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	progress("building the s3start function (go build)")
	bootstrap, err := buildBootstrap(ctx, work, "s3start", s3startSource)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		return nil, err
	}
	zip, err := zipOf(zipEntry{"bootstrap", bin, 0o755})
	if err != nil {
		return nil, err
	}

	progress("measuring limits (before): f in %s, L, C for %v", cfg.FsyncDir, cfg.Duration)
	if rep.LimitsBefore, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}

	tr := newTransport(fnBurstConc + eventConsumers + 4)
	defer tr.CloseIdleConnections()
	s3c := newS3Client(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	sqsc := newSQSClient(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	lc := newLambdaClient(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	name := "sluice-bench-" + randomHex(4)
	qBucket, fBucket := name+"-queue", name+"-fn"
	rep.Bucket = fBucket
	for _, b := range []string{qBucket, fBucket} {
		if err := s3c.createBucket(ctx, b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	qURL, qARN, err := sqsc.createQueueForBucket(ctx, name, qBucket)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	rep.Events.Queue = qARN
	defer sqsc.deleteQueue(context.WithoutCancel(ctx), qURL)
	if err := s3c.putNotification(ctx, qBucket, `<NotificationConfiguration><QueueConfiguration><Id>sluice-bench</Id><Queue>`+qARN+
		`</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`); err != nil {
		return nil, err
	}

	tracker := newEventTracker()
	sink, err := startFunctionSink(tracker)
	if err != nil {
		return nil, err
	}
	defer sink.srv.Close()
	role, err := lc.createRole(ctx, name)
	if err != nil {
		return nil, err
	}
	fnName := name + "-s3start"
	defer func() {
		cctx := context.WithoutCancel(ctx)
		lc.deleteFunction(cctx, fnName)
		lc.deleteRole(cctx, name)
	}()
	fnARN, err := lc.createS3Function(ctx, fnName, role, zip, sink.url, fBucket)
	if err != nil {
		return nil, err
	}
	rep.Events.Function = fnARN
	if err := s3c.putNotification(ctx, fBucket, `<NotificationConfiguration><CloudFunctionConfiguration><Id>sluice-bench</Id><CloudFunction>`+fnARN+
		`</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration></NotificationConfiguration>`); err != nil {
		return nil, err
	}

	cons := &consumers{client: sqsc, queueURL: qURL, tr: tracker}
	cons.start(ctx)
	defer cons.stop()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	stepErr := runS3FunctionSteps(ctx, cfg, s3c, qBucket, fBucket, tracker, rep, progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if stepErr != nil {
		return nil, stepErr
	}
	rep.Events.Processes = &ProcessSeen{Distinct: sink.distinctPIDs(), Cap: fnCap}

	progress("measuring limits (after)")
	if rep.LimitsAfter, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}
	rep.Limits = meanLimits(rep.LimitsBefore, rep.LimitsAfter)
	rep.Aims = evaluateS3FunctionAims(rep.Steps, rep.Events)
	return rep, nil
}

func runS3FunctionSteps(ctx context.Context, cfg Config, s3c *s3Client, qBucket, fBucket string, tr *eventTracker, rep *Report, progress func(string, ...any)) error {
	bodies := newBodySet(smallBodies, cfg.Size, 1)
	show := func(st Step) {
		progress("%-12s @%-3d %9.0f/s  p50 %.3f ms  p99 %.3f ms  errors %d", st.Op, st.Concurrency, st.PerSecond, st.P50Ms, st.P99Ms, st.Errors)
		rep.Steps = append(rep.Steps, st)
	}
	// measured accounts for one step's arrivals; seconds is what the
	// arrivals per second are over (0: the load's own length).
	measured := func(evOp string, c int, put Step, loadStart time.Time) error {
		show(put)
		if put.Requests == 0 {
			return fmt.Errorf("%s @%d: no PUT succeeded: %s", put.Op, c, put.FirstError)
		}
		loadEnd := time.Now()
		d, lat := tr.waitAll(ctx, loadEnd, drainLimit)
		d.Op, d.Concurrency = evOp, c
		seconds := put.Seconds
		if !loadStart.IsZero() {
			// Burst: events/s from the first PUT to the last start.
			last := loadEnd.Add(time.Duration(d.DrainMs * float64(time.Millisecond)))
			seconds = last.Sub(loadStart).Seconds()
		}
		show(latencyStep(evOp, c, lat, seconds, tr))
		progress("%-12s @%-3d acked %d arrived %d lost %d duplicates %d, last %.1f ms after the load", "", c, d.Acked, d.Delivered, d.Lost, d.Duplicates, d.DrainMs)
		rep.Events.Delivery = append(rep.Events.Delivery, d)
		return ctx.Err()
	}

	// Warm the instance: one event, and wait for it.
	tr.reset()
	warm := countedPuts(ctx, "warm", s3c, fBucket, bodies, 1, 1, tr)
	if d, _ := tr.waitAll(ctx, time.Now(), drainLimit); warm.Requests == 0 || d.Lost > 0 {
		return fmt.Errorf("warm-up: the function did not start for a PUT (%s)", warm.FirstError)
	}

	tr.reset()
	if err := measured("event-paced", 1, pacedPuts(ctx, "put-paced", s3c, qBucket, bodies, pacedRate, cfg.Duration, tr), time.Time{}); err != nil {
		return err
	}
	tr.reset()
	if err := measured("fn-paced", 1, pacedPuts(ctx, "put-fn-paced", s3c, fBucket, bodies, pacedRate, cfg.Duration, tr), time.Time{}); err != nil {
		return err
	}
	tr.reset()
	start := time.Now()
	return measured("fn-burst", fnBurstConc, countedPuts(ctx, "put-burst", s3c, fBucket, bodies, fnBurstConc, fnBurst, tr), start)
}

// countedPuts runs c workers until n PUTs were started.
func countedPuts(ctx context.Context, op string, client *s3Client, bucket string, bodies bodySet, c, n int, tr *eventTracker) Step {
	var mu sync.Mutex
	next := 0
	st, _ := runWorkers(op, c, time.Hour, func(w int, _ time.Time, res *worker) {
		for ctx.Err() == nil && res.consecutive < consecutiveErrorLimit {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if i >= n {
				return
			}
			trackedPut(ctx, client, bucket, op+"/"+smallKey(c, w, i), bodies, i%len(bodies.bodies), tr, res)
		}
	})
	return st
}

// evaluateS3FunctionAims computes issue 8's aims: warm PUT-to-function-
// start p50 against the same run's PUT-to-queue p50 plus 1 ms, and the
// burst fully processed with no process count above the cap.
func evaluateS3FunctionAims(steps []Step, ev *EventsRun) []Aim {
	a := Aim{Name: "fn_start_p50", Status: "n/a", Text: "PUT-to-function-start: not measured"}
	if q, ok := findStep(steps, "event-paced", 1); ok {
		if f, ok := findStep(steps, "fn-paced", 1); ok {
			a.Value, a.Bound = f.P50Ms, q.P50Ms+aimFnExtraMs
			a.Status = status(f.P50Ms <= a.Bound && lostNone(ev.Delivery, "fn-paced", 1), q, f)
			a.Text = fmt.Sprintf("paced %d/s, warm: PUT-to-function-start p50 = %.3f ms vs PUT-to-queue p50 + 1 ms = %.3f + 1 = %.3f ms (p99 %.3f ms)%s",
				pacedRate, f.P50Ms, q.P50Ms, a.Bound, f.P99Ms, errorNote(q, f))
		}
	}
	aims := []Aim{a}
	a = Aim{Name: "fn_burst", Status: "n/a", Bound: fnBurst, Text: "burst: not measured"}
	for _, d := range ev.Delivery {
		if d.Op != "fn-burst" {
			continue
		}
		f, _ := findStep(steps, "fn-burst", fnBurstConc)
		p, _ := findStep(steps, "put-burst", fnBurstConc)
		procs := ev.Processes
		a.Value = float64(d.Delivered)
		ok := d.Acked == fnBurst && d.Lost == 0 && procs != nil && procs.Distinct <= procs.Cap && p.Errors == 0
		a.Status = "MISS"
		if ok {
			a.Status = "PASS"
		}
		distinct := -1
		if procs != nil {
			distinct = procs.Distinct
		}
		a.Text = fmt.Sprintf("burst of %d uploads @%d: %d acknowledged, %d started the function, %d lost, %d duplicates; %s starts/s; %d distinct processes vs cap %d",
			fnBurst, fnBurstConc, d.Acked, d.Delivered, d.Lost, d.Duplicates, thousands(f.PerSecond), distinct, fnCap)
	}
	return append(aims, a)
}
