package pebblestore

import "sync"

// Bounds of the read cache: few entries, small values. What it is for is
// the handful of records that nearly every write reads and almost none
// writes (a bucket record, a bucket's notification configuration, often
// absent); a larger cache would only hold object records that the next
// write of their key invalidates anyway.
const (
	readCacheEntries  = 1024
	readCacheMaxValue = 4 << 10
)

// readCache holds, for some domain keys, their value in the latest state
// handed to Pebble (every commit numbered <= Store.last), or that they are
// absent there. Update attempts read through it, so that a transaction
// that reads the same rarely written keys as every other (PutObject reads
// its bucket and the bucket's notification configuration) does not search
// the memtables for them each time.
//
// Invariant: an entry for k equals what a Pebble read of k in the latest
// applied state returns. It is kept by two rules, both under Store.mu:
//
//   - a commit invalidates every key it writes before its batch is handed
//     to Pebble (attempt), so no state where k changed has an entry made
//     before the change;
//   - an entry is added only by an attempt that passed validation: no
//     commit numbered after its start wrote the key, so the value it read
//     is the key's value at its start, which is still the latest applied
//     one (every commit after the start is either validated against or
//     not yet numbered); and never for a key the attempt itself writes.
//
// A hit therefore returns exactly what batch.Get would have returned at
// that moment, and the read is still recorded for validation, so the
// serializability argument in doc.go is unchanged. Only Update attempts use
// it: a View must not see a commit that is not yet durable, and an entry
// may come from one (an Update that reads it conflicts with that commit at
// validation, as it would have by reading Pebble). Keys starting with
// storage.ReservedPrefix are never cached: Lease writes those without
// going through attempt.
type readCache struct {
	mu sync.RWMutex
	m  map[string]cachedValue
}

type cachedValue struct {
	v     []byte // nil when absent
	found bool
}

// get returns the cached value of key and whether there was an entry.
func (c *readCache) get(key []byte) (cachedValue, bool) {
	c.mu.RLock()
	e, ok := c.m[string(key)]
	c.mu.RUnlock()
	return e, ok
}

// fill adds entries; the caller holds Store.mu and has validated them.
func (c *readCache) fill(reads []cacheFill, writes map[string]struct{}) {
	if len(reads) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reads {
		if _, own := writes[r.key]; own {
			continue
		}
		if c.m == nil || len(c.m) >= readCacheEntries {
			// Starting over is simpler than an eviction order, and the
			// few hot keys are back after one read each.
			c.m = make(map[string]cachedValue, 64)
		}
		c.m[r.key] = r.val
	}
}

// invalidate drops the entries of keys a commit writes; the caller holds
// Store.mu and has not yet handed the commit to Pebble.
func (c *readCache) invalidate(writes map[string]struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) == 0 {
		return
	}
	for k := range writes {
		delete(c.m, k)
	}
}

// cacheFill is a value an Update attempt read from Pebble, to be cached if
// the attempt validates.
type cacheFill struct {
	key string
	val cachedValue
}
