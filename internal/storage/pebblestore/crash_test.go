package pebblestore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

// Every Update that returned nil survives a crash that drops all unsynced
// writes, including commits that shared a group WAL sync.
func TestCrashKeepsCommitted(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 20
	var mu sync.Mutex
	committed := map[string]string{} // key -> message id
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				key := fmt.Sprintf("obj/%d/%d", w, j)
				var id string
				err := s.Update(context.Background(), func(tx storage.Tx) error {
					if err := tx.Set([]byte(key), []byte("v")); err != nil {
						return err
					}
					var err error
					id, err = tx.Enqueue("events", storage.Message{Body: []byte(key)})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed[key] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Crash with the store still open: nothing but what was synced remains.
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	s.Close()
	s2, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: crashed})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s2.Close()
	err = s2.View(context.Background(), func(tx storage.ReadTx) error {
		for key := range committed {
			if _, err := tx.Get([]byte(key)); err != nil {
				t.Errorf("committed %s lost in crash: %v", key, err)
			}
		}
		ids := map[string]bool{}
		if err := tx.Messages("events", func(m storage.Message) bool { ids[m.ID] = true; return true }); err != nil {
			return err
		}
		for key, id := range committed {
			if !ids[id] {
				t.Errorf("message %s of %s lost in crash", id, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
