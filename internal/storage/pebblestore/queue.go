package pebblestore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"sluice/internal/storage"
)

// msgRecord is the stored value of a queue message (queuerecord.go: a
// binary form; records written before it are JSON, whose layout the
// embedded storage.Message and the tags below keep readable). The lease
// fields are zero until the first lease.
type msgRecord struct {
	storage.Message
	// ReceiveCount counts leases; Gen is the generation of the latest
	// lease (receipts name it), FirstLeased when the first one began.
	ReceiveCount int       `json:",omitempty"`
	Gen          uint64    `json:",omitempty"`
	FirstLeased  time.Time `json:",omitzero"`
}

// leaseRetries bounds how often Lease re-reads its messages after a
// concurrent Update changed one of them (an Ack or Extend racing the
// expiry of a lease); each retry starts after that commit.
const leaseRetries = 20

var (
	errBadMax        = errors.New("pebblestore: lease max must be 1 or more")
	errBadVisibility = errors.New("pebblestore: lease visibility must not be negative")
)

// Receipts: base64url (no padding) of seq(8) gen(8) check(4), where check
// is the CRC-32C of the queue name and the first 16 bytes. The check makes
// validation cheap and catches malformed, truncated and other queues'
// receipts (ErrInvalidReceipt) without a read; it is not a secret (callers
// are authenticated elsewhere).
const receiptLen = 27 // base64.RawURLEncoding.EncodedLen(20)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func receiptCheck(queue string, b []byte) uint32 {
	c := crc32.Update(0, castagnoli, []byte(queue))
	return crc32.Update(c, castagnoli, b)
}

func makeReceipt(queue string, seq, gen uint64) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], gen)
	binary.BigEndian.PutUint32(b[16:], receiptCheck(queue, b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func parseReceipt(queue, receipt string) (seq, gen uint64, ok bool) {
	if len(receipt) != receiptLen {
		return 0, 0, false
	}
	var b [20]byte
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(receipt)); err != nil || n != 20 {
		return 0, 0, false
	}
	if binary.BigEndian.Uint32(b[16:]) != receiptCheck(queue, b[:16]) {
		return 0, 0, false
	}
	seq, gen = binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:])
	return seq, gen, gen != 0
}

// Queue-index changes a transaction makes, applied after its commit is
// durable (queueCommitted).
type opKind uint8

const (
	opInsert opKind = iota // Enqueue, Move into a queue
	opUpdate               // Extend
	opRemove               // Ack, Move out of a queue
	opPurge
)

type queueOp struct {
	queue  string
	kind   opKind
	seq    uint64
	at     int64 // visible-at, unix nanos (0: at once)
	leased bool
}

// txQueue is a transaction's queue state (a field of tx).
type txQueue struct {
	ops []queueOp
	// wake names queues to signal that are not in tx.queues: a message
	// released at once by Extend.
	wake map[string]uint64
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// trackEnqueue does the bookkeeping of a new message key seq in queue:
// the per-queue seq order check and the message counter (see commit), the
// wake-up, and the index insert.
func (t *tx) trackEnqueue(queue string, seq uint64, visibleAt time.Time, leased bool) {
	if t.queues == nil {
		t.queues = map[string]uint64{}
		t.queueMax = map[string]uint64{}
	}
	if cur, ok := t.queues[queue]; !ok || seq < cur {
		t.queues[queue] = seq
	}
	if seq > t.queueMax[queue] {
		t.queueMax[queue] = seq
	}
	if seq > t.maxSeq {
		t.maxSeq = seq
	}
	t.q.ops = append(t.q.ops, queueOp{queue: queue, kind: opInsert, seq: seq, at: unixNano(visibleAt), leased: leased})
}

// leased reads the message a receipt names and checks that the receipt is
// its latest. With running, the lease must also not have run out.
func (t *tx) leased(queue, receipt string, running bool) (*msgRecord, uint64, []byte, error) {
	if err := t.checkWritable(nil); err != nil {
		return nil, 0, nil, err
	}
	if err := checkQueue(queue); err != nil {
		return nil, 0, nil, err
	}
	seq, gen, ok := parseReceipt(queue, receipt)
	if !ok {
		return nil, 0, nil, storage.ErrInvalidReceipt
	}
	key := messageKey(queue, seq)
	v, err := t.get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, nil, storage.ErrStaleReceipt
	}
	if err != nil {
		return nil, 0, nil, err
	}
	rec := new(msgRecord)
	if err := decodeMsg(v, rec); err != nil {
		return nil, 0, nil, fmt.Errorf("pebblestore: decode message %x: %w", key, err)
	}
	if rec.Gen != gen {
		return nil, 0, nil, storage.ErrStaleReceipt
	}
	if running && !rec.VisibleAt.After(t.s.clock.Now()) {
		return nil, 0, nil, storage.ErrStaleReceipt
	}
	return rec, seq, key, nil
}

