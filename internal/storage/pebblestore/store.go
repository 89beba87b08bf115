package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
)

// maxAttempts bounds how often Update runs its function before giving up
// with storage.ErrConflict. exclusiveAfter is the number of conflicts after
// which an Update runs alone (see gate), so a transaction on a hot key
// cannot starve behind an endless stream of faster winners.
const (
	maxAttempts    = 100
	exclusiveAfter = 3
)

// Options configures Open.
type Options struct {
	// Dir is the Pebble database directory.
	Dir string
	// FS is the filesystem; nil means vfs.Default. Crash tests pass
	// vfs.NewCrashableMem() or vfs.NewStrictMem().
	FS vfs.FS
	// Clock stamps EnqueuedAt; nil means clock.Real{}.
	Clock clock.Clock
	// Logger receives Pebble's log lines; nil discards them.
	Logger *slog.Logger
	// CacheSize is the block cache in bytes; 0 means DefaultCacheSize.
	// The cache fills only as blocks are read, so a small database never
	// uses all of it.
	CacheSize int64
}

// Engine tuning, measured with `sluice bench` (docs/benchmarks.md). Pebble's
// defaults (8 MiB block cache, no bloom filters, 4 MiB memtables) are sized
// for an embedder that configures them: with them, every point read of an
// object or bucket record missed the cache and read and decompressed index
// and data blocks with pread, a quarter of all CPU under load.
const (
	// DefaultCacheSize holds the records and index blocks of a few hundred
	// thousand small objects.
	DefaultCacheSize = 128 << 20
	// bloomBitsPerKey gives about a 1 % false positive rate, so a point
	// read (a PUT of a new key reads its absent previous record) skips the
	// sstables that do not hold the key instead of searching each.
	bloomBitsPerKey = 10
	// memTableSize: fewer, larger flushes; each flush competes with the
	// WAL syncs of the commits running meanwhile.
	memTableSize = 32 << 20
)

// Metrics counts what the transaction layer did since Open.
type Metrics struct {
	Commits   uint64 // Update calls that committed writes
	Conflicts uint64 // attempts discarded because of a conflict
	Failures  uint64 // Update calls that gave up with ErrConflict
}

// Store is the Pebble engine. It implements storage.Store.
type Store struct {
	db    *pebble.DB
	clock clock.Clock
	log   *slog.Logger

	// gate is held shared by every Update attempt and exclusively by an
	// attempt that has conflicted exclusiveAfter times: with no concurrent
	// commit it cannot conflict again. Lock order: gate before mu.
	gate sync.RWMutex

	// ops counts Update and View calls in progress, so Close waits for them
	// before closing Pebble (which panics on use after close).
	ops sync.WaitGroup

	// mu guards everything below it. It is held while a validated batch is
	// handed to Pebble (ApplyNoSyncWait: WAL append and memtable apply, no
	// fsync), never while waiting for the WAL sync.
	mu     sync.Mutex
	closed bool
	// last is the number of the newest commit handed to Pebble.
	last uint64
	// durable is the watermark: every commit numbered <= durable has
	// returned from its WAL sync. doneAbove holds finished numbers beyond it.
	durable   uint64
	doneAbove map[uint64]struct{}
	// advanced is closed (and replaced) whenever durable moves.
	advanced chan struct{}
	// commits holds the write sets of commits that some running or future
	// attempt may still have to validate against, in number order.
	commits []commitRecord
	// active counts running attempts by their start number.
	active map[uint64]int
	// queueLast is the highest message seq committed into each queue, so
	// that message keys of one queue are committed in increasing order.
	queueLast map[string]uint64
	// maxSeq is the highest message seq committed into any queue.
	maxSeq uint64

	// nextSeq allocates message seqs; ids are handed out during fn, before
	// the commit order is known (see commit).
	nextSeq atomic.Uint64

	// qidx is the in-memory queue index (queueindex.go).
	qidx queueIndexes

	// rcache serves Update attempts' reads of rarely written domain keys
	// (readcache.go). Filled and invalidated under mu.
	rcache readCache

	waitMu  sync.Mutex
	waiters map[string]chan struct{}

	commitsN, conflictsN, failuresN atomic.Uint64
	stalls                          stalls
}

