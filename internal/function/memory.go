package function

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sluice/internal/clock"
)

// memoryLimiter enforces an instance's MemorySize and measures its peak.
type memoryLimiter interface {
	name() string
	// attach starts limiting the process pid (the leader of its process
	// group) to limitMB.
	attach(pid, limitMB int) (memHandle, error)
}

// memHandle is one instance's limit.
type memHandle interface {
	peakBytes() int64 // Max Memory Used: the instance's high-water mark so far
	oomKilled() bool  // the limit killed the process
	close()           // after the process group is gone
}

func newMemoryLimiter(mode MemoryMode, pclock clock.Clock, log *slog.Logger) (memoryLimiter, error) {
	switch mode {
	case MemoryOff:
		return samplingLimiter{clock: pclock, enforce: false}, nil
	case MemorySampling:
		return samplingLimiter{clock: pclock, enforce: true}, nil
	}
	if l, err := newCgroupV2(pclock); err == nil {
		return l, nil
	} else if l1, err1 := newCgroupV1(pclock); err1 == nil {
		return l1, nil
	} else if mode == MemoryCgroup {
		return nil, fmt.Errorf("function: no usable cgroup memory controller: v2: %v; v1: %v", err, err1)
	} else {
		log.Info("function memory limits enforced by sampling /proc", "cgroup_v2", err.Error(), "cgroup_v1", err1.Error())
	}
	return samplingLimiter{clock: pclock, enforce: true}, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ownCgroup returns this process's cgroup path for the v1 controller
// named controller, or for v2 when controller is "".
func ownCgroup(controller string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		if controller != "" {
			for _, c := range strings.Split(parts[1], ",") {
				if c == controller {
					return parts[2], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no %q entry in /proc/self/cgroup", controller)
}

// mountPoint finds where the cgroup filesystem of type fstype (cgroup or
// cgroup2) with option opt ("memory" for v1, "" for v2) is mounted.
func mountPoint(fstype, opt string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts ... - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 > len(fields) || fields[sep+1] != fstype {
			continue
		}
		if fields[3] != "/" {
			continue // a bind mount of a sub-tree: paths would not line up
		}
		if opt == "" {
			return fields[4], nil
		}
		for _, o := range strings.Split(fields[sep+3], ",") {
			if o == opt {
				return fields[4], nil
			}
		}
	}
	return "", fmt.Errorf("no %s mount with %q", fstype, opt)
}

// cgroupLimiter creates one cgroup per instance under Sluice's own cgroup.
type cgroupLimiter struct {
	v2    bool
	base  string // directory new cgroups are made in
	clock clock.Clock
	// hold, when set (tests only), delays every background attach until
	// it is closed: it widens the window the watchdog covers.
	hold <-chan struct{}
}

func (c cgroupLimiter) name() string {
	if c.v2 {
		return "cgroup v2"
	}
	return "cgroup v1"
}

func newCgroupV1(pclock clock.Clock) (memoryLimiter, error) {
	mnt, err := mountPoint("cgroup", "memory")
	if err != nil {
		return nil, err
	}
	own, err := ownCgroup("memory")
	if err != nil {
		return nil, err
	}
	base := filepath.Join(mnt, own)
	return probe(cgroupLimiter{base: base, clock: pclock}, "memory.limit_in_bytes")
}

func newCgroupV2(pclock clock.Clock) (memoryLimiter, error) {
	mnt, err := mountPoint("cgroup2", "")
	if err != nil {
		return nil, err
	}
	ctrl, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	if err != nil || !bytes.Contains(ctrl, []byte("memory")) {
		return nil, errors.New("the cgroup2 mount has no memory controller")
	}
	own, err := ownCgroup("")
	if err != nil {
		return nil, err
	}
	base := filepath.Join(mnt, own)
	// Children get the memory controller only if the parent delegates it;
	// a cgroup with processes cannot delegate (the "no internal processes"
	// rule), which the probe below finds out.
	_ = os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+memory"), 0)
	return probe(cgroupLimiter{v2: true, base: base, clock: pclock}, "memory.max")
}

// probe makes and removes a cgroup to learn whether this process may.
func probe(c cgroupLimiter, limitFile string) (memoryLimiter, error) {
	dir := filepath.Join(c.base, "sluice-probe-"+randHex(4))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	defer os.Remove(dir)
	if _, err := os.Stat(filepath.Join(dir, limitFile)); err != nil {
		return nil, err
	}
	return c, nil
}

// cgroupHandle is one instance's cgroup. The process is moved into it in
// the background (see attach), so it has a window, from its start until
// the move, in which the sampling watchdog enforces the limit instead.
type cgroupHandle struct {
	v2    bool
	dir   string
	clock clock.Clock

	// watch enforces the limit by sampling until the cgroup holds the
	// process, and for good when the move failed.
	watch *sampleHandle
	// ready is closed when the background attach finished; attached and
	// peakF are set before.
	ready    chan struct{}
	attached bool
	peakF    *os.File // memory.max_usage_in_bytes (v1) or memory.peak (v2), held open: one pread per REPORT
	made     bool     // dir was created (close removes it)

	// close runs in reap, maybe before serve asks about the exit: what
	// the cgroup knew is kept here before its directory goes.
	finalOOM  atomic.Bool
	finalPeak atomic.Int64
}

// attach starts limiting pid and returns at once: the move into the
// cgroup runs in a goroutine. On cgroup v1 the write to cgroup.procs
// takes 5 to 35 ms on these machines (the kernel waits for an RCU grace
// period under its thread-group lock), which used to hold up every cold
// start. Until the move is done, the sampling watchdog enforces the same
// limit (it samples at once, then every sampleEvery); charges made before
// the move go with the process (v1: memory.move_charge_at_immigrate; v2
// moves no charges, but the watchdog saw them), and a process already over
// the limit cannot be moved (the kernel refuses the charge) and is killed
// by the watchdog. Children forked during the window are moved after their
// parent (from /proc/PID/task/PID/children); any still unmoved stay in the
// instance's process group, which a timeout or stop kills whole.
//
// On cgroup v2 the process could instead start inside its cgroup
// (SysProcAttr.UseCgroupFD, CLONE_INTO_CGROUP), with no window at all;
// these machines have v1 only, so that path is not built.
func (c cgroupLimiter) attach(pid, limitMB int) (memHandle, error) {
	w, _ := samplingLimiter{clock: c.clock, enforce: true}.attach(pid, limitMB)
	h := &cgroupHandle{v2: c.v2, clock: c.clock, watch: w.(*sampleHandle), ready: make(chan struct{}),
		dir: filepath.Join(c.base, "sluice-"+strconv.Itoa(os.Getpid())+"-"+randHex(6))}
	go func() {
		defer close(h.ready)
		if c.hold != nil {
			<-c.hold
		}
		if err := h.move(pid, limitMB); err != nil {
			return // the watchdog stays on: the limit is enforced by sampling
		}
		h.attached = true
		h.watch.close()
	}()
	return h, nil
}

// move makes the cgroup with its limit and moves pid (and the children it
// forked meanwhile) into it.
func (h *cgroupHandle) move(pid, limitMB int) error {
	if err := os.Mkdir(h.dir, 0o755); err != nil {
		return err
	}
	h.made = true
	limit := []byte(strconv.FormatInt(int64(limitMB)<<20, 10))
	peakFile := "memory.max_usage_in_bytes"
	var err error
	if h.v2 {
		peakFile = "memory.peak"
		err = os.WriteFile(filepath.Join(h.dir, "memory.max"), limit, 0)
		_ = os.WriteFile(filepath.Join(h.dir, "memory.swap.max"), []byte("0"), 0)
	} else {
		err = os.WriteFile(filepath.Join(h.dir, "memory.limit_in_bytes"), limit, 0)
		// No swap beyond the limit, when the kernel accounts swap.
		_ = os.WriteFile(filepath.Join(h.dir, "memory.memsw.limit_in_bytes"), limit, 0)
		// What the process touched before the move is charged here too
		// (anonymous and file pages: 1|2).
		_ = os.WriteFile(filepath.Join(h.dir, "memory.move_charge_at_immigrate"), []byte("3"), 0)
	}
	if err != nil {
		return err
	}
	procs, err := os.OpenFile(filepath.Join(h.dir, "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer procs.Close()
	if _, err := procs.Write([]byte(strconv.Itoa(pid))); err != nil {
		return err
	}
	// Children forked before the move stayed behind; a child forked after
	// it is born inside. Bounded: a few generations, a few hundred pids.
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < 512 {
		p := queue[0]
		queue = queue[1:]
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + strconv.Itoa(p) + "/children")
		for _, f := range strings.Fields(string(b)) {
			c, err := strconv.Atoi(f)
			if err != nil || seen[c] {
				continue
			}
			seen[c] = true
			queue = append(queue, c)
			_, _ = procs.Write([]byte(f)) // it may be gone already
		}
	}
	h.peakF, err = os.Open(filepath.Join(h.dir, peakFile))
	return err
}

// done reports whether the background attach finished.
func (h *cgroupHandle) done() bool {
	select {
	case <-h.ready:
		return true
	default:
		return false
	}
}

// peakBytes is one pread of the held-open peak file (opening a cgroup
// file per invoke was half of serve's CPU), or, before the move, the
// watchdog's measure.
func (h *cgroupHandle) peakBytes() int64 {
	if !h.done() || !h.attached {
		return h.watch.peakBytes()
	}
	return max(h.readPeak(), h.finalPeak.Load(), h.watch.peak.Load())
}

// readPeak is the cgroup's high-water mark, 0 once the file is closed.
func (h *cgroupHandle) readPeak() int64 {
	var buf [32]byte
	n, err := h.peakF.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	return v
}

// oomKilled is asked after the process exited, so the attach is over (or
// ends in a few file operations).
func (h *cgroupHandle) oomKilled() bool {
	<-h.ready
	if h.watch.oomKilled() {
		return true
	}
	if !h.attached {
		return false
	}
	// Read the file first: if close removed it already, it stored the
	// answer before.
	return h.readOOM() || h.finalOOM.Load()
}

// readOOM reads the cgroup's OOM kill count; false when it is gone.
func (h *cgroupHandle) readOOM() bool {
	file, key := "memory.oom_control", "oom_kill "
	if h.v2 {
		file, key = "memory.events", "oom_kill "
	}
	b, err := os.ReadFile(filepath.Join(h.dir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

func (h *cgroupHandle) close() {
	<-h.ready
	h.watch.close()
	if h.attached {
		h.finalPeak.Store(h.readPeak())
		h.finalOOM.Store(h.readOOM())
	}
	if h.peakF != nil {
		h.peakF.Close()
	}
	if !h.made {
		return
	}
	// rmdir fails while a task is still being torn down; a few tries
	// cover the kernel's exit path.
	for i := 0; i < 50; i++ {
		if err := os.Remove(h.dir); err == nil || os.IsNotExist(err) {
			return
		}
		<-h.clock.After(10 * time.Millisecond) // the kernel's teardown runs in real time
	}
}

// samplingLimiter reads the process's resident size from /proc every
// sampleEvery and kills its process group when it is over the limit.
// Only the group leader is measured (children are not summed).
type samplingLimiter struct {
	clock   clock.Clock
	enforce bool
}

const sampleEvery = 50 * time.Millisecond

func (l samplingLimiter) name() string {
	if l.enforce {
		return "sampling"
	}
	return "off"
}

type sampleHandle struct {
	pid  int
	peak atomic.Int64
	oom  atomic.Bool
	stop chan struct{}
	once sync.Once
}

func (l samplingLimiter) attach(pid, limitMB int) (memHandle, error) {
	h := &sampleHandle{pid: pid, stop: make(chan struct{})}
	limit := int64(limitMB) << 20
	go func() {
		for {
			rss, hwm := procMemory(pid)
			if hwm > h.peak.Load() {
				h.peak.Store(hwm)
			}
			if l.enforce && rss > limit {
				h.oom.Store(true)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				return
			}
			select {
			case <-h.stop:
				return
			case <-l.clock.After(sampleEvery):
			}
		}
	}()
	return h, nil
}

// procMemory returns VmRSS and VmHWM of pid in bytes.
func procMemory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = parseKB(v)
		} else if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm = parseKB(v)
		}
	}
	return rss, hwm
}

func parseKB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n << 10
}

func (h *sampleHandle) peakBytes() int64 {
	if _, hwm := procMemory(h.pid); hwm > h.peak.Load() {
		h.peak.Store(hwm)
	}
	return h.peak.Load()
}
func (h *sampleHandle) oomKilled() bool { return h.oom.Load() }
func (h *sampleHandle) close()          { h.once.Do(func() { close(h.stop) }) }