// Ack implements storage.QueueTx.
func (t *tx) Ack(queue, receipt string) error {
	_, seq, key, err := t.leased(queue, receipt, false)
	if err != nil {
		return err
	}
	if err := t.del(key); err != nil {
		return err
	}
	t.q.ops = append(t.q.ops, queueOp{queue: queue, kind: opRemove, seq: seq})
	return nil
}

// Extend implements storage.QueueTx.
func (t *tx) Extend(queue, receipt string, visibleAt time.Time) error {
	rec, seq, key, err := t.leased(queue, receipt, true)
	if err != nil {
		return err
	}
	rec.VisibleAt = visibleAt.UTC()
	if err := t.set(key, encodeMsg(rec)); err != nil {
		return err
	}
	t.q.ops = append(t.q.ops, queueOp{queue: queue, kind: opUpdate, seq: seq, at: unixNano(rec.VisibleAt), leased: true})
	if !visibleAt.After(t.s.clock.Now()) {
		if t.q.wake == nil {
			t.q.wake = map[string]uint64{}
		}
		t.q.wake[queue] = seq
	}
	return nil
}

// Move implements storage.QueueTx. The message gets a new key (seq) in
// dest, so that dest's keys stay in commit order (see doc.go), and keeps
// its id, which the record carries.
func (t *tx) Move(queue, receipt, dest string) error {
	if err := checkQueue(dest); err != nil {
		return err
	}
	rec, seq, key, err := t.leased(queue, receipt, false)
	if err != nil {
		return err
	}
	if err := t.del(key); err != nil {
		return err
	}
	t.q.ops = append(t.q.ops, queueOp{queue: queue, kind: opRemove, seq: seq})
	rec.VisibleAt = time.Time{}
	nseq := t.s.nextSeq.Add(1)
	if err := t.set(messageKey(dest, nseq), encodeMsg(rec)); err != nil {
		return err
	}
	t.trackEnqueue(dest, nseq, time.Time{}, rec.ReceiveCount > 0)
	return nil
}

// Purge implements storage.QueueTx. It reads the queue's whole key range,
// so it conflicts with (and thus orders against) every concurrent commit
// that enqueues into, leases from or acknowledges in the queue.
func (t *tx) Purge(queue string) (int, error) {
	if err := t.checkWritable(nil); err != nil {
		return 0, err
	}
	if err := checkQueue(queue); err != nil {
		return 0, err
	}
	lower, upper := queueRange(queue)
	it, err := t.newIter(lower, upper)
	if err != nil {
		return 0, err
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := t.del(k); err != nil {
			return 0, err
		}
	}
	t.q.ops = append(t.q.ops, queueOp{queue: queue, kind: opPurge})
	return len(keys), nil
}

