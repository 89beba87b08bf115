package function

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sluice/internal/function/runtimes"
	"sluice/internal/storage"
)

const noFollow = syscall.O_NOFOLLOW

// instance is one execution environment: a process (the leader of its own
// process group), its Runtime API endpoint, working directory, memory
// limit and output reader.
type instance struct {
	id   string // the Runtime API address, the instance's identity
	fn   string
	gen  string // what the instance was started from; see generation
	ver  string // the record's Version ("" = $LATEST): instances are per version
	dir  string
	ep   RuntimeEndpoint
	cmd  *exec.Cmd
	mem  memHandle
	akid string
	out  *output

	exited  chan struct{} // closed once the process was reaped
	exitErr error         // set before exited is closed

	// Guarded by Service.mu.
	current   Current
	idleSince time.Time
	busy      bool
	gone      bool // reaped and accounted for
}

// generation names what an instance runs: a change to any of these makes
// warm instances unfit (UpdateFunctionCode / UpdateFunctionConfiguration).
func generation(r *record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%d|%d|%s|", r.Blob, r.Runtime, r.Handler, r.Role, r.Timeout, r.MemorySize, r.Version)
	for _, k := range sortedKeys(r.Env) {
		fmt.Fprintf(&b, "%s=%s|", k, r.Env[k])
	}
	return b.String()
}

// startError is an instance that could not start: the error JSON the
// invoker gets (Lambda's errorType) and the reason for the log.
type startError struct {
	errType string
	message string
	payload []byte // what the runtime posted to /init/error, if it did
	// procStarted: the process ran, so reap releases its slot.
	procStarted bool
}

func (e *startError) Error() string { return e.errType + ": " + e.message }

// start makes a new instance of r and waits until its runtime called
// GET .../next (ready), posted /init/error, exited, or InitTimeout passed.
// The caller holds a slot (pool.total and Service.running) for it.
func (s *Service) start(ctx context.Context, r *record, reqID string) (*instance, error) {
	if s.cfg.Runtime == nil || s.cfg.RuntimeDir == "" {
		return nil, errors.New("function: no Runtime API listener or runtime directory configured")
	}
	paths := s.paths
	dir := filepath.Join(s.cfg.RuntimeDir, "instances", r.Name+"-"+randHex(6))
	task, tmp := filepath.Join(dir, "task"), filepath.Join(dir, "tmp")
	fail := func(err error) (*instance, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fail(err)
	}
	// The package is unpacked once (CreateFunction and UpdateFunctionCode
	// already did it) and each instance gets its own working directory of
	// hard links to it: its own tree, without inflating the zip again.
	shared, release, err := s.code.acquire(r.Blob, func() (storage.Blob, error) { return s.blobs.Open(r.Blob) })
	if err != nil {
		if errors.Is(err, errUnpack) {
			return fail(&startError{errType: "Runtime.InvalidEntrypoint", message: err.Error()})
		}
		return fail(fmt.Errorf("function: code of %s: %w", r.Name, err))
	}
	err = linkTree(shared, task)
	release() // the links keep the files; the cache may evict its copy
	if err != nil {
		return fail(fmt.Errorf("function: code of %s: %w", r.Name, err))
	}

	argv, err := s.entrypoint(r, task, paths)
	if err != nil {
		return fail(err)
	}
	ep, err := s.cfg.Runtime()
	if err != nil {
		return fail(fmt.Errorf("function: runtime api: %w", err))
	}
	inst := &instance{id: ep.Addr(), fn: r.Name, gen: generation(r), ver: r.Version, dir: dir, ep: ep, exited: make(chan struct{})}
	var creds Credentials
	if s.cfg.Credentials != nil {
		creds, err = s.cfg.Credentials(ctx, Session{FunctionName: r.Name, FunctionARN: s.arnOf(r.Name), Role: r.Role, InstanceID: inst.id})
		if err != nil {
			ep.Close()
			return fail(fmt.Errorf("function: credentials for %s: %w", r.Name, err))
		}
		inst.akid = creds.AccessKeyID
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		ep.Close()
		return fail(err)
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Dir: task, Env: s.environ(r, inst, task, tmp, paths, creds),
		Stdout: pw, Stderr: pw,
		// Own process group: a timeout or stop kills the runtime and
		// everything it forked. Pdeathsig: the group does not outlive a
		// Sluice that dies.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	started := s.pclock.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		ep.Close()
		return fail(&startError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("RequestId: %s Error: %v", reqID, err)})
	}
	inst.cmd = cmd
	inst.out = newOutput(pr, pw, s.ring(r.Name))
	if mem, err := s.memory.attach(cmd.Process.Pid, r.MemorySize); err == nil {
		inst.mem = mem
	} else {
		s.log.Warn("function memory limit not applied", "function", r.Name, "err", err)
		inst.mem, _ = samplingLimiter{clock: s.pclock}.attach(cmd.Process.Pid, r.MemorySize)
	}
	s.metrics.starts.Inc()
	s.metrics.instances.Inc()
	s.mu.Lock()
	if inst.akid != "" {
		s.keys[inst.akid] = inst
	}
	s.live[inst] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go s.reap(inst)

	select {
	case <-ep.Ready():
		s.log.Debug("function instance ready", "function", r.Name, "instance", inst.id,
			"init", s.pclock.Now().Sub(started))
		return inst, nil
	case <-ep.InitError():
		out := ep.InitOutcome()
		s.kill(inst)
		return nil, &startError{errType: out.ErrType, message: "init error", payload: out.Payload, procStarted: true}
	case <-inst.exited:
		select {
		case <-ep.InitError():
			out := ep.InitOutcome()
			return nil, &startError{errType: out.ErrType, message: "init error", payload: out.Payload, procStarted: true}
		default:
		}
		return nil, &startError{errType: "Runtime.ExitError", procStarted: true,
			message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", reqID, exitText(inst.exitErr))}
	case <-s.pclock.After(s.cfg.InitTimeout):
		s.kill(inst)
		return nil, &startError{errType: "Sandbox.Timedout", procStarted: true,
			message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds (the runtime did not call /runtime/invocation/next during init)", reqID, s.cfg.InitTimeout.Seconds())}
	case <-s.done:
		s.kill(inst)
		return nil, &startError{errType: "Runtime.ExitError", procStarted: true, message: "the service is shutting down"}
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "signal: " + ws.Signal().String()
		}
		return "exit status " + strconv.Itoa(ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// entrypoint is the command line of an instance of r.
func (s *Service) entrypoint(r *record, task string, paths runtimes.Paths) ([]string, error) {
	switch runtimeFamily(r.Runtime) {
	case familyPython:
		if s.interp.python == "" {
			return nil, &startError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("no python3 interpreter: %v (set SLUICE_PYTHON)", s.interp.pythonErr)}
		}
		s.interp.checkVersion(s.log, r.Runtime, s.interp.python, familyPython)
		return []string{s.interp.python, paths.Python, r.Handler}, nil
	case familyNode:
		if s.interp.node == "" {
			return nil, &startError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("no node interpreter: %v (set SLUICE_NODE)", s.interp.nodeErr)}
		}
		s.interp.checkVersion(s.log, r.Runtime, s.interp.node, familyNode)
		return []string{s.interp.node, paths.Node, r.Handler}, nil
	}
	bs := filepath.Join(task, "bootstrap")
	fi, err := os.Lstat(bs)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, &startError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("Couldn't find valid bootstrap(s): [%s]", bs)}
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return nil, &startError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("fork/exec %s: permission denied (the bootstrap in the zip is not executable: chmod +x it before zipping)", bs)}
	}
	return []string{bs}, nil
}

