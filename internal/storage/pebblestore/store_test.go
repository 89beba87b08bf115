package pebblestore_test

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

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