// queueCommitted applies the queue changes of commit num, which is
// durable, to the index and wakes the queues Extend released. It runs
// before signal, so a woken receiver finds the new messages in the index.
func (s *Store) queueCommitted(t *tx, num uint64) {
	if len(t.q.ops) == 0 {
		return
	}
	now := s.clock.Now().UnixNano()
	var qi *queueIndex
	for i, op := range t.q.ops {
		if i == 0 || op.queue != t.q.ops[i-1].queue {
			if qi != nil {
				qi.mu.Unlock()
			}
			qi = s.qidx.get(op.queue, true)
			qi.mu.Lock()
		}
		switch op.kind {
		case opInsert:
			qi.insert(op.seq, op.at, op.leased, num, now)
		case opUpdate:
			qi.update(op.seq, op.at, op.leased, num, now)
		case opRemove:
			qi.remove(op.seq, num)
		case opPurge:
			qi.purge(num)
		}
	}
	qi.mu.Unlock()
	s.signal(t.q.wake)
}

// Stats implements storage.Queues.
func (s *Store) Stats(queue string) storage.QueueStats {
	qi := s.qidx.get(queue, false)
	if qi == nil {
		return storage.QueueStats{}
	}
	now := s.clock.Now().UnixNano()
	qi.mu.Lock()
	defer qi.mu.Unlock()
	qi.settle(now)
	st := storage.QueueStats{
		Visible:  qi.counts[stVisible],
		InFlight: qi.counts[stInFlight],
		Delayed:  qi.counts[stDelayed],
	}
	if nv := qi.nextVisible(); nv != 0 {
		st.NextVisible = time.Unix(0, nv).UTC()
	}
	return st
}

// leaseItem is one message Lease took from the index, with what it found.
type leaseItem struct {
	picked
	key    []byte
	result leaseResult
	at     int64 // leaseNotVisible: the record's visible-at
	leased bool  // leaseNotVisible: whether it was ever leased
}

type leaseResult uint8

const (
	leaseOK         leaseResult = iota
	leaseGone                   // the record is gone (acknowledged, moved, purged)
	leaseExpired                // deleted for retention
	leaseNotVisible             // a commit not yet in the index hid it again
)

// Lease implements storage.Queues; see doc.go, "Queue leases", for how it
// commits and what survives a crash.
func (s *Store) Lease(ctx context.Context, queue string, opts storage.LeaseOptions) ([]storage.Leased, error) {
	if err := checkQueue(queue); err != nil {
		return nil, err
	}
	if opts.Max < 1 {
		return nil, errBadMax
	}
	if opts.Visibility < 0 {
		return nil, errBadVisibility
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, storage.ErrClosed
	}
	qi := s.qidx.get(queue, false)
	if qi == nil {
		return nil, nil
	}
	qi.leaseMu.Lock()
	defer qi.leaseMu.Unlock()
	// Like every Update attempt, a lease holds gate shared, so that an
	// attempt running alone (exclusive) cannot be conflicted by it.
	s.gate.RLock()
	defer s.gate.RUnlock()

	nowT := s.clock.Now()
	now := nowT.UnixNano()
	deadlineT := nowT.Add(opts.Visibility).UTC()
	deadline := deadlineT.UnixNano()
	expireBefore := unixNano(opts.ExpireBefore)

	var items []leaseItem
	take := func(n int) int {
		qi.mu.Lock()
		qi.settle(now)
		ps := qi.take(n, deadline)
		qi.mu.Unlock()
		for _, p := range ps {
			items = append(items, leaseItem{picked: p, key: messageKey(queue, p.seq)})
		}
		return len(ps)
	}
	giveBack := func() {
		ps := make([]picked, len(items))
		for i := range items {
			ps[i] = items[i].picked
		}
		qi.mu.Lock()
		qi.untake(ps, now)
		qi.mu.Unlock()
	}
	if take(opts.Max) == 0 {
		return nil, nil
	}

	for attempt := 0; ; attempt++ {
		if attempt == leaseRetries {
			giveBack()
			return nil, storage.ErrConflict
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			giveBack()
			return nil, storage.ErrClosed
		}
		s.ops.Add(1)
		// Reads see every commit numbered <= start (each was applied to
		// Pebble under mu before last moved past it); commits after start
		// are checked at validation.
		start := s.last
		s.active[start]++
		s.mu.Unlock()

		out, batch, err := s.leaseRead(queue, &items, opts, now, deadlineT, expireBefore, take)
		if err != nil {
			s.mu.Lock()
			s.leaseRelease(start)
			s.mu.Unlock()
			s.ops.Done()
			giveBack()
			return nil, err
		}
		num, conflict, err := s.leaseCommit(batch, items, start, opts.Durable)
		batch.Close()
		s.ops.Done()
		if conflict {
			s.conflictsN.Add(1)
			continue
		}
		if err != nil {
			giveBack()
			return nil, err
		}
		qi.mu.Lock()
		for _, it := range items {
			switch it.result {
			case leaseOK:
				if e := qi.entries[it.seq]; e != nil && e.num < num {
					e.num = num
					qi.place(it.seq, e, deadline, true, now)
				}
			case leaseGone, leaseExpired:
				qi.remove(it.seq, num)
			case leaseNotVisible:
				if e := qi.entries[it.seq]; e != nil && e.leasing {
					qi.place(it.seq, e, it.at, it.leased, now)
				}
			}
		}
		qi.mu.Unlock()
		return out, nil
	}
}