type commitRecord struct {
	num    uint64
	writes []string
	// lease: a Lease applied without a sync (queue.go). An attempt that
	// began after it was applied read its writes and need not rerun.
	lease bool
}

// Open opens (or creates) the database in opts.Dir.
func Open(opts Options) (*Store, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cacheSize := opts.CacheSize
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	po := &pebble.Options{
		FS:                          zeroAheadFS{fs},
		Logger:                      pebbleLogger{logger},
		FormatMajorVersion:          pebble.FormatNewest,
		CacheSize:                   cacheSize,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: 4,
	}
	// Levels below L0 inherit L0's filter policy (EnsureDefaults).
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	s := &Store{
		clock:     clk,
		log:       logger,
		doneAbove: map[uint64]struct{}{},
		advanced:  make(chan struct{}),
		active:    map[uint64]int{},
		queueLast: map[string]uint64{},
		waiters:   map[string]chan struct{}{},
	}
	po.EventListener = s.listener()
	db, err := pebble.Open(opts.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: open %s: %w", opts.Dir, err)
	}
	s.db = db
	v, closer, err := db.Get(msgSeqKey())
	switch {
	case err == nil:
		if len(v) == 8 {
			s.maxSeq = binary.BigEndian.Uint64(v)
		}
		closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		db.Close()
		return nil, fmt.Errorf("pebblestore: read message counter: %w", err)
	}
	s.nextSeq.Store(s.maxSeq)
	if err := s.loadQueues(); err != nil {
		db.Close()
		return nil, fmt.Errorf("pebblestore: rebuild queue index: %w", err)
	}
	return s, nil
}

// Metrics returns the transaction layer's counters.
func (s *Store) Metrics() Metrics {
	return Metrics{Commits: s.commitsN.Load(), Conflicts: s.conflictsN.Load(), Failures: s.failuresN.Load()}
}

// Close waits for running transactions and closes the database. Later
// transactions return storage.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.ops.Wait()
	return s.db.Close()
}

// WaitEnqueued implements storage.Store. Callers waiting on the same queue
// at the same time may share one channel; it is closed once, after the next
// commit that enqueued into queue is durable.
func (s *Store) WaitEnqueued(queue string) <-chan struct{} {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	ch, ok := s.waiters[queue]
	if !ok {
		ch = make(chan struct{})
		s.waiters[queue] = ch
	}
	return ch
}

func (s *Store) signal(queues map[string]uint64) {
	if len(queues) == 0 {
		return
	}
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	for q := range queues {
		if ch, ok := s.waiters[q]; ok {
			close(ch)
			delete(s.waiters, q)
		}
	}
}

// View implements storage.Store. It reads a Pebble snapshot taken under mu,
// so the snapshot holds exactly the commits numbered <= last (Pebble applies
// them in our number order, see commit). Pebble publishes a batch before its
// WAL sync finishes, so some of those commits may not be durable yet: View
// notes their write sets, and a read of a key one of them wrote (or of a
// range holding such a key) first waits until that commit is durable. So it
// never shows data that a crash could take back, yet a read that touches no
// commit in flight (a GET while other keys are being PUT, the bucket record
// on every request) does not wait for someone else's WAL sync.
func (s *Store) View(ctx context.Context, fn func(tx storage.ReadTx) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return storage.ErrClosed
	}
	s.ops.Add(1)
	defer s.ops.Done()
	snap := s.db.NewSnapshot()
	t := &tx{s: s, r: snap, ctx: ctx}
	if s.durable < s.last {
		// Every commit numbered above durable is in s.commits (prune keeps
		// them). The entries of this window are never modified afterwards:
		// appends go past its end and prune copies into a new array, so
		// the window can be read without mu.
		i := sort.Search(len(s.commits), func(i int) bool { return s.commits[i].num > s.durable })
		t.pending = s.commits[i:len(s.commits):len(s.commits)]
	}
	s.mu.Unlock()
	defer snap.Close()
	defer t.closeIters()
	return fn(t)
}

