package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/storage"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Dir: "db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readIn(t *testing.T, s *Store, key string) (string, error) {
	t.Helper()
	var got string
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		v, err := tx.Get([]byte(key))
		got = string(v)
		return err
	})
	return got, err
}

// TestReadCacheFollowsWrites: a value read in an Update is cached, a
// commit that writes or deletes the key drops the entry, and the next read
// sees the new value; a key the transaction wrote is read from its batch.
func TestReadCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := readIn(t, s, "b/x"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("read of an absent key = %v, want ErrNotFound", err)
	}
	if e, ok := s.rcache.get([]byte("b/x")); !ok || e.found {
		t.Fatalf("after reading an absent key the cache holds %+v, %v; want an absent entry", e, ok)
	}
	set := func(v string) {
		t.Helper()
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("b/x"), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	set("one")
	if _, ok := s.rcache.get([]byte("b/x")); ok {
		t.Fatal("a commit that wrote the key left its cache entry")
	}
	if got, err := readIn(t, s, "b/x"); err != nil || got != "one" {
		t.Fatalf("read = %q, %v; want one", got, err)
	}
	if e, ok := s.rcache.get([]byte("b/x")); !ok || string(e.v) != "one" {
		t.Fatalf("cache entry %+v, %v; want one", e, ok)
	}
	// A hit returns a copy: changing it must not change the next read.
	_ = s.Update(ctx, func(tx storage.Tx) error {
		v, err := tx.Get([]byte("b/x"))
		if err == nil {
			copy(v, "XXX")
		}
		return err
	})
	if got, _ := readIn(t, s, "b/x"); got != "one" {
		t.Fatalf("after a caller changed its copy the read is %q, want one", got)
	}
	// Own writes win over the cache.
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Set([]byte("b/x"), []byte("two")); err != nil {
			return err
		}
		v, err := tx.Get([]byte("b/x"))
		if err == nil && string(v) != "two" {
			return fmt.Errorf("read after own write = %q, want two", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := readIn(t, s, "b/x"); got != "two" {
		t.Fatalf("read = %q, want two", got)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Delete([]byte("b/x")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := readIn(t, s, "b/x"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("read after delete = %v, want ErrNotFound", err)
	}
}

// TestReadCacheSerializable: writers move a version key from n to n+1 and
// write a marker for n+1 in the same commit; readers read the version
// (often from the cache) and then the marker of the next version, which
// must not exist. A stale cache entry would show version n beside marker
// n+1: a state no serial order has.
func TestReadCacheSerializable(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("ver"), []byte("0")) }); err != nil {
		t.Fatal(err)
	}
	const writers, readers, rounds = 2, 6, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := s.Update(ctx, func(tx storage.Tx) error {
					v, err := tx.Get([]byte("ver"))
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					if err := tx.Set([]byte("ver"), []byte(strconv.Itoa(n+1))); err != nil {
						return err
					}
					return tx.Set([]byte("mark/"+strconv.Itoa(n+1)), nil)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds * 2 {
				err := s.Update(ctx, func(tx storage.Tx) error {
					v, err := tx.Get([]byte("ver"))
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					switch _, err := tx.Get([]byte("mark/" + strconv.Itoa(n+1))); {
					case err == nil:
						return fmt.Errorf("version %d read beside the marker of %d", n, n+1)
					case !errors.Is(err, storage.ErrNotFound):
						return err
					}
					// Readers write too, as PutObject does after reading
					// its bucket, so they commit and sync.
					return tx.Set([]byte(fmt.Sprintf("r/%d/%d", r, i)), v)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, err := readIn(t, s, "ver"); err != nil || got != strconv.Itoa(writers*rounds) {
		t.Fatalf("final version %q, %v; want %d", got, err, writers*rounds)
	}
}
