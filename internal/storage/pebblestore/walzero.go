package pebblestore

import (
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Why the WAL is written over zeros
//
// A commit's cost at low concurrency is mostly its WAL fdatasync. After an
// append, fdatasync must also make the file's new size durable, which on
// ext4 means a journal commit; over blocks that already hold written, synced
// bytes it only flushes the data. On this project's machines a 10 KB write
// plus fdatasync takes a median 206 µs appended and 107 µs overwritten.
// Pebble gets the cheap kind for the WAL files it recycles, but a fresh
// database, or one just reopened (Pebble recycles only WALs made since
// Open), has none: its WALs grow by appends, up to 35 MiB each.
//
// zeroAheadFS gives every WAL the recycled kind of tail: a second handle
// writes and syncs zeros a few MiB ahead of Pebble's writes, in the
// background, and Pebble's writes land on them. Recovery reads that tail as
// it reads a recycled WAL's stale one: the newest WAL ends at its first
// zeroed chunk (Pebble's replay tolerates that, as it does after WAL
// preallocation), and a WAL Pebble finished ends with its EOF trailer before
// the zeros. The zeros are synced before any WAL byte lands on them, so a
// crash leaves either zeros or what Pebble wrote there. If a fill fails, the
// file is left as it is and the WAL appends, as it would without this.

// walCategory is the write category Pebble creates and reuses WALs with.
const walCategory vfs.DiskWriteCategory = "pebble-wal"

const (
	firstZeroFill = 64 << 10 // small, so a new WAL's first write waits little
	maxZeroFill   = 4 << 20
)

// zeros is the source of every fill; never written to.
var zeros = make([]byte, 64<<10)

// zeroAheadFS wraps the filesystem Pebble runs on; only WAL files change.
type zeroAheadFS struct{ vfs.FS }

func (fs zeroAheadFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || category != walCategory {
		return f, err
	}
	return fs.zeroAhead(name, f, 0), nil
}

func (fs zeroAheadFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil || category != walCategory {
		return f, err
	}
	// A recycled WAL is already written up to its old size.
	st, err := f.Stat()
	if err != nil {
		return f, nil // no fills: the file behaves as Pebble made it
	}
	return fs.zeroAhead(newname, f, st.Size()), nil
}

// Unwrap lets vfs.Root and Pebble's diagnostics see the filesystem beneath.
func (fs zeroAheadFS) Unwrap() vfs.FS { return fs.FS }

// zeroAhead wraps f, whose bytes [0, written) are already on disk. The fills
// go through a second handle: vfs.File allows one Write or Sync at a time,
// and Pebble's own writes and syncs go on meanwhile.
func (fs zeroAheadFS) zeroAhead(name string, f vfs.File, written int64) vfs.File {
	filler, err := fs.FS.OpenReadWrite(name, walCategory)
	if err != nil {
		return f
	}
	z := &zeroAheadFile{File: f, filler: filler, ready: written, step: firstZeroFill}
	z.cond = sync.NewCond(&z.mu)
	z.mu.Lock()
	z.startFill()
	z.mu.Unlock()
	return z
}

// zeroAheadFile is a WAL file whose tail is filled with synced zeros ahead of
// the writes. Pebble writes it sequentially through Write.
type zeroAheadFile struct {
	vfs.File
	filler vfs.File
	off    int64 // where the next Write lands; only the writer touches it

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a fill ends
	ready   int64      // [0, ready) holds synced bytes, zeros or the WAL's
	step    int64      // size of the next fill
	filling bool
	stopped bool // a fill failed, or the file is closing: no more fills
}

// Write waits, if it must, for the fill its bytes land on, and keeps a fill
// of about one step ahead of the writes running.
func (z *zeroAheadFile) Write(p []byte) (int, error) {
	end := z.off + int64(len(p))
	z.mu.Lock()
	for end > z.ready && !z.stopped {
		z.startFill()
		z.cond.Wait()
	}
	if end+z.step > z.ready {
		z.startFill()
	}
	z.mu.Unlock()
	n, err := z.File.Write(p)
	z.off += int64(n)
	return n, err
}

// startFill starts the next fill unless one is running or fills stopped.
// z.mu is held.
func (z *zeroAheadFile) startFill() {
	if z.filling || z.stopped {
		return
	}
	z.filling = true
	start, n := z.ready, z.step
	z.step = min(2*z.step, maxZeroFill)
	go z.fill(start, n)
}

// fill writes n zero bytes at start and syncs them. It never overlaps a
// Write: Write does not go past ready while the fill beyond it runs.
func (z *zeroAheadFile) fill(start, n int64) {
	var err error
	for done := int64(0); done < n && err == nil; {
		var w int
		w, err = z.filler.WriteAt(zeros[:min(int64(len(zeros)), n-done)], start+done)
		done += int64(w)
	}
	if err == nil {
		err = z.filler.SyncData()
	}
	z.mu.Lock()
	if err == nil {
		z.ready = start + n
	} else {
		z.stopped = true
	}
	z.filling = false
	z.cond.Broadcast()
	z.mu.Unlock()
}

// Close waits for a running fill, so no write lands after Pebble closed (and
// perhaps deleted or recycled) the file.
func (z *zeroAheadFile) Close() error {
	z.mu.Lock()
	z.stopped = true
	for z.filling {
		z.cond.Wait()
	}
	z.mu.Unlock()
	ferr := z.filler.Close()
	if err := z.File.Close(); err != nil {
		return err
	}
	return ferr
}
