package crashtest

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/dispatch"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// Failpoints are the narrow windows of a PUT, in the order a PUT of a blob
// object reaches them (an inline object reaches only the last two).
// FailpointReturned is the harness's own: PutObject returned, the response
// is not sent yet.
var Failpoints = []string{
	blobstore.FailpointWritten,
	blobstore.FailpointSynced,
	blobstore.FailpointRenamed,
	blobstore.FailpointDurable,
	object.FailpointPutBeforeCommit,
	object.FailpointPutCommitted,
}

// Mem is a Target that runs the storage engine, the blob store,
// object.Service, the queue service and the notification publisher
// (dispatch, wired to the queues as internal/server wires it) in this
// process on Pebble's crashable in-memory
// filesystem. A crash is a crash image of the filesystem holding only what
// was synced (vfs.MemFS.CrashClone), taken inside a failpoint, so the crash
// lands exactly in the narrow windows of a write; the next Start opens the
// image.
type Mem struct {
	// InlineLimit is passed to object.Config (0: the default).
	InlineLimit int
	// BlobGrace is the sweeper's grace period checked by Sweep (default
	// one hour of fake time).
	BlobGrace time.Duration
	// MaxHits: the crash is taken at a random failpoint hit among the
	// first MaxHits (default 150), or after MaxWait of real time.
	MaxHits int
	MaxWait time.Duration
	// UnsyncedPercent is the chance that each unsynced block or directory
	// entry survives the crash anyway (vfs.CrashCloneCfg); 0 keeps exactly
	// what was synced.
	UnsyncedPercent int
	// WrapFS, when set, wraps the filesystem the engine sees: tests use
	// DropSyncs to prove the harness catches a missing fsync.
	WrapFS func(vfs.FS) vfs.FS
	// Logf receives the failpoint of each crash.
	Logf func(format string, args ...any)

	fs      *vfs.MemFS
	clock   *clock.Fake
	store   *pebblestore.Store
	blobs   *blobstore.Store
	objects *object.Service
	queues  *queue.Service
	notify  *dispatch.Service
	rng     *rand.Rand // for UnsyncedPercent

	mu        sync.Mutex
	armName   string // crash at the first hit of this failpoint
	armCount  int    // or at this hit of any failpoint (0: disarmed)
	hits      int
	image     *vfs.MemFS
	imageTick uint64
	imageAt   string
	ticks     *Ticker
	crashed   chan struct{}
}

// Start implements Target: it opens the store on the last crash image (or
// a fresh filesystem).
func (m *Mem) Start(ctx context.Context, env *Env) error {
	if m.BlobGrace <= 0 {
		m.BlobGrace = time.Hour
	}
	if m.fs == nil {
		m.fs = vfs.NewCrashableMem()
		m.clock = clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		m.rng = rand.New(rand.NewPCG(uint64(env.Seed), 1))
	}
	m.mu.Lock()
	if m.image != nil {
		m.fs = m.image
	}
	m.image, m.armName, m.armCount, m.hits, m.ticks = nil, "", 0, 0, env.Ticks
	m.crashed = make(chan struct{})
	m.mu.Unlock()

	var fs vfs.FS = m.fs
	if m.WrapFS != nil {
		fs = m.WrapFS(fs)
	}
	var err error
	m.store, err = pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: m.clock})
	if err != nil {
		return err
	}
	m.blobs, err = blobstore.Open(blobstore.Options{Dir: "blobs", FS: fs, Clock: m.clock, Failpoint: m.failpoint})
	if err != nil {
		m.store.Close()
		m.store = nil
		return err
	}
	m.queues = queue.New(queue.Config{Store: m.store, Clock: m.clock})
	// As in internal/server: dispatch bumps the sequencer epoch (a synced
	// commit) before any object change is published, and every object
	// change publishes its records in its own transaction.
	m.notify, err = dispatch.New(ctx, dispatch.Config{
		Store: m.store, Destinations: memDestinations{queues: m.queues, account: m.queues.AccountID()}, Clock: m.clock,
	})
	if err != nil {
		m.queues.Close()
		m.store.Close()
		m.store = nil
		return err
	}
	m.objects = object.New(object.Config{Store: m.store, Blobs: m.blobs, Clock: m.clock, InlineLimit: m.InlineLimit, Failpoint: m.failpoint, Events: m.notify})
	m.notify.SetBuckets(m.objects)
	env.Store, env.Blobs, env.Clock, env.Objects, env.BlobGrace = m.store, m.blobs, m.clock, m.objects, m.BlobGrace
	env.Queues, env.Notifications = m.queues, m.notify
	return nil
}