// environ is the environment of aws-wire 1.3. Never _LAMBDA_SERVER_PORT
// (aws-lambda-go would go into its legacy RPC mode) nor
// AWS_LAMBDA_MAX_CONCURRENCY (multi-concurrent mode in aws-lambda-go and
// the Python client).
func (s *Service) environ(r *record, inst *instance, task, tmp string, paths runtimes.Paths, c Credentials) []string {
	env := map[string]string{}
	for k, v := range r.Env {
		env[k] = v
	}
	set := func(k, v string) { env[k] = v }
	set("AWS_LAMBDA_RUNTIME_API", inst.id)
	set("_HANDLER", r.Handler)
	set("LAMBDA_TASK_ROOT", task)
	set("LAMBDA_RUNTIME_DIR", paths.Dir)
	set("AWS_LAMBDA_FUNCTION_NAME", r.Name)
	set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(r.MemorySize))
	set("AWS_LAMBDA_FUNCTION_VERSION", r.version())
	set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/"+r.Name)
	set("AWS_LAMBDA_LOG_STREAM_NAME", s.clock.Now().UTC().Format("2006/01/02")+"/["+r.version()+"]"+randHex(16))
	set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
	set("AWS_REGION", s.region)
	set("AWS_DEFAULT_REGION", s.region)
	set("TZ", ":UTC")
	set("LANG", "en_US.UTF-8")
	set("PATH", "/usr/local/bin:/usr/bin:/bin:"+paths.Dir)
	set("LD_LIBRARY_PATH", task+"/lib")
	// Lambda's /tmp; HOME there too, so the SDKs never read the machine
	// owner's ~/.aws files.
	set("TMPDIR", tmp)
	set("HOME", tmp)
	if s.cfg.EndpointURL != "" {
		set("AWS_ENDPOINT_URL", s.cfg.EndpointURL)
	}
	if c.AccessKeyID != "" {
		set("AWS_ACCESS_KEY_ID", c.AccessKeyID)
		set("AWS_SECRET_ACCESS_KEY", c.SecretAccessKey)
		if c.SessionToken != "" {
			set("AWS_SESSION_TOKEN", c.SessionToken)
		}
	}
	switch runtimeFamily(r.Runtime) {
	case familyPython:
		set("AWS_EXECUTION_ENV", "AWS_Lambda_"+r.Runtime)
		set("PYTHONUNBUFFERED", "1")
	case familyNode:
		set("AWS_EXECUTION_ENV", "AWS_Lambda_"+r.Runtime)
		set("NODE_PATH", paths.NodeModules)
	}
	delete(env, "_LAMBDA_SERVER_PORT")
	delete(env, "AWS_LAMBDA_MAX_CONCURRENCY")
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// kill stops the instance's whole process group; reap does the rest.
func (s *Service) kill(inst *instance) {
	if inst.cmd != nil && inst.cmd.Process != nil {
		_ = syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// reap waits for the process, kills what is left of its group (a runtime
// that forked and exited), releases the endpoint, the output pipe, the
// memory limit, the working directory and the slot, and wakes waiters.
func (s *Service) reap(inst *instance) {
	defer s.wg.Done()
	err := inst.cmd.Wait()
	_ = syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGKILL)
	inst.exitErr = err
	close(inst.exited)
	inst.ep.Close()
	inst.out.close(s.pclock.After(time.Second))
	if inst.mem != nil {
		inst.mem.close()
	}
	_ = os.RemoveAll(inst.dir)
	s.mu.Lock()
	inst.gone = true
	delete(s.live, inst)
	if inst.akid != "" && s.keys[inst.akid] == inst {
		delete(s.keys, inst.akid)
	}
	if p := s.pools[inst.fn]; p != nil {
		p.remove(inst)
		p.total--
	}
	s.running--
	s.mu.Unlock()
	s.metrics.instances.Dec()
	s.wake()
	s.log.Debug("function instance stopped", "function", inst.fn, "instance", inst.id, "exit", exitText(err))
}

// output reads an instance's stdout and stderr (one pipe, so their order
// is kept) line by line into the function's log and the current
// invocation's tail, so a function that writes gigabytes is never blocked
// and costs bounded memory. Sluice keeps the pipe's write end too, to
// write a marker after an invocation: when the reader meets it, every
// byte the function wrote before its answer has been logged.
type output struct {
	r, w *os.File
	ring *logRing
	tail tailBuf

	mu      sync.Mutex
	marks   map[string]chan struct{} // marker id -> closed when read
	done    chan struct{}            // reader finished
	partial []byte
}

const (
	markPrefix = "\x00sluice-mark:"
	maxLine    = 256 << 10 // a longer line is split
)

func newOutput(r, w *os.File, ring *logRing) *output {
	o := &output{r: r, w: w, ring: ring, marks: map[string]chan struct{}{}, done: make(chan struct{})}
	go o.read()
	return o
}

func (o *output) read() {
	defer close(o.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := o.r.Read(buf)
		if n > 0 {
			o.consume(buf[:n])
		}
		if err != nil {
			o.mu.Lock()
			if len(o.partial) > 0 {
				o.emit(append(o.partial, '\n'))
				o.partial = o.partial[:0]
			}
			for id, ch := range o.marks {
				close(ch)
				delete(o.marks, id)
			}
			o.mu.Unlock()
			o.r.Close()
			return
		}
	}
}

// consume splits p into lines; called only by read.
func (o *output) consume(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			o.partial = append(o.partial, p...)
			if len(o.partial) >= maxLine {
				o.emit(append(o.partial, '\n'))
				o.partial = o.partial[:0]
			}
			return
		}
		line := append(o.partial, p[:i+1]...)
		o.partial = o.partial[:0]
		p = p[i+1:]
		if j := bytes.Index(line, []byte(markPrefix)); j >= 0 {
			id := string(bytes.TrimSuffix(line[j+len(markPrefix):], []byte("\x00\n")))
			if j > 0 {
				o.emit(append(append([]byte(nil), line[:j]...), '\n'))
			}
			if ch, ok := o.marks[id]; ok {
				close(ch)
				delete(o.marks, id)
			}
			continue
		}
		o.emit(line)
	}
}

