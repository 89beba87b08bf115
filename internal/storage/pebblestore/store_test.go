package pebblestore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
	"sluice/internal/storage/storagetest"
)

func openMem(t *testing.T) storage.Store {
	t.Helper()
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformanceMem(t *testing.T) {
	storagetest.TestStore(t, openMem)
}

func TestConformanceDisk(t *testing.T) {
	storagetest.TestStore(t, func(t *testing.T) storage.Store {
		s, err := pebblestore.Open(pebblestore.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestDurableMem(t *testing.T) {
	storagetest.TestDurable(t, func(t *testing.T) func() storage.Store {
		fs := vfs.NewMem()
		return func() storage.Store {
			s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

func TestDurableDisk(t *testing.T) {
	storagetest.TestDurable(t, func(t *testing.T) func() storage.Store {
		dir := t.TempDir()
		return func() storage.Store {
			s, err := pebblestore.Open(pebblestore.Options{Dir: dir})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

// A transaction whose read is overwritten by a commit in between must run
// again, and then see that commit: the lost-update case, made deterministic.
func TestConflictReruns(t *testing.T) {
	s := openMem(t).(*pebblestore.Store)
	defer s.Close()
	ctx := context.Background()
	read := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan error)
	attempts := 0
	go func() {
		done <- s.Update(ctx, func(tx storage.Tx) error {
			attempts++
			v, err := tx.Get([]byte("k"))
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if attempts == 1 {
				close(read)
				<-proceed
			}
			return tx.Set([]byte("k"), append(v, 'a'))
		})
	}()
	<-read
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("k"), []byte("b")) }); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Errorf("fn ran %d times, want 2 (one conflict, one rerun)", attempts)
	}
	if c := s.Metrics().Conflicts; c != 1 {
		t.Errorf("Metrics().Conflicts = %d, want 1", c)
	}
	err := s.View(ctx, func(tx storage.ReadTx) error {
		v, err := tx.Get([]byte("k"))
		if err == nil && string(v) != "ba" {
			t.Errorf("k = %q, want ba (the rerun read b)", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The same with a range read and a fn error: the error computed from the
// stale view is not returned; the rerun's result is.
func TestConflictBeatsFnError(t *testing.T) {
	s := openMem(t).(*pebblestore.Store)
	defer s.Close()
	ctx := context.Background()
	read := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan error)
	attempts := 0
	go func() {
		done <- s.Update(ctx, func(tx storage.Tx) error {
			attempts++
			it, err := tx.NewIterator([]byte("r/"), []byte("r0"))
			if err != nil {
				return err
			}
			found := it.First()
			it.Close()
			if attempts == 1 {
				close(read)
				<-proceed
			}
			if !found {
				return errors.New("range empty")
			}
			return nil
		})
	}()
	<-read
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("r/x"), nil) }); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Errorf("Update = %v, want nil from the rerun that sees r/x", err)
	}
	if attempts != 2 {
		t.Errorf("fn ran %d times, want 2", attempts)
	}
}

func TestQueuesMem(t *testing.T) {
	storagetest.TestQueues(t, func(t *testing.T, clk clock.Clock) storage.Store {
		s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clk})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestQueuesDisk(t *testing.T) {
	storagetest.TestQueues(t, func(t *testing.T, clk clock.Clock) storage.Store {
		s, err := pebblestore.Open(pebblestore.Options{Dir: t.TempDir(), Clock: clk})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestQueuesReopenMem(t *testing.T) {
	storagetest.TestQueuesReopen(t, func(t *testing.T, clk clock.Clock) func() storage.Store {
		fs := vfs.NewMem()
		return func() storage.Store {
			s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

func TestQueuesReopenDisk(t *testing.T) {
	storagetest.TestQueuesReopen(t, func(t *testing.T, clk clock.Clock) func() storage.Store {
		dir := t.TempDir()
		return func() storage.Store {
			s, err := pebblestore.Open(pebblestore.Options{Dir: dir, Clock: clk})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}
