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

type cgroupHandle struct {
	v2    bool
	dir   string
	clock clock.Clock
}

func (c cgroupLimiter) attach(pid, limitMB int) (memHandle, error) {
	dir := filepath.Join(c.base, "sluice-"+strconv.Itoa(os.Getpid())+"-"+randHex(6))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	h := &cgroupHandle{v2: c.v2, dir: dir, clock: c.clock}
	limit := []byte(strconv.FormatInt(int64(limitMB)<<20, 10))
	var err error
	if c.v2 {
		err = os.WriteFile(filepath.Join(dir, "memory.max"), limit, 0)
		_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
	} else {
		err = os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), limit, 0)
		// No swap beyond the limit, when the kernel accounts swap.
		_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), limit, 0)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	}
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func (h *cgroupHandle) peakBytes() int64 {
	if h.v2 {
		return readInt(filepath.Join(h.dir, "memory.peak"))
	}
	return readInt(filepath.Join(h.dir, "memory.max_usage_in_bytes"))
}

func (h *cgroupHandle) oomKilled() bool {
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