func (o *output) emit(line []byte) {
	o.ring.append(line)
	o.tail.append(line)
}

// platform writes a line of Sluice's own (START, END, REPORT) into the
// function's log and the tail.
func (o *output) platform(line string) {
	o.mu.Lock()
	o.emit([]byte(line))
	o.mu.Unlock()
}

// sync waits until the reader has logged everything the process wrote
// before now, or until limit passes (a stuck pipe never holds an Invoke).
func (o *output) sync(after <-chan time.Time) {
	id := randHex(8)
	ch := make(chan struct{})
	o.mu.Lock()
	select {
	case <-o.done:
		o.mu.Unlock()
		return
	default:
	}
	o.marks[id] = ch
	o.mu.Unlock()
	// One write of less than PIPE_BUF bytes is atomic: the marker is never
	// split by the function's own output.
	if _, err := o.w.Write([]byte(markPrefix + id + "\x00\n")); err != nil {
		return
	}
	select {
	case <-ch:
	case <-after:
	}
}

// close ends the output once the process group is gone: closing Sluice's
// write end lets the reader see EOF.
// A process that escaped the group (setsid) may hold the pipe open: after
// a second the read end is closed anyway.
func (o *output) close(after <-chan time.Time) {
	o.w.Close()
	select {
	case <-o.done:
	case <-after:
		o.r.Close()
		<-o.done
	}
}
