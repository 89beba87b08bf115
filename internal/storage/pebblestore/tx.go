package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"

	"sluice/internal/storage"
)

// reader is what a Pebble indexed batch and a snapshot have in common.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

var errTxDone = errors.New("pebblestore: transaction used after its function returned")

// tx serves both View (batch == nil, no tracking) and Update.
type tx struct {
	s     *Store
	r     reader
	batch *pebble.Batch
	done  bool

	// Conflict tracking (Update only): point keys read and written, and the
	// [lower, upper) ranges of iterators opened (nil upper: unbounded).
	reads  map[string]struct{}
	writes map[string]struct{}
	ranges []keyRange

	// queues maps each queue enqueued into to its smallest seq in this
	// transaction, queueMax to its largest; maxSeq is the largest overall.
	queues   map[string]uint64
	queueMax map[string]uint64
	maxSeq   uint64

	iters []*iterator

	// q holds the transaction's queue-index changes (queue.go).
	q txQueue

	// fills are the domain values this Update attempt read from Pebble,
	// for the read cache once the attempt validates (readcache.go).
	fills []cacheFill

	// View only: the commits in the snapshot that were not durable when it
	// was taken (see Store.View), and the highest of them already waited
	// for. ctx bounds those waits.
	ctx     context.Context
	pending []commitRecord
	waited  uint64
}

// waitKey makes a View read of key safe: if a commit in the snapshot that
// was not yet durable wrote key, it waits until that commit is durable.
func (t *tx) waitKey(key []byte) error {
	return t.waitFor(func(k string) bool { return k == string(key) })
}

// waitRange does the same for a read of every key in [lower, upper) (nil
// upper: unbounded).
func (t *tx) waitRange(lower, upper []byte) error {
	return t.waitFor(func(k string) bool {
		return k >= string(lower) && (upper == nil || k < string(upper))
	})
}

func (t *tx) waitFor(match func(k string) bool) error {
	var need uint64
	for i := len(t.pending) - 1; i >= 0; i-- {
		c := t.pending[i]
		if c.num <= t.waited || c.num <= need {
			break
		}
		for _, k := range c.writes {
			if match(k) {
				need = c.num
				break
			}
		}
	}
	if need == 0 {
		return nil
	}
	if err := t.s.waitDurable(t.ctx, need); err != nil {
		return err
	}
	t.waited = need
	if need == t.pending[len(t.pending)-1].num {
		t.pending = nil // everything in the snapshot is durable now
	}
	return nil
}

type keyRange struct{ lower, upper []byte }

// touches reports whether any of keys was read or written by t or lies in
// one of its read ranges.
func (t *tx) touches(keys []string) bool {
	for _, k := range keys {
		if _, ok := t.reads[k]; ok {
			return true
		}
		if _, ok := t.writes[k]; ok {
			return true
		}
		for _, r := range t.ranges {
			if k >= string(r.lower) && (r.upper == nil || k < string(r.upper)) {
				return true
			}
		}
	}
	return false
}

func (t *tx) closeIters() {
	for _, it := range t.iters {
		it.Close()
	}
	t.iters = nil
}

func (t *tx) Get(key []byte) ([]byte, error) {
	if len(key) > 0 && key[0] == storage.ReservedPrefix {
		return nil, storage.ErrReservedKey
	}
	if t.batch != nil && !t.done {
		return t.getCached(key)
	}
	return t.get(key)
}

// getCached is an Update attempt's read of a domain key: from the store's
// read cache when it holds the key (the value Pebble would return, see
// readcache.go), else from Pebble, noting the value for the cache. The
// read is recorded for validation either way. A key this attempt wrote is
// read from its batch.
func (t *tx) getCached(key []byte) ([]byte, error) {
	k := string(key)
	t.reads[k] = struct{}{}
	if _, own := t.writes[k]; own {
		return t.read(key)
	}
	if e, ok := t.s.rcache.get(key); ok {
		if !e.found {
			return nil, storage.ErrNotFound
		}
		return append([]byte{}, e.v...), nil
	}
	v, err := t.read(key)
	switch {
	case err == nil && len(v) <= readCacheMaxValue:
		t.fills = append(t.fills, cacheFill{key: k, val: cachedValue{v: bytes.Clone(v), found: true}})
	case errors.Is(err, storage.ErrNotFound):
		t.fills = append(t.fills, cacheFill{key: k})
	}
	return v, err
}

func (t *tx) get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxDone
	}
	if t.reads != nil {
		t.reads[string(key)] = struct{}{}
	}
	return t.read(key)
}

// read reads key from the snapshot or batch (after a View's durability
// wait) and returns a copy the caller owns.
func (t *tx) read(key []byte) ([]byte, error) {
	if t.pending != nil {
		if err := t.waitKey(key); err != nil {
			return nil, err
		}
	}
	r := t.r
	if t.batch != nil {
		if _, own := t.writes[string(key)]; !own {
			// Every write of the attempt goes through set or del, so a
			// key it did not write is not in its batch, and Batch.Get of
			// it is DB.Get (same visible sequence number) plus a search
			// of the batch that allocates an iterator on every call.
			r = t.s.db
		}
	}
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	return out, closer.Close()
}

