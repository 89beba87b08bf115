// Package blobstore keeps object bytes as immutable files on a vfs.FS (the
// real disk, or Pebble's crashable in-memory filesystem in crash tests). It
// implements storage.Blobs.
//
// Layout: <Dir>/<first two hex digits of the id>/<id>. An id is 48 lowercase
// hex digits: 128 random bits (crypto/rand, so ids are never reused) followed
// by the 64-bit Unix nanosecond time, from the injected clock, at which the
// write finished. Walk reads the write time from the name rather than from
// the file's modification time because MemFS stamps files with the wall
// clock, not the injected one, and because the time that matters to the
// Sweeper is when the blob became complete, not when its upload began.
//
// Write streams into <Dir>/<sub>/<random>.tmp, syncs the file, renames it to
// its final name and syncs the directory, so a blob is either complete under
// its id or absent. Temporary files left by a crash are removed by Open.
package blobstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
)

const (
	randHex = 32 // hex digits of randomness
	timeHex = 16 // hex digits of write time
	idLen   = randHex + timeHex
	tmpExt  = ".tmp"
	bufSize = 256 << 10
)

// Options configures Open.
type Options struct {
	// Dir is the directory holding the blobs; created if missing.
	Dir string
	// FS is the filesystem; nil means vfs.Default.
	FS vfs.FS
	// Clock stamps write times; nil means clock.Real{}.
	Clock clock.Clock
	// Failpoint, when set, is called with one of the Failpoint* names at
	// the steps of Write, so that crash tests (internal/crashtest) can take
	// a crash image of the filesystem there. Nil in production; it must not
	// call back into the Store.
	Failpoint func(name string)
}

// Failpoint names passed to Options.Failpoint, in the order Write reaches
// them.
const (
	// FailpointWritten: the bytes are written to the temporary file, not
	// synced.
	FailpointWritten = "blobstore.written"
	// FailpointSynced: the temporary file is synced and closed, not yet
	// renamed to its id.
	FailpointSynced = "blobstore.synced"
	// FailpointRenamed: the file has its final name; the directory entry is
	// not synced yet.
	FailpointRenamed = "blobstore.renamed"
	// FailpointDurable: the directory is synced; Write is about to return
	// the id.
	FailpointDurable = "blobstore.durable"
)

// Store is a blob store on a vfs.FS. It implements storage.Blobs.
type Store struct {
	dir   string
	fs    vfs.FS
	clock clock.Clock
	fail  func(name string) // Options.Failpoint, or a no-op
	bufs  sync.Pool         // *[]byte of bufSize: memory does not grow with blob size

	// dirMu serialises creating subdirectories so that the parent is
	// synced once per new subdirectory.
	dirMu sync.Mutex
}