// leaseRead reads the records of the taken messages and builds the lease
// batch; when some are gone, expired or not visible, it takes more until
// opts.Max are leased or none is visible.
//
// The records are read through one iterator over the queue's keys, not a
// Get each: the taken seqs mostly ascend and lie close together (oldest
// first), so after the first seek the iterator steps to the next record
// instead of searching every level of the LSM again. An iterator reads
// the state as of its creation, which holds every message taken before
// it (the index learns of a message only after its commit was applied);
// a message take finds later may be newer than that, so it is read with
// Get.
func (s *Store) leaseRead(queue string, items *[]leaseItem, opts storage.LeaseOptions, now int64, deadline time.Time, expireBefore int64, take func(int) int) ([]storage.Leased, *pebble.Batch, error) {
	lower, upper := queueRange(queue)
	iter, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, fmt.Errorf("pebblestore: lease read: %w", err)
	}
	defer iter.Close()
	inIter := len(*items)
	batch := s.db.NewBatch()
	var out []storage.Leased
	for i := 0; ; i++ {
		if i == len(*items) {
			if len(out) == opts.Max || take(opts.Max-len(out)) == 0 {
				return out, batch, nil
			}
		}
		it := &(*items)[i]
		var (
			v      []byte
			closer io.Closer
			err    error
		)
		if i < inIter {
			if iter.SeekGE(it.key) && bytes.Equal(iter.Key(), it.key) {
				v, err = iter.ValueAndErr()
			} else if err = iter.Error(); err == nil {
				err = pebble.ErrNotFound
			}
		} else {
			v, closer, err = s.db.Get(it.key)
		}
		if errors.Is(err, pebble.ErrNotFound) {
			it.result = leaseGone
			continue
		}
		if err != nil {
			batch.Close()
			return nil, nil, fmt.Errorf("pebblestore: lease read: %w", err)
		}
		var rec msgRecord
		err = decodeMsg(v, &rec)
		if closer != nil {
			closer.Close()
		}
		if err != nil {
			batch.Close()
			return nil, nil, fmt.Errorf("pebblestore: decode message %x: %w", it.key, err)
		}
		if expireBefore != 0 && rec.EnqueuedAt.UnixNano() < expireBefore {
			it.result = leaseExpired
			if err := batch.Delete(it.key, nil); err != nil {
				batch.Close()
				return nil, nil, err
			}
			continue
		}
		if at := unixNano(rec.VisibleAt); at > now {
			it.result, it.at, it.leased = leaseNotVisible, at, rec.ReceiveCount > 0
			continue
		}
		it.result = leaseOK
		rec.ReceiveCount++
		rec.Gen++
		if rec.FirstLeased.IsZero() {
			rec.FirstLeased = time.Unix(0, now).UTC()
		}
		rec.VisibleAt = deadline
		if err := batch.Set(it.key, encodeMsg(&rec), nil); err != nil {
			batch.Close()
			return nil, nil, err
		}
		out = append(out, storage.Leased{
			Message:      rec.Message,
			Receipt:      makeReceipt(queue, it.seq, rec.Gen),
			ReceiveCount: rec.ReceiveCount,
			FirstLeased:  rec.FirstLeased,
		})
	}
}