// failpoint takes the crash image when the armed failpoint is hit.
func (m *Mem) failpoint(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.image != nil || (m.armName == "" && m.armCount == 0) {
		return
	}
	m.hits++
	if m.armName == name || m.armCount == m.hits {
		m.takeImage(name)
	}
}

// takeImage records the crash image; m.mu is held.
func (m *Mem) takeImage(at string) {
	cfg := vfs.CrashCloneCfg{UnsyncedDataPercent: m.UnsyncedPercent}
	if cfg.UnsyncedDataPercent > 0 {
		cfg.RNG = m.rng
	}
	// No tick is handed out while the image is cut (Ticker.Freeze): an
	// operation acknowledged below the image's tick ended before the cut.
	m.imageTick = m.ticks.Freeze(func() { m.image = m.fs.CrashClone(cfg) })
	m.imageAt = at
	close(m.crashed)
}

// Arm makes the next hit of failpoint name take the crash image (tests of
// one window). CrashNow takes it at once, if no failpoint took it yet.
func (m *Mem) Arm(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.armName = name
}

// CrashNow takes the crash image now unless one was taken since Start, and
// returns the failpoint (or "now") at which it was taken and its tick.
func (m *Mem) CrashNow() (at string, tick uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.image == nil {
		m.takeImage("now")
	}
	return m.imageAt, m.imageTick
}

// Crash implements Target: the crash image is taken at a random failpoint
// hit, or after MaxWait if the workloads reach too few failpoints.
func (m *Mem) Crash(ctx context.Context, env *Env, rng *rand.Rand) (uint64, error) {
	maxHits, wait := m.MaxHits, m.MaxWait
	if maxHits <= 0 {
		maxHits = 150
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	m.mu.Lock()
	m.armCount = 1 + rng.IntN(maxHits)
	crashed := m.crashed
	m.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-crashed:
	case <-t.C:
	case <-ctx.Done():
	}
	at, tick := m.CrashNow()
	if m.Logf != nil {
		m.Logf("iteration %d: crash image at %s", env.Iteration, at)
	}
	return tick, nil
}

// Stop implements Target: it closes the crashed store (its writes after the
// image do not reach the image).
func (m *Mem) Stop() error {
	var err error
	if m.queues != nil {
		m.queues.Close()
		m.queues = nil
	}
	if m.store != nil {
		err = m.store.Close()
		m.store = nil
	}
	return err
}

// DropSyncs wraps fs so that Sync, SyncData and SyncTo of a file do
// nothing while drop(path) is true at the time of the call: a filesystem
// that loses data a program believed durable. The harness must fail on it.
func DropSyncs(drop func(path string) bool) func(vfs.FS) vfs.FS {
	return func(fs vfs.FS) vfs.FS { return &dropSyncFS{FS: fs, drop: drop} }
}

// IsWAL reports whether path is a Pebble write-ahead log.
func IsWAL(path string) bool { return strings.HasSuffix(path, ".log") }

// IsBlob reports whether path is a blob file (or its temporary file).
func IsBlob(path string) bool { return strings.HasPrefix(path, "blobs/") }

type dropSyncFS struct {
	vfs.FS
	drop func(string) bool
}

func (d *dropSyncFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return &dropSyncFile{File: f, name: name, drop: d.drop}, nil
}

func (d *dropSyncFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.Create(name, c)
	return d.wrap(name, f, err)
}

func (d *dropSyncFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := d.FS.OpenReadWrite(name, c, opts...)
	return d.wrap(name, f, err)
}

func (d *dropSyncFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.ReuseForWrite(oldname, newname, c)
	return d.wrap(newname, f, err)
}

func (d *dropSyncFS) Unwrap() vfs.FS { return d.FS }

type dropSyncFile struct {
	vfs.File
	name string
	drop func(string) bool
}

func (f *dropSyncFile) Sync() error {
	if f.drop(f.name) {
		return nil
	}
	return f.File.Sync()
}

func (f *dropSyncFile) SyncData() error {
	if f.drop(f.name) {
		return nil
	}
	return f.File.SyncData()
}

func (f *dropSyncFile) SyncTo(n int64) (bool, error) {
	if f.drop(f.name) {
		return false, nil
	}
	return f.File.SyncTo(n)
}