// Open opens the blob store in opts.Dir, creating it if needed, and removes
// temporary files a crash left behind (no write can be in progress in a
// store that is just being opened).
func Open(opts Options) (*Store, error) {
	s := &Store{dir: opts.Dir, fs: opts.FS, clock: opts.Clock, fail: opts.Failpoint}
	if s.fail == nil {
		s.fail = func(string) {}
	}
	if s.fs == nil {
		s.fs = vfs.Default
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	s.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	if _, err := s.fs.Stat(s.dir); err != nil {
		if err := s.fs.MkdirAll(s.dir, 0o755); err != nil {
			return nil, fmt.Errorf("blobstore: create %s: %w", s.dir, err)
		}
		// Make the new directory's entry durable, or a crash could take
		// every blob with it.
		if err := syncDir(s.fs, s.fs.PathDir(s.dir)); err != nil {
			return nil, fmt.Errorf("blobstore: sync parent of %s: %w", s.dir, err)
		}
	}
	subs, err := s.fs.List(s.dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: list %s: %w", s.dir, err)
	}
	for _, sub := range subs {
		if !isSubdir(sub) {
			continue
		}
		names, err := s.fs.List(s.fs.PathJoin(s.dir, sub))
		if err != nil {
			return nil, fmt.Errorf("blobstore: list %s: %w", sub, err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, tmpExt) {
				if err := s.fs.Remove(s.fs.PathJoin(s.dir, sub, name)); err != nil && !notExist(err) {
					return nil, fmt.Errorf("blobstore: remove leftover %s: %w", name, err)
				}
			}
		}
	}
	return s, nil
}

func notExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

func isSubdir(name string) bool { return len(name) == 2 && isHex(name) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// parseID checks that id has this store's form, so that an id from a
// damaged record can never name a path outside the store.
func parseID(id storage.BlobID) (written time.Time, ok bool) {
	if len(id) != idLen || !isHex(string(id)) {
		return time.Time{}, false
	}
	b, _ := hex.DecodeString(string(id[randHex:]))
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), true
}

func (s *Store) path(id storage.BlobID) string {
	return s.fs.PathJoin(s.dir, string(id[:2]), string(id))
}

// ensureSubdir creates dir's subdirectory sub if needed and syncs the parent
// so that the new directory entry is durable before anything in it is.
func (s *Store) ensureSubdir(sub string) error {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if _, err := s.fs.Stat(sub); err == nil {
		return nil
	}
	if err := s.fs.MkdirAll(sub, 0o755); err != nil {
		return err
	}
	return syncDir(s.fs, s.dir)
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// Write implements storage.Blobs.
func (s *Store) Write(ctx context.Context, r io.Reader) (storage.BlobID, int64, error) {
	var rnd [randHex / 2]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", 0, fmt.Errorf("blobstore: random id: %w", err)
	}
	prefix := hex.EncodeToString(rnd[:])
	sub := s.fs.PathJoin(s.dir, prefix[:2])
	if err := s.ensureSubdir(sub); err != nil {
		return "", 0, fmt.Errorf("blobstore: create %s: %w", sub, err)
	}
	tmp := s.fs.PathJoin(sub, prefix+tmpExt)
	f, err := s.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", 0, fmt.Errorf("blobstore: create: %w", err)
	}
	n, err := s.copy(ctx, f, r)
	if err == nil {
		s.fail(FailpointWritten)
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Best effort: a leftover .tmp file is removed by the next Open.
		_ = s.fs.Remove(tmp)
		return "", 0, fmt.Errorf("blobstore: write: %w", err)
	}
	s.fail(FailpointSynced)
	var ts [timeHex / 2]byte
	binary.BigEndian.PutUint64(ts[:], uint64(s.clock.Now().UnixNano()))
	id := storage.BlobID(prefix + hex.EncodeToString(ts[:]))
	if err := s.fs.Rename(tmp, s.path(id)); err != nil {
		_ = s.fs.Remove(tmp)
		return "", 0, fmt.Errorf("blobstore: rename: %w", err)
	}
	s.fail(FailpointRenamed)
	if err := syncDir(s.fs, sub); err != nil {
		// The blob may or may not survive a crash; never hand out its id.
		_ = s.fs.Remove(s.path(id))
		return "", 0, fmt.Errorf("blobstore: sync directory: %w", err)
	}
	s.fail(FailpointDurable)
	return id, n, nil
}

// copy streams r into w with a pooled buffer, checking ctx between chunks.
func (s *Store) copy(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// Open implements storage.Blobs.
func (s *Store) Open(id storage.BlobID) (storage.Blob, error) {
	if _, ok := parseID(id); !ok {
		return nil, storage.ErrNotFound
	}
	f, err := s.fs.Open(s.path(id))
	if notExist(err) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobstore: stat %s: %w", id, err)
	}
	return &blob{f: f, size: fi.Size()}, nil
}

// Remove implements storage.Blobs.
func (s *Store) Remove(id storage.BlobID) error {
	if _, ok := parseID(id); !ok {
		return nil // no such blob can exist
	}
	if err := s.fs.Remove(s.path(id)); err != nil && !notExist(err) {
		return fmt.Errorf("blobstore: remove %s: %w", id, err)
	}
	return nil
}

// Walk implements storage.Blobs. Blobs written or removed during the walk
// may or may not be reported.
func (s *Store) Walk(fn func(id storage.BlobID, written time.Time) error) error {
	subs, err := s.fs.List(s.dir)
	if err != nil {
		return fmt.Errorf("blobstore: list %s: %w", s.dir, err)
	}
	for _, sub := range subs {
		if !isSubdir(sub) {
			continue
		}
		names, err := s.fs.List(s.fs.PathJoin(s.dir, sub))
		if err != nil {
			if notExist(err) {
				continue
			}
			return fmt.Errorf("blobstore: list %s: %w", sub, err)
		}
		for _, name := range names {
			id := storage.BlobID(name)
			written, ok := parseID(id)
			if !ok || name[:2] != sub {
				continue // temporary or foreign file
			}
			if err := fn(id, written); err != nil {
				return err
			}
		}
	}
	return nil
}

type blob struct {
	f    vfs.File
	size int64
}

func (b *blob) ReadAt(p []byte, off int64) (int, error) { return b.f.ReadAt(p, off) }
func (b *blob) Size() int64                             { return b.size }
func (b *blob) Close() error                            { return b.f.Close() }

var _ storage.Blobs = (*Store)(nil)
