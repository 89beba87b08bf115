package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/storage"
)

// writeChunks writes n pseudo-random bytes to f in uneven chunks, as the WAL
// writer does, and returns them.
func writeChunks(t *testing.T, f vfs.File, n int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32()) | 1 // never zero, so a zeroed byte shows
	}
	for off := 0; off < n; {
		c := min(1+r.IntN(40<<10), n-off)
		// vfs.File.Write may scribble on its argument (MemFS does under
		// -race), so it gets a copy.
		if _, err := f.Write(bytes.Clone(data[off : off+c])); err != nil {
			t.Fatal(err)
		}
		if z, ok := f.(*zeroAheadFile); ok {
			z.mu.Lock()
			ready := z.ready
			z.mu.Unlock()
			if int64(off+c) > ready {
				t.Fatalf("a write ending at %d landed past the synced zeros (ready %d)", off+c, ready)
			}
		}
		off += c
	}
	return data
}

func readAll(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkZeroTail says the file holds exactly data followed by at least one
// byte of zeros and nothing else.
func checkZeroTail(t *testing.T, got, data []byte) {
	t.Helper()
	if len(got) <= len(data) {
		t.Fatalf("file is %d bytes after %d written: no zeroed tail", len(got), len(data))
	}
	if !bytes.Equal(got[:len(data)], data) {
		t.Fatal("the written bytes did not read back")
	}
	if i := slices.IndexFunc(got[len(data):], func(b byte) bool { return b != 0 }); i >= 0 {
		t.Fatalf("non-zero byte at %d, past the written data", len(data)+i)
	}
}

func TestWALWritesLandOnSyncedZeros(t *testing.T) {
	mem := vfs.NewMem()
	fs := zeroAheadFS{mem}
	f, err := fs.Create("000001.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*zeroAheadFile); !ok {
		t.Fatalf("a WAL was created as %T, without the zero fill", f)
	}
	data := writeChunks(t, f, 3<<20, 1)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkZeroTail(t, readAll(t, mem, "000001.log"), data)
}

func TestOtherFilesAreNotZeroFilled(t *testing.T) {
	fs := zeroAheadFS{vfs.NewMem()}
	f, err := fs.Create("000002.sst", "pebble-flush")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*zeroAheadFile); ok {
		t.Fatal("an sstable got the WAL's zero fill")
	}
}

// A recycled WAL is written over its old bytes, then over zeros past them.
func TestRecycledWALFillsPastItsOldSize(t *testing.T) {
	mem := vfs.NewMem()
	old, err := mem.Create("000003.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Write(bytes.Repeat([]byte{0xff}, 100<<10)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	fs := zeroAheadFS{mem}
	f, err := fs.ReuseForWrite("000003.log", "000004.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	z, ok := f.(*zeroAheadFile)
	if !ok {
		t.Fatalf("a reused WAL is %T, without the zero fill", f)
	}
	z.mu.Lock()
	for z.filling {
		z.cond.Wait()
	}
	ready := z.ready
	z.mu.Unlock()
	if ready < 100<<10 {
		t.Fatalf("ready %d: the fill did not start at the old size", ready)
	}
	data := writeChunks(t, f, 250<<10, 2)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkZeroTail(t, readAll(t, mem, "000004.log"), data)
}

// failingFillFS makes every write through a second handle fail.
type failingFillFS struct{ vfs.FS }

type failingWriteAt struct{ vfs.File }

func (f failingWriteAt) WriteAt([]byte, int64) (int, error) { return 0, errors.New("disk full") }

func (fs failingFillFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return failingWriteAt{f}, err
}

// A fill that fails leaves the WAL appending, with every byte written.
func TestFailedFillLeavesWALAppending(t *testing.T) {
	mem := vfs.NewMem()
	fs := zeroAheadFS{failingFillFS{mem}}
	f, err := fs.Create("000005.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 1))
	var data []byte
	for range 50 {
		chunk := make([]byte, 1+r.IntN(20<<10))
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		data = append(data, chunk...)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, mem, "000005.log"); !bytes.Equal(got, data) {
		t.Fatalf("file is %d bytes, want exactly the %d written", len(got), len(data))
	}
}

// A copy of a live store's directory on disk is what a crash leaves: its
// newest WAL ends in zeros, and every committed write is read back from it.
func TestStoreReopensFromZeroedWALTail(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		key := fmt.Sprintf("k%04d", i)
		if err := s.Update(context.Background(), func(tx storage.Tx) error {
			return tx.Set([]byte(key), []byte("value-"+key))
		}); err != nil {
			t.Fatal(err)
		}
	}
	copyDir(t, filepath.Join(dir, "db"), filepath.Join(dir, "crashed"))
	s.Close()

	wals, _ := filepath.Glob(filepath.Join(dir, "crashed", "*.log"))
	if len(wals) == 0 {
		t.Fatal("no WAL in the copy")
	}
	slices.Sort(wals)
	wal, err := os.ReadFile(wals[len(wals)-1])
	if err != nil {
		t.Fatal(err)
	}
	if len(wal) < firstZeroFill || !bytes.Equal(wal[len(wal)-1024:], make([]byte, 1024)) {
		t.Fatalf("the newest WAL (%d bytes) does not end in zeros", len(wal))
	}

	s2, err := Open(Options{Dir: filepath.Join(dir, "crashed")})
	if err != nil {
		t.Fatalf("reopen from the copy: %v", err)
	}
	defer s2.Close()
	if err := s2.View(context.Background(), func(tx storage.ReadTx) error {
		for i := range n {
			key := fmt.Sprintf("k%04d", i)
			v, err := tx.Get([]byte(key))
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if string(v) != "value-"+key {
				return fmt.Errorf("%s = %q", key, v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), "LOCK") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
