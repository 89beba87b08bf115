package function

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"sluice/internal/storage"
)

// codeCache keeps each code package unpacked once, in a directory that
// every instance running that package uses as its task root
// (LAMBDA_TASK_ROOT). Unpacking is most of a cold start (an 8 MiB Go
// bootstrap inflates in 70 to 120 ms on a shared core, against a few ms
// for the process to start: issue 7's benchmark), and Lambda's /var/task
// is read-only, so instances need no copy of their own; each still has
// its own /tmp. The caveat: an instance that writes into its task root
// (which fails on Lambda) is seen by the other instances of that package.
//
// Entries are keyed by blob id (a package's blob is immutable). An entry
// in use is never removed; unused ones are kept, up to keepUnused, so that
// a function's next cold start (after an idle stop, or a new instance
// under load) finds its package ready, and the least recently released
// beyond that are removed.
type codeCache struct {
	root string
	mu   sync.Mutex
	m    map[storage.BlobID]*codeDir
	seq  int64 // release order, for eviction
}

type codeDir struct {
	ready    chan struct{} // closed when dir and err are set
	dir      string
	err      error
	refs     int
	released int64 // seq at the last release; guarded by codeCache.mu
}

// keepUnused bounds the unused unpacked packages kept on disk.
const keepUnused = 8

func newCodeCache(root string) *codeCache {
	return &codeCache{root: root, m: map[storage.BlobID]*codeDir{}}
}

// acquire returns the directory holding blob's package unpacked, unpacking
// it if no instance did yet (concurrent callers wait for one unpack), and
// the function that gives it back. Errors are unpack's (errUnpack for an
// unsafe package) and the blob store's.
func (c *codeCache) acquire(blobID storage.BlobID, open func() (storage.Blob, error)) (string, func(), error) {
	c.mu.Lock()
	e := c.m[blobID]
	if e == nil {
		e = &codeDir{ready: make(chan struct{}), refs: 1}
		c.m[blobID] = e
		c.mu.Unlock()
		e.dir, e.err = c.unpack(blobID, open)
		close(e.ready)
		if e.err != nil {
			c.mu.Lock()
			if c.m[blobID] == e {
				delete(c.m, blobID)
			}
			c.mu.Unlock()
			return "", nil, e.err
		}
	} else {
		e.refs++
		c.mu.Unlock()
		<-e.ready
		if e.err != nil {
			return "", nil, e.err
		}
	}
	var once sync.Once
	return e.dir, func() { once.Do(func() { c.release(e) }) }, nil
}

func (c *codeCache) unpack(blobID storage.BlobID, open func() (storage.Blob, error)) (string, error) {
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(c.root, "code-")
	if err != nil {
		return "", err
	}
	blob, err := open()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("function: open code %s: %w", blobID, err)
	}
	err = unpack(blob, dir)
	blob.Close()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func (c *codeCache) release(e *codeDir) {
	c.mu.Lock()
	e.refs--
	c.seq++
	e.released = c.seq
	var evict []string
	for {
		var oldest storage.BlobID
		unused := 0
		for id, x := range c.m {
			if x.refs == 0 {
				unused++
				if oldest == "" || x.released < c.m[oldest].released {
					oldest = id
				}
			}
		}
		if unused <= keepUnused {
			break
		}
		evict = append(evict, c.m[oldest].dir)
		delete(c.m, oldest)
	}
	c.mu.Unlock()
	for _, dir := range evict {
		_ = os.RemoveAll(dir)
	}
}

// prepare unpacks blob's package ahead of the first instance (at
// CreateFunction and UpdateFunctionCode, as Lambda prepares a function
// before it is Active), so a new function's first Invoke does not pay for
// it. A package that cannot be unpacked is left for start to report.
func (c *codeCache) prepare(blobID storage.BlobID, open func() (storage.Blob, error)) {
	if _, release, err := c.acquire(blobID, open); err == nil {
		release()
	}
}

// close removes every unpacked package (the service is stopping and its
// instances are gone).
func (c *codeCache) close() error {
	c.mu.Lock()
	c.m = map[storage.BlobID]*codeDir{}
	c.mu.Unlock()
	err := os.RemoveAll(c.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func codeCacheDir(runtimeDir string) string { return filepath.Join(runtimeDir, "code") }

// prepareCode unpacks a function's package ahead of its first instance;
// see codeCache.prepare.
func (s *Service) prepareCode(blobID storage.BlobID) {
	if s.code != nil {
		s.code.prepare(blobID, func() (storage.Blob, error) { return s.blobs.Open(blobID) })
	}
}
