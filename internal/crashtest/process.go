package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// BuildSluice builds cmd/sluice into dir and returns the binary's path.
// Tests call it once, from TestMain.
func BuildSluice(dir string) (string, error) {
	bin := filepath.Join(dir, "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "sluice/cmd/sluice")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build sluice: %v\n%s", err, out)
	}
	return bin, nil
}

// Process is a Target that runs a real sluice binary on a data directory
// and crashes it with SIGKILL.
type Process struct {
	Binary  string
	DataDir string
	// MinRun and MaxRun bound the random time between the start of the
	// workloads and the kill (defaults 100ms and 800ms).
	MinRun, MaxRun time.Duration
	// Logf receives the server's stderr tail when it does not start.
	Logf func(format string, args ...any)

	mu     sync.Mutex
	cmd    *exec.Cmd
	waited chan struct{} // closed when cmd.Wait returned
	stderr *tailBuffer
	// transport is this server lifetime's own connection pool; Stop
	// closes its idle connections (see Start).
	transport *http.Transport
}

const (
	processAccessKey = "AKIACRASHTEST0000000"
	processSecretKey = "crashtest-secret-key-0000000000000000000"
	startTimeout     = 30 * time.Second
)

// Start implements Target: it starts `sluice serve` on 127.0.0.1:0 and
// waits for the line that prints its address.
func (p *Process) Start(ctx context.Context, env *Env) error {
	cmd := exec.Command(p.Binary, "serve", "--addr", "127.0.0.1:0", "--data", p.DataDir, "--log-level", "warn")
	cmd.Env = append(os.Environ(),
		"SLUICE_ROOT_ACCESS_KEY="+processAccessKey,
		"SLUICE_ROOT_SECRET_KEY="+processSecretKey,
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.stderr = &tailBuffer{max: 16 << 10}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	waited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.waited = cmd, waited
	p.mu.Unlock()

	addr := make(chan string, 1)
	go func() {
		// Read stdout to its end, so the server never blocks on it.
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "Sluice is listening on "); ok && !sent {
				addr <- strings.Fields(rest)[0]
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
		_ = cmd.Wait() // after stdout is drained, as os/exec requires
		close(waited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case u, ok := <-addr:
		if !ok {
			<-waited
			return fmt.Errorf("sluice exited before listening (%v); stderr:\n%s", cmd.ProcessState, p.stderr)
		}
		env.Endpoint = u
	case <-timer.C:
		p.Stop()
		return fmt.Errorf("sluice did not print its address within %s; stderr:\n%s", startTimeout, p.stderr)
	case <-ctx.Done():
		p.Stop()
		return ctx.Err()
	}
	// Each server lifetime gets its own connection pool, dropped at Stop,
	// so that no keep-alive connection to a killed process is ever offered
	// to a request for its successor (127.0.0.1:0 can hand out the same
	// port again, and the pool is keyed by host:port). The observed
	// "use of closed network connection" flake is a different race, which
	// the checks' receives absorb (checkrecv.go).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p.mu.Lock()
	p.transport = tr
	p.mu.Unlock()
	env.AWS = aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(processAccessKey, processSecretKey, ""),
		BaseEndpoint:     aws.String(env.Endpoint),
		RetryMaxAttempts: 1, // a retried PUT would blur "acknowledged"
		Retryer:          func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:       &http.Client{Timeout: 30 * time.Second, Transport: tr},
	}
	return nil
}

// Crash implements Target: SIGKILL after a random delay. The tick is
// taken once the process has exited.
func (p *Process) Crash(ctx context.Context, env *Env, rng *rand.Rand) (uint64, error) {
	lo, hi := p.MinRun, p.MaxRun
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= lo {
		hi = lo + 700*time.Millisecond
	}
	d := lo + time.Duration(rng.Int64N(int64(hi-lo)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	cmd, waited := p.cmd, p.waited
	p.mu.Unlock()
	if cmd == nil {
		return 0, errors.New("sluice is not running")
	}
	select {
	case <-waited:
		return 0, fmt.Errorf("sluice died before the kill (%v); stderr:\n%s", cmd.ProcessState, p.stderr)
	default:
	}
	if err := p.Stop(); err != nil {
		return 0, err
	}
	// The process is gone: nothing sent from now on can be applied.
	// Responses still read after this tick count as unacknowledged,
	// which is safe.
	return env.Ticks.Next(), nil
}

// Stop implements Target: it kills the process (by its pid) if it still
// runs and waits for it.
func (p *Process) Stop() error {
	p.mu.Lock()
	cmd, waited, tr := p.cmd, p.waited, p.transport
	p.cmd, p.waited, p.transport = nil, nil, nil
	p.mu.Unlock()
	if tr != nil {
		defer tr.CloseIdleConnections()
	}
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-waited:
		return nil
	case <-t.C:
		return fmt.Errorf("sluice pid %d did not exit after SIGKILL", cmd.Process.Pid)
	}
}

// Exited reports whether the started process has exited by itself (a
// function that kills the server, a crash), not by Stop.
func (p *Process) Exited() bool {
	p.mu.Lock()
	waited := p.waited
	p.mu.Unlock()
	if waited == nil {
		return false
	}
	select {
	case <-waited:
		return true
	default:
		return false
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.Clone(t.buf))
}

var _ io.Writer = (*tailBuffer)(nil)
