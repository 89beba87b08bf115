package function

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"sluice/internal/storage"
)

// codeCache keeps each code package unpacked once; every instance running
// that package gets its own working directory (LAMBDA_TASK_ROOT) made of
// hard links to it (linkTree). Unpacking is most of a cold start (an
// 8 MiB Go bootstrap inflates in 70 to 120 ms on a shared core, against a
// few ms for the process to start: issue 7's benchmark); linking a tree
// costs a link(2) per file. The caveat: a linked file is the same inode,
// so an instance that rewrites a package file in place (which fails on
// Lambda, whose /var/task is read-only) changes it for later instances of
// that package; creating, renaming or removing files stays its own.
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

// linkTree makes dst a tree of directories of its own holding hard links to
// the files under src (the unpacked package: regular files and
// directories only; unpack refuses links and devices). Where a link
// cannot be made (another filesystem), the file is copied.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("unexpected file %s in an unpacked package", rel)
		}
		if err := os.Link(path, target); err == nil {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
