package function

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"sluice/internal/storage"
)

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// TestCodeCache checks the cache's promises: concurrent instances of one
// package share one unpack and one directory; a released package stays
// for the next instance; an unsafe package is reported and not kept; at
// most keepUnused unused packages stay on disk, the least recently
// released going first; close removes them all.
func TestCodeCache(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, e := range []struct {
		name, data string
		mode       os.FileMode
	}{{"bootstrap", "#!/bin/sh\n", 0o755}, {"lib/a.txt", "a", 0o644}} {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zipBytes := zbuf.Bytes()
	root := filepath.Join(t.TempDir(), "code")
	c := newCodeCache(root)
	var opens atomic.Int32
	open := func() (storage.Blob, error) {
		opens.Add(1)
		return memBlob{bytes.NewReader(zipBytes)}, nil
	}

	dirs := make([]string, 8)
	releases := make([]func(), 8)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, rel, err := c.acquire("blob-1", open)
			if err != nil {
				t.Error(err)
				return
			}
			dirs[i], releases[i] = d, rel
		}()
	}
	wg.Wait()
	if opens.Load() != 1 {
		t.Fatalf("8 concurrent acquires opened the blob %d times, want 1", opens.Load())
	}
	for _, d := range dirs {
		if d != dirs[0] {
			t.Fatalf("dirs differ: %q vs %q", d, dirs[0])
		}
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "lib", "a.txt")); err != nil || string(b) != "a" {
		t.Fatalf("unpacked lib/a.txt = %q, %v", b, err)
	}
	for _, rel := range releases {
		rel()
		rel() // a second call is a no-op
	}
	if d, rel, err := c.acquire("blob-1", open); err != nil || d != dirs[0] || opens.Load() != 1 {
		t.Fatalf("acquire after release = %q, %v, %d opens; want the kept %q, 1 open", d, err, opens.Load(), dirs[0])
	} else {
		rel()
	}

	bad := func() (storage.Blob, error) { return memBlob{bytes.NewReader([]byte("not a zip"))}, nil }
	if _, _, err := c.acquire("bad", bad); !errors.Is(err, errUnpack) {
		t.Fatalf("acquire of a non-zip = %v, want errUnpack", err)
	}
	if _, ok := c.m["bad"]; ok {
		t.Fatal("a failed unpack stays in the cache")
	}

	// keepUnused more packages, released one after another: blob-1 was
	// released first, so it is the one evicted.
	for i := range keepUnused {
		id := storage.BlobID("blob-x" + string(rune('a'+i)))
		c.prepare(id, open)
	}
	if _, ok := c.m["blob-1"]; ok {
		t.Fatalf("%d unused packages kept besides blob-1; want blob-1 evicted", keepUnused)
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Fatalf("evicted directory %s still exists (%v)", dirs[0], err)
	}
	if len(c.m) != keepUnused {
		t.Fatalf("%d packages kept, want %d", len(c.m), keepUnused)
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("close left %s (%v)", root, err)
	}
}

// TestLinkTree checks that an instance's tree is its own (a file created
// in one is not in the source) and holds the package's files and modes.
func TestLinkTree(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "task")
	if err := os.MkdirAll(filepath.Join(src, "lib", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(src, "lib", "x", "a.txt"), []byte("a"), 0o644)
	if err := linkTree(src, dst); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dst, "bootstrap"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bootstrap in the linked tree: %v, %v; want mode 0755", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "lib", "x", "a.txt")); err != nil || string(b) != "a" {
		t.Fatalf("lib/x/a.txt = %q, %v", b, err)
	}
	os.WriteFile(filepath.Join(dst, "new.txt"), []byte("n"), 0o644)
	if _, err := os.Stat(filepath.Join(src, "new.txt")); !os.IsNotExist(err) {
		t.Fatalf("a file created in the instance's tree appeared in the shared one (%v)", err)
	}
	os.Remove(filepath.Join(dst, "bootstrap"))
	if _, err := os.Stat(filepath.Join(src, "bootstrap")); err != nil {
		t.Fatalf("removing the instance's bootstrap removed the shared one: %v", err)
	}
}
