package function

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"sluice/internal/clock"
)

// TestHelperAllocate is not a test: the cgroup tests run the test binary
// as the limited process. It touches SLUICE_TEST_ALLOC_MB MiB and waits.
func TestHelperAllocate(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("SLUICE_TEST_ALLOC_MB"))
	if mb == 0 {
		t.Skip("helper process only")
	}
	if os.Getenv("SLUICE_TEST_ALLOC_WAIT") != "" {
		// Allocate only once the parent says the attach is done.
		b := make([]byte, 1)
		_, _ = os.Stdin.Read(b)
	}
	var keep [][]byte
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	os.Stdout.WriteString("allocated\n")
	time.Sleep(time.Minute) // the limit must kill it first
	_ = keep
}

func cgroupForTest(t *testing.T, hold <-chan struct{}) cgroupLimiter {
	t.Helper()
	l, err := newCgroupV2(clock.Real{})
	if err != nil {
		l, err = newCgroupV1(clock.Real{})
	}
	if err != nil {
		t.Skipf("no usable memory cgroup: %v", err)
	}
	c := l.(cgroupLimiter)
	c.hold = hold
	return c
}

func startAllocator(t *testing.T, mb int, wait bool) (*exec.Cmd, *os.File) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAllocate$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_ALLOC_MB="+strconv.Itoa(mb))
	var in *os.File
	if wait {
		cmd.Env = append(cmd.Env, "SLUICE_TEST_ALLOC_WAIT=1")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, in = r, w
		t.Cleanup(func() { w.Close() })
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd, in
}

// waitKilled waits (bounded) for the helper to end and checks that a
// SIGKILL ended it.
func waitKilled(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("helper ended with %v, want killed", err)
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("helper ended with %v, want SIGKILL", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("400 MB in 128 MB still running after 30 s")
	}
}

// TestCgroupWindowEnforced: a process that allocates 400 MB before its
// move into the cgroup (held back here for as long as it takes) is killed
// by the sampling watchdog and counts as out of memory.
func TestCgroupWindowEnforced(t *testing.T) {
	hold := make(chan struct{})
	c := cgroupForTest(t, hold)
	cmd, _ := startAllocator(t, 400, false)
	h, err := c.attach(cmd.Process.Pid, 128)
	if err != nil {
		t.Fatal(err)
	}
	waitKilled(t, cmd)
	close(hold) // the move now finds the process gone
	if !h.oomKilled() {
		t.Fatal("oomKilled false after the watchdog killed 400 MB in 128 MB")
	}
	if p := h.peakBytes(); p <= 128<<20 {
		t.Fatalf("peak %d bytes, want over the 128 MiB limit the watchdog saw", p)
	}
	h.close()
}

// TestCgroupAttachedEnforced: once the background move is done, the
// cgroup itself limits the process (the watchdog is off), and peakBytes
// reads the cgroup's high-water mark.
func TestCgroupAttachedEnforced(t *testing.T) {
	c := cgroupForTest(t, nil)
	cmd, go_ := startAllocator(t, 400, true)
	h, err := c.attach(cmd.Process.Pid, 128)
	if err != nil {
		t.Fatal(err)
	}
	ch := h.(*cgroupHandle)
	<-ch.ready
	if !ch.attached {
		t.Skip("the move into the cgroup failed here; the watchdog case is TestCgroupWindowEnforced")
	}
	if got := ch.watch.oomKilled(); got {
		t.Fatal("watchdog fired before any allocation")
	}
	_, _ = go_.Write([]byte("g"))
	waitKilled(t, cmd)
	if ch.watch.oomKilled() {
		t.Fatal("the watchdog killed it: it should be off once attached")
	}
	if !h.oomKilled() {
		t.Fatal("oomKilled false after the cgroup killed 400 MB in 128 MB")
	}
	if p := h.peakBytes(); p < 100<<20 || p > 129<<20 {
		t.Fatalf("cgroup peak %d bytes, want near the 128 MiB limit", p)
	}
	h.close()
	if _, err := os.Stat(ch.dir); !os.IsNotExist(err) {
		t.Fatalf("cgroup dir left behind: %v", err)
	}
	// reap may close the handle before serve asks: the answers stay.
	if !h.oomKilled() {
		t.Fatal("oomKilled false once the cgroup was removed")
	}
	if p := h.peakBytes(); p < 100<<20 {
		t.Fatalf("peak %d bytes once the cgroup was removed", p)
	}
}