// NewIterator clamps lower to the first domain key so that domain scans
// never see the engine's reserved keys.
func (t *tx) NewIterator(lower, upper []byte) (storage.Iterator, error) {
	if bytes.Compare(lower, domainLower) < 0 {
		lower = domainLower
	}
	return t.newIter(lower, upper)
}

func (t *tx) newIter(lower, upper []byte) (*iterator, error) {
	if t.done {
		return nil, errTxDone
	}
	lower = bytes.Clone(lower)
	if upper != nil {
		upper = bytes.Clone(upper)
	}
	if t.reads != nil {
		t.ranges = append(t.ranges, keyRange{lower, upper})
	}
	if t.pending != nil {
		if err := t.waitRange(lower, upper); err != nil {
			return nil, err
		}
	}
	it := &iterator{lower: lower, upper: upper}
	if upper != nil && bytes.Compare(lower, upper) >= 0 {
		it.empty = true
	} else {
		pit, err := t.r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return nil, err
		}
		it.it = pit
	}
	t.iters = append(t.iters, it)
	return it, nil
}

func (t *tx) BlobReferenced(id storage.BlobID) (bool, error) {
	if err := checkBlobID(id); err != nil {
		return false, err
	}
	lower, upper := refRange(id)
	it, err := t.newIter(lower, upper)
	if err != nil {
		return false, err
	}
	found := it.First()
	return found, it.Close()
}

func (t *tx) Messages(queue string, fn func(storage.Message) bool) error {
	if err := checkQueue(queue); err != nil {
		return err
	}
	lower, upper := queueRange(queue)
	it, err := t.newIter(lower, upper)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return err
		}
		var rec msgRecord
		if err := decodeMsg(v, &rec); err != nil {
			it.Close()
			return fmt.Errorf("pebblestore: decode message %x: %w", it.Key(), err)
		}
		if !fn(rec.Message) {
			break
		}
	}
	return it.Close()
}

func (t *tx) checkWritable(key []byte) error {
	if t.done {
		return errTxDone
	}
	if t.batch == nil {
		return errors.New("pebblestore: write in a read-only transaction")
	}
	if len(key) > 0 && key[0] == storage.ReservedPrefix {
		return storage.ErrReservedKey
	}
	return nil
}

func (t *tx) Set(key, value []byte) error {
	if err := t.checkWritable(key); err != nil {
		return err
	}
	return t.set(key, value)
}

func (t *tx) set(key, value []byte) error {
	t.writes[string(key)] = struct{}{}
	return t.batch.Set(key, value, nil)
}

func (t *tx) Delete(key []byte) error {
	if err := t.checkWritable(key); err != nil {
		return err
	}
	return t.del(key)
}

func (t *tx) del(key []byte) error {
	t.writes[string(key)] = struct{}{}
	return t.batch.Delete(key, nil)
}

func (t *tx) Enqueue(queue string, m storage.Message) (string, error) {
	if err := t.checkWritable(nil); err != nil {
		return "", err
	}
	if err := checkQueue(queue); err != nil {
		return "", err
	}
	seq := t.s.nextSeq.Add(1)
	m.ID = messageID(seq)
	m.EnqueuedAt = t.s.clock.Now().UTC()
	if err := t.set(messageKey(queue, seq), encodeMsg(&msgRecord{Message: m})); err != nil {
		return "", err
	}
	t.trackEnqueue(queue, seq, m.VisibleAt, false)
	return m.ID, nil
}

func (t *tx) RefBlob(id storage.BlobID, owner []byte) error {
	if err := t.checkWritable(nil); err != nil {
		return err
	}
	if err := checkBlobID(id); err != nil {
		return err
	}
	return t.set(refKey(id, owner), nil)
}

func (t *tx) UnrefBlob(id storage.BlobID, owner []byte) error {
	if err := t.checkWritable(nil); err != nil {
		return err
	}
	if err := checkBlobID(id); err != nil {
		return err
	}
	return t.del(refKey(id, owner))
}

// iterator adapts a Pebble iterator (or an empty range) to storage.Iterator.
type iterator struct {
	it           *pebble.Iterator
	lower, upper []byte
	empty        bool
	closed       bool
	err          error
}

func (i *iterator) First() bool {
	if i.empty || i.closed {
		return false
	}
	return i.it.First()
}

func (i *iterator) SeekGE(key []byte) bool {
	if i.empty || i.closed {
		return false
	}
	if bytes.Compare(key, i.lower) < 0 {
		key = i.lower
	}
	return i.it.SeekGE(key)
}

func (i *iterator) Next() bool {
	if i.empty || i.closed {
		return false
	}
	return i.it.Next()
}

func (i *iterator) Valid() bool {
	if i.empty || i.closed {
		return false
	}
	return i.it.Valid()
}

func (i *iterator) Key() []byte {
	if !i.Valid() {
		return nil
	}
	return i.it.Key()
}

func (i *iterator) Value() ([]byte, error) {
	if !i.Valid() {
		return nil, errors.New("pebblestore: iterator is not positioned on a key")
	}
	return i.it.ValueAndErr()
}

func (i *iterator) Close() error {
	if i.closed {
		return i.err
	}
	i.closed = true
	if i.it != nil {
		i.err = i.it.Close()
	}
	return i.err
}