// waitDurable blocks until every commit numbered <= n is durable.
func (s *Store) waitDurable(ctx context.Context, n uint64) error {
	for {
		s.mu.Lock()
		if s.durable >= n {
			s.mu.Unlock()
			return nil
		}
		ch := s.advanced
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Update implements storage.Store; see doc.go for why it is serializable.
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := s.attempt(ctx, fn, attempt >= exclusiveAfter)
		switch res.outcome {
		case outcomeDone:
			return err
		case outcomeConflict:
			s.conflictsN.Add(1)
			// Wait until the commit we conflicted with is durable: until
			// then a new attempt would read its writes (Pebble shows them
			// before the sync) and conflict with it again.
			if err := s.waitDurable(ctx, res.waitFor); err != nil {
				return err
			}
		}
	}
	s.failuresN.Add(1)
	return storage.ErrConflict
}

type outcome int

const (
	outcomeDone outcome = iota
	outcomeConflict
)

type attemptResult struct {
	outcome outcome
	waitFor uint64 // on conflict: the commit number to wait for
}

// attempt runs fn once and commits it if it validates.
func (s *Store) attempt(ctx context.Context, fn func(tx storage.Tx) error, exclusive bool) (attemptResult, error) {
	if exclusive {
		s.gate.Lock()
		defer s.gate.Unlock()
		// Commits handed to Pebble before we took the gate may still be
		// syncing; start after them so that none of them is newer than
		// our start.
		s.mu.Lock()
		last := s.last
		s.mu.Unlock()
		if err := s.waitDurable(ctx, last); err != nil {
			return attemptResult{}, err
		}
	} else {
		s.gate.RLock()
		defer s.gate.RUnlock()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return attemptResult{}, storage.ErrClosed
	}
	s.ops.Add(1)
	defer s.ops.Done()
	start := s.durable
	// Every commit numbered <= applied is in Pebble already (see Lease).
	applied := s.last
	s.active[start]++
	s.mu.Unlock()

	batch := s.db.NewIndexedBatch()
	defer batch.Close()
	t := &tx{s: s, r: batch, batch: batch, reads: map[string]struct{}{}, writes: map[string]struct{}{}}
	registered := true
	// release ends the attempt's registration; it runs under mu.
	release := func() {
		if registered {
			registered = false
			if s.active[start]--; s.active[start] == 0 {
				delete(s.active, start)
			}
			s.prune()
		}
	}
	defer func() {
		// fn panicked: unregister, nothing was committed.
		if registered {
			s.mu.Lock()
			release()
			s.mu.Unlock()
		}
	}()

	ferr := fn(t)
	t.closeIters()
	t.done = true

	s.mu.Lock()
	if n := s.conflictWith(t, start, applied); n != 0 {
		release()
		s.mu.Unlock()
		return attemptResult{outcome: outcomeConflict, waitFor: n}, nil
	}
	// Validated: every value fn read from Pebble is still the latest.
	s.rcache.fill(t.fills, t.writes)
	if ferr != nil || len(t.writes) == 0 {
		release()
		s.mu.Unlock()
		return attemptResult{}, ferr
	}
	if err := ctx.Err(); err != nil {
		release()
		s.mu.Unlock()
		return attemptResult{}, err
	}
	// Message seqs are allocated in fn, before the commit order is known.
	// Keys of one queue must be committed in increasing order (a reader
	// that has seen seq n must never later find a new message below n), so
	// an attempt that lost that race runs again with fresh seqs.
	for q, minSeq := range t.queues {
		if minSeq <= s.queueLast[q] {
			release()
			s.mu.Unlock()
			return attemptResult{outcome: outcomeConflict}, nil
		}
	}
	if t.maxSeq > s.maxSeq {
		s.maxSeq = t.maxSeq
		if err := batch.Set(msgSeqKey(), binary.BigEndian.AppendUint64(nil, s.maxSeq), nil); err != nil {
			release()
			s.mu.Unlock()
			return attemptResult{}, err
		}
	}
	for q, maxSeq := range t.queueMax {
		s.queueLast[q] = maxSeq
	}
	s.last++
	num := s.last
	writes := make([]string, 0, len(t.writes))
	for k := range t.writes {
		writes = append(writes, k)
	}
	s.commits = append(s.commits, commitRecord{num: num, writes: writes})
	// Before Pebble shows the new values (readcache.go's invariant).
	s.rcache.invalidate(t.writes)
	// Handing the batch to Pebble under mu makes Pebble's sequence order
	// equal to our commit numbers. ApplyNoSyncWait returns once the batch
	// is in the WAL buffer and the memtable; the fsync is awaited below,
	// outside mu, so concurrent commits share one WAL sync.
	err := s.db.ApplyNoSyncWait(batch, pebble.Sync)
	release()
	s.mu.Unlock()
	if err == nil {
		err = batch.SyncWait()
	}
	s.mu.Lock()
	s.markDone(num)
	s.mu.Unlock()
	if err != nil {
		s.log.Error("pebblestore: commit failed", "err", err)
		return attemptResult{}, fmt.Errorf("pebblestore: commit: %w", err)
	}
	s.commitsN.Add(1)
	s.queueCommitted(t, num)
	s.signal(t.queues)
	return attemptResult{}, nil
}

