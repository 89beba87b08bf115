package pebblestore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

// walGateFS holds WAL syncs while closed, so a test can look at the store
// with a commit applied (visible in Pebble) but not yet durable.
type walGateFS struct {
	vfs.FS
	mu      sync.Mutex
	held    bool
	release chan struct{}
	entered chan struct{} // receives once per held sync
}

func (fs *walGateFS) hold() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.held = true
	fs.release = make(chan struct{})
}

func (fs *walGateFS) open() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.held {
		fs.held = false
		close(fs.release)
	}
}

func (fs *walGateFS) wait() {
	fs.mu.Lock()
	held, release := fs.held, fs.release
	fs.mu.Unlock()
	if held {
		select {
		case fs.entered <- struct{}{}:
		default:
		}
		<-release
	}
}

func (fs *walGateFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return walGateFile{File: f, fs: fs}, nil
}

func (fs *walGateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *walGateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

type walGateFile struct {
	vfs.File
	fs *walGateFS
}

func (f walGateFile) Sync() error {
	f.fs.wait()
	return f.File.Sync()
}

func (f walGateFile) SyncData() error {
	f.fs.wait()
	return f.File.SyncData()
}

func (f walGateFile) SyncTo(length int64) (bool, error) {
	f.fs.wait()
	return f.File.SyncTo(length)
}

// A View waits for a commit that is visible but not durable only when it
// reads a key that commit wrote (or a range holding one). The checks use a
// canceled context: a read that must wait returns context.Canceled at once,
// a read that need not wait succeeds, so no outcome depends on timing.
func TestViewWaitsOnlyForKeysInFlight(t *testing.T) {
	fs := &walGateFS{FS: vfs.NewMem(), entered: make(chan struct{}, 1)}
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("a"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}

	fs.hold()
	defer fs.open()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("b"), []byte("2")) })
	}()
	// The sync is reached only after the batch was applied, under the
	// store's lock, so from here every View's snapshot holds "b".
	<-fs.entered

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	get := func(key string) func(tx storage.ReadTx) (string, error) {
		return func(tx storage.ReadTx) (string, error) {
			v, err := tx.Get([]byte(key))
			return string(v), err
		}
	}
	scan := func(lower, upper string) func(tx storage.ReadTx) (string, error) {
		return func(tx storage.ReadTx) (string, error) {
			it, err := tx.NewIterator([]byte(lower), []byte(upper))
			if err != nil {
				return "", err
			}
			defer it.Close()
			var keys []string
			for ok := it.First(); ok; ok = it.Next() {
				keys = append(keys, string(it.Key()))
			}
			return strings.Join(keys, ","), nil
		}
	}
	for _, tc := range []struct {
		name    string
		read    func(tx storage.ReadTx) (string, error)
		want    string
		wantErr error
	}{
		{"durable key", get("a"), "1", nil},
		{"absent key", get("c"), "", storage.ErrNotFound},
		{"key in flight", get("b"), "", context.Canceled},
		{"range without the key in flight", scan("a", "b"), "a", nil},
		{"range with the key in flight", scan("a", "c"), "", context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			err := s.View(canceled, func(tx storage.ReadTx) error {
				var err error
				got, err = tc.read(tx)
				return err
			})
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("View = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}

	// A View that waits sees the commit once it is durable.
	viewed := make(chan string, 1)
	go func() {
		var got string
		err := s.View(ctx, func(tx storage.ReadTx) error {
			v, err := tx.Get([]byte("b"))
			got = string(v)
			return err
		})
		if err != nil {
			got = err.Error()
		}
		viewed <- got
	}()
	fs.open()
	if err := <-done; err != nil {
		t.Fatalf("Update b: %v", err)
	}
	if got := <-viewed; got != "2" {
		t.Errorf("View of b after its sync = %q, want 2", got)
	}
	// Now nothing is in flight: even a canceled View reads b.
	err = s.View(canceled, func(tx storage.ReadTx) error {
		v, err := tx.Get([]byte("b"))
		if err == nil && string(v) != "2" {
			t.Errorf("b = %q, want 2", v)
		}
		return err
	})
	if err != nil {
		t.Errorf("View after the sync: %v", err)
	}
}