// leaseCommit validates the lease against the commits after start and
// commits it: with durable as a synced commit, else applied without a
// sync (it rides on the next synced commit, the WAL being one log).
func (s *Store) leaseCommit(batch *pebble.Batch, items []leaseItem, start uint64, durable bool) (num uint64, conflict bool, err error) {
	s.mu.Lock()
	i := sort.Search(len(s.commits), func(i int) bool { return s.commits[i].num > start })
	for _, c := range s.commits[i:] {
		for _, k := range c.writes {
			for j := range items {
				if string(items[j].key) == k {
					s.leaseRelease(start)
					s.mu.Unlock()
					return 0, true, nil
				}
			}
		}
	}
	if batch.Empty() {
		s.leaseRelease(start)
		num = s.last
		s.mu.Unlock()
		return num, false, nil
	}
	s.last++
	num = s.last
	var writes []string
	for _, it := range items {
		if it.result == leaseOK || it.result == leaseExpired {
			writes = append(writes, string(it.key))
		}
	}
	s.commits = append(s.commits, commitRecord{num: num, writes: writes, lease: !durable})
	if durable {
		err = s.db.ApplyNoSyncWait(batch, pebble.Sync)
	} else {
		err = s.db.Apply(batch, pebble.NoSync)
	}
	s.leaseRelease(start)
	if !durable || err != nil {
		s.markDone(num)
		s.mu.Unlock()
	} else {
		s.mu.Unlock()
		err = batch.SyncWait()
		s.mu.Lock()
		s.markDone(num)
		s.mu.Unlock()
	}
	if err != nil {
		s.log.Error("pebblestore: lease commit failed", "err", err)
		return 0, false, fmt.Errorf("pebblestore: lease commit: %w", err)
	}
	return num, false, nil
}

// leaseRelease ends a lease attempt's registration. Caller holds mu.
func (s *Store) leaseRelease(start uint64) {
	if s.active[start]--; s.active[start] == 0 {
		delete(s.active, start)
	}
	s.prune()
}

// loadQueues rebuilds the queue index from the message records (Open).
// A message whose lease survived the restart stays in flight until its
// deadline; one leased by a lease the crash lost is visible.
func (s *Store) loadQueues() error {
	lower := []byte{storage.ReservedPrefix, tagQueue}
	upper := []byte{storage.ReservedPrefix, tagQueue + 1}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	now := s.clock.Now().UnixNano()
	var qname string
	var qi *queueIndex
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		nul := bytes.IndexByte(k[2:], 0)
		if nul < 0 || len(k) != 2+nul+1+8 {
			continue
		}
		if qi == nil || string(k[2:2+nul]) != qname {
			qname = string(k[2 : 2+nul])
			qi = s.qidx.get(qname, true)
		}
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		var rec msgRecord
		if err := decodeMsg(v, &rec); err != nil {
			it.Close()
			return fmt.Errorf("pebblestore: decode message %x: %w", k, err)
		}
		qi.insert(seq, unixNano(rec.VisibleAt), rec.ReceiveCount > 0, 0, now)
	}
	return it.Close()
}

var _ storage.Queues = (*Store)(nil)
var _ storage.QueueTx = (*tx)(nil)