// conflictWith returns the highest number of a commit after start whose
// writes intersect t's reads, writes or read ranges, or 0. A lease commit
// (not synced by design) numbered <= applied was in Pebble before t began,
// so t read its writes: no conflict (else every Ack right after its Lease
// would rerun while other commits sync). Caller holds mu.
func (s *Store) conflictWith(t *tx, start, applied uint64) uint64 {
	i := sort.Search(len(s.commits), func(i int) bool { return s.commits[i].num > start })
	var found uint64
	for _, c := range s.commits[i:] {
		if c.lease && c.num <= applied {
			continue
		}
		if t.touches(c.writes) {
			found = c.num
		}
	}
	return found
}

// markDone records that commit num returned from its sync and advances the
// durable watermark over every contiguous finished number. Caller holds mu.
func (s *Store) markDone(num uint64) {
	s.doneAbove[num] = struct{}{}
	moved := false
	for {
		if _, ok := s.doneAbove[s.durable+1]; !ok {
			break
		}
		delete(s.doneAbove, s.durable+1)
		s.durable++
		moved = true
	}
	if moved {
		close(s.advanced)
		s.advanced = make(chan struct{})
		s.prune()
	}
}

// prune drops commit records no attempt can need: an attempt validates
// against commits numbered above its start, and new attempts start at
// durable. Caller holds mu.
func (s *Store) prune() {
	keep := s.durable
	for start := range s.active {
		if start < keep {
			keep = start
		}
	}
	i := sort.Search(len(s.commits), func(i int) bool { return s.commits[i].num > keep })
	// The survivors are copied into a new array, never shifted in place:
	// a View reads a window of the old one without mu. Copying only once
	// at least half the log is prunable keeps that to one allocation per
	// so many commits instead of one per commit; the records left behind
	// meanwhile are skipped by conflictWith's search.
	if i > 0 && 2*i >= len(s.commits) {
		s.commits = append(s.commits[:0:0], s.commits[i:]...)
	}
}

// pebbleLogger sends Pebble's log lines to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by Pebble on unrecoverable corruption; it must not
// return, so it panics after logging.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}

var _ storage.Store = (*Store)(nil)
var _ io.Closer = (*Store)(nil)
